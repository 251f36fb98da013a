/* linux.seccomp and the create-time hooks around the container's init:
 * the filter is built by the parent before clone and loaded by the init at
 * the point process.noNewPrivileges calls for; prestart and createRuntime
 * run in the parent, createContainer and startContainer in the init
 * (runtime-spec config.md#posix-platform-hooks, runc's standard_init). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"
#include "oci/state.h"
#include "runtime/linux/hooks.h"
#include "runtime/linux/internal.h"
#include "runtime/linux/linux.h"
#include "runtime/linux/seccomp.h"

static const struct oci_seccomp *spec_seccomp(const struct oci_spec *s)
{
	return s->linux_ ? s->linux_->seccomp : NULL;
}

int init_seccomp_build(struct init_ctx *c, struct husk_err **err)
{
	scmp_filter_ctx f = NULL;

	c->seccomp = NULL;
	if (spec_seccomp(c->spec) == NULL)
		return 0;
	if (linux_seccomp_build(spec_seccomp(c->spec), &f, err) < 0)
		return -1;
	c->seccomp = f;
	return 0;
}

void init_seccomp_free(struct init_ctx *c)
{
	if (c->seccomp)
		seccomp_release(c->seccomp);
	c->seccomp = NULL;
}

/* One datagram: the kind, with the listener fd when there is one. */
static int send_kind(int sock, int32_t kind, int fd)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = {.iov_base = &kind, .iov_len = sizeof(kind)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	if (fd >= 0) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.b;
		mh.msg_controllen = sizeof(ctl.b);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : 0;
}

int init_seccomp_load(struct init_ctx *c, bool before_creds,
		      struct husk_err **err)
{
	const struct oci_seccomp *s = spec_seccomp(c->spec);
	int fd = -1, r;

	/* seccomp.h: without no_new_privs the load needs CAP_SYS_ADMIN, so it
	 * goes before the creds change; with it, as late as possible. */
	if (c->seccomp == NULL ||
	    before_creds == c->spec->process->no_new_privileges)
		return 0;
	if (linux_seccomp_load(c->seccomp, s, &fd, err) < 0)
		return -1;
	if (fd < 0)
		return 0;
	/* The parent, outside the container's mount namespace, can reach
	 * listenerPath and knows the pid as the runtime sees it. */
	r = send_kind(c->sock, INIT_MSG_SECCOMP, fd);
	close(fd);
	if (r < 0)
		return husk_err_sys(err, "linux.seccomp: pass the listener to "
					 "the runtime");
	return 0;
}

static char *state_json(const struct init_ctx *c, const char *status,
			pid_t pid)
{
	return linux_hooks_state_json(OCI_STATE_SPEC_VERSION, c->o->id, status,
				      pid, c->o->bundle, c->spec->annotations,
				      c->spec->n_annotations);
}

bool init_has_create_hooks(const struct oci_spec *spec)
{
	const struct oci_hooks *h = spec->hooks;

	return h && (h->prestart.n || h->create_runtime.n ||
		     h->create_container.n);
}

int init_hooks_mounted(struct init_ctx *c, struct husk_err **err)
{
	const struct oci_hooks *h = c->spec->hooks;
	_cleanup_free_ char *st = NULL;
	char ack;
	ssize_t n;

	if (h == NULL || c->hooks_synced)
		return 0;
	c->hooks_synced = true;
	if (h->prestart.n || h->create_runtime.n) {
		if (send_kind(c->sock, INIT_MSG_HOOKS, -1) < 0)
			return husk_err_sys(err, "ask the runtime to run the "
						 "createRuntime hooks");
		do
			n = read(c->sock, &ack, 1);
		while (n < 0 && errno == EINTR);
		/* On a failed hook the parent kills us: no answer. */
		if (n != 1 || ack != 'h')
			_exit(1);
	}
	if (h->create_container.n == 0)
		return 0;
	/* runc: the pid the init sees of itself (1 in a new pid namespace);
	 * the hook runs in the container's namespaces, the host's root. */
	st = state_json(c, "creating", getpid());
	return linux_hooks_run(&h->create_container, "createContainer", st,
			       err);
}

int init_hooks_start(struct init_ctx *c, struct husk_err **err)
{
	const struct oci_hooks *h = c->spec->hooks;
	_cleanup_free_ char *st = NULL;

	if (h == NULL || h->start_container.n == 0)
		return 0;
	st = state_json(c, "created", getpid());
	return linux_hooks_run(&h->start_container, "startContainer", st, err);
}

int init_parent_msg(struct init_ctx *c, int sock, pid_t pid, int32_t kind,
		    int fd, struct husk_err **err)
{
	const struct oci_hooks *h = c->spec->hooks;
	const struct oci_seccomp *s = spec_seccomp(c->spec);
	_cleanup_free_ char *st = state_json(c, "creating", pid);

	switch (kind) {
	case INIT_MSG_HOOKS:
		if (h == NULL)
			return husk_err_set(err, EPROTO,
					    "the init asked for hooks there "
					    "are none of");
		/* runtime namespace, after the container's namespaces and
		 * mounts exist: prestart (deprecated) first. */
		if (linux_hooks_run(&h->prestart, "prestart", st, err) < 0 ||
		    linux_hooks_run(&h->create_runtime, "createRuntime", st,
				    err) < 0)
			return -1;
		if (send(sock, "h", 1, MSG_NOSIGNAL) != 1)
			return husk_err_sys(err, "resume the container's init");
		return 0;
	case INIT_MSG_SECCOMP:
		if (fd < 0 || s == NULL)
			return husk_err_set(err, EPROTO,
					    "linux.seccomp: the init sent no "
					    "listener");
		if (s->listener_path == NULL || s->listener_path[0] == '\0')
			return husk_err_set(err, EINVAL,
					    "linux.seccomp: SCMP_ACT_NOTIFY "
					    "needs listenerPath");
		return linux_seccomp_send_listener(s->listener_path, fd, pid,
						   s->listener_metadata, st,
						   err);
	default:
		return husk_err_set(err, EPROTO,
				    "the container's init sent message %d",
				    (int)kind);
	}
}

ssize_t init_recv(int sock, void *buf, size_t len, int flags, int *fd)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.b,
		.msg_controllen = sizeof(ctl.b),
	};
	struct cmsghdr *cm;
	ssize_t n;

	*fd = -1;
	memset(&ctl, 0, sizeof(ctl));
	do
		n = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(cm), sizeof(int));
	return n;
}

int init_start_wait(int fd, const char *fifo, struct husk_err **err)
{
	struct pollfd pfd = {.fd = fd, .events = 0};
	_cleanup_close_ int r = -1;
	char buf[4096], *msg = buf;
	ssize_t n;
	int rc;

	/* A writer's POLLERR: no reader left, i.e. the init's read end was
	 * closed by its execve (O_CLOEXEC) or its exit. */
	do
		rc = poll(&pfd, 1, -1);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return husk_err_sys(err, "poll %s", fifo);
	/* The pipe lives on while our write end is open: what the init
	 * wrote before exiting is still there. */
	r = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (r < 0)
		return husk_err_sys(err, "open %s", fifo);
	do
		n = read(r, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* Our own release byte, unread: the init died before it. */
	if (*msg == '0' && *++msg == '\0')
		return husk_err_set(err, ESRCH,
				    "container's init process is gone");
	return husk_err_set(err, EIO, "%s", msg);
}
