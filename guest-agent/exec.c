/* `exec`: a process started in a running container's namespaces and
 * cgroup, set up with the same runtime/linux/ steps as the init (cwd,
 * rlimits, user, capabilities, noNewPrivileges), and the pty relay.
 *
 * The agent is multi-threaded, and setns(CLONE_NEWNS/CLONE_NEWUSER) needs a
 * single-threaded caller: a helper process forked per exec joins the
 * namespaces and the cgroup, then forks the process itself (joining a pid
 * namespace only places children in it) and exits. The process is then
 * reparented to the agent: PID 1 in a guest, a child subreaper on the
 * host. */
#include "guest-agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "oci/spec.h"
#include "runtime/linux/internal.h"
#include "runtime/linux/terminal.h"

/* What the helper and the process tell the agent, one datagram each. */
struct exec_msg {
	int32_t kind; /* EXEC_PID, EXEC_ERROR, EXEC_MASTER (fd attached) */
	int32_t pid;
	int32_t errnum;
	char text[2000];
};
enum { EXEC_PID = 1, EXEC_ERROR, EXEC_MASTER };

static void msg_send(int sock, int kind, pid_t pid, const struct husk_err *e,
		     int fd)
{
	struct exec_msg m;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {&m, sizeof(m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	memset(&m, 0, sizeof(m));
	m.kind = kind;
	m.pid = pid;
	if (e) {
		m.errnum = e->errnum;
		snprintf(m.text, sizeof(m.text), "%s", e->msg);
	}
	if (fd >= 0) {
		struct cmsghdr *c;
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

/* Receive one exec_msg; *fd gets an attached fd or -1. */
static int msg_recv(int sock, struct exec_msg *m, int *fd,
		    struct husk_err **err)
{
	ssize_t n;

	memset(m, 0, sizeof(*m));
	n = husk_recv_fd(sock, m, sizeof(*m), 0, fd);
	if (n < 0)
		return husk_err_sys(err, "exec: read from the helper");
	if (n == 0)
		return husk_err_set(err, EIO, "exec: the helper died");
	m->text[sizeof(m->text) - 1] = '\0';
	return 0;
}

int agent_recv_fd(int sock, int *fd, struct husk_err **err)
{
	char data[64];

	if (husk_recv_fd(sock, data, sizeof(data), MSG_DONTWAIT, fd) < 0)
		return husk_err_sys(err, "receive the pty master");
	if (*fd < 0)
		return husk_err_set(err, EPROTO, "no pty master received");
	return 0;
}

/* ---- in the helper and the process -------------------------------------- */

void agent_child_signals_reset(void)
{
	sigset_t none;

	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* The order nsenter(1) uses: user first (it grants the rights for the
 * rest), mount last but one... pid only affects children. */
static const struct {
	const char *name;
	int type;
} ns_order[] = {
	{"user", CLONE_NEWUSER}, {"cgroup", CLONE_NEWCGROUP},
	{"ipc", CLONE_NEWIPC},	 {"uts", CLONE_NEWUTS},
	{"net", CLONE_NEWNET},	 {"pid", CLONE_NEWPID},
	{"time", CLONE_NEWTIME}, {"mnt", CLONE_NEWNS},
};

static int ns_join_init(pid_t init, struct husk_err **err)
{
	int fds[ARRAY_SIZE(ns_order)];
	int ret = 0;

	for (size_t i = 0; i < ARRAY_SIZE(ns_order); i++) {
		char p[64], s[64];
		struct stat a, b;
		snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)init,
			 ns_order[i].name);
		snprintf(s, sizeof(s), "/proc/self/ns/%s", ns_order[i].name);
		fds[i] = -1;
		if (stat(p, &a) < 0) {
			if (errno == ENOENT)
				continue; /* a kernel without it */
			ret = husk_err_sys(err, "stat %s", p);
			break;
		}
		/* Joining the namespace one is in fails for user ns. */
		if (stat(s, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev)
			continue;
		fds[i] = open(p, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			ret = husk_err_sys(err, "open %s", p);
			break;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(ns_order); i++) {
		if (ret == 0 && fds[i] >= 0 &&
		    setns(fds[i], ns_order[i].type) < 0)
			ret = husk_err_sys(err, "setns %s namespace",
					   ns_order[i].name);
		if (fds[i] >= 0)
			close(fds[i]);
	}
	return ret;
}

/* The process: pty, then the same setup steps as the init. Returns only
 * on failure. */
static int proc_setup(const struct oci_spec *ps, int sock,
		      struct husk_err **err)
{
	const struct oci_process *p = ps->process;
	_cleanup_free_ char *path = NULL;

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return husk_err_sys(err, "prctl PR_SET_DUMPABLE");
	if (p->terminal) {
		int master = -1, slave = -1;
		/* After setns into the mount namespace, /dev/ptmx is the
		 * container's: the pty belongs to its devpts. */
		if (linux_terminal_open(NULL, &master, &slave, p->console_size,
					err) < 0)
			return -1;
		msg_send(sock, EXEC_MASTER, 0, NULL, master);
		close(master);
		if (linux_terminal_setup_slave(slave, err) < 0)
			return -1;
	} else if (setsid() < 0) {
		return husk_err_sys(err, "setsid");
	}
	if (process_oom_score_adj(p, err) < 0 || process_chdir(p, err) < 0 ||
	    process_find_exec(p, &path, err) < 0 ||
	    process_rlimits(p, err) < 0 || process_set_creds(p, err) < 0)
		return -1;
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return husk_err_sys(err, "close_range");
	execve(path, p->args.v, p->env.v);
	return husk_err_sys(err, "exec %s", path);
}

static void stdio_setup(const int stdio[3])
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	for (int i = 0; i < 3; i++) {
		int fd = stdio[i] >= 0 ? stdio[i] : null;
		if (fd >= 0)
			dup2(fd, i); /* dup2 clears FD_CLOEXEC */
	}
}

__attribute__((noreturn)) static void helper_main(struct agent_ctr *c,
						  const struct oci_spec *ps,
						  const int stdio[3], int sock)
{
	struct husk_err *err = NULL;
	struct exec_msg m;
	int ep[2];
	pid_t pid;
	ssize_t n;

	agent_child_signals_reset();
	if (!linux_container_alive(&c->lc)) {
		husk_err_set(&err, ESRCH, "container \"%s\": not running",
			     c->id);
		goto fail;
	}
	stdio_setup(stdio);
	if (agent_cg_enter(c->lc.cgroup_path, &err) < 0 ||
	    ns_join_init(c->lc.pid, &err) < 0)
		goto fail;
	if (pipe2(ep, O_CLOEXEC) < 0) {
		husk_err_sys(&err, "pipe");
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		husk_err_sys(&err, "fork");
		goto fail;
	}
	if (pid == 0) {
		close(ep[0]);
		proc_setup(ps, sock, &err);
		memset(&m, 0, sizeof(m));
		m.kind = EXEC_ERROR;
		m.errnum = err ? err->errnum : EIO;
		snprintf(m.text, sizeof(m.text), "%s",
			 err ? err->msg : "exec: setup failed");
		if (write(ep[1], &m, sizeof(m)) < 0)
			_exit(126);
		_exit(127);
	}
	close(ep[1]);
	/* The pipe closes at a successful execve (O_CLOEXEC); a report
	 * means setup failed. */
	do
		n = read(ep[0], &m, sizeof(m));
	while (n < 0 && errno == EINTR);
	if (n > (ssize_t)offsetof(struct exec_msg, text)) {
		m.text[sizeof(m.text) - 1] = '\0';
		husk_err_set(&err, m.errnum, "%s", m.text);
		goto fail;
	}
	msg_send(sock, EXEC_PID, pid, NULL, -1);
	_exit(0);
fail:
	msg_send(sock, EXEC_ERROR, 0, err, -1);
	_exit(1);
}

pid_t agent_exec_spawn(struct agent_ctr *c, const struct oci_spec *ps,
		       const int stdio[3], int *pty_master,
		       struct husk_err **err)
{
	_cleanup_close_ int master = -1;
	struct exec_msg m;
	int sv[2], fd;
	pid_t h;

	*pty_master = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return husk_err_sys(err, "socketpair");
	h = fork();
	if (h < 0) {
		close(sv[0]);
		close(sv[1]);
		return husk_err_sys(err, "fork");
	}
	if (h == 0) {
		close(sv[0]);
		helper_main(c, ps, stdio, sv[1]);
	}
	close(sv[1]);
	/* The helper's pid is reaped by the main loop like any orphan. */
	for (;;) {
		if (msg_recv(sv[0], &m, &fd, err) < 0) {
			close(sv[0]);
			return -1;
		}
		if (m.kind == EXEC_MASTER && fd >= 0 && master < 0) {
			master = fd;
			continue;
		}
		if (fd >= 0)
			close(fd);
		break;
	}
	close(sv[0]);
	if (m.kind != EXEC_PID || m.pid <= 0)
		return husk_err_set(err, m.errnum ? m.errnum : EIO, "%s",
				    m.kind == EXEC_ERROR ? m.text :
							   "exec: bad report");
	if (ps->process->terminal && master < 0)
		return husk_err_set(err, EPROTO, "exec: no pty master");
	*pty_master = TAKE_FD(master);
	return m.pid;
}

/* ---- the pty relay ------------------------------------------------------ */

struct relay {
	int master, stream;
};

/* Host -> pty and pty -> host until the pty hangs up; its output is
 * drained first (EIO on the master means every slave is closed). The
 * stream is then closed, which the host sees as EOF. */
static void *relay_thread(void *arg)
{
	struct relay *r = arg;
	bool in_open = true;
	char buf[16384];

	for (;;) {
		struct pollfd p[2] = {{r->master, POLLIN, 0},
				      {in_open ? r->stream : -1, POLLIN, 0}};
		ssize_t n;
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents) {
			n = read(r->master, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			if (husk_write_all(r->stream, buf, (size_t)n) < 0)
				break;
			continue;
		}
		if (p[1].revents) {
			n = read(r->stream, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				in_open = false;
				continue;
			}
			if (husk_write_all(r->master, buf, (size_t)n) < 0)
				in_open = false;
		}
	}
	close(r->master);
	shutdown(r->stream, SHUT_RDWR);
	close(r->stream);
	free(r);
	return NULL;
}

void agent_pty_relay_start(struct agent *a, int master, int stream)
{
	struct relay *r = husk_calloc(1, sizeof(*r));
	pthread_attr_t attr;
	pthread_t t;

	r->master = master;
	r->stream = stream;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	if (pthread_create(&t, &attr, relay_thread, r) != 0) {
		agent_say(a, "pty relay: cannot start a thread");
		close(master);
		close(stream);
		free(r);
	}
	pthread_attr_destroy(&attr);
}
