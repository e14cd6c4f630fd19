/* SPDX-License-Identifier: MIT */
/*
 * leak_thread_pointer [-a] TID VALUE: makes thread TID of another process
 * return from KVM_RUN with its thread pointer (TPIDR_EL0) set to VALUE,
 * as some arm64 host kernels do with the vCPU's value.
 *
 * It stops the thread with ptrace until the stop has interrupted a
 * KVM_RUN (the ioctl returning EINTR), writes VALUE into the thread's
 * TPIDR_EL0 there and lets it go on: the thread's code after the system
 * call sees VALUE, exactly as after the host bug.  Prints how many stops
 * it took; exits 1 when none landed in KVM_RUN.  With -a, at the first
 * stop, wherever the thread is (a thread blocked in a system call goes
 * on waiting, and meets VALUE when it wakes up).
 */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>

#define TRIES		500
#define RETRY_US	20000

static void die(const char *what)
{
	fprintf(stderr, "leak_thread_pointer: %s: %s\n", what, strerror(errno));
	exit(2);
}

static int getregset(pid_t tid, int type, void *buf, size_t len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	return ptrace(PTRACE_GETREGSET, tid, (void *)(long)type, &iov);
}

/* Stopped in the return from KVM_RUN, which the stop interrupted. */
static int in_kvm_run(pid_t tid)
{
	struct user_pt_regs r;

	if (getregset(tid, NT_PRSTATUS, &r, sizeof(r)) < 0)
		die("PTRACE_GETREGSET NT_PRSTATUS");
	return r.regs[8] == __NR_ioctl && r.regs[1] == KVM_RUN &&
	       (long)r.regs[0] == -EINTR;
}

int main(int argc, char **argv)
{
	bool anywhere = argc == 4 && !strcmp(argv[1], "-a");
	pid_t tid;
	unsigned long long value;

	if (argc != 3 && !anywhere) {
		fprintf(stderr, "usage: leak_thread_pointer [-a] TID VALUE\n");
		return 2;
	}
	tid = (pid_t)strtol(argv[argc - 2], NULL, 0);
	value = strtoull(argv[argc - 1], NULL, 0);
	for (int i = 1; i <= TRIES; i++) {
		int status;

		if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0)
			die("PTRACE_SEIZE");
		if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0)
			die("PTRACE_INTERRUPT");
		if (waitpid(tid, &status, __WALL) < 0)
			die("waitpid");
		if (anywhere || in_kvm_run(tid)) {
			struct iovec iov = { .iov_base = &value, .iov_len = sizeof(value) };

			if (ptrace(PTRACE_SETREGSET, tid, (void *)NT_ARM_TLS, &iov) < 0)
				die("PTRACE_SETREGSET NT_ARM_TLS");
			if (ptrace(PTRACE_DETACH, tid, NULL, NULL) < 0)
				die("PTRACE_DETACH");
			printf("thread pointer of %d set to %#llx %s after %d stops\n",
			       (int)tid, value, anywhere ? "where it was" : "in KVM_RUN", i);
			return 0;
		}
		if (ptrace(PTRACE_DETACH, tid, NULL, NULL) < 0)
			die("PTRACE_DETACH");
		usleep(RETRY_US);
	}
	fprintf(stderr, "leak_thread_pointer: %d was never stopped inside KVM_RUN in %d tries\n",
		(int)tid, TRIES);
	return 1;
}
