/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <kvmdbg/debug_core.h>

#define PAGE 0x1000u
#define TOP_PAGE (UINT64_MAX & ~(uint64_t)(PAGE - 1))

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static struct kd_watch_frag frag(uint64_t gpa, uint64_t len, uint64_t vaddr)
{
	return (struct kd_watch_frag){ .gpa = gpa, .len = len, .vaddr = vaddr };
}

/* A watch of one fragment; its virtual address is addr + 0x7f0000000000. */
static void add1(struct kd_watchset *ws, enum kd_hw_type type, uint64_t gpa,
		 uint64_t len)
{
	struct kd_watch_frag f = frag(gpa, len, gpa + 0x7f0000000000);

	assert_int_equal(kd_watchset_add(ws, type, f.vaddr, len, &f, 1), 0);
}

static void remove1(struct kd_watchset *ws, enum kd_hw_type type, uint64_t gpa,
		    uint64_t len)
{
	assert_int_equal(kd_watchset_remove(ws, type, gpa + 0x7f0000000000, len),
			 0);
}

/* Whether the access hits; kind and vaddr only meaningful on a hit. */
struct hit {
	bool hit;
	enum kd_stop_kind kind;
	uint64_t vaddr;
};

static struct hit match(const struct kd_watchset *ws, uint64_t gpa,
			uint64_t len, bool write)
{
	struct hit h = { .kind = KD_STOP_SIGNAL, .vaddr = 0xdead };

	h.hit = kd_watchset_match(ws, gpa, len, write, &h.kind, &h.vaddr);
	return h;
}

static void assert_hit(const struct kd_watchset *ws, uint64_t gpa,
		       uint64_t len, bool write, enum kd_stop_kind kind,
		       uint64_t vaddr)
{
	struct hit h = match(ws, gpa, len, write);

	assert_true(h.hit);
	assert_int_equal(h.kind, kind);
	assert_int_equal(h.vaddr, vaddr);
}

static void assert_miss(const struct kd_watchset *ws, uint64_t gpa,
			uint64_t len, bool write)
{
	assert_false(match(ws, gpa, len, write).hit);
}

/* What kd_watchset_at reports, in order. */
#define SEEN_MAX 256

struct seen {
	size_t n;
	enum kd_hw_type type[SEEN_MAX];
	uint64_t addr[SEEN_MAX], len[SEEN_MAX];
};

static void collect(const struct kd_watchset *ws, struct seen *s)
{
	struct kd_watch_info w;

	memset(s, 0, sizeof(*s));
	while (kd_watchset_at(ws, s->n, &w)) {
		assert_true(s->n < SEEN_MAX);
		s->type[s->n] = w.type;
		s->addr[s->n] = w.addr;
		s->len[s->n] = w.len;
		s->n++;
	}
}

static void test_empty(void **state)
{
	struct kd_watchset *ws = kd_watchset_new();
	uint64_t pages[2] = { 7, 7 };
	struct seen s;

	assert_non_null(ws);
	assert_int_equal(kd_watchset_count(ws), 0);
	assert_int_equal(kd_watchset_page_prot(ws, 0), KD_PAGE_RW);
	assert_int_equal(kd_watchset_page_prot(ws, TOP_PAGE), KD_PAGE_RW);
	assert_int_equal(kd_watchset_pages(ws, pages, 2), 0);
	assert_int_equal(pages[0], 7);
	assert_int_equal(kd_watchset_pages(ws, NULL, 0), 0);
	assert_miss(ws, 0, UINT64_MAX, true);
	assert_miss(ws, 0, UINT64_MAX, false);
	assert_int_equal(kd_watchset_remove(ws, KD_HW_WRITE, 0, 1), -ENOENT);
	collect(ws, &s);
	assert_int_equal(s.n, 0);
	kd_watchset_clear(ws);
	assert_int_equal(kd_watchset_count(ws), 0);
	kd_watchset_free(ws);
	kd_watchset_free(NULL);
}

static void test_add_remove(void **state)
{
	struct kd_watchset *ws = kd_watchset_new();
	struct kd_watch_frag f[2] = {
		frag(0x5000, 8, 0x401000),
		frag(0x9000, 8, 0x402000),
	};

	assert_int_equal(kd_watchset_add(ws, KD_HW_WRITE, 0x401000, 8, f, 1), 0);
	assert_int_equal(kd_watchset_count(ws), 1);
	/* The set keeps its own copy of the fragments. */
	f[0].gpa = 0x6000;
	assert_hit(ws, 0x5000, 1, true, KD_STOP_WATCH, 0x401000);
	assert_miss(ws, 0x6000, 1, true);

	/* The key is (type, addr, len): the fragments play no part in it. */
	assert_int_equal(kd_watchset_add(ws, KD_HW_WRITE, 0x401000, 8, f, 2),
			 -EEXIST);
	assert_int_equal(kd_watchset_count(ws), 1);
	assert_miss(ws, 0x6000, 1, true);
	assert_miss(ws, 0x9000, 1, true);
	assert_int_equal(kd_watchset_page_prot(ws, 0x9000), KD_PAGE_RW);
	assert_int_equal(kd_watchset_add(ws, KD_HW_READ, 0x401000, 8, f, 1), 0);
	assert_int_equal(kd_watchset_add(ws, KD_HW_ACCESS, 0x401000, 8, f, 1), 0);
	assert_int_equal(kd_watchset_add(ws, KD_HW_WRITE, 0x401000, 4, f, 1), 0);
	assert_int_equal(kd_watchset_add(ws, KD_HW_WRITE, 0x401001, 8, f, 1), 0);
	assert_int_equal(kd_watchset_count(ws), 5);

	assert_int_equal(kd_watchset_remove(ws, KD_HW_WRITE, 0x401000, 2),
			 -ENOENT);
	assert_int_equal(kd_watchset_remove(ws, KD_HW_WRITE, 0x401002, 8),
			 -ENOENT);
	assert_int_equal(kd_watchset_count(ws), 5);
	assert_int_equal(kd_watchset_remove(ws, KD_HW_WRITE, 0x401000, 8), 0);
	assert_int_equal(kd_watchset_remove(ws, KD_HW_WRITE, 0x401000, 8),
			 -ENOENT);
	assert_int_equal(kd_watchset_count(ws), 4);
	/* The others with the same address survive. */
	assert_int_equal(kd_watchset_remove(ws, KD_HW_READ, 0x401000, 8), 0);
	assert_int_equal(kd_watchset_remove(ws, KD_HW_ACCESS, 0x401000, 8), 0);
	assert_int_equal(kd_watchset_remove(ws, KD_HW_WRITE, 0x401000, 4), 0);
	assert_int_equal(kd_watchset_remove(ws, KD_HW_WRITE, 0x401001, 8), 0);
	assert_int_equal(kd_watchset_count(ws), 0);
	assert_int_equal(kd_watchset_pages(ws, NULL, 0), 0);

	/* Re-adding after removal takes the new fragments. */
	assert_int_equal(kd_watchset_add(ws, KD_HW_WRITE, 0x401000, 8, f, 2), 0);
	assert_miss(ws, 0x5000, 1, true);
	assert_hit(ws, 0x6004, 1, true, KD_STOP_WATCH, 0x401004);
	assert_hit(ws, 0x9007, 1, true, KD_STOP_WATCH, 0x402007);
	kd_watchset_free(ws);
}

static void test_invalid(void **state)
{
	struct kd_watchset *ws = kd_watchset_new();
	struct kd_watch_frag f[3] = {
		frag(0x5000, 8, 0x1000),
		frag(0x9000, 0, 0x1008),
		frag(0xa000, 8, 0x1008),
	};
	struct kd_watch_frag wrap[] = {
		frag(UINT64_MAX, 2, 0x1000),
		frag(TOP_PAGE, 2 * PAGE, 0x1000),
		frag(2, UINT64_MAX, 0x1000),
		frag(UINT64_MAX, UINT64_MAX, 0x1000),
	};
	struct kd_watch_frag top[] = {
		frag(UINT64_MAX, 1, 0x2000),
		frag(TOP_PAGE, PAGE, 0x3000),
		frag(0, UINT64_MAX, 0),
	};
	struct kd_watch_frag big;
	uint64_t pages[4];
	size_t i;

	assert_int_equal(kd_watchset_add(ws, KD_HW_WRITE, 0x1000, 8, f, 0),
			 -EINVAL);
	assert_int_equal(kd_watchset_add(ws, KD_HW_WRITE, 0x1000, 8, NULL, 0),
			 -EINVAL);
	/* An empty fragment anywhere in the list, also after a good one. */
	assert_int_equal(kd_watchset_add(ws, KD_HW_WRITE, 0x1000, 16, f, 3),
			 -EINVAL);
	assert_int_equal(kd_watchset_add(ws, KD_HW_WRITE, 0x1008, 0, f + 1, 1),
			 -EINVAL);
	f[1].gpa = 0;
	assert_int_equal(kd_watchset_add(ws, KD_HW_WRITE, 0x1008, 0, f + 1, 1),
			 -EINVAL);
	/* Instruction fetches cannot be watched by page protection. */
	assert_int_equal(kd_watchset_add(ws, KD_HW_EXEC, 0x1000, 8, f, 1),
			 -EINVAL);
	for (i = 0; i < sizeof(wrap) / sizeof(wrap[0]); i++) {
		assert_int_equal(kd_watchset_add(ws, KD_HW_READ, 0x1000, 8,
						 &wrap[i], 1), -EINVAL);
		assert_int_equal(kd_watchset_add(ws, KD_HW_READ, 0x1000, 8,
						 (struct kd_watch_frag[]){
							f[0], wrap[i] }, 2),
				 -EINVAL);
	}
	assert_int_equal(kd_watchset_count(ws), 0);
	assert_int_equal(kd_watchset_pages(ws, NULL, 0), 0);
	assert_int_equal(kd_watchset_page_prot(ws, 0x5000), KD_PAGE_RW);
	assert_miss(ws, 0x5000, 8, true);

	/* The last bytes of the address space can be watched. */
	assert_int_equal(kd_watchset_add(ws, KD_HW_WRITE, 0x2000, 1, &top[0], 1),
			 0);
	assert_int_equal(kd_watchset_page_prot(ws, TOP_PAGE), KD_PAGE_RO);
	assert_int_equal(kd_watchset_page_prot(ws, TOP_PAGE - PAGE), KD_PAGE_RW);
	assert_int_equal(kd_watchset_pages(ws, pages, 4), 1);
	assert_int_equal(pages[0], TOP_PAGE);
	assert_hit(ws, UINT64_MAX, 1, true, KD_STOP_WATCH, 0x2000);
	assert_hit(ws, TOP_PAGE, PAGE, true, KD_STOP_WATCH, 0x2000);
	/* An access running past 2^64 stops there rather than wrapping. */
	assert_hit(ws, UINT64_MAX - 3, 8, true, KD_STOP_WATCH, 0x2000);
	assert_miss(ws, UINT64_MAX - 3, 3, true);
	assert_miss(ws, UINT64_MAX, 1, false);

	assert_int_equal(kd_watchset_add(ws, KD_HW_READ, 0x3000, PAGE, &top[1],
					 1), 0);
	assert_int_equal(kd_watchset_page_prot(ws, TOP_PAGE), KD_PAGE_NONE);
	assert_int_equal(kd_watchset_pages(ws, pages, 4), 1);
	assert_hit(ws, UINT64_MAX - 1, 2, false, KD_STOP_RWATCH,
		   0x3000 + PAGE - 2);
	assert_miss(ws, TOP_PAGE - 8, 8, false);
	assert_int_equal(kd_watchset_remove(ws, KD_HW_WRITE, 0x2000, 1), 0);
	assert_int_equal(kd_watchset_remove(ws, KD_HW_READ, 0x3000, PAGE), 0);

	/* Everything but the last byte: more pages than a watch may cover,
	 * and the set stays as it was. */
	assert_int_equal(kd_watchset_add(ws, KD_HW_ACCESS, 0, UINT64_MAX,
					 &top[2], 1), -ENOMEM);
	assert_int_equal(kd_watchset_count(ws), 0);
	assert_int_equal(kd_watchset_page_prot(ws, 0), KD_PAGE_RW);
	assert_int_equal(kd_watchset_page_prot(ws, TOP_PAGE), KD_PAGE_RW);
	assert_int_equal(kd_watchset_pages(ws, pages, 4), 0);
	assert_miss(ws, UINT64_MAX - 1, 2, true);
	/* One page over the bound of 2^24. */
	big = frag(0x100000, ((1ull << 24) + 1) * PAGE, 0);
	assert_int_equal(kd_watchset_add(ws, KD_HW_WRITE, 0, big.len, &big, 1), -ENOMEM);
	assert_int_equal(kd_watchset_count(ws), 0);
	kd_watchset_free(ws);
}

/* ---- Page protection ----------------------------------------------------- */

static void test_page_prot_overlapping(void **state)
{
	struct kd_watchset *ws = kd_watchset_new();

	add1(ws, KD_HW_WRITE, 0x5100, 8);
	assert_int_equal(kd_watchset_page_prot(ws, 0x5000), KD_PAGE_RO);
	assert_int_equal(kd_watchset_page_prot(ws, 0x4000), KD_PAGE_RW);
	assert_int_equal(kd_watchset_page_prot(ws, 0x6000), KD_PAGE_RW);

	/* A read watch on the same page needs it absent, whichever came first. */
	add1(ws, KD_HW_READ, 0x5104, 8);
	assert_int_equal(kd_watchset_page_prot(ws, 0x5000), KD_PAGE_NONE);
	add1(ws, KD_HW_WRITE, 0x5ff0, 4);
	assert_int_equal(kd_watchset_page_prot(ws, 0x5000), KD_PAGE_NONE);
	remove1(ws, KD_HW_READ, 0x5104, 8);
	assert_int_equal(kd_watchset_page_prot(ws, 0x5000), KD_PAGE_RO);
	remove1(ws, KD_HW_WRITE, 0x5100, 8);
	assert_int_equal(kd_watchset_page_prot(ws, 0x5000), KD_PAGE_RO);
	remove1(ws, KD_HW_WRITE, 0x5ff0, 4);
	assert_int_equal(kd_watchset_page_prot(ws, 0x5000), KD_PAGE_RW);

	add1(ws, KD_HW_ACCESS, 0x7000, 1);
	assert_int_equal(kd_watchset_page_prot(ws, 0x7000), KD_PAGE_NONE);
	add1(ws, KD_HW_WRITE, 0x7000, 1);
	assert_int_equal(kd_watchset_page_prot(ws, 0x7000), KD_PAGE_NONE);
	remove1(ws, KD_HW_ACCESS, 0x7000, 1);
	assert_int_equal(kd_watchset_page_prot(ws, 0x7000), KD_PAGE_RO);
	kd_watchset_free(ws);
}

static void test_page_prot_straddling(void **state)
{
	struct kd_watchset *ws = kd_watchset_new();

	add1(ws, KD_HW_WRITE, 0x1ffe, 4);	/* 0x1ffe..0x2001 */
	assert_int_equal(kd_watchset_page_prot(ws, 0x0000), KD_PAGE_RW);
	assert_int_equal(kd_watchset_page_prot(ws, 0x1000), KD_PAGE_RO);
	assert_int_equal(kd_watchset_page_prot(ws, 0x2000), KD_PAGE_RO);
	assert_int_equal(kd_watchset_page_prot(ws, 0x3000), KD_PAGE_RW);

	/* Ending on the last byte of a page and starting on the first. */
	add1(ws, KD_HW_READ, 0x8000, PAGE);
	assert_int_equal(kd_watchset_page_prot(ws, 0x7000), KD_PAGE_RW);
	assert_int_equal(kd_watchset_page_prot(ws, 0x8000), KD_PAGE_NONE);
	assert_int_equal(kd_watchset_page_prot(ws, 0x9000), KD_PAGE_RW);

	/* Three pages, the middle one wholly inside. */
	add1(ws, KD_HW_ACCESS, 0xbfff, PAGE + 2);
	assert_int_equal(kd_watchset_page_prot(ws, 0xa000), KD_PAGE_RW);
	assert_int_equal(kd_watchset_page_prot(ws, 0xb000), KD_PAGE_NONE);
	assert_int_equal(kd_watchset_page_prot(ws, 0xc000), KD_PAGE_NONE);
	assert_int_equal(kd_watchset_page_prot(ws, 0xd000), KD_PAGE_NONE);
	assert_int_equal(kd_watchset_page_prot(ws, 0xe000), KD_PAGE_RW);

	remove1(ws, KD_HW_WRITE, 0x1ffe, 4);
	assert_int_equal(kd_watchset_page_prot(ws, 0x1000), KD_PAGE_RW);
	assert_int_equal(kd_watchset_page_prot(ws, 0x2000), KD_PAGE_RW);
	kd_watchset_free(ws);
}

static void test_page_prot_fragments(void **state)
{
	struct kd_watchset *ws = kd_watchset_new();
	/* One virtual range over two unrelated physical pages, high first. */
	struct kd_watch_frag f[2] = {
		frag(0x7ff8, 8, 0x400ff8),
		frag(0x3000, 8, 0x401000),
	};

	assert_int_equal(kd_watchset_add(ws, KD_HW_WRITE, 0x400ff8, 16, f, 2), 0);
	assert_int_equal(kd_watchset_page_prot(ws, 0x3000), KD_PAGE_RO);
	assert_int_equal(kd_watchset_page_prot(ws, 0x7000), KD_PAGE_RO);
	assert_int_equal(kd_watchset_page_prot(ws, 0x2000), KD_PAGE_RW);
	assert_int_equal(kd_watchset_page_prot(ws, 0x4000), KD_PAGE_RW);
	assert_int_equal(kd_watchset_page_prot(ws, 0x5000), KD_PAGE_RW);
	assert_int_equal(kd_watchset_page_prot(ws, 0x6000), KD_PAGE_RW);
	assert_int_equal(kd_watchset_page_prot(ws, 0x8000), KD_PAGE_RW);
	/* The address space is not the physical one: 0x400000 is unwatched. */
	assert_int_equal(kd_watchset_page_prot(ws, 0x400000), KD_PAGE_RW);

	/* A read watch through the second fragment's page only. */
	f[1] = frag(0x3ff0, 4, 0x500000);
	assert_int_equal(kd_watchset_add(ws, KD_HW_READ, 0x500000, 4, &f[1], 1),
			 0);
	assert_int_equal(kd_watchset_page_prot(ws, 0x3000), KD_PAGE_NONE);
	assert_int_equal(kd_watchset_page_prot(ws, 0x7000), KD_PAGE_RO);
	assert_int_equal(kd_watchset_remove(ws, KD_HW_WRITE, 0x400ff8, 16), 0);
	assert_int_equal(kd_watchset_page_prot(ws, 0x3000), KD_PAGE_NONE);
	assert_int_equal(kd_watchset_page_prot(ws, 0x7000), KD_PAGE_RW);
	kd_watchset_free(ws);
}

/* ---- Page list ----------------------------------------------------------- */

static void test_pages(void **state)
{
	static const uint64_t want[] = {
		0x1000, 0x2000, 0x5000, 0x9000, 0xa000, 0xb000, 0x40000000,
	};
	struct kd_watchset *ws = kd_watchset_new();
	struct kd_watch_frag f[3] = {
		frag(0x40000010, 4, 0x10000),
		frag(0x9ffc, 0x1008, 0x11000),	/* 0x9000..0xb003 */
		frag(0x1000, 1, 0x13000),
	};
	uint64_t pages[16];
	size_t i;

	/* Added out of order, with pages shared between watches. */
	assert_int_equal(kd_watchset_add(ws, KD_HW_ACCESS, 0x10000, 0x3001, f, 3),
			 0);
	add1(ws, KD_HW_WRITE, 0x5800, 8);
	add1(ws, KD_HW_READ, 0x1ffc, 8);	/* 0x1000 and 0x2000 */
	add1(ws, KD_HW_WRITE, 0x1004, 1);
	add1(ws, KD_HW_WRITE, 0xa000, PAGE);
	add1(ws, KD_HW_READ, 0x40000ff0, 8);
	memset(pages, 0xa5, sizeof(pages));
	assert_int_equal(kd_watchset_pages(ws, pages, 16), 7);
	for (i = 0; i < 7; i++)
		assert_int_equal(pages[i], want[i]);
	assert_int_equal(pages[7], 0xa5a5a5a5a5a5a5a5);

	/* A short buffer gets the lowest pages; the count is still all of them. */
	memset(pages, 0xa5, sizeof(pages));
	assert_int_equal(kd_watchset_pages(ws, pages, 3), 7);
	for (i = 0; i < 3; i++)
		assert_int_equal(pages[i], want[i]);
	assert_int_equal(pages[3], 0xa5a5a5a5a5a5a5a5);
	assert_int_equal(kd_watchset_pages(ws, pages, 7), 7);
	assert_int_equal(pages[6], 0x40000000);
	assert_int_equal(kd_watchset_pages(ws, NULL, 0), 7);

	/* A page stays listed while any watch still needs it. */
	remove1(ws, KD_HW_WRITE, 0x1004, 1);
	assert_int_equal(kd_watchset_pages(ws, NULL, 0), 7);
	assert_int_equal(kd_watchset_remove(ws, KD_HW_ACCESS, 0x10000, 0x3001), 0);
	assert_int_equal(kd_watchset_pages(ws, pages, 16), 5);
	assert_int_equal(pages[0], 0x1000);
	assert_int_equal(pages[1], 0x2000);
	assert_int_equal(pages[2], 0x5000);
	assert_int_equal(pages[3], 0xa000);
	assert_int_equal(pages[4], 0x40000000);
	kd_watchset_free(ws);
}

/* ---- Matching accesses --------------------------------------------------- */

static void test_match_kinds(void **state)
{
	static const struct {
		enum kd_hw_type type;
		bool write_hits, read_hits;
		enum kd_stop_kind kind;
	} cases[] = {
		{ KD_HW_WRITE, true, false, KD_STOP_WATCH },
		{ KD_HW_READ, false, true, KD_STOP_RWATCH },
		{ KD_HW_ACCESS, true, true, KD_STOP_AWATCH },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kd_watchset *ws = kd_watchset_new();
		struct hit h;

		add1(ws, cases[i].type, 0x6000, 4);
		h = match(ws, 0x6000, 4, true);
		assert_int_equal(h.hit, cases[i].write_hits);
		if (h.hit) {
			assert_int_equal(h.kind, cases[i].kind);
			assert_int_equal(h.vaddr, 0x7f0000006000);
		}
		h = match(ws, 0x6002, 1, false);
		assert_int_equal(h.hit, cases[i].read_hits);
		if (h.hit) {
			assert_int_equal(h.kind, cases[i].kind);
			assert_int_equal(h.vaddr, 0x7f0000006002);
		}
		kd_watchset_free(ws);
	}
}

static void test_match_partial(void **state)
{
	struct kd_watchset *ws = kd_watchset_new();
	struct kd_watch_frag f = frag(0x5010, 0x10, 0xffff800000001010);

	assert_int_equal(kd_watchset_add(ws, KD_HW_ACCESS, f.vaddr, f.len, &f, 1),
			 0);
	/* Up to the first byte, then covering it: reported at the fragment start. */
	assert_miss(ws, 0x5008, 8, true);
	assert_hit(ws, 0x5008, 9, true, KD_STOP_AWATCH, 0xffff800000001010);
	assert_hit(ws, 0x500f, 8, false, KD_STOP_AWATCH, 0xffff800000001010);
	assert_hit(ws, 0x5000, PAGE, true, KD_STOP_AWATCH, 0xffff800000001010);
	/* Inside: the first byte the access touches. */
	assert_hit(ws, 0x5014, 2, true, KD_STOP_AWATCH, 0xffff800000001014);
	/* Over the last byte and beyond it. */
	assert_hit(ws, 0x501f, 1, true, KD_STOP_AWATCH, 0xffff80000000101f);
	assert_hit(ws, 0x501e, 8, false, KD_STOP_AWATCH, 0xffff80000000101e);
	assert_miss(ws, 0x5020, 8, true);
	assert_miss(ws, 0x4010, 0x10, true);
	assert_miss(ws, 0x6010, 0x10, true);
	/* An empty access touches nothing, even inside the fragment. */
	assert_miss(ws, 0x5010, 0, true);
	assert_miss(ws, 0x5018, 0, true);
	assert_miss(ws, 0x5020, 0, false);
	kd_watchset_free(ws);
}

static void test_match_fragments(void **state)
{
	struct kd_watchset *ws = kd_watchset_new();
	/*
	 * 0x7fff00000ff0..0x7fff0000100f: the first virtual page lands high in
	 * physical memory, the second low, the way page tables scatter them.
	 */
	struct kd_watch_frag f[2] = {
		frag(0x9ff0, 0x10, 0x7fff00000ff0),
		frag(0x3000, 0x10, 0x7fff00001000),
	};
	/* Two virtual pages aliasing one physical page, in reverse order. */
	struct kd_watch_frag g[2] = {
		frag(0x20ff8, 8, 0x600ff8),
		frag(0x20000, 8, 0x601000),
	};

	assert_int_equal(kd_watchset_add(ws, KD_HW_WRITE, 0x7fff00000ff0, 0x20,
					 f, 2), 0);
	assert_hit(ws, 0x9ff0, 1, true, KD_STOP_WATCH, 0x7fff00000ff0);
	assert_hit(ws, 0x9ffc, 8, true, KD_STOP_WATCH, 0x7fff00000ffc);
	assert_hit(ws, 0x3004, 4, true, KD_STOP_WATCH, 0x7fff00001004);
	assert_hit(ws, 0x2ffc, 8, true, KD_STOP_WATCH, 0x7fff00001000);
	assert_hit(ws, 0x300f, 8, true, KD_STOP_WATCH, 0x7fff0000100f);
	/* Neither the physical neighbours nor the virtual addresses. */
	assert_miss(ws, 0xa000, 8, true);
	assert_miss(ws, 0x3010, 8, true);
	assert_miss(ws, 0x9fe8, 8, true);
	assert_miss(ws, 0x7fff00000ff0, 8, true);
	assert_miss(ws, 0x3004, 4, false);
	/* One access over both fragments: the lower byte comes first. */
	assert_hit(ws, 0x3000, 0x8000, true, KD_STOP_WATCH, 0x7fff00001000);

	assert_int_equal(kd_watchset_add(ws, KD_HW_READ, 0x600ff8, 16, g, 2), 0);
	assert_hit(ws, 0x20ffc, 4, false, KD_STOP_RWATCH, 0x600ffc);
	assert_hit(ws, 0x20004, 4, false, KD_STOP_RWATCH, 0x601004);
	assert_hit(ws, 0x20000, PAGE, false, KD_STOP_RWATCH, 0x601000);
	assert_hit(ws, 0x20008, PAGE, false, KD_STOP_RWATCH, 0x600ff8);
	assert_miss(ws, 0x20008, 0xff0, false);

	/* The lowest byte wins whichever fragment, of three, holds it. */
	assert_int_equal(kd_watchset_remove(ws, KD_HW_WRITE, 0x7fff00000ff0, 0x20),
			 0);
	assert_int_equal(kd_watchset_add(ws, KD_HW_WRITE, 0x7fff00000ff0, 0x20,
					 (struct kd_watch_frag[]){
						frag(0x40ff0, 0x10, 0x7fff00000ff0),
						frag(0x48000, 0x8, 0x7fff00001000),
						frag(0x44000, 0x8, 0x7fff00001008),
					 }, 3), 0);
	assert_hit(ws, 0x40000, 0x10000, true, KD_STOP_WATCH, 0x7fff00000ff0);
	assert_hit(ws, 0x41000, 0x10000, true, KD_STOP_WATCH, 0x7fff00001008);
	assert_hit(ws, 0x44004, 0x10000, true, KD_STOP_WATCH, 0x7fff0000100c);
	assert_hit(ws, 0x44008, 0x10000, true, KD_STOP_WATCH, 0x7fff00001000);
	kd_watchset_free(ws);
}

static void test_match_order(void **state)
{
	struct kd_watchset *ws = kd_watchset_new();
	struct kd_watch_frag f[4] = {
		frag(0x8000, 16, 0x1000),
		frag(0x8004, 4, 0x2004),
		frag(0x8000, 8, 0x3000),
		frag(0x8008, 8, 0x4008),
	};
	struct seen s;

	/* All four touch 0x8004..0x8007; types differ in what they catch. */
	assert_int_equal(kd_watchset_add(ws, KD_HW_READ, 0x1000, 16, &f[0], 1), 0);
	assert_int_equal(kd_watchset_add(ws, KD_HW_WRITE, 0x2004, 4, &f[1], 1), 0);
	assert_int_equal(kd_watchset_add(ws, KD_HW_ACCESS, 0x3000, 8, &f[2], 1), 0);
	assert_int_equal(kd_watchset_add(ws, KD_HW_WRITE, 0x4008, 8, &f[3], 1), 0);

	assert_hit(ws, 0x8004, 8, false, KD_STOP_RWATCH, 0x1004);
	assert_hit(ws, 0x8004, 8, true, KD_STOP_WATCH, 0x2004);
	/* The earliest watch wins even where a later one is touched lower. */
	assert_hit(ws, 0x8000, 16, true, KD_STOP_WATCH, 0x2004);
	assert_hit(ws, 0x8000, 4, true, KD_STOP_AWATCH, 0x3000);
	assert_hit(ws, 0x800c, 4, true, KD_STOP_WATCH, 0x400c);
	assert_hit(ws, 0x800c, 4, false, KD_STOP_RWATCH, 0x100c);

	/* Removing one in the middle keeps the others in their order. */
	assert_int_equal(kd_watchset_remove(ws, KD_HW_WRITE, 0x2004, 4), 0);
	assert_hit(ws, 0x8004, 8, true, KD_STOP_AWATCH, 0x3004);
	assert_hit(ws, 0x8004, 8, false, KD_STOP_RWATCH, 0x1004);
	collect(ws, &s);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.addr[0], 0x1000);
	assert_int_equal(s.addr[1], 0x3000);
	assert_int_equal(s.addr[2], 0x4008);
	assert_int_equal(kd_watchset_remove(ws, KD_HW_ACCESS, 0x3000, 8), 0);
	assert_hit(ws, 0x8004, 8, true, KD_STOP_WATCH, 0x4008);

	/* Added back, it comes last. */
	assert_int_equal(kd_watchset_add(ws, KD_HW_ACCESS, 0x3000, 8, &f[2], 1), 0);
	assert_hit(ws, 0x8004, 8, true, KD_STOP_WATCH, 0x4008);
	assert_hit(ws, 0x8000, 4, true, KD_STOP_AWATCH, 0x3000);
	assert_int_equal(kd_watchset_remove(ws, KD_HW_READ, 0x1000, 16), 0);
	assert_hit(ws, 0x8004, 4, false, KD_STOP_AWATCH, 0x3004);
	kd_watchset_free(ws);
}

/* ---- Finding and turning off -------------------------------------------- */

static void test_find_and_turn_off(void **state)
{
	struct kd_watchset *ws = kd_watchset_new();
	struct kd_watch_info w;
	uint64_t pages[4];

	add1(ws, KD_HW_WRITE, 0x5000, 8);
	add1(ws, KD_HW_READ, 0x5100, 8);
	add1(ws, KD_HW_ACCESS, 0x9000, 8);
	assert_int_equal(kd_watchset_find(ws, KD_HW_READ, 0x5100 + 0x7f0000000000, 8), 1);
	assert_int_equal(kd_watchset_find(ws, KD_HW_WRITE, 0x5100 + 0x7f0000000000, 8), -ENOENT);
	assert_true(kd_watchset_at(ws, 1, &w));
	assert_int_equal(w.type, KD_HW_READ);
	assert_int_equal(w.nfrags, 1);
	assert_int_equal(w.frags[0].gpa, 0x5100);
	assert_false(w.off);
	assert_false(kd_watchset_at(ws, 3, &w));
	assert_int_equal(kd_watchset_page_prot(ws, 0x5000), KD_PAGE_NONE);

	/* Off: listed and found still, but protecting and matching nothing. */
	kd_watchset_turn_off(ws, 1);
	kd_watchset_turn_off(ws, 1);
	assert_true(kd_watchset_at(ws, 1, &w));
	assert_true(w.off);
	assert_int_equal(kd_watchset_count(ws), 3);
	assert_int_equal(kd_watchset_page_prot(ws, 0x5000), KD_PAGE_RO);
	assert_miss(ws, 0x5100, 8, false);
	assert_hit(ws, 0x5000, 8, true, KD_STOP_WATCH, 0x7f0000005000);
	kd_watchset_turn_off(ws, 2);
	assert_int_equal(kd_watchset_pages(ws, pages, 4), 1);
	assert_int_equal(pages[0], 0x5000);
	assert_miss(ws, 0x9000, 8, true);

	/* Removing a watch that is off leaves the others' pages alone. */
	remove1(ws, KD_HW_READ, 0x5100, 8);
	assert_int_equal(kd_watchset_page_prot(ws, 0x5000), KD_PAGE_RO);
	remove1(ws, KD_HW_WRITE, 0x5000, 8);
	assert_int_equal(kd_watchset_page_prot(ws, 0x5000), KD_PAGE_RW);
	assert_int_equal(kd_watchset_pages(ws, pages, 4), 0);
	remove1(ws, KD_HW_ACCESS, 0x9000, 8);
	assert_int_equal(kd_watchset_count(ws), 0);
	kd_watchset_free(ws);
}

/* Two virtual pages of one watch on the same physical page count once. */
static void test_page_twice_in_one_watch(void **state)
{
	struct kd_watchset *ws = kd_watchset_new();
	struct kd_watch_frag f[2] = {
		frag(0x7ff8, 8, 0x10ff8),
		frag(0x7000, 8, 0x11000),
	};
	uint64_t pages[4];

	assert_int_equal(kd_watchset_add(ws, KD_HW_READ, 0x10ff8, 16, f, 2), 0);
	add1(ws, KD_HW_WRITE, 0x7800, 8);
	assert_int_equal(kd_watchset_pages(ws, pages, 4), 1);
	assert_int_equal(kd_watchset_page_prot(ws, 0x7000), KD_PAGE_NONE);
	assert_int_equal(kd_watchset_remove(ws, KD_HW_READ, 0x10ff8, 16), 0);
	assert_int_equal(kd_watchset_page_prot(ws, 0x7000), KD_PAGE_RO);
	remove1(ws, KD_HW_WRITE, 0x7800, 8);
	assert_int_equal(kd_watchset_pages(ws, pages, 4), 0);
	kd_watchset_free(ws);
}

static void test_clear(void **state)
{
	struct kd_watchset *ws = kd_watchset_new();
	uint64_t i;
	struct seen s;

	/* Enough to have grown the set. */
	for (i = 0; i < 40; i++)
		add1(ws, KD_HW_WRITE + i % 3, 0x10000 + i * 0x800, 8);
	assert_int_equal(kd_watchset_count(ws), 40);
	assert_int_equal(kd_watchset_pages(ws, NULL, 0), 20);
	kd_watchset_clear(ws);
	assert_int_equal(kd_watchset_count(ws), 0);
	assert_int_equal(kd_watchset_pages(ws, NULL, 0), 0);
	assert_int_equal(kd_watchset_page_prot(ws, 0x10000), KD_PAGE_RW);
	assert_miss(ws, 0, UINT64_MAX, true);
	assert_miss(ws, 0, UINT64_MAX, false);
	collect(ws, &s);
	assert_int_equal(s.n, 0);
	assert_int_equal(kd_watchset_remove(ws, KD_HW_WRITE,
					    0x7f0000010000, 8), -ENOENT);

	/* The same watches can be added again, and work. */
	for (i = 0; i < 40; i++)
		add1(ws, KD_HW_WRITE + i % 3, 0x10000 + i * 0x800, 8);
	assert_int_equal(kd_watchset_count(ws), 40);
	assert_hit(ws, 0x10000, 1, true, KD_STOP_WATCH, 0x7f0000010000);
	assert_int_equal(kd_watchset_page_prot(ws, 0x10000), KD_PAGE_NONE);
	kd_watchset_clear(ws);
	kd_watchset_clear(ws);
	assert_int_equal(kd_watchset_count(ws), 0);
	kd_watchset_free(ws);
}

static void test_listing_order(void **state)
{
	struct kd_watchset *ws = kd_watchset_new();
	struct kd_watch_frag f = frag(0x1000, 1, 0);
	static const enum kd_hw_type types[] = {
		KD_HW_ACCESS, KD_HW_WRITE, KD_HW_READ, KD_HW_WRITE, KD_HW_READ,
	};
	static const uint64_t addrs[] = { 0x900, 0x100, 0x500, 0x100, 0x300 };
	static const uint64_t lens[] = { 1, 8, 2, 4, 8 };
	struct seen s;
	size_t i;

	for (i = 0; i < 5; i++)
		assert_int_equal(kd_watchset_add(ws, types[i], addrs[i], lens[i],
						 &f, 1), 0);
	collect(ws, &s);
	assert_int_equal(s.n, 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(s.type[i], types[i]);
		assert_int_equal(s.addr[i], addrs[i]);
		assert_int_equal(s.len[i], lens[i]);
	}
	assert_int_equal(kd_watchset_remove(ws, KD_HW_ACCESS, 0x900, 1), 0);
	assert_int_equal(kd_watchset_remove(ws, KD_HW_WRITE, 0x100, 4), 0);
	assert_int_equal(kd_watchset_add(ws, KD_HW_ACCESS, 0x900, 1, &f, 1), 0);
	collect(ws, &s);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.type[0], KD_HW_WRITE);
	assert_int_equal(s.len[0], 8);
	assert_int_equal(s.addr[1], 0x500);
	assert_int_equal(s.addr[2], 0x300);
	assert_int_equal(s.type[3], KD_HW_ACCESS);
	assert_int_equal(s.addr[3], 0x900);
	kd_watchset_free(ws);
}

/* ---- Random operations against a reference model ----------------------- */

#define REGION 0x100000u	/* physical pages REGION.. */
#define REGION_PAGES 16
#define NKEYS 64
#define MAXF 3

struct key {
	enum kd_hw_type type;
	uint64_t addr, len;
};

struct mwatch {
	struct key key;
	size_t nfrags;
	struct kd_watch_frag f[MAXF];
};

/* Watches in the order they were added. */
struct model {
	struct key keys[NKEYS];
	struct mwatch w[NKEYS];
	size_t n;
};

static void model_keys(struct model *m, uint64_t *seed)
{
	static const enum kd_hw_type types[] = {
		KD_HW_WRITE, KD_HW_READ, KD_HW_ACCESS,
	};
	unsigned i;

	for (i = 0; i < NKEYS; i++) {
		uint64_t r = next_rand(seed);
		struct key *k = &m->keys[i];

		k->type = types[r % 3];
		/* Every fourth key differs from the one before in type only. */
		if (i % 4 == 3) {
			*k = m->keys[i - 1];
			k->type = types[(k->type - KD_HW_WRITE + 1) % 3];
			continue;
		}
		k->addr = 0x7fff00000000 + (r >> 8) % (8 * PAGE);
		switch (r >> 40 & 3) {
		case 0:
			k->len = 1 + (r >> 42) % 8;
			break;
		case 1:
			/* Across a virtual page boundary. */
			k->addr = (k->addr | (PAGE - 1)) - (r >> 42) % 8;
			k->len = 2 + (r >> 45) % 16;
			break;
		default:
			k->len = 1 + (r >> 42) % 0x1800;
			break;
		}
	}
}

/*
 * Splits a key's virtual range at page boundaries onto distinct random
 * physical pages of the region, in no particular physical order.
 */
static size_t make_frags(const struct key *k, uint64_t *seed,
			 struct kd_watch_frag *out)
{
	uint64_t v = k->addr, end = k->addr + k->len;
	unsigned used = 0, p;
	size_t n = 0;

	while (v < end) {
		uint64_t next = (v | (PAGE - 1)) + 1;

		if (next > end)
			next = end;
		do
			p = (unsigned)(next_rand(seed) % REGION_PAGES);
		while (used & 1u << p);
		used |= 1u << p;
		assert_true(n < MAXF);
		out[n++] = frag(REGION + p * PAGE + (v & (PAGE - 1)), next - v, v);
		v = next;
	}
	return n;
}

static int model_find(const struct model *m, const struct key *k)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->w[i].key.type == k->type && m->w[i].key.addr == k->addr &&
		    m->w[i].key.len == k->len)
			return (int)i;
	return -1;
}

static enum kd_page_prot model_prot(const struct model *m, uint64_t page)
{
	enum kd_page_prot prot = KD_PAGE_RW;
	size_t i, j;

	for (i = 0; i < m->n; i++)
		for (j = 0; j < m->w[i].nfrags; j++) {
			const struct kd_watch_frag *f = &m->w[i].f[j];

			if (f->gpa >= page + PAGE || f->gpa + f->len <= page)
				continue;
			if (m->w[i].key.type == KD_HW_WRITE) {
				if (prot == KD_PAGE_RW)
					prot = KD_PAGE_RO;
			} else {
				prot = KD_PAGE_NONE;
			}
		}
	return prot;
}

static struct hit model_match(const struct model *m, uint64_t gpa, uint64_t len,
			      bool write)
{
	struct hit h = { .hit = false };
	size_t i, j;

	for (i = 0; i < m->n && !h.hit; i++) {
		const struct mwatch *w = &m->w[i];
		uint64_t best = UINT64_MAX;

		if (w->key.type == (write ? KD_HW_READ : KD_HW_WRITE))
			continue;
		for (j = 0; j < w->nfrags; j++) {
			uint64_t lo = gpa > w->f[j].gpa ? gpa : w->f[j].gpa;
			uint64_t hi = gpa + len < w->f[j].gpa + w->f[j].len ?
				      gpa + len : w->f[j].gpa + w->f[j].len;

			if (lo >= hi || (h.hit && lo >= best))
				continue;
			best = lo;
			h.hit = true;
			h.vaddr = w->f[j].vaddr + (lo - w->f[j].gpa);
		}
		if (h.hit)
			h.kind = w->key.type == KD_HW_WRITE ? KD_STOP_WATCH :
				 w->key.type == KD_HW_READ ? KD_STOP_RWATCH :
				 KD_STOP_AWATCH;
	}
	return h;
}

struct stats {
	unsigned adds, removes, eexist, enoent, clears;
	unsigned hits[KD_STOP_AWATCH + 1], misses, ro, none;
};

static void pick_access(uint64_t *seed, uint64_t *gpa, uint64_t *len,
			bool *write)
{
	uint64_t r = next_rand(seed);

	*gpa = REGION - PAGE + next_rand(seed) % ((REGION_PAGES + 2) * PAGE);
	*write = r & 1;
	switch (r >> 1 & 3) {
	case 0:
		*len = 1 + (r >> 3) % 8;
		break;
	case 1:
		/* Around a page boundary. */
		*gpa = (*gpa & ~(uint64_t)(PAGE - 1)) - (r >> 3) % 8;
		*len = 1 + (r >> 6) % 16;
		break;
	case 2:
		*len = (r >> 3) % (2 * PAGE);
		break;
	default:
		*len = (r >> 3) % 64;
		break;
	}
}

static void check_all(const struct kd_watchset *ws, const struct model *m,
		      uint64_t *seed, struct stats *st)
{
	uint64_t pages[REGION_PAGES + 2], want[REGION_PAGES + 2];
	size_t nwant = 0, i;
	struct seen s;

	assert_int_equal(kd_watchset_count(ws), m->n);
	collect(ws, &s);
	assert_int_equal(s.n, m->n);
	for (i = 0; i < m->n; i++) {
		assert_int_equal(s.type[i], m->w[i].key.type);
		assert_int_equal(s.addr[i], m->w[i].key.addr);
		assert_int_equal(s.len[i], m->w[i].key.len);
	}
	/* One page either side of the region stays untouched. */
	for (i = 0; i < REGION_PAGES + 2; i++) {
		uint64_t page = REGION - PAGE + i * PAGE;
		enum kd_page_prot prot = model_prot(m, page);

		assert_int_equal(kd_watchset_page_prot(ws, page), prot);
		if (prot != KD_PAGE_RW)
			want[nwant++] = page;
		st->ro += prot == KD_PAGE_RO;
		st->none += prot == KD_PAGE_NONE;
	}
	assert_int_equal(kd_watchset_pages(ws, NULL, 0), nwant);
	assert_int_equal(kd_watchset_pages(ws, pages, REGION_PAGES + 2), nwant);
	for (i = 0; i < nwant; i++)
		assert_int_equal(pages[i], want[i]);
	if (nwant > 1) {
		pages[0] = 0;
		assert_int_equal(kd_watchset_pages(ws, pages, 1), nwant);
		assert_int_equal(pages[0], want[0]);
	}
	for (i = 0; i < 24; i++) {
		uint64_t gpa, len;
		bool write;
		struct hit got, exp;

		pick_access(seed, &gpa, &len, &write);
		got = match(ws, gpa, len, write);
		exp = model_match(m, gpa, len, write);
		assert_int_equal(got.hit, exp.hit);
		if (exp.hit) {
			assert_int_equal(got.kind, exp.kind);
			assert_int_equal(got.vaddr, exp.vaddr);
			st->hits[exp.kind]++;
		} else {
			st->misses++;
		}
	}
}

static void random_op(struct kd_watchset *ws, struct model *m, uint64_t *seed,
		      unsigned op, struct stats *st)
{
	uint64_t r = next_rand(seed);
	const struct key *k = &m->keys[r % NKEYS];
	struct kd_watch_frag f[MAXF];
	size_t nf;
	int at = model_find(m, k);

	if (op % 1000 == 999) {
		kd_watchset_clear(ws);
		m->n = 0;
		st->clears++;
	} else if ((r >> 20) % 10 < (op % 2000 < 1000 ? 7u : 3u)) {
		nf = make_frags(k, seed, f);
		if (at >= 0) {
			assert_int_equal(kd_watchset_add(ws, k->type, k->addr,
							 k->len, f, nf), -EEXIST);
			st->eexist++;
			return;
		}
		assert_int_equal(kd_watchset_add(ws, k->type, k->addr, k->len,
						 f, nf), 0);
		m->w[m->n].key = *k;
		m->w[m->n].nfrags = nf;
		memcpy(m->w[m->n].f, f, nf * sizeof(f[0]));
		m->n++;
		st->adds++;
	} else if (at >= 0) {
		assert_int_equal(kd_watchset_remove(ws, k->type, k->addr, k->len),
				 0);
		memmove(&m->w[at], &m->w[at + 1],
			(m->n - (size_t)at - 1) * sizeof(m->w[0]));
		m->n--;
		st->removes++;
	} else {
		assert_int_equal(kd_watchset_remove(ws, k->type, k->addr, k->len),
				 -ENOENT);
		st->enoent++;
	}
}

static void test_random_against_model(void **state)
{
	struct model *m = calloc(1, sizeof(*m));
	struct kd_watchset *ws = kd_watchset_new();
	uint64_t seed = 0x2545f4914f6cdd1d;
	struct stats st = { 0 };
	unsigned op;

	assert_non_null(m);
	assert_non_null(ws);
	model_keys(m, &seed);
	for (op = 0; op < 4000; op++) {
		random_op(ws, m, &seed, op, &st);
		check_all(ws, m, &seed, &st);
	}
	/* The sequence really exercised every outcome. */
	assert_true(st.adds > 500);
	assert_true(st.removes > 500);
	assert_true(st.eexist > 300);
	assert_true(st.enoent > 300);
	assert_true(st.clears >= 1);
	assert_true(st.hits[KD_STOP_WATCH] > 1000);
	assert_true(st.hits[KD_STOP_RWATCH] > 1000);
	assert_true(st.hits[KD_STOP_AWATCH] > 1000);
	assert_true(st.misses > 1000);
	assert_true(st.ro > 1000);
	assert_true(st.none > 1000);
	kd_watchset_free(ws);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_add_remove),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_page_prot_overlapping),
		cmocka_unit_test(test_page_prot_straddling),
		cmocka_unit_test(test_page_prot_fragments),
		cmocka_unit_test(test_pages),
		cmocka_unit_test(test_match_kinds),
		cmocka_unit_test(test_match_partial),
		cmocka_unit_test(test_match_fragments),
		cmocka_unit_test(test_match_order),
		cmocka_unit_test(test_clear),
		cmocka_unit_test(test_listing_order),
		cmocka_unit_test(test_find_and_turn_off),
		cmocka_unit_test(test_page_twice_in_one_watch),
		cmocka_unit_test(test_random_against_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
