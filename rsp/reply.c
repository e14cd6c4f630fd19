/* SPDX-License-Identifier: MIT */
/* Bounded builder for reply payloads. */
#include <string.h>

#include <kvmdbg/rsp.h>

#include "hexdigit.h"

void rsp_buf_init(struct rsp_buf *b, char *mem, size_t cap)
{
	*b = (struct rsp_buf){ .data = mem, .cap = cap };
}

/*
 * Room for n > 0 more bytes, or NULL once the buffer has overflowed.
 * Nothing of a piece that does not fit is written, so a truncated reply
 * never looks complete.
 */
static char *reserve(struct rsp_buf *b, size_t n)
{
	char *p;

	if (b->overflow || n > b->cap - b->len) {
		b->overflow = true;
		return NULL;
	}
	p = b->data + b->len;
	b->len += n;
	return p;
}

void rsp_put_mem(struct rsp_buf *b, const void *p, size_t n)
{
	char *dst;

	if (n == 0)
		return;
	dst = reserve(b, n);
	if (dst)
		memcpy(dst, p, n);
}

void rsp_put_str(struct rsp_buf *b, const char *s)
{
	rsp_put_mem(b, s, strlen(s));
}

void rsp_put_hex_u64(struct rsp_buf *b, uint64_t v)
{
	char digits[16];
	size_t n = 0;

	do {
		digits[sizeof(digits) - ++n] = rsp_hex_digit((unsigned)v);
		v >>= 4;
	} while (v);
	rsp_put_mem(b, digits + sizeof(digits) - n, n);
}

void rsp_put_hex_bytes(struct rsp_buf *b, const void *p, size_t n)
{
	char *dst;

	if (n == 0)
		return;
	if (n > SIZE_MAX / 2) {
		b->overflow = true;
		return;
	}
	dst = reserve(b, 2 * n);
	if (dst)
		rsp_hex_encode(p, n, dst);
}

void rsp_put_error(struct rsp_buf *b, uint8_t errnum)
{
	rsp_put_str(b, "E");
	rsp_put_hex_bytes(b, &errnum, 1);
}
