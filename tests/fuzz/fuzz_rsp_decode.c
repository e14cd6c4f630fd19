/* SPDX-License-Identifier: MIT */
/*
 * Framing: any byte stream through rsp_decode.  The first input byte picks
 * the payload buffer's size, the rest is the stream.  Checked: the decoder
 * stays inside its buffer; feeding the stream one byte at a time gives the
 * same events and payloads as feeding it whole; and every payload it
 * delivers, framed again by rsp_encode_packet, decodes back to itself:
 * by rsp_rle_decode with and without run-length encoding, by rsp_decode
 * without.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kvmdbg/rsp.h>

#include "fuzz_check.h"

#define MAX_CAP 512
/* Worst case: every byte escaped, plus "$", "#" and two digits. */
#define FRAMED_CAP (2 * MAX_CAP + 4)

struct event {
	enum rsp_event ev;
	size_t len;
	uint8_t payload[MAX_CAP];
};

/* Frames payload, then checks both decoders give it back. */
static void round_trip(const uint8_t *payload, size_t len, bool rle)
{
	static uint8_t framed[FRAMED_CAP], back[MAX_CAP];
	struct rsp_decoder d;
	enum rsp_event ev;
	size_t n, used;
	long body;

	n = rsp_encode_packet(payload, len, rle, framed, sizeof(framed));
	FUZZ_CHECK(n >= 4 && framed[0] == '$' && framed[n - 3] == '#');
	for (size_t i = 1; i < n - 3; i++)
		FUZZ_CHECK(framed[i] != '$' && framed[i] != '#');
	body = rsp_rle_decode(framed + 1, n - 4, back, sizeof(back));
	FUZZ_CHECK(body == (long)len && !memcmp(back, payload, len));
	/* rsp_decode leaves runs alone: gdb never sends them. */
	if (rle)
		return;
	rsp_decoder_init(&d, back, sizeof(back));
	used = rsp_decode(&d, framed, n, &ev);
	FUZZ_CHECK(used == n && ev == RSP_EV_PACKET);
	FUZZ_CHECK(d.len == len && !memcmp(d.buf, payload, len));
}

/* Decodes in[0..n) in steps of at most `step` bytes; returns the events. */
static size_t decode_all(const uint8_t *in, size_t n, size_t cap, size_t step,
			 struct event *out, size_t max)
{
	uint8_t *buf = malloc(cap);	/* exactly cap: ASan sees any overrun */
	struct rsp_decoder d;
	size_t off = 0, count = 0;

	FUZZ_CHECK(buf);
	rsp_decoder_init(&d, buf, cap);
	while (off < n) {
		size_t avail = n - off < step ? n - off : step;
		enum rsp_event ev;
		size_t used = rsp_decode(&d, in + off, avail, &ev);

		FUZZ_CHECK(used <= avail);
		FUZZ_CHECK(used > 0 || ev != RSP_EV_NONE);
		off += used;
		if (ev == RSP_EV_NONE)
			continue;
		FUZZ_CHECK(count < max);
		out[count] = (struct event){ .ev = ev };
		if (ev == RSP_EV_PACKET) {
			FUZZ_CHECK(d.len <= cap);
			out[count].len = d.len;
			memcpy(out[count].payload, d.buf, d.len);
		}
		count++;
	}
	free(buf);
	return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct event whole[4096], bytewise[4096];
	size_t cap, n1, n2;

	if (size < 1 || size > 4096)
		return 0;
	cap = 1 + data[0] % MAX_CAP;
	n1 = decode_all(data + 1, size - 1, cap, size, whole, 4096);
	n2 = decode_all(data + 1, size - 1, cap, 1, bytewise, 4096);
	FUZZ_CHECK(n1 == n2);
	for (size_t i = 0; i < n1; i++) {
		FUZZ_CHECK(whole[i].ev == bytewise[i].ev && whole[i].len == bytewise[i].len);
		FUZZ_CHECK(!memcmp(whole[i].payload, bytewise[i].payload, whole[i].len));
		if (whole[i].ev == RSP_EV_PACKET) {
			round_trip(whole[i].payload, whole[i].len, false);
			round_trip(whole[i].payload, whole[i].len, true);
		}
	}
	return 0;
}
