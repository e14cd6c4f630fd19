#!/bin/busybox sh
# SPDX-License-Identifier: MIT
#
# /init of the Linux guest that the nested suites' test_linux.py boot under
# kvmdbg.  It makes the kernel run its own breakpoint instructions (a kprobe
# on ksys_sync, hit by sync: BRK on arm64, int3 on x86),
# optionally waits until the debugger sets the host name to "go" (kernel
# command line word kvmdbg_wait=1), prints
#
#     kvmdbg-linux: user space, N CPUs, kprobe hits H
#
# and powers off, or reboots with kvmdbg_end=reboot.  Words of the kernel
# command line of the form NAME=VALUE reach init as environment variables.

/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tracefs tracefs /sys/kernel/tracing
dmesg -n 1

t=/sys/kernel/tracing
echo 'p:kvmdbg/sync ksys_sync' >$t/kprobe_events
echo 1 >$t/events/kvmdbg/sync/enable
sync
hits=$(awk '$1 == "kvmdbg/sync" || $1 == "sync" { print $2 }' $t/kprobe_profile)
echo 0 >$t/events/kvmdbg/sync/enable

if [ -n "${kvmdbg_wait-}" ]; then
	echo "kvmdbg-linux: waiting"
	# A shell builtin reads it: the debugger's Ctrl-C should find the
	# CPUs idle, not forking.
	until read -r name </proc/sys/kernel/hostname && [ "$name" = go ]; do
		sleep 2
	done
fi
echo "kvmdbg-linux: user space, $(nproc) CPUs, kprobe hits ${hits:-none}"
if [ "${kvmdbg_end-}" = reboot ]; then
	reboot -f
else
	poweroff -f
fi
