/* runtime/linux/terminal: pty open and size, the console-socket handoff as
 * runc does it (checked with a receiver of our own), the slave as a
 * controlling terminal, and the relay both ways, raw mode and SIGWINCH. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/linux/terminal.h"
#include "unit.h"

static char tmpdir[] = "/tmp/husk-test-terminal.XXXXXX";

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Read from fd until want appears in what was read or timeout_ms passes.
 * Returns the text read (malloc'd), NUL-terminated. */
static char *read_until(int fd, const char *want, int timeout_ms)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = husk_calloc(1, cap + 1);

	for (int waited = 0; waited < timeout_ms && !strstr(buf, want);) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, 50);
		ssize_t n;

		waited += 50;
		if (r <= 0)
			continue;
		n = read(fd, buf + len, cap - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = 0;
	}
	return buf;
}

static bool is_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);
	return fl >= 0 && (fl & FD_CLOEXEC);
}

TEST(open_sets_size)
{
	_cleanup_err_ struct husk_err *err = NULL;
	_cleanup_close_ int m = -1, s = -1;
	struct oci_console_size size = {.height = 33, .width = 101};
	struct winsize ws = {0};
	struct stat a, b;
	char name[64];

	CHECK(linux_terminal_open("/dev/ptmx", &m, &s, &size, &err) == 0);
	CHECK(isatty(s) && is_cloexec(m) && is_cloexec(s));
	CHECK(ioctl(s, TIOCGWINSZ, &ws) == 0);
	CHECK(ws.ws_row == 33 && ws.ws_col == 101);
	/* The slave is the master's own peer. */
	CHECK(linux_terminal_ptsname(m, name, sizeof(name), &err) == 0);
	CHECK(strncmp(name, "/dev/pts/", 9) == 0);
	CHECK(stat(name, &a) == 0 && fstat(s, &b) == 0);
	CHECK(a.st_rdev == b.st_rdev);
	/* Unlocked: the slave can be opened by name too. */
	int again = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	CHECK(again >= 0);
	close(again);
}

TEST(open_without_size_and_null_path)
{
	_cleanup_err_ struct husk_err *err = NULL;
	_cleanup_close_ int m = -1, s = -1;
	struct oci_console_size half = {.height = 10, .width = 0};
	struct winsize ws = {0};

	/* One dimension 0: left alone, as runc does. */
	CHECK(linux_terminal_open(NULL, &m, &s, &half, &err) == 0);
	CHECK(ioctl(s, TIOCGWINSZ, &ws) == 0 && ws.ws_row == 0);
}

TEST(open_refuses)
{
	_cleanup_err_ struct husk_err *e1 = NULL, *e2 = NULL, *e3 = NULL;
	int m = -1, s = -1;
	struct oci_console_size big = {.height = 70000, .width = 80};

	CHECK(linux_terminal_open("/dev/null", &m, &s, NULL, &e1) < 0 && e1);
	CHECK_STR(e1->msg, "/dev/null: not a pty multiplexer");
	CHECK(linux_terminal_open("/nonexistent/ptmx", &m, &s, NULL, &e2) < 0);
	CHECK_STR(e2->msg, "open /nonexistent/ptmx: No such file or directory");
	CHECK(linux_terminal_open("/dev/ptmx", &m, &s, &big, &e3) < 0 && e3);
	CHECK_STR(e3->msg, "process.consoleSize: 70000x80 is larger than a "
			   "terminal can be (65535)");
	CHECK(m == -1 && s == -1);
}

/* ---- the console socket -------------------------------------------------- */

struct receiver {
	int listen_fd;
	int fd;		/* received */
	int n_fds;	/* how many came */
	char data[256]; /* the message's bytes */
	ssize_t data_len;
	int sock_type;
};

static void *receiver_thread(void *arg)
{
	struct receiver *r = arg;
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {r->data, sizeof(r->data) - 1};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf)};
	socklen_t sl = sizeof(r->sock_type);
	int c;

	c = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return NULL;
	getsockopt(c, SOL_SOCKET, SO_TYPE, &r->sock_type, &sl);
	r->data_len = recvmsg(c, &msg, MSG_CMSG_CLOEXEC);
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&msg); h;
	     h = CMSG_NXTHDR(&msg, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		r->n_fds += (int)((h->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(&r->fd, CMSG_DATA(h), sizeof(int));
	}
	close(c);
	return NULL;
}

static int listen_at(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(a.sun_path))
		return -1;
	strcpy(a.sun_path, path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 1) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send m's master to a listener at path, check what arrived and that bytes
 * written through the received fd reach the slave s. */
static const char *send_and_check(const char *path, int m, int s)
{
	static char why[256];
	_cleanup_err_ struct husk_err *err = NULL;
	struct receiver r = {.fd = -1};
	pthread_t th;
	unsigned int n1 = 0, n2 = 0;
	char buf[64] = "";
	ssize_t got;
	struct termios t;

	r.listen_fd = listen_at(path);
	if (r.listen_fd < 0)
		return "listen";
	pthread_create(&th, NULL, receiver_thread, &r);
	if (linux_terminal_send_master(path, m, &err) < 0) {
		snprintf(why, sizeof(why), "send: %s", err->msg);
		shutdown(r.listen_fd, SHUT_RDWR);
		pthread_join(th, NULL);
		close(r.listen_fd);
		return why;
	}
	pthread_join(th, NULL);
	close(r.listen_fd);
	if (r.n_fds != 1 || r.fd < 0)
		return "not exactly one fd";
	if (r.sock_type != SOCK_STREAM)
		return "not SOCK_STREAM";
	/* runc 1.1 sends the name of the opened /dev/ptmx as the data. */
	if (r.data_len != 9 || memcmp(r.data, "/dev/ptmx", 9) != 0)
		return "payload is not \"/dev/ptmx\"";
	if (ioctl(r.fd, TIOCGPTN, &n1) < 0 || ioctl(m, TIOCGPTN, &n2) < 0 ||
	    n1 != n2)
		return "received fd is not the same pty";
	/* Raw slave so bytes arrive as written. */
	tcgetattr(s, &t);
	cfmakeraw(&t);
	tcsetattr(s, TCSANOW, &t);
	if (write(r.fd, "ping", 4) != 4)
		return "write through the received master";
	_cleanup_free_ char *seen = read_until(s, "ping", 2000);
	if (strcmp(seen, "ping") != 0)
		return "slave did not see the bytes";
	if (write(s, "pong", 4) != 4)
		return "write on slave";
	got = read(r.fd, buf, sizeof(buf) - 1);
	close(r.fd);
	if (got != 4 || memcmp(buf, "pong", 4) != 0)
		return "received master did not see the slave's bytes";
	return NULL;
}

TEST(send_master_like_runc)
{
	_cleanup_err_ struct husk_err *err = NULL;
	_cleanup_close_ int m = -1, s = -1;
	_cleanup_free_ char *path = husk_asprintf("%s/console.sock", tmpdir);
	const char *why;

	CHECK(linux_terminal_open("/dev/ptmx", &m, &s, NULL, &err) == 0);
	why = send_and_check(path, m, s);
	if (why)
		printf("  %s\n", why);
	CHECK(why == NULL);
}

TEST(send_master_long_path)
{
	/* Longer than sun_path (108): reached through /proc/self/fd. */
	_cleanup_err_ struct husk_err *err = NULL;
	_cleanup_close_ int m = -1, s = -1, dfd = -1;
	_cleanup_free_ char *dir = husk_asprintf("%s/%0120d", tmpdir, 0);
	_cleanup_free_ char *path = husk_asprintf("%s/c.sock", dir);
	_cleanup_free_ char *short_path = NULL;
	struct receiver r = {.fd = -1};
	pthread_t th;

	CHECK(strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path));
	CHECK(mkdir(dir, 0700) == 0);
	CHECK(linux_terminal_open("/dev/ptmx", &m, &s, NULL, &err) == 0);
	/* Bind through the directory fd as well. */
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(dfd >= 0);
	short_path = husk_asprintf("/proc/self/fd/%d/c.sock", dfd);
	r.listen_fd = listen_at(short_path);
	CHECK(r.listen_fd >= 0);
	pthread_create(&th, NULL, receiver_thread, &r);
	int ret = linux_terminal_send_master(path, m, &err);
	if (ret < 0)
		shutdown(r.listen_fd, SHUT_RDWR);
	pthread_join(th, NULL);
	close(r.listen_fd);
	if (r.fd >= 0)
		close(r.fd);
	CHECK(ret == 0 && r.n_fds == 1);
}

TEST(send_master_no_listener)
{
	_cleanup_err_ struct husk_err *err = NULL;
	_cleanup_close_ int m = -1, s = -1;
	_cleanup_free_ char *path = husk_asprintf("%s/nobody.sock", tmpdir);
	_cleanup_free_ char *want = husk_asprintf(
		"connect to console socket %s: No such file or directory",
		path);

	CHECK(linux_terminal_open("/dev/ptmx", &m, &s, NULL, &err) == 0);
	CHECK(linux_terminal_send_master(path, m, &err) < 0 && err);
	CHECK_STR(err->msg, want);
}

TEST(send_master_over_socketpair)
{
	/* The peer closed: an error, and no SIGPIPE kills us. */
	_cleanup_err_ struct husk_err *err = NULL;
	_cleanup_close_ int m = -1, s = -1;
	int sp[2];

	CHECK(linux_terminal_open("/dev/ptmx", &m, &s, NULL, &err) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	close(sp[1]);
	CHECK(linux_terminal_send_master_fd(sp[0], m, &err) < 0 && err);
	close(sp[0]);
	CHECK(strstr(err->msg, "Broken pipe") != NULL);
}

/* ---- the slave as controlling terminal ----------------------------------- */

TEST(setup_slave_makes_ctty)
{
	_cleanup_err_ struct husk_err *err = NULL;
	_cleanup_close_ int m = -1, s = -1;
	int status = -1;
	pid_t pid;

	CHECK(linux_terminal_open("/dev/ptmx", &m, &s, NULL, &err) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct husk_err *e = NULL;
		struct stat a, b;
		int code = 0;

		if (linux_terminal_setup_slave(s, &e) < 0)
			_exit(10);
		if (getsid(0) != getpid())
			code = 11;
		else if (tcgetpgrp(0) != getpgrp())
			code = 12;
		else if (fstat(0, &a) < 0 || fstat(2, &b) < 0 ||
			 a.st_rdev != b.st_rdev || !isatty(1))
			code = 13;
		else if (fcntl(0, F_GETFD) != 0 || fcntl(1, F_GETFD) != 0 ||
			 fcntl(2, F_GETFD) != 0)
			code = 14;
		else if (fcntl(s, F_GETFD) >= 0)
			code = 15; /* the original slave fd was not closed */
		_exit(code);
	}
	close(TAKE_FD(s));
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- the relay ----------------------------------------------------------- */

/* Fork a child on the pty's slave running sh -c script; closes our slave. */
static pid_t spawn_on_slave(int *slave, const char *script)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct husk_err *e = NULL;
		char *argv[] = {"sh", "-c", (char *)script, NULL};
		char *envp[] = {"PATH=/usr/bin:/bin", NULL};

		if (linux_terminal_setup_slave(*slave, &e) < 0)
			_exit(120);
		execve("/bin/sh", argv, envp);
		_exit(121);
	}
	close(*slave);
	*slave = -1;
	return pid;
}

TEST(relay_copies_both_ways)
{
	_cleanup_err_ struct husk_err *err = NULL;
	_cleanup_close_ int m = -1, s = -1;
	_cleanup_free_ char *out = NULL;
	int in[2], outp[2], status = -1;
	pid_t pid;

	CHECK(pipe2(in, O_CLOEXEC) == 0 && pipe2(outp, O_CLOEXEC) == 0);
	CHECK(linux_terminal_open("/dev/ptmx", &m, &s, NULL, &err) == 0);
	pid = spawn_on_slave(&s, "read line; echo \"got:$line\"; exit 7");
	CHECK(pid > 0);
	CHECK(write(in[1], "hello\n", 6) == 6);
	close(in[1]);
	int r = linux_terminal_relay(m, in[0], outp[1], pid, &err);
	close(in[0]);
	close(outp[1]);
	out = read_until(outp[0], "\xff", 200); /* everything, to EOF */
	close(outp[0]);
	CHECK(waitpid(pid, &status, 0) == pid);
	if (r < 0)
		printf("  relay: %s\n", err ? err->msg : "?");
	CHECK(r == 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
	if (!strstr(out, "got:hello\r\n"))
		printf("  output: %s\n", out);
	CHECK(strstr(out, "got:hello\r\n") != NULL);
}

TEST(relay_ends_on_hangup)
{
	/* No pid: the pty hanging up (last slave closed) ends it. */
	_cleanup_err_ struct husk_err *err = NULL;
	_cleanup_close_ int m = -1, s = -1;
	_cleanup_free_ char *out = NULL;
	int outp[2], status;
	pid_t pid;

	CHECK(pipe2(outp, O_CLOEXEC) == 0);
	CHECK(linux_terminal_open("/dev/ptmx", &m, &s, NULL, &err) == 0);
	pid = spawn_on_slave(&s, "echo bye");
	CHECK(pid > 0);
	int r = linux_terminal_relay(m, -1, outp[1], -1, &err);
	close(outp[1]);
	out = read_until(outp[0], "\xff", 200);
	close(outp[0]);
	waitpid(pid, &status, 0);
	CHECK(r == 0);
	CHECK(strstr(out, "bye") != NULL);
}

TEST(relay_survives_closed_output)
{
	/* Output to a pipe nobody reads: EPIPE drops output, no SIGPIPE, and
	 * the relay still ends with the child. */
	_cleanup_err_ struct husk_err *err = NULL;
	_cleanup_close_ int m = -1, s = -1;
	int outp[2], status;
	pid_t pid;
	sigset_t pending;

	CHECK(pipe2(outp, O_CLOEXEC) == 0);
	close(outp[0]);
	CHECK(linux_terminal_open("/dev/ptmx", &m, &s, NULL, &err) == 0);
	pid = spawn_on_slave(&s, "echo lost; echo lost; exit 0");
	CHECK(pid > 0);
	int r = linux_terminal_relay(m, -1, outp[1], pid, &err);
	close(outp[1]);
	waitpid(pid, &status, 0);
	CHECK(r == 0);
	CHECK(sigpending(&pending) == 0 && !sigismember(&pending, SIGPIPE));
}

struct relay_args {
	int master, tty;
	pid_t child;
	int ret;
	char msg[256];
};

static void *relay_thread(void *arg)
{
	struct relay_args *a = arg;
	struct husk_err *err = NULL;

	a->ret =
		linux_terminal_relay(a->master, a->tty, a->tty, a->child, &err);
	if (err)
		snprintf(a->msg, sizeof(a->msg), "%s", err->msg);
	husk_err_free(&err);
	return NULL;
}

static bool wait_winsize(int fd, int rows, int cols)
{
	for (int i = 0; i < 200; i++) {
		struct winsize ws;
		if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row == rows &&
		    ws.ws_col == cols)
			return true;
		sleep_ms(10);
	}
	return false;
}

TEST(relay_with_a_terminal)
{
	/* The caller's terminal is another pty (outer): raw while relaying,
	 * its size follows into the container's pty at start and on
	 * SIGWINCH, and its mode comes back afterwards. */
	_cleanup_err_ struct husk_err *err = NULL;
	_cleanup_close_ int m = -1, s = -1, om = -1, os = -1, peer = -1;
	_cleanup_free_ char *out = NULL;
	struct oci_console_size first = {.height = 10, .width = 20};
	struct winsize ws = {.ws_row = 33, .ws_col = 77};
	struct relay_args a = {.ret = -2};
	struct termios t;
	pthread_t th;
	int status = -1;
	bool raw = false;

	CHECK(linux_terminal_open("/dev/ptmx", &om, &os, &first, &err) == 0);
	CHECK(linux_terminal_open("/dev/ptmx", &m, &s, NULL, &err) == 0);
	/* Our own view of the container pty's size. */
	peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	CHECK(peer >= 0);
	CHECK(tcgetattr(os, &t) == 0 && (t.c_lflag & ICANON));
	a.child = spawn_on_slave(&s, "read x; echo \"got:$x\"");
	a.master = m;
	a.tty = os;
	CHECK(a.child > 0);
	pthread_create(&th, NULL, relay_thread, &a);
	for (int i = 0; i < 200 && !raw; i++) {
		raw = tcgetattr(os, &t) == 0 && !(t.c_lflag & ICANON);
		if (!raw)
			sleep_ms(10);
	}
	bool start_size = raw && wait_winsize(peer, 10, 20);
	ioctl(om, TIOCSWINSZ, &ws);
	pthread_kill(th, SIGWINCH);
	bool resized = raw && wait_winsize(peer, 33, 77);
	/* Raw outer terminal: \r goes through untouched; the container's
	 * pty turns it into \n for the shell's read. */
	ssize_t w = write(om, "abc\r", 4);
	out = read_until(om, "got:abc", 3000);
	pthread_join(th, NULL);
	waitpid(a.child, &status, 0);
	CHECK(raw);
	CHECK(start_size);
	CHECK(resized);
	CHECK(w == 4);
	if (a.ret != 0)
		printf("  relay: %s\n", a.msg);
	CHECK(a.ret == 0);
	CHECK(strstr(out, "got:abc") != NULL);
	CHECK(tcgetattr(os, &t) == 0 && (t.c_lflag & ICANON) &&
	      (t.c_lflag & ECHO));
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("FAIL test_terminal: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	RUN(open_sets_size);
	RUN(open_without_size_and_null_path);
	RUN(open_refuses);
	RUN(send_master_like_runc);
	RUN(send_master_long_path);
	RUN(send_master_no_listener);
	RUN(send_master_over_socketpair);
	RUN(setup_slave_makes_ctty);
	RUN(relay_copies_both_ways);
	RUN(relay_ends_on_hangup);
	RUN(relay_survives_closed_output);
	RUN(relay_with_a_terminal);
	{
		_cleanup_free_ char *cmd = husk_asprintf("rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			printf("FAIL test_terminal: cleanup of %s\n", tmpdir);
	}
	UNIT_EXIT();
}
