/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm.h"

void vmm_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

void *vmm_gpa(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (gpa < vm->ram_base || len > vm->ram_size ||
	    gpa - vm->ram_base > vm->ram_size - len)
		return NULL;
	return vm->ram + (gpa - vm->ram_base);
}

int vmm_copy_in(struct vm *vm, uint64_t gpa, const void *src, size_t len,
		char *err, size_t err_len)
{
	void *dst = vmm_gpa(vm, gpa, len);

	if (!dst) {
		vmm_err(err, err_len,
			"guest data at 0x%llx-0x%llx does not fit in guest RAM 0x%llx-0x%llx (try a larger --mem)",
			(unsigned long long)gpa, (unsigned long long)(gpa + len),
			(unsigned long long)vm->ram_base,
			(unsigned long long)(vm->ram_base + vm->ram_size));
		return -1;
	}
	memcpy(dst, src, len);
	return 0;
}

void vmm_vcpu_halted(struct vm *vm, struct vcpu *v)
{
	bool all;

	pthread_mutex_lock(&vm->exit_lock);
	all = ++vm->halted == vm->nvcpus;
	pthread_mutex_unlock(&vm->exit_lock);
	if (all)
		vmm_exit(vm, 0);
	/* Stay where all-stop can find it: pre_run parks it when gdb stops
	 * the VM. */
	for (;;) {
		kvmdbg_vcpu_pre_run(vm->stub, v->idx);
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	}
}

void vmm_exit(struct vm *vm, int status)
{
	pthread_mutex_lock(&vm->exit_lock);
	if (vm->exiting) {
		/* Another vCPU is already ending the run. */
		pthread_mutex_unlock(&vm->exit_lock);
		for (;;)
			pause();
	}
	vm->exiting = true;
	pthread_mutex_unlock(&vm->exit_lock);
	if (vm->stub)
		kvmdbg_stub_guest_exited(vm->stub, status);
	fflush(stdout);
	_exit(status);
}
