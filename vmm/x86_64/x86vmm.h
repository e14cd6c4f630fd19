/* SPDX-License-Identifier: MIT */
/* The x86 PC-ish machine: boot state and devices. */
#ifndef KVMDBG_X86VMM_H
#define KVMDBG_X86VMM_H

#include "../vmm.h"
#include "cpuid.h"

#define UART_BASE	0x3f8
#define UART_IRQ	4
#define RESET_CONTROL	0xcf9		/* Linux guests: writing bit 2 resets */
#define RESET_CONTROL_RESET 0x04
#define RESET_CONTROL_HARD 0x02
#define DEBUG_EXIT_PORT	0xf4

#define PIC_MASTER	0x20
#define PIC_SLAVE	0xa0
#define PIT_BASE	0x40

struct pic8259 {
	uint8_t irr, isr, imr, base, icw1;
	unsigned init_step;	/* next ICW expected on the data port, 0: none */
	bool auto_eoi;
	bool read_isr;
};

struct pit8254 {
	uint16_t reload;
	uint8_t access, mode;
	bool low_next;
	bool running;
	uint64_t period_ns;
	pthread_t thread;
};

struct uart16550 {
	uint8_t ier, lcr, mcr, scr, dll, dlm;
	bool thri_pending;
	/* The interrupt line, where one is wired (Linux guests: IRQ 4). */
	void (*set_irq)(void *opaque, bool level);
	void *irq_opaque;
	bool irq_level;
};

/*
 * Test guests (Multiboot, ELF64, raw) get kvmdbg's own PIC and PIT and
 * every vCPU entering at the entry point.  Linux guests (bzImage, PVH)
 * get KVM's in-kernel PIC, IOAPIC, local APICs and PIT, and secondary
 * vCPUs waiting for the guest's INIT/SIPI.
 */
enum boot_mode {
	BOOT_MULTIBOOT, BOOT_LONG,
	BOOT_LINUX64,	/* bzImage, 64-bit entry */
	BOOT_LINUX32,	/* bzImage, 32-bit entry */
	BOOT_PVH,	/* vmlinux, PVH entry */
};

struct x86_machine {
	enum boot_mode mode;
	uint64_t entry;
	uint64_t info;		/* multiboot info, or the command line (long) */
	uint64_t boot_area;	/* long mode: page tables, GDT, stack top */
	const char *gdb_view;	/* arch_gdb_view's answer */
	bool irqchip;		/* Linux: KVM's in-kernel interrupt controllers */
	struct cpuid_hidden hidden;	/* Linux: what CPUID does not offer */
	pthread_mutex_t uart_lock;
	struct uart16550 uart;
	pthread_mutex_t irq_lock;	/* pic, pit, vcpu0 */
	pthread_cond_t irq_cond;
	struct pic8259 pic;
	struct pit8254 pit;
	pthread_t vcpu0;		/* where timer interrupts go */
	bool vcpu0_known;
};

/* Guest RAM kvmdbg keeps for long-mode boot structures: top of RAM. */
#define BOOT_AREA_SIZE	0x100000ull

/* GDT descriptors of flat 4 GiB segments. */
#define GDT_CODE64	0x00af9a000000ffffull
#define GDT_CODE32	0x00cf9a000000ffffull
#define GDT_DATA	0x00cf92000000ffffull

/* bootstate.c */
/* Identity-maps the low gib GiB with 2 MiB pages: the PML4 at gpa, the
 * PDPT in the page after it, then one page directory per GiB (2 + gib
 * pages in all).  tables is gpa in kvmdbg's memory, already zeroed. */
void identity_map(uint8_t *tables, uint64_t gpa, uint64_t gib);
/* A flat 4 GiB segment: 64-bit code when code64, else 32-bit. */
void flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64);
/* Loads sregs, regs and reset x87/SSE control words into v; what names
 * the entry in the error message. */
int set_entry_state(struct vcpu *v, const struct kvm_sregs *sregs,
		    const struct kvm_regs *regs, const char *what,
		    char *err, size_t len);

int multiboot_find(const struct guest_image *img, uint64_t *hdr_off);
int multiboot_load(struct vm *vm, struct x86_machine *m,
		   const struct guest_image *img, uint64_t hdr_off,
		   char *err, size_t len);
int longmode_prepare(struct vm *vm, struct x86_machine *m,
		     const char *cmdline, char *err, size_t len);
int longmode_vcpu(struct vm *vm, struct x86_machine *m, struct vcpu *v,
		  char *err, size_t len);
int multiboot_vcpu(struct vm *vm, struct x86_machine *m, struct vcpu *v,
		   char *err, size_t len);

static inline bool boot_is_linux(enum boot_mode mode)
{
	return mode >= BOOT_LINUX64;
}

/* linux.c */
bool linux_detect(const struct guest_image *img);
int linux_load(struct vm *vm, struct x86_machine *m, const struct guest_image *img,
	       char *err, size_t len);
int linux_vcpu(struct vm *vm, struct x86_machine *m, struct vcpu *v,
	       char *err, size_t len);

void pic_init(struct pic8259 *p);
void pic_out(struct pic8259 *p, uint16_t port, uint8_t val);
uint8_t pic_in(struct pic8259 *p, uint16_t port);
void pic_raise(struct pic8259 *p, unsigned irq);
/* The IRQ to deliver next, or -1. */
int pic_next(struct pic8259 *p);
/* Marks irq in service and returns its vector. */
uint8_t pic_ack(struct pic8259 *p, unsigned irq);
void pit_out(struct vm *vm, struct pit8254 *p, uint16_t port, uint8_t val);

void uart_out(struct uart16550 *u, uint16_t port, uint8_t val);
uint8_t uart_in(struct uart16550 *u, uint16_t port);

#endif
