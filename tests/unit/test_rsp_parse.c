/* SPDX-License-Identifier: MIT */
/* Command classification and argument parsing: rsp_parse. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <kvmdbg/rsp.h>

/*
 * The payload sits at the very end of its allocation, so under
 * AddressSanitizer a read past payload[len) is reported.
 */
struct parsed {
	struct rsp_cmd cmd;
	size_t len;
	uint8_t payload[];
};

static struct parsed *parse_bytes(const void *in, size_t n)
{
	struct parsed *p = malloc(sizeof(*p) + n);

	assert_non_null(p);
	p->len = n;
	if (n)
		memcpy(p->payload, in, n);
	memset(&p->cmd, 0xa5, sizeof(p->cmd));
	rsp_parse(p->payload, n, &p->cmd);
	return p;
}

#define PARSE(lit) parse_bytes(lit, sizeof(lit) - 1)

static void assert_data(const struct parsed *p, size_t off, size_t len)
{
	assert_ptr_equal(p->cmd.data, p->payload + off);
	assert_int_equal(p->cmd.data_len, len);
}

/* Fields a command does not use must be zero. */
static void assert_rest_zero(struct rsp_cmd *c, enum rsp_cmd_kind kind)
{
	static const struct rsp_cmd zero;

	c->kind = 0;
	assert_memory_equal(c, &zero, sizeof(zero));
	c->kind = kind;
}

struct kind_case {
	const char *in;
	size_t len;
	enum rsp_cmd_kind kind;
};

#define K(lit, k) { lit, sizeof(lit) - 1, RSP_CMD_##k }

static void check_kinds(const struct kind_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct parsed *p = parse_bytes(cases[i].in, cases[i].len);

		if (p->cmd.kind != cases[i].kind)
			fail_msg("\"%.*s\": kind %d, want %d",
				 (int)cases[i].len, cases[i].in,
				 p->cmd.kind, cases[i].kind);
		if (p->cmd.kind == RSP_CMD_UNKNOWN ||
		    p->cmd.kind == RSP_CMD_MALFORMED)
			assert_rest_zero(&p->cmd, p->cmd.kind);
		free(p);
	}
}

#define CHECK_KINDS(cases) check_kinds(cases, sizeof(cases) / sizeof(cases[0]))

static void test_unknown(void **state)
{
	static const struct kind_case cases[] = {
		K("", UNKNOWN),
		K("i", UNKNOWN),
		K("!", UNKNOWN),
		K("R00", UNKNOWN),
		K("bc", UNKNOWN),
		K("A4,0,2f", UNKNOWN),
		K("jThreadsInfo", UNKNOWN),
		K("\0", UNKNOWN),
		K("\x80g", UNKNOWN),
		K(" g", UNKNOWN),
		K("q", UNKNOWN),
		K("Q", UNKNOWN),
		K("v", UNKNOWN),
		K("vMustReplyEmpty", UNKNOWN),
		K("vFile:open:6a7573742070726f62696e67,0,1c0", UNKNOWN),
		K("vFile:setfs:0", UNKNOWN),
		K("vAttach;1", UNKNOWN),
		K("vRun;", UNKNOWN),
		K("vContX", UNKNOWN),
		K("vCont!", UNKNOWN),
		K("vcont?", UNKNOWN),
		K("vKilla", UNKNOWN),
		K("qTStatus", UNKNOWN),
		K("qOffsets", UNKNOWN),
		K("qSymbol::", UNKNOWN),
		K("qCRC:1000,4", UNKNOWN),
		K("qc", UNKNOWN),
		K("qL1200000000000000000", UNKNOWN),
		K("qGetTLSAddr:1,2,3", UNKNOWN),
		K("qSupportedX", UNKNOWN),
		K("qsupported", UNKNOWN),
		K("QSupported", UNKNOWN),
		K("QNonStopX:0", UNKNOWN),
		K("vStoppedX", UNKNOWN),
		K("QThreadEvents:1", UNKNOWN),
		K("QStartNoAckModeX", UNKNOWN),
		K("qStartNoAckMode", UNKNOWN),
		K("qXfer:features:write:target.xml:0:abc", UNKNOWN),
		K("qXfer:memory-map:readx:a:0,1", UNKNOWN),
		K("qXferX:features:read:target.xml:0,fff", UNKNOWN),
		K("qC\0", UNKNOWN),
		K("qRcmd\0,00", UNKNOWN),
	};

	CHECK_KINDS(cases);
}

static void test_malformed(void **state)
{
	static const struct kind_case cases[] = {
		K("?x", MALFORMED),
		K("? ", MALFORMED),
		K("g0", MALFORMED),
		K("gg", MALFORMED),
		K("G", MALFORMED),
		K("G1", MALFORMED),
		K("G0g", MALFORMED),
		K("G0g0g", MALFORMED),
		K("G 00", MALFORMED),
		K("G00\0", MALFORMED),
		K("p", MALFORMED),
		K("px", MALFORMED),
		K("p1 ", MALFORMED),
		K("p-1", MALFORMED),
		K("p100000000", MALFORMED),
		K("p1=00", MALFORMED),
		K("P", MALFORMED),
		K("P1", MALFORMED),
		K("P1=", MALFORMED),
		K("P1=1", MALFORMED),
		K("P1=zz", MALFORMED),
		K("P=00", MALFORMED),
		K("Px=00", MALFORMED),
		K("P100000000=00", MALFORMED),
		K("P1:00", MALFORMED),
		K("m", MALFORMED),
		K("m1000", MALFORMED),
		K("m1000,", MALFORMED),
		K("m,4", MALFORMED),
		K("m1000,4,", MALFORMED),
		K("m1000,4:", MALFORMED),
		K("m1000,4x", MALFORMED),
		K("m1000;4", MALFORMED),
		K("m 1000,4", MALFORMED),
		K("m-1,4", MALFORMED),
		K("m0x1000,4", MALFORMED),
		K("m1000\0,4", MALFORMED),
		K("m1000,4\0", MALFORMED),
		K("m10000000000000000,4", MALFORMED),
		K("m1000,10000000000000000", MALFORMED),
		K("M1000,2", MALFORMED),
		K("M1000,2:", MALFORMED),
		K("M1000,2:abc", MALFORMED),
		K("M1000,2:ab", MALFORMED),
		K("M1000,2:abcdef", MALFORMED),
		K("M1000,2:abgd", MALFORMED),
		K("M1000,2abcd", MALFORMED),
		K("M1000:abcd", MALFORMED),
		K("M,2:abcd", MALFORMED),
		K("M1000,8000000000000000:", MALFORMED),
		K("M1000,8000000000000001:00", MALFORMED),
		K("X1000,2:a", MALFORMED),
		K("X1000,2:abc", MALFORMED),
		K("X1000,2", MALFORMED),
		K("X1000,0", MALFORMED),
		K("X1000:ab", MALFORMED),
		K("X,0:", MALFORMED),
		K("X1000,ffffffffffffffff:", MALFORMED),
		K("cx", MALFORMED),
		K("c1000x", MALFORMED),
		K("c 1000", MALFORMED),
		K("c;1000", MALFORMED),
		K("c10000000000000000", MALFORMED),
		K("s,", MALFORMED),
		K("s1000;", MALFORMED),
		K("C", MALFORMED),
		K("C5", MALFORMED),
		K("C0g", MALFORMED),
		K("C005", MALFORMED),
		K("C05;", MALFORMED),
		K("C05;x", MALFORMED),
		K("C05x", MALFORMED),
		K("C05,1000", MALFORMED),
		K("C05;1000;", MALFORMED),
		K("S", MALFORMED),
		K("S1", MALFORMED),
		K("S05;1000x", MALFORMED),
		K("S05;10000000000000000", MALFORMED),
		K("Z", MALFORMED),
		K("Z0", MALFORMED),
		K("Z0,1000", MALFORMED),
		K("Z0,1000,", MALFORMED),
		K("Z0,,1", MALFORMED),
		K("Z,1000,1", MALFORMED),
		K("Z5,1000,1", MALFORMED),
		K("Za,1000,1", MALFORMED),
		K("Z-1,1000,1", MALFORMED),
		K("Z10000000000000000,1000,1", MALFORMED),
		K("Z0,1000,1x", MALFORMED),
		K("Z0,1000,1,", MALFORMED),
		K("Z0,1000,1 ", MALFORMED),
		K("Z0,1000,10000000000000000", MALFORMED),
		K("z5,1000,1", MALFORMED),
		K("z0,1000", MALFORMED),
		K("kx", MALFORMED),
		K("k;", MALFORMED),
		K("vKill", MALFORMED),
		K("vKill;", MALFORMED),
		K("vKill;x", MALFORMED),
		K("vKill;1x", MALFORMED),
		K("vKill;1;", MALFORMED),
		K("vKill:1", MALFORMED),
		K("vKill?", MALFORMED),
		K("D1", MALFORMED),
		K("Dx", MALFORMED),
		K("D;", MALFORMED),
		K("D;x", MALFORMED),
		K("D;1;", MALFORMED),
		K("H", MALFORMED),
		K("Hg", MALFORMED),
		K("Hc", MALFORMED),
		K("H1", MALFORMED),
		K("Hs1", MALFORMED),
		K("Hm1", MALFORMED),
		K("Hg-", MALFORMED),
		K("Hg-2", MALFORMED),
		K("Hg-10", MALFORMED),
		K("Hgx", MALFORMED),
		K("Hg1x", MALFORMED),
		K("Hg 1", MALFORMED),
		K("Hgp", MALFORMED),
		K("Hgp1.", MALFORMED),
		K("Hgp1.x", MALFORMED),
		K("Hgpx.1", MALFORMED),
		K("Hgp1.2.3", MALFORMED),
		K("Hg8000000000000000", MALFORMED),
		K("T", MALFORMED),
		K("Tx", MALFORMED),
		K("T1x", MALFORMED),
		K("T-2", MALFORMED),
		K("vCont", MALFORMED),
		K("vCont;", MALFORMED),
		K("vCont?x", MALFORMED),
		K("vCont??", MALFORMED),
		K("vCont:c", MALFORMED),
		K("vCont,c", MALFORMED),
		K("vCont;c;", MALFORMED),
		K("vCont;;c", MALFORMED),
		K("vCont;x", MALFORMED),
		K("vCont;cs", MALFORMED),
		K("vCont;c,s", MALFORMED),
		K("vCont;C", MALFORMED),
		K("vCont;C5", MALFORMED),
		K("vCont;C05x", MALFORMED),
		K("vCont;S0g", MALFORMED),
		K("vCont;c:", MALFORMED),
		K("vCont;c:x", MALFORMED),
		K("vCont;c:-2", MALFORMED),
		K("vCont;c:-10", MALFORMED),
		K("vCont;c:1:2", MALFORMED),
		K("vCont;c:p", MALFORMED),
		K("vCont;c:p1.", MALFORMED),
		K("vCont;c:p1.x", MALFORMED),
		K("vCont;r", MALFORMED),
		K("vCont;r1000", MALFORMED),
		K("vCont;r1000,", MALFORMED),
		K("vCont;r,2000", MALFORMED),
		K("vCont;r1000,2000,", MALFORMED),
		K("vCont;c\0", MALFORMED),
		K("qSupported;multiprocess+", MALFORMED),
		K("qSupported,", MALFORMED),
		K("QStartNoAckMode:1", MALFORMED),
		K("QStartNoAckMode;", MALFORMED),
		K("qAttached:", MALFORMED),
		K("qAttached:x", MALFORMED),
		K("qAttached:1x", MALFORMED),
		K("qAttached,1", MALFORMED),
		K("qC:1", MALFORMED),
		K("qC,", MALFORMED),
		K("qfThreadInfo,", MALFORMED),
		K("qsThreadInfo:", MALFORMED),
		K("qThreadExtraInfo", MALFORMED),
		K("qThreadExtraInfo,", MALFORMED),
		K("qThreadExtraInfo,x", MALFORMED),
		K("qThreadExtraInfo,1x", MALFORMED),
		K("qThreadExtraInfo:1", MALFORMED),
		K("qXfer", MALFORMED),
		K("qXfer:", MALFORMED),
		K("qXfer,features", MALFORMED),
		K("qXfer::read:target.xml:0,fff", MALFORMED),
		K("qXfer:features", MALFORMED),
		K("qXfer:features:", MALFORMED),
		K("qXfer:features:read", MALFORMED),
		K("qXfer:features:read:", MALFORMED),
		K("qXfer:features:read:target.xml", MALFORMED),
		K("qXfer:features:read:target.xml:", MALFORMED),
		K("qXfer:features:read:target.xml:0", MALFORMED),
		K("qXfer:features:read:target.xml:0,", MALFORMED),
		K("qXfer:features:read:target.xml:,fff", MALFORMED),
		K("qXfer:features:read:target.xml:0,fffx", MALFORMED),
		K("qXfer:features:read:target.xml:0,fff:", MALFORMED),
		K("qXfer:features:read:target.xml:10000000000000000,1",
		  MALFORMED),
		K("qXfer:feat\0ures:read:target.xml:0,fff", MALFORMED),
		K("qXfer:features:read:target\0.xml:0,fff", MALFORMED),
		K("qRcmd", MALFORMED),
		K("qRcmd,6", MALFORMED),
		K("qRcmd,zz", MALFORMED),
		K("qRcmd,68 69", MALFORMED),
		K("qRcmd:6869", MALFORMED),
	};

	CHECK_KINDS(cases);
}

static void test_qxfer_name_limits(void **state)
{
	char in[256];
	struct parsed *p;
	int n;

	/* The object array holds 31 characters and the terminator. */
	n = snprintf(in, sizeof(in), "qXfer:%.31s:read:a:0,1",
		     "ooooooooooooooooooooooooooooooooooooo");
	p = parse_bytes(in, (size_t)n);
	assert_int_equal(p->cmd.kind, RSP_CMD_QXFER_READ);
	assert_int_equal(strlen(p->cmd.object), 31);
	free(p);
	n = snprintf(in, sizeof(in), "qXfer:%.32s:read:a:0,1",
		     "ooooooooooooooooooooooooooooooooooooo");
	p = parse_bytes(in, (size_t)n);
	assert_int_equal(p->cmd.kind, RSP_CMD_MALFORMED);
	free(p);

	n = snprintf(in, sizeof(in), "qXfer:features:read:%.63s:0,1",
		     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		     "aaaaaaaaaaaaaaaaaaaaaa");
	p = parse_bytes(in, (size_t)n);
	assert_int_equal(p->cmd.kind, RSP_CMD_QXFER_READ);
	assert_int_equal(strlen(p->cmd.annex), 63);
	free(p);
	n = snprintf(in, sizeof(in), "qXfer:features:read:%.64s:0,1",
		     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		     "aaaaaaaaaaaaaaaaaaaaaa");
	p = parse_bytes(in, (size_t)n);
	assert_int_equal(p->cmd.kind, RSP_CMD_MALFORMED);
	free(p);
}

static void test_qxfer_read(void **state)
{
	struct parsed *p = PARSE("qXfer:features:read:target.xml:0,ffb");

	assert_int_equal(p->cmd.kind, RSP_CMD_QXFER_READ);
	assert_string_equal(p->cmd.object, "features");
	assert_string_equal(p->cmd.annex, "target.xml");
	assert_int_equal(p->cmd.offset, 0);
	assert_int_equal(p->cmd.len, 0xffb);
	memset(p->cmd.object, 0, sizeof(p->cmd.object));
	memset(p->cmd.annex, 0, sizeof(p->cmd.annex));
	p->cmd.len = 0;
	assert_rest_zero(&p->cmd, p->cmd.kind);
	free(p);

	p = PARSE("qXfer:threads:read::1000,ffffffffffffffff");
	assert_int_equal(p->cmd.kind, RSP_CMD_QXFER_READ);
	assert_string_equal(p->cmd.object, "threads");
	assert_string_equal(p->cmd.annex, "");
	assert_int_equal(p->cmd.offset, 0x1000);
	assert_int_equal(p->cmd.len, UINT64_MAX);
	free(p);

	p = PARSE("qXfer:features:read:i386-64bit.xml:7fe,7ff");
	assert_int_equal(p->cmd.kind, RSP_CMD_QXFER_READ);
	assert_string_equal(p->cmd.annex, "i386-64bit.xml");
	assert_int_equal(p->cmd.offset, 0x7fe);
	assert_int_equal(p->cmd.len, 0x7ff);
	free(p);
}

static void test_halt_reason_and_registers(void **state)
{
	struct parsed *p = PARSE("?");

	assert_int_equal(p->cmd.kind, RSP_CMD_HALT_REASON);
	assert_rest_zero(&p->cmd, p->cmd.kind);
	free(p);

	p = PARSE("g");
	assert_int_equal(p->cmd.kind, RSP_CMD_READ_REGS);
	assert_rest_zero(&p->cmd, p->cmd.kind);
	free(p);

	p = PARSE("G0011aaFF");
	assert_int_equal(p->cmd.kind, RSP_CMD_WRITE_REGS);
	assert_data(p, 1, 8);
	free(p);

	p = PARSE("p10");
	assert_int_equal(p->cmd.kind, RSP_CMD_READ_REG);
	assert_int_equal(p->cmd.regno, 0x10);
	free(p);

	p = PARSE("pffffffff");
	assert_int_equal(p->cmd.kind, RSP_CMD_READ_REG);
	assert_int_equal(p->cmd.regno, UINT_MAX);
	free(p);

	p = PARSE("p0");
	assert_int_equal(p->cmd.kind, RSP_CMD_READ_REG);
	assert_int_equal(p->cmd.regno, 0);
	free(p);

	p = PARSE("P1f=deadBEEF");
	assert_int_equal(p->cmd.kind, RSP_CMD_WRITE_REG);
	assert_int_equal(p->cmd.regno, 0x1f);
	assert_data(p, 4, 8);
	free(p);
}

static void test_memory(void **state)
{
	struct parsed *p = PARSE("m1000,4");

	assert_int_equal(p->cmd.kind, RSP_CMD_READ_MEM);
	assert_int_equal(p->cmd.addr, 0x1000);
	assert_int_equal(p->cmd.len, 4);
	free(p);

	p = PARSE("mffffffffffffffff,1");
	assert_int_equal(p->cmd.kind, RSP_CMD_READ_MEM);
	assert_int_equal(p->cmd.addr, UINT64_MAX);
	free(p);

	/* Leading zeros do not count towards overflow. */
	p = PARSE("m00000000000000000000001,0");
	assert_int_equal(p->cmd.kind, RSP_CMD_READ_MEM);
	assert_int_equal(p->cmd.addr, 1);
	assert_int_equal(p->cmd.len, 0);
	free(p);

	p = PARSE("mFfFf8000,ABC");
	assert_int_equal(p->cmd.kind, RSP_CMD_READ_MEM);
	assert_int_equal(p->cmd.addr, 0xffff8000);
	assert_int_equal(p->cmd.len, 0xabc);
	free(p);

	p = PARSE("x2000,800");
	assert_int_equal(p->cmd.kind, RSP_CMD_READ_MEM_BIN);
	assert_int_equal(p->cmd.addr, 0x2000);
	assert_int_equal(p->cmd.len, 0x800);
	free(p);

	p = PARSE("x2000");
	assert_int_equal(p->cmd.kind, RSP_CMD_MALFORMED);
	free(p);

	p = PARSE("x2000,8:");
	assert_int_equal(p->cmd.kind, RSP_CMD_MALFORMED);
	free(p);

	p = PARSE("M1000,2:abCD");
	assert_int_equal(p->cmd.kind, RSP_CMD_WRITE_MEM);
	assert_int_equal(p->cmd.addr, 0x1000);
	assert_int_equal(p->cmd.len, 2);
	assert_data(p, 8, 4);
	free(p);

	p = PARSE("M20,0:");
	assert_int_equal(p->cmd.kind, RSP_CMD_WRITE_MEM);
	assert_int_equal(p->cmd.len, 0);
	assert_int_equal(p->cmd.data_len, 0);
	free(p);
}

static void test_binary_write(void **state)
{
	/* The probe gdb sends to see whether X is supported. */
	struct parsed *p = PARSE("X1000,0:");

	assert_int_equal(p->cmd.kind, RSP_CMD_WRITE_MEM_BIN);
	assert_int_equal(p->cmd.addr, 0x1000);
	assert_int_equal(p->cmd.len, 0);
	assert_data(p, 8, 0);
	free(p);

	/* Separators, NULs and high bytes are data after the colon. */
	p = PARSE("X10,6::,#\0\xff}");
	assert_int_equal(p->cmd.kind, RSP_CMD_WRITE_MEM_BIN);
	assert_int_equal(p->cmd.len, 6);
	assert_data(p, 6, 6);
	assert_memory_equal(p->cmd.data, ":,#\0\xff}", 6);
	free(p);
}

static void test_resume(void **state)
{
	struct parsed *p = PARSE("c");

	assert_int_equal(p->cmd.kind, RSP_CMD_CONTINUE);
	assert_false(p->cmd.has_addr);
	assert_false(p->cmd.has_signal);
	assert_rest_zero(&p->cmd, p->cmd.kind);
	free(p);

	p = PARSE("c400000");
	assert_int_equal(p->cmd.kind, RSP_CMD_CONTINUE);
	assert_true(p->cmd.has_addr);
	assert_int_equal(p->cmd.addr, 0x400000);
	assert_false(p->cmd.has_signal);
	free(p);

	p = PARSE("s");
	assert_int_equal(p->cmd.kind, RSP_CMD_STEP);
	assert_false(p->cmd.has_addr);
	free(p);

	p = PARSE("s0");
	assert_int_equal(p->cmd.kind, RSP_CMD_STEP);
	assert_true(p->cmd.has_addr);
	assert_int_equal(p->cmd.addr, 0);
	free(p);

	p = PARSE("C05");
	assert_int_equal(p->cmd.kind, RSP_CMD_CONTINUE);
	assert_true(p->cmd.has_signal);
	assert_int_equal(p->cmd.signal, 5);
	assert_false(p->cmd.has_addr);
	free(p);

	p = PARSE("C0b;1000");
	assert_int_equal(p->cmd.kind, RSP_CMD_CONTINUE);
	assert_true(p->cmd.has_signal);
	assert_int_equal(p->cmd.signal, 0xb);
	assert_true(p->cmd.has_addr);
	assert_int_equal(p->cmd.addr, 0x1000);
	free(p);

	p = PARSE("S00");
	assert_int_equal(p->cmd.kind, RSP_CMD_STEP);
	assert_true(p->cmd.has_signal);
	assert_int_equal(p->cmd.signal, 0);
	free(p);

	p = PARSE("SfF;ffffffffffffffff");
	assert_int_equal(p->cmd.kind, RSP_CMD_STEP);
	assert_int_equal(p->cmd.signal, 0xff);
	assert_int_equal(p->cmd.addr, UINT64_MAX);
	assert_true(p->cmd.has_addr);
	free(p);
}

static void test_vcont_query(void **state)
{
	struct parsed *p = PARSE("vCont?");

	assert_int_equal(p->cmd.kind, RSP_CMD_VCONT_QUERY);
	assert_rest_zero(&p->cmd, p->cmd.kind);
	free(p);
}

static void test_vcont_actions(void **state)
{
	struct parsed *p = PARSE("vCont;s:1;c");
	const struct rsp_vcont_action *a = p->cmd.actions;

	assert_int_equal(p->cmd.kind, RSP_CMD_VCONT);
	assert_int_equal(p->cmd.n_actions, 2);
	assert_int_equal(a[0].action, 's');
	assert_int_equal(a[0].thread, 1);
	assert_int_equal(a[1].action, 'c');
	assert_int_equal(a[1].thread, RSP_TID_ALL);
	free(p);

	p = PARSE("vCont;C05:2;S0b:p1.3;t:-1;r1000,2000:1;c:p1.-1;s:p2;"
		  "c:0;C1F");
	a = p->cmd.actions;
	assert_int_equal(p->cmd.kind, RSP_CMD_VCONT);
	assert_int_equal(p->cmd.n_actions, 8);
	assert_int_equal(a[0].action, 'C');
	assert_int_equal(a[0].signal, 5);
	assert_int_equal(a[0].thread, 2);
	assert_int_equal(a[1].action, 'S');
	assert_int_equal(a[1].signal, 0xb);
	assert_int_equal(a[1].thread, 3);
	assert_int_equal(a[1].pid, 1);
	assert_int_equal(a[0].pid, RSP_TID_ANY);
	assert_int_equal(a[2].action, 't');
	assert_int_equal(a[2].thread, RSP_TID_ALL);
	assert_int_equal(a[3].action, 'r');
	assert_int_equal(a[3].range_start, 0x1000);
	assert_int_equal(a[3].range_end, 0x2000);
	assert_int_equal(a[3].thread, 1);
	assert_int_equal(a[3].signal, 0);
	assert_int_equal(a[4].action, 'c');
	assert_int_equal(a[4].thread, RSP_TID_ALL);
	assert_int_equal(a[5].action, 's');
	assert_int_equal(a[5].thread, RSP_TID_ALL);
	assert_int_equal(a[5].pid, 2);
	assert_int_equal(a[6].thread, RSP_TID_ANY);
	assert_int_equal(a[7].action, 'C');
	assert_int_equal(a[7].signal, 0x1f);
	assert_int_equal(a[7].thread, RSP_TID_ALL);
	assert_int_equal(a[8].action, 0);
	free(p);
}

static void test_vcont_action_limit(void **state)
{
	char in[16 + 2 * (RSP_VCONT_MAX + 1)];
	struct parsed *p;
	size_t n = (size_t)sprintf(in, "vCont");

	for (int i = 0; i < RSP_VCONT_MAX; i++)
		n += (size_t)sprintf(in + n, ";%c", i % 2 ? 's' : 'c');
	p = parse_bytes(in, n);
	assert_int_equal(p->cmd.kind, RSP_CMD_VCONT);
	assert_int_equal(p->cmd.n_actions, RSP_VCONT_MAX);
	assert_int_equal(p->cmd.actions[RSP_VCONT_MAX - 1].action, 's');
	free(p);

	n += (size_t)sprintf(in + n, ";c");
	p = parse_bytes(in, n);
	assert_int_equal(p->cmd.kind, RSP_CMD_MALFORMED);
	assert_int_equal(p->cmd.n_actions, 0);
	free(p);
}

static void test_breakpoints(void **state)
{
	static const struct {
		const char *in;
		enum rsp_cmd_kind kind;
		unsigned type;
		uint64_t addr, bp_kind;
	} cases[] = {
		{ "Z0,1000,1", RSP_CMD_INSERT_BP, 0, 0x1000, 1 },
		{ "z0,1000,1", RSP_CMD_REMOVE_BP, 0, 0x1000, 1 },
		{ "Z1,ffff800000000000,1", RSP_CMD_INSERT_BP, 1,
		  0xffff800000000000ull, 1 },
		{ "Z2,1000,8", RSP_CMD_INSERT_BP, 2, 0x1000, 8 },
		{ "z3,2000,4", RSP_CMD_REMOVE_BP, 3, 0x2000, 4 },
		{ "Z4,0,2", RSP_CMD_INSERT_BP, 4, 0, 2 },
		{ "Z00,1,1", RSP_CMD_INSERT_BP, 0, 1, 1 },
		/* With target-side conditions and commands (below). */
		{ "Z0,1000,1;X2,0a01", RSP_CMD_INSERT_BP, 0, 0x1000, 1 },
		{ "Z0,1000,1;X2,0a01;cmds:0,X1,55", RSP_CMD_INSERT_BP, 0,
		  0x1000, 1 },
		{ "Z0,1000,1;", RSP_CMD_INSERT_BP, 0, 0x1000, 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct parsed *p = parse_bytes(cases[i].in,
					       strlen(cases[i].in));

		assert_int_equal(p->cmd.kind, cases[i].kind);
		assert_int_equal(p->cmd.bp_type, cases[i].type);
		assert_int_equal(p->cmd.addr, cases[i].addr);
		assert_int_equal(p->cmd.bp_kind, cases[i].bp_kind);
		assert_null(p->cmd.data);
		free(p);
	}
}

static void test_breakpoint_conditions(void **state)
{
	struct parsed *p;

	/* gdb writes a list's expressions back to back. */
	p = PARSE("Z0,1000,1;X2,2201X3,0a0B27;cmds:1,X1,27X2,2227");
	assert_int_equal(p->cmd.kind, RSP_CMD_INSERT_BP);
	assert_int_equal(p->cmd.n_conds, 2);
	assert_int_equal(p->cmd.conds[0].len, 2);
	assert_memory_equal(p->cmd.conds[0].hex, "2201", 4);
	assert_int_equal(p->cmd.conds[1].len, 3);
	assert_memory_equal(p->cmd.conds[1].hex, "0a0B27", 6);
	assert_int_equal(p->cmd.n_cmds, 2);
	assert_true(p->cmd.cmds_persist);
	assert_memory_equal(p->cmd.cmds[0].hex, "27", 2);
	assert_memory_equal(p->cmd.cmds[1].hex, "2227", 4);
	free(p);
	/* ';' between them, commands alone, persist 0. */
	p = PARSE("Z1,2000,1;X1,27;X1,28;cmds:0,X1,29");
	assert_int_equal(p->cmd.kind, RSP_CMD_INSERT_BP);
	assert_int_equal(p->cmd.n_conds, 2);
	assert_int_equal(p->cmd.n_cmds, 1);
	assert_false(p->cmd.cmds_persist);
	free(p);
	p = PARSE("Z0,1000,1;cmds:0,X1,27");
	assert_int_equal(p->cmd.n_conds, 0);
	assert_int_equal(p->cmd.n_cmds, 1);
	free(p);
	/* A removal carries none, whatever follows. */
	p = PARSE("z0,1000,1;X2,2201");
	assert_int_equal(p->cmd.kind, RSP_CMD_REMOVE_BP);
	assert_int_equal(p->cmd.n_conds, 0);
	free(p);
}

static void test_breakpoint_conditions_malformed(void **state)
{
	static const struct kind_case cases[] = {
		K("Z0,1000,1;X", MALFORMED),
		K("Z0,1000,1;X2", MALFORMED),
		K("Z0,1000,1;X2,", MALFORMED),
		K("Z0,1000,1;X2,22", MALFORMED),	/* shorter than its length */
		K("Z0,1000,1;X2,22zz", MALFORMED),
		K("Z0,1000,1;X1,2", MALFORMED),
		K("Z0,1000,1;X1,22junk", MALFORMED),
		K("Z0,1000,1;Y1,22", MALFORMED),
		K("Z0,1000,1;cmds:", MALFORMED),
		K("Z0,1000,1;cmds:1", MALFORMED),
		K("Z0,1000,1;cmds:1,X1,27;cmds:1,X1,27", MALFORMED),
		K("Z0,1000,1;Xffffffffffffffff,22", MALFORMED),
		K("Z0,1000,1;X10000000000000000,22", MALFORMED),
	};
	char in[64 + 8 * (RSP_BP_EXPR_MAX + 1)];
	size_t n = (size_t)sprintf(in, "Z0,1000,1;");
	struct parsed *p;

	CHECK_KINDS(cases);
	for (unsigned i = 0; i < RSP_BP_EXPR_MAX; i++)
		n += (size_t)sprintf(in + n, "X1,27");
	p = parse_bytes(in, n);
	assert_int_equal(p->cmd.n_conds, RSP_BP_EXPR_MAX);
	free(p);
	n += (size_t)sprintf(in + n, "X1,27");
	p = parse_bytes(in, n);
	assert_int_equal(p->cmd.kind, RSP_CMD_MALFORMED);
	assert_int_equal(p->cmd.n_conds, 0);
	free(p);
}

static void test_kill_detach(void **state)
{
	static const struct kind_case cases[] = {
		K("k", KILL),
		K("vKill;1", KILL),
		K("vKill;a1", KILL),
		K("D", DETACH),
		K("D;1", DETACH),
		K("D;7fff", DETACH),
	};

	CHECK_KINDS(cases);
}

static void test_nonstop(void **state)
{
	static const struct kind_case cases[] = {
		K("QNonStop:1", QNONSTOP),
		K("QNonStop:0", QNONSTOP),
		K("QNonStop", MALFORMED),
		K("QNonStop:", MALFORMED),
		K("QNonStop:2", MALFORMED),
		K("QNonStop:10", MALFORMED),
		K("QNonStop;1", MALFORMED),
		K("vStopped", VSTOPPED),
		K("vStopped;", MALFORMED),
		K("vCtrlC", VCTRLC),
		K("vCtrlC:1", MALFORMED),
		K("vCont;t", VCONT),
		K("vCont;t:2;c", VCONT),
	};
	struct parsed *p;

	CHECK_KINDS(cases);
	p = parse_bytes("QNonStop:1", 10);
	assert_true(p->cmd.non_stop);
	free(p);
	p = parse_bytes("QNonStop:0", 10);
	assert_false(p->cmd.non_stop);
	free(p);
	p = parse_bytes("vCont;t:p1.3", 12);
	assert_int_equal(p->cmd.actions[0].action, 't');
	assert_int_equal(p->cmd.actions[0].thread, 3);
	free(p);
}

static void test_threads(void **state)
{
	static const struct {
		const char *in;
		enum rsp_cmd_kind kind;
		char hop;
		long pid, thread;
	} cases[] = {
		{ "Hg1", RSP_CMD_SET_THREAD, 'g', RSP_TID_ANY, 1 },
		{ "Hc-1", RSP_CMD_SET_THREAD, 'c', RSP_TID_ANY, RSP_TID_ALL },
		{ "Hg0", RSP_CMD_SET_THREAD, 'g', RSP_TID_ANY, RSP_TID_ANY },
		{ "Hgp1.2", RSP_CMD_SET_THREAD, 'g', 1, 2 },
		{ "Hcp1.-1", RSP_CMD_SET_THREAD, 'c', 1, RSP_TID_ALL },
		{ "Hgp-1.-1", RSP_CMD_SET_THREAD, 'g', RSP_TID_ALL, RSP_TID_ALL },
		{ "Hgp1", RSP_CMD_SET_THREAD, 'g', 1, RSP_TID_ALL },
		{ "Hgp1.0", RSP_CMD_SET_THREAD, 'g', 1, RSP_TID_ANY },
		{ "Hgp0.3", RSP_CMD_SET_THREAD, 'g', RSP_TID_ANY, 3 },
		{ "Hgp99.1", RSP_CMD_SET_THREAD, 'g', 0x99, 1 },
		{ "Hg7fffffffffffffff", RSP_CMD_SET_THREAD, 'g', RSP_TID_ANY, LONG_MAX },
		{ "HgAb", RSP_CMD_SET_THREAD, 'g', RSP_TID_ANY, 0xab },
		{ "T1", RSP_CMD_THREAD_ALIVE, 0, RSP_TID_ANY, 1 },
		{ "T1f", RSP_CMD_THREAD_ALIVE, 0, RSP_TID_ANY, 0x1f },
		{ "Tp1.5", RSP_CMD_THREAD_ALIVE, 0, 1, 5 },
		{ "Tp2a.5", RSP_CMD_THREAD_ALIVE, 0, 0x2a, 5 },
		{ "T-1", RSP_CMD_THREAD_ALIVE, 0, RSP_TID_ANY, RSP_TID_ALL },
		{ "qThreadExtraInfo,1", RSP_CMD_QTHREAD_EXTRA, 0, RSP_TID_ANY, 1 },
		{ "qThreadExtraInfo,p1.2", RSP_CMD_QTHREAD_EXTRA, 0, 1, 2 },
		{ "qThreadExtraInfo,p7.2", RSP_CMD_QTHREAD_EXTRA, 0, 7, 2 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct parsed *p = parse_bytes(cases[i].in,
					       strlen(cases[i].in));

		assert_int_equal(p->cmd.kind, cases[i].kind);
		assert_int_equal(p->cmd.hop, cases[i].hop);
		assert_int_equal(p->cmd.pid, cases[i].pid);
		assert_int_equal(p->cmd.thread, cases[i].thread);
		free(p);
	}
}

/* Ids of threads or processes that do not exist are the stub's to refuse:
 * the parser keeps them as they were written. */
static void test_vcont_thread_ids(void **state)
{
	struct parsed *p = PARSE("vCont;c:p99.99;s:ffffffff;c:-1;s:p1.-1;c:p-1.5;t:0");
	const struct rsp_vcont_action *a = p->cmd.actions;

	assert_int_equal(p->cmd.kind, RSP_CMD_VCONT);
	assert_int_equal(p->cmd.n_actions, 6);
	assert_int_equal(a[0].pid, 0x99);
	assert_int_equal(a[0].thread, 0x99);
	assert_int_equal(a[1].pid, RSP_TID_ANY);
	assert_int_equal(a[1].thread, 0xffffffff);
	assert_int_equal(a[2].pid, RSP_TID_ANY);
	assert_int_equal(a[2].thread, RSP_TID_ALL);
	assert_int_equal(a[3].pid, 1);
	assert_int_equal(a[3].thread, RSP_TID_ALL);
	assert_int_equal(a[4].pid, RSP_TID_ALL);
	assert_int_equal(a[4].thread, 5);
	assert_int_equal(a[5].action, 't');
	assert_int_equal(a[5].pid, RSP_TID_ANY);
	assert_int_equal(a[5].thread, RSP_TID_ANY);
	free(p);

	/* The same thread twice is the stub's to resolve (leftmost wins). */
	p = PARSE("vCont;s:1;c:1");
	a = p->cmd.actions;
	assert_int_equal(p->cmd.kind, RSP_CMD_VCONT);
	assert_int_equal(p->cmd.n_actions, 2);
	assert_int_equal(a[0].action, 's');
	assert_int_equal(a[1].action, 'c');
	assert_int_equal(a[0].thread, 1);
	assert_int_equal(a[1].thread, 1);
	free(p);

	/* An empty action and a process id too large for a long. */
	p = PARSE("vCont;");
	assert_int_equal(p->cmd.kind, RSP_CMD_MALFORMED);
	free(p);
	p = PARSE("vCont;c:p8000000000000000.1");
	assert_int_equal(p->cmd.kind, RSP_CMD_MALFORMED);
	assert_int_equal(p->cmd.n_actions, 0);
	free(p);
	p = PARSE("vCont;c:p-2.1");
	assert_int_equal(p->cmd.kind, RSP_CMD_MALFORMED);
	free(p);
}

static void test_queries(void **state)
{
	static const struct kind_case cases[] = {
		K("QStartNoAckMode", START_NOACK),
		K("qAttached", QATTACHED),
		K("qAttached:1", QATTACHED),
		K("qAttached:a", QATTACHED),
		K("qC", QC),
		K("qfThreadInfo", QFTHREADINFO),
		K("qsThreadInfo", QSTHREADINFO),
	};
	struct parsed *p;

	CHECK_KINDS(cases);

	p = PARSE("qSupported");
	assert_int_equal(p->cmd.kind, RSP_CMD_QSUPPORTED);
	assert_null(p->cmd.data);
	assert_int_equal(p->cmd.data_len, 0);
	free(p);

	p = PARSE("qSupported:multiprocess+;swbreak+;xmlRegisters=i386");
	assert_int_equal(p->cmd.kind, RSP_CMD_QSUPPORTED);
	assert_data(p, 11, 40);
	free(p);

	p = PARSE("qSupported:");
	assert_int_equal(p->cmd.kind, RSP_CMD_QSUPPORTED);
	assert_data(p, 11, 0);
	free(p);

	/* Feature text is passed on as is, NULs and all. */
	p = PARSE("qSupported:a\0b");
	assert_int_equal(p->cmd.kind, RSP_CMD_QSUPPORTED);
	assert_data(p, 11, 3);
	free(p);

	p = PARSE("qRcmd,7265736574");
	assert_int_equal(p->cmd.kind, RSP_CMD_QRCMD);
	assert_data(p, 6, 10);
	free(p);

	/* A bare "monitor" sends an empty command. */
	p = PARSE("qRcmd,");
	assert_int_equal(p->cmd.kind, RSP_CMD_QRCMD);
	assert_data(p, 6, 0);
	free(p);
}

static void test_rejected_commands_are_cleared(void **state)
{
	/* Arguments parsed before the error must not survive it. */
	struct parsed *p = PARSE("m1000,4x");

	assert_int_equal(p->cmd.kind, RSP_CMD_MALFORMED);
	assert_int_equal(p->cmd.addr, 0);
	assert_int_equal(p->cmd.len, 0);
	free(p);

	p = PARSE("vCont;c;s;x");
	assert_int_equal(p->cmd.kind, RSP_CMD_MALFORMED);
	assert_int_equal(p->cmd.n_actions, 0);
	free(p);

	p = PARSE("qXfer:features:read:target.xml:0,fffx");
	assert_int_equal(p->cmd.kind, RSP_CMD_MALFORMED);
	assert_string_equal(p->cmd.object, "");
	assert_string_equal(p->cmd.annex, "");
	free(p);

	p = PARSE("qXfer:features:write:target.xml:0:abc");
	assert_int_equal(p->cmd.kind, RSP_CMD_UNKNOWN);
	assert_string_equal(p->cmd.object, "");
	free(p);
}

/*
 * Every proper prefix of a valid command is parsed from a buffer that ends
 * exactly there: each must stay inside it, and only those that are
 * complete commands on their own may be accepted.
 */
static void test_prefixes(void **state)
{
	static const char *const valid[] = {
		"m1000,4", "M1000,2:abcd", "X1000,2:ab", "P1f=00112233",
		"C05;1000", "Z2,1000,8;X2,0a01", "Hgp1.2",
		"vCont;C05:p1.2;r1000,2000:1", "qXfer:features:read:a.xml:0,f",
		"qThreadExtraInfo,p1.2", "qAttached:1", "vKill;1", "D;1",
		"qRcmd,6869", "qSupported:x+",
	};
	static const char want[] =
		"P1f=00|P1f=0011|P1f=001122|C05|C05;1|C05;10|C05;100|"
		"Z2,1000,8|Z2,1000,8;|Hgp1|"
		"vCont;C05|vCont;C05:p1|vCont;C05:p1.2|vCont;C05:p1.2;r1000,2|"
		"vCont;C05:p1.2;r1000,20|vCont;C05:p1.2;r1000,200|"
		"vCont;C05:p1.2;r1000,2000|qThreadExtraInfo,p1|qAttached|D|"
		"qRcmd,|qRcmd,68|qSupported|qSupported:|qSupported:x|";
	char got[sizeof(want) + 256] = "";
	size_t len = 0;

	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		size_t n = strlen(valid[i]);
		struct parsed *p = parse_bytes(valid[i], n);

		assert_true(p->cmd.kind > RSP_CMD_MALFORMED);
		free(p);
		for (size_t k = 0; k < n; k++) {
			p = parse_bytes(valid[i], k);
			if (p->cmd.data)
				assert_true(p->cmd.data + p->cmd.data_len <=
					    p->payload + k);
			if (p->cmd.kind > RSP_CMD_MALFORMED)
				len += (size_t)snprintf(got + len,
							sizeof(got) - len,
							"%.*s|", (int)k,
							valid[i]);
			assert_true(len < sizeof(got));
			free(p);
		}
	}
	assert_string_equal(got, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_qxfer_name_limits),
		cmocka_unit_test(test_qxfer_read),
		cmocka_unit_test(test_halt_reason_and_registers),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_binary_write),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_vcont_query),
		cmocka_unit_test(test_vcont_actions),
		cmocka_unit_test(test_vcont_action_limit),
		cmocka_unit_test(test_vcont_thread_ids),
		cmocka_unit_test(test_breakpoints),
		cmocka_unit_test(test_breakpoint_conditions),
		cmocka_unit_test(test_breakpoint_conditions_malformed),
		cmocka_unit_test(test_kill_detach),
		cmocka_unit_test(test_nonstop),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_queries),
		cmocka_unit_test(test_rejected_commands_are_cleared),
		cmocka_unit_test(test_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
