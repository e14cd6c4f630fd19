/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kvmdbg/arch.h"
#include "kvmdbg/stub.h"

static void add(char *out, size_t len, const char *fmt, ...)
{
	size_t used = strlen(out);
	va_list ap;

	if (used >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(out + used, len - used, fmt, ap);
	va_end(ap);
}

static const char *how(enum kvmdbg_mechanism m)
{
	switch (m) {
	case KVMDBG_MECH_DEBUG_EXIT:
		return "reported as KVM_EXIT_DEBUG";
	case KVMDBG_MECH_EMULATION_EXIT:
		return "reported as an emulation-failure exit with the pc on the trap";
	default:
		return "not reported by this host";
	}
}

void kvmdbg_caps_describe(const struct kvmdbg_arch_ops *arch,
			  const struct kvmdbg_caps *c, char *out, size_t len)
{
	if (!len)
		return;
	out[0] = 0;
	add(out, len, "arch: %s\n", arch->name);
	add(out, len, "guest-debug: %s (KVM_CAP_SET_GUEST_DEBUG2 flags 0x%x)\n",
	    c->guest_debug ? "yes" : "no", c->debug_flags);
	if (c->swbp)
		add(out, len, "sw-breakpoints: yes, unlimited: %s written into guest memory, %s\n",
		    arch->trap_name, how(c->swbp));
	else
		add(out, len, "sw-breakpoints: no: %s\n", how(c->swbp));
	if (c->hwbp)
		add(out, len, "hw-breakpoints: yes, %u slots (%s), %s\n", c->hw_bps,
		    arch->hw_name, how(c->hwbp));
	else
		add(out, len, "hw-breakpoints: no: %s\n", how(c->hwbp));
	if (c->watch)
		add(out, len, "watchpoints: write/access by %u %s slots%s, %s; then by page protection\n",
		    c->hw_wps, arch->hw_name, c->hw_shared ? " shared with hw-breakpoints" : "",
		    how(c->watch));
	else
		add(out, len, "watchpoints: page protection only: data breakpoints in %s %s\n",
		    arch->hw_name, how(c->watch));
	add(out, len, "page-watch: write %s; read and access %s\n",
	    c->readonly_mem ? "by read-only memory slots (unlimited)"
			    : "unavailable (no KVM_CAP_READONLY_MEM)",
	    arch->fetch_from_unmapped_exits ? "by unmapped pages (unlimited)"
					    : "by debug registers only on this architecture");
	if (c->step)
		add(out, len, "single-step: yes, %s%s\n", how(c->step),
		    c->blockirq ? ", interrupts held off while stepping"
				: ", interrupts may be taken while stepping");
	else
		add(out, len, "single-step: no: %s\n", how(c->step));
	if (arch->regs_sync)
		add(out, len, "stop-registers: %s\n", c->sync_regs ?
		    "read from kvm_run at each debug exit (KVM_CAP_SYNC_REGS)" :
		    "read by ioctl (KVM_CAP_SYNC_REGS absent or not verified)");
	if (c->trap_delivery[0])
		add(out, len, "guest %s delivery: %s\n", arch->trap_name, c->trap_delivery);
	if (c->debug_delivery[0])
		add(out, len, "guest debug exception delivery: %s\n", c->debug_delivery);
	if (c->note[0])
		add(out, len, "note: %s\n", c->note);
}

void kvmdbg_arch_probe(const struct kvmdbg_arch_ops *arch, int kvm_fd,
		       struct kvmdbg_caps *caps)
{
	static const struct kvmdbg_probe_env env = {
		.scratch_open = kvmdbg_scratch_open,
		.scratch_close = kvmdbg_scratch_close,
		.common_caps = kvmdbg_probe_caps,
	};

	arch->probe(kvm_fd, &env, caps);
}
