/* SPDX-License-Identifier: MIT */
/* LLDB's queries and the thread suffix of its register packets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <kvmdbg/rsp.h>

static enum rsp_lldb_kind parse(const char *text, uint64_t *addr)
{
	return rsp_parse_lldb((const uint8_t *)text, strlen(text), addr);
}

static void test_lldb_queries(void **state)
{
	uint64_t addr = 99;

	assert_int_equal(parse("qHostInfo", &addr), RSP_LLDB_HOST_INFO);
	assert_int_equal(addr, 0);
	assert_int_equal(parse("qProcessInfo", &addr), RSP_LLDB_PROCESS_INFO);
	assert_int_equal(parse("qWatchpointSupportInfo", &addr), RSP_LLDB_WATCH_INFO);
	assert_int_equal(parse("qWatchpointSupportInfo:", &addr), RSP_LLDB_WATCH_INFO);
	assert_int_equal(parse("jThreadsInfo", &addr), RSP_LLDB_THREADS_INFO);
	assert_int_equal(parse("QThreadSuffixSupported", &addr), RSP_LLDB_THREAD_SUFFIX);
	assert_int_equal(parse("QListThreadsInStopReply", &addr), RSP_LLDB_LIST_THREADS);
	assert_int_equal(parse("qMemoryRegionInfo:fffff80000001000", &addr),
			 RSP_LLDB_REGION_INFO);
	assert_int_equal(addr, 0xfffff80000001000ull);
}

static void test_lldb_malformed(void **state)
{
	static const char *const bad[] = {
		"qHostInfo:", "qHostInfo:1", "qProcessInfo:", "qWatchpointSupportInfo:1",
		"qMemoryRegionInfo", "qMemoryRegionInfo:", "qMemoryRegionInfo:zz",
		"qMemoryRegionInfo:1,2", "qMemoryRegionInfo:10000000000000000",
		"jThreadsInfo:", "QThreadSuffixSupported:1",
	};
	uint64_t addr;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		addr = 99;
		assert_int_equal(parse(bad[i], &addr), RSP_LLDB_MALFORMED);
		assert_int_equal(addr, 0);
	}
}

static void test_lldb_not_ours(void **state)
{
	static const char *const others[] = {
		"", "q", "qHostInfoX", "qC", "qSupported:xmlRegisters=i386", "jThreadsInfoX",
		"qProcessInfoPID:1", "QStartNoAckMode", "g", "m100,4",
	};
	uint64_t addr;

	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		assert_int_equal(parse(others[i], &addr), RSP_LLDB_NONE);
	/* Bounded by the length, not a terminator. */
	assert_int_equal(rsp_parse_lldb((const uint8_t *)"qHostInfo", 5, &addr), RSP_LLDB_NONE);
}

static size_t suffix(const char *text, long *pid, long *tid)
{
	return rsp_thread_suffix((const uint8_t *)text, strlen(text), pid, tid);
}

static void test_thread_suffix(void **state)
{
	long pid = 7, tid = 7;

	assert_int_equal(suffix("p10;thread:0002;", &pid, &tid), 3);
	assert_int_equal(tid, 2);
	assert_int_equal(suffix("g;thread:1b", &pid, &tid), 1);
	assert_int_equal(tid, 0x1b);
	assert_int_equal(suffix("P0=0011;thread:p1.3;", &pid, &tid), 7);
	assert_int_equal(pid, 1);
	assert_int_equal(tid, 3);
}

static void test_thread_suffix_absent(void **state)
{
	static const char *const none[] = {
		"p10", "g", "p10;thread:", "p10;thread:zz;", "p10;thread:1;x",
		"p10;thread:1;;", "p10;thread;1;", "thread:1;",
	};
	long pid, tid;

	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		assert_int_equal(suffix(none[i], &pid, &tid), strlen(none[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lldb_queries),
		cmocka_unit_test(test_lldb_malformed),
		cmocka_unit_test(test_lldb_not_ours),
		cmocka_unit_test(test_thread_suffix),
		cmocka_unit_test(test_thread_suffix_absent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
