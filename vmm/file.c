/* SPDX-License-Identifier: MIT */
/*
 * Files the user names on the command line (the guest, an initrd, a
 * device tree) are mapped rather than read: a vmlinux with its symbols is
 * hundreds of megabytes of which only the loadable part is ever touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm.h"

static const char *file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "an unknown kind of file";
}

static int check_file(const char *path, const char *what, const struct stat *st,
		      uint64_t max, char *err, size_t len)
{
	if (!S_ISREG(st->st_mode)) {
		vmm_err(err, len, "%s %s is not a regular file (it is %s)", what, path,
			file_kind(st->st_mode));
		return -1;
	}
	if (!st->st_size) {
		vmm_err(err, len, "%s %s is empty", what, path);
		return -1;
	}
	if ((uint64_t)st->st_size > max) {
		vmm_err(err, len, "%s %s is larger than kvmdbg can place (%llu MiB at most)",
			what, path, (unsigned long long)(max >> 20));
		return -1;
	}
	return 0;
}

int vmm_load_file(const char *path, const char *what, const uint8_t **data,
		  size_t *size, uint64_t max, char *err, size_t len)
{
	struct stat st;
	void *p;
	int fd;

	/* Only a regular file is ever opened: open() of a FIFO waits for a
	 * writer, and a device may act on being opened.  O_NONBLOCK covers
	 * a path replaced between the two looks. */
	if (stat(path, &st) < 0) {
		vmm_err(err, len, "cannot open %s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (check_file(path, what, &st, max, err, len) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		vmm_err(err, len, "cannot open %s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		vmm_err(err, len, "cannot stat %s %s: %s", what, path, strerror(errno));
		close(fd);
		return -1;
	}
	if (check_file(path, what, &st, max, err, len) < 0) {
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
