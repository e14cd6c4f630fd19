# shellcheck shell=sh
# SPDX-License-Identifier: MIT
#
# Sourced by the scripts/install-*-deps.sh scripts once they have set PROG
# (the name their messages start with) and CACHE (an existing directory):
# fetching Debian packages of any architecture with apt-get and keeping them
# unpacked under CACHE, one directory per package version.  Functions that
# callers run in a condition return explicitly, because errexit does not
# apply there.

say() {
	echo "$PROG: $*" >&2
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

# Runs "$@" and, if that fails, refreshes apt's package lists and runs it
# once more: the lists may be missing, predate an architecture added to
# dpkg, or name files the mirror no longer has.
with_fresh_lists() {
	"$@" && return 0
	say "refreshing the package lists and trying once more"
	as_root apt-get update -q >&2
	"$@"
}

# Prints the kernel package that META:ARCH (linux-image-cloud-amd64 ...)
# depends on today.  apt-cache names a dependency PKG:ARCH when ARCH is
# foreign to dpkg, and PKG alone when it is the native one.
kernel_package() {
	kpkg=$(apt-cache depends "$1:$2" |
		sed -n 's/^ *Depends: \(linux-image-[^:]*\)\(:'"$2"'\)\{0,1\}$/\1/p' | head -n 1)
	[ -n "$kpkg" ] || { say "cannot resolve $1:$2"; return 1; }
	echo "$kpkg"
}

# Sets deb_version to the version of PKG:ARCH that apt-get would fetch, and
# deb_dir to the directory under CACHE named after both (an epoch's ':'
# becomes '+').
deb_locate() {
	deb_version=$(apt-cache show --no-all-versions "$1:$2" | sed -n 's/^Version: //p')
	[ -n "$deb_version" ] || { say "apt knows no version of $1:$2"; return 1; }
	# shellcheck disable=SC2034 # for the sourcing script
	deb_dir="$CACHE/${1}_$(echo "$deb_version" | tr ':' '+')"
}

# Prints the name of a new directory under CACHE: what is unpacked there
# moves into place with a rename.
deb_stage() {
	mktemp -d "$CACHE/.fetch-XXXXXX"
}

# Sets deb_work to a new stage holding PKG:ARCH=VERSION, downloaded.  The
# caller removes deb_work.
deb_download() {
	say "fetching $1:$2 $3"
	deb_work=$(deb_stage) || return 1
	# A root apt drops privileges for downloads unless told otherwise,
	# and its sandbox user may not write to the cache directory.
	if ! (cd "$deb_work" && apt-get download -q -o APT::Sandbox::User=root \
		"$1:$2=$3" >&2); then
		rm -rf "$deb_work"
		return 1
	fi
}

# Sets deb_work to a new stage with all of PKG:ARCH=VERSION unpacked in
# deb_work/root.  The caller removes deb_work.
deb_unpack() {
	deb_download "$@" || return 1
	if ! dpkg-deb -x "$deb_work"/*.deb "$deb_work/root"; then
		rm -rf "$deb_work"
		return 1
	fi
}

# Unpacks only the paths MEMBER... (./usr/...) of PKG:ARCH=VERSION into
# DEST and deletes the package, which can be hundreds of MB.
deb_extract() {
	deb_download "$1" "$2" "$3" || return 1
	dest=$4
	shift 4
	if ! dpkg-deb --fsys-tarfile "$deb_work"/*.deb | tar -x -C "$dest" "$@"; then
		rm -rf "$deb_work"
		return 1
	fi
	rm -rf "$deb_work"
}

# Marks the tree SRC complete and puts it in place of DIR.  A run that
# stops half-way leaves no DIR/.complete, so the next one starts over.
deb_complete() {
	touch "$1/.complete" || return 1
	rm -rf "$2"
	mv "$1" "$2"
}
