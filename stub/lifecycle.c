/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "internal.h"

/* Linux keeps 15 characters of a thread's name. */
#define STUB_THREAD_NAME "kvmdbg-stub"

/* Every register buffer is max_reg_size long: a backend whose registers
 * do not fit would overflow them. */
static bool regs_fit(const struct kvmdbg_arch_ops *a)
{
	for (unsigned i = 0; i < a->nregs; i++)
		if (a->reg_size(i) > a->max_reg_size)
			return false;
	return a->max_reg_size > 0;
}

struct kvmdbg_stub *kvmdbg_stub_new(const struct kvmdbg_stub_config *cfg)
{
	struct kvmdbg_stub *s;

	if (!regs_fit(cfg->arch)) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cfg = *cfg;
	s->arch = cfg->arch;
	s->vcpu_ops = &stub_kvm_vcpus;
	s->listen_fd = s->given_fd = s->conn_fd = s->wake_fd = -1;
	s->cur_c = UINT_MAX;
	/* Held from the start when gdb must see the first instruction. */
	s->stopping = cfg->wait;
	s->held = cfg->wait;
	s->bps = kd_bptable_new();
	s->bp_actions[0] = kd_bpaction_table_new();
	s->bp_actions[1] = kd_bpaction_table_new();
	s->console = malloc(STUB_CONSOLE_SIZE);
	s->watches = kd_watchset_new();
	s->unhidden_page = UINT64_MAX;
	s->vm_fd = -1;
	s->inbuf = malloc(STUB_PACKET_SIZE);
	s->reply = malloc(STUB_REPLY_SIZE);
	s->scratch = malloc(STUB_PACKET_SIZE);
	s->regval = malloc(STUB_STOP_REGS * s->arch->max_reg_size);
	/* Worst case every byte escaped, plus framing. */
	s->framed = malloc(2 * STUB_REPLY_SIZE + 8);
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!s->bps || !s->bp_actions[0] || !s->bp_actions[1] || !s->console || !s->watches || !s->inbuf || !s->reply || !s->scratch || !s->regval || !s->framed || s->wake_fd < 0)
		goto fail;
	if (pthread_mutex_init(&s->lock, NULL) || pthread_cond_init(&s->cond, NULL))
		goto fail;
	/* KVM memory slots start and end on host pages: a watch can only
	 * protect whole ones. */
	s->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
	if (kd_watchset_set_page_size(s->watches, s->page_size) < 0) {
		kvmdbg_stub_free(s);
		errno = EINVAL;
		return NULL;
	}
	kd_hwslots_init(&s->pools[0], cfg->caps->hw_bps);
	kd_hwslots_init(&s->pools[1], cfg->caps->hw_shared ? 0 : cfg->caps->hw_wps);
	rsp_decoder_init(&s->dec, s->inbuf, STUB_PACKET_SIZE);
	s->ready = true;
	return s;
fail:
	kvmdbg_stub_free(s);
	errno = ENOMEM;
	return NULL;
}

void kvmdbg_stub_stop(struct kvmdbg_stub *s)
{
	pthread_mutex_lock(&s->lock);
	s->quit = true;
	pthread_mutex_unlock(&s->lock);
	stub_wake(s);
}

void kvmdbg_stub_join(struct kvmdbg_stub *s)
{
	bool join;

	/* kvmdbg_stub_guest_exited may collect the thread as well. */
	pthread_mutex_lock(&s->lock);
	join = s->thread_started;
	s->thread_started = false;
	pthread_mutex_unlock(&s->lock);
	if (join)
		pthread_join(s->thread, NULL);
}

void kvmdbg_stub_free(struct kvmdbg_stub *s)
{
	if (!s)
		return;
	if (s->ready) {
		pthread_mutex_lock(&s->lock);
		/* Nothing will park any more: a stop must not wait for it. */
		s->vcpus_gone = true;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		kvmdbg_stub_stop(s);
		kvmdbg_stub_join(s);
	}
	stub_close_listener(s);
	if (s->given_fd >= 0)
		close(s->given_fd);
	if (s->conn_fd >= 0)
		close(s->conn_fd);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	for (unsigned i = 0; i < s->nvcpus; i++) {
		free(s->vcpus[i].regs);
		free(s->vcpus[i].nisv_regs);
		free(s->vcpus[i].nisv_bytes);
		free(s->vcpus[i].regval);
	}
	free(s->vcpus);
	free(s->resumed);
	kd_stopq_free(s->stopq);
	kd_bptable_free(s->bps);
	kd_bpaction_table_free(s->bp_actions[0]);
	kd_bpaction_table_free(s->bp_actions[1]);
	free(s->console);
	free(s->pending);
	kd_watchset_free(s->watches);
	free(s->slots);
	free(s->slot_id_busy);
	free(s->inbuf);
	free(s->reply);
	free(s->scratch);
	free(s->regval);
	free(s->framed);
	free(s);
}

void kvmdbg_stub_set_memslots(struct kvmdbg_stub *s, int vm_fd,
			      const struct kvmdbg_ram_slot *ram, unsigned nram,
			      uint32_t spare_slot, unsigned nspare)
{
	/* Without room to track slots, page protection stays off. */
	s->vm_fd = -1;
	if (stub_memslots_init(s, ram, nram, spare_slot, nspare) < 0)
		return;
	/* Stores KVM cannot decode come to the stub instead of failing
	 * KVM_RUN, where the architecture has them. */
	if (s->arch->enable_undecoded_exits) {
		int err = s->arch->enable_undecoded_exits(vm_fd);

		if (err < 0)
			stub_log(s, "stores KVM cannot decode will fail on write-watched pages: %s",
				 strerror(-err));
	}
	s->vm_fd = vm_fd;
}

int kvmdbg_stub_add_vcpu(struct kvmdbg_stub *s, int vcpu_fd, struct kvm_run *run)
{
	struct stub_vcpu *v;
	struct kd_stopq *q;

	if (s->thread_started)
		return -EBUSY;
	v = realloc(s->vcpus, (s->nvcpus + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->vcpus = v;
	q = kd_stopq_new(s->nvcpus + 1);
	if (!q)
		return -ENOMEM;
	kd_stopq_free(s->stopq);
	s->stopq = q;
	{
		bool *r = realloc(s->resumed, (s->nvcpus + 1) * sizeof(*r));

		if (!r)
			return -ENOMEM;
		s->resumed = r;
		r[s->nvcpus] = true;
	}
	v = &s->vcpus[s->nvcpus];
	memset(v, 0, sizeof(*v));
	v->idx = s->nvcpus;
	v->fd = vcpu_fd;
	v->run = run;
	v->runnable = true;
	atomic_init(&v->quiet, false);
	v->regs = calloc(1, s->arch->regs_size);
	v->regval = malloc(s->arch->max_reg_size);
	if (!v->regs || !v->regval) {
		free(v->regs);
		free(v->regval);
		return -ENOMEM;
	}
	return s->nvcpus++;
}

int kvmdbg_stub_connect_fd(struct kvmdbg_stub *s, int fd)
{
	if (fd < 0)
		return -EBADF;
	if (s->listen_fd >= 0 || s->given_fd >= 0 || s->thread_started)
		return -EBUSY;
	s->given_fd = fd;
	return 0;
}

int kvmdbg_stub_start(struct kvmdbg_stub *s)
{
	int err;

	if ((s->listen_fd < 0 && s->given_fd < 0) || !s->nvcpus)
		return -EINVAL;
	err = pthread_create(&s->thread, NULL, stub_thread_main, s);
	if (err)
		return -err;
	s->thread_started = true;
	/* So that top, a debugger of the VMM and the tests tell it apart. */
	err = pthread_setname_np(s->thread, STUB_THREAD_NAME);
	if (err)
		stub_log(s, "naming the gdb stub thread: %s", strerror(err));
	return 0;
}
