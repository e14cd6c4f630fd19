/* SPDX-License-Identifier: MIT */
/*
 * How one watchpoint register pair (DBGWVR/DBGWCR) expresses a watched
 * range.  Pure arithmetic on the debugger's numbers, apart from KVM, so
 * it is tested on any host.
 */
#ifndef KVMDBG_ARCH_A64_WATCHRANGE_H
#define KVMDBG_ARCH_A64_WATCHRANGE_H

#include <stdint.h>

struct a64_watch_range {
	uint64_t wvr;		/* DBGWVR: the address compared */
	uint8_t bas;		/* DBGWCR.BAS: bytes of the doubleword at wvr */
	uint8_t mask;		/* DBGWCR.MASK: low address bits ignored, 0 for none */
	uint64_t first, last;	/* the bytes whose access fires it, inclusive */
};

/*
 * 0 and *out, or -EINVAL when one register pair cannot watch exactly
 * [addr, addr+len): empty, running past 2^64, or neither inside one
 * doubleword (byte selects) nor a naturally aligned power of two from
 * 8 bytes to 2 GiB (address mask).
 */
int a64_watch_range(uint64_t addr, uint64_t len, struct a64_watch_range *out);

#endif
