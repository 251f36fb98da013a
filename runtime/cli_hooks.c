/* The hooks husk runs itself once create has returned: poststart before
 * `start` returns, poststop after the container was deleted
 * (runtime-spec config.md#posix-platform-hooks, runtime.md#lifecycle). */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "common/util.h"
#include "oci/state.h"
#include "runtime/cli.h"
#include "runtime/linux/hooks.h"

#define HOOKS_COPY "config.json"

int husk_hooks_save(const struct oci_spec *spec, const char *bundle,
		    const struct oci_state_dir *d, struct husk_err **err)
{
	_cleanup_free_ char *buf = NULL, *src = NULL;
	size_t len;

	if (spec->hooks == NULL ||
	    (spec->hooks->poststart.n == 0 && spec->hooks->poststop.n == 0))
		return 0;
	/* runc keeps the config in its state: delete must run poststop
	 * even when the bundle is gone or was changed since create. */
	src = husk_asprintf("%s/config.json", bundle);
	if (husk_read_file_at(AT_FDCWD, src, OCI_SPEC_MAX_SIZE, &buf, &len,
			      err) < 0 ||
	    husk_write_file_at(d->dirfd, HOOKS_COPY, buf, len, 0600, err) < 0)
		return husk_err_prefix(err, "hooks");
	return 0;
}

int husk_hooks_load(const struct oci_state_dir *d, struct oci_spec **spec,
		    struct husk_err **err)
{
	*spec = NULL;
	if (faccessat(d->dirfd, HOOKS_COPY, F_OK, 0) < 0)
		return 0;
	if (oci_spec_load(d->path, spec, err) < 0 ||
	    oci_spec_validate(*spec, err) < 0)
		return husk_err_prefix(err, "hooks: %s/%s", d->path,
				       HOOKS_COPY);
	return 0;
}

static char *state_json(const struct oci_spec *spec,
			const struct oci_state *st, const char *status)
{
	return linux_hooks_state_json(OCI_STATE_SPEC_VERSION, st->id, status,
				      st->pid, st->bundle, spec->annotations,
				      spec->n_annotations);
}

int husk_hooks_poststart(struct husk_ctx *ctx, const struct oci_spec *spec,
			 const struct oci_state *st, struct husk_err **err)
{
	_cleanup_free_ char *json = NULL;
	struct linux_container c;

	if (spec == NULL || spec->hooks == NULL || spec->hooks->poststart.n == 0)
		return 0;
	json = state_json(spec, st, "running");
	if (linux_hooks_run(&spec->hooks->poststart, "poststart", json, err) ==
	    0)
		return 0;
	/* runc: a failed poststart hook kills the container and fails
	 * start. */
	husk_state_to_container(st, &c);
	{
		_cleanup_err_ struct husk_err *e2 = NULL;
		linux_container_signal(&c, SIGKILL, true, &e2);
	}
	husk_log(&ctx->log, HUSK_LOG_DEBUG, "start %s: poststart failed",
		 st->id);
	return -1;
}

void husk_hooks_poststop(struct husk_ctx *ctx, const struct oci_spec *spec,
			 const struct oci_state *st)
{
	_cleanup_err_ struct husk_err *e = NULL;
	_cleanup_free_ char *json = NULL;

	if (spec == NULL || spec->hooks == NULL || spec->hooks->poststop.n == 0)
		return;
	json = state_json(spec, st, "stopped");
	if (linux_hooks_run_all(&spec->hooks->poststop, "poststop", json,
				&e) == 0)
		return;
	/* runtime.md: a poststop failure is a warning; delete succeeds. */
	husk_log(&ctx->log, HUSK_LOG_WARN, "delete %s: %s", st->id,
		 e && e->msg ? e->msg : "poststop hooks failed");
	if (ctx->log.fd < 0)
		fprintf(stderr, "husk: warning: delete %s: %s\n", st->id,
			e && e->msg ? e->msg : "poststop hooks failed");
}
