// SPDX-License-Identifier: MIT
/*
 * Reports the trap flag of the two flag images pushflags_start.S pushed:
 *   pushflags: pushfq TF=<0|1> pushfw TF=<0|1>
 * and exits with PUSHFLAGS_EXIT.
 */
#include "guest.h"
#include "io.h"

#define PUSHFLAGS_EXIT	0x41
#define RFLAGS_TF	0x100u

void pushflags_main(uint64_t pushfq, uint64_t pushfw);

void pushflags_main(uint64_t pushfq, uint64_t pushfw)
{
	uart_init();
	uart_puts("pushflags: pushfq TF=");
	uart_putc(pushfq & RFLAGS_TF ? '1' : '0');
	uart_puts(" pushfw TF=");
	uart_putc(pushfw & RFLAGS_TF ? '1' : '0');
	uart_putc('\n');
	guest_exit(PUSHFLAGS_EXIT);
}
