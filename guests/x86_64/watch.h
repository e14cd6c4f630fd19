/* SPDX-License-Identifier: MIT */
/* What the watchpoint guest shares between its C and assembly parts. */
#ifndef GUEST_WATCH_H
#define GUEST_WATCH_H

#include <stdint.h>

/*
 * The hot page (watch_hot.S): one 4 KiB page holding code that every round
 * calls several times, data that code rewrites on every call, and a
 * variable only the rounds touch now and then, so a watch on that variable
 * protects the page under code and data that must keep running.
 */
uint64_t watch_hot_step(uint64_t x);	/* mixes x into watch_hot_data */
extern volatile uint64_t watch_hot_data;
extern volatile uint64_t watch_hot_var;

#endif
