/* The stand-in's relay (shim/standin.c) against a fake agent made of
 * socketpairs: output arrives whole even after the status, the status is
 * the exit code, stdin reaches the stream and ends with EOF, signals
 * become `signal` requests, a lost guard means 255. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/proto.h"
#include "common/util.h"
#include "shim/standin.h"
#include "unit.h"

struct fake {
	int guard[2], ctl[2], in_s[2], out_s[2], in_h[2], out_h[2];
	pid_t pid;
};

static void sp(int fds[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
		abort();
}

/* Fork a stand-in: stdin relays in_h[0] -> in_s[0], stdout out_s[0] ->
 * out_h[1]; no stderr. The test keeps the other ends. */
static void fake_start(struct fake *f)
{
	sigset_t set, old;

	sp(f->guard);
	sp(f->ctl);
	sp(f->in_s);
	sp(f->out_s);
	if (pipe2(f->in_h, O_CLOEXEC) < 0 || pipe2(f->out_h, O_CLOEXEC) < 0)
		abort();
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, &old);
	f->pid = fork();
	if (f->pid == 0) {
		_cleanup_err_ struct husk_err *e = NULL;
		struct standin s = {.container = "c",
				    .ctl = f->ctl[0],
				    .guard = f->guard[0],
				    .stream = {f->in_s[0], f->out_s[0], -1},
				    .io = {f->in_h[0], f->out_h[1], -1}};
		int r;
		close(f->guard[1]);
		close(f->ctl[1]);
		close(f->in_s[1]);
		close(f->out_s[1]);
		close(f->in_h[1]);
		close(f->out_h[0]);
		signal(SIGPIPE, SIG_IGN);
		s.sigfd = signalfd(-1, &set, SFD_CLOEXEC);
		r = standin_run(&s, &e);
		_exit(r < 0 ? 254 : r);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(f->guard[0]);
	close(f->ctl[0]);
	close(f->in_s[0]);
	close(f->out_s[0]);
	close(f->in_h[0]);
	close(f->out_h[1]);
}

static int fake_status(struct fake *f, uint32_t status)
{
	_cleanup_err_ struct husk_err *e = NULL;
	struct proto_msg m = {.kind = PROTO_REPLY,
			      .op = PROTO_OP_WAIT,
			      .has_id = true,
			      .id = 1,
			      .ok = true};

	m.rep.wait.status = status;
	return proto_send(f->guard[1], &m, &e);
}

static int fake_exit(struct fake *f)
{
	int st;

	while (waitpid(f->pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	close(f->guard[1]);
	close(f->ctl[1]);
	close(f->in_s[1]);
	close(f->out_s[1]);
	close(f->in_h[1]);
	close(f->out_h[0]);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1000;
}

/* The status first, then 256 KiB of output, then EOF: every byte comes
 * out and only then the stand-in ends, with the status. */
TEST(standin_output_after_status)
{
	struct fake f;
	size_t n = 256u << 10, got = 0;
	char *buf = husk_calloc(1, n), rd[8192];
	pid_t w, writer;

	for (size_t i = 0; i < n; i++)
		buf[i] = (char)(i * 7 + i / 251);
	fake_start(&f);
	close(f.in_h[1]);
	f.in_h[1] = -1;
	CHECK(fake_status(&f, 42) == 0);
	usleep(100000);
	w = waitpid(f.pid, NULL, WNOHANG);
	CHECK(w == 0); /* still waiting for stdout's EOF */
	writer = fork();
	if (writer == 0) {
		husk_write_all(f.out_s[1], buf, n);
		_exit(0);
	}
	close(f.out_s[1]);
	f.out_s[1] = -1;
	for (;;) {
		ssize_t r = read(f.out_h[0], rd, sizeof(rd));
		if (r <= 0)
			break;
		CHECK(got + (size_t)r <= n);
		CHECK(memcmp(rd, buf + got, (size_t)r) == 0);
		got += (size_t)r;
	}
	/* Not wait(): it could reap the stand-in. */
	waitpid(writer, NULL, 0);
	CHECK(got == n);
	CHECK(fake_exit(&f) == 42);
	free(buf);
}

/* Host stdin reaches the stdin stream, and its EOF becomes the stream's. */
TEST(standin_stdin_eof)
{
	struct fake f;
	char rd[64];
	ssize_t r;
	size_t got = 0;

	fake_start(&f);
	CHECK(husk_write_all(f.in_h[1], "hello", 5) == 0);
	close(f.in_h[1]);
	f.in_h[1] = -1;
	while ((r = read(f.in_s[1], rd + got, sizeof(rd) - got)) > 0)
		got += (size_t)r;
	CHECK(r == 0 && got == 5 && memcmp(rd, "hello", 5) == 0);
	close(f.out_s[1]);
	f.out_s[1] = -1;
	CHECK(fake_status(&f, 0) == 0);
	CHECK(fake_exit(&f) == 0);
}

/* A signal the stand-in gets becomes a `signal` request for its process. */
TEST(standin_forwards_signal)
{
	_cleanup_err_ struct husk_err *e = NULL;
	struct proto_msg req = {0}, rep = {0};
	struct fake f;

	fake_start(&f);
	close(f.out_s[1]);
	f.out_s[1] = -1;
	CHECK(kill(f.pid, SIGUSR2) == 0);
	CHECK(proto_recv_request(f.ctl[1], &req, &e) == PROTO_RECV_OK);
	CHECK(req.op == PROTO_OP_SIGNAL);
	CHECK(req.req.signal.signal == SIGUSR2);
	CHECK_STR(req.req.signal.t.container, "c");
	CHECK(req.req.signal.t.exec == NULL && !req.req.signal.all);
	rep.kind = PROTO_REPLY;
	rep.op = PROTO_OP_SIGNAL;
	rep.has_id = true;
	rep.id = req.id;
	rep.ok = true;
	CHECK(proto_send(f.ctl[1], &rep, &e) == 0);
	proto_msg_free(&req);
	CHECK(fake_status(&f, 128 + SIGUSR2) == 0);
	CHECK(fake_exit(&f) == 128 + SIGUSR2);
}

/* The agent went away without a status: 255, not a made-up success. */
TEST(standin_guard_lost)
{
	struct fake f;

	fake_start(&f);
	close(f.out_s[1]);
	f.out_s[1] = -1;
	close(f.guard[1]);
	f.guard[1] = -1;
	CHECK(fake_exit(&f) == 255);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(standin_output_after_status);
	RUN(standin_stdin_eof);
	RUN(standin_forwards_signal);
	RUN(standin_guard_lost);
	UNIT_EXIT();
}
