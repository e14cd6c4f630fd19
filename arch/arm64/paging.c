/* SPDX-License-Identifier: MIT */
/*
 * Stage-1 translation for EL1&0 as the guest configured it: TTBR0 or
 * TTBR1 by the top of the address, 4K, 16K or 64K granules from TCR_EL1,
 * block and page descriptors.  48-bit output addresses.
 */
#include <errno.h>
#include <string.h>

#include "a64.h"

#define DESC_VALID	1ull
#define DESC_TABLE	2ull
#define OA_MASK		0x0000fffffffff000ull

bool a64_paging(const void *regs)
{
	const struct a64_regs *r = regs;

	return r->sys[A64_SYS_SCTLR] & SCTLR_M;
}

/* log2 of the granule from a TCR TGx field, 0 for a reserved value. */
static unsigned granule(uint64_t tcr, bool upper)
{
	unsigned tg = upper ? (tcr >> 30) & 3 : (tcr >> 14) & 3;

	if (upper)
		return tg == 1 ? 14 : tg == 2 ? 12 : tg == 3 ? 16 : 0;
	return tg == 0 ? 12 : tg == 1 ? 16 : tg == 2 ? 14 : 0;
}

int a64_translate(const void *regs, const struct kvmdbg_mem *mem,
		  uint64_t gva, uint64_t *gpa, uint64_t *page_left)
{
	const struct a64_regs *r = regs;
	uint64_t tcr = r->sys[A64_SYS_TCR];
	bool upper = (gva >> 55) & 1;
	unsigned tsz = upper ? (tcr >> 16) & 0x3f : tcr & 0x3f;
	unsigned g = granule(tcr, upper), stride = g - 3, ia = 64 - tsz;
	/* BADDR: the top-level table may be smaller than a granule. */
	uint64_t table = (upper ? r->sys[A64_SYS_TTBR1] : r->sys[A64_SYS_TTBR0]) &
			 0x0000fffffffffffeull;
	uint64_t top = ia < 64 ? gva >> ia : 0;
	unsigned levels;
	int shift;

	if (!g || ia < 25 || ia > 48 ||
	    (upper ? top != (~0ull >> ia) : top != 0) ||
	    ((upper ? (tcr >> 23) : (tcr >> 7)) & 1))	/* EPDx: walks disabled */
		return -EFAULT;
	levels = (ia - g + stride - 1) / stride;
	shift = g + stride * (levels - 1);
	for (unsigned l = 0; l < levels; l++, shift -= stride) {
		unsigned bits = l == 0 ? ia - shift : stride;
		uint64_t idx = (gva >> shift) & ((1ull << bits) - 1);
		const void *p = mem->gpa_to_hva(mem->opaque, table + idx * 8, 8);
		uint64_t desc;

		if (!p)
			return -EFAULT;
		memcpy(&desc, p, 8);
		if (!(desc & DESC_VALID))
			return -EFAULT;
		if (l + 1 == levels || !(desc & DESC_TABLE)) {
			uint64_t size = 1ull << shift;

			if (l + 1 == levels && !(desc & DESC_TABLE))
				return -EFAULT;	/* reserved at the last level */
			*gpa = (desc & OA_MASK & ~(size - 1)) | (gva & (size - 1));
			*page_left = size - (gva & (size - 1));
			return 0;
		}
		table = desc & OA_MASK & ~((1ull << g) - 1);
	}
	return -EFAULT;
}
