/* `husk exec`: a new process in a running container, as runc's setns
 * path (nsexec.c) does it. The ordering constraints:
 *  - The pid namespace only applies to children: the caller enters the
 *    init's pid namespace for its children (setns on the init's pidfd),
 *    forks, and returns to its own at once (ns_spawn). The process is thus
 *    a child of the caller, which can wait for it, and inside the
 *    container's pid namespace.
 *  - The child enters the container's cgroup while it still sees the
 *    host's /sys/fs/cgroup, then every other namespace of the init in one
 *    setns(pidfd, flags) (atomic: all or none), so the cgroup namespace
 *    it joins has the cgroup it is in below its root.
 *  - Namespaces the init shares with husk are left out of the flags
 *    (joining one's own user namespace is an error).
 *  - The pty is opened after entering the mount namespace, so it belongs
 *    to the container's devpts. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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
#include "runtime/linux/seccomp.h"
#include "runtime/linux/terminal.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

struct exec_ctx {
	const struct linux_exec_opts *o;
	const struct cg_layout *cg;
	const char *cg_path;
	int pidfd;    /* the init's */
	int ns_flags; /* all joined namespaces but pid */
	int sock;     /* child end of the report socket */
	int console;  /* connected --console-socket, or -1 */
	scmp_filter_ctx seccomp; /* the container's linux.seccomp, or NULL */
};

/* The child's failure report. A message carrying an fd is the pty master
 * instead (sent by linux_terminal_send_master_fd). */
struct exec_report {
	int32_t errnum;
	char text[4000];
};

static void report(int sock, const struct husk_err *e)
{
	struct exec_report m;

	memset(&m, 0, sizeof(m));
	m.errnum = e && e->errnum ? e->errnum : EIO;
	snprintf(m.text, sizeof(m.text), "%s",
		 e && e->msg ? e->msg : "exec: setup failed");
	while (send(sock, &m, offsetof(struct exec_report, text) +
				      strlen(m.text) + 1,
		    MSG_NOSIGNAL) < 0 &&
	       errno == EINTR)
		;
}

static const struct {
	const char *name;
	int flag;
} ns_names[] = {
	{"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS},
	{"uts", CLONE_NEWUTS},	 {"ipc", CLONE_NEWIPC},
	{"net", CLONE_NEWNET},	 {"cgroup", CLONE_NEWCGROUP},
	{"time", CLONE_NEWTIME}, {"pid", CLONE_NEWPID},
};

/* The namespaces of pid that are not the caller's. */
static int ns_differ(pid_t pid, int *flags, struct husk_err **err)
{
	*flags = 0;
	for (size_t i = 0; i < ARRAY_SIZE(ns_names); i++) {
		char p[64], s[64];
		struct stat a, b;

		snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)pid,
			 ns_names[i].name);
		snprintf(s, sizeof(s), "/proc/self/ns/%s", ns_names[i].name);
		if (stat(s, &b) < 0) {
			if (errno == ENOENT)
				continue; /* a kernel without it */
			return husk_err_sys(err, "stat %s", s);
		}
		if (stat(p, &a) < 0) {
			if (errno == ENOENT)
				return husk_err_set(err, ESRCH,
						    "container not running");
			return husk_err_sys(err, "stat %s", p);
		}
		if (a.st_ino != b.st_ino || a.st_dev != b.st_dev)
			*flags |= ns_names[i].flag;
	}
	return 0;
}

/* Process fields the backend cannot apply: refused by name, as
 * linux_check_supported does for the init. */
static int exec_check(const struct oci_process *p, struct husk_err **err)
{
	const struct oci_caps *c = p->capabilities;
	const struct oci_strv *sets[5];

	if (p->apparmor_profile && p->apparmor_profile[0])
		return husk_err_set(err, ENOTSUP,
				    "process.apparmorProfile: not supported "
				    "yet");
	if (p->selinux_label && p->selinux_label[0])
		return husk_err_set(err, ENOTSUP,
				    "process.selinuxLabel: not supported yet");
	if (p->io_priority)
		return husk_err_set(err, ENOTSUP,
				    "process.ioPriority: not supported yet");
	if (p->scheduler)
		return husk_err_set(err, ENOTSUP,
				    "process.scheduler: not supported yet");
	if (p->exec_cpu_affinity)
		return husk_err_set(err, ENOTSUP,
				    "process.execCPUAffinity: not supported "
				    "yet");
	if (c == NULL)
		return 0;
	sets[0] = &c->bounding;
	sets[1] = &c->effective;
	sets[2] = &c->inheritable;
	sets[3] = &c->permitted;
	sets[4] = &c->ambient;
	for (size_t s = 0; s < ARRAY_SIZE(sets); s++)
		for (size_t i = 0; i < sets[s]->n; i++)
			if (process_cap_from_name(sets[s]->v[i]) < 0)
				return husk_err_set(err, EINVAL,
						    "process.capabilities: "
						    "unknown capability \"%s\"",
						    sets[s]->v[i]);
	return 0;
}

static int exec_seccomp_load(struct exec_ctx *x, struct husk_err **err)
{
	int listener = -1;

	if (linux_seccomp_load(x->seccomp, x->o->spec->linux_->seccomp,
			       &listener, err) < 0)
		return -1;
	if (listener >= 0)
		close(listener); /* refused before the fork: cannot be */
	return 0;
}

/* In the child, from fork to the point where only execve is left. */
static int exec_setup(struct exec_ctx *x, char **path, struct husk_err **err)
{
	const struct oci_process *p = x->o->process;
	sigset_t none;

	/* CVE-2019-5736: processes of the container must not reach
	 * /proc/<pid>/exe (the husk binary) until execve. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return husk_err_sys(err, "prctl PR_SET_DUMPABLE");
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	umask(0);
	if (cgroup_enter(x->cg, x->cg_path, getpid(), err) < 0)
		return husk_err_prefix(err, "join the container's cgroup");
	if (x->ns_flags && setns(x->pidfd, x->ns_flags) < 0)
		return husk_err_sys(err, "setns into the container's "
				    "namespaces");
	close(x->pidfd);
	x->pidfd = -1;
	if (syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, NULL) <
		    0 &&
	    errno != ENOSYS)
		return husk_err_sys(err, "join a new session keyring");
	if (process_oom_score_adj(p, err) < 0)
		return -1;
	if (p->terminal) {
		int s = x->console >= 0 ? x->console : x->sock;
		if (console_setup(s, p, false, err) < 0)
			return -1;
		if (x->console >= 0)
			close(x->console);
		x->console = -1;
	} else if (setsid() < 0) {
		return husk_err_sys(err, "setsid");
	}
	if (process_chdir(p, err) < 0 || process_find_exec(p, path, err) < 0 ||
	    process_rlimits(p, err) < 0)
		return -1;
	/* The container's filter applies to every process in it, in runc's
	 * order (seccomp.h): without noNewPrivileges while CAP_SYS_ADMIN is
	 * still held, with it after the credentials. */
	if (x->seccomp && !p->no_new_privileges &&
	    exec_seccomp_load(x, err) < 0)
		return -1;
	if (process_set_creds(p, err) < 0)
		return -1;
	if (x->seccomp && p->no_new_privileges &&
	    exec_seccomp_load(x, err) < 0)
		return -1;
	/* CVE-2024-21626: husk's own fds are all O_CLOEXEC; the caller's
	 * --preserve-fds are 3..3+n-1. */
	if (syscall(SYS_close_range, 3 + x->o->preserve_fds, ~0U,
		    CLOSE_RANGE_CLOEXEC) < 0)
		return husk_err_sys(err, "close_range");
	return 0;
}

static int exec_child(void *arg)
{
	struct exec_ctx *x = arg;
	struct husk_err *err = NULL;
	char *path = NULL;

	if (exec_setup(x, &path, &err) < 0) {
		report(x->sock, err);
		return 1;
	}
	execve(path, x->o->process->args.v, x->o->process->env.v);
	husk_err_sys(&err, "exec %s", path);
	report(x->sock, err);
	return 127;
}

/* Read the child's messages until its socket closes at execve. */
static int exec_wait_report(int sock, pid_t pid, int *master,
			    struct husk_err **err)
{
	for (;;) {
		struct exec_report m;
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = {&m, sizeof(m) - 1};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf)};
		struct cmsghdr *c;
		ssize_t n;
		int fd = -1;

		do
			n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return husk_err_sys(err, "exec: read from the process");
		if (n == 0)
			return 0;
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SCM_RIGHTS &&
			    c->cmsg_len == CMSG_LEN(sizeof(int)))
				memcpy(&fd, CMSG_DATA(c), sizeof(int));
		if (fd >= 0) {
			if (*master >= 0)
				close(*master);
			*master = fd;
			continue;
		}
		((char *)&m)[n] = '\0';
		if (n > (ssize_t)offsetof(struct exec_report, text))
			husk_err_set(err, m.errnum, "%s", m.text);
		else
			husk_err_set(err, EIO, "exec: bad report");
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return -1;
	}
}

int linux_container_exec(const struct linux_container *c,
			 const struct linux_exec_opts *o, pid_t *pid,
			 int *master, struct husk_err **err)
{
	struct cg_layout cg = {0};
	struct exec_ctx x = {.o = o, .pidfd = -1, .sock = -1, .console = -1};
	int fds[OCI_NS_COUNT];
	bool is_new[OCI_NS_COUNT] = {false};
	int sv[2] = {-1, -1}, flags = 0, m = -1, ret = -1;
	pid_t p = -1;

	*pid = -1;
	if (master)
		*master = -1;
	for (int t = 0; t < OCI_NS_COUNT; t++)
		fds[t] = -1;
	if (o->process == NULL)
		return husk_err_set(err, EINVAL, "process: missing");
	if (exec_check(o->process, err) < 0)
		return -1;
	if (o->process->terminal && !o->console_socket && !master)
		return husk_err_set(err, EINVAL,
				    "process.terminal: needs a console socket");
	if (c->pid <= 0 || c->cgroup_path == NULL)
		return husk_err_set(err, ESRCH, "container not running");
	x.pidfd = pidfd_open(c->pid, 0);
	if (x.pidfd < 0) {
		if (errno == ESRCH)
			return husk_err_set(err, ESRCH, "container not running");
		return husk_err_sys(err, "pidfd_open %d", (int)c->pid);
	}
	/* The pidfd pins the process: checked alive after opening, every
	 * later use of c->pid is the init's. */
	if (!linux_container_alive(c)) {
		husk_err_set(err, ESRCH, "container not running");
		goto out;
	}
	if (ns_differ(c->pid, &flags, err) < 0 ||
	    cgroup_layout_detect(&cg, err) < 0)
		goto out;
	x.cg = &cg;
	x.cg_path = c->cgroup_path;
	if (o->spec && o->spec->linux_ && o->spec->linux_->seccomp) {
		const struct oci_seccomp *s = o->spec->linux_->seccomp;
		/* The listener would have to reach listenerPath with this
		 * process's state, which nothing here sends yet. */
		if (linux_seccomp_uses_notify(s)) {
			husk_err_set(err, ENOTSUP,
				     "linux.seccomp: SCMP_ACT_NOTIFY in exec: "
				     "not supported yet");
			goto out;
		}
		if (linux_seccomp_build(s, &x.seccomp, err) < 0)
			goto out;
	}
	x.ns_flags = flags & ~CLONE_NEWPID;
	if (flags & CLONE_NEWPID)
		fds[OCI_NS_PID] = x.pidfd;
	/* A host path: connected before the child enters the container. */
	if (o->process->terminal && o->console_socket &&
	    linux_terminal_connect(o->console_socket, &x.console, err) < 0)
		goto out;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		husk_err_sys(err, "socketpair");
		goto out;
	}
	x.sock = sv[1];
	p = ns_spawn(fds, is_new, exec_child, &x, err);
	if (p < 0)
		goto out;
	close(sv[1]);
	sv[1] = -1;
	if (exec_wait_report(sv[0], p, &m, err) < 0) {
		p = -1;
		goto out;
	}
	if (o->process->terminal && !o->console_socket && m < 0) {
		husk_err_set(err, EPROTO, "exec: no pty master received");
		kill(p, SIGKILL);
		while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
			;
		goto out;
	}
	*pid = p;
	if (master) {
		*master = m;
		m = -1;
	}
	ret = 0;
out:
	if (m >= 0)
		close(m);
	for (int i = 0; i < 2; i++)
		if (sv[i] >= 0)
			close(sv[i]);
	if (x.console >= 0)
		close(x.console);
	close(x.pidfd);
	if (x.seccomp)
		seccomp_release(x.seccomp);
	cgroup_layout_free(&cg);
	return ret;
}
