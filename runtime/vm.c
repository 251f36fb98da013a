/* The vm sandbox's command paths: create, start, kill, delete go to
 * husk-agent over the protocol (common/PROTOCOL.md); the container's pid
 * for clients is its stand-in's (shim/standin.c), forked here. */
#include "runtime/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/proto.h"
#include "common/util.h"
#include "shim/standin.h"

#define VM_CALL_MS 30000
/* How long delete waits for a stand-in to end once its process is gone. */
#define VM_STANDIN_EXIT_MS 10000

struct vm_conn {
	int fd;
	uint64_t id;
};

bool husk_state_is_vm(const struct oci_state *st)
{
	return st->sandbox && strcmp(st->sandbox, "vm") == 0;
}

int husk_vm_available(const char *why, struct husk_err **err)
{
#ifdef HUSK_TEST_TRANSPORT
	const char *p = getenv(HUSK_TEST_AGENT_ENV);

	if (p && *p)
		return 0;
	return husk_err_set(err, ENOSYS,
			    "sandbox \"vm\": not available yet%s%s%s: this "
			    "test build reaches husk-agent only through $%s, "
			    "which is not set",
			    why ? " (asked by " : "", why ? why : "",
			    why ? ")" : "", HUSK_TEST_AGENT_ENV);
#else
	return husk_err_set(err, ENOSYS,
			    "sandbox \"vm\": not available yet%s%s%s: husk "
			    "does not boot husk-vmm yet",
			    why ? " (asked by " : "", why ? why : "",
			    why ? ")" : "");
#endif
}

/* A new connection to the container's agent. */
static int vm_connect(const struct oci_state *st, struct husk_err **err)
{
#ifdef HUSK_TEST_TRANSPORT
	const char *p = getenv(HUSK_TEST_AGENT_ENV);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (p == NULL || *p == '\0')
		return husk_vm_available(NULL, err);
	if (strlen(p) >= sizeof(sa.sun_path))
		return husk_err_set(err, ENAMETOOLONG,
				    "$%s: \"%s\": longer than %zu bytes",
				    HUSK_TEST_AGENT_ENV, p,
				    sizeof(sa.sun_path) - 1);
	strcpy(sa.sun_path, p);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return husk_err_sys(err, "socket");
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		husk_err_sys(err, "connect to husk-agent at %s", p);
		close(fd);
		return -1;
	}
	return fd;
#else
	(void)st;
	return husk_vm_available(NULL, err);
#endif
}

static int vm_call(struct vm_conn *c, struct proto_msg *req,
		   struct proto_msg *rep, struct husk_err **err)
{
	req->kind = PROTO_REQUEST;
	req->has_id = true;
	req->id = ++c->id;
	return proto_call(c->fd, req, rep, VM_CALL_MS, err);
}

/* Connect and agree on a version that has containers. */
static int vm_open(const struct oci_state *st, struct vm_conn *c,
		   struct husk_err **err)
{
	struct proto_msg req = {.op = PROTO_OP_HELLO}, rep = {0};
	uint32_t v;

	c->id = 0;
	c->fd = vm_connect(st, err);
	if (c->fd < 0)
		return -1;
	req.req.hello.version = PROTO_VERSION;
	if (vm_call(c, &req, &rep, err) < 0)
		goto fail;
	v = rep.rep.hello.version;
	proto_msg_free(&rep);
	if (v < 2) {
		husk_err_set(err, EPROTO,
			     "agent: speaks protocol version %u, containers "
			     "need 2",
			     v);
		goto fail;
	}
	return 0;
fail:
	close(c->fd);
	c->fd = -1;
	return -1;
}

/* One request on a connection of its own, reply discarded. */
static int vm_request(const struct oci_state *st, struct proto_msg *req,
		      struct husk_err **err)
{
	struct vm_conn c;
	struct proto_msg rep = {0};
	int r;

	if (vm_open(st, &c, err) < 0)
		return -1;
	r = vm_call(&c, req, &rep, err);
	proto_msg_free(&rep);
	close(c.fd);
	return r;
}

/* ---- config.json as the agent takes it --------------------------------- */

enum gen_at { AT_ANY, AT_TOP, AT_LINUX, AT_NAMESPACES, AT_NAMESPACE };

/* Re-emit v, dropping linux.namespaces[i].path: in vm mode a namespace
 * path is the sandbox's identity on the host, never a setns target in
 * the guest (PROTOCOL.md, create). Numbers keep their text. */
static int gen_value(yajl_gen g, yajl_val v, enum gen_at at)
{
	if (YAJL_IS_OBJECT(v)) {
		yajl_gen_map_open(g);
		for (size_t i = 0; i < v->u.object.len; i++) {
			const char *k = v->u.object.keys[i];
			enum gen_at sub = AT_ANY;
			if (at == AT_NAMESPACE && strcmp(k, "path") == 0)
				continue;
			if (at == AT_TOP && strcmp(k, "linux") == 0)
				sub = AT_LINUX;
			else if (at == AT_LINUX && strcmp(k, "namespaces") == 0)
				sub = AT_NAMESPACES;
			yajl_gen_string(g, (const unsigned char *)k,
					strlen(k));
			if (gen_value(g, v->u.object.values[i], sub) < 0)
				return -1;
		}
		yajl_gen_map_close(g);
	} else if (YAJL_IS_ARRAY(v)) {
		yajl_gen_array_open(g);
		for (size_t i = 0; i < v->u.array.len; i++)
			if (gen_value(g, v->u.array.values[i],
				      at == AT_NAMESPACES ? AT_NAMESPACE
							  : AT_ANY) < 0)
				return -1;
		yajl_gen_array_close(g);
	} else if (YAJL_IS_STRING(v)) {
		const char *s = YAJL_GET_STRING(v);
		yajl_gen_string(g, (const unsigned char *)s, strlen(s));
	} else if (YAJL_IS_NUMBER(v)) {
		const char *s = v->u.number.r;
		yajl_gen_number(g, s, strlen(s));
	} else if (YAJL_IS_TRUE(v)) {
		yajl_gen_bool(g, 1);
	} else if (YAJL_IS_FALSE(v)) {
		yajl_gen_bool(g, 0);
	} else if (YAJL_IS_NULL(v)) {
		yajl_gen_null(g);
	} else {
		return -1;
	}
	return 0;
}

static int vm_config_text(const char *bundle, char **out,
			  struct husk_err **err)
{
	_cleanup_free_ char *path = husk_asprintf("%s/config.json", bundle);
	_cleanup_free_ char *text = NULL;
	char ebuf[256] = "";
	const unsigned char *buf;
	yajl_val root;
	yajl_gen g;
	size_t len;
	int r = 0;

	if (husk_read_file_at(AT_FDCWD, path, OCI_SPEC_MAX_SIZE, &text, &len,
			      err) < 0)
		return -1;
	root = yajl_tree_parse(text, ebuf, sizeof(ebuf));
	if (root == NULL)
		return husk_err_set(err, EINVAL, "%s: %s", path, ebuf);
	g = yajl_gen_alloc(NULL);
	if (g == NULL || gen_value(g, root, AT_TOP) < 0 ||
	    yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok) {
		r = husk_err_set(err, EINVAL, "%s: cannot re-encode", path);
	} else if (len > PROTO_MAX_DOC) {
		r = husk_err_set(err, EFBIG,
				 "%s: %zu bytes, the agent takes at most %u",
				 path, len, (unsigned)PROTO_MAX_DOC);
	} else {
		*out = husk_calloc(1, len + 1);
		memcpy(*out, buf, len);
	}
	if (g)
		yajl_gen_free(g);
	yajl_tree_free(root);
	return r;
}

/* ---- create ------------------------------------------------------------- */

/* What vm mode cannot apply yet fails create, naming it. */
static int vm_check(const struct create_args *a, const struct oci_spec *spec,
		    struct husk_err **err)
{
	const char *listen = getenv("LISTEN_FDS");
	const struct oci_hooks *h = spec->hooks;

	/* run's own console socket only receives a terminal's master, and
	 * process.terminal is refused below. */
	if (a->console_socket && !a->console_internal)
		return husk_err_set(err, ENOTSUP,
				    "--console-socket: not supported in the vm "
				    "sandbox yet");
	if (a->preserve_fds)
		return husk_err_set(err, ENOTSUP,
				    "--preserve-fds: not supported in the vm "
				    "sandbox (fds cannot cross into a VM)");
	if (listen && *listen && strcmp(listen, "0") != 0)
		return husk_err_set(err, ENOTSUP,
				    "LISTEN_FDS: not supported in the vm "
				    "sandbox (fds cannot cross into a VM)");
	if (spec->process && spec->process->terminal)
		return husk_err_set(err, ENOTSUP,
				    "config.json: process.terminal: not "
				    "supported in the vm sandbox yet");
	if (h && (h->prestart.n || h->create_runtime.n ||
		  h->create_container.n || h->start_container.n ||
		  h->poststart.n || h->poststop.n))
		return husk_err_set(err, ENOTSUP,
				    "config.json: hooks: not supported in the "
				    "vm sandbox yet");
	return 0;
}

static int vm_attach(const struct oci_state *st, enum proto_stream s,
		     int *out, struct husk_err **err)
{
	struct proto_msg req = {.op = PROTO_OP_ATTACH}, rep = {0};
	struct vm_conn c;

	if (vm_open(st, &c, err) < 0)
		return -1;
	req.req.attach.t.container = st->id;
	req.req.attach.stream = s;
	if (vm_call(&c, &req, &rep, err) < 0) {
		close(c.fd);
		return husk_err_prefix(err, "attach %s", proto_stream_name(s));
	}
	proto_msg_free(&rep);
	*out = c.fd;
	return 0;
}

/* The stand-in's process: setup, then the relay; never returns. */
static void standin_child(struct standin *s, const struct oci_spec *spec,
			  const sigset_t *set, int sync)
{
	_cleanup_err_ struct husk_err *e = NULL;
	const struct oci_namespace *ns =
		oci_spec_namespace(spec, OCI_NS_NETWORK);
	int keep[8], nk = 0, r;

	/* runtime-spec: hooks that nsenter -t <pid> -n must find the
	 * container's network namespace behind the pid clients see. */
	if (ns && ns->path) {
		int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
			husk_err_sys(&e, "setns %s", ns->path);
			husk_write_all(sync, e->msg, strlen(e->msg));
			_exit(255);
		}
		close(fd);
	}
	s->sigfd = signalfd(-1, set, SFD_CLOEXEC);
	if (s->sigfd < 0) {
		husk_err_sys(&e, "stand-in: signalfd");
		husk_write_all(sync, e->msg, strlen(e->msg));
		_exit(255);
	}
	signal(SIGPIPE, SIG_IGN);
	/* What `ps` and `docker top` show for the pid clients see. */
	prctl(PR_SET_NAME, "husk-standin", 0, 0, 0);
	keep[nk++] = s->ctl;
	keep[nk++] = s->guard;
	keep[nk++] = s->sigfd;
	for (int i = 0; i < 3; i++)
		if (s->stream[i] >= 0)
			keep[nk++] = s->stream[i];
	/* Not the lock, the log or the state directory: the stand-in
	 * outlives this command. */
	husk_close_fds_from(3, keep, (size_t)nk);
	if (chdir("/") < 0) {
		/* only keeps a mount busy */
	}
	r = standin_run(s, &e);
	_exit(r < 0 ? 255 : r);
}

static int fork_standin(struct standin *s, const struct oci_spec *spec,
			pid_t *pid, struct husk_err **err)
{
	sigset_t set, old;
	int sp[2];
	char msg[512];
	ssize_t n;

	if (pipe2(sp, O_CLOEXEC) < 0)
		return husk_err_sys(err, "pipe2");
	/* Blocked before the fork so that a signal sent as soon as the pid
	 * exists is pending for the stand-in's signalfd, not lost. */
	standin_sigset(&set);
	sigprocmask(SIG_BLOCK, &set, &old);
	*pid = fork();
	if (*pid == 0) {
		close(sp[0]);
		standin_child(s, spec, &set, sp[1]);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(sp[1]);
	if (*pid < 0) {
		close(sp[0]);
		return husk_err_sys(err, "fork the stand-in");
	}
	/* EOF: the child set up and closed its end with every fd it does
	 * not keep; a message: it failed and exits. */
	do
		n = read(sp[0], msg, sizeof(msg) - 1);
	while (n < 0 && errno == EINTR);
	close(sp[0]);
	if (n > 0) {
		msg[n] = '\0';
		waitpid(*pid, NULL, 0);
		return husk_err_set(err, EIO, "stand-in: %s", msg);
	}
	return 0;
}

static void vm_delete_quiet(const struct oci_state *st)
{
	_cleanup_err_ struct husk_err *e = NULL;
	struct proto_msg req = {.op = PROTO_OP_DELETE};

	req.req.del.container = st->id;
	req.req.del.force = true;
	vm_request(st, &req, &e);
}

int husk_vm_create(struct husk_ctx *ctx, const struct create_args *a,
		   const struct oci_spec *spec, struct oci_state_dir *d,
		   struct oci_state *st, struct linux_container *c,
		   struct husk_err **err)
{
	_cleanup_free_ char *config = NULL;
	struct proto_msg req = {.op = PROTO_OP_CREATE}, rep = {0};
	struct standin s = {.container = st->id, .guard = -1,
			    .stream = {-1, -1, -1}, .io = {0, 1, 2}};
	struct vm_conn vc = {.fd = -1};
	bool created = false;
	pid_t pid = -1;
	char pstate;
	int r = -1;

	if (vm_check(a, spec, err) < 0)
		return -1;
	if (vm_config_text(st->bundle, &config, err) < 0)
		return -1;
	if (vm_open(st, &vc, err) < 0)
		return -1;
	/* Streams first: the agent gives them to the process as its fds
	 * (PROTOCOL.md, attach). A closed host fd gets no stream (the
	 * process gets /dev/null). */
	for (int i = 0; i < 3; i++) {
		if (fcntl(i, F_GETFD) < 0)
			continue;
		if (vm_attach(st, (enum proto_stream)i, &s.stream[i], err) < 0)
			goto out;
		req.req.create.stdio[i] = true;
	}
	req.req.create.container = st->id;
	req.req.create.rootfs = st->rootfs;
	req.req.create.config = config;
	if (vm_call(&vc, &req, &rep, err) < 0)
		goto out;
	created = true;
	husk_log(&ctx->log, HUSK_LOG_DEBUG, "create %s: vm, agent pid %u",
		 st->id, rep.rep.pid.pid);
	proto_msg_free(&rep);
	/* The guard before the stand-in exists: if this command dies from
	 * here on, the closed guard takes the process with it. */
	{
		struct proto_msg w = {.op = PROTO_OP_WAIT};
		struct vm_conn g;
		if (vm_open(st, &g, err) < 0)
			goto out;
		s.guard = g.fd;
		w.kind = PROTO_REQUEST;
		w.has_id = true;
		w.id = ++g.id;
		w.req.wait.t.container = st->id;
		w.req.wait.guard = true;
		if (proto_send(s.guard, &w, err) < 0)
			goto out;
	}
	s.ctl = vc.fd;
	if (fork_standin(&s, spec, &pid, err) < 0) {
		pid = -1;
		goto out;
	}
	if (husk_proc_stat(pid, &st->start_time, &pstate) < 0) {
		husk_err_sys(err, "stand-in %d: /proc/%d/stat", (int)pid,
			     (int)pid);
		goto out;
	}
	st->pid = pid;
	st->status = OCI_STATUS_CREATED;
	if (oci_state_dir_write(d, st, err) < 0)
		goto out;
	if (a->pid_file) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
		if (husk_write_file_atomic(a->pid_file, buf, (size_t)n, 0644,
					   err) < 0) {
			husk_err_prefix(err, "pid file");
			goto out;
		}
	}
	c->pid = pid;
	c->start_time = st->start_time;
	c->cgroup_path = NULL;
	r = 0;
out:
	for (int i = 0; i < 3; i++)
		if (s.stream[i] >= 0)
			close(s.stream[i]);
	if (s.guard >= 0)
		close(s.guard);
	if (vc.fd >= 0)
		close(vc.fd);
	if (r < 0) {
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		if (created)
			vm_delete_quiet(st);
		st->pid = 0;
	}
	return r;
}

/* ---- start, kill, delete ------------------------------------------------ */

int husk_vm_start(const struct oci_state *st, struct husk_err **err)
{
	struct proto_msg req = {.op = PROTO_OP_START};

	req.req.target.container = st->id;
	return vm_request(st, &req, err);
}

int husk_vm_signal(const struct oci_state *st, int sig, bool all,
		   struct husk_err **err)
{
	struct proto_msg req = {.op = PROTO_OP_SIGNAL};

	if (sig < 1 || sig > PROTO_MAX_SIG)
		return husk_err_set(err, EINVAL, "signal %d: out of range",
				    sig);
	req.req.signal.t.container = st->id;
	req.req.signal.signal = (uint32_t)sig;
	req.req.signal.all = all;
	return vm_request(st, &req, err);
}

/* The stand-in is usually not our child (create exited): wait for it
 * through a pidfd, if it is still the process recorded. */
static void wait_standin(const struct oci_state *st)
{
	unsigned long long start;
	char pstate;
	int fd;

	if (st->pid <= 0)
		return;
	fd = pidfd_open(st->pid, 0);
	if (fd < 0)
		return;
	if (husk_proc_stat(st->pid, &start, &pstate) < 0 ||
	    start != st->start_time || pstate == 'Z') {
		close(fd);
		return;
	}
	for (int round = 0; round < 2; round++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int n;
		do
			n = poll(&p, 1, round ? 1000 : VM_STANDIN_EXIT_MS);
		while (n < 0 && errno == EINTR);
		if (n > 0)
			break;
		/* Stuck relaying: its process is gone, so is its use. */
		pidfd_send_signal(fd, SIGKILL, NULL, 0);
	}
	close(fd);
}

int husk_vm_destroy(struct husk_ctx *ctx, struct oci_state_dir *d,
		    const struct oci_state *st, struct husk_err **err)
{
	_cleanup_err_ struct husk_err *e = NULL;
	struct proto_msg req = {.op = PROTO_OP_DELETE};

	req.req.del.container = st->id;
	req.req.del.force = true;
	if (vm_request(st, &req, &e) < 0) {
		/* No agent: the VM, and the container with it, is gone.
		 * A container the agent does not know (a create cut
		 * short) is no error either. */
		husk_log(&ctx->log, HUSK_LOG_WARN, "delete %s: %s", st->id,
			 e->msg);
		if (strstr(e->msg, "no such container") == NULL &&
		    e->errnum != ECONNREFUSED && e->errnum != ENOENT &&
		    e->errnum != ENOSYS)
			return husk_err_set(err, e->errnum, "%s", e->msg);
	}
	wait_standin(st);
	husk_log(&ctx->log, HUSK_LOG_DEBUG, "delete %s (vm)", st->id);
	return oci_state_dir_remove(d, err);
}
