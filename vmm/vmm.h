/* SPDX-License-Identifier: MIT */
/* The machine monitor around the stub: shared between vmm/ and vmm/$(ARCH)/. */
#ifndef KVMDBG_VMM_H
#define KVMDBG_VMM_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "kvmdbg/stub.h"

#define KVMDBG_VERSION	"0.1.0"

/* Interrupts KVM_RUN for the stub's kicks only, as its contract asks. */
#define VMM_KICK_SIGNAL	SIGUSR1
/* Interrupts KVM_RUN for the machine's own timer. */
#define VMM_TIMER_SIGNAL	SIGUSR2

#define VMM_EXIT_SETUP	2	/* kvmdbg could not start the guest */
#define VMM_EXIT_CRASH	4	/* the guest crashed the virtual machine */
#define VMM_EXIT_RESET	6	/* the guest asked for a reset (no restart) */

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned idx;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
};

/* A guest file in memory, and how the user asked to load it. */
struct guest_image {
	const char *path;
	const uint8_t *data;
	size_t size;
	bool raw;
	uint64_t load_addr;
	uint64_t entry;
	const char *cmdline;
	const char *initrd_path;	/* NULL: no initrd */
	const uint8_t *initrd;
	size_t initrd_size;
	const char *append;		/* a Linux kernel's command line, or NULL */
	const char *dtb_path;		/* a device tree to boot with, or NULL */
	const char *dump_dtb_path;	/* write the device tree here and exit */
};

struct vm {
	int kvm_fd;
	int vm_fd;
	uint8_t *ram;
	uint64_t ram_base;	/* guest-physical address of ram[0] */
	uint64_t ram_size;
	size_t run_size;
	unsigned nvcpus;
	struct vcpu *vcpus;
	struct kvmdbg_stub *stub;
	struct kvmdbg_ram_slot ram_slot;	/* the one RAM slot, id 0 */
	void *arch;		/* the architecture's machine state */
	pthread_mutex_t exit_lock;	/* and halted */
	bool exiting;
	unsigned halted;		/* vCPUs stopped for good */
	atomic_bool host_bug_told;	/* kvmdbg_kvm_run repaired a thread */
};

/* Maps the regular file at path read-only; what names it in messages
 * ("guest", "initrd").  -1 with err when it cannot be used. */
int vmm_load_file(const char *path, const char *what, const uint8_t **data,
		  size_t *size, uint64_t max, char *err, size_t len);

/* Message helpers: one line on stderr, prefixed "kvmdbg: ". */
void vmm_err(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Guest RAM as a host pointer, NULL when [gpa, gpa+len) is not all RAM. */
void *vmm_gpa(struct vm *vm, uint64_t gpa, uint64_t len);
/* Copies into guest RAM; -1 (with err) when it does not fit. */
int vmm_copy_in(struct vm *vm, uint64_t gpa, const void *src, size_t len,
		char *err, size_t err_len);
/* The vCPU halted with interrupts off: it never runs again, and the run
 * ends with status 0 once every vCPU has.  Returns only to let the stub
 * stop the vCPU meanwhile. */
void vmm_vcpu_halted(struct vm *vm, struct vcpu *v) __attribute__((noreturn));
/* Ends the run: tells gdb, then exits the process with status. */
void vmm_exit(struct vm *vm, int status) __attribute__((noreturn));

/* elf.c: loads PT_LOAD segments at their physical addresses. */
int elf_check(const struct guest_image *img, unsigned machine, char *err, size_t len);
int elf_load(struct vm *vm, const struct guest_image *img, uint64_t *entry,
	     char *err, size_t len);
bool elf_is_elf(const struct guest_image *img);

/* A crash of kvmdbg names its signal, address and code on stderr. */
int vmm_report_crashes(char *err, size_t len);

/* Architecture hooks, vmm/$(ARCH)/. */
extern const unsigned arch_max_vcpus;
extern const uint64_t arch_ram_base;	/* guest-physical start of RAM */
extern const char *const arch_vmm_usage;
extern const bool arch_device_tree;	/* --dtb and --dump-dtb apply */
extern const char *const arch_gdb_views;	/* --gdb-arch values, for people */
int arch_vm_create(struct vm *vm, char *err, size_t len);
int arch_load(struct vm *vm, const struct guest_image *img, char *err, size_t len);
int arch_vcpu_setup(struct vm *vm, struct vcpu *v, char *err, size_t len);
/* Every vCPU exists and none has run yet. */
int arch_vcpus_created(struct vm *vm, char *err, size_t len);
/* Just before KVM_RUN: inject what the machine's devices raised. */
void arch_pre_run(struct vm *vm, struct vcpu *v);
/* Handles an exit the stub did not take; returns only if the guest goes on. */
void arch_handle_exit(struct vm *vm, struct vcpu *v);
/* The register view gdb gets of the loaded guest (kvmdbg_arch_view), or
 * NULL for the backend's default. */
const char *arch_gdb_view(const struct vm *vm);
/* "key: value" lines for kvmdbg probe about the machine (not the stub). */
void arch_probe_describe(int kvm_fd, char *out, size_t len);
/* From a signal handler's context: where it struck, the return address
 * where the architecture keeps one in a register, and the thread pointer
 * where it is a register user space sets and a host kernel may break
 * (else 0 for either). */
void arch_crash_pcs(const void *uctx, uint64_t *pc, uint64_t *ret, uint64_t *tp);

#endif
