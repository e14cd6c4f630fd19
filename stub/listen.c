/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <netdb.h>
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
	/* A socket left behind by an earlier run would make bind fail;
	 * anything that is not a socket is the user's and stays. */
	if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode) && unlink(path) < 0) {
		snprintf(err, err_len, "cannot remove stale socket %s: %s", path,
			 strerror(errno));
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(fd, 1) < 0) {
		snprintf(err, err_len, "cannot listen on unix socket %s: %s", path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	s->listen_fd = fd;
	snprintf(s->unix_path, sizeof(s->unix_path), "%s", path);
	snprintf(bound, bound_len, "unix:%s", path);
	return 0;
}

static int listen_tcp(struct kvmdbg_stub *s, const char *hostport, char *bound,
		      size_t bound_len, char *err, size_t err_len)
{
	const char *colon = strrchr(hostport, ':');
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[256], port[16], numhost[NI_MAXHOST], numport[NI_MAXSERV];
	int fd, one = 1, rc;

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
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc) {
		snprintf(err, err_len, "cannot resolve gdb address %s:%s: %s", host, port,
			 gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1) < 0) {
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
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    getnameinfo((struct sockaddr *)&ss, sl, numhost, sizeof(numhost), numport,
			sizeof(numport), NI_NUMERICHOST | NI_NUMERICSERV)) {
		snprintf(err, err_len, "cannot read back the gdb listening address: %s",
			 strerror(errno));
		close(fd);
		return -1;
	}
	s->listen_fd = fd;
	snprintf(bound, bound_len, strchr(numhost, ':') ? "tcp:[%s]:%s" : "tcp:%s:%s",
		 numhost, numport);
	return 0;
}

int kvmdbg_stub_listen(struct kvmdbg_stub *s, const char *spec, char *bound,
		       size_t bound_len, char *err, size_t err_len)
{
	if (s->listen_fd >= 0) {
		snprintf(err, err_len, "the gdb stub is already listening");
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

void stub_close_listener(struct kvmdbg_stub *s)
{
	if (s->listen_fd < 0)
		return;
	close(s->listen_fd);
	s->listen_fd = -1;
	if (s->unix_path[0])
		unlink(s->unix_path);
}
