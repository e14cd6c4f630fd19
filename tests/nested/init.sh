#!/bin/busybox sh
# SPDX-License-Identifier: MIT
#
# /init of the nested test machines (tests/arm64, tests/x86_64).  It loads
# the kernel modules listed in /modules/order, brings up the network that
# carries gdb's connection, then serves commands from the serial console, one
# per line:
#
#     ID SHELL-TEXT
#
# Each is run in a subshell with stdin from /dev/null and its stdout and
# stderr captured; the reply is
#
#     @@ID STATUS
#     <the captured output, base64>
#     @@ID end
#
# so that the host can pick replies out of anything else on the console.
# Besides busybox, commands can use the functions start, ended, await,
# finished, listening, stop and stop_all defined below.

/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# Kernel messages on the console would interleave with replies.
dmesg -n 1

while read -r m; do
	insmod "/modules/$m.ko" || echo "init: insmod $m failed"
done </modules/order
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0

# start DIR COMMAND...: runs COMMAND in the background with its stdout,
# stderr, pid and (once it ends) exit status in files under DIR.
start() {
	dir=$1
	shift
	mkdir -p "$dir"
	(
		"$@" >"$dir/out" 2>"$dir/err" </dev/null &
		echo $! >"$dir/pid"
		wait $!
		echo $? >"$dir/status.new"
		mv "$dir/status.new" "$dir/status"
	) >/dev/null 2>&1 </dev/null &
	while [ ! -e "$dir/pid" ]; do
		usleep 1000
	done
}

# now: sets $now to the centiseconds since boot, without a fork.
now() {
	read -r now _ </proc/uptime
	frac=${now#*.}
	now=$((${now%.*} * 100 + ${frac#0}))
}

# ended DIR SECONDS: waits at most that long for the command to end; true
# if it has.  Timed by the clock, not by counting sleeps: while a guest kept
# both CPUs busy, each 50 ms sleep lasted over three times as long, and on a
# busier machine the host, which waits three times SECONDS and 30 s more,
# gave up on the reply.
ended() {
	now
	end=$((now + $2 * 100))
	while [ ! -e "$1/status" ] && [ "$now" -lt "$end" ]; do
		usleep 50000
		now
	done
	[ -e "$1/status" ]
}

# await DIR SECONDS: ended, then prints the status, or nothing if the
# command still runs.
await() {
	ended "$1" "$2" && cat "$1/status"
}

# finished DIR SECONDS: await, and of a command that has ended its stdout
# and its stderr too, each after a line "@@end-of-file" of its own.  Each
# request costs a quarter of a second of forks and execs here, and a test
# reads both once the run is over.
finished() {
	ended "$1" "$2" || return 0
	printf '\n@@end-of-file\n' >/tmp/end-of-file
	cat "$1/status" /tmp/end-of-file "$1/out" /tmp/end-of-file "$1/err"
}

# listening DIR SECONDS: waits at most that long for the command, kvmdbg
# with --gdb, to say that its stub listens, or to end; prints its stderr.
listening() {
	now
	end=$((now + $2 * 100))
	while [ ! -e "$1/status" ] && [ "$now" -lt "$end" ]; do
		while IFS= read -r line; do
			case $line in
			"kvmdbg: gdb stub listening on "*)
				cat "$1/err"
				return
				;;
			esac
		done <"$1/err"
		usleep 20000
		now
	done
	cat "$1/err"
}

# stop DIR: kills the command if it still runs and waits for its status.
stop() {
	if [ ! -e "$1/status" ] && read -r pid <"$1/pid"; then
		kill -9 "$pid" 2>/dev/null
	fi
	await "$1" 10
}

# stop_all: stops every command that start ran under /tmp/kvmdbg-* and
# removes their files: what a test that died left behind.
stop_all() {
	for dir in /tmp/kvmdbg-*; do
		[ -e "$dir/pid" ] && [ ! -e "$dir/status" ] && stop "$dir" >/dev/null
	done
	rm -rf /tmp/kvmdbg-*
}

# Replies are written whole by cat, which retries interrupted writes.
serve() {
	while IFS= read -r line; do
		id=${line%% *}
		( eval "${line#* }" ) >/tmp/reply 2>&1 </dev/null
		status=$?
		{
			printf '\n@@%s %d\n' "$id" "$status"
			base64 /tmp/reply
			printf '@@%s end\n' "$id"
		} >/tmp/frame
		cat /tmp/frame
	done
	poweroff -f
}

# Raw mode: no echo of commands, replies byte for byte.
stty raw -echo
echo
echo "@@ready $(uname -r) $(nproc)"
# Background commands outlive the subshell that started them and become
# children of pid 1; the loop runs in a child of its own so that their exits
# never interrupt it.
serve </dev/console >/dev/console 2>&1 &
while :; do
	wait
	sleep 1
done
