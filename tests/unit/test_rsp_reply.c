/* SPDX-License-Identifier: MIT */
/* Hex helpers, the bounded reply builder and stop replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <kvmdbg/rsp.h>

static void assert_buf(const struct rsp_buf *b, const char *want)
{
	assert_false(b->overflow);
	assert_int_equal(b->len, strlen(want));
	assert_memory_equal(b->data, want, b->len);
}

static void test_hex_encode(void **state)
{
	char out[8];

	memset(out, '!', sizeof(out));
	assert_int_equal(rsp_hex_encode("\x00\x0f\xa5\xff", 4, out), 8);
	assert_memory_equal(out, "000fa5ff", 8);
	memset(out, '!', sizeof(out));
	assert_int_equal(rsp_hex_encode("", 0, out), 0);
	assert_int_equal(out[0], '!');
}

static void test_hex_decode(void **state)
{
	uint8_t out[4];

	assert_int_equal(rsp_hex_decode("000fA5fF", 8, out, 4), 4);
	assert_memory_equal(out, "\x00\x0f\xa5\xff", 4);
	assert_int_equal(rsp_hex_decode("", 0, out, 0), 0);
	/* The length bounds the read, not a terminator. */
	assert_int_equal(rsp_hex_decode("12zz", 2, out, 4), 1);
	assert_int_equal(out[0], 0x12);
}

static void test_hex_decode_errors(void **state)
{
	uint8_t out[4];

	assert_int_equal(rsp_hex_decode("123", 3, out, 4), -1);
	assert_int_equal(rsp_hex_decode("1g", 2, out, 4), -1);
	assert_int_equal(rsp_hex_decode("g1", 2, out, 4), -1);
	assert_int_equal(rsp_hex_decode("0x", 2, out, 4), -1);
	assert_int_equal(rsp_hex_decode(" 1", 2, out, 4), -1);
	assert_int_equal(rsp_hex_decode("1\0", 2, out, 4), -1);
	assert_int_equal(rsp_hex_decode("0102030405", 10, out, 4), -1);
}

static void test_hex_round_trip(void **state)
{
	uint8_t in[256], back[256];
	char hex[512];

	for (unsigned i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	assert_int_equal(rsp_hex_encode(in, 256, hex), 512);
	for (size_t i = 0; i < 512; i++)
		assert_true(strchr("0123456789abcdef", hex[i]) != NULL);
	assert_int_equal(rsp_hex_decode(hex, 512, back, 256), 256);
	assert_memory_equal(back, in, 256);
}

static void test_buf_basic(void **state)
{
	char mem[64];
	struct rsp_buf b;

	rsp_buf_init(&b, mem, sizeof(mem));
	assert_buf(&b, "");
	rsp_put_str(&b, "OK");
	rsp_put_mem(&b, ";x", 2);
	rsp_put_str(&b, "");
	rsp_put_mem(&b, NULL, 0);
	assert_buf(&b, "OK;x");
}

static void test_buf_hex_u64(void **state)
{
	static const struct {
		uint64_t v;
		const char *want;
	} cases[] = {
		{ 0, "0" },
		{ 1, "1" },
		{ 0xf, "f" },
		{ 0x10, "10" },
		{ 0xabcdef, "abcdef" },
		{ 0x8000000000000000ull, "8000000000000000" },
		{ UINT64_MAX, "ffffffffffffffff" },
	};
	char mem[32];
	struct rsp_buf b;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rsp_buf_init(&b, mem, sizeof(mem));
		rsp_put_hex_u64(&b, cases[i].v);
		assert_buf(&b, cases[i].want);
	}
}

static void test_buf_hex_bytes_and_error(void **state)
{
	char mem[32];
	struct rsp_buf b;

	rsp_buf_init(&b, mem, sizeof(mem));
	rsp_put_hex_bytes(&b, "\x01\xab\x00", 3);
	rsp_put_hex_bytes(&b, "", 0);
	assert_buf(&b, "01ab00");

	rsp_buf_init(&b, mem, sizeof(mem));
	rsp_put_error(&b, 1);
	assert_buf(&b, "E01");
	rsp_buf_init(&b, mem, sizeof(mem));
	rsp_put_error(&b, 0xff);
	assert_buf(&b, "Eff");
}

static void test_buf_overflow_sticks(void **state)
{
	char mem[8];
	struct rsp_buf b;

	memset(mem, '.', sizeof(mem));
	rsp_buf_init(&b, mem, 4);
	rsp_put_str(&b, "abcd");
	assert_false(b.overflow);
	assert_int_equal(b.len, 4);
	rsp_put_str(&b, "e");
	assert_true(b.overflow);
	/* A later piece that would fit on its own must not be appended. */
	rsp_put_str(&b, "");
	rsp_put_hex_u64(&b, 0);
	assert_true(b.overflow);
	assert_int_equal(b.len, 4);
	assert_memory_equal(mem, "abcd....", 8);
}

static void test_buf_overflow_writes_nothing_partial(void **state)
{
	char mem[4];
	struct rsp_buf b;

	memset(mem, '.', sizeof(mem));
	rsp_buf_init(&b, mem, 3);
	rsp_put_str(&b, "ab");
	rsp_put_hex_bytes(&b, "\x12", 1);
	assert_true(b.overflow);
	assert_int_equal(b.len, 2);
	assert_memory_equal(mem, "ab..", 4);

	rsp_buf_init(&b, NULL, 0);
	rsp_put_str(&b, "");
	assert_false(b.overflow);
	rsp_put_error(&b, 1);
	assert_true(b.overflow);
	assert_int_equal(b.len, 0);
}

static void check_stop(const struct rsp_stop *s, const char *want)
{
	char mem[256];
	struct rsp_buf b;

	rsp_buf_init(&b, mem, sizeof(mem));
	rsp_put_stop(&b, s);
	assert_buf(&b, want);
}

static void test_stop_signal_only(void **state)
{
	check_stop(&(struct rsp_stop){ .code = 5 }, "T05");
	check_stop(&(struct rsp_stop){ .code = 0x1f, .thread = 0 }, "T1f");
	/* RSP_TID_ALL is not a thread to report. */
	check_stop(&(struct rsp_stop){ .code = 2, .thread = -1 }, "T02");
}

static void test_stop_thread_and_reason(void **state)
{
	check_stop(&(struct rsp_stop){ .code = 5, .thread = 1,
				       .reason = RSP_REASON_SWBREAK },
		   "T05thread:1;swbreak:;");
	check_stop(&(struct rsp_stop){ .code = 5, .thread = 0x1a,
				       .reason = RSP_REASON_HWBREAK },
		   "T05thread:1a;hwbreak:;");
	check_stop(&(struct rsp_stop){ .code = 5,
				       .reason = RSP_REASON_WATCH,
				       .watch_addr = 0xffff800000001000ull },
		   "T05watch:ffff800000001000;");
	check_stop(&(struct rsp_stop){ .code = 5, .thread = 2,
				       .reason = RSP_REASON_RWATCH,
				       .watch_addr = 0x10 },
		   "T05thread:2;rwatch:10;");
	check_stop(&(struct rsp_stop){ .code = 5,
				       .reason = RSP_REASON_AWATCH,
				       .watch_addr = 0 },
		   "T05awatch:0;");
	/* The address only matters for watchpoints. */
	check_stop(&(struct rsp_stop){ .code = 5,
				       .reason = RSP_REASON_SWBREAK,
				       .watch_addr = 0x1234 },
		   "T05swbreak:;");
}

static void test_stop_expedited(void **state)
{
	static const uint8_t rip[8] = { 0x00, 0x10, 0x00, 0x00 };
	static const uint8_t rsp[8] = { 0xf0, 0xff, 0x7f };
	static const uint8_t eflags[4] = { 0x02, 0x01 };
	struct rsp_stop s = {
		.code = 5,
		.thread = 1,
		.reason = RSP_REASON_SWBREAK,
		.n_expedited = 3,
		.expedited = {
			{ .regno = 0x10, .val = rip, .len = sizeof(rip) },
			{ .regno = 7, .val = rsp, .len = sizeof(rsp) },
			{ .regno = 0x11, .val = eflags, .len = sizeof(eflags) },
		},
	};

	check_stop(&s, "T05thread:1;swbreak:;10:0010000000000000;"
		       "7:f0ff7f0000000000;11:02010000;");
}

static void test_stop_expedited_clamped(void **state)
{
	static const uint8_t v[1] = { 0xab };
	struct rsp_stop s = { .code = 5, .n_expedited = 1000 };

	for (unsigned i = 0; i < RSP_MAX_EXPEDITED; i++)
		s.expedited[i] = (struct rsp_expedited){ i, v, 1 };
	check_stop(&s, "T050:ab;1:ab;2:ab;3:ab;");
}

static void test_stop_exited(void **state)
{
	check_stop(&(struct rsp_stop){ .exited = true, .code = 0 }, "W00");
	/* Nothing but the status, whatever else is set. */
	check_stop(&(struct rsp_stop){ .exited = true, .code = 0x7f,
				       .thread = 1,
				       .reason = RSP_REASON_SWBREAK,
				       .n_expedited = 1 },
		   "W7f");
}

static void test_stop_overflow(void **state)
{
	char mem[8];
	struct rsp_buf b;

	rsp_buf_init(&b, mem, sizeof(mem));
	rsp_put_stop(&b, &(struct rsp_stop){ .code = 5, .thread = 1 });
	assert_true(b.overflow);
	assert_true(b.len <= sizeof(mem));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex_encode),
		cmocka_unit_test(test_hex_decode),
		cmocka_unit_test(test_hex_decode_errors),
		cmocka_unit_test(test_hex_round_trip),
		cmocka_unit_test(test_buf_basic),
		cmocka_unit_test(test_buf_hex_u64),
		cmocka_unit_test(test_buf_hex_bytes_and_error),
		cmocka_unit_test(test_buf_overflow_sticks),
		cmocka_unit_test(test_buf_overflow_writes_nothing_partial),
		cmocka_unit_test(test_stop_signal_only),
		cmocka_unit_test(test_stop_thread_and_reason),
		cmocka_unit_test(test_stop_expedited),
		cmocka_unit_test(test_stop_expedited_clamped),
		cmocka_unit_test(test_stop_exited),
		cmocka_unit_test(test_stop_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
