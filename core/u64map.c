/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "u64map.h"

#define KD_U64MAP_MIN_CAP 16

/*
 * Multiplicative hashing keeps the top bits of the product, which depend on
 * every bit of the key: addresses that differ only in their high bits or
 * that are all page aligned still spread over the whole table.
 */
static size_t kd_u64map_home(const struct kd_u64map *m, uint64_t key)
{
	return (size_t)((key * UINT64_C(0x9e3779b97f4a7c15)) >> m->shift);
}

void kd_u64map_init(struct kd_u64map *m)
{
	m->slot = NULL;
	m->cap = 0;
	m->shift = 64;
	m->count = 0;
}

void kd_u64map_fini(struct kd_u64map *m)
{
	free(m->slot);
	kd_u64map_init(m);
}

static struct kd_u64map_slot *kd_u64map_probe(const struct kd_u64map *m,
					      uint64_t key)
{
	size_t mask = m->cap - 1;
	size_t i;

	for (i = kd_u64map_home(m, key); m->slot[i].val; i = (i + 1) & mask) {
		if (m->slot[i].key == key)
			break;
	}
	return &m->slot[i];
}

int kd_u64map_reserve(struct kd_u64map *m, size_t extra)
{
	struct kd_u64map old = *m;
	size_t need, cap, i;
	unsigned shift;

	/* At most half full keeps linear probe runs short. */
	if (extra > SIZE_MAX / 2 - m->count)
		return -ENOMEM;
	need = 2 * (m->count + extra);
	if (need <= m->cap)
		return 0;
	cap = KD_U64MAP_MIN_CAP;
	shift = 64 - 4;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
		shift--;
	}
	m->slot = calloc(cap, sizeof(*m->slot));
	if (!m->slot) {
		m->slot = old.slot;
		return -ENOMEM;
	}
	m->cap = cap;
	m->shift = shift;
	for (i = 0; i < old.cap; i++) {
		if (old.slot[i].val)
			*kd_u64map_probe(m, old.slot[i].key) = old.slot[i];
	}
	free(old.slot);
	return 0;
}

void *kd_u64map_get(const struct kd_u64map *m, uint64_t key)
{
	if (!m->count)
		return NULL;
	return kd_u64map_probe(m, key)->val;
}

void kd_u64map_set(struct kd_u64map *m, uint64_t key, void *val)
{
	struct kd_u64map_slot *s = kd_u64map_probe(m, key);

	if (!s->val)
		m->count++;
	s->key = key;
	s->val = val;
}

void *kd_u64map_del(struct kd_u64map *m, uint64_t key)
{
	size_t mask = m->cap - 1;
	struct kd_u64map_slot *s;
	size_t hole, i, home;
	void *val;

	if (!m->count)
		return NULL;
	s = kd_u64map_probe(m, key);
	val = s->val;
	if (!val)
		return NULL;
	/*
	 * Without tombstones a lookup stops at the first empty slot, so every
	 * later key of the run whose home is not between the hole and itself
	 * moves back into the hole.
	 */
	hole = (size_t)(s - m->slot);
	for (i = (hole + 1) & mask; m->slot[i].val; i = (i + 1) & mask) {
		home = kd_u64map_home(m, m->slot[i].key);
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			m->slot[hole] = m->slot[i];
			hole = i;
		}
	}
	m->slot[hole].val = NULL;
	m->count--;
	return val;
}
