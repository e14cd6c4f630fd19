/* SPDX-License-Identifier: MIT */
/*
 * Robustness: hundreds of thousands of pseudo-random inputs (fixed seed,
 * so any failure reproduces) through rsp_decode and rsp_parse.  Most value
 * comes from running this under SANITIZE=1, where any read or write
 * outside the caller's buffers aborts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <kvmdbg/rsp.h>

#define DECODE_ITERATIONS 300000
#define PARSE_ITERATIONS 400000

/* xorshift64* */
static uint64_t prng(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* Half the bytes from the ones that drive the grammar, half anything. */
static uint8_t random_byte(uint64_t *seed, const char *alphabet, size_t n)
{
	uint64_t r = prng(seed);

	return r & 1 ? (uint8_t)(r >> 8) : (uint8_t)alphabet[(r >> 8) % n];
}

/* ---- rsp_decode ----------------------------------------------------------- */

#define MAX_EVENTS 64
#define DECODE_CAP 8

struct event {
	enum rsp_event ev;
	size_t len;
	uint8_t payload[DECODE_CAP];
};

struct trace {
	size_t n;
	struct event e[MAX_EVENTS];
};

static void record(struct trace *t, enum rsp_event ev, const uint8_t *p,
		   size_t len)
{
	struct event *e;

	assert_true(t->n < MAX_EVENTS);
	e = &t->e[t->n++];
	memset(e, 0, sizeof(*e));
	e->ev = ev;
	if (ev == RSP_EV_PACKET) {
		assert_true(len <= DECODE_CAP);
		e->len = len;
		memcpy(e->payload, p, len);
	}
}

/* Feeds in[0..n) in random-sized pieces, checking the call contract. */
static void decode_pieces(const uint8_t *in, size_t n, uint64_t *seed,
			  struct trace *t)
{
	uint8_t buf[DECODE_CAP];
	struct rsp_decoder d;

	rsp_decoder_init(&d, buf, sizeof(buf));
	t->n = 0;
	for (size_t off = 0; off < n;) {
		size_t piece = 1 + prng(seed) % (n - off);
		enum rsp_event ev;
		size_t used;

		used = rsp_decode(&d, in + off, piece, &ev);
		assert_true(used >= 1 && used <= piece);
		assert_true(d.len <= d.cap);
		if (ev == RSP_EV_NONE)
			assert_int_equal(used, piece);
		else
			record(t, ev, buf, d.len);
		off += used;
	}
}

static int hexval(uint8_t c)
{
	const char *digits = "0123456789abcdef0123456789ABCDEF";
	const char *p = c ? strchr(digits, c) : NULL;

	return p ? (int)(p - digits) % 16 : -1;
}

/*
 * The same stream judged as a whole rather than byte by byte: find each
 * '$', the first '#' or '$' after it, and the two digits that follow.
 */
static void decode_reference(const uint8_t *in, size_t n, struct trace *t)
{
	t->n = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1, len = 0;
		uint8_t out[DECODE_CAP], sum = 0;
		bool escape = false, overflow = false;
		int hi, lo;

		switch (in[i]) {
		case '+':
			record(t, RSP_EV_ACK, NULL, 0);
			i++;
			continue;
		case '-':
			record(t, RSP_EV_NACK, NULL, 0);
			i++;
			continue;
		case 0x03:
			record(t, RSP_EV_INTERRUPT, NULL, 0);
			i++;
			continue;
		case '$':
			break;
		default:
			i++;
			continue;
		}
		while (j < n && in[j] != '#' && in[j] != '$')
			j++;
		if (j + 2 >= n)
			return;	/* incomplete, or restarted by a '$' */
		if (in[j] == '$' || in[j + 1] == '$' || in[j + 2] == '$') {
			i = in[j] == '$' ? j : in[j + 1] == '$' ? j + 1 : j + 2;
			continue;
		}
		for (size_t k = i + 1; k < j; k++) {
			uint8_t c = in[k];

			sum += c;
			if (!escape && c == '}') {
				escape = true;
				continue;
			}
			if (escape)
				c ^= 0x20;
			escape = false;
			if (len < DECODE_CAP)
				out[len++] = c;
			else
				overflow = true;
		}
		hi = hexval(in[j + 1]);
		lo = hexval(in[j + 2]);
		if (hi < 0 || lo < 0 || (hi << 4 | lo) != sum || escape)
			record(t, RSP_EV_BAD_CHECKSUM, NULL, 0);
		else if (overflow)
			record(t, RSP_EV_OVERSIZE, NULL, 0);
		else
			record(t, RSP_EV_PACKET, out, len);
		i = j + 3;
	}
}

static void assert_same_trace(const struct trace *a, const struct trace *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		assert_int_equal(a->e[i].ev, b->e[i].ev);
		assert_int_equal(a->e[i].len, b->e[i].len);
		assert_memory_equal(a->e[i].payload, b->e[i].payload,
				    a->e[i].len);
	}
}

/*
 * Random strings, sometimes with a correct checksum patched in so that
 * good packets are common too.
 */
static size_t random_stream(uint64_t *seed, uint8_t *in, size_t cap)
{
	static const char alphabet[] = "$$##}}+-\x03" "0123456789abcdefA";
	size_t n = prng(seed) % cap;

	for (size_t i = 0; i < n; i++)
		in[i] = random_byte(seed, alphabet, sizeof(alphabet) - 1);
	for (size_t i = 0; i + 3 <= n; i++) {
		size_t k = i;
		uint8_t sum = 0;

		if (in[i] != '#' || prng(seed) % 2)
			continue;
		while (k > 0 && in[k - 1] != '$')
			sum += in[--k];
		if (k == 0)
			continue;
		in[i + 1] = (uint8_t)"0123456789abcdef"[sum >> 4];
		in[i + 2] = (uint8_t)"0123456789abcdef"[sum & 15];
	}
	return n;
}

static void test_decode_random(void **state)
{
	uint64_t seed = 0x5eed0001;
	unsigned seen[RSP_EV_INTERRUPT + 1] = { 0 };

	for (int iter = 0; iter < DECODE_ITERATIONS; iter++) {
		uint8_t in[48];
		size_t n = random_stream(&seed, in, sizeof(in));
		struct trace ref, got;

		decode_reference(in, n, &ref);
		decode_pieces(in, n, &seed, &got);
		assert_same_trace(&got, &ref);
		for (size_t i = 0; i < got.n; i++)
			seen[got.e[i].ev]++;
	}
	/* The generator must exercise every outcome, or this proves little. */
	for (int ev = RSP_EV_PACKET; ev <= RSP_EV_INTERRUPT; ev++)
		assert_true(seen[ev] > 1000);
}

/* Whatever precedes it, a well-formed packet is always recognised. */
static void test_decode_resyncs_after_garbage(void **state)
{
	uint64_t seed = 0x5eed0002;

	for (int iter = 0; iter < DECODE_ITERATIONS / 10; iter++) {
		uint8_t in[64], payload[DECODE_CAP];
		size_t n = random_stream(&seed, in, 40);
		size_t plen = prng(&seed) % (DECODE_CAP + 1);
		size_t framed;
		struct trace got;

		for (size_t i = 0; i < plen; i++)
			payload[i] = (uint8_t)prng(&seed);
		framed = rsp_encode_packet(payload, plen, false, in + n,
					   sizeof(in) - n);
		assert_true(framed > 0);
		decode_pieces(in, n + framed, &seed, &got);
		assert_true(got.n >= 1);
		assert_int_equal(got.e[got.n - 1].ev, RSP_EV_PACKET);
		assert_int_equal(got.e[got.n - 1].len, plen);
		assert_memory_equal(got.e[got.n - 1].payload, payload, plen);
	}
}

/* ---- rsp_parse ------------------------------------------------------------ */

static const char *const prefixes[] = {
	"", "?", "g", "G", "p", "P", "m", "M", "x", "X", "c", "s", "C", "S", "Z",
	"z", "k", "D", "D;", "H", "Hg", "Hc", "T", "Tp", "vCont", "vCont;",
	"vCont?", "vKill;", "vFile:", "qSupported", "qSupported:",
	"QStartNoAckMode", "qAttached", "qAttached:", "qC", "qfThreadInfo",
	"qsThreadInfo", "qThreadExtraInfo,", "qXfer:", "qXfer:features:read:",
	"qRcmd,", "QNonStop:", "vStopped", "vCtrlC", "q", "Q", "v",
};

static bool all_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (hexval(p[i]) < 0)
			return false;
	return true;
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void check_cmd(const uint8_t *payload, size_t len,
		      const struct rsp_cmd *c)
{
	assert_true(c->kind >= RSP_CMD_UNKNOWN && c->kind <= RSP_CMD_LAST);
	if (c->data) {
		assert_true(c->data >= payload);
		assert_true(c->data_len <= len);
		assert_true(c->data + c->data_len <= payload + len);
	} else {
		assert_int_equal(c->data_len, 0);
	}
	assert_non_null(memchr(c->object, '\0', sizeof(c->object)));
	assert_non_null(memchr(c->annex, '\0', sizeof(c->annex)));
	assert_true(c->n_actions <= RSP_VCONT_MAX);
	if (c->kind != RSP_CMD_VCONT)
		assert_int_equal(c->n_actions, 0);

	switch (c->kind) {
	case RSP_CMD_UNKNOWN:
	case RSP_CMD_MALFORMED:
		assert_true(all_zero((const uint8_t *)c + sizeof(c->kind),
				     sizeof(*c) - sizeof(c->kind)));
		break;
	case RSP_CMD_WRITE_REGS:
	case RSP_CMD_WRITE_REG:
		assert_true(c->data_len > 0 && c->data_len % 2 == 0);
		assert_true(all_hex(c->data, c->data_len));
		break;
	case RSP_CMD_WRITE_MEM:
		assert_int_equal(c->data_len, 2 * c->len);
		assert_true(all_hex(c->data, c->data_len));
		break;
	case RSP_CMD_WRITE_MEM_BIN:
		assert_int_equal(c->data_len, c->len);
		assert_ptr_equal(c->data + c->data_len, payload + len);
		break;
	case RSP_CMD_INSERT_BP:
	case RSP_CMD_REMOVE_BP:
		assert_true(c->bp_type <= 4);
		break;
	case RSP_CMD_SET_THREAD:
		assert_true(c->hop == 'g' || c->hop == 'c');
		/* fall through */
	case RSP_CMD_THREAD_ALIVE:
	case RSP_CMD_QTHREAD_EXTRA:
		assert_true(c->thread >= RSP_TID_ALL);
		break;
	case RSP_CMD_VCONT:
		assert_true(c->n_actions >= 1);
		for (size_t i = 0; i < c->n_actions; i++) {
			assert_non_null(memchr("csCStr", c->actions[i].action,
					       6));
			assert_true(c->actions[i].thread >= RSP_TID_ALL);
		}
		break;
	case RSP_CMD_QXFER_READ:
		assert_true(c->object[0] != '\0');
		break;
	case RSP_CMD_QRCMD:
		assert_true(c->data_len % 2 == 0);
		assert_true(all_hex(c->data, c->data_len));
		break;
	default:
		break;
	}
}

/* One valid command of every kind, to mutate. */
static const char *const corpus[] = {
	"?", "g", "G00112233", "p10", "P10=0011", "m1000,4", "M1000,2:abcd",
	"X1000,3:}#$", "c", "c1000", "C05;1000", "s", "S0b", "vCont?",
	"vCont;c:1;s:p1.2;r1000,2000:-1;C05", "Z0,1000,1", "z2,1000,4;X2,0a",
	"k", "vKill;1", "D", "D;1", "Hg1", "Hc-1", "T1", "qSupported:x+;y-",
	"QStartNoAckMode", "qAttached:1", "qC", "qfThreadInfo",
	"qsThreadInfo", "qThreadExtraInfo,1", "qXfer:features:read:a.xml:0,f",
	"qRcmd,6869", "vMustReplyEmpty",
};

/* Replaces, inserts or deletes a few bytes, or cuts the command short. */
static size_t mutated_command(uint64_t *seed, uint8_t *out, size_t cap)
{
	const char *base =
		corpus[prng(seed) % (sizeof(corpus) / sizeof(corpus[0]))];
	size_t n = strlen(base);

	memcpy(out, base, n);
	for (size_t m = prng(seed) % 4; m; m--) {
		size_t at = n ? prng(seed) % n : 0;
		uint8_t c = (uint8_t)prng(seed);

		switch (prng(seed) % 4) {
		case 0:
			if (n)
				out[at] = c;
			break;
		case 1:
			if (n < cap) {
				memmove(out + at + 1, out + at, n - at);
				out[at] = c;
				n++;
			}
			break;
		case 2:
			if (n) {
				memmove(out + at, out + at + 1, n - at - 1);
				n--;
			}
			break;
		default:
			n = at;
			break;
		}
	}
	return n;
}

static size_t random_command(uint64_t *seed, uint8_t *out, size_t cap)
{
	static const char grammar[] = "0123456789abcdefABCDEF,,::;;=.-1p?x\0}#";
	/* Mostly well-formed arguments, to get past the first error. */
	static const char hexish[] = "0123456789abcdef0123456789abcdef,:;=";
	const char *prefix =
		prefixes[prng(seed) % (sizeof(prefixes) / sizeof(prefixes[0]))];
	bool well_formed = prng(seed) % 2;
	size_t n = strlen(prefix);
	size_t tail = prng(seed) % 48;

	memcpy(out, prefix, n);
	for (size_t i = 0; i < tail && n < cap; i++) {
		/* Long digit strings to reach the overflow checks. */
		if (prng(seed) % 64 == 0) {
			for (size_t k = prng(seed) % 20; k && n < cap; k--)
				out[n++] = "0f"[prng(seed) % 2];
		} else if (well_formed) {
			out[n++] = (uint8_t)hexish[prng(seed) %
						   (sizeof(hexish) - 1)];
		} else {
			out[n++] = random_byte(seed, grammar,
					       sizeof(grammar) - 1);
		}
	}
	return n;
}

static void test_parse_random(void **state)
{
	static struct rsp_cmd first, again;
	uint64_t seed = 0x5eed0003;
	unsigned seen[RSP_CMD_LAST + 1] = { 0 };

	for (int iter = 0; iter < PARSE_ITERATIONS; iter++) {
		uint8_t tmp[128];
		size_t n = iter % 3 ? random_command(&seed, tmp, sizeof(tmp)) :
			   mutated_command(&seed, tmp, sizeof(tmp));
		/* Exactly n bytes, so an overread hits the heap redzone. */
		uint8_t *payload = malloc(n ? n : 1);

		assert_non_null(payload);
		memcpy(payload, tmp, n);
		rsp_parse(payload, n, &first);
		check_cmd(payload, n, &first);
		rsp_parse(payload, n, &again);
		assert_memory_equal(&first, &again, sizeof(first));
		seen[first.kind]++;
		free(payload);
	}
	for (int k = RSP_CMD_UNKNOWN; k <= RSP_CMD_LAST; k++)
		if (seen[k] == 0)
			fail_msg("command kind %d never produced", k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_random),
		cmocka_unit_test(test_decode_resyncs_after_garbage),
		cmocka_unit_test(test_parse_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
