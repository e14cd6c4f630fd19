/* SPDX-License-Identifier: MIT */
/*
 * The stub thread: accepts one gdb at a time, frames packets, and turns
 * vCPU news (a stop, the guest's exit) into replies.  A gdb that goes
 * away, however abruptly, leaves no trace in the guest.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

#define SIGINT_NR 2
/* How long a vCPU may stay in KVM_RUN with watched pages unmapped before
 * the stub looks whether it is stuck on one. */
#define WATCHDOG_MS 50

/*
 * Every byte or none: a send stops short when a signal the embedding VMM
 * handles lands on this thread, and would fail with EAGAIN on a socket
 * made nonblocking; the rest of a packet must still follow, or gdb reads
 * the next packet as the end of this one.  A gdb that went away is a
 * disconnect.
 */
static void send_raw(struct kvmdbg_stub *s, const void *bytes, size_t len)
{
	const uint8_t *p = bytes;

	while (s->conn_fd >= 0 && len) {
		ssize_t n = send(s->conn_fd, p, len, MSG_NOSIGNAL);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = { .fd = s->conn_fd, .events = POLLOUT };

			if (poll(&pfd, 1, -1) >= 0 || errno == EINTR)
				continue;
		}
		if (n < 0 && errno != EPIPE && errno != ECONNRESET)
			stub_log(s, "sending to gdb: %s; disconnecting",
				strerror(errno));
		stub_disconnect(s);
	}
}

void stub_send(struct kvmdbg_stub *s, const char *payload, size_t len)
{
	s->framed_len = rsp_encode_packet(payload, len, true, s->framed,
					  2 * STUB_REPLY_SIZE + 8);
	send_raw(s, s->framed, s->framed_len);
}

/* Not kept for resending: notifications are never acknowledged. */
void stub_notify(struct kvmdbg_stub *s, const char *payload, size_t len)
{
	size_t n = rsp_encode_notification("Stop", payload, len, s->framed,
					   2 * STUB_REPLY_SIZE + 8);

	send_raw(s, s->framed, n);
}

void stub_send_hex(struct kvmdbg_stub *s, const void *bytes, size_t n)
{
	s->framed_len = rsp_encode_hex_packet(bytes, n, s->framed,
					      2 * STUB_REPLY_SIZE + 8);
	send_raw(s, s->framed, s->framed_len);
}

void stub_console(struct kvmdbg_stub *s, const char *text)
{
	struct rsp_buf b;

	rsp_buf_init(&b, s->reply, STUB_REPLY_SIZE);
	rsp_put_str(&b, "O");
	rsp_put_hex_bytes(&b, text, strlen(text));
	stub_send(s, b.data, b.len);
}

/* The guest goes on as if undebugged; the connection may stay open. */
void stub_end_session(struct kvmdbg_stub *s)
{
	pthread_mutex_lock(&s->lock);
	s->debugger = false;
	/* Memory may only be patched with every vCPU parked. */
	stub_request_stop_locked(s);
	stub_wait_parked_locked(s);
	stub_remove_all_bps(s);
	stub_regs_flush(s);
	s->running = false;
	s->non_stop = false;
	for (unsigned i = 0; i < s->nvcpus; i++) {
		s->vcpus[i].over_pending = false;
		s->vcpus[i].ns_stop_req = false;
		s->vcpus[i].ns_unseen_hold = false;
	}
	/* A client that leaves before ever resuming the guest held by -S (a
	 * port probe, a health check, a crashed gdb) does not release it:
	 * it waits for the next one. */
	if (!s->held)
		stub_release_all_locked(s);
	pthread_mutex_unlock(&s->lock);
}

void stub_disconnect(struct kvmdbg_stub *s)
{
	if (s->conn_fd < 0)
		return;
	/* The end of the connection follows the last reply at once: closing
	 * with gdb's ack of that reply already come and unread sends a reset
	 * instead, and gdb reads "connection reset", not the end.  Nothing to
	 * do where the peer is gone already or the fd is no socket. */
	if (shutdown(s->conn_fd, SHUT_WR) < 0 && errno != ENOTCONN && errno != ENOTSOCK)
		stub_log(s, "ending the gdb connection: %s", strerror(errno));
	close(s->conn_fd);
	s->conn_fd = -1;
	if (!s->draining) {
		stub_end_session(s);
		return;
	}
	s->draining = false;
	/* The guest's exit waited for gdb to leave; now the stub is done. */
	pthread_mutex_lock(&s->lock);
	if (s->exited) {
		s->exit_reported = true;
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
}

static void on_connect(struct kvmdbg_stub *s, int fd)
{
	int one = 1;

	/* Latency matters more than throughput for a debugger session. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 &&
	    errno != EOPNOTSUPP && errno != ENOPROTOOPT)
		stub_log(s, "TCP_NODELAY on the gdb connection: %s",
			strerror(errno));
	s->conn_fd = fd;
	s->noack = false;
	s->interrupt_owed = false;
	s->thread_suffix = false;
	s->list_threads = false;
	s->phys = false;
	s->ns_seq = false;
	s->ns_exit_sent = false;
	s->draining = false;
	s->framed_len = 0;
	s->cur_c = UINT_MAX;
	rsp_decoder_init(&s->dec, s->inbuf, STUB_PACKET_SIZE);
	pthread_mutex_lock(&s->lock);
	s->debugger = true;
	stub_request_stop_locked(s);
	stub_wait_parked_locked(s);
	s->running = false;
	pthread_mutex_unlock(&s->lock);
	s->last_event = (struct kd_stop_event){ .vcpu = s->last_stop,
						.kind = KD_STOP_SIGNAL,
						.signal = 5 };
	s->cur_g = s->last_stop;
}

/*
 * A Ctrl-C that crosses a stop reply on the wire (gdb sent it while it
 * still waited, and then goes on stepping, as it does between the steps
 * of a next) would be lost if a stopped guest ignored it: gdb would wait
 * for its answer forever.  It stops the next resume instead.
 */
static void interrupt(struct kvmdbg_stub *s)
{
	if (s->non_stop) {
		stub_ns_ctrlc(s);
		return;
	}
	if (!s->running) {
		s->interrupt_owed = true;
		return;
	}
	s->interrupt_owed = false;
	pthread_mutex_lock(&s->lock);
	stub_request_stop_locked(s);
	stub_wait_parked_locked(s);
	stub_console_flush_locked(s);
	s->running = false;
	pthread_mutex_unlock(&s->lock);
	stub_report_stop(s, SIGINT_NR);
}

static void handle_input(struct kvmdbg_stub *s, const uint8_t *in, size_t n)
{
	size_t off = 0;

	while (off < n && s->conn_fd >= 0) {
		enum rsp_event ev;

		off += rsp_decode(&s->dec, in + off, n - off, &ev);
		switch (ev) {
		case RSP_EV_PACKET:
			if (!s->noack)
				send_raw(s, "+", 1);
			if (s->running)
				stub_send(s, "E10", 3);	/* EBUSY: all-stop */
			else
				stub_dispatch(s, s->dec.buf, s->dec.len);
			if (s->running && s->interrupt_owed)
				interrupt(s);
			break;
		case RSP_EV_BAD_CHECKSUM:
			if (!s->noack)
				send_raw(s, "-", 1);
			break;
		case RSP_EV_OVERSIZE:
			if (!s->noack)
				send_raw(s, "+", 1);
			stub_log(s, "gdb sent a packet over %u bytes; refused",
				STUB_PACKET_SIZE);
			stub_send(s, "E07", 3);	/* E2BIG */
			break;
		case RSP_EV_NACK:
			if (s->framed_len)
				send_raw(s, s->framed, s->framed_len);
			break;
		case RSP_EV_INTERRUPT:
			interrupt(s);
			break;
		case RSP_EV_ACK:
		case RSP_EV_NONE:
			break;
		}
	}
}

/* A vCPU stopped or the guest ended; false once the stub is done. */
static bool handle_wake(struct kvmdbg_stub *s)
{
	uint64_t count;

	if (read(s->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		stub_log(s, "reading the stub's wake-up: %s", strerror(errno));
	pthread_mutex_lock(&s->lock);
	if (s->quit && !s->exited) {
		pthread_mutex_unlock(&s->lock);
		stub_disconnect(s);
		pthread_mutex_lock(&s->lock);
		/* No debugger will come to let a held guest go. */
		s->held = false;
		if (s->stopping)
			stub_release_all_locked(s);
		pthread_mutex_unlock(&s->lock);
		stub_close_listener(s);
		return false;
	}
	if (s->exited) {
		stub_console_flush_locked(s);
		/* gdb left with D: no exit report, but the vStopped it still
		 * owes gets its answer before the process goes away. */
		if (s->draining && !s->quit) {
			pthread_mutex_unlock(&s->lock);
			return true;
		}
		pthread_mutex_unlock(&s->lock);
		if (s->draining) {
			stub_disconnect(s);
			return false;
		}
		/* Non-stop reports it as a notification, and ends once gdb has
		 * taken it with vStopped (stub_ns_stopped). */
		if (s->non_stop && s->conn_fd >= 0) {
			stub_ns_notify(s);
			return true;
		}
		if (s->conn_fd >= 0) {
			char w[8];

			snprintf(w, sizeof(w), "W%02x", s->exit_status & 0xff);
			stub_send(s, w, strlen(w));
		}
		pthread_mutex_lock(&s->lock);
		s->exit_reported = true;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		return false;
	}
	if (s->note[0]) {
		char note[sizeof(s->note)];

		memcpy(note, s->note, sizeof(note));
		s->note[0] = 0;
		pthread_mutex_unlock(&s->lock);
		/* gdb takes console output only while the guest runs, and
		 * never in non-stop mode: the log has it then. */
		if (s->conn_fd >= 0 && s->running)
			stub_console(s, note);
		pthread_mutex_lock(&s->lock);
	}
	/* Breakpoint printf text goes before the stop that follows it. */
	stub_console_flush_locked(s);
	if (s->non_stop) {
		pthread_mutex_unlock(&s->lock);
		stub_ns_notify(s);
		return true;
	}
	if (s->running && s->stopping) {
		stub_wait_parked_locked(s);
		stub_console_flush_locked(s);
		s->running = false;
		pthread_mutex_unlock(&s->lock);
		if (s->conn_fd >= 0)
			stub_report_stop(s, 5);
		return true;
	}
	pthread_mutex_unlock(&s->lock);
	return true;
}

void *stub_thread_main(void *arg)
{
	struct kvmdbg_stub *s = arg;
	uint8_t rx[4096];

	if (s->given_fd >= 0) {
		on_connect(s, s->given_fd);
		s->given_fd = -1;
	}
	for (;;) {
		bool on_conn = s->conn_fd >= 0;
		struct pollfd p[2] = {
			{ .fd = s->wake_fd, .events = POLLIN },
			{ .fd = on_conn ? s->conn_fd : s->listen_fd,
			  .events = POLLIN },
		};

		bool watchdog;
		int n;

		pthread_mutex_lock(&s->lock);
		watchdog = (s->running || s->non_stop) && stub_watchdog_armed(s);
		pthread_mutex_unlock(&s->lock);
		n = poll(p, 2, watchdog ? WATCHDOG_MS : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			stub_log(s, "gdb stub poll failed: %s", strerror(errno));
			return NULL;
		}
		if (!n) {
			pthread_mutex_lock(&s->lock);
			stub_watchdog_kick(s);
			pthread_mutex_unlock(&s->lock);
			continue;
		}
		if ((p[0].revents & POLLIN) && !handle_wake(s))
			return NULL;
		/* A stop report that could not be sent there (gdb gone) ended the
		 * connection p[1] was: what it saw of that says nothing of the
		 * listener, and an accept would hold this thread, and the guest's
		 * exit, until another gdb came. */
		if (on_conn && s->conn_fd < 0)
			continue;
		if (!(p[1].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (s->conn_fd < 0) {
			int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);

			if (fd < 0) {
				if (errno != EINTR && errno != ECONNABORTED)
					stub_log(s, "accepting gdb: %s",
						strerror(errno));
				continue;
			}
			on_connect(s, fd);
			continue;
		}
		ssize_t got = recv(s->conn_fd, rx, sizeof(rx), 0);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			stub_disconnect(s);
			if (s->exit_reported)
				return NULL;
			continue;
		}
		handle_input(s, rx, got);
		if (s->exit_reported)
			return NULL;
	}
}
