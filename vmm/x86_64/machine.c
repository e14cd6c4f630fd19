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

#include "x86vmm.h"

#define TSS_ADDR	0xfffbd000ull
#define RFLAGS_IF	(1ull << 9)

/* Stacks in the long-mode boot area and the APIC id byte allow this many. */
const unsigned arch_max_vcpus = 64;
const uint64_t arch_ram_base = 0;

const char *const arch_vmm_usage =
	"\n"
	"GUEST is one of:\n"
	"  a Multiboot (v1) kernel: booted per the Multiboot specification;\n"
	"  an ELF64 x86-64 executable: entered at e_entry in 64-bit mode with\n"
	"    identity-mapped RAM, RSP at the top of RAM, RDI = command line;\n"
	"  a raw binary with --load-addr and --entry, entered like ELF64.\n"
	"With -smp N every vCPU starts at the entry point, its index in ESI\n"
	"(Multiboot) or RSI (64-bit entry, each with its own stack).\n"
	"Devices: 16550 UART at port 0x3f8 (stdout); writing V to port 0xf4\n"
	"ends the run with exit status (V << 1) | 1; hlt with interrupts off\n"
	"ends it with 0.\n";

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
	if (pthread_mutex_init(&m->irq_lock, NULL) || pthread_cond_init(&m->irq_cond, NULL)) {
		vmm_err(err, len, "cannot initialise the interrupt controller lock");
		return -1;
	}
	pic_init(&m->pic);
	if (img->initrd_path || img->append) {
		vmm_err(err, len, "%s: --initrd and --append are for Linux kernels; this guest takes its arguments after '--'",
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

int arch_vm_create(struct vm *vm, char *err, size_t len)
{
	/* Intel hosts need three pages for real-mode emulation; harmless
	 * elsewhere, and placed where no guest RAM can be. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, TSS_ADDR) < 0) {
		vmm_err(err, len, "KVM_SET_TSS_ADDR: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int set_cpuid(struct vm *vm, struct vcpu *v, char *err, size_t len)
{
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
	for (unsigned i = 0; i < c->nent; i++)
		if (c->entries[i].function == 1)	/* initial APIC id */
			c->entries[i].ebx = (c->entries[i].ebx & 0x00ffffff) |
					    (v->idx << 24);
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

	if (port >= UART_BASE && port < UART_BASE + 8)
		return uart_in(&m->uart, port);
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
	if (port >= UART_BASE && port < UART_BASE + 8)
		uart_out(&m->uart, port, (uint8_t)val);
	else if (port == DEBUG_EXIT_PORT)
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

	if (v->idx)
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
		fprintf(stderr, "kvmdbg: guest shut down (triple fault) on vCPU %u at rip 0x%llx\n",
			v->idx, (unsigned long long)rip(v));
		vmm_exit(vm, VMM_EXIT_CRASH);
	case KVM_EXIT_INTERNAL_ERROR:
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
