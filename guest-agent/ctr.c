/* The agent's containers: the registry (containers, their processes, parked
 * streams) and the requests of protocol version 2 that act on them. The
 * container itself is made by runtime/linux/, as in container mode.
 *
 * Locking: one mutex over the registry. Long steps (the create helper,
 * freezing, reading cgroup files) run unlocked on copies; a container
 * being created or an exec being set up is in the registry already (pid
 * 0), so its name cannot be taken twice. */
#include "guest-agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "oci/spec.h"

/* ---- registry ----------------------------------------------------------- */

int agent_reg_init(struct agent *a, const char *state_root,
		   const char *rootfs_under, struct husk_err **err)
{
	struct agent_reg *r = &a->reg;

	pthread_mutex_init(&r->lock, NULL);
	if (husk_mkdir_p(state_root, 0700, err) < 0)
		return -1;
	r->state_root = realpath(state_root, NULL);
	if (r->state_root == NULL)
		return husk_err_sys(err, "--state %s", state_root);
	if (rootfs_under) {
		r->rootfs_under = realpath(rootfs_under, NULL);
		if (r->rootfs_under == NULL)
			return husk_err_sys(err, "--rootfs-under %s",
					    rootfs_under);
	}
	return 0;
}

static struct agent_exitbox *box_new(void)
{
	struct agent_exitbox *b = husk_calloc(1, sizeof(*b));

	atomic_init(&b->refs, 1);
	b->efd = eventfd(0, EFD_CLOEXEC);
	return b;
}

void agent_exitbox_put(struct agent_exitbox *b)
{
	if (b && atomic_fetch_sub(&b->refs, 1) == 1) {
		if (b->efd >= 0)
			close(b->efd);
		free(b);
	}
}

static void proc_done(struct agent_proc *p, uint32_t status)
{
	uint64_t one = 1;

	if (p->exited)
		return;
	p->exited = true;
	p->status = status;
	atomic_store(&p->box->status, status);
	if (write(p->box->efd, &one, sizeof(one)) < 0) {
		/* an eventfd write of 1 cannot fail short of a bad fd */
	}
}

static void proc_free(struct agent_proc *p)
{
	free(p->exec_id);
	if (p->pty_master >= 0)
		close(p->pty_master);
	agent_exitbox_put(p->box);
}

static void proc_init(struct agent_proc *p, const char *exec_id)
{
	memset(p, 0, sizeof(*p));
	p->exec_id = exec_id ? husk_strdup(exec_id) : NULL;
	p->pty_master = -1;
	p->box = box_new();
}

static struct agent_ctr *ctr_find(struct agent *a, const char *id)
{
	for (struct agent_ctr *c = a->reg.ctrs; c; c = c->next)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

static struct agent_proc *proc_find(struct agent_ctr *c, const char *exec)
{
	if (exec == NULL)
		return &c->init;
	for (struct agent_proc *p = c->execs; p; p = p->next)
		if (strcmp(p->exec_id, exec) == 0)
			return p;
	return NULL;
}

/* The container of a request, ready (not being created), or an error. */
static struct agent_ctr *ctr_get(struct agent *a, const char *id,
				 struct husk_err **err)
{
	struct agent_ctr *c = ctr_find(a, id);

	if (c == NULL) {
		husk_err_set(err, ENOENT, "container \"%s\": no such container",
			     id);
		return NULL;
	}
	if (c->state == 0) {
		husk_err_set(err, EBUSY, "container \"%s\": being created", id);
		return NULL;
	}
	return c;
}

static struct agent_proc *proc_get(struct agent *a,
				   const struct proto_target *t,
				   struct agent_ctr **cp, struct husk_err **err)
{
	struct agent_ctr *c = ctr_get(a, t->container, err);
	struct agent_proc *p;

	if (c == NULL)
		return NULL;
	p = proc_find(c, t->exec);
	if (p == NULL || p->pid == 0) {
		husk_err_set(err, ENOENT,
			     "exec \"%s\" of container \"%s\": no such process",
			     t->exec, t->container);
		return NULL;
	}
	if (cp)
		*cp = c;
	return p;
}

static void orphan_claim(struct agent *a, struct agent_proc *p)
{
	for (size_t i = 0; i < AGENT_ORPHAN_EXITS; i++) {
		struct agent_exit *e = &a->reg.orphans[i];
		if (e->pid == p->pid) {
			proc_done(p, proto_exit_status(e->wstatus));
			e->pid = 0;
		}
	}
}

void agent_reg_exited(struct agent *a, pid_t pid, int wstatus)
{
	struct agent_reg *r = &a->reg;

	pthread_mutex_lock(&r->lock);
	for (struct agent_ctr *c = r->ctrs; c; c = c->next) {
		if (c->init.pid == pid && !c->init.exited) {
			proc_done(&c->init, proto_exit_status(wstatus));
			goto out;
		}
		for (struct agent_proc *p = c->execs; p; p = p->next)
			if (p->pid == pid && !p->exited) {
				proc_done(p, proto_exit_status(wstatus));
				goto out;
			}
	}
	/* A helper, a process whose registration is on its way, or an
	 * orphan of the container: remember it for a while. */
	r->orphans[r->orphan_next] = (struct agent_exit){pid, wstatus};
	r->orphan_next = (r->orphan_next + 1) % AGENT_ORPHAN_EXITS;
out:
	pthread_mutex_unlock(&r->lock);
}

struct agent_exitbox *agent_proc_exitbox(struct agent *a,
					 const struct proto_target *t,
					 struct husk_err **err)
{
	struct agent_exitbox *b = NULL;
	struct agent_proc *p;

	pthread_mutex_lock(&a->reg.lock);
	p = proc_get(a, t, NULL, err);
	if (p) {
		b = p->box;
		atomic_fetch_add(&b->refs, 1);
	}
	pthread_mutex_unlock(&a->reg.lock);
	return b;
}

void agent_proc_kill(struct agent *a, const struct proto_target *t)
{
	struct husk_err *err = NULL;
	struct agent_ctr *c;
	struct agent_proc *p;

	pthread_mutex_lock(&a->reg.lock);
	p = proc_get(a, t, &c, &err);
	/* Unreaped, so the pid is still this process's. */
	if (p && !p->exited) {
		if (p == &c->init)
			linux_container_signal(&c->lc, SIGKILL, false, &err);
		else
			kill(p->pid, SIGKILL);
	}
	husk_err_free(&err);
	pthread_mutex_unlock(&a->reg.lock);
}

/* ---- streams ------------------------------------------------------------ */

static bool same_exec(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static void parked_free(struct agent_parked *p)
{
	close(p->fd);
	free(p->container);
	free(p->exec);
	free(p);
}

int agent_stream_park(struct agent *a, const struct proto_attach_req *r,
		      int fd, struct husk_err **err)
{
	struct agent_reg *g = &a->reg;
	struct agent_parked *p, **pp;

	pthread_mutex_lock(&g->lock);
	for (pp = &g->parked; *pp; pp = &(*pp)->next) {
		p = *pp;
		if (p->stream == r->stream &&
		    strcmp(p->container, r->t.container) == 0 &&
		    same_exec(p->exec, r->t.exec)) {
			*pp = p->next;
			parked_free(p);
			g->n_parked--;
			break;
		}
	}
	if (g->n_parked >= AGENT_MAX_PARKED) {
		pthread_mutex_unlock(&g->lock);
		return husk_err_set(err, EMFILE,
				    "attach: %d streams already waiting",
				    AGENT_MAX_PARKED);
	}
	p = husk_calloc(1, sizeof(*p));
	p->container = husk_strdup(r->t.container);
	p->exec = r->t.exec ? husk_strdup(r->t.exec) : NULL;
	p->stream = r->stream;
	p->fd = fd;
	p->next = g->parked;
	g->parked = p;
	g->n_parked++;
	pthread_mutex_unlock(&g->lock);
	return 0;
}

/* Take the streams a process asked for out of the parked list (locked).
 * fds[PROTO_STREAM__COUNT] get them or -1. */
static int streams_take(struct agent *a, const char *ctr, const char *exec,
			const bool want[PROTO_STREAM__COUNT],
			int fds[PROTO_STREAM__COUNT], struct husk_err **err)
{
	struct agent_parked *p, **pp;

	for (int i = 0; i < PROTO_STREAM__COUNT; i++) {
		fds[i] = -1;
		if (!want[i])
			continue;
		for (p = a->reg.parked; p; p = p->next)
			if ((int)p->stream == i &&
			    strcmp(p->container, ctr) == 0 &&
			    same_exec(p->exec, exec))
				break;
		if (p == NULL)
			return husk_err_set(err, ENOENT,
					    "%s: stream not attached",
					    proto_stream_name(i));
	}
	for (pp = &a->reg.parked; *pp;) {
		p = *pp;
		if (want[p->stream] && strcmp(p->container, ctr) == 0 &&
		    same_exec(p->exec, exec)) {
			fds[p->stream] = p->fd;
			p->fd = -1;
			*pp = p->next;
			free(p->container);
			free(p->exec);
			free(p);
			a->reg.n_parked--;
		} else {
			pp = &p->next;
		}
	}
	return 0;
}

static void streams_drop(struct agent *a, const char *ctr)
{
	struct agent_parked *p, **pp;

	for (pp = &a->reg.parked; *pp;) {
		p = *pp;
		if (strcmp(p->container, ctr) == 0) {
			*pp = p->next;
			parked_free(p);
			a->reg.n_parked--;
		} else {
			pp = &p->next;
		}
	}
}

static void fds_close(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

/* ---- create ------------------------------------------------------------- */

/* The helper's report: the init's pid, start time and cgroup, or why the
 * create failed. */
struct create_msg {
	int32_t ok;
	int32_t pid;
	int32_t errnum;
	unsigned long long start_time;
	char cgroup[PATH_MAX];
	char text[2000];
};

static int rootfs_check(struct agent *a, const char *rootfs, char **out,
			struct husk_err **err)
{
	_cleanup_free_ char *real = realpath(rootfs, NULL);
	const char *under = a->reg.rootfs_under;
	struct stat st;

	if (real == NULL)
		return husk_err_sys(err, "rootfs: %s", rootfs);
	if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
		return husk_err_set(err, ENOTDIR,
				    "rootfs: %s is not a directory", rootfs);
	if (strcmp(real, "/") == 0)
		return husk_err_set(err, EINVAL,
				    "rootfs: / cannot be a container's rootfs");
	if (under && strcmp(under, "/") != 0 &&
	    (strncmp(real, under, strlen(under)) != 0 ||
	     real[strlen(under)] != '/'))
		return husk_err_set(err, EXDEV, "rootfs: %s is outside %s",
				    rootfs, under);
	*out = TAKE_PTR(real);
	return 0;
}

/* config.json for the agent: parsed, validated, checked against what the
 * backend applies, namespace paths refused, root.path replaced. */
static int config_load(struct agent *a, const struct proto_create_req *r,
		       struct oci_spec **out, struct husk_err **err)
{
	struct oci_spec *spec = NULL;
	_cleanup_free_ char *root = NULL;

	if (oci_spec_parse(r->config, strlen(r->config), &spec, err) < 0 ||
	    oci_spec_validate(spec, err) < 0) {
		oci_spec_free(spec);
		return husk_err_prefix(err, "config");
	}
	if (spec->linux_)
		for (size_t i = 0; i < spec->linux_->n_namespaces; i++)
			if (spec->linux_->namespaces[i].path) {
				oci_spec_free(spec);
				return husk_err_set(
					err, EINVAL,
					"config: linux.namespaces[%zu].path: "
					"not allowed in husk-agent (namespace "
					"paths are host identities in vm mode)",
					i);
			}
	if (linux_check_supported(spec, err) < 0 ||
	    rootfs_check(a, r->rootfs, &root, err) < 0) {
		oci_spec_free(spec);
		return husk_err_prefix(err, "config");
	}
	if (spec->root == NULL)
		spec->root = husk_calloc(1, sizeof(*spec->root));
	free(spec->root->path);
	spec->root->path = TAKE_PTR(root);
	*out = spec;
	return 0;
}

/* A fresh <state>/<id>: a stale one (an agent that died) is emptied. */
static int state_dir_make(const char *dir, struct husk_err **err)
{
	static const char *const files[] = {"exec.fifo", "console.sock"};

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return husk_err_sys(err, "mkdir %s", dir);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *p = husk_asprintf("%s/%s", dir, files[i]);
		unlink(p);
	}
	return 0;
}

static void state_dir_remove(const char *dir)
{
	static const char *const files[] = {"exec.fifo", "console.sock"};

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *p = husk_asprintf("%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

/* The console socket the init hands its pty master to (runc's
 * --console-socket protocol), bound through /proc/self/fd so a long state
 * path still fits sun_path. */
static int console_listen(const char *dir, struct husk_err **err)
{
	_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;

	if (dfd < 0)
		return husk_err_sys(err, "open %s", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dfd,
		 "console.sock");
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return husk_err_sys(err, "socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 1) < 0)
		return husk_err_sys(err, "listen %s/console.sock", dir);
	return TAKE_FD(fd);
}

__attribute__((noreturn)) static void create_helper(struct agent_ctr *c,
						    const char *console,
						    const int stdio[3],
						    int sock)
{
	struct linux_create_opts o = {
		.spec = c->spec,
		.id = c->id,
		.bundle = c->state_dir,
		.state_dir = c->state_dir,
		.console_socket = console,
	};
	struct linux_container lc;
	struct husk_err *err = NULL;
	struct create_msg m;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	agent_child_signals_reset();
	/* linux_container_create gives the init the caller's fds 0-2. */
	for (int i = 0; i < 3; i++)
		dup2(stdio[i] >= 0 ? stdio[i] : null, i);
	memset(&m, 0, sizeof(m));
	if (linux_container_create(&o, &lc, &err) < 0) {
		m.errnum = err->errnum;
		snprintf(m.text, sizeof(m.text), "%s", err->msg);
	} else {
		m.ok = 1;
		m.pid = lc.pid;
		m.start_time = lc.start_time;
		snprintf(m.cgroup, sizeof(m.cgroup), "%s", lc.cgroup_path);
	}
	while (send(sock, &m, sizeof(m), MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
	_exit(m.ok ? 0 : 1);
}

static int create_run(struct agent *a, struct agent_ctr *c,
		      const int fds[PROTO_STREAM__COUNT], int *master,
		      struct husk_err **err)
{
	_cleanup_free_ char *console = NULL;
	_cleanup_close_ int lfd = -1;
	struct create_msg m;
	int sv[2], stdio[3];
	ssize_t n;
	pid_t h;

	*master = -1;
	if (c->spec->process->terminal) {
		lfd = console_listen(c->state_dir, err);
		if (lfd < 0)
			return -1;
		console = husk_asprintf("%s/console.sock", c->state_dir);
		for (int i = 0; i < 3; i++)
			stdio[i] = -1;
	} else {
		for (int i = 0; i < 3; i++)
			stdio[i] = fds[i];
	}
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
		create_helper(c, console, stdio, sv[1]);
	}
	close(sv[1]);
	memset(&m, 0, sizeof(m));
	do
		n = recv(sv[0], &m, sizeof(m), 0);
	while (n < 0 && errno == EINTR);
	close(sv[0]);
	if (n != (ssize_t)sizeof(m))
		return husk_err_set(err, EIO, "create: the helper died");
	if (!m.ok) {
		m.text[sizeof(m.text) - 1] = '\0';
		return husk_err_set(err, m.errnum, "%s", m.text);
	}
	m.cgroup[sizeof(m.cgroup) - 1] = '\0';
	c->lc.pid = m.pid;
	c->lc.start_time = m.start_time;
	c->lc.cgroup_path = husk_strdup(m.cgroup);
	/* The init sent the master during its setup, before it reported
	 * ready: it is queued on the listening socket by now. */
	if (lfd >= 0) {
		_cleanup_close_ int s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (s < 0 || agent_recv_fd(s, master, err) < 0) {
			if (s < 0)
				husk_err_sys(err, "accept the pty master");
			return -1;
		}
	}
	return 0;
}

static void ctr_unlink(struct agent *a, struct agent_ctr *c)
{
	for (struct agent_ctr **pp = &a->reg.ctrs; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			return;
		}
}

static void ctr_free(struct agent_ctr *c)
{
	struct agent_proc *p, *next;

	for (p = c->execs; p; p = next) {
		next = p->next;
		proc_free(p);
		free(p);
	}
	proc_free(&c->init);
	oci_spec_free(c->spec);
	linux_container_clear(&c->lc);
	free(c->state_dir);
	free(c->id);
	free(c);
}

static void pty_start(struct agent *a, struct agent_proc *p, int master,
		      int *stream)
{
	int dup = fcntl(master, F_DUPFD_CLOEXEC, 3);

	p->pty_master = master;
	if (dup >= 0) {
		agent_pty_relay_start(a, dup, *stream);
		*stream = -1;
	}
}

static int do_create(struct agent *a, const struct proto_create_req *r,
		     struct proto_msg *rep, struct husk_err **err)
{
	int fds[PROTO_STREAM__COUNT] = {-1, -1, -1, -1}, master = -1;
	bool want[PROTO_STREAM__COUNT] = {0};
	struct oci_spec *spec = NULL;
	struct agent_ctr *c;

	if (config_load(a, r, &spec, err) < 0)
		return -1;
	if (spec->process->terminal)
		want[PROTO_STREAM_PTY] = true;
	else
		memcpy(want, r->stdio, sizeof(r->stdio));
	pthread_mutex_lock(&a->reg.lock);
	if (ctr_find(a, r->container)) {
		pthread_mutex_unlock(&a->reg.lock);
		oci_spec_free(spec);
		return husk_err_set(err, EEXIST,
				    "container \"%s\": already exists",
				    r->container);
	}
	if (streams_take(a, r->container, NULL, want, fds, err) < 0) {
		pthread_mutex_unlock(&a->reg.lock);
		oci_spec_free(spec);
		return -1;
	}
	c = husk_calloc(1, sizeof(*c));
	c->id = husk_strdup(r->container);
	c->state_dir = husk_asprintf("%s/%s", a->reg.state_root, c->id);
	c->spec = spec;
	proc_init(&c->init, NULL);
	c->next = a->reg.ctrs;
	a->reg.ctrs = c; /* state 0: being created */
	pthread_mutex_unlock(&a->reg.lock);

	if (state_dir_make(c->state_dir, err) < 0 ||
	    create_run(a, c, fds, &master, err) < 0) {
		pthread_mutex_lock(&a->reg.lock);
		ctr_unlink(a, c);
		pthread_mutex_unlock(&a->reg.lock);
		if (c->lc.pid > 0) {
			struct husk_err *e2 = NULL;
			linux_container_destroy(&c->lc, &e2);
			husk_err_free(&e2);
		}
		state_dir_remove(c->state_dir);
		ctr_free(c);
		fds_close(fds, PROTO_STREAM__COUNT);
		return -1;
	}
	pthread_mutex_lock(&a->reg.lock);
	c->init.pid = c->lc.pid;
	c->state = AGENT_CTR_CREATED;
	orphan_claim(a, &c->init);
	if (master >= 0)
		pty_start(a, &c->init, master, &fds[PROTO_STREAM_PTY]);
	rep->rep.pid.pid = (uint32_t)c->lc.pid;
	pthread_mutex_unlock(&a->reg.lock);
	/* The init has its own copies: ours would keep the host from ever
	 * seeing EOF on stdout/stderr. */
	fds_close(fds, PROTO_STREAM__COUNT);
	return 0;
}

/* ---- exec --------------------------------------------------------------- */

static int process_load(const char *text, struct oci_spec **out,
			struct husk_err **err)
{
	_cleanup_free_ char *doc = husk_asprintf(
		"{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"/\"},"
		"\"process\":%s}",
		text);
	struct oci_spec *s = NULL;
	const struct oci_process *p;
	const char *bad = NULL;

	if (oci_spec_parse(doc, strlen(doc), &s, err) < 0 ||
	    oci_spec_validate(s, err) < 0) {
		oci_spec_free(s);
		return husk_err_prefix(err, "process");
	}
	p = s->process;
	if (p->apparmor_profile)
		bad = "apparmorProfile";
	else if (p->selinux_label)
		bad = "selinuxLabel";
	else if (p->io_priority)
		bad = "ioPriority";
	else if (p->scheduler)
		bad = "scheduler";
	else if (p->exec_cpu_affinity)
		bad = "execCPUAffinity";
	if (bad) {
		oci_spec_free(s);
		return husk_err_set(err, ENOTSUP,
				    "process.%s: not supported by husk-agent",
				    bad);
	}
	*out = s;
	return 0;
}

static int do_exec(struct agent *a, const struct proto_exec_req *r,
		   struct proto_msg *rep, struct husk_err **err)
{
	int fds[PROTO_STREAM__COUNT] = {-1, -1, -1, -1}, master = -1;
	bool want[PROTO_STREAM__COUNT] = {0};
	struct oci_spec *ps = NULL;
	struct agent_ctr *c;
	struct agent_proc *p;
	pid_t pid;

	if (process_load(r->process, &ps, err) < 0)
		return -1;
	if (ps->process->terminal)
		want[PROTO_STREAM_PTY] = true;
	else
		memcpy(want, r->stdio, sizeof(r->stdio));
	pthread_mutex_lock(&a->reg.lock);
	c = ctr_get(a, r->t.container, err);
	if (c && (c->state != AGENT_CTR_RUNNING || c->init.exited)) {
		husk_err_set(err, ESRCH, "container \"%s\": not running",
			     c->id);
		c = NULL;
	}
	if (c && proc_find(c, r->t.exec)) {
		husk_err_set(err, EEXIST,
			     "exec \"%s\" of container \"%s\": already exists",
			     r->t.exec, c->id);
		c = NULL;
	}
	if (c == NULL ||
	    streams_take(a, r->t.container, r->t.exec, want, fds, err) < 0) {
		pthread_mutex_unlock(&a->reg.lock);
		oci_spec_free(ps);
		return -1;
	}
	p = husk_calloc(1, sizeof(*p));
	proc_init(p, r->t.exec);
	p->next = c->execs;
	c->execs = p; /* pid 0: being set up */
	/* The helper forks from here with a copy of the registry it never
	 * writes; the lock is only held for the fork itself. */
	pid = agent_exec_spawn(c, ps, fds, &master, err);
	if (pid < 0) {
		for (struct agent_proc **pp = &c->execs; *pp;
		     pp = &(*pp)->next)
			if (*pp == p) {
				*pp = p->next;
				break;
			}
		proc_free(p);
		free(p);
	} else {
		p->pid = pid;
		orphan_claim(a, p);
		if (master >= 0)
			pty_start(a, p, master, &fds[PROTO_STREAM_PTY]);
		rep->rep.pid.pid = (uint32_t)pid;
	}
	pthread_mutex_unlock(&a->reg.lock);
	fds_close(fds, PROTO_STREAM__COUNT);
	oci_spec_free(ps);
	return pid < 0 ? -1 : 0;
}

/* ---- the rest ----------------------------------------------------------- */

static int do_start(struct agent *a, const char *id, struct husk_err **err)
{
	struct agent_ctr *c;
	_cleanup_free_ char *dir = NULL;
	int r;

	pthread_mutex_lock(&a->reg.lock);
	c = ctr_get(a, id, err);
	if (c && c->state != AGENT_CTR_CREATED) {
		husk_err_set(err, EBUSY, "container \"%s\": already started",
			     id);
		c = NULL;
	}
	if (c)
		dir = husk_strdup(c->state_dir);
	pthread_mutex_unlock(&a->reg.lock);
	if (dir == NULL)
		return -1;
	r = linux_container_start(dir, err);
	pthread_mutex_lock(&a->reg.lock);
	c = ctr_find(a, id);
	if (r == 0 && c)
		c->state = AGENT_CTR_RUNNING;
	pthread_mutex_unlock(&a->reg.lock);
	return r;
}

static int do_signal(struct agent *a, const struct proto_signal_req *r,
		     struct husk_err **err)
{
	struct agent_ctr *c;
	struct agent_proc *p;
	int ret = -1;

	pthread_mutex_lock(&a->reg.lock);
	p = proc_get(a, &r->t, &c, err);
	if (p && p->exited && !r->all)
		husk_err_set(err, ESRCH, "%s%s%s\"%s\": not running",
			     p->exec_id ? "exec \"" : "",
			     p->exec_id ? p->exec_id : "",
			     p->exec_id ? "\" of container " : "container ",
			     c->id);
	else if (p && p == &c->init)
		ret = linux_container_signal(&c->lc, (int)r->signal, r->all,
					     err);
	else if (p && kill(p->pid, (int)r->signal) < 0)
		husk_err_sys(err, "kill %d", (int)p->pid);
	else if (p)
		ret = 0;
	pthread_mutex_unlock(&a->reg.lock);
	return ret;
}

static int do_resize(struct agent *a, const struct proto_resize_req *r,
		     struct husk_err **err)
{
	struct winsize ws = {.ws_row = (unsigned short)r->rows,
			     .ws_col = (unsigned short)r->cols};
	struct agent_proc *p;
	int ret = -1;

	pthread_mutex_lock(&a->reg.lock);
	p = proc_get(a, &r->t, NULL, err);
	if (p && p->pty_master < 0)
		husk_err_set(err, ENOTTY, "resize: the process has no terminal");
	else if (p && ioctl(p->pty_master, TIOCSWINSZ, &ws) < 0)
		husk_err_sys(err, "resize: TIOCSWINSZ");
	else if (p)
		ret = 0;
	pthread_mutex_unlock(&a->reg.lock);
	return ret;
}

static int do_state(struct agent *a, const struct proto_target *t,
		    struct proto_state_reply *st, struct husk_err **err)
{
	struct agent_ctr *c;
	struct agent_proc *p;

	pthread_mutex_lock(&a->reg.lock);
	p = proc_get(a, t, &c, err);
	if (p) {
		st->pid = (uint32_t)p->pid;
		st->exit_status = p->exited ? p->status : 0;
		if (p->exited)
			st->status = PROTO_STATUS_STOPPED;
		else if (c->paused)
			st->status = PROTO_STATUS_PAUSED;
		else if (p == &c->init && c->state == AGENT_CTR_CREATED)
			st->status = PROTO_STATUS_CREATED;
		else
			st->status = PROTO_STATUS_RUNNING;
	}
	pthread_mutex_unlock(&a->reg.lock);
	return p ? 0 : -1;
}

/* The cgroup of a container whose init still runs (copied), for the
 * requests that act on it unlocked. */
static char *cg_of(struct agent *a, const char *id, bool running,
		   struct husk_err **err)
{
	struct agent_ctr *c;
	char *cg = NULL;

	pthread_mutex_lock(&a->reg.lock);
	c = ctr_get(a, id, err);
	if (c && running && c->init.exited)
		husk_err_set(err, ESRCH, "container \"%s\": not running", id);
	else if (c)
		cg = husk_strdup(c->lc.cgroup_path);
	pthread_mutex_unlock(&a->reg.lock);
	return cg;
}

static int do_pause(struct agent *a, const char *id, bool pause,
		    struct husk_err **err)
{
	_cleanup_free_ char *cg = cg_of(a, id, true, err);
	struct agent_ctr *c;

	if (cg == NULL || agent_cg_freeze(cg, pause, err) < 0)
		return -1;
	pthread_mutex_lock(&a->reg.lock);
	c = ctr_find(a, id);
	if (c)
		c->paused = pause;
	pthread_mutex_unlock(&a->reg.lock);
	return 0;
}

static int do_delete(struct agent *a, const struct proto_delete_req *r,
		     struct husk_err **err)
{
	struct agent_ctr *c;
	int ret = 0;

	pthread_mutex_lock(&a->reg.lock);
	c = ctr_get(a, r->container, err);
	if (c == NULL) {
		pthread_mutex_unlock(&a->reg.lock);
		return -1;
	}
	if (!r->force && c->state == AGENT_CTR_RUNNING && !c->init.exited) {
		pthread_mutex_unlock(&a->reg.lock);
		return husk_err_set(err, EBUSY,
				    "container \"%s\": is running (force "
				    "deletes it)",
				    r->container);
	}
	ctr_unlink(a, c);
	streams_drop(a, c->id);
	pthread_mutex_unlock(&a->reg.lock);

	/* A v1-frozen task cannot die until thawed. */
	if (c->paused) {
		struct husk_err *e = NULL;
		agent_cg_freeze(c->lc.cgroup_path, false, &e);
		husk_err_free(&e);
	}
	if (linux_container_destroy(&c->lc, err) < 0)
		ret = -1;
	/* Every process is dead now: reap what is left here so waiters get
	 * the real status; what the main loop reaped meanwhile was SIGKILL. */
	pthread_mutex_lock(&a->reg.lock);
	for (struct agent_proc *p = c->execs;; p = p->next) {
		struct agent_proc *q = p ? p : &c->init;
		int st;
		if (!q->exited && q->pid > 0 &&
		    waitpid(q->pid, &st, WNOHANG) == q->pid)
			proc_done(q, proto_exit_status(st));
		proc_done(q, 128 + SIGKILL);
		if (p == NULL)
			break;
	}
	pthread_mutex_unlock(&a->reg.lock);
	state_dir_remove(c->state_dir);
	ctr_free(c);
	return ret;
}

void agent_handle_ctr(struct agent *a, const struct proto_msg *req,
		      struct proto_msg *rep)
{
	_cleanup_err_ struct husk_err *err = NULL;
	_cleanup_free_ char *cg = NULL;
	int r = -1;

	switch (req->op) {
	case PROTO_OP_CREATE:
		r = do_create(a, &req->req.create, rep, &err);
		break;
	case PROTO_OP_START:
		r = do_start(a, req->req.target.container, &err);
		break;
	case PROTO_OP_EXEC:
		r = do_exec(a, &req->req.exec, rep, &err);
		break;
	case PROTO_OP_SIGNAL:
		r = do_signal(a, &req->req.signal, &err);
		break;
	case PROTO_OP_RESIZE:
		r = do_resize(a, &req->req.resize, &err);
		break;
	case PROTO_OP_STATS:
		cg = cg_of(a, req->req.target.container, false, &err);
		r = cg ? agent_cg_stats(cg, &rep->rep.stats, &err) : -1;
		break;
	case PROTO_OP_UPDATE:
		cg = cg_of(a, req->req.update.container, true, &err);
		r = cg ? agent_cg_update(cg, req->req.update.resources, &err) :
			 -1;
		break;
	case PROTO_OP_PAUSE:
	case PROTO_OP_RESUME:
		r = do_pause(a, req->req.target.container,
			     req->op == PROTO_OP_PAUSE, &err);
		break;
	case PROTO_OP_DELETE:
		r = do_delete(a, &req->req.del, &err);
		break;
	case PROTO_OP_STATE:
		r = do_state(a, &req->req.target, &rep->rep.state, &err);
		break;
	default:
		husk_err_set(&err, EOPNOTSUPP, "op: not served here");
		break;
	}
	if (r < 0)
		proto_reply_error(rep, req, err ? err->msg : "failed");
}

void agent_reg_release(struct agent *a)
{
	struct agent_reg *r = &a->reg;

	/* Host mode only: what still runs dies with the agent. */
	while (r->ctrs) {
		struct agent_ctr *c = r->ctrs;
		struct husk_err *e = NULL;
		r->ctrs = c->next;
		if (c->paused)
			agent_cg_freeze(c->lc.cgroup_path, false, &e);
		husk_err_free(&e);
		if (c->lc.pid > 0)
			linux_container_destroy(&c->lc, &e);
		husk_err_free(&e);
		state_dir_remove(c->state_dir);
		ctr_free(c);
	}
	while (r->parked) {
		struct agent_parked *p = r->parked;
		r->parked = p->next;
		parked_free(p);
	}
	free(r->state_root);
	free(r->rootfs_under);
}
