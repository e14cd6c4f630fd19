/* SPDX-License-Identifier: MIT */
/*
 * GDB Remote Serial Protocol codec: framing, checksums, escapes, run-length
 * encoding, packet parsing and reply formatting.  Pure functions over caller
 * buffers: no I/O, no allocation, no KVM, no global state.
 */
#ifndef KVMDBG_RSP_H
#define KVMDBG_RSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Framing ------------------------------------------------------------ */

enum rsp_event {
	RSP_EV_NONE,		/* input consumed, nothing complete yet */
	RSP_EV_PACKET,		/* a packet with a good checksum: d->payload */
	RSP_EV_BAD_CHECKSUM,	/* complete packet, checksum mismatch: send '-' */
	RSP_EV_OVERSIZE,	/* complete packet that did not fit: reply error */
	RSP_EV_ACK,		/* '+' */
	RSP_EV_NACK,		/* '-' : resend the last reply */
	RSP_EV_INTERRUPT,	/* 0x03 outside a packet (Ctrl-C) */
};

struct rsp_decoder {
	uint8_t *buf;		/* caller storage for the unescaped payload */
	size_t cap;
	size_t len;		/* payload length after RSP_EV_PACKET */
	int state;		/* private */
	uint8_t sum;		/* private: running checksum */
	uint8_t want;		/* private: first checksum digit received */
	bool escape;		/* private: previous byte was '}' */
	bool overflow;		/* private: payload exceeded cap */
};

void rsp_decoder_init(struct rsp_decoder *d, uint8_t *buf, size_t cap);

/*
 * Consumes bytes from in[0..n) until one event completes or the input is
 * exhausted; returns the number of bytes consumed and stores the event.  The
 * payload (escapes '}' already undone, NOT run-length decoded; gdb never
 * sends run-length data) is d->buf[0..d->len) and stays valid until the
 * next call.  Bytes between packets other than '+', '-', 0x03 are skipped.
 * A '$' anywhere inside a packet, checksum digits included, silently
 * restarts it.  A packet whose checksum digits are wrong or not hex, or
 * whose payload ends in a lone '}', is RSP_EV_BAD_CHECKSUM, even when it
 * also exceeded cap.  d->len <= cap always.
 */
size_t rsp_decode(struct rsp_decoder *d, const uint8_t *in, size_t n,
		  enum rsp_event *ev);

/*
 * Frames payload as "$<data>#<2 hex checksum>" into out.  '#', '$', '}' and
 * '*' are escaped; with rle, runs of 4 or more equal bytes are run-length
 * encoded (never producing '#', '$', '+', '-' or '}' as the count character;
 * escaped bytes are never part of a run).
 * Returns the framed length, or 0 when it does not fit in cap.
 */
size_t rsp_encode_packet(const void *payload, size_t len, bool rle,
			 uint8_t *out, size_t cap);

/*
 * Frames an asynchronous notification "%<name>:<data>#<2 hex checksum>"
 * (non-stop mode's "Stop"): escaped as rsp_encode_packet does, without
 * run-length encoding.  Returns the framed length, or 0 when it does not
 * fit in cap.
 */
size_t rsp_encode_notification(const char *name, const void *payload, size_t len,
			       uint8_t *out, size_t cap);

/*
 * Frames the hex text of bytes[0..n) (two lowercase digits a byte) with
 * run-length encoding: the same packet, byte for byte, as
 * rsp_encode_packet() of that text with rle, built without the text.
 * Returns the framed length, or 0 when it does not fit in cap.
 */
size_t rsp_encode_hex_packet(const void *bytes, size_t n, uint8_t *out, size_t cap);

/*
 * Decodes a packet body as transmitted (the bytes between '$' and '#'):
 * expands run-length encoding ("X*N") and undoes '}' escapes, in that order
 * as gdb does, so an escaped '*' is data rather than a run marker.  Hence
 * the input is the raw body, not rsp_decode's payload, in which escapes are
 * already undone.  Returns the decoded length, or -1 for malformed input
 * or when out is too small.
 * The stub's peers never send run-length data; this is for clients of the
 * codec that read replies (tools, tests).
 */
long rsp_rle_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap);

uint8_t rsp_checksum(const void *data, size_t len);

/* ---- Hex helpers ---------------------------------------------------------- */

/*
 * Decodes hexlen hex digits (upper or lower case) into out.  Returns the
 * number of bytes written, or -1 for an odd length, a non-hex digit, or when
 * the result does not fit in cap.
 */
long rsp_hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t cap);
/* Writes 2*n lowercase hex digits (no terminator); returns 2*n. */
size_t rsp_hex_encode(const void *in, size_t n, char *out);

/* ---- Reply builder -------------------------------------------------------- */

/* Bounded text builder; once it overflows it stays overflowed. */
struct rsp_buf {
	char *data;
	size_t len;
	size_t cap;
	bool overflow;
};

void rsp_buf_init(struct rsp_buf *b, char *mem, size_t cap);
void rsp_put_str(struct rsp_buf *b, const char *s);
void rsp_put_mem(struct rsp_buf *b, const void *p, size_t n);
void rsp_put_hex_u64(struct rsp_buf *b, uint64_t v);	/* minimal digits */
void rsp_put_hex_bytes(struct rsp_buf *b, const void *p, size_t n);
void rsp_put_error(struct rsp_buf *b, uint8_t errnum);	/* "Exx" */

/* ---- Threads -------------------------------------------------------------- */

/*
 * gdb thread-id: RSP_TID_ALL is "-1", RSP_TID_ANY is "0".  A process id
 * ("pPID.TID") is kept beside the thread; an id without one has
 * RSP_TID_ANY there.
 */
#define RSP_TID_ALL (-1)
#define RSP_TID_ANY 0

/* ---- Stop replies --------------------------------------------------------- */

enum rsp_stop_reason {
	RSP_REASON_NONE,
	RSP_REASON_SWBREAK,
	RSP_REASON_HWBREAK,
	RSP_REASON_WATCH,
	RSP_REASON_RWATCH,
	RSP_REASON_AWATCH,
};

#define RSP_MAX_EXPEDITED 4

struct rsp_expedited {
	unsigned regno;
	const void *val;	/* target byte order, as in 'g' */
	size_t len;
};

struct rsp_stop {
	bool exited;		/* 'W' reply */
	uint8_t code;		/* signal for 'T', exit status for 'W' */
	enum rsp_stop_reason reason;
	uint64_t watch_addr;	/* for watch/rwatch/awatch */
	long thread;		/* > 0: "thread:<hex>;" is emitted */
	size_t n_expedited;
	struct rsp_expedited expedited[RSP_MAX_EXPEDITED];
};

/*
 * "T05thread:1;swbreak:;10:...;" or "W00".  At most RSP_MAX_EXPEDITED
 * registers are emitted whatever n_expedited says.
 */
void rsp_put_stop(struct rsp_buf *b, const struct rsp_stop *s);

/* ---- Command parsing ------------------------------------------------------ */

enum rsp_cmd_kind {
	RSP_CMD_UNKNOWN,	/* reply with an empty packet */
	RSP_CMD_MALFORMED,	/* recognised command, bad arguments: reply E */
	RSP_CMD_HALT_REASON,	/* ? */
	RSP_CMD_READ_REGS,	/* g */
	RSP_CMD_WRITE_REGS,	/* G hex -> data/data_len (hex text) */
	RSP_CMD_READ_REG,	/* p n -> regno */
	RSP_CMD_WRITE_REG,	/* P n=hex -> regno, data/data_len (hex text) */
	RSP_CMD_READ_MEM,	/* m addr,len */
	RSP_CMD_WRITE_MEM,	/* M addr,len:hex -> data (hex text) */
	RSP_CMD_WRITE_MEM_BIN,	/* X addr,len:bin -> data (binary, len bytes) */
	RSP_CMD_READ_MEM_BIN,	/* x addr,len: reply "b" and the bytes */
	RSP_CMD_CONTINUE,	/* c [addr], C sig[;addr] */
	RSP_CMD_STEP,		/* s [addr], S sig[;addr] */
	RSP_CMD_VCONT_QUERY,	/* vCont? */
	RSP_CMD_VCONT,		/* vCont;... -> actions */
	RSP_CMD_INSERT_BP,	/* Z type,addr,kind */
	RSP_CMD_REMOVE_BP,	/* z type,addr,kind */
	RSP_CMD_KILL,		/* k, vKill */
	RSP_CMD_DETACH,		/* D, D;pid */
	RSP_CMD_SET_THREAD,	/* H op tid -> hop, thread */
	RSP_CMD_THREAD_ALIVE,	/* T tid -> thread */
	RSP_CMD_QSUPPORTED,	/* qSupported[:features] -> data (features) */
	RSP_CMD_START_NOACK,	/* QStartNoAckMode */
	RSP_CMD_QATTACHED,	/* qAttached[:pid] */
	RSP_CMD_QC,		/* qC */
	RSP_CMD_QFTHREADINFO,	/* qfThreadInfo */
	RSP_CMD_QSTHREADINFO,	/* qsThreadInfo */
	RSP_CMD_QTHREAD_EXTRA,	/* qThreadExtraInfo,tid -> thread */
	RSP_CMD_QXFER_READ,	/* qXfer:object:read:annex:off,len */
	RSP_CMD_QRCMD,		/* qRcmd,hex -> data (hex text) */
	RSP_CMD_QNONSTOP,	/* QNonStop:0|1 -> non_stop */
	RSP_CMD_VSTOPPED,	/* vStopped */
	RSP_CMD_VCTRLC,		/* vCtrlC */
	RSP_CMD_LAST = RSP_CMD_VCTRLC
};

#define RSP_VCONT_MAX 128
/* Conditions, and commands, one Z packet may carry. */
#define RSP_BP_EXPR_MAX 32

/* An agent expression of a Z packet: len bytes as 2 * len hex digits. */
struct rsp_agent_expr {
	const uint8_t *hex;	/* points into the payload */
	size_t len;
};

struct rsp_vcont_action {
	char action;		/* 'c', 's', 'C', 'S', 't', 'r' */
	uint8_t signal;		/* for C and S */
	long thread;		/* RSP_TID_ALL when the action has no ":tid" */
	long pid;		/* of ":pPID.TID"; RSP_TID_ANY without */
	uint64_t range_start;	/* for 'r' */
	uint64_t range_end;
};

struct rsp_cmd {
	enum rsp_cmd_kind kind;
	uint64_t addr;		/* m M x X Z z; resume address for c/s */
	uint64_t len;		/* m M x X; qXfer length */
	uint64_t offset;	/* qXfer offset */
	unsigned regno;		/* p P */
	unsigned bp_type;	/* Z z: 0..4 */
	uint64_t bp_kind;	/* Z z */
	bool has_addr;		/* c/s/C/S carried an address */
	bool has_signal;	/* C/S */
	bool non_stop;		/* QNonStop */
	uint8_t signal;
	char hop;		/* H: 'g' or 'c' */
	long thread;		/* H T qThreadExtraInfo */
	long pid;		/* ... their "pPID.TID" process, or RSP_TID_ANY */
	const uint8_t *data;	/* points into the payload */
	size_t data_len;
	char object[32];	/* qXfer object, e.g. "features" */
	char annex[64];		/* qXfer annex, e.g. "target.xml" */
	size_t n_actions;
	struct rsp_vcont_action actions[RSP_VCONT_MAX];
	/* Z: ";X len,expr..." conditions and ";cmds:persist,X len,expr..."
	 * commands, in the order sent (gdb writes a list's expressions
	 * back to back; ';' between them is accepted too). */
	size_t n_conds;
	struct rsp_agent_expr conds[RSP_BP_EXPR_MAX];
	size_t n_cmds;
	struct rsp_agent_expr cmds[RSP_BP_EXPR_MAX];
	bool cmds_persist;
};

/*
 * Classifies and parses one payload.  Never reads beyond payload[len).
 * Fields a command does not use are zero; for RSP_CMD_UNKNOWN and
 * RSP_CMD_MALFORMED all of them are.
 */
void rsp_parse(const uint8_t *payload, size_t len, struct rsp_cmd *cmd);

/* ---- LLDB's packets --------------------------------------------------------- */

enum rsp_lldb_kind {
	RSP_LLDB_NONE,		/* not one of these: see rsp_parse */
	RSP_LLDB_MALFORMED,	/* one of them with bad arguments: reply E */
	RSP_LLDB_HOST_INFO,	/* qHostInfo */
	RSP_LLDB_PROCESS_INFO,	/* qProcessInfo */
	RSP_LLDB_WATCH_INFO,	/* qWatchpointSupportInfo[:] */
	RSP_LLDB_REGION_INFO,	/* qMemoryRegionInfo:addr -> *addr */
	RSP_LLDB_THREADS_INFO,	/* jThreadsInfo */
	RSP_LLDB_THREAD_SUFFIX,	/* QThreadSuffixSupported */
	RSP_LLDB_LIST_THREADS,	/* QListThreadsInStopReply */
};

/* Classifies one payload as an LLDB query; *addr for qMemoryRegionInfo. */
enum rsp_lldb_kind rsp_parse_lldb(const uint8_t *payload, size_t len, uint64_t *addr);

/*
 * The length of payload without a trailing ";thread:TID" or
 * ";thread:TID;" (TID as in H packets), storing the id; len when there
 * is none.
 */
size_t rsp_thread_suffix(const uint8_t *payload, size_t len, long *pid, long *tid);

#endif
