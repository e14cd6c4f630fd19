/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include <kvmdbg/debug_core.h>

void kd_hwslots_init(struct kd_hwslots *s, unsigned n)
{
	memset(s, 0, sizeof(*s));
	s->n = n < KD_HW_MAX_SLOTS ? n : KD_HW_MAX_SLOTS;
}

static int kd_hwslots_find(const struct kd_hwslots *s, enum kd_hw_type type,
			   uint64_t addr, uint64_t len)
{
	const struct kd_hwslot *h;
	unsigned i;

	for (i = 0; i < s->n; i++) {
		h = &s->slot[i];
		if (h->used && h->type == type && h->addr == addr &&
		    h->len == len)
			return (int)i;
	}
	return -ENOENT;
}

int kd_hwslots_alloc(struct kd_hwslots *s, enum kd_hw_type type,
		     uint64_t addr, uint64_t len)
{
	unsigned i;

	if (kd_hwslots_find(s, type, addr, len) >= 0)
		return -EEXIST;
	for (i = 0; i < s->n; i++) {
		if (!s->slot[i].used) {
			s->slot[i] = (struct kd_hwslot){
				.used = true,
				.type = type,
				.addr = addr,
				.len = len,
			};
			return (int)i;
		}
	}
	return -ENOSPC;
}

int kd_hwslots_free(struct kd_hwslots *s, enum kd_hw_type type,
		    uint64_t addr, uint64_t len)
{
	int i = kd_hwslots_find(s, type, addr, len);

	if (i >= 0)
		s->slot[i] = (struct kd_hwslot){ .used = false };
	return i;
}

unsigned kd_hwslots_used(const struct kd_hwslots *s)
{
	unsigned i, used = 0;

	for (i = 0; i < s->n; i++)
		used += s->slot[i].used;
	return used;
}

void kd_hwslots_clear(struct kd_hwslots *s)
{
	kd_hwslots_init(s, s->n);
}
