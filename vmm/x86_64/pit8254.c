/* SPDX-License-Identifier: MIT */
/*
 * Channel 0 of the 8254 timer in its periodic modes (2 and 3), feeding
 * IRQ 0.  Programming it starts a host thread that raises the IRQ at the
 * programmed rate and kicks the vCPU out of KVM_RUN to take it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "x86vmm.h"

#define PIT_HZ		1193182ull
#define MIN_PERIOD_NS	100000ull	/* 10 kHz: emulated guests are slow */

static void *ticker(void *arg)
{
	struct vm *vm = arg;
	struct x86_machine *m = vm->arch;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		uint64_t ns;

		pthread_mutex_lock(&m->irq_lock);
		ns = m->pit.period_ns;
		pthread_mutex_unlock(&m->irq_lock);
		next.tv_nsec += ns;
		while (next.tv_nsec >= 1000000000) {
			next.tv_nsec -= 1000000000;
			next.tv_sec++;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
		pthread_mutex_lock(&m->irq_lock);
		pic_raise(&m->pic, 0);
		pthread_cond_broadcast(&m->irq_cond);
		if (m->vcpu0_known)
			pthread_kill(m->vcpu0, VMM_TIMER_SIGNAL);
		pthread_mutex_unlock(&m->irq_lock);
	}
	return NULL;
}

static void start(struct vm *vm, struct pit8254 *p)
{
	uint64_t count = p->reload ? p->reload : 0x10000;
	uint64_t ns = count * 1000000000ull / PIT_HZ;
	int err;

	p->period_ns = ns < MIN_PERIOD_NS ? MIN_PERIOD_NS : ns;
	if (p->running)
		return;
	err = pthread_create(&p->thread, NULL, ticker, vm);
	if (err) {
		fprintf(stderr, "kvmdbg: cannot start the PIT timer thread: %s\n", strerror(err));
		return;
	}
	p->running = true;
}

/* Called with irq_lock held. */
void pit_out(struct vm *vm, struct pit8254 *p, uint16_t port, uint8_t val)
{
	if (port == PIT_BASE + 3) {
		if ((val >> 6) == 0) {		/* channel 0 only */
			p->access = (val >> 4) & 3;
			p->mode = (val >> 1) & 7;
			p->low_next = true;
		}
		return;
	}
	if (port != PIT_BASE)
		return;
	if (p->access == 1 || (p->access == 3 && p->low_next)) {
		p->reload = (p->reload & 0xff00) | val;
	} else {
		p->reload = (p->reload & 0x00ff) | (uint16_t)(val << 8);
	}
	if (p->access == 3 && p->low_next) {
		p->low_next = false;
		return;
	}
	p->low_next = true;
	if (p->mode == 2 || p->mode == 3 || p->mode == 6 || p->mode == 7)
		start(vm, p);
}
