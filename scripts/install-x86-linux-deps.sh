#!/bin/sh
# SPDX-License-Identifier: MIT
#
# What the x86-64 Linux tests need: Debian's current amd64 cloud kernel and
# its debug symbols.
#
#   scripts/install-x86-linux-deps.sh CACHE_DIR
#
# The kernel package is whatever linux-image-cloud-amd64 depends on today,
# so a kernel update lands in a new directory next to the old one.  Only
# the bzImage (boot/vmlinuz-*) and the vmlinux with symbols
# (usr/lib/debug/boot/vmlinux-*) are kept; each .deb is deleted after
# extraction (the -dbg package alone is ~280 MB).  On success prints
# "dir=DIR", "version=VERSION" (the package version, as linux_banner shows
# it), "vmlinuz=FILE" and "vmlinux=FILE" on stdout; progress on stderr.

set -eu

PROG=install-x86-linux-deps
# shellcheck source-path=SCRIPTDIR source=deb-cache.sh
. "$(dirname "$0")/deb-cache.sh"

fetch_all() {
	kpkg=$(kernel_package linux-image-cloud-amd64 amd64) || return 1
	kver=${kpkg#linux-image-}
	deb_locate "$kpkg" amd64 || return 1
	dir=$deb_dir
	[ -e "$dir/.complete" ] && return 0
	stage=$(deb_stage) || return 1
	mkdir "$stage/root"
	if ! deb_extract "$kpkg" amd64 "$deb_version" "$stage/root" "./boot/vmlinuz-$kver" ||
	   ! deb_extract "$kpkg-dbg" amd64 "$deb_version" "$stage/root" \
		"./usr/lib/debug/boot/vmlinux-$kver"; then
		rm -rf "$stage"
		return 1
	fi
	echo "$deb_version" >"$stage/root/version"
	deb_complete "$stage/root" "$dir" || return 1
	rm -rf "$stage"
}

[ $# -eq 1 ] || { echo "usage: $0 CACHE_DIR" >&2; exit 2; }
CACHE=$1
mkdir -p "$CACHE"

with_fresh_lists fetch_all
echo "dir=$dir"
echo "version=$(cat "$dir/version")"
echo "vmlinuz=$(ls "$dir"/boot/vmlinuz-*)"
echo "vmlinux=$(ls "$dir"/usr/lib/debug/boot/vmlinux-*)"
