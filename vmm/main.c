/* SPDX-License-Identifier: MIT */
/*
 * kvmdbg: a KVM machine monitor built for debugging its guest with gdb.
 * Everything that can be wrong with the command line, the guest file, the
 * KVM device or the gdb address is found before the guest's VM exists.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm.h"

#define DEFAULT_MEM	(64ull << 20)
#define MAX_MEM		(3ull << 30)	/* below the 32-bit MMIO hole */

static const char usage[] =
	"usage: kvmdbg run [options] GUEST [-- guest arguments]\n"
	"       kvmdbg probe [--kvm PATH]\n"
	"\n"
	"options:\n"
	"  --mem SIZE            guest RAM, e.g. 64M or 1G (default 64M)\n"
	"  -smp N, --smp N       number of vCPUs (default 1)\n"
	"  --gdb tcp:HOST:PORT   gdb stub on a TCP address (PORT 0: any free port)\n"
	"  --gdb unix:PATH       gdb stub on a unix socket\n"
	"  -s                    same as --gdb tcp:127.0.0.1:1234\n"
	"  -S, --wait            hold the guest before its first instruction until\n"
	"                        gdb connects and continues\n"
	"  --gdb-arch ARCH       the registers gdb sees (x86: i386:x86-64, or i386,\n"
	"                        the default for an ELF32 Multiboot kernel)\n"
	"  --load-addr ADDR      load GUEST as a raw binary at ADDR (with --entry)\n"
	"  --entry ADDR          entry point of a raw binary\n"
	"  --initrd FILE, -initrd FILE\n"
	"                        initial RAM disk for a Linux kernel\n"
	"  --append CMDLINE, -append CMDLINE\n"
	"                        the Linux kernel's command line\n"
	"  --dtb FILE, -dtb FILE device tree to boot with instead of the generated\n"
	"                        one (arm64; kvmdbg still fills its /chosen node)\n"
	"  --dump-dtb FILE       write the device tree kvmdbg would boot with to\n"
	"                        FILE and exit (arm64)\n"
	"  --kvm PATH            KVM device (default /dev/kvm)\n"
	"  --no-guest-debug      run as on a host without KVM guest debugging:\n"
	"                        breakpoints and steps are refused\n"
	"  -h, --help            this text\n"
	"  --version             version\n";

struct options {
	uint64_t mem;
	uint64_t smp;
	const char *gdb;
	const char *gdb_arch;
	bool wait;
	bool no_guest_debug;
	bool have_load_addr, have_entry;
	uint64_t load_addr, entry;
	const char *kvm;
	const char *guest;
	char *cmdline;
	const char *initrd;
	const char *append;
	const char *dtb;
	const char *dump_dtb;
};

/* Listening but not yet started: die() removes its unix socket file. */
static struct kvmdbg_stub *setup_stub;

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
	va_list ap;

	kvmdbg_stub_free(setup_stub);
	fputs("kvmdbg: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(VMM_EXIT_SETUP);
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return *s && *s != '-' && !*end && !errno;
}

static bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	uint64_t v, shift = 0;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (!*s || *s == '-' || errno || end == s)
		return false;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (*end || v > (UINT64_MAX >> shift))
		return false;
	*out = v << shift;
	return true;
}

static const char *need_arg(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc)
		die("option %s needs a value; see kvmdbg --help", argv[*i]);
	return argv[++*i];
}

/* The guest's command line: its file name and the words after "--". */
static char *join_cmdline(const char *guest, int argc, char **argv)
{
	size_t len = strlen(guest) + 1;
	char *s;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = malloc(len);
	if (!s)
		die("out of memory");
	strcpy(s, guest);
	for (int i = 0; i < argc; i++) {
		strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

static void parse_run(int argc, char **argv, struct options *o)
{
	int i;

	for (i = 2; i < argc && !o->guest; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--mem")) {
			if (!parse_size(need_arg(argc, argv, &i), &o->mem) || !o->mem)
				die("bad --mem '%s': expected a size like 64M or 1G", argv[i]);
		} else if (!strcmp(a, "-smp") || !strcmp(a, "--smp")) {
			if (!parse_u64(need_arg(argc, argv, &i), &o->smp) || !o->smp ||
			    o->smp > arch_max_vcpus)
				die("bad -smp '%s': expected 1 to %u vCPUs", argv[i],
				    arch_max_vcpus);
		} else if (!strcmp(a, "--gdb")) {
			o->gdb = need_arg(argc, argv, &i);
		} else if (!strcmp(a, "--gdb-arch")) {
			o->gdb_arch = need_arg(argc, argv, &i);
			if (!kvmdbg_arch_view(o->gdb_arch))
				die("bad --gdb-arch '%s': this kvmdbg offers %s", o->gdb_arch,
				    arch_gdb_views);
		} else if (!strcmp(a, "-s")) {
			o->gdb = "tcp:127.0.0.1:1234";
		} else if (!strcmp(a, "-S") || !strcmp(a, "--wait")) {
			o->wait = true;
		} else if (!strcmp(a, "--no-guest-debug")) {
			o->no_guest_debug = true;
		} else if (!strcmp(a, "--load-addr")) {
			if (!parse_u64(need_arg(argc, argv, &i), &o->load_addr))
				die("bad --load-addr '%s': expected an address", argv[i]);
			o->have_load_addr = true;
		} else if (!strcmp(a, "--entry")) {
			if (!parse_u64(need_arg(argc, argv, &i), &o->entry))
				die("bad --entry '%s': expected an address", argv[i]);
			o->have_entry = true;
		} else if (!strcmp(a, "--kvm")) {
			o->kvm = need_arg(argc, argv, &i);
		} else if (!strcmp(a, "--initrd") || !strcmp(a, "-initrd")) {
			o->initrd = need_arg(argc, argv, &i);
		} else if (!strcmp(a, "--append") || !strcmp(a, "-append")) {
			o->append = need_arg(argc, argv, &i);
		} else if (!strcmp(a, "--dtb") || !strcmp(a, "-dtb")) {
			o->dtb = need_arg(argc, argv, &i);
		} else if (!strcmp(a, "--dump-dtb")) {
			o->dump_dtb = need_arg(argc, argv, &i);
		} else if (a[0] == '-' && a[1]) {
			die("unknown option '%s'; see kvmdbg --help", a);
		} else {
			o->guest = a;
		}
	}
	if (!o->guest)
		die("no guest file given; see kvmdbg --help");
	if (i < argc && strcmp(argv[i], "--"))
		die("unexpected '%s' after the guest file; guest arguments go after '--'",
		    argv[i]);
	o->cmdline = join_cmdline(o->guest, i < argc ? argc - i - 1 : 0, argv + i + 1);
	if (o->mem > MAX_MEM || o->mem < (2ull << 20))
		die("--mem must be between 2M and 3G");
	if (o->have_load_addr != o->have_entry)
		die("a raw binary needs both --load-addr and --entry");
	if (o->wait && !o->gdb)
		die("--wait needs a gdb stub: add --gdb tcp:127.0.0.1:PORT or -s");
	if ((o->dtb || o->dump_dtb) && !arch_device_tree)
		die("%s: this machine has no device tree (--dtb and --dump-dtb are for arm64)",
		    o->dtb ? "--dtb" : "--dump-dtb");
}

static int open_kvm(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC), version;

	if (fd < 0) {
		if (errno == ENOENT)
			die("%s does not exist: this host has no KVM (load the kvm module, or enable virtualization)",
			    path);
		if (errno == EACCES)
			die("no permission to open %s: run as root or join the group that owns it",
			    path);
		die("cannot open %s: %s", path, strerror(errno));
	}
	version = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION)
		die("%s is not a usable KVM device (API version %d, need %d)", path,
		    version, KVM_API_VERSION);
	return fd;
}

static void read_guest(const struct options *o, struct guest_image *img)
{
	char err[512];

	if (vmm_load_file(o->guest, "guest", &img->data, &img->size, MAX_MEM, err,
			  sizeof(err)) < 0)
		die("%s", err);
	img->path = o->guest;
	if (o->initrd) {
		if (vmm_load_file(o->initrd, "initrd", &img->initrd, &img->initrd_size,
				  MAX_MEM, err, sizeof(err)) < 0)
			die("%s", err);
		img->initrd_path = o->initrd;
	}
	img->append = o->append;
}

static void *vcpu_main(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;

	for (;;) {
		bool repaired;
		int r, err;

		kvmdbg_vcpu_pre_run(vm->stub, v->idx);
		arch_pre_run(vm, v);
		r = kvmdbg_kvm_run(kvmdbg_arch(), v->fd, &repaired);
		err = r < 0 ? errno : 0;
		if (repaired && !atomic_exchange(&vm->host_bug_told, true))
			fprintf(stderr, "kvmdbg: warning: KVM_RUN came back to vCPU %u's thread "
				"with its thread pointer changed, a bug of this host's kernel; "
				"kvmdbg put it back and goes on (said once)\n", v->idx);
		if (kvmdbg_vcpu_post_run(vm->stub, v->idx, err))
			continue;
		/* A vCPU waiting for INIT/SIPI in KVM returns EAGAIN once its
		 * state changed: it runs from where the SIPI put it. */
		if (err == EAGAIN)
			continue;
		if (err) {
			fprintf(stderr, "kvmdbg: KVM_RUN on vCPU %u failed: %s\n", v->idx,
				strerror(err));
			vmm_exit(vm, VMM_EXIT_CRASH);
		}
		arch_handle_exit(vm, v);
	}
	return NULL;
}

static void create_vcpu(struct vm *vm, struct vcpu *v, unsigned idx)
{
	char err[256];

	v->vm = vm;
	v->idx = idx;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, idx);
	if (v->fd < 0)
		die("cannot create vCPU %u: %s", idx, strerror(errno));
	v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED)
		die("cannot map vCPU %u state: %s", idx, strerror(errno));
	if (arch_vcpu_setup(vm, v, err, sizeof(err)) < 0)
		die("%s", err);
}

static void kill_guest(void *opaque)
{
	fprintf(stderr, "kvmdbg: guest killed by gdb\n");
	fflush(stdout);
	_exit(0);
}

static void *gpa_to_hva(void *opaque, uint64_t gpa, uint64_t len)
{
	return vmm_gpa(opaque, gpa, len);
}

static void on_kick(int sig)
{
	/* Its only job is to interrupt KVM_RUN. */
}

/* Without SA_RESTART: KVM_RUN must return with EINTR. */
static void install_kick_handlers(void)
{
	struct sigaction sa = { .sa_handler = on_kick };

	sigemptyset(&sa.sa_mask);
	if (sigaction(VMM_KICK_SIGNAL, &sa, NULL) < 0 ||
	    sigaction(VMM_TIMER_SIGNAL, &sa, NULL) < 0)
		die("cannot install the vCPU kick signal handlers: %s", strerror(errno));
}

static int run(int argc, char **argv)
{
	struct options o = { .mem = DEFAULT_MEM, .smp = 1, .kvm = "/dev/kvm" };
	struct guest_image img = { 0 };
	struct kvmdbg_caps caps;
	struct vm vm = { .vm_fd = -1 };
	struct kvm_userspace_memory_region region = { 0 };
	const struct kvmdbg_arch_ops *arch = kvmdbg_arch();
	char err[512], bound[300];
	int sz, nslots;

	parse_run(argc, argv, &o);
	read_guest(&o, &img);
	img.raw = o.have_load_addr;
	img.load_addr = o.load_addr;
	img.entry = o.entry;
	img.cmdline = o.cmdline;
	img.dtb_path = o.dtb;
	img.dump_dtb_path = o.dump_dtb;
	vm.kvm_fd = open_kvm(o.kvm);
	vm.ram_size = o.mem;
	vm.ram_base = arch_ram_base;
	vm.nvcpus = o.smp;
	vm.ram = mmap(NULL, vm.ram_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm.ram == MAP_FAILED)
		die("cannot allocate %" PRIu64 " bytes of guest RAM: %s", vm.ram_size,
		    strerror(errno));
	if (arch_load(&vm, &img, err, sizeof(err)) < 0)
		die("%s", err);
	if (o.gdb_arch)
		arch = kvmdbg_arch_view(o.gdb_arch);
	else if (arch_gdb_view(&vm) && kvmdbg_arch_view(arch_gdb_view(&vm)))
		arch = kvmdbg_arch_view(arch_gdb_view(&vm));
	kvmdbg_arch_probe(arch, vm.kvm_fd, &caps);
	if (o.no_guest_debug) {
		/* Page-protection watchpoints need no guest debugging, and an
		 * emulating host still hands the guest's own int3 to kvmdbg. */
		struct kvmdbg_caps probed = caps;

		caps = (struct kvmdbg_caps){ .readonly_mem = probed.readonly_mem,
					     .trap_pc_fix = probed.trap_pc_fix,
					     .trap_fix_exit = probed.trap_fix_exit };
		memcpy(caps.trap_delivery, probed.trap_delivery, sizeof(caps.trap_delivery));
		snprintf(caps.note, sizeof(caps.note),
			 "guest debugging turned off with --no-guest-debug");
	}
	install_kick_handlers();
	vm.stub = kvmdbg_stub_new(&(struct kvmdbg_stub_config){
		.arch = arch, .caps = &caps,
		.mem = { .gpa_to_hva = gpa_to_hva, .opaque = &vm },
		.signo = VMM_KICK_SIGNAL, .wait = o.wait, .kill = kill_guest,
	});
	if (!vm.stub)
		die("cannot create the gdb stub: %s", strerror(errno));
	if (o.gdb) {
		if (kvmdbg_stub_listen(vm.stub, o.gdb, bound, sizeof(bound), err,
				       sizeof(err)) < 0)
			die("%s", err);
		setup_stub = vm.stub;
	}
	if (pthread_mutex_init(&vm.exit_lock, NULL))
		die("cannot initialise a mutex");

	vm.vm_fd = ioctl(vm.kvm_fd, KVM_CREATE_VM, 0);
	if (vm.vm_fd < 0)
		die("cannot create a VM: %s", strerror(errno));
	region.memory_size = vm.ram_size;
	region.guest_phys_addr = vm.ram_base;
	region.userspace_addr = (uintptr_t)vm.ram;
	if (ioctl(vm.vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die("cannot give the guest its RAM: %s", strerror(errno));
	if (arch_vm_create(&vm, err, sizeof(err)) < 0)
		die("%s", err);
	vm.ram_slot = (struct kvmdbg_ram_slot){ .slot = 0, .gpa = vm.ram_base,
						.size = vm.ram_size, .hva = vm.ram };
	nslots = ioctl(vm.kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	if (nslots > 1)
		kvmdbg_stub_set_memslots(vm.stub, vm.vm_fd, &vm.ram_slot, 1, 1,
					 (unsigned)nslots - 1);
	sz = ioctl(vm.kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < 0)
		die("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	vm.run_size = sz;
	vm.vcpus = calloc(vm.nvcpus, sizeof(*vm.vcpus));
	if (!vm.vcpus)
		die("out of memory");
	for (unsigned i = 0; i < vm.nvcpus; i++) {
		int idx;

		create_vcpu(&vm, &vm.vcpus[i], i);
		idx = kvmdbg_stub_add_vcpu(vm.stub, vm.vcpus[i].fd, vm.vcpus[i].run);
		if (idx < 0)
			die("cannot register vCPU %u with the stub: %s", i, strerror(-idx));
	}
	if (arch_vcpus_created(&vm, err, sizeof(err)) < 0)
		die("%s", err);
	if (o.gdb) {
		int e = kvmdbg_stub_start(vm.stub);

		if (e < 0)
			die("cannot start the gdb stub: %s", strerror(-e));
		setup_stub = NULL;
		fprintf(stderr, "kvmdbg: gdb stub listening on %s\n", bound);
	}
	for (unsigned i = 0; i < vm.nvcpus; i++) {
		int e = pthread_create(&vm.vcpus[i].thread, NULL, vcpu_main, &vm.vcpus[i]);
		char name[32];	/* under 16 in use: arch_max_vcpus is below 1000 */

		if (e) {
			fprintf(stderr, "kvmdbg: cannot start vCPU %u thread: %s\n", i,
				strerror(e));
			vmm_exit(&vm, VMM_EXIT_SETUP);
		}
		/* For top -H, ps -L and a debugger attached to kvmdbg itself. */
		snprintf(name, sizeof(name), "kvmdbg-vcpu%u", i);
		e = pthread_setname_np(vm.vcpus[i].thread, name);
		if (e)
			fprintf(stderr, "kvmdbg: warning: cannot name vCPU %u's thread: %s\n", i,
				strerror(e));
	}
	for (unsigned i = 0; i < vm.nvcpus; i++)
		pthread_join(vm.vcpus[i].thread, NULL);
	return 0;
}

static int probe(int argc, char **argv)
{
	const char *path = "/dev/kvm";
	struct kvmdbg_caps caps;
	char out[2048];
	int fd;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--kvm"))
			path = need_arg(argc, argv, &i);
		else
			die("unknown probe option '%s'; see kvmdbg --help", argv[i]);
	}
	fd = open_kvm(path);
	kvmdbg_arch_probe(kvmdbg_arch(), fd, &caps);
	kvmdbg_caps_describe(kvmdbg_arch(), &caps, out, sizeof(out));
	fputs(out, stdout);
	arch_probe_describe(fd, out, sizeof(out));
	fputs(out, stdout);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	char err[160];

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		fputs(arch_vmm_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? VMM_EXIT_SETUP : 0;
	}
	if (!strcmp(argv[1], "--version")) {
		puts("kvmdbg " KVMDBG_VERSION);
		return 0;
	}
	if (vmm_report_crashes(err, sizeof(err)) < 0)
		die("%s", err);
	if (!strcmp(argv[1], "run"))
		return run(argc, argv);
	if (!strcmp(argv[1], "probe"))
		return probe(argc, argv);
	die("unknown command '%s'; see kvmdbg --help", argv[1]);
}
