// SPDX-License-Identifier: MIT
/*
 * Raw binary guest linked at RAW64_BASE: prints "raw ok" when it runs at the
 * address it was linked for, "raw moved" otherwise.
 */
#include "guest.h"

#define RAW64_BASE	0x200000
#define RAW64_EXIT	0x52

void raw64_main(uintptr_t runtime_base);

void raw64_main(uintptr_t runtime_base)
{
	uart_init();
	uart_puts(runtime_base == RAW64_BASE ? "raw ok\n" : "raw moved\n");
	guest_exit(RAW64_EXIT);
}
