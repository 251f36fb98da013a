/* husk-agent's server: listens on vsock (or a unix socket on the host), one
 * thread per connection answering requests of common/proto.h, and the main
 * loop that reaps children and waits for a shutdown request. */
#include "guest-agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <linux/vm_sockets.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/sysinfo.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/proto.h"
#include "common/util.h"

static int listen_unix(struct agent *a, const char *path,
		       struct husk_err **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;

	if (strlen(path) >= sizeof(sa.sun_path))
		return husk_err_set(err, ENAMETOOLONG,
				    "listen unix:%s: path longer than %zu bytes",
				    path, sizeof(sa.sun_path) - 1);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return husk_err_sys(err, "socket(AF_UNIX)");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return husk_err_sys(err, "bind unix:%s", path);
	a->unix_path = husk_strdup(path);
	if (listen(fd, 16) < 0)
		return husk_err_sys(err, "listen unix:%s", path);
	a->listen_fd = TAKE_FD(fd);
	return 0;
}

static int listen_vsock(struct agent *a, const char *port_s,
			struct husk_err **err)
{
	struct sockaddr_vm sa = {.svm_family = AF_VSOCK,
				 .svm_cid = VMADDR_CID_ANY};
	_cleanup_close_ int fd = -1;
	long long port;

	if (husk_parse_i64(port_s, &port) < 0 || port < 0 || port > UINT32_MAX)
		return husk_err_set(err, EINVAL, "listen vsock:%s: bad port",
				    port_s);
	sa.svm_port = (unsigned int)port;
	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return husk_err_sys(err, "socket(AF_VSOCK)");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return husk_err_sys(err, "bind vsock:%s", port_s);
	if (listen(fd, 16) < 0)
		return husk_err_sys(err, "listen vsock:%s", port_s);
	a->listen_fd = TAKE_FD(fd);
	return 0;
}

int agent_listen(struct agent *a, const char *spec, struct husk_err **err)
{
	a->listen_spec = husk_strdup(spec);
	if (husk_str_has_prefix(spec, "unix:"))
		return listen_unix(a, spec + 5, err);
	if (husk_str_has_prefix(spec, "vsock:"))
		return listen_vsock(a, spec + 6, err);
	return husk_err_set(err, EINVAL,
			    "--listen %s: want unix:PATH or vsock:PORT", spec);
}

int agent_vsock_check(struct husk_err **err)
{
	_cleanup_close_ int fd = -1;
	unsigned int cid = VMADDR_CID_ANY;

	/* The virtio transport registers itself whether or not a device is
	 * present; only a bound device gives the guest a CID. */
	fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return husk_err_sys(err, "open /dev/vsock");
	if (ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) < 0)
		return husk_err_sys(err, "/dev/vsock: get local CID");
	if (cid == VMADDR_CID_ANY)
		return husk_err_set(err, ENODEV,
				    "no virtio-vsock device (no local CID)");
	return 0;
}

/* ---- one connection ----------------------------------------------------- */

struct conn {
	struct agent *a;
	int fd;
};

enum { CONN_GO_ON = 0, CONN_SHUTDOWN = 1, CONN_PARKED = 2, CONN_DROP = 3 };

/* wait: block until the process ends, watching the connection. A guard
 * connection that closes (or sends anything) first kills the process. */
static int handle_wait(struct agent *a, int fd, const struct proto_msg *req,
		       struct proto_msg *rep)
{
	const struct proto_wait_req *w = &req->req.wait;
	_cleanup_err_ struct husk_err *err = NULL;
	struct agent_exitbox *b = agent_proc_exitbox(a, &w->t, &err);

	if (b == NULL) {
		proto_reply_error(rep, req, err->msg);
		return CONN_GO_ON;
	}
	for (;;) {
		struct pollfd p[2] = {{b->efd, POLLIN, 0},
				      {fd, POLLIN | POLLRDHUP, 0}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents & POLLIN) {
			rep->rep.wait.status = atomic_load(&b->status);
			agent_exitbox_put(b);
			return CONN_GO_ON;
		}
		if (p[1].revents)
			break;
	}
	if (w->guard)
		agent_proc_kill(a, &w->t);
	agent_exitbox_put(b);
	return CONN_DROP;
}

/* Returns one of CONN_*: shutdown after the reply went out, the
 * connection parked as a stream, or dropped. */
static int handle(struct agent *a, int fd, const struct proto_msg *req,
		  struct proto_msg *rep)
{
	struct proto_hello_reply *h = &rep->rep.hello;
	int np;

	memset(rep, 0, sizeof(*rep));
	rep->kind = PROTO_REPLY;
	rep->op = req->op;
	rep->has_id = true;
	rep->id = req->id;
	rep->ok = true;
	switch (req->op) {
	case PROTO_OP_HELLO:
		/* The host says the newest version it speaks; the agent
		 * answers with the one both speak (the host decides whether
		 * that is enough). */
		h->version = req->req.hello.version < PROTO_VERSION ?
				     req->req.hello.version :
				     PROTO_VERSION;
		if (h->version < PROTO_MIN_VERSION) {
			proto_reply_error(rep, req,
					  "hello: unsupported protocol version");
			return 0;
		}
		h->agent = husk_strdup("husk-agent " AGENT_VERSION);
		h->kernel = husk_strdup(a->kernel);
		h->boot_ms = a->ready_ms;
		np = get_nprocs();
		h->nproc = np > 0 ? (uint32_t)np : 1;
		return 0;
	case PROTO_OP_PING:
		return 0;
	case PROTO_OP_SHUTDOWN:
		return CONN_SHUTDOWN;
	case PROTO_OP_WAIT:
		return handle_wait(a, fd, req, rep);
	case PROTO_OP_ATTACH:
		/* Parked by conn_park, then the ok reply: after it the
		 * connection carries only the process's bytes. */
		return CONN_PARKED;
	default:
		agent_handle_ctr(a, req, rep);
		return CONN_GO_ON;
	}
}

/* A stream is parked before its ok reply goes out: the host sends the
 * create (or exec) that claims it as soon as it has read the reply, on
 * another connection. The reply goes out on a dup, since the registry
 * owns the fd once it is parked. */
static void conn_park(struct conn *c, const struct proto_msg *req,
		      struct proto_msg *rep)
{
	_cleanup_err_ struct husk_err *err = NULL;
	_cleanup_close_ int rfd = fcntl(c->fd, F_DUPFD_CLOEXEC, 0);

	if (rfd < 0)
		husk_err_sys(&err, "attach: dup");
	if (rfd < 0 ||
	    agent_stream_park(c->a, &req->req.attach, c->fd, &err) < 0) {
		_cleanup_err_ struct husk_err *e2 = NULL;
		proto_msg_free(rep);
		proto_reply_error(rep, req, err->msg);
		proto_send(c->fd, rep, &e2);
		return;
	}
	c->fd = -1; /* the registry has it now */
	/* A failed send leaves a broken stream, which the process sees. */
	proto_send(rfd, rep, &err);
}

static void conn_serve(struct conn *c)
{
	struct agent *a = c->a;

	for (;;) {
		_cleanup_err_ struct husk_err *err = NULL;
		struct proto_msg req, rep;
		int r, quit = 0;

		r = proto_recv_request(c->fd, &req, &err);
		if (r == PROTO_RECV_EOF)
			return;
		if (r == PROTO_RECV_FATAL) {
			if (a->opts.debug || !a->pid1)
				agent_say(a, "connection dropped: %s",
					  err->msg);
			return;
		}
		if (r == PROTO_RECV_BADMSG)
			proto_reply_error(&rep, &req, err->msg);
		else
			quit = handle(a, c->fd, &req, &rep);
		husk_err_free(&err);
		if (quit == CONN_DROP) {
			proto_msg_free(&rep);
			proto_msg_free(&req);
			return;
		}
		if (quit == CONN_PARKED) {
			conn_park(c, &req, &rep);
			proto_msg_free(&rep);
			proto_msg_free(&req);
			return;
		}
		r = proto_send(c->fd, &rep, &err);
		proto_msg_free(&rep);
		proto_msg_free(&req);
		if (r < 0 || quit == CONN_PARKED) {
			if (err && (a->opts.debug || !a->pid1))
				agent_say(a, "connection dropped: %s",
					  err->msg);
			return;
		}
		if (quit == CONN_SHUTDOWN) {
			uint64_t one = 1;
			if (write(a->shutdown_fd, &one, sizeof(one)) < 0)
				agent_say(a, "shutdown: eventfd: %s",
					  strerror(errno));
			return;
		}
	}
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;

	conn_serve(c);
	if (c->fd >= 0)
		close(c->fd);
	atomic_fetch_sub(&c->a->nconns, 1);
	free(c);
	return NULL;
}

static void conn_start(struct agent *a, int fd)
{
	struct conn *c;
	pthread_attr_t attr;
	pthread_t t;
	int r;

	if (atomic_fetch_add(&a->nconns, 1) >= AGENT_MAX_CONNS) {
		atomic_fetch_sub(&a->nconns, 1);
		agent_say(a, "refusing a connection: %d already open",
			  AGENT_MAX_CONNS);
		close(fd);
		return;
	}
	c = husk_calloc(1, sizeof(*c));
	c->a = a;
	c->fd = fd;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* A guest may have little memory; a connection needs little stack. */
	pthread_attr_setstacksize(&attr, 256 * 1024);
	r = pthread_create(&t, &attr, conn_thread, c);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		agent_say(a, "pthread_create: %s", strerror(r));
		atomic_fetch_sub(&a->nconns, 1);
		close(fd);
		free(c);
	}
}

/* ---- the main loop ------------------------------------------------------ */

/* Every child: the containers' processes (inits and execs are reparented
 * to the agent when their helpers exit), the helpers, orphans. */
static void reap(struct agent *a)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		agent_reg_exited(a, pid, st);
}

static int epoll_add(int ep, int fd, struct husk_err **err)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		return husk_err_sys(err, "epoll_ctl add fd %d", fd);
	return 0;
}

static void serve_sigset(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

int agent_signals_block(struct husk_err **err)
{
	sigset_t set;

	serve_sigset(&set);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return husk_err_sys(err, "sigprocmask");
	return 0;
}

int agent_serve(struct agent *a, struct husk_err **err)
{
	_cleanup_close_ int ep = -1, sfd = -1;
	sigset_t set;

	serve_sigset(&set);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0)
		return husk_err_sys(err, "signalfd");
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return husk_err_sys(err, "epoll_create1");
	if (epoll_add(ep, sfd, err) < 0 ||
	    epoll_add(ep, a->shutdown_fd, err) < 0 ||
	    (a->listen_fd >= 0 && epoll_add(ep, a->listen_fd, err) < 0))
		return -1;
	reap(a); /* children that ended before the signalfd existed */

	for (;;) {
		struct epoll_event evs[8];
		int n = epoll_wait(ep, evs, ARRAY_SIZE(evs), -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return husk_err_sys(err, "epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == a->shutdown_fd)
				return 0;
			if (fd == sfd) {
				struct signalfd_siginfo si;
				ssize_t r = read(sfd, &si, sizeof(si));
				if (r != sizeof(si))
					continue;
				if (si.ssi_signo == SIGCHLD)
					reap(a);
				else if (!a->pid1)
					return 0;
				continue;
			}
			if (fd == a->listen_fd) {
				int c = accept4(a->listen_fd, NULL, NULL,
						SOCK_CLOEXEC);
				if (c >= 0)
					conn_start(a, c);
				else if (errno != EINTR &&
					 errno != ECONNABORTED &&
					 errno != EAGAIN)
					agent_say(a, "accept: %s",
						  strerror(errno));
			}
		}
	}
}
