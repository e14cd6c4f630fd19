/* SPDX-License-Identifier: MIT */
/* Packet encoding, run-length encoding and its decoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <kvmdbg/rsp.h>

#define S(lit) (const uint8_t *)(lit), sizeof(lit) - 1

static void check_encode_n(const uint8_t *in, size_t n, bool rle,
			   const char *want, size_t want_len)
{
	uint8_t out[512];
	size_t len = rsp_encode_packet(in, n, rle, out, sizeof(out));

	assert_int_equal(len, want_len);
	assert_memory_equal(out, want, len);
}

#define check_encode(in, rle, want) \
	check_encode_n(in, rle, want, sizeof(want) - 1)

static void test_encode_plain(void **state)
{
	check_encode(S("OK"), false, "$OK#9a");
	check_encode(S("OK"), true, "$OK#9a");
	check_encode(S(""), false, "$#00");
	check_encode(S("\x80\xff\x00"), false, "$\x80\xff\x00#7f");
}

static void test_encode_escapes(void **state)
{
	check_encode(S("a#b"), false, "$a}\x03" "b#43");
	check_encode(S("*"), false, "$}\x0a#87");
	check_encode(S("#$}*"), false, "$}\x03}\x04}]}\x0a#62");
	/* Acks and interrupts need no escaping inside a packet. */
	check_encode(S("+-"), false, "$+-#58");
}

static void test_encode_capacity(void **state)
{
	uint8_t out[6];

	assert_int_equal(rsp_encode_packet("OK", 2, false, out, 6), 6);
	assert_memory_equal(out, "$OK#9a", 6);
	for (size_t cap = 0; cap < 6; cap++)
		assert_int_equal(rsp_encode_packet("OK", 2, false, out, cap),
				 0);
	/* An escape pair needs both bytes. */
	assert_int_equal(rsp_encode_packet("#", 1, false, out, 5), 0);
	assert_int_equal(rsp_encode_packet("#", 1, false, out, 6), 6);
}

/* The checksum covers the name, the colon and the data, not the '%'. */
static void test_notification(void **state)
{
	static const char want[] = "%Stop:T05thread:1;#b7";
	static const char escaped[] = "%Stop:a}\x03}\x0a#48";
	uint8_t out[64];
	size_t n = rsp_encode_notification("Stop", "T05thread:1;", 12, out, sizeof(out));

	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(out, want, n);
	/* Escaped as in a packet; a run is sent as it is. */
	n = rsp_encode_notification("Stop", "a#*", 3, out, sizeof(out));
	assert_int_equal(n, sizeof(escaped) - 1);
	assert_memory_equal(out, escaped, n);
	n = rsp_encode_notification("Stop", "W000000", 7, out, sizeof(out));
	assert_int_equal(n, 16);
	assert_memory_equal(out, "%Stop:W000000#", 14);
	for (size_t cap = 0; cap < sizeof(want) - 1; cap++)
		assert_int_equal(rsp_encode_notification("Stop", "T05thread:1;", 12,
							 out, cap), 0);
}

static void test_checksum(void **state)
{
	assert_int_equal(rsp_checksum("", 0), 0);
	assert_int_equal(rsp_checksum("OK", 2), 0x9a);
	assert_int_equal(rsp_checksum("\xff\xff", 2), 0xfe);
}

static void test_rle_runs(void **state)
{
	/* A run of r bytes is "X*" + (char)(r + 28), only from r = 4. */
	check_encode(S("000"), true, "$000#90");
	check_encode(S("0000"), true, "$0* #7a");
	check_encode(S("00000"), true, "$0*!#7b");
	check_encode(S("000000"), true, "$0*\"#7c");
	check_encode(S("0000"), false, "$0000#c0");
	check_encode(S("a0000b"), true, "$a0* b#3d");
}

static void test_rle_forbidden_counts(void **state)
{
	/* 7 and 8 would need '#' and '$': cut the run at 6. */
	check_encode(S("0000000"), true, "$0*\"0#ac");
	check_encode(S("00000000"), true, "$0*\"00#dc");
	check_encode(S("000000000"), true, "$0*%#7f");
	/* 15 would need '+', 17 '-', 97 '}'. */
	check_encode(S("000000000000000"), true, "$0**0#b4");
	check_encode(S("00000000000000000"), true, "$0*,0#b6");
}

static void fill(uint8_t *p, uint8_t c, size_t n)
{
	memset(p, c, n);
}

static void test_rle_long_runs(void **state)
{
	uint8_t in[300], out[64];
	size_t n;

	fill(in, 'x', 98);
	n = rsp_encode_packet(in, 98, true, out, sizeof(out));
	assert_int_equal(n, 7);
	assert_memory_equal(out, "$x*~#", 5);

	fill(in, 'x', 97);
	n = rsp_encode_packet(in, 97, true, out, sizeof(out));
	assert_int_equal(n, 8);
	assert_memory_equal(out, "$x*|x#", 6);

	fill(in, 'x', 99);
	n = rsp_encode_packet(in, 99, true, out, sizeof(out));
	assert_int_equal(n, 8);
	assert_memory_equal(out, "$x*~x#", 6);

	fill(in, 'x', 300);
	n = rsp_encode_packet(in, 300, true, out, sizeof(out));
	/* 98 + 98 + 98 + 6 */
	assert_int_equal(n, 1 + 12 + 3);
	assert_memory_equal(out, "$x*~x*~x*~x*\"#", 14);
}

static void test_rle_skips_escaped_bytes(void **state)
{
	check_encode(S("####"), true, "$}\x03}\x03}\x03}\x03#00");
	check_encode(S("****"), true, "$}\x0a}\x0a}\x0a}\x0a#1c");
}

static void check_rle_decode(const uint8_t *in, size_t n, const char *want,
			     size_t want_len)
{
	uint8_t out[512];
	long len = rsp_rle_decode(in, n, out, sizeof(out));

	assert_int_equal(len, (long)want_len);
	assert_memory_equal(out, want, want_len);
}

static void test_rle_decode(void **state)
{
	check_rle_decode(S(""), "", 0);
	check_rle_decode(S("OK"), "OK", 2);
	check_rle_decode(S("0* "), "0000", 4);
	check_rle_decode(S("a0*\"0b"), "a0000000b", 9);
	check_rle_decode(S("x*~"), "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			 "xxxxxxxxx", 98);
	/* A second run repeats the same byte again. */
	check_rle_decode(S("a* * "), "aaaaaaa", 7);
	/* Escapes are undone after expansion, as gdb does it: an escaped
	 * '*' is data, and a run after a pair repeats its second byte. */
	check_rle_decode(S("}\x0a}\x03"), "*#", 2);
	check_rle_decode(S("}\x03* "), "#\x03\x03\x03", 4);
	/* Count characters gdb accepts though the encoder avoids them. */
	check_rle_decode(S("a*+"), "aaaaaaaaaaaaaaa", 15);
	check_rle_decode(S("a*}"), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			 "aaaaaaaa", 97);
}

static void test_rle_decode_malformed(void **state)
{
	uint8_t out[16];

	/* No byte to repeat, no count, unprintable or framing counts. */
	assert_int_equal(rsp_rle_decode(S("* "), out, sizeof(out)), -1);
	assert_int_equal(rsp_rle_decode(S("a*"), out, sizeof(out)), -1);
	assert_int_equal(rsp_rle_decode(S("a*\x1f"), out, sizeof(out)), -1);
	assert_int_equal(rsp_rle_decode(S("a*\x7f"), out, sizeof(out)), -1);
	assert_int_equal(rsp_rle_decode(S("a*\xff"), out, sizeof(out)), -1);
	assert_int_equal(rsp_rle_decode(S("a*#"), out, sizeof(out)), -1);
	assert_int_equal(rsp_rle_decode(S("a*$"), out, sizeof(out)), -1);
	/* Framing bytes cannot be in a body; a lone '}' escapes nothing. */
	assert_int_equal(rsp_rle_decode(S("a#"), out, sizeof(out)), -1);
	assert_int_equal(rsp_rle_decode(S("$a"), out, sizeof(out)), -1);
	assert_int_equal(rsp_rle_decode(S("a}"), out, sizeof(out)), -1);
}

static void test_rle_decode_capacity(void **state)
{
	uint8_t out[4];

	assert_int_equal(rsp_rle_decode(S("0* "), out, 4), 4);
	assert_int_equal(rsp_rle_decode(S("0* "), out, 3), -1);
	assert_int_equal(rsp_rle_decode(S("abcde"), out, 4), -1);
	assert_int_equal(rsp_rle_decode(S("}\x03"), out, 0), -1);
	assert_int_equal(rsp_rle_decode(S(""), out, 0), 0);
}

/* xorshift64*: fixed seed, so failures reproduce. */
static uint64_t prng(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/*
 * What the count characters and escapes of an encoded body must look like:
 * no framing bytes, no escaped pair followed by a run marker, only allowed
 * count characters.
 */
static void check_body_shape(const uint8_t *body, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_true(body[i] != '#' && body[i] != '$');
		if (body[i] == '}') {
			assert_true(i + 1 < n);
			i++;
			assert_false(i + 1 < n && body[i + 1] == '*');
		} else if (body[i] == '*') {
			uint8_t c;

			assert_true(i > 0 && i + 1 < n);
			c = body[++i];
			assert_true(c >= ' ' && c <= '~');
			assert_true(c != '#' && c != '$' && c != '+' &&
				    c != '-' && c != '}');
		}
	}
}

/* Encodes, frames back with rsp_decode and expands with rsp_rle_decode. */
static void round_trip(const uint8_t *in, size_t n)
{
	static uint8_t plain[4096], packed[4096], back[2048], dbuf[2048];
	size_t plain_len, packed_len;
	struct rsp_decoder d;
	enum rsp_event ev;
	long len;

	assert_true(n <= sizeof(back));
	plain_len = rsp_encode_packet(in, n, false, plain, sizeof(plain));
	packed_len = rsp_encode_packet(in, n, true, packed, sizeof(packed));
	assert_true(plain_len >= 4);
	assert_true(packed_len >= 4 && packed_len <= plain_len);

	/* Without run-length encoding the framer alone restores it. */
	rsp_decoder_init(&d, dbuf, sizeof(dbuf));
	assert_int_equal(rsp_decode(&d, plain, plain_len, &ev), plain_len);
	assert_int_equal(ev, RSP_EV_PACKET);
	assert_int_equal(d.len, n);
	assert_memory_equal(dbuf, in, n);

	/* With it, the frame must still be well-formed and sum correctly. */
	check_body_shape(packed + 1, packed_len - 4);
	rsp_decoder_init(&d, dbuf, sizeof(dbuf));
	assert_int_equal(rsp_decode(&d, packed, packed_len, &ev), packed_len);
	assert_int_equal(ev, RSP_EV_PACKET);
	len = rsp_rle_decode(packed + 1, packed_len - 4, back, sizeof(back));
	assert_int_equal(len, (long)n);
	assert_memory_equal(back, in, n);

	len = rsp_rle_decode(plain + 1, plain_len - 4, back, sizeof(back));
	assert_int_equal(len, (long)n);
	assert_memory_equal(back, in, n);
}

static void test_round_trip_every_byte(void **state)
{
	uint8_t in[2048];

	for (unsigned i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	round_trip(in, 256);
	/* Every value as a long run, including the escaped ones. */
	for (unsigned v = 0; v < 256; v++) {
		for (size_t n = 1; n <= 200; n++) {
			fill(in, (uint8_t)v, n);
			round_trip(in, n);
		}
	}
}

static void test_round_trip_random(void **state)
{
	static const uint8_t specials[] = "#$}*+-\x03 0~";
	uint64_t seed = 0x6b76646267ull;
	uint8_t in[2048];

	for (int iter = 0; iter < 20000; iter++) {
		size_t n = prng(&seed) % 1200;
		size_t i = 0;

		while (i < n) {
			uint64_t r = prng(&seed);
			uint8_t c = r & 1 ? (uint8_t)(r >> 8) :
				    specials[(r >> 8) % (sizeof(specials) - 1)];
			/* Runs of every length up to beyond the maximum. */
			size_t run = r & 6 ? 1 : 1 + (r >> 16) % 130;

			while (run-- && i < n)
				in[i++] = c;
		}
		round_trip(in, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_plain),
		cmocka_unit_test(test_encode_escapes),
		cmocka_unit_test(test_encode_capacity),
		cmocka_unit_test(test_notification),
		cmocka_unit_test(test_checksum),
		cmocka_unit_test(test_rle_runs),
		cmocka_unit_test(test_rle_forbidden_counts),
		cmocka_unit_test(test_rle_long_runs),
		cmocka_unit_test(test_rle_skips_escaped_bytes),
		cmocka_unit_test(test_rle_decode),
		cmocka_unit_test(test_rle_decode_malformed),
		cmocka_unit_test(test_rle_decode_capacity),
		cmocka_unit_test(test_round_trip_every_byte),
		cmocka_unit_test(test_round_trip_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
