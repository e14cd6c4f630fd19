/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include <kvmdbg/debug_core.h>

struct kd_stopq_slot {
	bool pending;
	struct kd_stop_event ev;
};

struct kd_stopq {
	unsigned nvcpus;
	unsigned next;		/* vCPU the next pop looks at first */
	size_t count;
	struct kd_stopq_slot slot[];
};

struct kd_stopq *kd_stopq_new(unsigned nvcpus)
{
	struct kd_stopq *q;

	q = calloc(1, sizeof(*q) + (size_t)nvcpus * sizeof(q->slot[0]));
	if (!q)
		return NULL;
	q->nvcpus = nvcpus;
	return q;
}

void kd_stopq_free(struct kd_stopq *q)
{
	free(q);
}

int kd_stopq_push(struct kd_stopq *q, const struct kd_stop_event *ev)
{
	struct kd_stopq_slot *s;

	if (ev->vcpu >= q->nvcpus)
		return -EINVAL;
	s = &q->slot[ev->vcpu];
	if (s->pending)
		return -EBUSY;
	s->pending = true;
	s->ev = *ev;
	q->count++;
	return 0;
}

bool kd_stopq_pop_among(struct kd_stopq *q, const bool *eligible,
			struct kd_stop_event *out)
{
	unsigned v = q->next, n;

	for (n = 0; n < q->nvcpus; n++, v = (v + 1) % q->nvcpus)
		if (q->slot[v].pending && (!eligible || eligible[v]))
			break;
	if (n == q->nvcpus)
		return false;
	q->slot[v].pending = false;
	q->count--;
	q->next = (v + 1) % q->nvcpus;
	*out = q->slot[v].ev;
	return true;
}

bool kd_stopq_pending(const struct kd_stopq *q, unsigned vcpu)
{
	return vcpu < q->nvcpus && q->slot[vcpu].pending;
}

size_t kd_stopq_count(const struct kd_stopq *q)
{
	return q->count;
}

bool kd_stopq_pop(struct kd_stopq *q, struct kd_stop_event *out)
{
	return kd_stopq_pop_among(q, NULL, out);
}

size_t kd_stopq_discard_swbreak(struct kd_stopq *q, uint64_t addr)
{
	return kd_stopq_discard(q, KD_STOP_SWBREAK, addr);
}

size_t kd_stopq_discard(struct kd_stopq *q, enum kd_stop_kind kind, uint64_t addr)
{
	struct kd_stopq_slot *s;
	size_t dropped = 0;
	unsigned v;

	for (v = 0; v < q->nvcpus; v++) {
		s = &q->slot[v];
		if (s->pending && s->ev.kind == kind && s->ev.addr == addr) {
			s->pending = false;
			dropped++;
		}
	}
	q->count -= dropped;
	return dropped;
}

void kd_stopq_clear(struct kd_stopq *q)
{
	unsigned v;

	for (v = 0; v < q->nvcpus; v++)
		q->slot[v].pending = false;
	q->count = 0;
}
