/* SPDX-License-Identifier: MIT */
/* Hex text <-> bytes. */
#include <limits.h>

#include <kvmdbg/rsp.h>

#include "hexdigit.h"

long rsp_hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t cap)
{
	size_t n = hexlen / 2;

	if (hexlen % 2 || n > cap || n > LONG_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = rsp_hex_value((uint8_t)hex[2 * i]);
		int lo = rsp_hex_value((uint8_t)hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)n;
}

size_t rsp_hex_encode(const void *in, size_t n, char *out)
{
	const uint8_t *p = in;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = rsp_hex_digit(p[i] >> 4);
		out[2 * i + 1] = rsp_hex_digit(p[i]);
	}
	return 2 * n;
}
