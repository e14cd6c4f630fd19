/* SPDX-License-Identifier: MIT */
/* Hex digit conversion shared by the codec's translation units. */
#ifndef RSP_HEXDIGIT_H
#define RSP_HEXDIGIT_H

#include <stdint.h>

/* Value of a hex digit, or -1.  Locale-independent, unlike isxdigit(). */
static inline int rsp_hex_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static inline char rsp_hex_digit(unsigned v)
{
	return "0123456789abcdef"[v & 0xf];
}

#endif
