/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "watchrange.h"

#define MASK_MAX	31	/* 2 GiB: the largest DBGWCR.MASK */

static unsigned log2u(uint64_t v)
{
	unsigned n = 0;

	while (v >>= 1)
		n++;
	return n;
}

int a64_watch_range(uint64_t addr, uint64_t len, struct a64_watch_range *out)
{
	unsigned off = addr & 7;

	/* Every sum below stays below 2^64 once these hold: the debugger's
	 * numbers are arbitrary 64-bit values. */
	if (!len || len - 1 > UINT64_MAX - addr)
		return -EINVAL;
	if (len <= 8 - off) {
		/* The hardware reports the access, not the byte: a hit is
		 * anywhere in the doubleword. */
		*out = (struct a64_watch_range){
			.wvr = addr - off,
			.bas = (uint8_t)(((1u << len) - 1) << off),
			.first = addr - off,
			.last = addr - off + 7,
		};
		return 0;
	}
	if (len & (len - 1) || addr & (len - 1) || log2u(len) > MASK_MAX)
		return -EINVAL;
	*out = (struct a64_watch_range){
		.wvr = addr,
		.bas = 0xff,
		.mask = (uint8_t)log2u(len),
		.first = addr,
		.last = addr + (len - 1),
	};
	return 0;
}
