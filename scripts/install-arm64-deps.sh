#!/bin/sh
# SPDX-License-Identifier: MIT
#
# What the arm64 end-to-end suite needs on a Debian x86-64 host:
#
#   scripts/install-arm64-deps.sh [--vmlinux] CACHE_DIR
#
# installs the cross toolchain, the arm64 libfdt, gdb-multiarch and
# qemu-system-aarch64 when they are missing, then makes sure CACHE_DIR holds
# Debian's current arm64 cloud kernel and busybox-static, unpacked.  The
# kernel package is whatever linux-image-cloud-arm64 depends on today, so a
# kernel update lands in a new directory next to the old one.  On success the
# two directories are printed on stdout as "kernel=DIR" and "busybox=DIR";
# progress goes to stderr.  With --vmlinux it also keeps that kernel's
# vmlinux with its symbols (from the large -dbg package, which is deleted
# once vmlinux is out of it) and prints "vmlinux=FILE".

set -eu

PROG=install-arm64-deps
# shellcheck source-path=SCRIPTDIR source=deb-cache.sh
. "$(dirname "$0")/deb-cache.sh"

HOST_PACKAGES="qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross gdb-multiarch
device-tree-compiler"
# Needs the arm64 architecture in dpkg, so installed after enable_arm64.
ARM64_PACKAGES="libfdt-dev:arm64"

installed() {
	dpkg-query -W -f '${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

install_packages() {
	missing=
	for p in "$@"; do
		installed "$p" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	say "installing$missing"
	as_root apt-get update -q >&2
	# shellcheck disable=SC2086 # one word per package
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends $missing >&2
}

# apt only knows arm64 packages once dpkg accepts the architecture and the
# package lists for it have been fetched (fetch_all's retry does that).
enable_arm64() {
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		say "adding the arm64 architecture to dpkg"
		as_root dpkg --add-architecture arm64
	fi
}

# Prints the directory under CACHE that holds all of PKG:arm64, unpacked,
# after downloading it if it is not complete there.
unpacked() {
	deb_locate "$1" arm64 || return 1
	if [ ! -e "$deb_dir/.complete" ]; then
		deb_unpack "$1" arm64 "$deb_version" || return 1
		deb_complete "$deb_work/root" "$deb_dir" || return 1
		rm -rf "$deb_work"
	fi
	echo "$deb_dir"
}

# Extracts only vmlinux from KERNEL_PACKAGE-dbg into CACHE/NAME_VERSION
# unless it is there already; prints its path.
debug_vmlinux() {
	deb_locate "$1-dbg" arm64 || return 1
	if [ ! -e "$deb_dir/vmlinux" ]; then
		member="./usr/lib/debug/boot/vmlinux-${1#linux-image-}"
		stage=$(deb_stage) || return 1
		if ! deb_extract "$1-dbg" arm64 "$deb_version" "$stage" "$member" ||
		   ! { mkdir -p "$deb_dir" && mv "$stage/$member" "$deb_dir/vmlinux"; }; then
			rm -rf "$stage"
			return 1
		fi
		rm -rf "$stage"
	fi
	echo "$deb_dir/vmlinux"
}

fetch_all() {
	kpkg=$(kernel_package linux-image-cloud-arm64 arm64) || return 1
	kernel_dir=$(unpacked "$kpkg") || return 1
	busybox_dir=$(unpacked busybox-static) || return 1
	if [ "$want_vmlinux" ]; then
		vmlinux=$(debug_vmlinux "$kpkg") || return 1
	fi
}

want_vmlinux=
if [ "${1-}" = --vmlinux ]; then
	want_vmlinux=1
	shift
fi
[ $# -eq 1 ] || { echo "usage: $0 [--vmlinux] CACHE_DIR" >&2; exit 2; }
CACHE=$1
mkdir -p "$CACHE"

# shellcheck disable=SC2086 # one word per package
install_packages $HOST_PACKAGES
enable_arm64
# shellcheck disable=SC2086
install_packages $ARM64_PACKAGES
with_fresh_lists fetch_all
echo "kernel=$kernel_dir"
echo "busybox=$busybox_dir"
if [ "$want_vmlinux" ]; then
	echo "vmlinux=$vmlinux"
fi
