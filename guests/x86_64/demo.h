/* SPDX-License-Identifier: MIT */
/* Functions of the demo guest that the debugger tests refer to by name. */
#ifndef GUEST_DEMO_H
#define GUEST_DEMO_H

#include <stdint.h>

#define DEMO_SLED_LEN	0x3000

/* The call chain kmain -> compute -> leaf that backtrace tests walk. */
uint64_t compute(uint64_t n);
uint64_t leaf(uint64_t x);
void xmm_checkpoint(uint64_t total);

/* DEMO_SLED_LEN one-byte nops then ret: room for thousands of breakpoints. */
void demo_sled(void);
extern const uint8_t demo_sled_bytes[DEMO_SLED_LEN];
/* Returns 0x11; tests patch the immediate to prove code writes take effect. */
uint32_t demo_patch(void);
/* Adds 0x1000 to RAX: a known instruction for register-write tests. */
void demo_bump(void);
/* Loads demo_xmm_pattern into XMM0. */
void demo_load_sse(void);
extern const uint8_t demo_xmm_pattern[16];

#endif
