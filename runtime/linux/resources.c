/* linux.resources (all but devices) written into the container's cgroup:
 * the v1 controllers' files, or the v2 ones with runc's unit conversions;
 * on a hybrid host each controller where it is mounted. Used by create and
 * by `husk update`. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/linux/internal.h"

#define P "linux.resources"
#define SET_NZ(o) ((o).set && (o).v != 0)

struct res_ctx {
	const struct cg_layout *l;
	const char *path;
};

static bool opt_has(const char *opts, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = opts; p && *p;) {
		const char *e = strchrnul(p, ',');
		if ((size_t)(e - p) == len && strncmp(p, name, len) == 0)
			return true;
		p = *e ? e + 1 : e;
	}
	return false;
}

static const struct cg_hier *unified(const struct cg_layout *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->h[i].v2)
			return &l->h[i];
	return NULL;
}

/* Is ctrl listed in the unified hierarchy's root cgroup.controllers? */
static bool v2_has(const struct cg_layout *l, const char *ctrl)
{
	const struct cg_hier *u = unified(l);
	_cleanup_free_ char *f = NULL, *buf = NULL;
	struct husk_err *e = NULL;
	char *tok, *save = NULL;

	if (u == NULL)
		return false;
	f = husk_asprintf("%s/cgroup.controllers", u->mountpoint);
	if (husk_read_file_at(AT_FDCWD, f, 4096, &buf, NULL, &e) < 0) {
		husk_err_free(&e);
		return false;
	}
	for (tok = strtok_r(buf, " \n", &save); tok;
	     tok = strtok_r(NULL, " \n", &save))
		if (strcmp(tok, ctrl) == 0)
			return true;
	return false;
}

/* The v1 hierarchy with controller ctrl, or NULL. */
static const struct cg_hier *v1_find(const struct cg_layout *l,
				     const char *ctrl)
{
	if (l->mode == CG_V2)
		return NULL;
	for (size_t i = 0; i < l->n; i++)
		if (!l->h[i].v2 && opt_has(l->h[i].options, ctrl))
			return &l->h[i];
	return NULL;
}

/* v2: enable ctrl in cgroup.subtree_control of every ancestor of path so
 * that the container's cgroup has its files. */
static int v2_enable(const struct cg_hier *u, const char *path,
		     const char *ctrl, struct husk_err **err)
{
	_cleanup_free_ char *full = husk_asprintf("%s%s", u->mountpoint, path);
	_cleanup_free_ char *plus = husk_asprintf("+%s", ctrl);
	char *last = strrchr(full, '/');
	char *s = full + strlen(u->mountpoint);

	for (;;) {
		_cleanup_free_ char *f = NULL;
		_cleanup_close_ int fd = -1;

		*s = '\0';
		f = husk_asprintf("%s/cgroup.subtree_control", full);
		*s = '/';
		fd = open(f, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return husk_err_sys(err, "open %s", f);
		if (husk_write_all(fd, plus, strlen(plus)) < 0)
			return husk_err_sys(err, "write %s to %s", plus, f);
		if (s == last)
			break;
		s = strchr(s + 1, '/');
	}
	return 0;
}

/* Write data into <hier><path>/<file>; what names the JSON field. */
static int cg_write(const struct cg_hier *h, const char *path,
		    const char *file, const char *data, const char *what,
		    struct husk_err **err)
{
	_cleanup_free_ char *f = husk_asprintf("%s%s/%s", h->mountpoint, path,
					       file);
	_cleanup_close_ int fd = open(f, O_WRONLY | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			return husk_err_set(err, ENOTSUP,
					    "%s: %s: the kernel has no such "
					    "file",
					    what, f);
		return husk_err_sys(err, "%s: open %s", what, f);
	}
	if (husk_write_all(fd, data, strlen(data)) < 0)
		return husk_err_sys(err, "%s: write \"%s\" to %s", what, data,
				    f);
	return 0;
}

/* The hierarchy for a v1-style controller on this host, or an error that
 * names the field and the missing controller. */
static const struct cg_hier *need(const struct res_ctx *x, const char *ctrl,
				  const char *what, bool *v2,
				  struct husk_err **err)
{
	const struct cg_hier *h = v1_find(x->l, ctrl);
	const char *v2name = strcmp(ctrl, "blkio") == 0 ? "io" : ctrl;

	*v2 = false;
	if (h)
		return h;
	if (x->l->mode == CG_V2 ||
	    (x->l->mode == CG_HYBRID && strcmp(ctrl, "hugetlb") == 0)) {
		h = unified(x->l);
		if (h && v2_has(x->l, v2name)) {
			*v2 = true;
			if (v2_enable(h, x->path, v2name, err) < 0)
				return NULL;
			return h;
		}
	}
	husk_err_set(err, ENOTSUP,
		     "%s: the %s cgroup controller is not available on this "
		     "host",
		     what, ctrl);
	return NULL;
}

static void num(char *buf, size_t len, int64_t v)
{
	if (v < 0)
		snprintf(buf, len, "max");
	else
		snprintf(buf, len, "%" PRId64, v);
}

/* ---- memory ------------------------------------------------------------- */

static int memory_v1(const struct res_ctx *x, const struct cg_hier *h,
		     const struct oci_memory *m, struct husk_err **err)
{
	char lim[32], sw[32];
	_cleanup_err_ struct husk_err *e = NULL;

	snprintf(lim, sizeof(lim), "%" PRId64, m->limit.v);
	snprintf(sw, sizeof(sw), "%" PRId64, m->swap.v);
	if (SET_NZ(m->reservation)) {
		char b[32];
		snprintf(b, sizeof(b), "%" PRId64, m->reservation.v);
		if (cg_write(h, x->path, "memory.soft_limit_in_bytes", b,
			     P ".memory.reservation", err) < 0)
			return -1;
	}
	/* memsw >= limit at every moment: raising, memsw goes first;
	 * lowering, the limit. Try limit first, and on EINVAL the other
	 * order (runc does the same by reading the current values). */
	if (SET_NZ(m->limit) &&
	    cg_write(h, x->path, "memory.limit_in_bytes", lim,
		     P ".memory.limit", &e) < 0) {
		if (!SET_NZ(m->swap) || e->errnum != EINVAL) {
			*err = TAKE_PTR(e);
			return -1;
		}
		if (cg_write(h, x->path, "memory.memsw.limit_in_bytes", sw,
			     P ".memory.swap", err) < 0 ||
		    cg_write(h, x->path, "memory.limit_in_bytes", lim,
			     P ".memory.limit", err) < 0)
			return -1;
	} else if (SET_NZ(m->swap) &&
		   cg_write(h, x->path, "memory.memsw.limit_in_bytes", sw,
			    P ".memory.swap", err) < 0) {
		return -1;
	}
	if (m->swappiness.set) {
		char b[32];
		if (m->swappiness.v > 100)
			return husk_err_set(err, EINVAL,
					    P ".memory.swappiness: %" PRIu64
					    ": must be 0..100",
					    m->swappiness.v);
		snprintf(b, sizeof(b), "%" PRIu64, m->swappiness.v);
		if (cg_write(h, x->path, "memory.swappiness", b,
			     P ".memory.swappiness", err) < 0)
			return -1;
	}
	if (m->disable_oom_killer.set && m->disable_oom_killer.v &&
	    cg_write(h, x->path, "memory.oom_control", "1",
		     P ".memory.disableOOMKiller", err) < 0)
		return -1;
	return 0;
}

static int memory_v2(const struct res_ctx *x, const struct cg_hier *h,
		     const struct oci_memory *m, struct husk_err **err)
{
	char b[32];

	if (SET_NZ(m->reservation)) {
		num(b, sizeof(b), m->reservation.v);
		if (cg_write(h, x->path, "memory.low", b,
			     P ".memory.reservation", err) < 0)
			return -1;
	}
	/* runc's ConvertMemorySwapToCgroupV2Value: the spec's swap is
	 * memory+swap; v2's memory.swap.max is swap alone. */
	if (SET_NZ(m->swap)) {
		int64_t v = m->swap.v;
		if (v > 0) {
			if (!SET_NZ(m->limit) || m->limit.v < 0)
				return husk_err_set(err, EINVAL,
						    P ".memory.swap: a swap "
						    "limit needs a memory "
						    "limit on cgroup v2");
			if (v < m->limit.v)
				return husk_err_set(err, EINVAL,
						    P ".memory.swap: must be "
						    ">= memory.limit");
			v -= m->limit.v;
		}
		num(b, sizeof(b), v);
		if (cg_write(h, x->path, "memory.swap.max", b,
			     P ".memory.swap", err) < 0)
			return -1;
	}
	if (SET_NZ(m->limit)) {
		num(b, sizeof(b), m->limit.v);
		if (cg_write(h, x->path, "memory.max", b, P ".memory.limit",
			     err) < 0)
			return -1;
	}
	if (m->swappiness.set)
		return husk_err_set(err, ENOTSUP,
				    P ".memory.swappiness: not available on "
				    "cgroup v2");
	if (m->disable_oom_killer.set && m->disable_oom_killer.v)
		return husk_err_set(err, ENOTSUP,
				    P ".memory.disableOOMKiller: not "
				    "available on cgroup v2");
	return 0;
}

/* memory.checkBeforeUpdate: refuse a limit below what is in use, where
 * the kernel would otherwise reclaim or OOM-kill to meet it. */
static int check_usage(const struct res_ctx *x, const struct cg_hier *h,
		       bool v2, int64_t limit, struct husk_err **err)
{
	_cleanup_free_ char *f = husk_asprintf(
		"%s%s/%s", h->mountpoint, x->path,
		v2 ? "memory.current" : "memory.usage_in_bytes");
	_cleanup_free_ char *buf = NULL;
	long long usage;

	if (husk_read_file_at(AT_FDCWD, f, 4096, &buf, NULL, err) < 0)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	if (husk_parse_i64(buf, &usage) < 0)
		return husk_err_set(err, EINVAL, "%s: \"%s\": not a number",
				    f, buf);
	if (usage > limit)
		return husk_err_set(err, EBUSY,
				    P ".memory.limit: %" PRId64 " is below the "
				    "current usage %lld (checkBeforeUpdate)",
				    limit, usage);
	return 0;
}

static int apply_memory(const struct res_ctx *x, const struct oci_memory *m,
			struct husk_err **err)
{
	const struct cg_hier *h;
	bool v2;

	/* runc 1.2 no longer sets kernel memory limits (deprecated in the
	 * kernel); refuse rather than ignore a limit the user asked for. */
	if (SET_NZ(m->kernel))
		return husk_err_set(err, ENOTSUP,
				    P ".memory.kernel: kernel memory limits "
				    "are not supported");
	if (SET_NZ(m->kernel_tcp))
		return husk_err_set(err, ENOTSUP,
				    P ".memory.kernelTCP: kernel TCP memory "
				    "limits are not supported");
	if (!SET_NZ(m->limit) && !SET_NZ(m->reservation) &&
	    !SET_NZ(m->swap) && !m->swappiness.set &&
	    !(m->disable_oom_killer.set && m->disable_oom_killer.v))
		return 0;
	h = need(x, "memory", P ".memory", &v2, err);
	if (h == NULL)
		return -1;
	if (m->check_before_update.set && m->check_before_update.v &&
	    SET_NZ(m->limit) && m->limit.v > 0 &&
	    check_usage(x, h, v2, m->limit.v, err) < 0)
		return -1;
	return v2 ? memory_v2(x, h, m, err) : memory_v1(x, h, m, err);
}

/* ---- cpu, cpuset -------------------------------------------------------- */

static int cpu_v1(const struct res_ctx *x, const struct cg_hier *h,
		  const struct oci_cpu *c, struct husk_err **err)
{
	char b[32];
	_cleanup_err_ struct husk_err *e = NULL;

	if (SET_NZ(c->shares)) {
		snprintf(b, sizeof(b), "%" PRIu64, c->shares.v);
		if (cg_write(h, x->path, "cpu.shares", b, P ".cpu.shares",
			     err) < 0)
			return -1;
	}
	if (SET_NZ(c->period)) {
		snprintf(b, sizeof(b), "%" PRIu64, c->period.v);
		/* A period below the current quota's share may be refused
		 * until the quota changes: retry after it. */
		if (cg_write(h, x->path, "cpu.cfs_period_us", b,
			     P ".cpu.period", &e) < 0 &&
		    !c->quota.set) {
			*err = TAKE_PTR(e);
			return -1;
		}
	}
	if (c->quota.set && c->quota.v != 0) {
		char q[32];
		snprintf(q, sizeof(q), "%" PRId64, c->quota.v < 0 ? -1
								 : c->quota.v);
		if (cg_write(h, x->path, "cpu.cfs_quota_us", q, P ".cpu.quota",
			     err) < 0)
			return -1;
		if (e && cg_write(h, x->path, "cpu.cfs_period_us", b,
				  P ".cpu.period", err) < 0)
			return -1;
	} else if (e) {
		*err = TAKE_PTR(e);
		return -1;
	}
	if (c->burst.set) {
		snprintf(b, sizeof(b), "%" PRIu64, c->burst.v);
		if (cg_write(h, x->path, "cpu.cfs_burst_us", b, P ".cpu.burst",
			     err) < 0)
			return -1;
	}
	if (SET_NZ(c->realtime_period)) {
		snprintf(b, sizeof(b), "%" PRIu64, c->realtime_period.v);
		if (cg_write(h, x->path, "cpu.rt_period_us", b,
			     P ".cpu.realtimePeriod", err) < 0)
			return -1;
	}
	if (SET_NZ(c->realtime_runtime)) {
		snprintf(b, sizeof(b), "%" PRId64, c->realtime_runtime.v);
		if (cg_write(h, x->path, "cpu.rt_runtime_us", b,
			     P ".cpu.realtimeRuntime", err) < 0)
			return -1;
	}
	if (c->idle.set) {
		snprintf(b, sizeof(b), "%" PRId64, c->idle.v);
		if (cg_write(h, x->path, "cpu.idle", b, P ".cpu.idle", err) <
		    0)
			return -1;
	}
	return 0;
}

/* runc's ConvertCPUSharesToCgroupV2Value. */
uint64_t cgroup_shares_to_weight(uint64_t shares)
{
	if (shares == 0)
		return 0;
	if (shares <= 2)
		return 1;
	if (shares >= 262144)
		return 10000;
	return 1 + ((shares - 2) * 9999) / 262142;
}

static int cpu_v2(const struct res_ctx *x, const struct cg_hier *h,
		  const struct oci_cpu *c, struct husk_err **err)
{
	char b[64];

	if (SET_NZ(c->realtime_period) || SET_NZ(c->realtime_runtime))
		return husk_err_set(err, ENOTSUP,
				    P ".cpu.realtimeRuntime/realtimePeriod: "
				    "not available on cgroup v2");
	if (SET_NZ(c->shares)) {
		snprintf(b, sizeof(b), "%" PRIu64,
			 cgroup_shares_to_weight(c->shares.v));
		if (cg_write(h, x->path, "cpu.weight", b, P ".cpu.shares",
			     err) < 0)
			return -1;
	}
	if ((c->quota.set && c->quota.v != 0) || SET_NZ(c->period)) {
		uint64_t period = SET_NZ(c->period) ? c->period.v : 100000;
		if (c->quota.set && c->quota.v > 0)
			snprintf(b, sizeof(b), "%" PRId64 " %" PRIu64,
				 c->quota.v, period);
		else if (c->quota.set && c->quota.v < 0)
			snprintf(b, sizeof(b), "max %" PRIu64, period);
		else
			snprintf(b, sizeof(b), "%" PRIu64, period);
		if (cg_write(h, x->path, "cpu.max", b, P ".cpu.quota", err) <
		    0)
			return -1;
	}
	if (c->burst.set) {
		snprintf(b, sizeof(b), "%" PRIu64, c->burst.v);
		if (cg_write(h, x->path, "cpu.max.burst", b, P ".cpu.burst",
			     err) < 0)
			return -1;
	}
	if (c->idle.set) {
		snprintf(b, sizeof(b), "%" PRId64, c->idle.v);
		if (cg_write(h, x->path, "cpu.idle", b, P ".cpu.idle", err) <
		    0)
			return -1;
	}
	return 0;
}

static int apply_cpu(const struct res_ctx *x, const struct oci_cpu *c,
		     struct husk_err **err)
{
	const struct cg_hier *h;
	bool v2;

	if (SET_NZ(c->shares) || (c->quota.set && c->quota.v != 0) ||
	    SET_NZ(c->period) || c->burst.set || SET_NZ(c->realtime_period) ||
	    SET_NZ(c->realtime_runtime) || c->idle.set) {
		h = need(x, "cpu", P ".cpu", &v2, err);
		if (h == NULL)
			return -1;
		if ((v2 ? cpu_v2 : cpu_v1)(x, h, c, err) < 0)
			return -1;
	}
	if ((c->cpus && c->cpus[0]) || (c->mems && c->mems[0])) {
		h = need(x, "cpuset", P ".cpu.cpus", &v2, err);
		if (h == NULL)
			return -1;
		if (c->cpus && c->cpus[0] &&
		    cg_write(h, x->path, "cpuset.cpus", c->cpus, P ".cpu.cpus",
			     err) < 0)
			return -1;
		if (c->mems && c->mems[0] &&
		    cg_write(h, x->path, "cpuset.mems", c->mems, P ".cpu.mems",
			     err) < 0)
			return -1;
	}
	return 0;
}

/* ---- pids, blkio, hugetlb, network, rdma, unified ----------------------- */

static int apply_pids(const struct res_ctx *x, int64_t limit,
		      struct husk_err **err)
{
	const struct cg_hier *h;
	char b[32];
	bool v2;

	if (limit == 0)
		return 0;
	h = need(x, "pids", P ".pids.limit", &v2, err);
	if (h == NULL)
		return -1;
	num(b, sizeof(b), limit);
	return cg_write(h, x->path, "pids.max", b, P ".pids.limit", err);
}

static int throttle(const struct res_ctx *x, const struct cg_hier *h,
		    bool v2, const struct oci_throttle_list *t,
		    const char *file, const char *key, const char *what,
		    struct husk_err **err)
{
	char b[96];

	for (size_t i = 0; i < t->n; i++) {
		if (v2)
			snprintf(b, sizeof(b), "%" PRId64 ":%" PRId64 " %s=%" PRIu64,
				 t->v[i].major, t->v[i].minor, key,
				 t->v[i].rate);
		else
			snprintf(b, sizeof(b), "%" PRId64 ":%" PRId64 " %" PRIu64,
				 t->v[i].major, t->v[i].minor, t->v[i].rate);
		if (cg_write(h, x->path, v2 ? "io.max" : file, b, what, err) <
		    0)
			return -1;
	}
	return 0;
}

/* runc's ConvertBlkIOToIOWeightValue: [10, 1000] -> [1, 10000]. */
uint64_t cgroup_blkio_to_io_weight(uint64_t w)
{
	if (w == 0)
		return 0;
	return 1 + (w - 10) * 9999 / 990;
}

/* Weights: CFQ's blkio.weight*, else BFQ's blkio.bfq.weight* (v1), or
 * io.weight, else io.bfq.weight (v2), as runc tries them. */
static int blkio_write(const struct res_ctx *x, const struct cg_hier *h,
		       bool v2, const char *file, const char *val,
		       const char *what, struct husk_err **err)
{
	_cleanup_free_ char *bfq = husk_asprintf(
		"%s.bfq.%s", v2 ? "io" : "blkio", strchr(file, '.') + 1);
	_cleanup_free_ char *f = husk_asprintf("%s%s/%s", h->mountpoint,
					       x->path, file);

	if (access(f, F_OK) < 0 && errno == ENOENT) {
		_cleanup_free_ char *fb = husk_asprintf(
			"%s%s/%s", h->mountpoint, x->path, bfq);
		if (access(fb, F_OK) == 0)
			return cg_write(h, x->path, bfq, val, what, err);
	}
	return cg_write(h, x->path, file, val, what, err);
}

static int apply_blkio(const struct res_ctx *x, const struct oci_block_io *b,
		       struct husk_err **err)
{
	const struct cg_hier *h;
	char buf[64];
	bool v2;

	if (!SET_NZ(b->weight) && !SET_NZ(b->leaf_weight) &&
	    !b->n_weight_device && !b->throttle_read_bps.n &&
	    !b->throttle_write_bps.n && !b->throttle_read_iops.n &&
	    !b->throttle_write_iops.n)
		return 0;
	h = need(x, "blkio", P ".blockIO", &v2, err);
	if (h == NULL)
		return -1;
	if (SET_NZ(b->weight)) {
		if (b->weight.v < 10 || b->weight.v > 1000)
			return husk_err_set(err, EINVAL,
					    P ".blockIO.weight: %" PRIu64
					    ": must be 10..1000",
					    b->weight.v);
		snprintf(buf, sizeof(buf), "%" PRIu64,
			 v2 ? cgroup_blkio_to_io_weight(b->weight.v)
			    : b->weight.v);
		if (blkio_write(x, h, v2, v2 ? "io.weight" : "blkio.weight",
				buf, P ".blockIO.weight", err) < 0)
			return -1;
	}
	if (SET_NZ(b->leaf_weight)) {
		if (v2)
			return husk_err_set(err, ENOTSUP,
					    P ".blockIO.leafWeight: not "
					    "available on cgroup v2");
		snprintf(buf, sizeof(buf), "%" PRIu64, b->leaf_weight.v);
		if (cg_write(h, x->path, "blkio.leaf_weight", buf,
			     P ".blockIO.leafWeight", err) < 0)
			return -1;
	}
	for (size_t i = 0; i < b->n_weight_device; i++) {
		const struct oci_weight_device *d = &b->weight_device[i];
		if (!d->weight.set)
			continue;
		snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %" PRIu64,
			 d->major, d->minor,
			 v2 ? cgroup_blkio_to_io_weight(d->weight.v)
			    : d->weight.v);
		if (blkio_write(x, h, v2,
				v2 ? "io.weight" : "blkio.weight_device", buf,
				P ".blockIO.weightDevice", err) < 0)
			return -1;
	}
	if (throttle(x, h, v2, &b->throttle_read_bps,
		     "blkio.throttle.read_bps_device", "rbps",
		     P ".blockIO.throttleReadBpsDevice", err) < 0 ||
	    throttle(x, h, v2, &b->throttle_write_bps,
		     "blkio.throttle.write_bps_device", "wbps",
		     P ".blockIO.throttleWriteBpsDevice", err) < 0 ||
	    throttle(x, h, v2, &b->throttle_read_iops,
		     "blkio.throttle.read_iops_device", "riops",
		     P ".blockIO.throttleReadIOPSDevice", err) < 0 ||
	    throttle(x, h, v2, &b->throttle_write_iops,
		     "blkio.throttle.write_iops_device", "wiops",
		     P ".blockIO.throttleWriteIOPSDevice", err) < 0)
		return -1;
	return 0;
}

static int apply_hugetlb(const struct res_ctx *x,
			 const struct oci_resources *r, struct husk_err **err)
{
	const struct cg_hier *h;
	bool v2;

	if (r->n_hugepage_limits == 0)
		return 0;
	h = need(x, "hugetlb", P ".hugepageLimits", &v2, err);
	if (h == NULL)
		return -1;
	for (size_t i = 0; i < r->n_hugepage_limits; i++) {
		const struct oci_hugepage_limit *hl = &r->hugepage_limits[i];
		_cleanup_free_ char *file = NULL, *what = NULL;
		const char *s = hl->page_size;
		char b[32];

		/* The size becomes part of a file name: "2MB", "1GB". */
		if (s == NULL || s[0] == '\0' || strlen(s) > 16 ||
		    strspn(s, "0123456789KMGB") != strlen(s))
			return husk_err_set(err, EINVAL,
					    P ".hugepageLimits[%zu].pageSize:"
					    " invalid",
					    i);
		file = husk_asprintf("hugetlb.%s.%s", s,
				     v2 ? "max" : "limit_in_bytes");
		what = husk_asprintf(P ".hugepageLimits[%zu]", i);
		snprintf(b, sizeof(b), "%" PRIu64, hl->limit);
		if (cg_write(h, x->path, file, b, what, err) < 0)
			return -1;
	}
	return 0;
}

static int apply_network(const struct res_ctx *x, const struct oci_network *n,
			 struct husk_err **err)
{
	const struct cg_hier *h;
	char b[64];

	if (SET_NZ(n->class_id)) {
		h = v1_find(x->l, "net_cls");
		if (h == NULL)
			return husk_err_set(err, ENOTSUP,
					    P ".network.classID: no net_cls "
					    "cgroup controller is mounted");
		snprintf(b, sizeof(b), "%" PRIu64, n->class_id.v);
		if (cg_write(h, x->path, "net_cls.classid", b,
			     P ".network.classID", err) < 0)
			return -1;
	}
	if (n->n_priorities) {
		h = v1_find(x->l, "net_prio");
		if (h == NULL)
			return husk_err_set(err, ENOTSUP,
					    P ".network.priorities: no "
					    "net_prio cgroup controller is "
					    "mounted");
		for (size_t i = 0; i < n->n_priorities; i++) {
			_cleanup_free_ char *v = husk_asprintf(
				"%s %u", n->priorities[i].name,
				n->priorities[i].priority);
			if (strchr(n->priorities[i].name, ' ') ||
			    strchr(n->priorities[i].name, '\n'))
				return husk_err_set(err, EINVAL,
						    P ".network.priorities"
						    "[%zu].name: invalid",
						    i);
			if (cg_write(h, x->path, "net_prio.ifpriomap", v,
				     P ".network.priorities", err) < 0)
				return -1;
		}
	}
	return 0;
}

static int apply_rdma(const struct res_ctx *x, const struct oci_resources *r,
		      struct husk_err **err)
{
	const struct cg_hier *h;
	bool v2;

	if (r->n_rdma == 0)
		return 0;
	h = need(x, "rdma", P ".rdma", &v2, err);
	if (h == NULL)
		return -1;
	for (size_t i = 0; i < r->n_rdma; i++) {
		const struct oci_rdma *d = &r->rdma[i];
		char hh[32] = "max", ho[32] = "max";
		_cleanup_free_ char *v = NULL;

		if (d->device == NULL || d->device[0] == '\0' ||
		    strpbrk(d->device, " \n="))
			return husk_err_set(err, EINVAL,
					    P ".rdma: invalid device name");
		if (d->hca_handles.set)
			snprintf(hh, sizeof(hh), "%" PRIu64, d->hca_handles.v);
		if (d->hca_objects.set)
			snprintf(ho, sizeof(ho), "%" PRIu64, d->hca_objects.v);
		v = husk_asprintf("%s hca_handle=%s hca_object=%s", d->device,
				  hh, ho);
		if (cg_write(h, x->path, "rdma.max", v, P ".rdma", err) < 0)
			return -1;
	}
	return 0;
}

/* linux.resources.unified: "<controller>.<file>" keys of the unified
 * hierarchy, with a value written as is. */
static int apply_unified(const struct res_ctx *x,
			 const struct oci_resources *r, struct husk_err **err)
{
	const struct cg_hier *u = unified(x->l);

	for (size_t i = 0; i < r->n_unified; i++) {
		const char *k = r->unified[i].key, *v = r->unified[i].value;
		_cleanup_free_ char *ctrl = NULL, *what = NULL;
		const char *dot = k ? strchr(k, '.') : NULL;

		what = husk_asprintf(P ".unified[\"%s\"]", k ? k : "");
		if (dot == NULL || dot == k || dot[1] == '\0' ||
		    strchr(k, '/') || strlen(k) > 128 ||
		    strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789._") !=
			    strlen(k))
			return husk_err_set(err, EINVAL,
					    "%s: not a cgroup v2 file name",
					    what);
		if (v == NULL)
			return husk_err_set(err, EINVAL, "%s: missing value",
					    what);
		if (u == NULL)
			return husk_err_set(err, ENOTSUP,
					    "%s: no cgroup v2 hierarchy is "
					    "mounted",
					    what);
		ctrl = husk_asprintf("%.*s", (int)(dot - k), k);
		if (strcmp(ctrl, "cgroup") != 0) {
			if (!v2_has(x->l, ctrl))
				return husk_err_set(err, ENOTSUP,
						    "%s: the %s controller is "
						    "not enabled in %s",
						    what, ctrl, u->mountpoint);
			if (v2_enable(u, x->path, ctrl, err) < 0)
				return -1;
		}
		if (cg_write(u, x->path, k, v, what, err) < 0)
			return -1;
	}
	return 0;
}

int cgroup_apply_resources(const struct cg_layout *l, const char *path,
			   const struct oci_resources *r,
			   struct husk_err **err)
{
	struct res_ctx x = {l, path};

	if (r == NULL)
		return 0;
	/* cpuset before the rest: a v1 cpuset without cpus refuses tasks. */
	if (r->cpu && apply_cpu(&x, r->cpu, err) < 0)
		return -1;
	if (r->memory && apply_memory(&x, r->memory, err) < 0)
		return -1;
	if (r->has_pids && r->pids_limit.set &&
	    apply_pids(&x, r->pids_limit.v, err) < 0)
		return -1;
	if (r->block_io && apply_blkio(&x, r->block_io, err) < 0)
		return -1;
	if (apply_hugetlb(&x, r, err) < 0)
		return -1;
	if (r->network && apply_network(&x, r->network, err) < 0)
		return -1;
	if (apply_rdma(&x, r, err) < 0)
		return -1;
	return apply_unified(&x, r, err);
}
