// SPDX-License-Identifier: MIT
/* What brk_vectors.S keeps. */
#include "brk.h"

volatile uint32_t brk_hits[BRK_MAX_CPUS];
volatile uint64_t brk_last_esr;
