/* SPDX-License-Identifier: MIT */
/* Files the user names on the command line, read whole before the VM exists. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm.h"

int vmm_read_file(const char *path, const char *what, uint64_t max,
		  const uint8_t **data, size_t *size, char *err, size_t len)
{
	struct stat st;
	uint8_t *buf;
	size_t done = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		vmm_err(err, len, "cannot open %s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		vmm_err(err, len, "cannot stat %s %s: %s", what, path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		vmm_err(err, len, "%s %s is not a regular file", what, path);
		goto fail;
	}
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
