#!/bin/sh
# SPDX-License-Identifier: MIT
#
# What the x86-64 Linux tests need: Debian's current amd64 cloud kernel and
# its debug symbols.
#
#   scripts/install-x86-linux-deps.sh [--nested] CACHE_DIR
#
# The kernel package is whatever linux-image-cloud-amd64 depends on today,
# so a kernel update lands in a new directory next to the old one.  Only
# the bzImage (boot/vmlinuz-*) and the vmlinux with symbols
# (usr/lib/debug/boot/vmlinux-*) are kept; each .deb is deleted after
# extraction (the -dbg package alone is ~280 MB).  On success prints
# "dir=DIR", "version=VERSION" (the package version, as linux_banner shows
# it), "vmlinuz=FILE" and "vmlinux=FILE" on stdout; progress on stderr.
# With --nested, for the nested suite (tests/x86_64) whose machine runs KVM
# with that kernel, it also keeps the kernel's KVM and virtio network
# modules (DIR/lib/modules/RELEASE) and busybox-static's busybox, and
# prints "busybox=FILE".

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

# The modules the nested machine loads, and those they need (Debian's
# package has no modules.dep: depmod writes it when the package is
# installed).
nested_modules() {
	k=./lib/modules/$1/kernel
	echo "$k/virt/lib/irqbypass.ko $k/arch/x86/kvm/kvm.ko $k/arch/x86/kvm/kvm-amd.ko
$k/drivers/virtio $k/net/core/failover.ko $k/drivers/net/net_failover.ko
$k/drivers/net/virtio_net.ko"
}

fetch_nested() {
	if [ ! -e "$dir/.nested" ]; then
		stage=$(deb_stage) || return 1
		# shellcheck disable=SC2046 # one word per member
		if ! deb_extract "$kpkg" amd64 "$deb_version" "$stage" $(nested_modules "$kver") ||
		   ! { rm -rf "${dir:?}/lib" && mv "$stage/lib" "$dir/lib" && touch "$dir/.nested"; }; then
			rm -rf "$stage"
			return 1
		fi
		rm -rf "$stage"
	fi
	deb_locate busybox-static amd64 || return 1
	busybox=$deb_dir/bin/busybox
	[ -e "$busybox" ] && return 0
	stage=$(deb_stage) || return 1
	if ! deb_extract busybox-static amd64 "$deb_version" "$stage" ./bin/busybox ||
	   ! { mkdir -p "$deb_dir/bin" && mv "$stage/bin/busybox" "$busybox"; }; then
		rm -rf "$stage"
		return 1
	fi
	rm -rf "$stage"
}

nested=
if [ "${1-}" = --nested ]; then
	nested=1
	shift
fi
[ $# -eq 1 ] || { echo "usage: $0 [--nested] CACHE_DIR" >&2; exit 2; }
CACHE=$1
mkdir -p "$CACHE"

with_fresh_lists fetch_all
if [ "$nested" ]; then
	with_fresh_lists fetch_nested
fi
echo "dir=$dir"
echo "version=$(cat "$dir/version")"
echo "vmlinuz=$(ls "$dir"/boot/vmlinuz-*)"
echo "vmlinux=$(ls "$dir"/usr/lib/debug/boot/vmlinux-*)"
if [ "$nested" ]; then
	echo "busybox=$busybox"
fi
