/* SPDX-License-Identifier: MIT */
/*
 * What the Multiboot, direct 64-bit and Linux entries build alike: flat
 * segments, identity page tables with 2 MiB pages, and loading a vCPU's
 * entry registers.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "x86bits.h"
#include "x86vmm.h"

void identity_map(uint8_t *tables, uint64_t gpa, uint64_t gib)
{
	uint64_t *pml4 = (uint64_t *)tables;
	uint64_t *pdpt = (uint64_t *)(tables + 0x1000);
	uint64_t *pd = (uint64_t *)(tables + 0x2000);

	pml4[0] = (gpa + 0x1000) | PTE_P | PTE_W;
	for (uint64_t g = 0; g < gib; g++)
		pdpt[g] = (gpa + 0x2000 + g * 0x1000) | PTE_P | PTE_W;
	for (uint64_t i = 0; i < gib * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_W | PTE_PS;
}

void flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64)
{
	*s = (struct kvm_segment){ .base = 0, .limit = 0xffffffff, .selector = sel,
				   .type = type, .present = 1, .s = 1, .g = 1,
				   .l = code64, .db = !code64 };
}

int set_entry_state(struct vcpu *v, const struct kvm_sregs *sregs,
		    const struct kvm_regs *regs, const char *what,
		    char *err, size_t len)
{
	/* x87 and SSE control words as after FNINIT and reset. */
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };

	if (ioctl(v->fd, KVM_SET_SREGS, sregs) < 0 ||
	    ioctl(v->fd, KVM_SET_REGS, regs) < 0 ||
	    ioctl(v->fd, KVM_SET_FPU, &fpu) < 0) {
		vmm_err(err, len, "cannot set the %s entry state: %s", what, strerror(errno));
		return -1;
	}
	return 0;
}
