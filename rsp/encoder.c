/* SPDX-License-Identifier: MIT */
/* Framing of outgoing packets: escapes, run-length encoding, checksum. */
#include <stdint.h>
#include <string.h>

#include <kvmdbg/rsp.h>

#include "hexdigit.h"

/*
 * A run of r equal bytes is sent as the byte, '*' and the count character
 * 28 + r (the count says how many copies follow the first one, plus 29).
 * "X*c" costs three bytes, so only runs of four or more save anything, and
 * the count character must stay printable.
 */
#define RLE_MIN_RUN 4
#define RLE_MAX_RUN ('~' - 28)
#define RLE_COUNT_CHAR(run) ((uint8_t)((run) + 28))

struct writer {
	uint8_t *out;
	size_t cap;
	size_t len;
	uint8_t sum;
	bool overflow;
};

static void put(struct writer *w, uint8_t c)
{
	if (w->len < w->cap)
		w->out[w->len++] = c;
	else
		w->overflow = true;
}

static void put_body(struct writer *w, uint8_t c)
{
	w->sum += c;
	put(w, c);
}

/*
 * '*' is escaped too: gdb expands runs before it undoes escapes, so a raw
 * '*' in data would be read as a run marker.
 */
static bool needs_escape(uint8_t c)
{
	return c == '#' || c == '$' || c == '}' || c == '*';
}

/*
 * '#' and '$' would end or restart the frame; '+' and '-' could pass for
 * acknowledgements to a receiver that lost sync; '}' would make a receiver
 * that undoes escapes while framing (as rsp_decode does) swallow the next
 * byte, or leave a lone '}' before '#'.
 */
static bool count_char_ok(uint8_t c)
{
	return c != '#' && c != '$' && c != '+' && c != '-' && c != '}';
}

/* Length of the run to encode at p[0], or 0 to send p[0] as is. */
static size_t encodable_run(const uint8_t *p, size_t n)
{
	size_t run = 1;

	while (run < n && run < RLE_MAX_RUN && p[run] == p[0])
		run++;
	/* Shortening a run leaves the rest for the next one. */
	while (run >= RLE_MIN_RUN && !count_char_ok(RLE_COUNT_CHAR(run)))
		run--;
	return run >= RLE_MIN_RUN ? run : 0;
}

/*
 * Sends c followed, when run is not 0, by the marker that repeats it; returns
 * how many input symbols that covers.
 */
static size_t put_symbol(struct writer *w, uint8_t c, size_t run)
{
	put_body(w, c);
	if (!run)
		return 1;
	put_body(w, '*');
	put_body(w, RLE_COUNT_CHAR(run));
	return run;
}

/* Closes the frame with its checksum; returns its length, or 0 if it did not fit. */
static size_t finish_packet(struct writer *w)
{
	uint8_t sum = w->sum;

	put(w, '#');
	put(w, (uint8_t)rsp_hex_digit(sum >> 4));
	put(w, (uint8_t)rsp_hex_digit(sum));
	return w->overflow ? 0 : w->len;
}

static void put_data(struct writer *w, const uint8_t *p, size_t len, bool rle)
{
	size_t i = 0;

	while (i < len && !w->overflow) {
		uint8_t c = p[i];

		if (needs_escape(c)) {
			/* Escaped pairs are never run-length encoded: a run
			 * marker would repeat only the pair's second byte. */
			put_body(w, '}');
			put_body(w, c ^ 0x20);
			i++;
			continue;
		}
		i += put_symbol(w, c, rle ? encodable_run(p + i, len - i) : 0);
	}
}

size_t rsp_encode_packet(const void *payload, size_t len, bool rle,
			 uint8_t *out, size_t cap)
{
	struct writer w = { .out = out, .cap = cap };

	put(&w, '$');
	put_data(&w, payload, len, rle);
	return finish_packet(&w);
}

size_t rsp_encode_notification(const char *name, const void *payload, size_t len,
			       uint8_t *out, size_t cap)
{
	struct writer w = { .out = out, .cap = cap };
	size_t n = strlen(name);

	put(&w, '%');
	put_data(&w, (const uint8_t *)name, n, false);
	put_body(&w, ':');
	/* gdb expands runs in notifications as in packets, but nothing is
	 * gained on the short stop replies they carry. */
	put_data(&w, payload, len, false);
	return finish_packet(&w);
}

/* Nibble i of the hex text of p: the high one of each byte first. */
static uint8_t nibble(const uint8_t *p, size_t i)
{
	return i & 1 ? p[i / 2] & 0xf : p[i / 2] >> 4;
}

static bool same_nibbles(uint8_t b)
{
	return (b >> 4) == (b & 0xf);
}

/* encodable_run over the hex text of p, whose n digits start at i. */
static size_t encodable_hex_run(const uint8_t *p, size_t i, size_t n)
{
	uint8_t first = nibble(p, i);
	size_t run = 1;

	while (i + run < n && run < RLE_MAX_RUN && nibble(p, i + run) == first)
		run++;
	while (run >= RLE_MIN_RUN && !count_char_ok(RLE_COUNT_CHAR(run)))
		run--;
	return run >= RLE_MIN_RUN ? run : 0;
}

/*
 * Hex digits never need escaping, and a run of four equal digits covers
 * at least one whole byte whose two digits are equal: around bytes that
 * have unequal digits, and whose next byte has too, the digits go out as
 * they are with nothing scanned.  Elsewhere the runs are found exactly as
 * rsp_encode_packet finds them in the hex text.
 */
/*
 * From byte k on, the bytes that go out as their two digits, unscanned:
 * as many as have unequal digits, and a next byte that has too, and fit
 * in the room left.  Returns the byte it stopped at.
 */
static size_t plain_hex_bytes(struct writer *w, const uint8_t *p, size_t k, size_t n)
{
	static const char digit[] = "0123456789abcdef";
	size_t end = k + (w->cap - w->len) / 2;
	uint8_t *o = w->out + w->len;
	uint8_t sum = w->sum;
	bool next_same = same_nibbles(p[k]);

	if (end > n)
		end = n;
	while (k < end && !next_same) {
		uint8_t b = p[k], hi = (uint8_t)digit[b >> 4], lo = (uint8_t)digit[b & 0xf];

		next_same = k + 1 < n && same_nibbles(p[k + 1]);
		if (next_same)
			break;
		o[0] = hi;
		o[1] = lo;
		o += 2;
		sum += hi + lo;
		k++;
	}
	w->len = (size_t)(o - w->out);
	w->sum = sum;
	return k;
}

size_t rsp_encode_hex_packet(const void *bytes, size_t n, uint8_t *out, size_t cap)
{
	const uint8_t *p = bytes;
	struct writer w = { .out = out, .cap = cap };
	size_t digits, i = 0;

	if (n > (SIZE_MAX - 4) / 2)
		return 0;
	digits = 2 * n;
	put(&w, '$');
	while (i < digits && !w.overflow) {
		if (!(i & 1)) {
			i = 2 * plain_hex_bytes(&w, p, i / 2, n);
			if (i == digits)
				break;
		}
		i += put_symbol(&w, (uint8_t)rsp_hex_digit(nibble(p, i)),
				encodable_hex_run(p, i, digits));
	}
	return finish_packet(&w);
}

uint8_t rsp_checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return sum;
}
