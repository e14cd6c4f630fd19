/* SPDX-License-Identifier: MIT */
/*
 * A KVM that runs guest code at CPL 0 in its instruction emulator gives up
 * on instructions the emulator lacks, ending KVM_RUN with an emulation
 * failure.  Linux uses some of them only when CPUID offers the feature
 * (cmpxchg16b: CX16, clac: SMAP, xsave/xrstor: XSAVE...), so those
 * features are taken out of CPUID when a probe guest shows that KVM cannot
 * run them.  Some such KVMs put them back into leaf 1 whatever user space
 * sets; the probe reads CPUID back to notice, and Linux is then told
 * "clearcpuid=..." (linux.c).
 * fwait cannot be hidden; kvmdbg completes it (see machine.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <asm/kvm_para.h>

#include "kvmdbg/host.h"
#include "cpuid.h"
#include "x86bits.h"

#define PROBE_RAM	0x10000
#define PML4		0x1000
#define PDPT		0x2000
#define PD		0x3000
#define CODE		0x4000
#define STACK_TOP	0x8000

enum reg { EBX, ECX, EDX };

/* Features Linux uses as soon as CPUID offers them, each with an
 * instruction that needs it, then hlt. */
static const struct feature {
	const char *name;	/* as /proc/cpuinfo and clearcpuid= spell it */
	uint32_t function;	/* CPUID leaf (subleaf 0) */
	enum reg reg;
	uint32_t bits;
	uint8_t code[12];
	size_t len;		/* 0: no probe of its own, see cpuid_probe() */
} features[] = {
	/* mov edi, 0x7000 (RAM the probe leaves free); cmpxchg16b [rdi] */
	{ "cx16", 1, ECX, 1u << 13,
	  { 0xbf, 0x00, 0x70, 0x00, 0x00, 0x48, 0x0f, 0xc7, 0x0f, 0xf4 }, 10 },
	/* popcnt rax, rbx */
	{ "popcnt", 1, ECX, 1u << 23, { 0xf3, 0x48, 0x0f, 0xb8, 0xc3, 0xf4 }, 6 },
	/* mov edi, 0x7000; movbe eax, [rdi] */
	{ "movbe", 1, ECX, 1u << 22,
	  { 0xbf, 0x00, 0x70, 0x00, 0x00, 0x0f, 0x38, 0xf0, 0x07, 0xf4 }, 10 },
	/* clac: every kernel entry with SMAP */
	{ "smap", 7, EBX, 1u << 20, { 0x0f, 0x01, 0xca, 0xf4 }, 4 },
	/* rdpid rax */
	{ "rdpid", 7, ECX, 1u << 22, { 0xf3, 0x0f, 0xc7, 0xf8, 0xf4 }, 5 },
	/* serialize: sync_core() */
	{ "serialize", 7, EDX, 1u << 14, { 0x0f, 0x01, 0xe8, 0xf4 }, 4 },
	/* XSAVE with what depends on it (OSXSAVE, AVX) */
	{ "xsave", 1, ECX, (1u << 26) | (1u << 27) | (1u << 28), { 0 }, 0 },
	/* rdfsbase and friends need CR4.FSGSBASE, which KVM refuses where
	 * CPUID lacks the feature */
	{ "fsgsbase", 7, EBX, 1u << 0, { 0 }, 0 },
};

#define NFEATURES	(sizeof(features) / sizeof(features[0]))

#define CPUID1_ECX_HYPERVISOR	(1u << 31)
/* Of KVM's paravirtual features, Linux gets only its clock: with it, the
 * TSC's frequency, which Linux otherwise measures against the PIT and
 * gives up on where the guest's timing is too uneven for that (a nested
 * KVM); without a TSC frequency nor a PIT tick (kvmdbg's ACPI is
 * hardware-reduced), its local APIC timer calibration waits forever. */
#define KVM_PV_OFFERED		((1u << KVM_FEATURE_CLOCKSOURCE2) | \
				 (1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT))

/* fwait; hlt */
static const uint8_t fwait_code[] = { 0x9b, 0xf4 };

#define CPUID_ENTRIES	256

static uint32_t *reg_of(struct kvm_cpuid_entry2 *e, enum reg r)
{
	return r == EBX ? &e->ebx : r == ECX ? &e->ecx : &e->edx;
}

/* Clears (or with read, collects) the features of set in c. */
static uint32_t apply(struct kvm_cpuid2 *c, uint32_t set, bool read)
{
	uint32_t found = 0;

	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->index)
			continue;
		for (size_t f = 0; f < NFEATURES; f++) {
			if (!(set & (1u << f)) || e->function != features[f].function)
				continue;
			if (read && (*reg_of(e, features[f].reg) & features[f].bits))
				found |= 1u << f;
			else if (!read)
				*reg_of(e, features[f].reg) &= ~features[f].bits;
		}
	}
	return found;
}

static struct kvm_cpuid2 *supported(int kvm_fd)
{
	int n = CPUID_ENTRIES;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

	if (!c)
		return NULL;
	c->nent = n;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		free(c);
		return NULL;
	}
	return c;
}

static bool long_mode(struct kvmdbg_scratch *s)
{
	struct kvm_sregs sregs;
	struct kvm_segment code = { .limit = 0xffffffff, .selector = 8, .type = 0xb,
				    .present = 1, .s = 1, .l = 1, .g = 1 };
	struct kvm_segment data = { .limit = 0xffffffff, .selector = 0x10, .type = 3,
				    .present = 1, .s = 1, .db = 1, .g = 1 };
	uint64_t *pml4 = (uint64_t *)(s->ram + PML4);
	uint64_t *pdpt = (uint64_t *)(s->ram + PDPT);
	uint64_t *pd = (uint64_t *)(s->ram + PD);

	pml4[0] = PDPT | PTE_P | PTE_W;
	pdpt[0] = PD | PTE_P | PTE_W;
	pd[0] = PTE_P | PTE_W | PTE_PS;		/* 2 MiB at 0 */
	if (ioctl(s->vcpu, KVM_GET_SREGS, &sregs) < 0)
		return false;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.cr3 = PML4;
	sregs.cr4 = CR4_PAE | CR4_OSFXSR;
	sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_PG;
	sregs.efer = EFER_LME | EFER_LMA;
	return ioctl(s->vcpu, KVM_SET_SREGS, &sregs) == 0;
}

/* true when the snippet ran to its hlt. */
static bool runs(struct kvmdbg_scratch *s, const uint8_t *code, size_t n)
{
	struct kvm_regs regs = { .rip = CODE, .rflags = 2, .rsp = STACK_TOP };

	memcpy(s->ram + CODE, code, n);
	if (ioctl(s->vcpu, KVM_SET_REGS, &regs) < 0 || ioctl(s->vcpu, KVM_RUN, 0) < 0)
		return false;
	if (s->run->exit_reason != KVM_EXIT_HLT || ioctl(s->vcpu, KVM_GET_REGS, &regs) < 0)
		return false;
	return regs.rip == CODE + n;
}

void cpuid_probe(int kvm_fd, struct cpuid_hidden *h)
{
	struct kvmdbg_scratch s;
	struct kvm_cpuid2 *c = supported(kvm_fd);
	const uint32_t all = (1u << NFEATURES) - 1;

	*h = (struct cpuid_hidden){ 0 };
	if (!c)
		return;
	apply(c, all, false);
	if (kvmdbg_scratch_open(kvm_fd, PROBE_RAM, &s) == 0 &&
	    ioctl(s.vcpu, KVM_SET_CPUID2, c) == 0 && long_mode(&s)) {
		c->nent = CPUID_ENTRIES;
		if (ioctl(s.vcpu, KVM_GET_CPUID2, c) == 0)
			h->forced = apply(c, all, true);
		h->probed = true;
		for (size_t f = 0; f < NFEATURES; f++)
			if (features[f].len && !runs(&s, features[f].code, features[f].len))
				h->hidden |= 1u << f;
		/* An emulator lacking any of those is KVM's, which has no
		 * xsave family and no fs/gs base instructions either.  A
		 * lone xrstor in a probe guest runs on such a host, yet
		 * Linux's first xrstor ends in an emulation failure there,
		 * so those go with the others. */
		if (h->hidden)
			for (size_t f = 0; f < NFEATURES; f++)
				if (!features[f].len)
					h->hidden |= 1u << f;
		h->forced &= h->hidden;
		h->fwait_completed = !runs(&s, fwait_code, sizeof(fwait_code));
	}
	kvmdbg_scratch_close(&s);
	free(c);
}

void cpuid_names(uint32_t set, char sep, char *out, size_t len)
{
	size_t at = 0;

	out[0] = '\0';
	for (size_t f = 0; f < NFEATURES; f++) {
		if (!(set & (1u << f)))
			continue;
		at += snprintf(out + at, at < len ? len - at : 0, "%s%s",
			       at ? (char[]){ sep, 0 } : "", features[f].name);
	}
	if (!at)
		snprintf(out, len, "none");
}

void cpuid_for_vcpu(struct kvm_cpuid2 *c, unsigned apic_id,
		    const struct cpuid_hidden *h)
{
	apply(c, h->hidden, false);
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x00ffffff) | (apic_id << 24);
			/* Linux looks for KVM's leaves only under this bit. */
			e->ecx |= CPUID1_ECX_HYPERVISOR;
			break;
		case KVM_CPUID_FEATURES:
			e->eax &= KVM_PV_OFFERED;
			e->edx = 0;
			break;
		case 0xb:
		case 0x1f:	/* topology: the x2APIC id in EDX */
			e->edx = apic_id;
			break;
		}
	}
}
