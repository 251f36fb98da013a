/* What the commands do to a running container's cgroup: update its
 * resources, freeze and thaw it, list its processes. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/linux/internal.h"
#include "runtime/linux/linux.h"

/* Freezing waits for every task to reach the refrigerator; a task in an
 * uninterruptible sleep may take a while. Give up after this long. */
#define FREEZE_TIMEOUT_MS 10000

static const struct cg_hier *freezer_v1(const struct cg_layout *l)
{
	if (l->mode == CG_V2)
		return NULL;
	for (size_t i = 0; i < l->n; i++)
		if (l->h[i].freezer)
			return &l->h[i];
	return NULL;
}

static const struct cg_hier *unified_hier(const struct cg_layout *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->h[i].v2)
			return &l->h[i];
	return NULL;
}

static int write_file(const char *f, const char *data, struct husk_err **err)
{
	_cleanup_close_ int fd = open(f, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return husk_err_sys(err, "open %s", f);
	if (husk_write_all(fd, data, strlen(data)) < 0)
		return husk_err_sys(err, "write %s to %s", data, f);
	return 0;
}

/* Has the freeze (or thaw) completed? */
static int freeze_done(const char *f, bool v2, bool freeze, bool *done,
		       struct husk_err **err)
{
	_cleanup_free_ char *buf = NULL;

	if (husk_read_file_at(AT_FDCWD, f, 4096, &buf, NULL, err) < 0)
		return -1;
	if (v2) {
		const char *p = strstr(buf, "frozen ");
		*done = p && (p[7] == '1') == freeze;
	} else {
		*done = husk_str_has_prefix(buf, freeze ? "FROZEN" : "THAWED");
	}
	return 0;
}

int cgroup_freeze(const struct cg_layout *l, const char *path, bool freeze,
		  struct husk_err **err)
{
	const struct cg_hier *h = freezer_v1(l);
	_cleanup_free_ char *ctl = NULL, *state = NULL;
	bool v2 = h == NULL, done = false;
	const struct timespec tick = {0, 1000000};

	if (v2)
		h = unified_hier(l);
	if (h == NULL)
		return husk_err_set(err, ENOTSUP,
				    "no freezer cgroup controller is mounted");
	ctl = husk_asprintf("%s%s/%s", h->mountpoint, path,
			    v2 ? "cgroup.freeze" : "freezer.state");
	state = husk_asprintf("%s%s/%s", h->mountpoint, path,
			      v2 ? "cgroup.events" : "freezer.state");
	for (int ms = 0; ms < FREEZE_TIMEOUT_MS; ms++) {
		/* v1: a write of FROZEN may leave FREEZING if a task could
		 * not be frozen at once; writing again retries it. */
		if (ms % 10 == 0 &&
		    write_file(ctl, v2 ? (freeze ? "1" : "0")
				       : (freeze ? "FROZEN" : "THAWED"),
			       err) < 0)
			return -1;
		if (freeze_done(state, v2, freeze, &done, err) < 0)
			return -1;
		if (done)
			return 0;
		nanosleep(&tick, NULL);
	}
	if (freeze) {
		struct husk_err *e = NULL;
		write_file(ctl, v2 ? "0" : "THAWED", &e);
		husk_err_free(&e);
	}
	return husk_err_set(err, ETIMEDOUT, "%s: not %s after %d ms", ctl,
			    freeze ? "frozen" : "thawed", FREEZE_TIMEOUT_MS);
}

int cgroup_pids(const struct cg_layout *l, const char *path, pid_t **pids,
		size_t *n, struct husk_err **err)
{
	const struct cg_hier *h = unified_hier(l);
	_cleanup_free_ char *f = NULL, *buf = NULL;
	char *tok, *save = NULL;

	if (h == NULL && l->n)
		h = &l->h[0];
	*pids = NULL;
	*n = 0;
	if (h == NULL)
		return husk_err_set(err, ENOENT, "no cgroup hierarchy");
	f = husk_asprintf("%s%s/cgroup.procs", h->mountpoint, path);
	if (husk_read_file_at(AT_FDCWD, f, 1u << 22, &buf, NULL, err) < 0)
		return -1;
	for (tok = strtok_r(buf, "\n", &save); tok;
	     tok = strtok_r(NULL, "\n", &save)) {
		long long v;
		if (husk_parse_i64(tok, &v) < 0 || v <= 0 || v > INT_MAX)
			continue;
		*pids = husk_reallocarray(*pids, *n + 1, sizeof(pid_t));
		(*pids)[(*n)++] = (pid_t)v;
	}
	return 0;
}

int linux_container_update(const struct linux_container *c,
			   const struct oci_resources *r,
			   struct husk_err **err)
{
	struct cg_layout l;
	int ret;

	if (c->cgroup_path == NULL)
		return husk_err_set(err, ENOENT, "container has no cgroup");
	if (cgroup_layout_detect(&l, err) < 0)
		return -1;
	ret = cgroup_apply_resources(&l, c->cgroup_path, r, err);
	cgroup_layout_free(&l);
	return ret;
}

int linux_container_freeze(const struct linux_container *c, bool freeze,
			   struct husk_err **err)
{
	struct cg_layout l;
	int ret;

	if (c->cgroup_path == NULL)
		return husk_err_set(err, ENOENT, "container has no cgroup");
	if (cgroup_layout_detect(&l, err) < 0)
		return -1;
	ret = cgroup_freeze(&l, c->cgroup_path, freeze, err);
	cgroup_layout_free(&l);
	return ret;
}

int linux_container_pids(const struct linux_container *c, pid_t **pids,
			 size_t *n, struct husk_err **err)
{
	struct cg_layout l;
	int ret;

	*pids = NULL;
	*n = 0;
	if (c->cgroup_path == NULL)
		return husk_err_set(err, ENOENT, "container has no cgroup");
	if (cgroup_layout_detect(&l, err) < 0)
		return -1;
	ret = cgroup_pids(&l, c->cgroup_path, pids, n, err);
	cgroup_layout_free(&l);
	return ret;
}
