/* SPDX-License-Identifier: MIT */
/* Packet framing of incoming bytes: rsp_decode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <kvmdbg/rsp.h>

#define S(lit) (const uint8_t *)(lit), sizeof(lit) - 1

static void render_event(char *out, size_t cap, const struct rsp_decoder *d,
			 enum rsp_event ev)
{
	size_t len = strlen(out);

	/* Room for the longest rendering of a 256-byte payload. */
	assert_true(cap - len > 4 * 256 + 8);
	if (len)
		len += (size_t)snprintf(out + len, cap - len, " ");
	switch (ev) {
	case RSP_EV_PACKET:
		len += (size_t)snprintf(out + len, cap - len, "P:");
		for (size_t i = 0; i < d->len; i++) {
			uint8_t c = d->buf[i];

			if (c >= 0x21 && c < 0x7f && c != '\\')
				len += (size_t)snprintf(out + len, cap - len,
							"%c", c);
			else
				len += (size_t)snprintf(out + len, cap - len,
							"\\x%02x", c);
		}
		break;
	case RSP_EV_BAD_CHECKSUM:
		snprintf(out + len, cap - len, "BAD");
		break;
	case RSP_EV_OVERSIZE:
		snprintf(out + len, cap - len, "BIG");
		break;
	case RSP_EV_ACK:
		snprintf(out + len, cap - len, "+");
		break;
	case RSP_EV_NACK:
		snprintf(out + len, cap - len, "-");
		break;
	case RSP_EV_INTERRUPT:
		snprintf(out + len, cap - len, "INT");
		break;
	case RSP_EV_NONE:
		fail_msg("RSP_EV_NONE reported as an event");
	}
}

/*
 * Feeds in[0..n) chunk bytes at a time to a decoder with a cap-byte buffer
 * and renders the events as text, checking the call contract on the way.
 */
static void decode_text(const uint8_t *in, size_t n, size_t chunk, size_t cap,
			char *out, size_t out_cap)
{
	uint8_t buf[256];
	struct rsp_decoder d;

	assert_true(cap <= sizeof(buf));
	rsp_decoder_init(&d, buf, cap);
	out[0] = '\0';
	for (size_t off = 0; off < n;) {
		size_t avail = n - off < chunk ? n - off : chunk;

		while (avail) {
			enum rsp_event ev = RSP_EV_PACKET;
			size_t used = rsp_decode(&d, in + off, avail, &ev);

			assert_true(used >= 1 && used <= avail);
			assert_true(d.len <= cap);
			if (ev == RSP_EV_NONE)
				assert_int_equal(used, avail);
			else
				render_event(out, out_cap, &d, ev);
			off += used;
			avail -= used;
		}
	}
}

/* Every expectation must hold whatever the input's split into reads. */
static void check_decode_cap(const uint8_t *in, size_t n, size_t cap,
			     const char *expect)
{
	static const size_t chunks[] = { 1, 2, 3, 5, 7, 64, 100000 };
	char got[4096];

	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		decode_text(in, n, chunks[i], cap, got, sizeof(got));
		if (strcmp(got, expect) != 0)
			fail_msg("chunk %zu: got \"%s\", want \"%s\"",
				 chunks[i], got, expect);
	}
}

static void check_decode(const uint8_t *in, size_t n, const char *expect)
{
	check_decode_cap(in, n, 256, expect);
}

static void test_good_packet(void **state)
{
	check_decode(S("$OK#9a"), "P:OK");
	check_decode(S("$m1000,4#8e"), "P:m1000,4");
	check_decode(S("$g#67$?#3f"), "P:g P:?");
}

static void test_uppercase_checksum(void **state)
{
	check_decode(S("$OK#9A"), "P:OK");
}

static void test_empty_packet(void **state)
{
	check_decode(S("$#00"), "P:");
}

static void test_returns_after_each_event(void **state)
{
	static const uint8_t in[] = "$g#67+$?#3f";
	uint8_t buf[16];
	struct rsp_decoder d;
	enum rsp_event ev;

	rsp_decoder_init(&d, buf, sizeof(buf));
	assert_int_equal(rsp_decode(&d, in, 11, &ev), 5);
	assert_int_equal(ev, RSP_EV_PACKET);
	assert_int_equal(d.len, 1);
	assert_int_equal(buf[0], 'g');
	assert_int_equal(rsp_decode(&d, in + 5, 6, &ev), 1);
	assert_int_equal(ev, RSP_EV_ACK);
	assert_int_equal(rsp_decode(&d, in + 6, 5, &ev), 5);
	assert_int_equal(ev, RSP_EV_PACKET);
	assert_int_equal(buf[0], '?');
}

static void test_no_input(void **state)
{
	uint8_t buf[4];
	struct rsp_decoder d;
	enum rsp_event ev = RSP_EV_ACK;

	rsp_decoder_init(&d, buf, sizeof(buf));
	assert_int_equal(rsp_decode(&d, (const uint8_t *)"", 0, &ev), 0);
	assert_int_equal(ev, RSP_EV_NONE);
}

static void test_split_one_byte_at_a_time(void **state)
{
	static const uint8_t in[] = "$m1000,4#8e";
	uint8_t buf[16];
	struct rsp_decoder d;
	enum rsp_event ev;

	rsp_decoder_init(&d, buf, sizeof(buf));
	for (size_t i = 0; i + 1 < sizeof(in) - 1; i++) {
		assert_int_equal(rsp_decode(&d, in + i, 1, &ev), 1);
		assert_int_equal(ev, RSP_EV_NONE);
	}
	assert_int_equal(rsp_decode(&d, in + sizeof(in) - 2, 1, &ev), 1);
	assert_int_equal(ev, RSP_EV_PACKET);
	assert_int_equal(d.len, 7);
	assert_memory_equal(buf, "m1000,4", 7);
}

static void test_bad_checksum_then_resent(void **state)
{
	check_decode(S("$OK#00$OK#9a"), "BAD P:OK");
	check_decode(S("$OK#9b-$OK#9a"), "BAD - P:OK");
	/* Off by one digit in either position. */
	check_decode(S("$OK#8a"), "BAD");
	check_decode(S("$OK#9b"), "BAD");
}

static void test_non_hex_checksum(void **state)
{
	check_decode(S("$OK#zz$OK#9a"), "BAD P:OK");
	check_decode(S("$OK#9g"), "BAD");
	check_decode(S("$OK#g9"), "BAD");
	check_decode(S("$OK# 9a"), "BAD");
	/* '#' as a checksum digit is just a bad digit. */
	check_decode(S("$OK##9a"), "BAD");
}

static void test_escapes(void **state)
{
	/* '}' then byte ^ 0x20: 0x03 -> '#', 0x04 -> '$', ']' -> '}',
	 * 0x0a -> '*'.  The checksum covers the escaped form. */
	check_decode(S("$}\x03}\x04}]}\x0a#62"), "P:#$}*");
	/* Any byte may be escaped, not only the special ones. */
	check_decode(S("$a}\x41#1f$}\x5d#da"), "P:aa P:}");
	/* A raw '*' is data: gdb never sends run-length encoding. */
	check_decode(S("$a*b#ed"), "P:a*b");
}

static void test_escape_checksum_is_over_wire_bytes(void **state)
{
	/* Same payload "#", checksum of the unescaped byte: rejected. */
	check_decode(S("$}\x03#23"), "BAD");
	check_decode(S("$}\x03#80"), "P:#");
}

static void test_dangling_escape(void **state)
{
	check_decode(S("$a}#de"), "BAD");
	check_decode(S("$a}#de$ab#c3"), "BAD P:ab");
}

static void test_interrupt(void **state)
{
	check_decode(S("\x03"), "INT");
	check_decode(S("\x03\x03$g#67\x03"), "INT INT P:g INT");
	/* Inside a packet 0x03 is payload, e.g. in binary X data. */
	check_decode(S("$\x03#03"), "P:\\x03");
}

static void test_acks(void **state)
{
	check_decode(S("+"), "+");
	check_decode(S("-"), "-");
	check_decode(S("+-+$OK#9a+"), "+ - + P:OK +");
	/* Inside a packet they are payload. */
	check_decode(S("$+-#58"), "P:+-");
}

static void test_oversize(void **state)
{
	/* Exactly cap fits; one more does not, and the stream stays in
	 * sync for the next packet. */
	check_decode_cap(S("$abcd#8a"), 4, "P:abcd");
	check_decode_cap(S("$abcde#ef"), 4, "BIG");
	check_decode_cap(S("$abcdefgh#24$ab#c3"), 4, "BIG P:ab");
	check_decode_cap(S("$abcdefgh#24+"), 0, "BIG +");
	check_decode_cap(S("$#00"), 0, "P:");
	/* A corrupt packet says nothing reliable about its size. */
	check_decode_cap(S("$abcdefgh#00"), 4, "BAD");
	/* An escape that would land beyond cap still counts as overflow. */
	check_decode_cap(S("$abcd}\x03#0a"), 4, "BIG");
}

static void test_oversize_len_bounded(void **state)
{
	uint8_t buf[3];
	struct rsp_decoder d;
	enum rsp_event ev;

	rsp_decoder_init(&d, buf, sizeof(buf));
	assert_int_equal(rsp_decode(&d, S("$abcdefgh#24"), &ev), 12);
	assert_int_equal(ev, RSP_EV_OVERSIZE);
	assert_true(d.len <= sizeof(buf));
}

static void test_dollar_resyncs(void **state)
{
	/* No event for the abandoned packet. */
	check_decode(S("$abc$OK#9a"), "P:OK");
	check_decode(S("$abc}$OK#9a"), "P:OK");
	check_decode(S("$abc#$OK#9a"), "P:OK");
	check_decode(S("$abc#1$OK#9a"), "P:OK");
	check_decode(S("$$$OK#9a"), "P:OK");
	/* The restart clears an overflow of the abandoned packet. */
	check_decode_cap(S("$abcdefgh$ab#c3"), 4, "P:ab");
}

static void test_garbage_between_packets(void **state)
{
	check_decode(S("hello\r\n$OK#9a junk #00 9a\xff\x00+"), "P:OK +");
	check_decode(S("#9a"), "");
	check_decode(S("}$OK#9a"), "P:OK");
}

static void test_non_ascii_payload(void **state)
{
	check_decode(S("$\x80\xff\x00#7f"), "P:\\x80\\xff\\x00");
}

/*
 * gdb escapes '#', '$', '}' (and '*', which this escaper leaves raw to show
 * a raw '*' is accepted too).
 */
static size_t escape_like_gdb(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		if (in[i] == '#' || in[i] == '$' || in[i] == '}') {
			out[len++] = '}';
			out[len++] = in[i] ^ 0x20;
		} else {
			out[len++] = in[i];
		}
	}
	return len;
}

static void test_binary_x_every_byte(void **state)
{
	static const char head[] = "X1000,100:";
	uint8_t payload[sizeof(head) - 1 + 256];
	uint8_t wire[1 + 2 * sizeof(payload) + 3];
	uint8_t buf[400];
	struct rsp_decoder d;
	struct rsp_cmd cmd;
	enum rsp_event ev;
	uint8_t sum = 0;
	size_t n;

	memcpy(payload, head, sizeof(head) - 1);
	for (unsigned i = 0; i < 256; i++)
		payload[sizeof(head) - 1 + i] = (uint8_t)i;
	wire[0] = '$';
	n = 1 + escape_like_gdb(payload, sizeof(payload), wire + 1);
	for (size_t i = 1; i < n; i++)
		sum += wire[i];
	n += (size_t)sprintf((char *)wire + n, "#%02x", sum);

	rsp_decoder_init(&d, buf, sizeof(buf));
	assert_int_equal(rsp_decode(&d, wire, n, &ev), n);
	assert_int_equal(ev, RSP_EV_PACKET);
	assert_int_equal(d.len, sizeof(payload));
	assert_memory_equal(buf, payload, sizeof(payload));

	rsp_parse(buf, d.len, &cmd);
	assert_int_equal(cmd.kind, RSP_CMD_WRITE_MEM_BIN);
	assert_int_equal(cmd.addr, 0x1000);
	assert_int_equal(cmd.len, 256);
	assert_int_equal(cmd.data_len, 256);
	for (unsigned i = 0; i < 256; i++)
		assert_int_equal(cmd.data[i], i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_packet),
		cmocka_unit_test(test_uppercase_checksum),
		cmocka_unit_test(test_empty_packet),
		cmocka_unit_test(test_returns_after_each_event),
		cmocka_unit_test(test_no_input),
		cmocka_unit_test(test_split_one_byte_at_a_time),
		cmocka_unit_test(test_bad_checksum_then_resent),
		cmocka_unit_test(test_non_hex_checksum),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_escape_checksum_is_over_wire_bytes),
		cmocka_unit_test(test_dangling_escape),
		cmocka_unit_test(test_interrupt),
		cmocka_unit_test(test_acks),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_oversize_len_bounded),
		cmocka_unit_test(test_dollar_resyncs),
		cmocka_unit_test(test_garbage_between_packets),
		cmocka_unit_test(test_non_ascii_payload),
		cmocka_unit_test(test_binary_x_every_byte),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
