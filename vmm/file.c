/* SPDX-License-Identifier: MIT */
/* Files the user names on the command line, read whole before the VM exists. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
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

static int check_regular(const char *path, const char *what, const struct stat *st,
			 char *err, size_t len)
{
	if (S_ISREG(st->st_mode))
		return 0;
	vmm_err(err, len, "%s %s is not a regular file (it is %s)", what, path,
		file_kind(st->st_mode));
	return -1;
}

int vmm_read_file(const char *path, const char *what, uint64_t max,
		  const uint8_t **data, size_t *size, char *err, size_t len)
{
	struct stat st;
	uint8_t *buf;
	size_t done = 0;
	int fd;

	/* Only a regular file is ever opened: open() of a FIFO waits for a
	 * writer, and a device may act on being opened.  O_NONBLOCK covers
	 * a path replaced between the two looks. */
	if (stat(path, &st) < 0) {
		vmm_err(err, len, "cannot open %s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (check_regular(path, what, &st, err, len) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		vmm_err(err, len, "cannot open %s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		vmm_err(err, len, "cannot stat %s %s: %s", what, path, strerror(errno));
		goto fail;
	}
	if (check_regular(path, what, &st, err, len) < 0)
		goto fail;
	if (!st.st_size) {
		vmm_err(err, len, "%s %s is empty", what, path);
		goto fail;
	}
	if ((uint64_t)st.st_size > max) {
		vmm_err(err, len, "%s %s is larger than kvmdbg can place (%llu MiB at most)",
			what, path, (unsigned long long)(max >> 20));
		goto fail;
	}
	buf = malloc(st.st_size);
	if (!buf) {
		vmm_err(err, len, "out of memory reading %s", path);
		goto fail;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			vmm_err(err, len, "cannot read %s %s: %s", what, path,
				n ? strerror(errno) : "short read");
			free(buf);
			goto fail;
		}
		done += n;
	}
	close(fd);
	*data = buf;
	*size = done;
	return 0;
fail:
	close(fd);
	return -1;
}
