#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Installs the Debian packages that `make check` needs, but only when one of
# them is missing: apt-get update once, then apt-get install, never asking.

set -eu

case "$(uname -m)" in
# clang and its runtime build the libFuzzer targets (Recommends are not installed).
x86_64)	pkgs="libcmocka-dev qemu-system-x86 gdb lldb python3 binutils clang libclang-rt-14-dev" ;;
*)	pkgs="libcmocka-dev libfdt-dev gdb lldb python3 binutils" ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "install-deps: no dpkg-query (not Debian?); make sure these are installed: $pkgs" >&2
	exit 0
fi

missing=
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	sudo=
elif command -v sudo >/dev/null 2>&1; then
	sudo=sudo
else
	echo "install-deps: missing packages:$missing; run as root or install sudo" >&2
	exit 1
fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# $missing is a list: it must split into words.
# shellcheck disable=SC2086
if ! $sudo apt-get update -q || ! $sudo apt-get install -y -q --no-install-recommends $missing; then
	echo "install-deps: could not install:$missing (see the apt-get messages above)" >&2
	exit 1
fi
