/* SPDX-License-Identifier: MIT */
/*
 * Guest files (the kernel, an initrd) are mapped rather than read: a
 * vmlinux with its symbols is hundreds of megabytes of which only the
 * loadable part is ever touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm.h"

int vmm_load_file(const char *path, const char *what, const uint8_t **data,
		  size_t *size, uint64_t max, char *err, size_t len)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		vmm_err(err, len, "cannot open %s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		vmm_err(err, len, "cannot stat %s %s: %s", what, path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || !st.st_size || (uint64_t)st.st_size > max) {
		vmm_err(err, len, !S_ISREG(st.st_mode) ? "%s %s is not a regular file" :
			!st.st_size ? "%s %s is empty" :
			"%s %s is larger than any guest RAM kvmdbg provides", what, path);
		close(fd);
		return -1;
	}
	p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		vmm_err(err, len, "cannot read %s %s: %s", what, path, strerror(errno));
		return -1;
	}
	*data = p;
	*size = st.st_size;
	return 0;
}
