/* SPDX-License-Identifier: MIT */
/*
 * Hex replies framed straight from the bytes (rsp_encode_hex_packet) must
 * be the very packets that framing their hex text sends; binary replies
 * ('x') escape what the framing would otherwise misread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <kvmdbg/rsp.h>

#define MAX_BYTES 4096
#define FRAMED_CAP (4 * MAX_BYTES + 16)

static uint64_t prng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * The reference: the hex text, then the framing rules spelt out one
 * character at a time (a greedy run of 4 to 98 equal characters becomes
 * "c*" and 28 + run, shortened until that count character is none of
 * # $ + - }), independent of the library's framing code.
 */
static size_t reference(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	static char text[2 * MAX_BYTES];
	size_t len = 0, i = 0, t = 2 * n;
	uint8_t sum = 0;

	for (size_t k = 0; k < n; k++) {
		text[2 * k] = "0123456789abcdef"[in[k] >> 4];
		text[2 * k + 1] = "0123456789abcdef"[in[k] & 0xf];
	}
	out[len++] = '$';
	while (i < t) {
		size_t run = 1;

		while (i + run < t && run < 98 && text[i + run] == text[i])
			run++;
		while (run >= 4 && strchr("#$+-}", (char)(run + 28)))
			run--;
		out[len++] = (uint8_t)text[i];
		sum += (uint8_t)text[i];
		if (run >= 4) {
			out[len++] = '*';
			out[len++] = (uint8_t)(run + 28);
			sum += '*' + (uint8_t)(run + 28);
			i += run;
		} else {
			i++;
		}
	}
	len += (size_t)snprintf((char *)out + len, cap - len, "#%02x", sum);
	return len;
}

static void check_same(const uint8_t *in, size_t n)
{
	static uint8_t want[FRAMED_CAP], got[FRAMED_CAP], lib[FRAMED_CAP];
	static char text[2 * MAX_BYTES];
	size_t want_len = reference(in, n, want, sizeof(want));
	size_t got_len = rsp_encode_hex_packet(in, n, got, sizeof(got));

	assert_int_equal(got_len, want_len);
	assert_memory_equal(got, want, want_len);
	/* ... and what the general framing sends for the hex text. */
	rsp_hex_encode(in, n, text);
	assert_int_equal(rsp_encode_packet(text, 2 * n, true, lib, sizeof(lib)), want_len);
	assert_memory_equal(lib, want, want_len);
}

static void test_hex_packet_examples(void **state)
{
	uint8_t out[64];
	size_t n;

	n = rsp_encode_hex_packet("\x12\x34", 2, out, sizeof(out));
	assert_int_equal(n, 8);
	assert_memory_equal(out, "$1234#ca", 8);
	/* Eight zero digits: a run of eight or seven would need '$' or '#'
	 * as its count, so six go as '0', '*', '"' and two as they are. */
	n = rsp_encode_hex_packet("\0\0\0\0", 4, out, sizeof(out));
	assert_int_equal(n, 9);
	assert_memory_equal(out, "$0*\"00#", 7);
	n = rsp_encode_hex_packet("", 0, out, sizeof(out));
	assert_int_equal(n, 4);
	assert_memory_equal(out, "$#00", 4);
	/* A run that starts in the low digit of one byte. */
	check_same((const uint8_t *)"\x10\x00\x01\x23", 4);
	check_same((const uint8_t *)"\x21\x11\x12", 3);
	check_same((const uint8_t *)"\x21\x11\x13", 3);
}

/* Byte values drawn from a few alphabets, as runs of random length. */
static void fill(uint64_t *seed, uint8_t *in, size_t n, unsigned style)
{
	static const uint8_t equal_digits[] = {
		0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
		0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
	};
	static const uint8_t near[] = { 0x00, 0x01, 0x10, 0x11, 0xf0, 0x0f, 0xff };
	size_t i = 0;

	while (i < n) {
		uint64_t r = prng(seed);
		uint8_t c;
		size_t run;

		switch (style) {
		case 0: c = (uint8_t)r; break;
		case 1: c = equal_digits[(r >> 8) % sizeof(equal_digits)]; break;
		case 2: c = near[(r >> 8) % sizeof(near)]; break;
		default: c = r & 0x300 ? (uint8_t)(r >> 16) : 0; break;
		}
		run = r & 0x30 ? 1 : 1 + (r >> 24) % 70;
		while (run-- && i < n)
			in[i++] = c;
	}
}

static void test_hex_packet_random(void **state)
{
	static uint8_t in[MAX_BYTES];
	uint64_t seed = 0x68657870616b74ull;

	for (int iter = 0; iter < 40000; iter++) {
		size_t n = prng(&seed) % (iter % 100 ? 300 : MAX_BYTES + 1);

		fill(&seed, in, n, (unsigned)iter % 4);
		check_same(in, n);
	}
}

static void test_hex_packet_capacity(void **state)
{
	static uint8_t in[600], want[FRAMED_CAP], got[FRAMED_CAP];
	uint64_t seed = 0x636170ull;

	for (int iter = 0; iter < 200; iter++) {
		size_t n = prng(&seed) % sizeof(in);
		size_t len;

		fill(&seed, in, n, (unsigned)iter % 4);
		len = reference(in, n, want, sizeof(want));
		for (size_t cap = len < 8 ? 0 : len - 8; cap <= len + 1; cap++) {
			size_t r = rsp_encode_hex_packet(in, n, got, cap);

			assert_int_equal(r, cap >= len ? len : 0);
			if (r)
				assert_memory_equal(got, want, len);
		}
	}
}

/* The body of a framed packet, checked and undone: runs, then escapes. */
static long unframe(const uint8_t *framed, size_t len, uint8_t *out, size_t cap)
{
	unsigned sum;

	assert_true(len >= 4);
	assert_int_equal(framed[0], '$');
	assert_int_equal(framed[len - 3], '#');
	assert_int_equal(sscanf((const char *)framed + len - 2, "%2x", &sum), 1);
	assert_int_equal(sum, rsp_checksum(framed + 1, len - 4));
	return rsp_rle_decode(framed + 1, len - 4, out, cap);
}

static void test_binary_reply_escapes(void **state)
{
	static const uint8_t reply[] = "b}#$*a";
	uint8_t out[64], back[64];
	size_t n = rsp_encode_packet(reply, sizeof(reply) - 1, true, out, sizeof(out));

	/* Every one of } # $ * goes as '}' and itself xor 0x20. */
	assert_int_equal(n, 1 + 1 + 8 + 1 + 3);
	assert_memory_equal(out, "$b}]}\x03}\x04}\x0a" "a#", 12);
	assert_int_equal(unframe(out, n, back, sizeof(back)), sizeof(reply) - 1);
	assert_memory_equal(back, reply, sizeof(reply) - 1);
	/* A run of escaped bytes stays escaped pairs: a run marker after
	 * one would repeat only its second byte. */
	n = rsp_encode_packet("b*****", 6, true, out, sizeof(out));
	assert_int_equal(n, 1 + 1 + 10 + 3);
	assert_memory_equal(out, "$b}\x0a}\x0a}\x0a}\x0a}\x0a#", 13);
}

static void test_binary_reply_random(void **state)
{
	static uint8_t in[MAX_BYTES + 1], out[2 * MAX_BYTES + 16], back[MAX_BYTES + 1];
	static const uint8_t specials[] = "}#$*+-\x03";
	uint64_t seed = 0x62696e617279ull;

	for (int iter = 0; iter < 5000; iter++) {
		size_t n = 1 + prng(&seed) % MAX_BYTES;
		size_t len;

		in[0] = 'b';
		fill(&seed, in + 1, n - 1, (unsigned)iter % 4);
		for (size_t i = 1; i < n; i++)
			if (!(prng(&seed) % 5))
				in[i] = specials[prng(&seed) % (sizeof(specials) - 1)];
		len = rsp_encode_packet(in, n, true, out, sizeof(out));
		assert_true(len > 0);
		/* Nothing in the body ends or restarts the frame. */
		assert_null(memchr(out + 1, '$', len - 4));
		assert_null(memchr(out + 1, '#', len - 4));
		assert_int_equal(unframe(out, len, back, sizeof(back)), n);
		assert_memory_equal(back, in, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex_packet_examples),
		cmocka_unit_test(test_hex_packet_random),
		cmocka_unit_test(test_hex_packet_capacity),
		cmocka_unit_test(test_binary_reply_escapes),
		cmocka_unit_test(test_binary_reply_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
