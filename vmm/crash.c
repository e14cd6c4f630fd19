/* SPDX-License-Identifier: MIT */
/*
 * A crash of kvmdbg itself says where it happened before the process dies
 * of it: a report from a run nobody can repeat (a nested machine, a CI
 * host) then names the code.  Offsets are from kvmdbg's own load address,
 * for addr2line -f -e kvmdbg.
 *
 * The handler must work when the thread's pointer to its own storage is
 * what broke (a host kernel has left a vCPU's there): it makes no call
 * that reads thread-local state.  glibc's write() does, as a
 * cancellation point, and raise() does, to find the thread; syscall(),
 * getpid(), gettid() and tgkill() only do on an error.
 */
#include <errno.h>
#include <link.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm.h"

static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
/* Set once before any handler can run, read only by them. */
static uintptr_t image_start, image_end, image_base;

static int find_image(struct dl_phdr_info *info, size_t size, void *data)
{
	/* The first object is the executable. */
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t end = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;

		if (ph->p_type != PT_LOAD)
			continue;
		if (!image_start || info->dlpi_addr + ph->p_vaddr < image_start)
			image_start = info->dlpi_addr + ph->p_vaddr;
		if (end > image_end)
			image_end = end;
	}
	image_base = info->dlpi_addr;
	return 1;
}

/* Only the write system call from here on: the heap or stdio may be what
 * broke. */
static size_t put(char *buf, size_t at, const char *s)
{
	size_t n = strlen(s);

	memcpy(buf + at, s, n);
	return at + n;
}

static size_t put_hex(char *buf, size_t at, uint64_t v)
{
	char digits[16];
	int n = 0;

	do {
		digits[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	at = put(buf, at, "0x");
	while (n)
		buf[at++] = digits[--n];
	return at;
}

static size_t put_code(char *buf, size_t at, const char *what, uint64_t addr)
{
	at = put(buf, at, what);
	if (addr >= image_start && addr < image_end) {
		at = put(buf, at, "kvmdbg+");
		return put_hex(buf, at, addr - image_base);
	}
	return put_hex(buf, at, addr);
}

static void on_crash(int sig, siginfo_t *si, void *uctx)
{
	char buf[256];
	uint64_t pc = 0, ret = 0, tp = 0;
	size_t at = put(buf, 0, "kvmdbg: crashed: ");

	at = put(buf, at, sigabbrev_np(sig) ? sigabbrev_np(sig) : "signal");
	/* A signal another process sent has no faulting address. */
	if (si->si_code <= 0)
		at = put(buf, at, " sent by another process");
	else if (sig != SIGABRT)
		at = put_hex(buf, put(buf, at, " at address "), (uintptr_t)si->si_addr);
	arch_crash_pcs(uctx, &pc, &ret, &tp);
	at = put_code(buf, at, ", pc ", pc);
	if (ret)
		at = put_code(buf, at, ", return address ", ret);
	if (tp)
		at = put_hex(buf, put(buf, at, ", thread pointer "), tp);
	at = put(buf, at, "\n");
	if (syscall(SYS_write, STDERR_FILENO, buf, at) < 0)
		_exit(128 + sig);
	/* Dies of the signal itself (SA_RESETHAND put back the default): the
	 * exit status and a core say so. */
	tgkill(getpid(), gettid(), sig);
}

int vmm_report_crashes(char *err, size_t len)
{
	struct sigaction sa = { .sa_sigaction = on_crash, .sa_flags = SA_SIGINFO | SA_RESETHAND };

	dl_iterate_phdr(find_image, NULL);
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++) {
		struct sigaction old;

		/* A sanitizer's runtime installed its own, which says more. */
		if (sigaction(crash_signals[i], NULL, &old) == 0 && old.sa_handler != SIG_DFL)
			continue;
		if (sigaction(crash_signals[i], &sa, NULL) < 0) {
			vmm_err(err, len, "cannot install the crash report for %s: %s",
				sigabbrev_np(crash_signals[i]), strerror(errno));
			return -1;
		}
	}
	return 0;
}
