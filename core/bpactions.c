/* SPDX-License-Identifier: MIT */
/* Condition and command lists of breakpoints, and the decision at a hit. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <kvmdbg/agent_expr.h>

#include "u64map.h"

struct kd_ax_expr {
	size_t len;
	uint8_t *code;
};

struct kd_ax_list {
	size_t n;
	struct kd_ax_expr *e;
};

struct kd_bpactions {
	struct kd_ax_list lists[2];	/* by enum kd_ax_use */
};

struct kd_bpactions *kd_bpactions_new(void)
{
	return calloc(1, sizeof(struct kd_bpactions));
}

void kd_bpactions_free(struct kd_bpactions *a)
{
	if (!a)
		return;
	for (unsigned l = 0; l < 2; l++) {
		for (size_t i = 0; i < a->lists[l].n; i++)
			free(a->lists[l].e[i].code);
		free(a->lists[l].e);
	}
	free(a);
}

int kd_bpactions_add(struct kd_bpactions *a, enum kd_ax_use use,
		     const uint8_t *code, size_t len, const char **why)
{
	struct kd_ax_list *l = &a->lists[use == KD_AX_COMMAND];
	struct kd_ax_expr *e;
	uint8_t *copy;
	int err = kd_ax_validate(code, len, use, why);

	if (err)
		return err;
	copy = malloc(len);
	e = realloc(l->e, (l->n + 1) * sizeof(*e));
	if (e)
		l->e = e;
	if (!copy || !e) {
		free(copy);
		*why = "out of memory for the breakpoint's expressions";
		return -ENOMEM;
	}
	memcpy(copy, code, len);
	l->e[l->n++] = (struct kd_ax_expr){ .len = len, .code = copy };
	return 0;
}

size_t kd_bpactions_count(const struct kd_bpactions *a, enum kd_ax_use use)
{
	return a->lists[use == KD_AX_COMMAND].n;
}

enum kd_bp_outcome kd_bpactions_hit(const struct kd_bpactions *a,
				    const struct kd_ax_env *env,
				    enum kd_ax_result *err)
{
	const struct kd_ax_list *conds = &a->lists[KD_AX_CONDITION];
	const struct kd_ax_list *cmds = &a->lists[KD_AX_COMMAND];
	enum kd_ax_result first = KD_AX_OK, r;
	bool hold = conds->n == 0;

	for (size_t i = 0; i < conds->n && !hold; i++) {
		uint64_t v = 0;

		r = kd_ax_eval(conds->e[i].code, conds->e[i].len, env, &v);
		if (r != KD_AX_OK && first == KD_AX_OK)
			first = r;
		hold = r != KD_AX_OK || v;
	}
	if (err)
		*err = first;
	if (!hold)
		return KD_BP_CONTINUE;
	/* A condition that could not be evaluated stops the guest, its
	 * commands not run: the debugger decides then. */
	if (first != KD_AX_OK || !cmds->n)
		return KD_BP_STOP;
	for (size_t i = 0; i < cmds->n; i++) {
		r = kd_ax_eval(cmds->e[i].code, cmds->e[i].len, env, NULL);
		if (r != KD_AX_OK) {
			if (err)
				*err = r;
			break;
		}
	}
	return KD_BP_COMMANDS_RAN;
}

struct kd_bpaction_table {
	struct kd_u64map map;
};

struct kd_bpaction_table *kd_bpaction_table_new(void)
{
	struct kd_bpaction_table *t = malloc(sizeof(*t));

	if (t)
		kd_u64map_init(&t->map);
	return t;
}

void kd_bpaction_table_clear(struct kd_bpaction_table *t)
{
	for (size_t i = 0; i < t->map.cap; i++)
		kd_bpactions_free(t->map.slot[i].val);
	kd_u64map_fini(&t->map);
	kd_u64map_init(&t->map);
}

void kd_bpaction_table_free(struct kd_bpaction_table *t)
{
	if (!t)
		return;
	kd_bpaction_table_clear(t);
	kd_u64map_fini(&t->map);
	free(t);
}

int kd_bpaction_table_set(struct kd_bpaction_table *t, uint64_t addr,
			  struct kd_bpactions *a)
{
	kd_bpactions_free(kd_u64map_del(&t->map, addr));
	if (!a)
		return 0;
	if (kd_u64map_reserve(&t->map, 1)) {
		kd_bpactions_free(a);
		return -ENOMEM;
	}
	kd_u64map_set(&t->map, addr, a);
	return 0;
}

const struct kd_bpactions *kd_bpaction_table_get(const struct kd_bpaction_table *t,
						 uint64_t addr)
{
	return kd_u64map_get(&t->map, addr);
}

size_t kd_bpaction_table_count(const struct kd_bpaction_table *t)
{
	return t->map.count;
}
