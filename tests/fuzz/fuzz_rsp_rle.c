/* SPDX-License-Identifier: MIT */
/*
 * Run-length encoding, both ways.  The input is taken as a packet body
 * for rsp_rle_decode (into a buffer of a size the first byte picks) and as
 * a payload for rsp_encode_packet.  Checked: decoding stays inside its
 * buffer and agrees with a decoding into a large one; every framed
 * packet carries its own checksum, no bare '$' or '#', and no run count
 * gdb could mistake; and it decodes back to the payload.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kvmdbg/rsp.h>

#include "fuzz_check.h"

#define MAX_IN 4096
/* A run count expands to at most 97 bytes per 2 input bytes. */
#define BIG_OUT (MAX_IN * 49)

static void decode_body(const uint8_t *in, size_t n, size_t cap)
{
	static uint8_t big[BIG_OUT];
	uint8_t *small = malloc(cap ? cap : 1);	/* exactly cap: ASan sees overruns */
	long all, part;

	FUZZ_CHECK(small);
	all = rsp_rle_decode(in, n, big, sizeof(big));
	part = rsp_rle_decode(in, n, small, cap);
	FUZZ_CHECK(all >= -1 && all <= (long)sizeof(big));
	if (all >= 0 && (size_t)all <= cap)
		FUZZ_CHECK(part == all && !memcmp(small, big, (size_t)all));
	else
		FUZZ_CHECK(part == -1);
	free(small);
}

static void encode_payload(const uint8_t *payload, size_t n)
{
	static uint8_t framed[2 * MAX_IN + 4], back[MAX_IN];
	size_t len = rsp_encode_packet(payload, n, true, framed, sizeof(framed));
	size_t body = len - 4;
	unsigned sum;

	FUZZ_CHECK(len >= 4 && framed[0] == '$' && framed[len - 3] == '#');
	sum = rsp_checksum(framed + 1, body);
	FUZZ_CHECK(rsp_hex_decode((const char *)framed + len - 2, 2, back, 1) == 1 &&
		   back[0] == sum);
	for (size_t i = 1; i <= body; i++) {
		FUZZ_CHECK(framed[i] != '$' && framed[i] != '#');
		/* A count character is printable and never one gdb treats
		 * specially. */
		if (framed[i] == '*') {
			uint8_t c = framed[i + 1];

			FUZZ_CHECK(i < body && c >= ' ' && c <= '~');
			FUZZ_CHECK(c != '#' && c != '$' && c != '+' && c != '-' && c != '}');
			i++;
		}
	}
	FUZZ_CHECK(rsp_rle_decode(framed + 1, body, back, sizeof(back)) == (long)n);
	FUZZ_CHECK(!memcmp(back, payload, n));
	/* Too small by one byte: refused, never truncated. */
	FUZZ_CHECK(rsp_encode_packet(payload, n, true, framed, len - 1) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > MAX_IN)
		return 0;
	decode_body(data + 1, size - 1, data[0]);
	encode_payload(data, size);
	return 0;
}
