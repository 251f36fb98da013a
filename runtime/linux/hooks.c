/* OCI hooks: fork + execve with the state JSON on stdin, stdout and stderr
 * captured, the timeout enforced through a pidfd
 * (config.md#posix-platform-hooks). */
#include "runtime/linux/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "common/util.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Longer than this counts as "no timeout" (and keeps the arithmetic far
 * from overflow): 100 years. */
#define HOOK_TIMEOUT_MAX_S (100LL * 366 * 24 * 3600)
/* How much of each output the error message quotes. */
#define EXCERPT_LINES 3
#define EXCERPT_BYTES 300

struct capture {
	int fd; /* read end, -1 once at EOF */
	size_t len;
	char buf[HOOK_OUTPUT_MAX];
};

struct hook_run {
	const struct oci_hook *hook;
	const char *kind;
	size_t index;
	const char *state;
	size_t state_len, state_off;
	pid_t pid;
	int pidfd;
	int in_w;   /* the hook's stdin, -1 once closed */
	int exec_r; /* the child's execve() errno, if it failed */
	struct capture out, err;
};

/* ---- the child ----------------------------------------------------------- */

/* Only async-signal-safe calls from here to execve: the caller may have
 * threads. */
static void cloexec_from_3(void)
{
	struct rlimit rl;
	int max = 65536;

	/* Marking instead of closing keeps exec_w open until execve. */
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)max)
		max = (int)rl.rlim_cur;
	for (int fd = 3; fd < max; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static _Noreturn void hook_child(int in_r, int out_w, int err_w, int exec_w,
				 const char *path, char *const argv[],
				 char *const envp[])
{
	/* The kernel's struct sigaction: glibc's sigaction() refuses the two
	 * real-time signals it keeps for itself (32, 33), which a caller may
	 * still have ignored and would pass on. */
	struct {
		void (*handler)(int);
		unsigned long flags;
		void (*restorer)(void);
		uint64_t mask;
	} dfl = {.handler = SIG_DFL};
	sigset_t none;
	int e;

	/* Ignored signals stay ignored across execve: give the hook the
	 * dispositions and mask a freshly started program expects. */
	for (int s = 1; s < NSIG; s++)
		syscall(SYS_rt_sigaction, s, &dfl, NULL, sizeof(dfl.mask));
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Its own process group, so a timeout kills what it started too. */
	setpgid(0, 0);
	if (dup2(in_r, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
		goto fail;
	cloexec_from_3();
	execve(path, argv, envp);
fail:
	e = errno;
	if (write(exec_w, &e, sizeof(e)) < 0) {
		/* nothing left to tell it with */
	}
	_exit(127);
}

/* ---- the parent ---------------------------------------------------------- */

/* Keep our pipe ends off 0..2 so the child's dup2() onto 0..2 can never
 * overwrite one it still has to dup (a caller may run with stdio closed). */
static int fd_above_stdio(int *fd)
{
	int nfd;

	if (*fd > 2)
		return 0;
	nfd = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0)
		return -1;
	close(*fd);
	*fd = nfd;
	return 0;
}

static void close_pipe(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0) {
			close(p[i]);
			p[i] = -1;
		}
}

static int make_pipe(int p[2], struct husk_err **err)
{
	if (pipe2(p, O_CLOEXEC) < 0)
		return husk_err_sys(err, "pipe2");
	if (fd_above_stdio(&p[0]) < 0 || fd_above_stdio(&p[1]) < 0) {
		husk_err_sys(err, "fcntl F_DUPFD_CLOEXEC");
		close_pipe(p);
		return -1;
	}
	return 0;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Read what is there; keep the first HOOK_OUTPUT_MAX bytes, drop the rest. */
static void capture_read(struct capture *c)
{
	char drop[4096];

	for (int i = 0; c->fd >= 0 && i < 16; i++) {
		char *dst = drop;
		size_t room = sizeof(drop);
		ssize_t n;

		if (c->len < sizeof(c->buf)) {
			dst = c->buf + c->len;
			room = sizeof(c->buf) - c->len;
		}
		n = read(c->fd, dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close_fd(&c->fd);
			return;
		}
		if (dst != drop)
			c->len += (size_t)n;
	}
}

/* Write as much of the state as the pipe takes. A hook that exits or
 * closes stdin without reading is fine (runc ignores EPIPE too). */
static void state_write(struct hook_run *r)
{
	while (r->in_w >= 0 && r->state_off < r->state_len) {
		ssize_t n = write(r->in_w, r->state + r->state_off,
				  r->state_len - r->state_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			close_fd(&r->in_w);
			return;
		}
		r->state_off += (size_t)n;
	}
	/* All written: EOF tells the hook the document is complete. */
	close_fd(&r->in_w);
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Poll until the hook exits or the deadline (0: none) passes. Returns 1 if
 * it exited, 0 on timeout, -1 on error. */
static int hook_wait_loop(struct hook_run *r, long long deadline,
			  struct husk_err **err)
{
	for (;;) {
		struct pollfd p[4];
		int n = 0, timeout = -1, ret;
		int i_pid, i_in = -1, i_out = -1, i_err = -1;

		i_pid = n;
		p[n++] = (struct pollfd){.fd = r->pidfd, .events = POLLIN};
		if (r->in_w >= 0) {
			i_in = n;
			p[n++] = (struct pollfd){.fd = r->in_w,
						 .events = POLLOUT};
		}
		if (r->out.fd >= 0) {
			i_out = n;
			p[n++] = (struct pollfd){.fd = r->out.fd,
						 .events = POLLIN};
		}
		if (r->err.fd >= 0) {
			i_err = n;
			p[n++] = (struct pollfd){.fd = r->err.fd,
						 .events = POLLIN};
		}
		if (deadline) {
			long long left = deadline - now_ns();
			if (left <= 0)
				return 0;
			left = (left + 999999) / 1000000;
			timeout = left > INT_MAX ? INT_MAX : (int)left;
		}
		ret = poll(p, (nfds_t)n, timeout);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			return husk_err_sys(err, "poll");
		if (ret == 0)
			continue; /* the deadline check above decides */
		if (i_in >= 0 && p[i_in].revents)
			state_write(r);
		if (i_out >= 0 && p[i_out].revents)
			capture_read(&r->out);
		if (i_err >= 0 && p[i_err].revents)
			capture_read(&r->err);
		if (p[i_pid].revents)
			return 1;
	}
}

/* Append s to dst as the inside of a JSON-like quoted string: at most
 * EXCERPT_LINES lines and EXCERPT_BYTES bytes, control bytes shown as '?'. */
static void excerpt(char *dst, size_t cap, const struct capture *c)
{
	size_t len = c->len, o = 0, lines = 1;

	while (len > 0 && (c->buf[len - 1] == '\n' || c->buf[len - 1] == '\r'))
		len--;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)c->buf[i];
		const char *esc = NULL;
		char one[2] = {(char)ch, 0};

		if (ch == '\n' && ++lines > EXCERPT_LINES) {
			esc = "...";
			len = i; /* stop after this */
		} else if (ch == '\n') {
			esc = "\\n";
		} else if (ch == '"') {
			esc = "\\\"";
		} else if (ch == '\\') {
			esc = "\\\\";
		} else if (ch < 0x20 || ch == 0x7f) {
			one[0] = '?';
		}
		if (!esc)
			esc = one;
		if (i >= EXCERPT_BYTES) {
			esc = "...";
			len = i;
		}
		if (o + strlen(esc) + 1 > cap)
			break;
		memcpy(dst + o, esc, strlen(esc));
		o += strlen(esc);
	}
	dst[o] = 0;
}

/* " (stdout: \"..\", stderr: \"..\")" or "" when the hook was silent. */
static char *output_note(const struct hook_run *r)
{
	char out[EXCERPT_BYTES * 2 + 8], er[EXCERPT_BYTES * 2 + 8];

	excerpt(out, sizeof(out), &r->out);
	excerpt(er, sizeof(er), &r->err);
	if (out[0] && er[0])
		return husk_asprintf(" (stdout: \"%s\", stderr: \"%s\")", out,
				     er);
	if (out[0])
		return husk_asprintf(" (stdout: \"%s\")", out);
	if (er[0])
		return husk_asprintf(" (stderr: \"%s\")", er);
	return husk_strdup("");
}

static int hook_fail(const struct hook_run *r, struct husk_err **err,
		     int errnum, const char *what)
{
	_cleanup_free_ char *note = output_note(r);

	return husk_err_set(err, errnum, "%s hook[%zu] %s: %s%s", r->kind,
			    r->index, r->hook->path, what, note);
}

/* Fork and exec the hook; on success r->pid, r->pidfd and the pipes are
 * set. */
static int hook_spawn(struct hook_run *r, struct husk_err **err)
{
	const struct oci_hook *h = r->hook;
	char *argv_path[2] = {h->path, NULL};
	char *envp_none[1] = {NULL};
	char *const *argv = h->args.n > 0 ? h->args.v : argv_path;
	char *const *envp = h->env.n > 0 ? h->env.v : envp_none;
	int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1};
	int ex[2] = {-1, -1};
	int ret = -1;

	if (make_pipe(in, err) < 0 || make_pipe(out, err) < 0 ||
	    make_pipe(er, err) < 0 || make_pipe(ex, err) < 0)
		goto out;
	r->pid = fork();
	if (r->pid < 0) {
		husk_err_sys(err, "%s hook[%zu] %s: fork", r->kind, r->index,
			     h->path);
		goto out;
	}
	if (r->pid == 0)
		hook_child(in[0], out[1], er[1], ex[1], h->path, argv, envp);
	/* Also here, so the group exists before any timeout can fire; EACCES
	 * once the child has exec'd is fine, it did it itself by then. */
	setpgid(r->pid, r->pid);
	r->pidfd = pidfd_open(r->pid, 0);
	if (r->pidfd < 0) {
		husk_err_sys(err, "pidfd_open %d", (int)r->pid);
		kill(r->pid, SIGKILL);
		while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
			;
		r->pid = -1;
		goto out;
	}
	r->in_w = TAKE_FD(in[1]);
	r->out.fd = TAKE_FD(out[0]);
	r->err.fd = TAKE_FD(er[0]);
	r->exec_r = TAKE_FD(ex[0]);
	if (set_nonblock(r->in_w) < 0 || set_nonblock(r->out.fd) < 0 ||
	    set_nonblock(r->err.fd) < 0 || set_nonblock(r->exec_r) < 0) {
		husk_err_sys(err, "fcntl O_NONBLOCK");
		goto out;
	}
	ret = 0;
out:
	close_pipe(in);
	close_pipe(out);
	close_pipe(er);
	close_pipe(ex);
	return ret;
}

/* Kill (if still running) and reap the hook; *status is waitid's. */
static int hook_reap(struct hook_run *r, bool kill_it, siginfo_t *si,
		     struct husk_err **err)
{
	if (kill_it) {
		/* The group first: the leader is not reaped yet, so its pid
		 * (the group's id) cannot have been reused. */
		kill(-r->pid, SIGKILL);
		pidfd_send_signal(r->pidfd, SIGKILL, NULL, 0);
	}
	memset(si, 0, sizeof(*si));
	while (waitid(P_PIDFD, (id_t)r->pidfd, si, WEXITED) < 0) {
		if (errno != EINTR)
			return husk_err_sys(err, "waitid %d", (int)r->pid);
	}
	r->pid = -1;
	return 0;
}

static void hook_run_free(struct hook_run *r)
{
	if (r->pid > 0) {
		siginfo_t si;
		struct husk_err *e = NULL;
		hook_reap(r, true, &si, &e);
		husk_err_free(&e);
	}
	close_fd(&r->pidfd);
	close_fd(&r->in_w);
	close_fd(&r->exec_r);
	close_fd(&r->out.fd);
	close_fd(&r->err.fd);
}

static int hook_result(struct hook_run *r, bool timed_out, const siginfo_t *si,
		       struct husk_err **err)
{
	char what[64];
	int exec_errno;

	if (read(r->exec_r, &exec_errno, sizeof(exec_errno)) ==
	    (ssize_t)sizeof(exec_errno)) {
		snprintf(what, sizeof(what), "exec: %s", strerror(exec_errno));
		return hook_fail(r, err, exec_errno, what);
	}
	if (timed_out) {
		snprintf(what, sizeof(what), "timed out after %llds",
			 (long long)r->hook->timeout.v);
		return hook_fail(r, err, ETIMEDOUT, what);
	}
	if (si->si_code == CLD_EXITED && si->si_status == 0)
		return 0;
	if (si->si_code == CLD_EXITED)
		snprintf(what, sizeof(what), "exit status %d", si->si_status);
	else
		snprintf(what, sizeof(what), "killed by signal %d",
			 si->si_status);
	return hook_fail(r, err, 0, what);
}

/* SIGPIPE is blocked in this thread while a hook runs, so a hook that
 * closes stdin early yields EPIPE instead of killing husk. A SIGPIPE that
 * we raised is taken off the pending set before the mask is restored; one
 * that was pending before is left alone. */
struct sigpipe_guard {
	sigset_t old;
	bool was_pending;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
	sigset_t pipe_set, pending;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &pipe_set, &g->old);
}

static void sigpipe_restore(struct sigpipe_guard *g)
{
	sigset_t pipe_set, pending;
	struct timespec zero = {0, 0};

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	if (!g->was_pending && sigismember(&pending, SIGPIPE) == 1) {
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 &&
		       errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

static int hook_run_one(const struct oci_hook *h, const char *kind, size_t i,
			const char *state, struct husk_err **err)
{
	struct hook_run r = {
		.hook = h,
		.kind = kind,
		.index = i,
		.state = state ? state : "",
		.pid = -1,
		.pidfd = -1,
		.in_w = -1,
		.exec_r = -1,
		.out.fd = -1,
		.err.fd = -1,
	};
	struct sigpipe_guard guard;
	long long deadline = 0;
	siginfo_t si;
	int ret, exited;

	if (h->path == NULL || h->path[0] == 0)
		return husk_err_set(err, EINVAL, "%s hook[%zu]: no path", kind,
				    i);
	if (h->timeout.set && h->timeout.v <= 0)
		return husk_err_set(err, EINVAL,
				    "%s hook[%zu] %s: timeout must be > 0",
				    kind, i, h->path);
	r.state_len = strlen(r.state);
	if (h->timeout.set && h->timeout.v <= HOOK_TIMEOUT_MAX_S)
		deadline = now_ns() + h->timeout.v * 1000000000LL;

	sigpipe_block(&guard);
	ret = hook_spawn(&r, err);
	if (ret == 0) {
		exited = hook_wait_loop(&r, deadline, err);
		ret = exited < 0 ? -1 : hook_reap(&r, exited == 0, &si, err);
		if (ret == 0) {
			/* What it wrote just before exiting; a child it left
			 * behind holding the pipes is not waited for. */
			capture_read(&r.out);
			capture_read(&r.err);
			ret = hook_result(&r, exited == 0, &si, err);
		}
	}
	hook_run_free(&r);
	sigpipe_restore(&guard);
	return ret;
}

int linux_hooks_run(const struct oci_hook_list *hooks, const char *kind,
		    const char *state_json, struct husk_err **err)
{
	if (hooks == NULL)
		return 0;
	for (size_t i = 0; i < hooks->n; i++)
		if (hook_run_one(&hooks->v[i], kind, i, state_json, err) < 0)
			return -1;
	return 0;
}

int linux_hooks_run_all(const struct oci_hook_list *hooks, const char *kind,
			const char *state_json, struct husk_err **err)
{
	_cleanup_free_ char *all = NULL;
	int errnum = 0;

	if (hooks == NULL)
		return 0;
	for (size_t i = 0; i < hooks->n; i++) {
		struct husk_err *e = NULL;
		char *joined;

		if (hook_run_one(&hooks->v[i], kind, i, state_json, &e) == 0)
			continue;
		if (all == NULL)
			errnum = e ? e->errnum : 0;
		joined =
			husk_asprintf("%s%s%s", all ? all : "", all ? "; " : "",
				      e && e->msg ? e->msg : "failed");
		free(all);
		all = joined;
		husk_err_free(&e);
	}
	if (all)
		return husk_err_set(err, errnum, "%s", all);
	return 0;
}

/* ---- state JSON ---------------------------------------------------------- */

static void gen_str(yajl_gen g, const char *s)
{
	if (s == NULL)
		s = "";
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

char *linux_hooks_state_json(const char *oci_version, const char *id,
			     const char *status, pid_t pid, const char *bundle,
			     const struct oci_kv *annotations, size_t n)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *buf;
	size_t len;
	char *out;

	if (g == NULL)
		abort();
	yajl_gen_map_open(g);
	gen_str(g, "ociVersion");
	gen_str(g, oci_version);
	gen_str(g, "id");
	gen_str(g, id);
	gen_str(g, "status");
	gen_str(g, status);
	if (pid > 0) {
		gen_str(g, "pid");
		yajl_gen_integer(g, pid);
	}
	gen_str(g, "bundle");
	gen_str(g, bundle);
	if (n > 0) {
		gen_str(g, "annotations");
		yajl_gen_map_open(g);
		for (size_t i = 0; i < n; i++) {
			gen_str(g, annotations[i].key);
			gen_str(g, annotations[i].value);
		}
		yajl_gen_map_close(g);
	}
	yajl_gen_map_close(g);
	if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
		abort();
	out = husk_calloc(len + 1, 1);
	memcpy(out, buf, len);
	yajl_gen_free(g);
	return out;
}
