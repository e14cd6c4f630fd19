/* SPDX-License-Identifier: MIT */
/* The arm64 machine's state, shared by its files. */
#ifndef KVMDBG_ARM64VMM_H
#define KVMDBG_ARM64VMM_H

#include "../vmm.h"

struct a64_machine {
	uint64_t entry;
	int gic_fd;		/* -1: no in-kernel GIC on this host */
	unsigned gic_version;
};

/* Creates the vGIC before the vCPUs; without one, says so and goes on. */
void a64_gic_create(struct vm *vm, struct a64_machine *m);
/* Finishes it once every vCPU exists. */
int a64_gic_init(struct a64_machine *m, char *err, size_t len);

#endif
