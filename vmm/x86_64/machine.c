/* SPDX-License-Identifier: MIT */
/*
 * The x86 machine: picks the boot protocol from the guest file, sets up
 * vCPUs, and serves port I/O (UART, the isa-debug-exit port) and the
 * exits that end a run.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "linuxboot.h"
#include "x86bits.h"
#include "x86vmm.h"

#define TSS_ADDR	0xfffbd000ull
#define RFLAGS_IF	(1ull << 9)
#define KBC_STATUS	0x64
#define KBC_RESET	0xfe	/* pulse the reset line */
#define FWAIT		0x9b
#define FSW_ES		0x80	/* x87 error summary: an exception is pending */
#define RESET_RIP	0xfff0ull	/* where INIT leaves a vCPU */
#define RESET_CS_BASE	0xffff0000ull

/* Stacks in the long-mode boot area and the APIC id byte allow this many. */
const unsigned arch_max_vcpus = 64;
const uint64_t arch_ram_base = 0;
const bool arch_device_tree = false;
const char *const arch_gdb_views = "i386:x86-64 or i386";

const char *const arch_vmm_usage =
	"\n"
	"GUEST is one of:\n"
	"  a Multiboot (v1) kernel: booted per the Multiboot specification;\n"
	"  an ELF64 x86-64 executable: entered at e_entry in 64-bit mode with\n"
	"    identity-mapped RAM, RSP at the top of RAM, RDI = command line;\n"
	"  a raw binary with --load-addr and --entry, entered like ELF64;\n"
	"  a Linux bzImage (boot protocol 2.12 or later), or a vmlinux with a\n"
	"    PVH entry note, which skips the decompressor; --append gives its\n"
	"    command line and --initrd its initial ramdisk.\n"
	"With -smp N every vCPU of a test guest starts at the entry point, its\n"
	"index in ESI (Multiboot) or RSI (64-bit entry, each with its own stack);\n"
	"a Linux kernel starts the others itself (INIT/SIPI; ACPI MADT).\n"
	"Devices: 16550 UART at port 0x3f8 (stdout; IRQ 4 for Linux); writing V\n"
	"to port 0xf4 ends the run with exit status (V << 1) | 1; hlt with\n"
	"interrupts off ends it with 0.  Test guests get kvmdbg's 8259 PIC and\n"
	"8254 PIT; Linux gets KVM's in-kernel PIC, IOAPIC, local APICs and PIT,\n"
	"and a power-off (ACPI S5) or a reset through port 0xcf9 or the keyboard\n"
	"controller (reboot: kvmdbg adds reboot=k) ends the run with 0.\n";

static int load_long(struct vm *vm, struct x86_machine *m,
		     const struct guest_image *img, char *err, size_t len)
{
	uint64_t top = vm->ram_base + vm->ram_size - BOOT_AREA_SIZE;

	if (img->raw) {
		if (img->load_addr < vm->ram_base || img->load_addr >= top ||
		    img->size > top - img->load_addr) {
			vmm_err(err, len, "%s: raw image at 0x%llx (+0x%zx) must lie in guest RAM below 0x%llx (try a larger --mem)",
				img->path, (unsigned long long)img->load_addr, img->size,
				(unsigned long long)top);
			return -1;
		}
		memcpy(vmm_gpa(vm, img->load_addr, img->size), img->data, img->size);
		m->entry = img->entry;
	} else {
		if (elf_check(img, EM_X86_64, err, len) < 0)
			return -1;
		if (img->data[EI_CLASS] != ELFCLASS64) {
			vmm_err(err, len, "%s: a 32-bit ELF file needs a Multiboot header to boot",
				img->path);
			return -1;
		}
		if (elf_load(vm, img, &m->entry, err, len) < 0)
			return -1;
	}
	/* Boot structures go last; an image reaching into them is refused
	 * rather than silently overwritten. */
	uint8_t *area = vmm_gpa(vm, top, BOOT_AREA_SIZE);

	for (uint64_t i = 0; i < BOOT_AREA_SIZE; i++) {
		if (area[i]) {
			vmm_err(err, len, "%s: the image reaches into the top 1 MiB of guest RAM, which kvmdbg needs for boot structures (try a larger --mem)",
				img->path);
			return -1;
		}
	}
	return longmode_prepare(vm, m, img->cmdline, err, len);
}

int arch_load(struct vm *vm, const struct guest_image *img, char *err, size_t len)
{
	struct x86_machine *m = calloc(1, sizeof(*m));
	uint64_t hdr;

	if (!m) {
		vmm_err(err, len, "out of memory");
		return -1;
	}
	vm->arch = m;
	if (pthread_mutex_init(&m->irq_lock, NULL) || pthread_cond_init(&m->irq_cond, NULL) ||
	    pthread_mutex_init(&m->uart_lock, NULL)) {
		vmm_err(err, len, "cannot initialise the interrupt controller lock");
		return -1;
	}
	pic_init(&m->pic);
	if (!img->raw && linux_detect(img)) {
		cpuid_probe(vm->kvm_fd, &m->hidden);
		return linux_load(vm, m, img, err, len);
	}
	if (img->initrd_path || img->append) {
		vmm_err(err, len, "%s: --initrd and --append are for Linux kernels (bzImage or vmlinux with a PVH note); this guest takes its arguments after '--'",
			img->path);
		return -1;
	}
	if (!img->raw && multiboot_find(img, &hdr) == 0)
		return multiboot_load(vm, m, img, hdr, err, len);
	if (!img->raw && !elf_is_elf(img)) {
		vmm_err(err, len, "%s: not a bootable guest: no Multiboot header, not ELF (for a raw binary give --load-addr and --entry)",
			img->path);
		return -1;
	}
	return load_long(vm, m, img, err, len);
}

static void uart_irq(void *opaque, bool level)
{
	struct vm *vm = opaque;
	struct kvm_irq_level irq = { .irq = UART_IRQ, .level = level };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		fprintf(stderr, "kvmdbg: KVM_IRQ_LINE %u: %s\n", UART_IRQ, strerror(errno));
}

int arch_vm_create(struct vm *vm, char *err, size_t len)
{
	struct x86_machine *m = vm->arch;
	struct kvm_pit_config pit = { 0 };

	/* Intel hosts need three pages for real-mode emulation; harmless
	 * elsewhere, and placed where no guest RAM can be. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, TSS_ADDR) < 0) {
		vmm_err(err, len, "KVM_SET_TSS_ADDR: %s", strerror(errno));
		return -1;
	}
	if (!m->irqchip)
		return 0;
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		vmm_err(err, len, "KVM_CREATE_IRQCHIP: %s (a Linux guest needs KVM's in-kernel interrupt controllers)",
			strerror(errno));
		return -1;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		vmm_err(err, len, "KVM_CREATE_PIT2: %s (a Linux guest needs KVM's in-kernel timer)",
			strerror(errno));
		return -1;
	}
	m->uart.set_irq = uart_irq;
	m->uart.irq_opaque = vm;
	return 0;
}

static int set_cpuid(struct vm *vm, struct vcpu *v, char *err, size_t len)
{
	struct x86_machine *m = vm->arch;
	int n = 256;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

	if (!c) {
		vmm_err(err, len, "out of memory");
		return -1;
	}
	c->nent = n;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		vmm_err(err, len, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		free(c);
		return -1;
	}
	if (boot_is_linux(m->mode)) {
		cpuid_for_vcpu(c, v->idx, &m->hidden);
	} else {
		for (unsigned i = 0; i < c->nent; i++)
			if (c->entries[i].function == 1)	/* initial APIC id */
				c->entries[i].ebx = (c->entries[i].ebx & 0x00ffffff) |
						    (v->idx << 24);
	}
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0) {
		vmm_err(err, len, "KVM_SET_CPUID2: %s", strerror(errno));
		free(c);
		return -1;
	}
	free(c);
	return 0;
}

int arch_vcpus_created(struct vm *vm, char *err, size_t len)
{
	return 0;
}

int arch_vcpu_setup(struct vm *vm, struct vcpu *v, char *err, size_t len)
{
	struct x86_machine *m = vm->arch;

	if (set_cpuid(vm, v, err, len) < 0)
		return -1;
	if (boot_is_linux(m->mode))
		return linux_vcpu(vm, m, v, err, len);
	if (m->mode == BOOT_MULTIBOOT)
		return multiboot_vcpu(vm, m, v, err, len);
	return longmode_vcpu(vm, m, v, err, len);
}

static bool is_pic(uint16_t port)
{
	return port == PIC_MASTER || port == PIC_MASTER + 1 ||
	       port == PIC_SLAVE || port == PIC_SLAVE + 1;
}

static uint32_t io_in(struct x86_machine *m, uint16_t port)
{
	uint32_t val = 0xffffffffu;	/* nothing there: a floating bus */

	if (port >= UART_BASE && port < UART_BASE + 8) {
		pthread_mutex_lock(&m->uart_lock);
		val = uart_in(&m->uart, port);
		pthread_mutex_unlock(&m->uart_lock);
		return val;
	}
	/* An idle keyboard controller, so that a reset command is accepted
	 * at once; no wake event in the sleep status register. */
	if (m->irqchip && (port == KBC_STATUS || port == ACPI_SLEEP_STATUS))
		return 0;
	if (is_pic(port)) {
		pthread_mutex_lock(&m->irq_lock);
		val = pic_in(&m->pic, port);
		pthread_mutex_unlock(&m->irq_lock);
	}
	return val;
}

static void io_out(struct vm *vm, struct x86_machine *m, uint16_t port,
		   uint32_t val, unsigned size)
{
	if (port >= UART_BASE && port < UART_BASE + 8) {
		pthread_mutex_lock(&m->uart_lock);
		uart_out(&m->uart, port, (uint8_t)val);
		pthread_mutex_unlock(&m->uart_lock);
	} else if (m->irqchip && ((port == KBC_STATUS && val == KBC_RESET) ||
				  (port == RESET_CONTROL && size == 1 &&
				   (val & RESET_CONTROL_RESET)))) {
		fprintf(stderr, "kvmdbg: guest reset the machine\n");
		vmm_exit(vm, 0);
	} else if (m->irqchip && port == ACPI_SLEEP_CONTROL && (val & ACPI_SLP_EN) &&
		   ((val >> 2) & 7) == ACPI_S5_TYPE) {
		fprintf(stderr, "kvmdbg: guest powered off\n");
		vmm_exit(vm, 0);
	} else if (port == DEBUG_EXIT_PORT)
		vmm_exit(vm, (int)((val << 1) | 1));
	else if (is_pic(port) || (port >= PIT_BASE && port < PIT_BASE + 4)) {
		pthread_mutex_lock(&m->irq_lock);
		if (is_pic(port))
			pic_out(&m->pic, port, (uint8_t)val);
		else
			pit_out(vm, &m->pit, port, (uint8_t)val);
		pthread_mutex_unlock(&m->irq_lock);
	}
}

void arch_pre_run(struct vm *vm, struct vcpu *v)
{
	struct x86_machine *m = vm->arch;
	struct kvm_interrupt irq;
	int pending;

	if (v->idx || m->irqchip)
		return;		/* the PIC is wired to the first vCPU */
	pthread_mutex_lock(&m->irq_lock);
	if (!m->vcpu0_known) {
		m->vcpu0 = pthread_self();
		m->vcpu0_known = true;
	}
	pending = pic_next(&m->pic);
	v->run->request_interrupt_window = 0;
	if (pending >= 0 && kvmdbg_vcpu_may_interrupt(vm->stub, v->idx)) {
		if (v->run->ready_for_interrupt_injection) {
			irq.irq = pic_ack(&m->pic, pending);
			if (ioctl(v->fd, KVM_INTERRUPT, &irq) < 0)
				fprintf(stderr, "kvmdbg: KVM_INTERRUPT vector %u: %s\n",
					irq.irq, strerror(errno));
		} else {
			v->run->request_interrupt_window = 1;
		}
	}
	pthread_mutex_unlock(&m->irq_lock);
}

/* hlt with interrupts on: sleep until the timer raises something, but
 * come back often so gdb can stop the vCPU meanwhile. */
static void wait_for_interrupt(struct x86_machine *m)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 10000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_nsec -= 1000000000;
		until.tv_sec++;
	}
	pthread_mutex_lock(&m->irq_lock);
	if (pic_next(&m->pic) < 0)
		pthread_cond_timedwait(&m->irq_cond, &m->irq_lock, &until);
	pthread_mutex_unlock(&m->irq_lock);
}

static void handle_io(struct vm *vm, struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned size = run->io.size;

	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		uint32_t val = 0;

		if (run->io.direction == KVM_EXIT_IO_OUT) {
			memcpy(&val, data, size);
			io_out(vm, vm->arch, run->io.port, val, size);
		} else {
			val = io_in(vm->arch, run->io.port);
			memcpy(data, &val, size);
		}
	}
}

static uint64_t rip(struct vcpu *v)
{
	struct kvm_regs regs;

	return ioctl(v->fd, KVM_GET_REGS, &regs) < 0 ? 0 : regs.rip;
}

/*
 * On AMD processors KVM puts the vCPU through INIT at a shutdown, before
 * it exits (the VMCB is undefined after one), so the registers then say
 * nothing of where the guest faulted: better no address than the reset
 * vector's.
 */
static void report_shutdown(struct vcpu *v)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) {
		fprintf(stderr, "kvmdbg: guest shut down (triple fault) on vCPU %u (its registers cannot be read: %s)\n",
			v->idx, strerror(errno));
		return;
	}
	if (regs.rip == RESET_RIP && sregs.cs.base == RESET_CS_BASE && !(sregs.cr0 & CR0_PE))
		fprintf(stderr, "kvmdbg: guest shut down (triple fault) on vCPU %u; this host's KVM reset the vCPU at the shutdown, as it does on AMD processors, so where it faulted is lost\n",
			v->idx);
	else
		fprintf(stderr, "kvmdbg: guest shut down (triple fault) on vCPU %u at rip 0x%llx\n",
			v->idx, (unsigned long long)regs.rip);
}

/*
 * KVM's instruction emulator has no fwait.  With no unmasked x87
 * exception pending fwait does nothing, so kvmdbg moves past it; with one
 * pending it would raise #MF, which is left to fail visibly.
 */
static bool complete_fwait(struct vcpu *v)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_translation tr = { 0 };
	const uint8_t *insn;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0 ||
	    ioctl(v->fd, KVM_GET_FPU, &fpu) < 0)
		return false;
	tr.linear_address = sregs.cs.base + regs.rip;
	if (ioctl(v->fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid)
		return false;
	insn = vmm_gpa(v->vm, tr.physical_address, 1);
	if (!insn || *insn != FWAIT || (fpu.fsw & FSW_ES))
		return false;
	regs.rip++;
	return ioctl(v->fd, KVM_SET_REGS, &regs) == 0;
}

/*
 * Where KVM runs guest kernel code in its instruction emulator, the first
 * instruction it lacks ends the run.  The user needs the instruction, not
 * a suberror number: its bytes are read through the guest's page tables,
 * or taken from KVM's report where the pc does not translate.
 */
static void report_emulation_failure(struct vcpu *v)
{
	const struct kvm_run *run = v->run;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_translation tr = { 0 };
	const uint8_t *insn = NULL;
	unsigned n = 0;
	char hex[3 * 15 + 1] = "";

	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) {
		fprintf(stderr, "kvmdbg: KVM's instruction emulator gave up on vCPU %u (its registers cannot be read: %s)\n",
			v->idx, strerror(errno));
		return;
	}
	tr.linear_address = sregs.cs.base + regs.rip;
	if (ioctl(v->fd, KVM_TRANSLATE, &tr) == 0 && tr.valid) {
		/* Stop at the page's end: the next page may not follow in RAM. */
		n = 15;
		if ((tr.physical_address & 0xfff) + n > 0x1000)
			n = 0x1000 - (unsigned)(tr.physical_address & 0xfff);
		insn = vmm_gpa(v->vm, tr.physical_address, n);
	}
	/* KVM's copy holds only what its decoder fetched, often one byte. */
	if (!insn && run->emulation_failure.ndata >= 3 &&
	    (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
		insn = run->emulation_failure.insn_bytes;
		n = run->emulation_failure.insn_size;
		if (n > sizeof(run->emulation_failure.insn_bytes))
			n = sizeof(run->emulation_failure.insn_bytes);
	}
	for (unsigned i = 0; insn && i < n; i++)
		snprintf(hex + strlen(hex), sizeof(hex) - strlen(hex), "%s%02x", i ? " " : "",
			 insn[i]);
	fprintf(stderr, "kvmdbg: KVM's instruction emulator cannot run the instruction at rip 0x%llx on vCPU %u (CPL %u, bytes: %s; `x/i $pc` in gdb names it). KVM emulates guest code that touches memory outside RAM, and all guest kernel code on hosts without VMX or SVM (`kvmdbg probe` tells which this host is).\n",
		(unsigned long long)regs.rip, v->idx, sregs.cs.selector & 3, insn ? hex : "unreadable");
}

void arch_handle_exit(struct vm *vm, struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct kvm_regs regs;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(vm, v);
		return;
	case KVM_EXIT_HLT:
		if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0) {
			fprintf(stderr, "kvmdbg: KVM_GET_REGS after hlt: %s\n", strerror(errno));
			vmm_exit(vm, VMM_EXIT_CRASH);
		}
		if (!(regs.rflags & RFLAGS_IF))
			vmm_vcpu_halted(vm, v);
		wait_for_interrupt(vm->arch);
		return;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		return;		/* arch_pre_run injects now */
	case KVM_EXIT_SHUTDOWN:
		report_shutdown(v);
		vmm_exit(vm, VMM_EXIT_CRASH);
	case KVM_EXIT_INTERNAL_ERROR:
		if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
		    complete_fwait(v))
			return;
		if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION)
			report_emulation_failure(v);
		else
			fprintf(stderr, "kvmdbg: KVM could not run the guest on vCPU %u at rip 0x%llx (internal error, suberror %u)\n",
				v->idx, (unsigned long long)rip(v), run->internal.suberror);
		vmm_exit(vm, VMM_EXIT_CRASH);
	case KVM_EXIT_FAIL_ENTRY:
		fprintf(stderr, "kvmdbg: KVM could not enter the guest on vCPU %u (hardware reason 0x%llx)\n",
			v->idx, (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vmm_exit(vm, VMM_EXIT_CRASH);
	case KVM_EXIT_MMIO:
		/* No MMIO devices: reads float high, writes vanish. */
		if (!run->mmio.is_write)
			memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
		return;
	default:
		fprintf(stderr, "kvmdbg: unexpected KVM exit %u on vCPU %u at rip 0x%llx\n",
			run->exit_reason, v->idx, (unsigned long long)rip(v));
		vmm_exit(vm, VMM_EXIT_CRASH);
	}
}

const char *arch_gdb_view(const struct vm *vm)
{
	const struct x86_machine *m = vm->arch;

	return m->gdb_view;
}

void arch_probe_describe(int kvm_fd, char *out, size_t len)
{
	struct cpuid_hidden h;
	char hidden[96], forced[96];

	cpuid_probe(kvm_fd, &h);
	if (!h.probed) {
		snprintf(out, len, "linux-cpuid: the emulation probe VM could not run; nothing hidden\n");
		return;
	}
	cpuid_names(h.hidden, ' ', hidden, sizeof(hidden));
	cpuid_names(h.forced, ',', forced, sizeof(forced));
	snprintf(out, len, "linux-cpuid-hidden: %s%s\nlinux-cmdline-added: %s%s%s\nlinux-fwait: %s\n",
		 hidden, h.hidden ? " (KVM cannot run them at CPL 0 here)" : "",
		 h.forced ? "clearcpuid=" : "none", h.forced ? forced : "",
		 h.forced ? " (KVM keeps offering them whatever CPUID kvmdbg sets)" : "",
		 h.fwait_completed ? "completed by kvmdbg (KVM cannot run it at CPL 0 here)"
				   : "run by KVM");
}
