/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"

/* 1 when a process accepts connections on the socket at sun, 0 when
 * the socket was left behind by one that is gone, -1 with errno when
 * that cannot be told. */
static int unix_socket_live(const struct sockaddr_un *sun)
{
	/* Non-blocking: a live listener with a full backlog answers EAGAIN
	 * instead of making us wait. */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), live, e;

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0 || errno == EAGAIN)
		live = 1;
	else if (errno == ECONNREFUSED)
		live = 0;
	else
		live = -1;
	e = errno;
	close(fd);
	errno = e;
	return live;
}

/* Binds fd to sun; a socket file whose owner is gone is replaced, a live
 * one and anything that is not a socket are left alone. */
static int bind_unix(int fd, const struct sockaddr_un *sun, char *err, size_t err_len)
{
	const char *path = sun->sun_path;
	struct stat st;
	int live;

	if (bind(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0)
		return 0;
	if (errno != EADDRINUSE) {
		snprintf(err, err_len, "cannot listen on unix socket %s: %s", path,
			 strerror(errno));
		return -1;
	}
	if (lstat(path, &st) < 0) {
		snprintf(err, err_len, "cannot listen on unix socket %s: %s", path,
			 strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, err_len, "%s exists and is not a socket; choose another path with --gdb unix:PATH",
			 path);
		return -1;
	}
	live = unix_socket_live(sun);
	if (live) {
		if (live > 0)
			snprintf(err, err_len,
				 "unix socket %s is already in use by another process; choose another path with --gdb unix:PATH",
				 path);
		else
			snprintf(err, err_len, "cannot tell whether unix socket %s is in use: %s",
				 path, strerror(errno));
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(err, err_len, "cannot remove stale socket %s: %s", path, strerror(errno));
		return -1;
	}
	if (bind(fd, (const struct sockaddr *)sun, sizeof(*sun)) < 0) {
		snprintf(err, err_len, "cannot listen on unix socket %s: %s", path,
			 strerror(errno));
		return -1;
	}
	return 0;
}

static int listen_unix(struct kvmdbg_stub *s, const char *path, char *bound,
		       size_t bound_len, char *err, size_t err_len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (!*path || strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, err_len, "unix socket path '%s' is empty or longer than %zu bytes",
			 path, sizeof(sun.sun_path) - 1);
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, err_len, "cannot create a unix socket: %s", strerror(errno));
		return -1;
	}
	if (bind_unix(fd, &sun, err, err_len) < 0) {
		close(fd);
		return -1;
	}
	/* Whoever connects controls the guest: owner only, whatever the
	 * umask.  Nobody can connect before listen(), so there is no window
	 * with a wider mode. */
	if (chmod(path, S_IRUSR | S_IWUSR) < 0 || lstat(path, &st) < 0 ||
	    listen(fd, 1) < 0) {
		snprintf(err, err_len, "cannot listen on unix socket %s: %s", path,
			 strerror(errno));
		unlink(path);
		close(fd);
		return -1;
	}
	s->listen_fd = fd;
	s->unix_dev = st.st_dev;
	s->unix_ino = st.st_ino;
	snprintf(s->unix_path, sizeof(s->unix_path), "%s", path);
	snprintf(bound, bound_len, "unix:%s", path);
	return 0;
}

/* Numeric addresses only (and "localhost"): no resolver, so the stub
 * links statically and never exposes the guest to a surprise address. */
static int parse_addr(const char *host, const char *port, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char *end;
	unsigned long p;

	errno = 0;
	p = strtoul(port, &end, 10);
	if (!*port || *end || errno || p > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (!strcmp(host, "localhost"))
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(p);
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(p);
		*len = sizeof(*in6);
		return 0;
	}
	return -1;
}

static int listen_tcp(struct kvmdbg_stub *s, const char *hostport, char *bound,
		      size_t bound_len, char *err, size_t err_len)
{
	const char *colon = strrchr(hostport, ':');
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[256], port[16], numhost[INET6_ADDRSTRLEN];
	int fd, one = 1;

	if (!colon || (size_t)(colon - hostport) >= sizeof(host) ||
	    strlen(colon + 1) >= sizeof(port) || !colon[1]) {
		snprintf(err, err_len, "bad --gdb address 'tcp:%s': expected tcp:HOST:PORT",
			 hostport);
		return -1;
	}
	memcpy(host, hostport, colon - hostport);
	host[colon - hostport] = 0;
	strcpy(port, colon + 1);
	/* An empty host means loopback: never expose the guest by default. */
	if (!*host)
		strcpy(host, "127.0.0.1");
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	if (parse_addr(host, port, &ss, &sl) < 0) {
		snprintf(err, err_len,
			 "bad --gdb address '%s:%s': expected a numeric IP address (or localhost) and a port 0-65535",
			 host, port);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 1) < 0) {
		int e = errno;

		if (e == EADDRINUSE)
			snprintf(err, err_len,
				 "port %s on %s is already in use; choose another with --gdb tcp:%s:PORT",
				 port, host, host);
		else
			snprintf(err, err_len, "cannot listen on %s:%s: %s", host, port,
				 strerror(e));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		snprintf(err, err_len, "cannot read back the gdb listening address: %s",
			 strerror(errno));
		close(fd);
		return -1;
	}
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, numhost, sizeof(numhost));
		snprintf(bound, bound_len, "tcp:[%s]:%u", numhost, ntohs(in6->sin6_port));
	} else {
		struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &in4->sin_addr, numhost, sizeof(numhost));
		snprintf(bound, bound_len, "tcp:%s:%u", numhost, ntohs(in4->sin_port));
	}
	s->listen_fd = fd;
	return 0;
}

int kvmdbg_stub_listen(struct kvmdbg_stub *s, const char *spec, char *bound,
		       size_t bound_len, char *err, size_t err_len)
{
	if (s->listen_fd >= 0 || s->given_fd >= 0) {
		snprintf(err, err_len, "the gdb stub is already listening or connected");
		return -1;
	}
	if (!strncmp(spec, "tcp:", 4))
		return listen_tcp(s, spec + 4, bound, bound_len, err, err_len);
	if (!strncmp(spec, "unix:", 5))
		return listen_unix(s, spec + 5, bound, bound_len, err, err_len);
	snprintf(err, err_len, "bad --gdb address '%s': expected tcp:HOST:PORT or unix:PATH",
		 spec);
	return -1;
}

void stub_remove_socket_locked(struct kvmdbg_stub *s)
{
	struct stat st;

	/* Once only, and only while the path is still this stub's socket:
	 * after it is gone another instance may listen there. */
	if (s->unix_path[0] && lstat(s->unix_path, &st) == 0 &&
	    st.st_dev == s->unix_dev && st.st_ino == s->unix_ino &&
	    unlink(s->unix_path) < 0)
		stub_log(s, "cannot remove unix socket %s: %s", s->unix_path,
			strerror(errno));
	s->unix_path[0] = 0;
}

void stub_close_listener(struct kvmdbg_stub *s)
{
	if (s->listen_fd < 0)
		return;
	pthread_mutex_lock(&s->lock);
	stub_remove_socket_locked(s);
	pthread_mutex_unlock(&s->lock);
	close(s->listen_fd);
	s->listen_fd = -1;
}
