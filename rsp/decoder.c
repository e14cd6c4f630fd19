/* SPDX-License-Identifier: MIT */
/* Incremental packet framing for bytes arriving from the debugger. */
#include <kvmdbg/rsp.h>

#include "hexdigit.h"

enum {
	ST_IDLE,	/* between packets */
	ST_DATA,	/* after '$' */
	ST_SUM_HI,	/* after '#' */
	ST_SUM_LO,	/* first checksum digit was hex; d->want holds it */
	ST_SUM_LO_BAD,	/* first checksum digit was not hex */
};

void rsp_decoder_init(struct rsp_decoder *d, uint8_t *buf, size_t cap)
{
	*d = (struct rsp_decoder){ .buf = buf, .cap = cap, .state = ST_IDLE };
}

static void start_packet(struct rsp_decoder *d)
{
	d->state = ST_DATA;
	d->len = 0;
	d->sum = 0;
	d->escape = false;
	d->overflow = false;
}

static void store(struct rsp_decoder *d, uint8_t c)
{
	if (d->len < d->cap)
		d->buf[d->len++] = c;
	else
		d->overflow = true;
}

static enum rsp_event finish(struct rsp_decoder *d, bool sum_ok)
{
	d->state = ST_IDLE;
	/*
	 * A '}' right before '#' escapes nothing: the payload cannot be
	 * reconstructed, so ask for it again like any corrupt packet.  A
	 * corrupt packet is not judged for size: its length may be garbage.
	 */
	if (!sum_ok || d->escape)
		return RSP_EV_BAD_CHECKSUM;
	return d->overflow ? RSP_EV_OVERSIZE : RSP_EV_PACKET;
}

static enum rsp_event idle_byte(uint8_t c)
{
	switch (c) {
	case '+':
		return RSP_EV_ACK;
	case '-':
		return RSP_EV_NACK;
	case 0x03:
		return RSP_EV_INTERRUPT;
	default:
		return RSP_EV_NONE;
	}
}

static enum rsp_event data_byte(struct rsp_decoder *d, uint8_t c)
{
	if (c == '#') {
		d->state = ST_SUM_HI;
		return RSP_EV_NONE;
	}
	d->sum += c;
	if (d->escape) {
		d->escape = false;
		store(d, c ^ 0x20);
	} else if (c == '}') {
		d->escape = true;
	} else {
		store(d, c);
	}
	return RSP_EV_NONE;
}

static enum rsp_event step(struct rsp_decoder *d, uint8_t c)
{
	int v;

	/*
	 * A sender never puts a raw '$' inside a packet, checksum included,
	 * so one always begins a new packet.  Restarting (instead of treating
	 * it as data or as a bad checksum digit) means a packet truncated by
	 * a lost byte never swallows the start of its successor.
	 */
	if (c == '$') {
		start_packet(d);
		return RSP_EV_NONE;
	}
	switch (d->state) {
	case ST_IDLE:
		return idle_byte(c);
	case ST_DATA:
		return data_byte(d, c);
	case ST_SUM_HI:
		v = rsp_hex_value(c);
		if (v < 0) {
			d->state = ST_SUM_LO_BAD;
		} else {
			d->want = (uint8_t)(v << 4);
			d->state = ST_SUM_LO;
		}
		return RSP_EV_NONE;
	case ST_SUM_LO:
		v = rsp_hex_value(c);
		return finish(d, v >= 0 && (d->want | v) == d->sum);
	default:	/* ST_SUM_LO_BAD: the second digit only ends the packet */
		return finish(d, false);
	}
}

size_t rsp_decode(struct rsp_decoder *d, const uint8_t *in, size_t n,
		  enum rsp_event *ev)
{
	size_t i = 0;

	*ev = RSP_EV_NONE;
	while (i < n && *ev == RSP_EV_NONE)
		*ev = step(d, in[i++]);
	return i;
}
