/* The stand-in's relay loop: stdio to and from the process's streams,
 * signals to the agent, and the exit status from the guard `wait`. */
#include "shim/standin.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/proto.h"
#include "common/util.h"

/* A pipe written in chunks no larger than this after POLLOUT never blocks
 * (one free pipe buffer page), so a slow reader of one fd cannot stall the
 * relay of the others. */
#define HOST_WRITE_CHUNK 4096
#define RELAY_BUF (64u << 10)
#define SIGNAL_TIMEOUT_MS 5000

struct relay {
	int from, to;	   /* -1 once closed */
	bool from_is_ours; /* a stream socket we may close */
	bool to_is_ours;
	bool eof;  /* from reached EOF (or the relay was cut) */
	bool done; /* eof and everything written */
	size_t off, len;
	char buf[RELAY_BUF];
};

void standin_sigset(sigset_t *set)
{
	static const int own[] = {SIGKILL, SIGSTOP, SIGSEGV, SIGBUS,
				  SIGILL,  SIGFPE,  SIGTRAP, SIGSYS,
				  SIGABRT, SIGCHLD, SIGPIPE};

	sigemptyset(set);
	for (int s = 1; s <= SIGRTMAX; s++) {
		bool skip = s > 31 && s < SIGRTMIN; /* glibc's own */
		for (size_t i = 0; i < ARRAY_SIZE(own); i++)
			skip |= own[i] == s;
		if (!skip)
			sigaddset(set, s);
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void relay_close_from(struct relay *r)
{
	if (r->from >= 0 && r->from_is_ours)
		close(r->from);
	r->from = -1;
	r->eof = true;
}

/* The end of a relay: the stdin stream is closed so the process reads EOF;
 * an output stream is closed so a process still writing gets EPIPE, as it
 * would from a closed pipe on the host. */
static void relay_finish(struct relay *r)
{
	relay_close_from(r);
	if (r->to >= 0 && r->to_is_ours)
		close(r->to);
	r->to = -1;
	r->len = r->off = 0;
	r->done = true;
}

static void relay_read(struct relay *r)
{
	ssize_t n = read(r->from, r->buf, sizeof(r->buf));

	if (n > 0) {
		r->off = 0;
		r->len = (size_t)n;
		return;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	relay_close_from(r);
}

static void relay_write(struct relay *r)
{
	size_t want = r->len - r->off;
	ssize_t n;

	if (!r->to_is_ours && want > HOST_WRITE_CHUNK)
		want = HOST_WRITE_CHUNK;
	n = r->to_is_ours ? send(r->to, r->buf + r->off, want,
				     MSG_NOSIGNAL | MSG_DONTWAIT)
			  : write(r->to, r->buf + r->off, want);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		relay_finish(r);
		return;
	}
	r->off += (size_t)n;
	if (r->off == r->len)
		r->off = r->len = 0;
}

static void forward_signal(const struct standin *s, uint32_t sig,
			   uint64_t *id)
{
	_cleanup_err_ struct husk_err *e = NULL;
	struct proto_msg req = {0}, rep = {0};

	req.kind = PROTO_REQUEST;
	req.op = PROTO_OP_SIGNAL;
	req.has_id = true;
	req.id = ++*id;
	req.req.signal.t.container = (char *)s->container;
	req.req.signal.t.exec = (char *)s->exec;
	req.req.signal.signal = sig;
	/* A process that already ended refuses it; its status is on the
	 * guard, so there is nothing to do about the error. */
	proto_call(s->ctl, &req, &rep, SIGNAL_TIMEOUT_MS, &e);
	proto_msg_free(&rep);
}

static int read_status(int guard)
{
	_cleanup_err_ struct husk_err *e = NULL;
	struct proto_msg m = {0};
	int status = 255; /* the agent went away without a status */

	if (proto_recv_reply(guard, PROTO_OP_WAIT, &m, SIGNAL_TIMEOUT_MS,
			     &e) == PROTO_RECV_OK &&
	    m.ok)
		status = (int)(m.rep.wait.status & 0xff);
	proto_msg_free(&m);
	return status;
}

static void relay_init(struct relay *r, int from, bool from_ours, int to,
		       bool to_ours)
{
	r->from = from;
	r->to = to;
	r->from_is_ours = from_ours;
	r->to_is_ours = to_ours;
	r->done = from < 0 || to < 0;
	r->eof = r->done;
	if (r->done) {
		/* One side missing: close the stream we own so the agent's
		 * end does not wait for us. */
		if (from_ours && from >= 0)
			close(from);
		if (to_ours && to >= 0)
			close(to);
		r->from = r->to = -1;
	}
}

static int standin_loop(const struct standin *s, struct relay *rl,
			struct husk_err **err)
{
	int guard = s->guard, status = -1;
	int64_t deadline = 0;
	uint64_t id = 0;

	for (;;) {
		struct pollfd p[2 + 3];
		int idx[3][2], np = 0, timeout = -1, n;

		if (status >= 0 && rl[1].done && rl[2].done)
			return status;
		if (status >= 0) {
			int64_t left = deadline - now_ms();
			if (left <= 0)
				return status;
			timeout = (int)left;
		}
		p[np++] = (struct pollfd){.fd = s->sigfd, .events = POLLIN};
		p[np++] = (struct pollfd){.fd = guard, .events = POLLIN};
		for (int i = 0; i < 3; i++) {
			struct relay *r = &rl[i];
			idx[i][0] = idx[i][1] = -1;
			if (r->done)
				continue;
			if (r->len > 0) {
				idx[i][1] = np;
				p[np++] = (struct pollfd){.fd = r->to,
							  .events = POLLOUT};
			} else if (!r->eof) {
				idx[i][0] = np;
				p[np++] = (struct pollfd){.fd = r->from,
							  .events = POLLIN};
			}
		}
		n = poll(p, (nfds_t)np, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return husk_err_sys(err, "poll");
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			ssize_t got = read(s->sigfd, &si, sizeof(si));
			if (got < 0 && errno != EINTR && errno != EAGAIN)
				return husk_err_sys(err, "read signalfd");
			if (got == (ssize_t)sizeof(si) && status < 0)
				forward_signal(s, si.ssi_signo, &id);
		}
		if (guard >= 0 && p[1].revents) {
			status = read_status(guard);
			/* The process is gone: nothing more reaches its
			 * stdin. */
			if (!rl[0].done)
				relay_finish(&rl[0]);
			deadline = now_ms() + STANDIN_DRAIN_MS;
			guard = -1; /* poll ignores a negative fd */
		}
		for (int i = 0; i < 3; i++) {
			struct relay *r = &rl[i];
			if (idx[i][0] >= 0 && p[idx[i][0]].revents)
				relay_read(r);
			else if (idx[i][1] >= 0 && p[idx[i][1]].revents)
				relay_write(r);
			if (!r->done && r->eof && r->len == 0)
				relay_finish(r);
		}
	}
}

int standin_run(const struct standin *s, struct husk_err **err)
{
	struct relay *rl = husk_calloc(3, sizeof(*rl));
	int r;

	relay_init(&rl[0], s->io[0], false, s->stream[0], true);
	relay_init(&rl[1], s->stream[1], true, s->io[1], false);
	relay_init(&rl[2], s->stream[2], true, s->io[2], false);
	r = standin_loop(s, rl, err);
	for (int i = 0; i < 3; i++)
		if (!rl[i].done)
			relay_finish(&rl[i]);
	free(rl);
	return r;
}
