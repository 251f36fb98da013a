/* create / start / destroy of one container, shared by the commands: the
 * state directory's life around the backend's calls. */
#include "runtime/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/sandbox.h"
#include "runtime/vm.h"

static void spec_freep(struct oci_spec **s)
{
	if (*s)
		oci_spec_free(*s);
}

void husk_state_to_container(const struct oci_state *st,
			     struct linux_container *c)
{
	c->pid = st->pid;
	c->start_time = st->start_time;
	c->cgroup_path = st->cgroup_path;
}

/* The cgroup the backend will use, recorded before it runs so that a
 * create killed half way can still be cleaned up by `delete` (the
 * backend's rule: linux.cgroupsPath, absolute or under /husk, else
 * /husk/<id>; the real path replaces this guess once create returns). */
static char *guess_cgroup_path(const struct oci_spec *spec, const char *id)
{
	const char *p = spec->linux_ ? spec->linux_->cgroups_path : NULL;

	if (p == NULL || *p == '\0')
		return husk_asprintf("/husk/%s", id);
	if (p[0] == '/')
		return husk_strdup(p);
	return husk_asprintf("/husk/%s", p);
}

static int write_pid_file(const char *path, pid_t pid, struct husk_err **err)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d", (int)pid);

	/* runc writes the bare number (no newline) via a temporary file
	 * renamed into place: containerd's shim may read it at any time. */
	if (husk_write_file_atomic(path, buf, (size_t)n, 0644, err) < 0)
		return husk_err_prefix(err, "pid file");
	return 0;
}

static int build_state(struct husk_ctx *ctx, const char *id, const char *bundle,
		       const struct oci_spec *spec, const char *sandbox,
		       struct oci_state **out, struct husk_err **err)
{
	size_t n = spec->n_annotations;
	bool have_sandbox = oci_spec_annotation(spec, "run.husk.sandbox");
	struct oci_state *st;

	if (spec->root == NULL || spec->root->path == NULL) {
		husk_err_set(err, EINVAL, "config.json: root.path: missing");
		return -1;
	}
	st = husk_calloc(1, sizeof(*st));
	st->id = husk_strdup(id);
	st->bundle = husk_strdup(bundle);
	st->rootfs = spec->root->path[0] == '/'
			     ? husk_strdup(spec->root->path)
			     : husk_asprintf("%s/%s", bundle, spec->root->path);
	st->created = oci_state_now_rfc3339();
	st->owner = getuid();
	st->cgroup_path = guess_cgroup_path(spec, id);
	st->sandbox = husk_strdup(sandbox);
	st->systemd_cgroup = ctx->systemd_cgroup;
	st->status = OCI_STATUS_CREATING;
	/* DESIGN.md section 3: state shows the sandbox chosen. */
	st->annotations = husk_calloc(n + 1, sizeof(struct oci_kv));
	for (size_t i = 0; i < n; i++) {
		st->annotations[i].key = husk_strdup(spec->annotations[i].key);
		st->annotations[i].value =
			husk_strdup(spec->annotations[i].value);
	}
	st->n_annotations = n;
	if (!have_sandbox) {
		st->annotations[n].key = husk_strdup("run.husk.sandbox");
		st->annotations[n].value = husk_strdup(sandbox);
		st->n_annotations++;
	}
	*out = st;
	return 0;
}

static int load_spec(const char *bundle, struct oci_spec **spec,
		     struct husk_err **err)
{
	if (oci_spec_load(bundle, spec, err) < 0)
		return -1;
	if (oci_spec_validate(*spec, err) < 0)
		return husk_err_prefix(err, "config.json");
	return 0;
}

int husk_create(struct husk_ctx *ctx, const char *id,
		const struct create_args *a, struct oci_state_dir *d,
		struct oci_state **stp, struct linux_container *c,
		struct husk_err **err)
{
	__attribute__((cleanup(spec_freep))) struct oci_spec *spec = NULL;
	_cleanup_free_ char *bundle = NULL, *probe = NULL;
	struct linux_create_opts o = {0};
	struct oci_state *st = NULL;
	const char *sandbox = NULL;
	const char *listen = getenv("LISTEN_FDS");
	long long nlisten = 0;
	struct stat sb;

	if (oci_state_id_check(id, err) < 0)
		return -1;
	if (a->preserve_fds < 0 || a->preserve_fds > 65536)
		return husk_err_set(err, EINVAL,
				    "--preserve-fds: %lld: out of range",
				    a->preserve_fds);
	/* runc passes stdio + $LISTEN_FDS + --preserve-fds (socket
	 * activation): the sum is what the process gets from fd 3 on. */
	if (listen && (husk_parse_i64(listen, &nlisten) < 0 || nlisten < 0 ||
		       nlisten > 65536))
		return husk_err_set(err, EINVAL, "LISTEN_FDS: \"%s\": invalid",
				    listen);
	probe = husk_asprintf("%s/%s/state.json", ctx->root, id);
	if (lstat(probe, &sb) == 0)
		return husk_err_set(err, EEXIST, "container with id exists: %s",
				    id);
	bundle = realpath(a->bundle ? a->bundle : ".", NULL);
	if (bundle == NULL)
		return husk_err_sys(err, "bundle %s",
				    a->bundle ? a->bundle : ".");
	if (load_spec(bundle, &spec, err) < 0)
		return -1;
	if (husk_sandbox_choose(ctx->sandbox, spec, &sandbox, err) < 0)
		return -1;
	if (linux_check_supported(spec, err) < 0)
		return -1;
	if (husk_check_terminal(spec->process->terminal, a->console_socket,
				a->console_internal, err) < 0)
		return -1;
	if (build_state(ctx, id, bundle, spec, sandbox, &st, err) < 0)
		return -1;
	errno = 0;
	if (stat(st->rootfs, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		if (errno == 0)
			errno = ENOTDIR;
		husk_err_sys(err, "rootfs %s", st->rootfs);
		oci_state_free(st);
		return -1;
	}
	if (oci_state_dir_create(ctx->root, st, d, err) < 0) {
		oci_state_free(st);
		return -1;
	}
	if (husk_hooks_save(spec, bundle, d, err) < 0)
		goto fail;
	if (husk_state_is_vm(st)) {
		if (husk_vm_create(ctx, a, spec, d, st, c, err) < 0)
			goto fail;
		*stp = st;
		return 0;
	}
	o.spec = spec;
	o.id = id;
	o.bundle = bundle;
	o.state_dir = d->path;
	o.console_socket = a->console_socket;
	o.preserve_fds = (int)(a->preserve_fds + nlisten);
	o.no_pivot = a->no_pivot;
	o.no_new_keyring = a->no_new_keyring;
	o.systemd_cgroup = ctx->systemd_cgroup;
	husk_log(&ctx->log, HUSK_LOG_DEBUG, "create %s: bundle %s, state %s",
		 id, bundle, d->path);
	if (linux_container_create(&o, c, err) < 0)
		goto fail;
	st->pid = c->pid;
	st->start_time = c->start_time;
	if (c->cgroup_path) {
		free(st->cgroup_path);
		st->cgroup_path = husk_strdup(c->cgroup_path);
	}
	st->status = OCI_STATUS_CREATED;
	if (oci_state_dir_write(d, st, err) < 0 ||
	    (a->pid_file && write_pid_file(a->pid_file, c->pid, err) < 0)) {
		_cleanup_err_ struct husk_err *e2 = NULL;
		linux_container_signal(c, SIGKILL, true, &e2);
		husk_err_free(&e2);
		linux_container_destroy(c, &e2);
		linux_container_clear(c);
		goto fail;
	}
	husk_log(&ctx->log, HUSK_LOG_DEBUG, "create %s: init pid %d", id,
		 (int)c->pid);
	*stp = st;
	return 0;
fail : {
	_cleanup_err_ struct husk_err *e2 = NULL;
	oci_state_dir_remove(d, &e2);
	oci_state_dir_close(d);
	oci_state_free(st);
	return -1;
}
}

int husk_start(struct husk_ctx *ctx, struct oci_state_dir *d,
	       struct oci_state *st, struct husk_err **err)
{
	__attribute__((cleanup(spec_freep))) struct oci_spec *hooks = NULL;

	switch (oci_state_status(st, d->dirfd)) {
	case OCI_STATUS_CREATED:
		break;
	case OCI_STATUS_RUNNING:
		return husk_err_set(
			err, EBUSY,
			"cannot start an already running container");
	case OCI_STATUS_PAUSED:
		return husk_err_set(err, EBUSY,
				    "cannot start an already paused container");
	case OCI_STATUS_STOPPED:
	default:
		return husk_err_set(
			err, EINVAL,
			"cannot start a container that has stopped");
	}
	if (husk_hooks_load(d, &hooks, err) < 0 ||
	    (husk_state_is_vm(st) ? husk_vm_start(st, err)
				  : linux_container_start(d->path, err)) < 0)
		return -1;
	st->status = OCI_STATUS_RUNNING;
	husk_log(&ctx->log, HUSK_LOG_DEBUG, "start %s: released pid %d", st->id,
		 (int)st->pid);
	if (oci_state_dir_write(d, st, err) < 0)
		return -1;
	return husk_hooks_poststart(ctx, hooks, st, err);
}

int husk_destroy(struct husk_ctx *ctx, struct oci_state_dir *d,
		 const struct oci_state *st, struct husk_err **err)
{
	__attribute__((cleanup(spec_freep))) struct oci_spec *hooks = NULL;
	struct linux_container c;
	_cleanup_err_ struct husk_err *ignored = NULL;

	if (husk_state_is_vm(st))
		return husk_vm_destroy(ctx, d, st, err);
	/* read before the state directory goes; poststop runs after */
	if (husk_hooks_load(d, &hooks, &ignored) < 0)
		husk_log(&ctx->log, HUSK_LOG_WARN, "delete %s: %s", st->id,
			 ignored->msg);
	husk_err_free(&ignored);
	husk_state_to_container(st, &c);
	/* The init first (through its pidfd, only if it is still the same
	 * process), then whatever else is in the cgroup. */
	if (linux_container_alive(&c))
		linux_container_signal(&c, SIGKILL, false, &ignored);
	if (linux_container_destroy(&c, err) < 0)
		return -1;
	husk_log(&ctx->log, HUSK_LOG_DEBUG, "delete %s", st->id);
	if (oci_state_dir_remove(d, err) < 0)
		return -1;
	husk_hooks_poststop(ctx, hooks, st);
	return 0;
}
