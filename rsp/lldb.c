/* SPDX-License-Identifier: MIT */
/*
 * The packets LLDB adds to the protocol (lldb's docs/lldb-gdb-remote.txt):
 * queries about the host, the process, watchpoints, memory regions and
 * threads, and the ";thread:TID;" suffix it puts on register packets once
 * the stub has accepted QThreadSuffixSupported.
 */
#include <string.h>

#include <kvmdbg/rsp.h>

#include "scan.h"

struct lldb_packet {
	const char *name;
	enum rsp_lldb_kind kind;
	bool colon;		/* a ':' may follow the name ... */
	bool addr;		/* ... and then a hex address must */
};

static const struct lldb_packet lldb_packets[] = {
	{ "qHostInfo", RSP_LLDB_HOST_INFO, false, false },
	{ "qProcessInfo", RSP_LLDB_PROCESS_INFO, false, false },
	{ "qWatchpointSupportInfo", RSP_LLDB_WATCH_INFO, true, false },
	{ "qMemoryRegionInfo", RSP_LLDB_REGION_INFO, true, true },
	{ "jThreadsInfo", RSP_LLDB_THREADS_INFO, false, false },
	{ "QThreadSuffixSupported", RSP_LLDB_THREAD_SUFFIX, false, false },
	{ "QListThreadsInStopReply", RSP_LLDB_LIST_THREADS, false, false },
};

enum rsp_lldb_kind rsp_parse_lldb(const uint8_t *payload, size_t len, uint64_t *addr)
{
	struct rsp_scan s = { .p = payload, .n = len };
	size_t n = rsp_scan_span(&s, ":");

	*addr = 0;
	for (size_t i = 0; i < sizeof(lldb_packets) / sizeof(lldb_packets[0]); i++) {
		const struct lldb_packet *lp = &lldb_packets[i];

		if (strlen(lp->name) != n || memcmp(lp->name, payload, n))
			continue;
		rsp_scan_skip(&s, n);
		if (rsp_scan_end(&s) && !lp->addr)
			return lp->kind;
		if (!lp->colon || !rsp_scan_char(&s, ':'))
			return RSP_LLDB_MALFORMED;
		if (!lp->addr)
			return rsp_scan_end(&s) ? lp->kind : RSP_LLDB_MALFORMED;
		if (!rsp_scan_hex_u64(&s, addr) || !rsp_scan_end(&s)) {
			*addr = 0;
			return RSP_LLDB_MALFORMED;
		}
		return lp->kind;
	}
	return RSP_LLDB_NONE;
}

size_t rsp_thread_suffix(const uint8_t *payload, size_t len, long *pid, long *tid)
{
	static const char key[] = ";thread:";
	const size_t klen = sizeof(key) - 1;
	struct rsp_scan s;

	for (size_t at = len; at-- > 0;) {
		if (payload[at] != ';' || len - at < klen || memcmp(payload + at, key, klen))
			continue;
		s = (struct rsp_scan){ .p = payload + at + klen, .n = len - at - klen };
		if (!rsp_scan_tid(&s, pid, tid))
			return len;
		rsp_scan_char(&s, ';');
		return rsp_scan_end(&s) ? at : len;
	}
	return len;
}
