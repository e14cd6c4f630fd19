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

HOST_PACKAGES="qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross gdb-multiarch
device-tree-compiler"
# Needs the arm64 architecture in dpkg, so installed after enable_arm64.
ARM64_PACKAGES="libfdt-dev:arm64"

say() {
	echo "install-arm64-deps: $*" >&2
}

as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		say "need root for: $*"
		exit 1
	fi
}

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

kernel_package() {
	apt-cache depends linux-image-cloud-arm64:arm64 |
		sed -n 's/^ *Depends: \(linux-image-[^:]*\):arm64$/\1/p' | head -n 1
}

package_version() {
	apt-cache show --no-all-versions "$1:arm64" | sed -n 's/^Version: //p'
}

# Downloads and unpacks one arm64 package into CACHE/NAME_VERSION unless a
# complete copy is there already; prints that directory.  Explicit returns
# because errexit does not apply to functions called from a condition.
unpacked() {
	pkg=$1
	version=$(package_version "$pkg")
	[ -n "$version" ] || { say "apt knows no version of $pkg:arm64"; return 1; }
	dir="$CACHE/${pkg}_$(echo "$version" | tr ':' '+')"
	if [ ! -e "$dir/.complete" ]; then
		say "fetching $pkg:arm64 $version"
		work=$(mktemp -d "$CACHE/.fetch-XXXXXX") || return 1
		# A root apt drops privileges for downloads unless told otherwise,
		# and its sandbox user may not write to the cache directory.
		if ! (cd "$work" && apt-get download -q -o APT::Sandbox::User=root \
			"$pkg:arm64=$version" >&2); then
			rm -rf "$work"
			return 1
		fi
		dpkg-deb -x "$work"/*.deb "$work/root" || return 1
		touch "$work/root/.complete" || return 1
		rm -rf "$dir"
		mv "$work/root" "$dir" || return 1
		rm -rf "$work"
	fi
	echo "$dir"
}

# Extracts only vmlinux from KERNEL_PACKAGE-dbg into CACHE/NAME_VERSION
# unless it is there already; prints its path.
debug_vmlinux() {
	pkg=$1-dbg
	version=$(package_version "$pkg")
	[ -n "$version" ] || { say "apt knows no version of $pkg:arm64"; return 1; }
	dir="$CACHE/${pkg}_$(echo "$version" | tr ':' '+')"
	if [ ! -e "$dir/vmlinux" ]; then
		say "fetching $pkg:arm64 $version for vmlinux"
		work=$(mktemp -d "$CACHE/.fetch-XXXXXX") || return 1
		member="./usr/lib/debug/boot/vmlinux-${1#linux-image-}"
		if ! (cd "$work" && apt-get download -q -o APT::Sandbox::User=root \
			"$pkg:arm64=$version" >&2) ||
		   ! dpkg-deb --fsys-tarfile "$work"/*.deb | tar -x -C "$work" "$member"; then
			rm -rf "$work"
			return 1
		fi
		mkdir -p "$dir" && mv "$work/$member" "$dir/vmlinux" || return 1
		rm -rf "$work"
	fi
	echo "$dir/vmlinux"
}

fetch_all() {
	kpkg=$(kernel_package)
	[ -n "$kpkg" ] || { say "cannot resolve linux-image-cloud-arm64:arm64"; return 1; }
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
# Package lists may predate the arm64 architecture, or name files the
# mirror no longer has.
if ! fetch_all; then
	say "refreshing the package lists and trying once more"
	as_root apt-get update -q >&2
	fetch_all
fi
echo "kernel=$kernel_dir"
echo "busybox=$busybox_dir"
if [ "$want_vmlinux" ]; then
	echo "vmlinux=$vmlinux"
fi
