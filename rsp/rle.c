/* SPDX-License-Identifier: MIT */
/* Decoding of run-length encoded packet bodies, for readers of replies. */
#include <limits.h>

#include <kvmdbg/rsp.h>

/* Second stage: undoes '}' escapes on the run-expanded byte stream. */
struct unescaper {
	uint8_t *out;
	size_t cap;
	size_t len;
	bool escape;
	bool overflow;
};

static void feed(struct unescaper *u, uint8_t c)
{
	if (!u->escape && c == '}') {
		u->escape = true;
		return;
	}
	if (u->escape) {
		c ^= 0x20;
		u->escape = false;
	}
	if (u->len < u->cap)
		u->out[u->len++] = c;
	else
		u->overflow = true;
}

/*
 * gdb expands runs on the bytes as transmitted and undoes escapes after, so
 * a run repeats the previous transmitted byte, and a '*' sent escaped is
 * data.  Doing it in one pass in that order gives the same result.
 */
long rsp_rle_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	struct unescaper u = { .out = out, .cap = cap };
	int prev = -1;

	for (size_t i = 0; i < n && !u.overflow; i++) {
		uint8_t c = in[i];

		if (c == '#' || c == '$')
			return -1;
		if (c != '*') {
			feed(&u, c);
			prev = c;
			continue;
		}
		if (prev < 0 || ++i == n)
			return -1;
		c = in[i];
		if (c < ' ' || c > '~' || c == '#' || c == '$')
			return -1;
		for (unsigned k = 0; k < c - 29u; k++)
			feed(&u, (uint8_t)prev);
	}
	if (u.overflow || u.escape || u.len > LONG_MAX)
		return -1;
	return (long)u.len;
}
