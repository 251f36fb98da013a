/* The container's cgroup as the agent serves it: pause/resume by freezing
 * the cgroup in the guest (never the vCPUs: a frozen agent could not answer
 * state or kill), stats and update. The cgroup path is the one
 * runtime/linux/ made (linux_container.cgroup_path) on every hierarchy. */
#include "guest-agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "oci/spec.h"

/* The hierarchies of interest, from /proc/self/mountinfo. A v1 one counts
 * only when its root is "/" (the agent is in the root cgroup namespace). */
struct cg_mounts {
	char *v2;
	char *freezer, *memory, *cpuacct, *cpu, *pids, *cpuset;
};

static void cg_mounts_free(struct cg_mounts *m)
{
	free(m->v2);
	free(m->freezer);
	free(m->memory);
	free(m->cpuacct);
	free(m->cpu);
	free(m->pids);
	free(m->cpuset);
}

static bool has_opt(const char *opts, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = opts; p && *p;) {
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

static void set_once(char **slot, const char *mp)
{
	if (*slot == NULL)
		*slot = husk_strdup(mp);
}

static int cg_mounts_read(struct cg_mounts *m, struct husk_err **err)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];

	memset(m, 0, sizeof(*m));
	if (f == NULL)
		return husk_err_sys(err, "open /proc/self/mountinfo");
	while (fgets(line, sizeof(line), f)) {
		char root[1024], mp[1024], *dash, fstype[32], src[256],
			opts[1024];
		dash = strstr(line, " - ");
		if (dash == NULL ||
		    sscanf(line, "%*d %*d %*s %1023s %1023s", root, mp) != 2 ||
		    sscanf(dash + 3, "%31s %255s %1023s", fstype, src, opts) !=
			    3 ||
		    strcmp(root, "/") != 0)
			continue;
		if (strcmp(fstype, "cgroup2") == 0) {
			set_once(&m->v2, mp);
			continue;
		}
		if (strcmp(fstype, "cgroup") != 0)
			continue;
		if (has_opt(opts, "freezer"))
			set_once(&m->freezer, mp);
		if (has_opt(opts, "memory"))
			set_once(&m->memory, mp);
		if (has_opt(opts, "cpuacct"))
			set_once(&m->cpuacct, mp);
		if (has_opt(opts, "cpu"))
			set_once(&m->cpu, mp);
		if (has_opt(opts, "pids"))
			set_once(&m->pids, mp);
		if (has_opt(opts, "cpuset"))
			set_once(&m->cpuset, mp);
	}
	return 0;
}

static char *cg_file(const char *mp, const char *cg, const char *file)
{
	return husk_asprintf("%s%s/%s", mp, cg, file);
}

static bool cg_has(const char *mp, const char *cg, const char *file)
{
	_cleanup_free_ char *p = NULL;

	if (mp == NULL)
		return false;
	p = cg_file(mp, cg, file);
	return access(p, F_OK) == 0;
}

static int cg_read(const char *mp, const char *cg, const char *file,
		   char **out, struct husk_err **err)
{
	_cleanup_free_ char *p = cg_file(mp, cg, file);

	return husk_read_file_at(AT_FDCWD, p, 65536, out, NULL, err);
}

static int cg_write(const char *mp, const char *cg, const char *file,
		    const char *val, struct husk_err **err)
{
	_cleanup_free_ char *p = cg_file(mp, cg, file);
	_cleanup_close_ int fd = open(p, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return husk_err_sys(err, "open %s", p);
	if (husk_write_all(fd, val, strlen(val)) < 0)
		return husk_err_sys(err, "write %s to %s", val, p);
	return 0;
}

/* A number file: "max" (v2) and v1's "unlimited" page-rounded maximum
 * read as 0 (none). */
static int cg_read_u64(const char *mp, const char *cg, const char *file,
		       uint64_t *out, struct husk_err **err)
{
	_cleanup_free_ char *s = NULL;
	unsigned long long v;

	if (cg_read(mp, cg, file, &s, err) < 0)
		return -1;
	if (strncmp(s, "max", 3) == 0) {
		*out = 0;
		return 0;
	}
	if (sscanf(s, "%llu", &v) != 1)
		return husk_err_set(err, EINVAL, "%s%s/%s: not a number", mp,
				    cg, file);
	*out = v >= (unsigned long long)INT64_MAX - 8192 ? 0 : v;
	return 0;
}

static int sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return 0;
}

/* Freezing is asynchronous on both versions: wait (bounded) until the
 * kernel says every task stopped, so `pause` returning means paused. */
static int wait_state(const char *mp, const char *cg, const char *file,
		      const char *want, struct husk_err **err)
{
	for (int i = 0; i < 1000; i++) {
		_cleanup_free_ char *s = NULL;
		if (cg_read(mp, cg, file, &s, err) < 0)
			return -1;
		if (strstr(s, want))
			return 0;
		sleep_ms(5);
	}
	return husk_err_set(err, ETIMEDOUT, "%s%s/%s: not \"%s\" after 5 s",
			    mp, cg, file, want);
}

int agent_cg_enter(const char *cg, struct husk_err **err)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];

	if (f == NULL)
		return husk_err_sys(err, "open /proc/self/mountinfo");
	while (fgets(line, sizeof(line), f)) {
		char root[1024], mp[1024], fstype[32], *dash;
		_cleanup_free_ char *p = NULL;
		_cleanup_close_ int fd = -1;
		dash = strstr(line, " - ");
		if (dash == NULL ||
		    sscanf(line, "%*d %*d %*s %1023s %1023s", root, mp) != 2 ||
		    sscanf(dash + 3, "%31s", fstype) != 1 ||
		    strcmp(root, "/") != 0 ||
		    (strcmp(fstype, "cgroup") != 0 &&
		     strcmp(fstype, "cgroup2") != 0))
			continue;
		p = cg_file(mp, cg, "cgroup.procs");
		fd = open(p, O_WRONLY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			continue; /* a hierarchy the container has no cgroup in */
		if (fd < 0)
			return husk_err_sys(err, "open %s", p);
		if (husk_write_all(fd, "0", 1) < 0)
			return husk_err_sys(err, "write %s", p);
	}
	return 0;
}

int agent_cg_freeze(const char *cg, bool freeze, struct husk_err **err)
{
	struct cg_mounts m;
	int r;

	if (cg_mounts_read(&m, err) < 0)
		return -1;
	if (cg_has(m.freezer, cg, "freezer.state")) {
		r = cg_write(m.freezer, cg, "freezer.state",
			     freeze ? "FROZEN" : "THAWED", err);
		if (r == 0)
			r = wait_state(m.freezer, cg, "freezer.state",
				       freeze ? "FROZEN" : "THAWED", err);
	} else if (cg_has(m.v2, cg, "cgroup.freeze")) {
		r = cg_write(m.v2, cg, "cgroup.freeze", freeze ? "1" : "0",
			     err);
		if (r == 0)
			r = wait_state(m.v2, cg, "cgroup.events",
				       freeze ? "frozen 1" : "frozen 0", err);
	} else {
		r = husk_err_set(err, ENOTSUP,
				 "%s: no freezer (neither a v1 freezer "
				 "hierarchy nor cgroup2's cgroup.freeze)",
				 freeze ? "pause" : "resume");
	}
	cg_mounts_free(&m);
	return r;
}

/* v2 cpu.stat: "usage_usec N". */
static int cpu_v2(const char *mp, const char *cg, uint64_t *ns,
		  struct husk_err **err)
{
	_cleanup_free_ char *s = NULL;
	const char *p;
	unsigned long long us;

	if (cg_read(mp, cg, "cpu.stat", &s, err) < 0)
		return -1;
	p = strstr(s, "usage_usec ");
	if (p == NULL || sscanf(p + 11, "%llu", &us) != 1)
		return husk_err_set(err, EINVAL, "%s%s/cpu.stat: no usage_usec",
				    mp, cg);
	*ns = us * 1000;
	return 0;
}

int agent_cg_stats(const char *cg, struct proto_stats_reply *st,
		   struct husk_err **err)
{
	struct cg_mounts m;
	int r = 0;

	memset(st, 0, sizeof(*st));
	if (cg_mounts_read(&m, err) < 0)
		return -1;
	if (cg_has(m.cpuacct, cg, "cpuacct.usage"))
		r = cg_read_u64(m.cpuacct, cg, "cpuacct.usage",
				&st->cpu_usage_ns, err);
	else if (cg_has(m.v2, cg, "cpu.stat"))
		r = cpu_v2(m.v2, cg, &st->cpu_usage_ns, err);
	if (r == 0 && cg_has(m.memory, cg, "memory.usage_in_bytes"))
		r = cg_read_u64(m.memory, cg, "memory.usage_in_bytes",
				&st->memory_usage, err) < 0 ||
		    cg_read_u64(m.memory, cg, "memory.limit_in_bytes",
				&st->memory_limit, err) < 0 ? -1 : 0;
	else if (r == 0 && cg_has(m.v2, cg, "memory.current"))
		r = cg_read_u64(m.v2, cg, "memory.current", &st->memory_usage,
				err) < 0 ||
		    cg_read_u64(m.v2, cg, "memory.max", &st->memory_limit,
				err) < 0 ? -1 : 0;
	if (r == 0 && cg_has(m.pids, cg, "pids.current"))
		r = cg_read_u64(m.pids, cg, "pids.current", &st->pids_current,
				err) < 0 ||
		    cg_read_u64(m.pids, cg, "pids.max", &st->pids_limit,
				err) < 0 ? -1 : 0;
	else if (r == 0 && cg_has(m.v2, cg, "pids.current"))
		r = cg_read_u64(m.v2, cg, "pids.current", &st->pids_current,
				err) < 0 ||
		    cg_read_u64(m.v2, cg, "pids.max", &st->pids_limit,
				err) < 0 ? -1 : 0;
	cg_mounts_free(&m);
	return r;
}

/* The resources update knows; anything else present is refused by name
 * rather than silently left as it was. */
static int update_check(const struct oci_resources *r, struct husk_err **err)
{
	const char *bad = NULL;

	if (r->n_devices)
		bad = "devices";
	else if (r->block_io)
		bad = "blockIO";
	else if (r->n_hugepage_limits)
		bad = "hugepageLimits";
	else if (r->network)
		bad = "network";
	else if (r->n_rdma)
		bad = "rdma";
	else if (r->n_unified)
		bad = "unified";
	else if (r->memory &&
		 (r->memory->reservation.set || r->memory->swap.set ||
		  r->memory->kernel.set || r->memory->kernel_tcp.set ||
		  r->memory->swappiness.set ||
		  r->memory->disable_oom_killer.set))
		bad = "memory (only memory.limit)";
	else if (r->cpu &&
		 (r->cpu->realtime_period.set || r->cpu->realtime_runtime.set ||
		  r->cpu->burst.set || r->cpu->idle.set))
		bad = "cpu (only shares, quota, period, cpus, mems)";
	if (bad)
		return husk_err_set(err, ENOTSUP,
				    "resources: %s: not supported by "
				    "husk-agent",
				    bad);
	return 0;
}

/* v < 0 writes none, the file's own word for "no limit". */
static int write_num(const char *mp, const char *cg, const char *file,
		     long long v, const char *none, struct husk_err **err)
{
	char buf[32];

	if (v < 0)
		snprintf(buf, sizeof(buf), "%s", none);
	else
		snprintf(buf, sizeof(buf), "%lld", v);
	return cg_write(mp, cg, file, buf, err);
}

static int update_v1(const struct cg_mounts *m, const char *cg,
		     const struct oci_resources *r, struct husk_err **err)
{
	if (r->memory && r->memory->limit.set &&
	    write_num(m->memory, cg, "memory.limit_in_bytes",
		      r->memory->limit.v, "-1", err) < 0)
		return -1;
	if (r->cpu) {
		const struct oci_cpu *c = r->cpu;
		if (c->shares.set &&
		    write_num(m->cpu, cg, "cpu.shares", (long long)c->shares.v,
			      "", err) < 0)
			return -1;
		if (c->period.set &&
		    write_num(m->cpu, cg, "cpu.cfs_period_us",
			      (long long)c->period.v, "", err) < 0)
			return -1;
		if (c->quota.set &&
		    write_num(m->cpu, cg, "cpu.cfs_quota_us", c->quota.v,
			      "-1", err) < 0)
			return -1;
	}
	if (r->has_pids && r->pids_limit.set &&
	    write_num(m->pids, cg, "pids.max",
		      r->pids_limit.v <= 0 ? -1 : r->pids_limit.v, "max", err) < 0)
		return -1;
	return 0;
}

static int update_v2(const struct cg_mounts *m, const char *cg,
		     const struct oci_resources *r, struct husk_err **err)
{
	if (r->memory && r->memory->limit.set &&
	    write_num(m->v2, cg, "memory.max", r->memory->limit.v, "max",
		      err) < 0)
		return -1;
	if (r->cpu) {
		const struct oci_cpu *c = r->cpu;
		if (c->shares.set) {
			/* runc's conversion: [2, 262144] -> [1, 10000] */
			unsigned long long s = c->shares.v < 2 ? 2 :
					       c->shares.v > 262144 ? 262144 :
								      c->shares.v;
			if (write_num(m->v2, cg, "cpu.weight",
				      (long long)(1 + ((s - 2) * 9999) / 262142),
				      "", err) < 0)
				return -1;
		}
		if (c->quota.set || c->period.set) {
			char buf[64];
			long long q = c->quota.set ? c->quota.v : -1;
			unsigned long long p = c->period.set ? c->period.v :
							       100000;
			if (q < 0)
				snprintf(buf, sizeof(buf), "max %llu", p);
			else
				snprintf(buf, sizeof(buf), "%lld %llu", q, p);
			if (cg_write(m->v2, cg, "cpu.max", buf, err) < 0)
				return -1;
		}
	}
	if (r->has_pids && r->pids_limit.set &&
	    write_num(m->v2, cg, "pids.max",
		      r->pids_limit.v <= 0 ? -1 : r->pids_limit.v, "max", err) < 0)
		return -1;
	return 0;
}

int agent_cg_update(const char *cg, const char *json, struct husk_err **err)
{
	struct oci_resources *r = NULL;
	struct cg_mounts m;
	bool v1;
	int ret = -1;

	if (oci_resources_parse(json, strlen(json), &r, err) < 0 ||
	    oci_resources_validate(r, err) < 0) {
		husk_err_prefix(err, "resources");
		goto out;
	}
	if (update_check(r, err) < 0 || cg_mounts_read(&m, err) < 0)
		goto out;
	/* A v1 controller hierarchy, when there is one, is where the limits
	 * live (hybrid hosts mount cgroup2 without controllers). */
	v1 = m.memory || m.cpu || m.pids;
	if (r->cpu && (r->cpu->cpus || r->cpu->mems)) {
		const char *mp = v1 ? m.cpuset : m.v2;
		if (mp == NULL ||
		    (r->cpu->cpus &&
		     cg_write(mp, cg, "cpuset.cpus", r->cpu->cpus, err) < 0) ||
		    (r->cpu->mems &&
		     cg_write(mp, cg, "cpuset.mems", r->cpu->mems, err) < 0)) {
			husk_err_set(err, ENOTSUP, "resources: cpu.cpus: no cpuset "
				     "controller");
			cg_mounts_free(&m);
			goto out;
		}
	}
	ret = v1 ? update_v1(&m, cg, r, err) : update_v2(&m, cg, r, err);
	cg_mounts_free(&m);
out:
	oci_resources_free(r);
	return ret;
}
