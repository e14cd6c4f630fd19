/* SPDX-License-Identifier: MIT */
/*
 * The stub's life as an embedding VMM sees it, through the public API
 * alone and without KVM: freeing a running stub ends its thread and its
 * sockets, with or without gdb connected, a connected socket given by the
 * VMM serves gdb, and the VMM's own immediate_exit is left alone.  vCPU 0 has no KVM vCPU behind it (fd -1): what
 * the stub would do to it only fails, into the log.
 */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include <kvmdbg/stub.h>

/* Only a hang guard. */
#define RECV_TIMEOUT_S	60

static struct kvmdbg_caps caps;
static struct kvm_run run;

static void quiet_log(void *opaque, const char *line)
{
}

static struct kvmdbg_stub *new_stub(void)
{
	struct kvmdbg_stub_config cfg = {
		.arch = kvmdbg_arch(), .caps = &caps, .signo = SIGUSR1, .log = quiet_log,
	};
	struct kvmdbg_stub *s = kvmdbg_stub_new(&cfg);

	assert_non_null(s);
	assert_int_equal(kvmdbg_stub_add_vcpu(s, -1, &run), 0);
	return s;
}

static unsigned threads(void)
{
	DIR *d = opendir("/proc/self/task");
	unsigned n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n - 2;	/* . and .. */
}

static int listening_stub(struct kvmdbg_stub **out)
{
	char bound[64], err[256];
	int port;

	*out = new_stub();
	assert_int_equal(kvmdbg_stub_listen(*out, "tcp:127.0.0.1:0", bound, sizeof(bound), err,
					    sizeof(err)), 0);
	assert_int_equal(sscanf(bound, "tcp:127.0.0.1:%d", &port), 1);
	return port;
}

static int dial(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = RECV_TIMEOUT_S };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

static void test_free_while_listening(void **state)
{
	unsigned before = threads();
	struct kvmdbg_stub *s;
	int port = listening_stub(&s), fd;

	assert_int_equal(kvmdbg_stub_start(s), 0);
	assert_int_equal(threads(), before + 1);
	kvmdbg_stub_free(s);
	assert_int_equal(threads(), before);
	fd = dial(port);
	assert_int_equal(fd, -ECONNREFUSED);
}

static void test_free_with_gdb_connected(void **state)
{
	struct timeval tv = { .tv_sec = RECV_TIMEOUT_S };
	unsigned before = threads();
	struct kvmdbg_stub *s = new_stub();
	int sv[2];
	char c;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(kvmdbg_stub_connect_fd(s, sv[0]), 0);
	assert_int_equal(kvmdbg_stub_start(s), 0);
	/* The stub stops the vCPU for gdb, which never parks: no thread of
	 * ours runs it.  Freeing must not wait for it. */
	kvmdbg_stub_free(s);
	assert_int_equal(threads(), before);
	assert_int_equal(recv(sv[1], &c, 1, 0), 0);	/* closed, not timed out */
	close(sv[1]);
}

static atomic_bool vcpu_done;

static void on_kick(int sig)
{
}

/* What a VMM's vCPU thread does, minus KVM_RUN: parks while gdb has the
 * guest stopped. */
static void *vcpu_thread(void *arg)
{
	while (!atomic_load(&vcpu_done)) {
		kvmdbg_vcpu_pre_run(arg, 0);
		usleep(1000);
	}
	return NULL;
}

static void expect(int fd, const char *want)
{
	char got[256];
	size_t n = 0, len = strlen(want);

	while (n < len) {
		ssize_t r = recv(fd, got + n, len - n, 0);

		assert_true(r > 0);
		n += (size_t)r;
	}
	got[n] = 0;
	assert_string_equal(got, want);
}

static void test_connected_socket_from_the_vmm(void **state)
{
	struct timeval tv = { .tv_sec = RECV_TIMEOUT_S };
	struct kvmdbg_stub *s = new_stub();
	struct sigaction sa = { .sa_handler = on_kick };
	pthread_t vcpu;
	int sv[2];
	char c;

	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
	atomic_store(&vcpu_done, false);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(kvmdbg_stub_connect_fd(s, sv[0]), 0);
	assert_int_equal(kvmdbg_stub_connect_fd(s, sv[0]), -EBUSY);
	assert_int_equal(kvmdbg_stub_start(s), 0);
	assert_int_equal(pthread_create(&vcpu, NULL, vcpu_thread, s), 0);
	assert_int_equal(send(sv[1], "$qAttached#8f", 13, 0), 13);
	expect(sv[1], "+$1#31");
	kvmdbg_stub_stop(s);
	kvmdbg_stub_join(s);
	/* gdb's end sees the stub's end close; the vCPU runs on. */
	assert_int_equal(recv(sv[1], &c, 1, 0), 0);
	atomic_store(&vcpu_done, true);
	assert_int_equal(pthread_join(vcpu, NULL), 0);
	kvmdbg_stub_free(s);
	close(sv[1]);
}

/* A VMM that uses immediate_exit itself keeps it: the stub clears only
 * what its own kick set. */
static void test_immediate_exit_left_to_the_vmm(void **state)
{
	struct kvmdbg_stub *s = new_stub();

	run.immediate_exit = 1;
	kvmdbg_vcpu_pre_run(s, 0);
	assert_int_equal(run.immediate_exit, 1);
	kvmdbg_vcpu_pre_run(s, 0);
	assert_int_equal(run.immediate_exit, 1);
	run.immediate_exit = 0;
	kvmdbg_stub_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_free_while_listening),
		cmocka_unit_test(test_free_with_gdb_connected),
		cmocka_unit_test(test_connected_socket_from_the_vmm),
		cmocka_unit_test(test_immediate_exit_left_to_the_vmm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
