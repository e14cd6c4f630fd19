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

say() {
	echo "install-x86-linux-deps: $*" >&2
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

kernel_package() {
	apt-cache depends linux-image-cloud-amd64:amd64 |
		sed -n 's/^ *Depends: \(linux-image-[^:]*\)$/\1/p' | head -n 1
}

package_version() {
	apt-cache show --no-all-versions "$1:amd64" | sed -n 's/^Version: //p'
}

# Downloads PKG=VERSION into a fresh directory under WORK, unpacks only
# the paths given (dpkg-deb --fsys-tarfile | tar), deletes the .deb.
extract() {
	pkg=$1 version=$2 dest=$3
	shift 3
	say "fetching $pkg $version"
	# A root apt drops privileges for downloads unless told otherwise,
	# and its sandbox user may not write to the cache directory.
	(cd "$WORK" && apt-get download -q -o APT::Sandbox::User=root \
		"$pkg:amd64=$version" >&2) || return 1
	deb=$(ls "$WORK"/"${pkg}"_*.deb) || return 1
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dest" --wildcards "$@" || return 1
	rm -f "$deb"
}

fetch_all() {
	kpkg=$(kernel_package)
	[ -n "$kpkg" ] || { say "cannot resolve linux-image-cloud-amd64"; return 1; }
	kver=${kpkg#linux-image-}
	version=$(package_version "$kpkg")
	[ -n "$version" ] || { say "apt knows no version of $kpkg"; return 1; }
	dir="$CACHE/${kpkg}_$(echo "$version" | tr ':' '+')"
	if [ ! -e "$dir/.complete" ]; then
		WORK=$(mktemp -d "$CACHE/.fetch-XXXXXX") || return 1
		mkdir "$WORK/root"
		if ! extract "$kpkg" "$version" "$WORK/root" "./boot/vmlinuz-$kver" ||
		   ! extract "$kpkg-dbg" "$version" "$WORK/root" \
			"./usr/lib/debug/boot/vmlinux-$kver"; then
			rm -rf "$WORK"
			return 1
		fi
		echo "$version" >"$WORK/root/version"
		touch "$WORK/root/.complete"
		rm -rf "$dir"
		mv "$WORK/root" "$dir"
		rm -rf "$WORK"
	fi
}

[ $# -eq 1 ] || { echo "usage: $0 CACHE_DIR" >&2; exit 2; }
CACHE=$1
mkdir -p "$CACHE"

# Package lists may be missing, or name files the mirror no longer has.
if ! fetch_all; then
	say "refreshing the package lists and trying once more"
	as_root apt-get update -q >&2
	fetch_all
fi
echo "dir=$dir"
echo "version=$(cat "$dir/version")"
echo "vmlinuz=$(ls "$dir"/boot/vmlinuz-*)"
echo "vmlinux=$(ls "$dir"/usr/lib/debug/boot/vmlinux-*)"
