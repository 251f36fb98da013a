/* The container's lifecycle as linux.h exposes it: create (the parent's
 * side and the init's whole setup), start through exec.fifo, signal,
 * destroy.
 *
 * exec.fifo: the parent opens the fifo both ways before fork, so the init
 * holds a read end (opened non-blocking: it exists from the start) and a
 * write end of its own (so its blocking read waits for data rather than
 * seeing EOF). `start` opens the fifo O_WRONLY|O_NONBLOCK, which fails
 * with ENXIO at once when no reader is left, i.e. when the init died: start
 * can never hang. It writes one byte, which releases the init's read. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/linux/internal.h"
#include "runtime/linux/linux.h"
#include "runtime/linux/terminal.h"

#define FIFO_NAME "exec.fifo"

enum { MSG_READY = 1, MSG_ERROR = 2 };

/* The init's report to the parent, one SOCK_SEQPACKET datagram. */
struct init_msg {
	int32_t kind;
	int32_t errnum;
	char text[4000];
};

static void send_msg(int sock, int kind, const struct husk_err *e)
{
	struct init_msg m;
	size_t len = offsetof(struct init_msg, text);

	memset(&m, 0, sizeof(m));
	m.kind = kind;
	if (e) {
		m.errnum = e->errnum;
		snprintf(m.text, sizeof(m.text), "%s",
			 e->msg ? e->msg : "unknown error");
		len += strlen(m.text) + 1;
	}
	while (send(sock, &m, len, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* The init inherits every fd of the caller: close all but stdio, the
 * caller's --preserve-fds and the init's own, right away. Besides the
 * workload (CVE-2024-21626), this matters to the CLI: a copy of its state
 * lock fd held here would keep the container's lock taken until execve.
 * In 3..3+n-1, husk's own fds are told apart by O_CLOEXEC: the caller's
 * preserved fds cannot have it (they survived husk's own execve). */
static int close_inherited(struct init_ctx *c, struct husk_err **err)
{
	int keep[OCI_NS_COUNT + 4], n = 0, from;
	int top = 3 + c->o->preserve_fds;

	keep[n++] = c->sock;
	keep[n++] = c->fifo_r;
	keep[n++] = c->fifo_w;
	if (c->console_sock >= 0)
		keep[n++] = c->console_sock;
	for (int t = 0; t < OCI_NS_COUNT; t++)
		if (c->ns_fds[t] >= 0)
			keep[n++] = c->ns_fds[t];
	qsort(keep, (size_t)n, sizeof(int), cmp_int);
	for (int fd = 3; fd < top; fd++) {
		bool ours = false;
		int fl;
		for (int i = 0; i < n; i++)
			ours |= keep[i] == fd;
		fl = ours ? -1 : fcntl(fd, F_GETFD);
		if (fl >= 0 && (fl & FD_CLOEXEC))
			close(fd);
	}
	from = top;
	for (int i = 0; i < n; i++) {
		if (keep[i] > from &&
		    syscall(SYS_close_range, (unsigned)from,
			    (unsigned)keep[i] - 1, 0) < 0)
			return husk_err_sys(err, "close_range");
		if (keep[i] >= from)
			from = keep[i] + 1;
	}
	if (syscall(SYS_close_range, (unsigned)from, ~0U, 0) < 0)
		return husk_err_sys(err, "close_range");
	return 0;
}

/* Everything from the parent's "go" to the wait on exec.fifo. Returns only
 * on failure. */
static int init_setup(struct init_ctx *c, char **exec_path,
		      struct husk_err **err)
{
	const struct oci_spec *spec = c->spec;
	bool early;
	char go;
	ssize_t n;

	/* CVE-2019-5736: until execve this process is the husk binary; keep
	 * others (e.g. a joined pid namespace's processes) out of
	 * /proc/<pid>/exe. execve resets it for the workload. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return husk_err_sys(err, "prctl PR_SET_DUMPABLE");
	/* Device nodes and created dirs get exactly the modes asked for;
	 * process.user.umask is applied at the end. */
	umask(0);
	if (close_inherited(c, err) < 0)
		return -1;
	if (ns_join_rest(c->ns_fds, c->ns_new, err) < 0)
		return -1;
	if (process_oom_score_adj(spec->process, err) < 0)
		return -1;
	if (c->ns_new[OCI_NS_NETWORK] && netlink_loopback_up(err) < 0)
		return -1;
	/* While the parent writes our pid into the cgroups, set up the
	 * rootfs, unless it mounts a cgroup2 that must see the cgroup
	 * namespace (pure v2 hosts). */
	early = c->ns_new[OCI_NS_MOUNT] && c->cg->mode != CG_V2 &&
		/* hooks run with the init in its cgroups, after "go" */
		!init_has_create_hooks(spec);
	if (early && rootfs_setup(c, err) < 0)
		return -1;
	do
		n = read(c->sock, &go, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(1); /* the parent is gone or gave up: nobody to tell */
	if (ns_enter_cgroup(c->ns_fds, c->ns_new, err) < 0)
		return -1;
	if (!early && c->ns_new[OCI_NS_MOUNT] && rootfs_setup(c, err) < 0)
		return -1;
	/* rootfs_setup ran them before pivot_root; a joined mount
	 * namespace has no pivot_root: here. */
	if (init_hooks_mounted(c, err) < 0)
		return -1;
	if (rootfs_set_names(spec, err) < 0)
		return -1;
	if (spec->process->terminal && c->console_sock >= 0) {
		if (console_setup(c->console_sock, spec->process,
				  c->ns_new[OCI_NS_MOUNT], err) < 0)
			return -1;
		close(c->console_sock);
		c->console_sock = -1;
	}
	/* A session keyring of its own (runc's default): keys of the host
	 * session are not the container's. */
	if (!c->o->no_new_keyring &&
	    syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, NULL) < 0 &&
	    errno != ENOSYS)
		return husk_err_sys(err, "join a new session keyring");
	if (process_chdir(spec->process, err) < 0 ||
	    process_find_exec(spec->process, exec_path, err) < 0 ||
	    process_rlimits(spec->process, err) < 0 ||
	    init_seccomp_load(c, true, err) < 0 ||
	    process_set_creds(spec->process, err) < 0)
		return -1;
	/* CVE-2024-21626: nothing of husk's reaches the workload. fds
	 * 3..3+n-1 are the caller's --preserve-fds (husk's own fds there are
	 * O_CLOEXEC); all above are closed at execve. */
	if (syscall(SYS_close_range, 3 + c->o->preserve_fds, ~0U,
		    CLOSE_RANGE_CLOEXEC) < 0)
		return husk_err_sys(err, "close_range");
	return init_seccomp_load(c, false, err);
}

static int init_main(void *arg)
{
	struct init_ctx *c = arg;
	struct husk_err *err = NULL;
	char *path = NULL;
	char b;
	ssize_t n;

	if (init_setup(c, &path, &err) < 0) {
		send_msg(c->sock, MSG_ERROR, err);
		return 1;
	}
	send_msg(c->sock, MSG_READY, NULL);
	close(c->sock);
	do
		n = read(c->fifo_r, &b, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		return 1;
	/* fifo_r stays open until execve closes it: `start` waits for
	 * that, and reads what went wrong from the fifo if we exit. */
	if (init_hooks_start(c, &err) < 0) {
		dprintf(c->fifo_w, "%s", err->msg ? err->msg : "failed");
		return 1;
	}
	/* Again right before execve: the sanitizer runtimes of `make asan`
	 * open fds of their own behind our back. */
	syscall(SYS_close_range, 3 + c->o->preserve_fds, ~0U,
		CLOSE_RANGE_CLOEXEC);
	execve(path, c->spec->process->args.v, c->spec->process->env.v);
	/* The parent has returned long ago: stderr, and the fifo that
	 * `start` reads once our read end is gone. */
	dprintf(2, "husk: exec %s: %s\n", path, strerror(errno));
	dprintf(c->fifo_w, "exec %s: %s", path, strerror(errno));
	return 127;
}

/* root.path: bundle-relative or absolute; a relative one must stay in the
 * bundle once symlinks are resolved. */
static int resolve_rootfs(const struct linux_create_opts *o, char **out,
			  struct husk_err **err)
{
	const struct oci_root *r = o->spec->root;
	_cleanup_free_ char *joined = NULL, *real = NULL, *bundle = NULL;
	struct stat st;
	size_t bl;

	if (r == NULL || r->path == NULL || r->path[0] == '\0')
		return husk_err_set(err, EINVAL, "root.path: missing");
	joined = r->path[0] == '/' ? husk_strdup(r->path)
				   : husk_asprintf("%s/%s", o->bundle, r->path);
	real = realpath(joined, NULL);
	if (real == NULL)
		return husk_err_sys(err, "root.path: %s", joined);
	if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
		return husk_err_set(err, ENOTDIR,
				    "root.path: %s is not a directory", joined);
	if (r->path[0] != '/') {
		bundle = realpath(o->bundle, NULL);
		if (bundle == NULL)
			return husk_err_sys(err, "bundle %s", o->bundle);
		bl = strlen(bundle);
		if (strncmp(real, bundle, bl) != 0 ||
		    (real[bl] != '/' && !(bl == 1 && bundle[0] == '/')))
			return husk_err_set(err, EXDEV,
					    "root.path: %s resolves to %s, "
					    "outside the bundle",
					    r->path, real);
	}
	if (strcmp(real, "/") == 0)
		return husk_err_set(err, EINVAL,
				    "root.path: the host's / cannot be a "
				    "container's rootfs");
	*out = TAKE_PTR(real);
	return 0;
}

static int make_fifo(const char *state_dir, int *r, int *w,
		     struct husk_err **err)
{
	_cleanup_free_ char *p = husk_asprintf("%s/%s", state_dir, FIFO_NAME);

	if (mkfifo(p, 0622) < 0)
		return husk_err_sys(err, "mkfifo %s", p);
	/* mkfifo honours the caller's umask. */
	if (chmod(p, 0622) < 0)
		return husk_err_sys(err, "chmod %s", p);
	*r = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (*r < 0)
		return husk_err_sys(err, "open %s", p);
	*w = open(p, O_WRONLY | O_CLOEXEC);
	if (*w < 0)
		return husk_err_sys(err, "open %s", p);
	/* The init's read must block until `start`. */
	if (fcntl(*r, F_SETFL, 0) < 0)
		return husk_err_sys(err, "fcntl %s", p);
	return 0;
}

/* Read the init's report; on EOF, tell how it ended. With MSG_DONTWAIT,
 * returns 1 when nothing is there yet. */
static int wait_ready(struct init_ctx *c, int sock, pid_t pid, int flags,
		      struct husk_err **err)
{
	struct init_msg m;
	ssize_t n;
	int status, fd;

again:
	n = init_recv(sock, &m, sizeof(m) - 1, flags, &fd);
	if (n < 0 && (flags & MSG_DONTWAIT) && errno == EAGAIN)
		return 1;
	if (n < 0)
		return husk_err_sys(err, "read from the container's init");
	if (n >= (ssize_t)sizeof(m.kind) &&
	    (m.kind == INIT_MSG_HOOKS || m.kind == INIT_MSG_SECCOMP)) {
		int r = init_parent_msg(c, sock, pid, m.kind, fd, err);
		if (fd >= 0)
			close(fd);
		if (r < 0)
			return -1;
		goto again;
	}
	if (fd >= 0)
		close(fd);
	if (n >= (ssize_t)offsetof(struct init_msg, text) &&
	    m.kind == MSG_READY)
		return 0;
	if (n > (ssize_t)offsetof(struct init_msg, text) &&
	    m.kind == MSG_ERROR) {
		((char *)&m)[n] = '\0';
		return husk_err_set(err, m.errnum, "%s", m.text);
	}
	if (waitpid(pid, &status, 0) == pid) {
		if (WIFSIGNALED(status))
			return husk_err_set(err, EIO,
					    "the container's init was killed by "
					    "signal %d during setup",
					    WTERMSIG(status));
		return husk_err_set(err, EIO,
				    "the container's init exited with status "
				    "%d during setup",
				    WEXITSTATUS(status));
	}
	return husk_err_set(err, EIO, "the container's init died during setup");
}

int linux_container_create(const struct linux_create_opts *o,
			   struct linux_container *out, struct husk_err **err)
{
	struct cg_layout cg = {0};
	struct init_ctx c;
	_cleanup_free_ char *cg_path = NULL, *fifo = NULL;
	int sv[2] = {-1, -1};
	bool cg_made = false, fifo_made = false;
	pid_t pid = -1;
	int ret = -1;

	memset(&c, 0, sizeof(c));
	memset(out, 0, sizeof(*out));
	c.o = o;
	c.spec = o->spec;
	c.sock = c.fifo_r = c.fifo_w = c.console_sock = -1;
	for (int t = 0; t < OCI_NS_COUNT; t++)
		c.ns_fds[t] = -1;
	if (o->systemd_cgroup) {
		struct stat sd;
		/* sd_booted()'s test: without systemd there is no D-Bus
		 * manager to create the transient scope. */
		if (stat("/run/systemd/system", &sd) < 0)
			husk_err_set(err, ENOTSUP,
				     "--systemd-cgroup: systemd is not running "
				     "on this host (no /run/systemd/system)");
		else
			husk_err_set(err, ENOTSUP,
				     "--systemd-cgroup: not supported yet");
		goto out;
	}
	if (o->spec->process == NULL) {
		husk_err_set(err, EINVAL, "process: missing");
		goto out;
	}
	if (resolve_rootfs(o, &c.rootfs, err) < 0 ||
	    ns_open_paths(o->spec, c.ns_fds, c.ns_new, err) < 0 ||
	    cgroup_layout_detect(&cg, err) < 0 ||
	    cgroup_resolve_path(o->spec->linux_ ? o->spec->linux_->cgroups_path
						: NULL,
				o->id, &cg_path, err) < 0)
		goto out;
	c.cg = &cg;
	c.cg_path = cg_path;
	cg_made = true;
	if (cgroup_create(&cg, cg_path, err) < 0 ||
	    cgroup_apply_devices(&cg, cg_path,
				 o->spec->linux_ ? o->spec->linux_->resources
						 : NULL,
				 err) < 0 ||
	    cgroup_apply_resources(&cg, cg_path,
				   o->spec->linux_ ? o->spec->linux_->resources
						   : NULL,
				   err) < 0)
		goto out;
	/* The socket's path is a host path: connected here, before the
	 * init enters the container's mount namespace. */
	if (o->spec->process->terminal) {
		if (o->console_socket == NULL) {
			husk_err_set(err, EINVAL,
				     "process.terminal: needs a console socket");
			goto out;
		}
		if (linux_terminal_connect(o->console_socket, &c.console_sock,
					   err) < 0)
			goto out;
	}
	fifo = husk_asprintf("%s/%s", o->state_dir, FIFO_NAME);
	if (make_fifo(o->state_dir, &c.fifo_r, &c.fifo_w, err) < 0) {
		fifo_made = errno != EEXIST;
		goto out;
	}
	fifo_made = true;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		husk_err_sys(err, "socketpair");
		goto out;
	}
	/* Before clone: a profile libseccomp refuses fails create here. */
	if (init_seccomp_build(&c, err) < 0)
		goto out;
	c.sock = sv[1];
	pid = ns_spawn(c.ns_fds, c.ns_new, init_main, &c, err);
	if (pid < 0)
		goto out;
	close(sv[1]);
	sv[1] = c.sock = -1;
	/* The init waits for this byte: it must be in its cgroups first
	 * (and the cgroup namespace is made after it). */
	if (cgroup_enter(&cg, cg_path, pid, err) < 0) {
		/* The init may have failed meanwhile (it sets up the rootfs
		 * in parallel): its message is the one that explains. */
		struct husk_err *child = NULL;
		if (wait_ready(&c, sv[0], pid, MSG_DONTWAIT, &child) < 0) {
			husk_err_free(err);
			*err = child;
		}
		goto out;
	}
	/* A failed send means the init is gone: wait_ready tells why. */
	while (send(sv[0], "g", 1, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
	if (wait_ready(&c, sv[0], pid, 0, err) < 0)
		goto out;
	out->pid = pid;
	if (husk_proc_stat(pid, &out->start_time, NULL) < 0) {
		husk_err_sys(err, "read /proc/%d/stat", (int)pid);
		goto out;
	}
	out->cgroup_path = TAKE_PTR(cg_path);
	ret = 0;
out:
	if (ret < 0) {
		/* Leave nothing behind: the init (its mounts die with its
		 * mount namespace), the cgroup, the fifo. */
		if (pid > 0) {
			kill(pid, SIGKILL);
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
		if (cg_made && cg_path) {
			struct husk_err *e2 = NULL;
			cgroup_destroy(&cg, cg_path, &e2);
			husk_err_free(&e2);
		}
		if (fifo_made && fifo)
			unlink(fifo);
	}
	for (int i = 0; i < 2; i++)
		if (sv[i] >= 0)
			close(sv[i]);
	if (c.fifo_r >= 0)
		close(c.fifo_r);
	if (c.fifo_w >= 0)
		close(c.fifo_w);
	if (c.console_sock >= 0)
		close(c.console_sock);
	for (int t = 0; t < OCI_NS_COUNT; t++)
		if (c.ns_fds[t] >= 0)
			close(c.ns_fds[t]);
	free(c.rootfs);
	init_seccomp_free(&c);
	cgroup_layout_free(&cg);
	return ret;
}

int linux_container_start(const char *state_dir, struct husk_err **err)
{
	_cleanup_free_ char *p = husk_asprintf("%s/%s", state_dir, FIFO_NAME);
	_cleanup_close_ int fd = open(p, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			return husk_err_set(err, ENOENT,
					    "container has already been "
					    "started (%s is gone)",
					    p);
		if (errno == ENXIO)
			return husk_err_set(err, ESRCH,
					    "container's init process is gone");
		return husk_err_sys(err, "open %s", p);
	}
	if (husk_write_all(fd, "0", 1) < 0)
		return husk_err_sys(err, "write %s", p);
	if (init_start_wait(fd, p, err) < 0) {
		unlink(p);
		return -1;
	}
	if (unlink(p) < 0 && errno != ENOENT)
		return husk_err_sys(err, "remove %s", p);
	return 0;
}

bool linux_container_alive(const struct linux_container *c)
{
	unsigned long long st;
	char state;

	if (c->pid <= 0 || husk_proc_stat(c->pid, &st, &state) < 0)
		return false;
	return state != 'Z' && state != 'X' && st == c->start_time;
}

/* A pidfd for the init, or -1 with ESRCH when it is not that process any
 * more (the pidfd pins the pid, so checking after opening is race-free). */
static int init_pidfd(const struct linux_container *c, struct husk_err **err)
{
	int fd;

	if (c->pid <= 0) {
		errno = ESRCH;
		return husk_err_set(err, ESRCH, "container not running");
	}
	fd = pidfd_open(c->pid, 0);
	if (fd < 0) {
		if (errno == ESRCH)
			return husk_err_set(err, ESRCH, "container not running");
		return husk_err_sys(err, "pidfd_open %d", (int)c->pid);
	}
	if (!linux_container_alive(c)) {
		close(fd);
		return husk_err_set(err, ESRCH, "container not running");
	}
	return fd;
}

int linux_container_signal(const struct linux_container *c, int sig, bool all,
			   struct husk_err **err)
{
	_cleanup_close_ int fd = -1;

	if (all && c->cgroup_path) {
		struct cg_layout cg;
		int r;
		if (cgroup_layout_detect(&cg, err) < 0)
			return -1;
		r = cgroup_signal_all(&cg, c->cgroup_path, sig, err);
		cgroup_layout_free(&cg);
		return r;
	}
	fd = init_pidfd(c, err);
	if (fd < 0)
		return -1;
	if (pidfd_send_signal(fd, sig, NULL, 0) < 0) {
		if (errno == ESRCH)
			return husk_err_set(err, ESRCH, "container not running");
		return husk_err_sys(err, "kill %d with signal %d", (int)c->pid,
				    sig);
	}
	return 0;
}

int linux_container_destroy(const struct linux_container *c,
			    struct husk_err **err)
{
	struct husk_err *e = NULL;
	struct cg_layout cg;
	int fd = init_pidfd(c, &e), r;

	husk_err_free(&e);
	/* The init first: it may be outside the cgroup if setup failed. */
	if (fd >= 0) {
		pidfd_send_signal(fd, SIGKILL, NULL, 0);
		close(fd);
	}
	if (c->cgroup_path == NULL)
		return 0;
	if (cgroup_layout_detect(&cg, err) < 0)
		return -1;
	r = cgroup_destroy(&cg, c->cgroup_path, err);
	cgroup_layout_free(&cg);
	return r;
}

void linux_container_clear(struct linux_container *c)
{
	free(c->cgroup_path);
	c->cgroup_path = NULL;
	c->pid = 0;
	c->start_time = 0;
}
