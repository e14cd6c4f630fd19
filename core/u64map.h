/* SPDX-License-Identifier: MIT */
/*
 * Open-addressing hash map from a 64-bit key to a non-NULL pointer, private
 * to the debug core.  Growing is split from storing so that a caller who
 * updates several maps at once can make every allocation before changing
 * any of them.
 */
#ifndef KVMDBG_CORE_U64MAP_H
#define KVMDBG_CORE_U64MAP_H

#include <stddef.h>
#include <stdint.h>

struct kd_u64map_slot {
	uint64_t key;
	void *val;		/* NULL: the slot is empty */
};

struct kd_u64map {
	struct kd_u64map_slot *slot;
	size_t cap;		/* 0 or a power of two */
	unsigned shift;		/* 64 - log2(cap) */
	size_t count;
};

void kd_u64map_init(struct kd_u64map *m);
void kd_u64map_fini(struct kd_u64map *m);
/* Makes room for `extra` more keys: 0 or -ENOMEM (m unchanged). */
int kd_u64map_reserve(struct kd_u64map *m, size_t extra);
void *kd_u64map_get(const struct kd_u64map *m, uint64_t key);
/* Replaces the value of key, or adds key when room was reserved for it. */
void kd_u64map_set(struct kd_u64map *m, uint64_t key, void *val);
/* Removes key and returns its value, or NULL when absent. */
void *kd_u64map_del(struct kd_u64map *m, uint64_t key);

#endif
