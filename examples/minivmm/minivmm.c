/* SPDX-License-Identifier: MIT */
/*
 * minivmm: about the smallest KVM machine monitor that can be debugged with
 * gdb, built only against the installed kvmdbg library (pkg-config kvmdbg)
 * to show everything an embedding VMM has to do.
 *
 * x86-64 hosts.  It boots a Multiboot kernel whose header carries its load
 * addresses, in 32-bit protected mode with paging off, on one vCPU.  The
 * machine has RAM, the transmit side of a 16550 serial port at 0x3f8
 * (printed on stdout) and an exit port at 0xf4: writing V ends the run with status
 * (V << 1) | 1.  hlt ends it with 0.  0xfe written to port 0x64 (a PC's
 * keyboard controller) resets the machine in place, the guest reloaded,
 * twice; the third reset ends the run with 0.
 *
 *	minivmm [--gdb tcp:HOST:PORT | unix:PATH | fd:N] [--wait] GUEST
 *	minivmm --no-stub GUEST
 *
 * fd:N is a connected socket gdb already speaks on, as gdb's
 * `target remote | minivmm --gdb fd:0 ...` gives its command on stdin.
 * --no-stub runs the same machine without creating a stub at all, for
 * measuring what the stub costs a guest that nobody debugs.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/kvm.h>

#include <kvmdbg/stub.h>

#define RAM_SIZE	(64ull << 20)
/* The stub interrupts KVM_RUN with this signal; nothing else may use it. */
#define KICK_SIGNAL	SIGUSR1
#define TSS_ADDR	0xfffbd000ull	/* for Intel's real-mode emulation */
#define MB_MAGIC	0x1badb002u
#define MB_BOOT_MAGIC	0x2badb002u
#define MB_AOUT_KLUDGE	(1u << 16)
#define MB_SEARCH	8192
#define MB_INFO_ADDR	0x8000u		/* an empty information structure */
#define COM1_THR	0x3f8
#define COM1_LCR	0x3fb
#define COM1_LSR	0x3fd
#define LCR_DLAB	0x80		/* 0x3f8 is then the divisor, not data */
#define LSR_IDLE	0x60		/* transmitter empty: writes go out at once */
#define EXIT_PORT	0xf4
#define KBC_COMMAND	0x64
#define KBC_PULSE_RESET	0xfe
#define MAX_RESETS	2
#define EXIT_SETUP	2

struct machine {
	int kvm, vm, vcpu;
	struct kvm_run *run;
	uint8_t *ram;
	struct kvmdbg_caps caps;	/* the stub keeps a pointer to it */
	struct kvmdbg_ram_slot slot;	/* ... and to this */
	struct kvmdbg_stub *stub;	/* NULL with --no-stub */
	const char *guest;
	unsigned resets;
	unsigned long stub_writes;	/* of vCPU state, told by the stub */
	uint8_t lcr;
	bool told_repair;
};

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("minivmm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_SETUP);
}

static void *gpa_to_hva(void *opaque, uint64_t gpa, uint64_t len)
{
	struct machine *m = opaque;

	if (len > RAM_SIZE || gpa > RAM_SIZE - len)
		return NULL;
	return m->ram + gpa;
}

/* The header's load addresses say where the file goes; the rest of RAM
 * stays zero, which covers bss. */
static uint32_t load_multiboot(struct machine *m, const char *path)
{
	struct { uint32_t magic, flags, checksum, header_addr, load_addr,
		 load_end_addr, bss_end_addr, entry_addr; } h;
	struct stat st;
	uint8_t *file;
	size_t off, start, size;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0)
		die("cannot open %s: %s", path, strerror(errno));
	file = mmap(NULL, st.st_size ? st.st_size : 1, PROT_READ, MAP_PRIVATE, fd, 0);
	if (file == MAP_FAILED)
		die("cannot read %s: %s", path, strerror(errno));
	close(fd);
	for (off = 0; off + sizeof(h) <= (size_t)st.st_size && off < MB_SEARCH; off += 4) {
		memcpy(&h, file + off, sizeof(h));
		if (h.magic == MB_MAGIC && (uint32_t)(h.magic + h.flags + h.checksum) == 0)
			break;
	}
	if (off + sizeof(h) > (size_t)st.st_size || off >= MB_SEARCH)
		die("%s: no Multiboot header in its first 8 KiB", path);
	if (!(h.flags & MB_AOUT_KLUDGE))
		die("%s: the Multiboot header has no load addresses", path);
	if (h.load_addr > h.header_addr || h.header_addr - h.load_addr > off)
		die("%s: the Multiboot load addresses do not match the file", path);
	start = off - (h.header_addr - h.load_addr);
	size = h.load_end_addr ? h.load_end_addr - h.load_addr : st.st_size - start;
	if (h.load_end_addr && h.load_end_addr < h.load_addr)
		die("%s: Multiboot load_end_addr is below load_addr", path);
	if (size > st.st_size - start || h.load_addr < MB_INFO_ADDR + 0x1000 ||
	    (uint64_t)h.load_addr + size > RAM_SIZE || h.bss_end_addr > RAM_SIZE)
		die("%s: the image does not fit in %llu MiB of RAM", path, RAM_SIZE >> 20);
	memcpy(m->ram + h.load_addr, file + start, size);
	munmap(file, st.st_size ? st.st_size : 1);
	return h.entry_addr;
}

static void set_cpuid(struct machine *m)
{
	const int n = 256;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

	if (!c)
		die("out of memory");
	c->nent = n;
	if (ioctl(m->kvm, KVM_GET_SUPPORTED_CPUID, c) < 0 ||
	    ioctl(m->vcpu, KVM_SET_CPUID2, c) < 0)
		die("cannot give the vCPU its CPUID: %s", strerror(errno));
	free(c);
}

static void flat(struct kvm_segment *seg, uint16_t selector, uint8_t type)
{
	*seg = (struct kvm_segment){ .base = 0, .limit = 0xffffffff, .selector = selector,
				     .type = type, .present = 1, .db = 1, .s = 1, .g = 1 };
}

/* What the Multiboot specification promises the kernel on entry. */
static void enter_protected_mode(struct machine *m, uint32_t entry)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rax = MB_BOOT_MAGIC, .rbx = MB_INFO_ADDR,
				 .rip = entry, .rflags = 2 };

	if (ioctl(m->vcpu, KVM_GET_SREGS, &sregs) < 0)
		die("KVM_GET_SREGS: %s", strerror(errno));
	flat(&sregs.cs, 0x08, 0xb);
	flat(&sregs.ds, 0x10, 0x3);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.cr0 = 0x11;	/* PE, ET */
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (ioctl(m->vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(m->vcpu, KVM_SET_REGS, &regs) < 0)
		die("cannot set the vCPU's entry state: %s", strerror(errno));
}

static void create_machine(struct machine *m, const char *guest)
{
	struct kvm_userspace_memory_region region = { .slot = 0, .memory_size = RAM_SIZE };
	int run_size;

	m->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (m->kvm < 0)
		die("cannot open /dev/kvm: %s", strerror(errno));
	m->vm = ioctl(m->kvm, KVM_CREATE_VM, 0);
	if (m->vm < 0)
		die("cannot create a VM: %s", strerror(errno));
	if (ioctl(m->vm, KVM_SET_TSS_ADDR, TSS_ADDR) < 0)
		die("KVM_SET_TSS_ADDR: %s", strerror(errno));
	m->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->ram == MAP_FAILED)
		die("cannot allocate guest RAM: %s", strerror(errno));
	region.userspace_addr = (uintptr_t)m->ram;
	if (ioctl(m->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die("cannot give the guest its RAM: %s", strerror(errno));
	m->slot = (struct kvmdbg_ram_slot){ .slot = 0, .gpa = 0, .size = RAM_SIZE, .hva = m->ram };
	m->vcpu = ioctl(m->vm, KVM_CREATE_VCPU, 0);
	run_size = ioctl(m->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (m->vcpu < 0 || run_size < 0)
		die("cannot create the vCPU: %s", strerror(errno));
	m->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, m->vcpu, 0);
	if (m->run == MAP_FAILED)
		die("cannot map the vCPU's state: %s", strerror(errno));
	set_cpuid(m);
	m->guest = guest;
	enter_protected_mode(m, load_multiboot(m, guest));
}

static void on_kick(int sig)
{
	/* Only there to make KVM_RUN return with EINTR. */
}

static void kill_guest(void *opaque)
{
	fflush(stdout);
	_exit(0);
}

static void stub_log(void *opaque, const char *line)
{
	fprintf(stderr, "minivmm: stub: %s\n", line);
}

/* minivmm caches no vCPU state, which a VMM that does would read again
 * here; it counts, and says so at the end. */
static void vcpu_changed(void *opaque, unsigned vcpu)
{
	struct machine *m = opaque;

	m->stub_writes++;
}

static void connect_gdb(struct machine *m, const char *gdb)
{
	char bound[300], err[512];
	int fd, e;

	if (!strncmp(gdb, "fd:", 3)) {
		fd = atoi(gdb + 3);
		e = kvmdbg_stub_connect_fd(m->stub, fd);
		if (e < 0)
			die("cannot give the stub fd %d: %s", fd, strerror(-e));
		snprintf(bound, sizeof(bound), "%s", gdb);
	} else if (kvmdbg_stub_listen(m->stub, gdb, bound, sizeof(bound), err, sizeof(err)) < 0) {
		die("%s", err);
	}
	e = kvmdbg_stub_start(m->stub);
	if (e < 0)
		die("cannot start the gdb stub: %s", strerror(-e));
	fprintf(stderr, "minivmm: gdb stub listening on %s\n", bound);
}

/* Everything the stub needs, in the order the contract asks for it. */
static void attach_stub(struct machine *m, const char *gdb, bool wait)
{
	struct sigaction sa = { .sa_handler = on_kick };	/* no SA_RESTART */
	int nslots, e;

	sigemptyset(&sa.sa_mask);
	if (sigaction(KICK_SIGNAL, &sa, NULL) < 0)
		die("cannot install the kick signal handler: %s", strerror(errno));
	kvmdbg_arch_probe(kvmdbg_arch(), m->kvm, &m->caps);
	m->stub = kvmdbg_stub_new(&(struct kvmdbg_stub_config){
		.arch = kvmdbg_arch(), .caps = &m->caps,
		.mem = { .gpa_to_hva = gpa_to_hva, .opaque = m },
		.signo = KICK_SIGNAL, .wait = wait, .kill = kill_guest, .log = stub_log,
		.ops = { .vcpu_changed = vcpu_changed }, .opaque = m,
	});
	if (!m->stub)
		die("cannot create the gdb stub: %s", strerror(errno));
	/* Watchpoints beyond the debug registers split the RAM slot. */
	nslots = ioctl(m->kvm, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	if (nslots > 1)
		kvmdbg_stub_set_memslots(m->stub, m->vm, &m->slot, 1, 1, (unsigned)nslots - 1);
	e = kvmdbg_stub_add_vcpu(m->stub, m->vcpu, m->run);
	if (e < 0)
		die("cannot register the vCPU with the stub: %s", strerror(-e));
	connect_gdb(m, gdb);
}

static void finish(struct machine *m, int status)
{
	fflush(stdout);
	if (m->stub) {
		kvmdbg_stub_guest_exited(m->stub, status);
		kvmdbg_stub_free(m->stub);
		if (m->stub_writes)
			fprintf(stderr, "minivmm: the stub wrote vCPU state %lu times\n",
				m->stub_writes);
	}
	exit(status);
}

/* KVM_RUN through the library, which mends what some hosts break in the
 * calling thread on the way back; says so once. */
static int kvm_run(struct machine *m)
{
	bool repaired;
	int r = kvmdbg_kvm_run(kvmdbg_arch(), m->vcpu, &repaired);

	if (repaired && !m->told_repair) {
		m->told_repair = true;
		fprintf(stderr, "minivmm: KVM_RUN changed this thread's state, a host bug; "
			"repaired\n");
	}
	return r;
}

/* RAM and the vCPU as at power-on, the guest loaded again; the stub puts
 * gdb's breakpoints back into it. */
static void reset_machine(struct machine *m)
{
	int err;

	if (++m->resets > MAX_RESETS)
		finish(m, 0);
	/* KVM completes the port write at the next KVM_RUN: let it, before
	 * the vCPU's state is replaced. */
	m->run->immediate_exit = 1;
	err = kvm_run(m) < 0 ? errno : 0;
	m->run->immediate_exit = 0;
	if (err != EINTR)
		die("KVM_RUN to complete the reset request: %s", err ? strerror(err) : "ran the guest");
	if (madvise(m->ram, RAM_SIZE, MADV_DONTNEED) < 0)
		die("cannot clear guest RAM: %s", strerror(errno));
	m->lcr = 0;
	enter_protected_mode(m, load_multiboot(m, m->guest));
	if (m->stub)
		kvmdbg_stub_reset(m->stub);
}

static void port_io(struct machine *m)
{
	struct kvm_run *run = m->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		uint32_t val = 0;

		if (run->io.direction == KVM_EXIT_IO_IN) {
			val = run->io.port == COM1_LSR ? LSR_IDLE : 0xffffffffu;
			memcpy(data, &val, run->io.size);
		} else if (run->io.port == COM1_LCR) {
			m->lcr = *data;
		} else if (run->io.port == COM1_THR && !(m->lcr & LCR_DLAB)) {
			putchar(*data);
		} else if (run->io.port == KBC_COMMAND && *data == KBC_PULSE_RESET) {
			reset_machine(m);
			return;
		} else if (run->io.port == EXIT_PORT) {
			memcpy(&val, data, run->io.size);
			finish(m, (int)((val << 1) | 1));
		}
	}
}

static void run_vcpu(struct machine *m)
{
	for (;;) {
		int err;

		if (m->stub)
			kvmdbg_vcpu_pre_run(m->stub, 0);
		err = kvm_run(m) < 0 ? errno : 0;
		if (m->stub && kvmdbg_vcpu_post_run(m->stub, 0, err))
			continue;
		if (err == EINTR || err == EAGAIN)
			continue;
		if (err)
			die("KVM_RUN: %s", strerror(err));
		switch (m->run->exit_reason) {
		case KVM_EXIT_IO:
			port_io(m);
			break;
		case KVM_EXIT_HLT:
			finish(m, 0);
			break;
		case KVM_EXIT_MMIO:
			/* No devices there: reads float high, writes vanish. */
			if (!m->run->mmio.is_write)
				memset(m->run->mmio.data, 0xff, sizeof(m->run->mmio.data));
			break;
		default:
			fprintf(stderr, "minivmm: unexpected KVM exit %u\n", m->run->exit_reason);
			finish(m, 4);
		}
	}
}

int main(int argc, char **argv)
{
	struct machine m = { .kvm = -1 };
	const char *gdb = NULL, *guest = NULL;
	bool wait = false, no_stub = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--gdb") && i + 1 < argc)
			gdb = argv[++i];
		else if (!strcmp(argv[i], "--wait"))
			wait = true;
		else if (!strcmp(argv[i], "--no-stub"))
			no_stub = true;
		else if (argv[i][0] != '-' && !guest)
			guest = argv[i];
		else
			die("usage: minivmm [--gdb tcp:HOST:PORT|unix:PATH|fd:N] [--wait] [--no-stub] GUEST");
	}
	if (!guest)
		die("no guest file given");
	/* The guest's lines as they come, also into a file. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (wait && !gdb)
		die("--wait needs --gdb");
	if (no_stub && gdb)
		die("--no-stub and --gdb exclude each other");
	create_machine(&m, guest);
	if (!no_stub)
		attach_stub(&m, gdb ? gdb : "tcp:127.0.0.1:0", wait);
	run_vcpu(&m);
}
