/* SPDX-License-Identifier: MIT */
/* The 16550's interrupt line and loopback, as Linux's 8250 driver uses
 * them.  Loopback mode keeps the transmitted bytes off stdout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../vmm/x86_64/x86vmm.h"

#define THR	(UART_BASE + 0)
#define IER	(UART_BASE + 1)
#define IIR	(UART_BASE + 2)
#define MCR	(UART_BASE + 4)
#define MSR	(UART_BASE + 6)

#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10

struct line {
	int changes;
	bool level;
};

static void set_irq(void *opaque, bool level)
{
	struct line *l = opaque;

	l->changes++;
	l->level = level;
}

static void wired(struct uart16550 *u, struct line *l)
{
	memset(u, 0, sizeof(*u));
	memset(l, 0, sizeof(*l));
	u->set_irq = set_irq;
	u->irq_opaque = l;
}

static void test_thre_interrupt(void **state)
{
	struct uart16550 u;
	struct line l;

	wired(&u, &l);
	uart_out(&u, MCR, MCR_LOOP | MCR_OUT2);
	assert_false(l.level);
	/* Enabling the THR-empty interrupt with THR empty raises it. */
	uart_out(&u, IER, 0x02);
	assert_true(l.level);
	/* Reading IIR identifies and clears it. */
	assert_int_equal(uart_in(&u, IIR), 0x02);
	assert_false(l.level);
	assert_int_equal(uart_in(&u, IIR), 0x01);
	/* A byte sent: empty again, raised again. */
	uart_out(&u, THR, 'x');
	assert_true(l.level);
	/* Masking it drops the line; unmasking brings it back. */
	uart_out(&u, IER, 0x00);
	assert_false(l.level);
	assert_int_equal(uart_in(&u, IIR), 0x01);
	uart_out(&u, IER, 0x02);
	assert_true(l.level);
	/* OUT2 gates the line as on a PC. */
	uart_out(&u, MCR, MCR_LOOP);
	assert_false(l.level);
	uart_out(&u, MCR, MCR_LOOP | MCR_OUT2);
	assert_true(l.level);
	assert_int_equal(l.changes, 7);
}

static void test_no_line_without_wiring(void **state)
{
	struct uart16550 u;

	memset(&u, 0, sizeof(u));
	uart_out(&u, MCR, MCR_LOOP | MCR_OUT2);
	uart_out(&u, IER, 0x02);
	assert_int_equal(uart_in(&u, IIR), 0x02);
	assert_int_equal(uart_in(&u, IIR), 0x01);
}

static void test_loopback_modem_status(void **state)
{
	struct uart16550 u;
	struct line l;

	wired(&u, &l);
	assert_int_equal(uart_in(&u, MSR), 0xb0);	/* DCD, DSR, CTS */
	/* What the 8250 driver's probe checks: RTS -> CTS, OUT2 -> DCD. */
	uart_out(&u, MCR, MCR_LOOP | MCR_OUT2 | MCR_RTS);
	assert_int_equal(uart_in(&u, MSR) & 0xf0, 0x90);
	uart_out(&u, MCR, MCR_LOOP | MCR_DTR);
	assert_int_equal(uart_in(&u, MSR) & 0xf0, 0x20);
	uart_out(&u, MCR, MCR_LOOP);
	assert_int_equal(uart_in(&u, MSR) & 0xf0, 0x00);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thre_interrupt),
		cmocka_unit_test(test_no_line_without_wiring),
		cmocka_unit_test(test_loopback_modem_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
