/* SPDX-License-Identifier: MIT */
/* Limits of the SMP guest, shared by its boot code and its C code. */
#ifndef GUEST_SMP_H
#define GUEST_SMP_H

/* kvmdbg starts at most this many x86 vCPUs. */
#define SMP_MAX_CPUS	64
/* The calls are shallow and keep no arrays on the stack. */
#define SMP_STACK_SIZE	4096

#ifndef __ASSEMBLER__
#include <stdint.h>

/* Entered by smp_boot32.S in long mode on every vCPU, with its index. */
void smp_main(uint32_t idx) __attribute__((noreturn));
#endif

#endif
