/* SPDX-License-Identifier: MIT */
/*
 * The floor under a debugger's single step: KVM_RUN with
 * KVM_GUESTDBG_SINGLESTEP on a CPL 0 `jmp .` in a scratch VM, nothing
 * else.  Prints the median microseconds of one step over ROUNDS rounds
 * of STEPS steps, for bench_stoppath.py to set beside a stub's step.
 *
 *	kvm_step_floor [STEPS]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "kvmdbg/arch.h"

#define RAM (64 << 10)
#define CODE 0x1000
#define ROUNDS 9

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void die(const char *what)
{
	fprintf(stderr, "kvm_step_floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	long steps = argc > 1 ? atol(argv[1]) : 20000;
	struct kvm_segment flat = {
		.base = 0, .limit = 0xffffffff, .selector = 8, .type = 0xb,
		.present = 1, .dpl = 0, .db = 1, .s = 1, .g = 1,
	};
	struct kvm_guest_debug dbg = {
		.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP,
	};
	struct kvm_regs regs = { .rip = CODE, .rflags = 2 };
	struct kvmdbg_scratch s;
	struct kvm_sregs sregs;
	double us[ROUNDS];
	int kvm, err;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("/dev/kvm");
	err = kvmdbg_scratch_open(kvm, RAM, &s);
	if (err) {
		errno = -err;
		die("scratch VM");
	}
	s.ram[CODE] = 0xeb;	/* jmp . */
	s.ram[CODE + 1] = 0xfe;
	if (ioctl(s.vcpu, KVM_GET_SREGS, &sregs) < 0)
		die("KVM_GET_SREGS");
	sregs.cs = flat;
	flat.type = 0x3;
	flat.selector = 0x10;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = flat;
	sregs.cr0 |= 1;
	if (ioctl(s.vcpu, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(s.vcpu, KVM_SET_REGS, &regs) < 0)
		die("setting up the vCPU");
	if (ioctl(s.vcpu, KVM_SET_GUEST_DEBUG, &dbg) < 0)
		die("KVM_SET_GUEST_DEBUG");
	for (int r = 0; r < ROUNDS; r++) {
		double t = now();

		for (long i = 0; i < steps; i++) {
			if (ioctl(s.vcpu, KVM_RUN, 0) < 0)
				die("KVM_RUN");
			if (s.run->exit_reason != KVM_EXIT_DEBUG) {
				fprintf(stderr, "kvm_step_floor: exit reason %u, not a debug exit\n",
					s.run->exit_reason);
				return 1;
			}
		}
		us[r] = (now() - t) * 1e6 / steps;
	}
	qsort(us, ROUNDS, sizeof(us[0]), cmp);
	printf("%.2f\n", us[ROUNDS / 2]);
	kvmdbg_scratch_close(&s);
	close(kvm);
	return 0;
}
