/* `husk events --stats`: a container's cgroup statistics as runc's
 * events.Stats JSON (types/events.go: cpu, memory, pids, blkio, hugetlb),
 * read from the v1 controllers or the v2 files. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "oci/jsonw.h"
#include "runtime/linux/internal.h"
#include "runtime/linux/linux.h"

/* USER_HZ of cpuacct.stat, and nanoseconds per tick (runc's constants). */
#define CLK_TCK_NS (1000000000ull / 100)
#define STAT_FILE_MAX (1u << 20)

struct st_ctx {
	const struct cg_layout *l;
	const char *path;
	struct jsonw *w;
};

static const struct cg_hier *hier(const struct cg_layout *l, const char *ctrl)
{
	size_t len = strlen(ctrl);

	for (size_t i = 0; i < l->n; i++) {
		const char *o = l->h[i].options;
		if (l->h[i].v2)
			continue;
		for (const char *p = o; p && *p;) {
			const char *e = strchrnul(p, ',');
			if ((size_t)(e - p) == len && strncmp(p, ctrl, len) == 0)
				return &l->h[i];
			p = *e ? e + 1 : e;
		}
	}
	return NULL;
}

static const struct cg_hier *unified_of(const struct cg_layout *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->h[i].v2)
			return &l->h[i];
	return NULL;
}

/* The file's text, or NULL if it cannot be read (a missing controller or
 * file is left out of the stats, as runc does). */
static char *rd(const struct cg_hier *h, const char *path, const char *file)
{
	_cleanup_free_ char *f = NULL;
	struct husk_err *e = NULL;
	char *buf = NULL;

	if (h == NULL)
		return NULL;
	f = husk_asprintf("%s%s/%s", h->mountpoint, path, file);
	if (husk_read_file_at(AT_FDCWD, f, STAT_FILE_MAX, &buf, NULL, &e) < 0) {
		husk_err_free(&e);
		return NULL;
	}
	return buf;
}

/* A single number ("max" reads as 0, runc's "no limit"). */
static bool rd_u64(const struct cg_hier *h, const char *path, const char *file,
		   uint64_t *v)
{
	_cleanup_free_ char *b = rd(h, path, file);

	*v = 0;
	if (b == NULL)
		return false;
	if (husk_str_has_prefix(b, "max"))
		return true;
	*v = strtoull(b, NULL, 10);
	return true;
}

/* The value of "key N" in a flat keyed file. */
static uint64_t kv(const char *buf, const char *key)
{
	size_t len = strlen(key);

	for (const char *p = buf; p && *p;) {
		if (strncmp(p, key, len) == 0 && p[len] == ' ')
			return strtoull(p + len + 1, NULL, 10);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return 0;
}

static void key_u64(struct jsonw *w, const char *k, uint64_t v, bool omit0)
{
	if (omit0 && v == 0)
		return;
	jsonw_key(w, k);
	jsonw_uint(w, v);
}

static void u64_array(struct jsonw *w, const char *k, const char *buf)
{
	char *end;

	if (buf == NULL)
		return;
	jsonw_key(w, k);
	jsonw_begin_array(w);
	for (const char *p = buf;; p = end) {
		uint64_t v = strtoull(p, &end, 10);
		if (end == p)
			break;
		jsonw_uint(w, v);
	}
	jsonw_end_array(w);
}

static void cpu_stats(const struct st_ctx *x, bool v2)
{
	struct jsonw *w = x->w;
	const struct cg_hier *h = v2 ? unified_of(x->l) : hier(x->l, "cpuacct");
	_cleanup_free_ char *stat = NULL, *cstat = NULL, *pc = NULL,
			     *pck = NULL, *pcu = NULL;
	uint64_t total = 0, user = 0, sys = 0;

	if (v2) {
		stat = rd(h, x->path, "cpu.stat");
		if (stat) {
			total = kv(stat, "usage_usec") * 1000;
			user = kv(stat, "user_usec") * 1000;
			sys = kv(stat, "system_usec") * 1000;
		}
	} else {
		rd_u64(h, x->path, "cpuacct.usage", &total);
		stat = rd(h, x->path, "cpuacct.stat");
		if (stat) {
			user = kv(stat, "user") * CLK_TCK_NS;
			sys = kv(stat, "system") * CLK_TCK_NS;
		}
		pc = rd(h, x->path, "cpuacct.usage_percpu");
		pck = rd(h, x->path, "cpuacct.usage_percpu_sys");
		pcu = rd(h, x->path, "cpuacct.usage_percpu_user");
		cstat = rd(hier(x->l, "cpu"), x->path, "cpu.stat");
	}
	jsonw_key(w, "cpu");
	jsonw_begin_object(w);
	jsonw_key(w, "usage");
	jsonw_begin_object(w);
	key_u64(w, "total", total, true);
	u64_array(w, "percpu", pc);
	u64_array(w, "percpu_kernel", pck);
	u64_array(w, "percpu_user", pcu);
	key_u64(w, "kernel", sys, false);
	key_u64(w, "user", user, false);
	jsonw_end_object(w);
	jsonw_key(w, "throttling");
	jsonw_begin_object(w);
	if (v2 ? stat != NULL : cstat != NULL) {
		const char *s = v2 ? stat : cstat;
		key_u64(w, "periods", kv(s, "nr_periods"), true);
		key_u64(w, "throttled_periods", kv(s, "nr_throttled"), true);
		key_u64(w, "throttled_time",
			v2 ? kv(s, "throttled_usec") * 1000
			   : kv(s, "throttled_time"),
			true);
	}
	jsonw_end_object(w);
	jsonw_end_object(w);
}

static void mem_entry(const struct st_ctx *x, const struct cg_hier *h,
		      const char *k, const char *prefix)
{
	struct jsonw *w = x->w;
	_cleanup_free_ char *fu = husk_asprintf("%s.usage_in_bytes", prefix);
	_cleanup_free_ char *fm = husk_asprintf("%s.max_usage_in_bytes", prefix);
	_cleanup_free_ char *fl = husk_asprintf("%s.limit_in_bytes", prefix);
	_cleanup_free_ char *ff = husk_asprintf("%s.failcnt", prefix);
	uint64_t u, m, lim, f;

	if (!rd_u64(h, x->path, fu, &u))
		return;
	rd_u64(h, x->path, fm, &m);
	rd_u64(h, x->path, fl, &lim);
	rd_u64(h, x->path, ff, &f);
	jsonw_key(w, k);
	jsonw_begin_object(w);
	key_u64(w, "limit", lim, false);
	key_u64(w, "usage", u, true);
	key_u64(w, "max", m, true);
	key_u64(w, "failcnt", f, false);
	jsonw_end_object(w);
}

static void raw_map(struct jsonw *w, char *stat)
{
	char *line, *save = NULL;

	jsonw_key(w, "raw");
	jsonw_begin_object(w);
	for (line = strtok_r(stat, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		if (sp == NULL)
			continue;
		*sp = '\0';
		jsonw_key(w, line);
		jsonw_uint(w, strtoull(sp + 1, NULL, 10));
	}
	jsonw_end_object(w);
}

static void memory_stats(const struct st_ctx *x, bool v2)
{
	struct jsonw *w = x->w;
	const struct cg_hier *h = v2 ? unified_of(x->l) : hier(x->l, "memory");
	_cleanup_free_ char *stat = rd(h, x->path, "memory.stat");
	uint64_t v;

	jsonw_key(w, "memory");
	jsonw_begin_object(w);
	if (stat)
		key_u64(w, "cache", kv(stat, v2 ? "file" : "cache"), true);
	if (v2) {
		if (rd_u64(h, x->path, "memory.current", &v)) {
			uint64_t lim = 0, peak = 0;
			rd_u64(h, x->path, "memory.max", &lim);
			rd_u64(h, x->path, "memory.peak", &peak);
			jsonw_key(w, "usage");
			jsonw_begin_object(w);
			key_u64(w, "limit", lim, false);
			key_u64(w, "usage", v, true);
			key_u64(w, "max", peak, true);
			key_u64(w, "failcnt", 0, false);
			jsonw_end_object(w);
		}
		if (rd_u64(h, x->path, "memory.swap.current", &v)) {
			uint64_t lim = 0;
			rd_u64(h, x->path, "memory.swap.max", &lim);
			jsonw_key(w, "swap");
			jsonw_begin_object(w);
			key_u64(w, "limit", lim, false);
			key_u64(w, "usage", v, true);
			key_u64(w, "failcnt", 0, false);
			jsonw_end_object(w);
		}
	} else {
		mem_entry(x, h, "usage", "memory");
		mem_entry(x, h, "swap", "memory.memsw");
		mem_entry(x, h, "kernel", "memory.kmem");
		mem_entry(x, h, "kernelTCP", "memory.kmem.tcp");
	}
	if (stat)
		raw_map(w, stat);
	jsonw_end_object(w);
}

static void pids_stats(const struct st_ctx *x, bool v2)
{
	struct jsonw *w = x->w;
	const struct cg_hier *h = v2 ? unified_of(x->l) : hier(x->l, "pids");
	uint64_t cur = 0, lim = 0;

	rd_u64(h, x->path, "pids.current", &cur);
	rd_u64(h, x->path, "pids.max", &lim);
	jsonw_key(w, "pids");
	jsonw_begin_object(w);
	key_u64(w, "current", cur, true);
	key_u64(w, "limit", lim, true);
	jsonw_end_object(w);
}

/* v1 "MAJ:MIN Op N" lines as runc's BlkioEntry list. */
static void blkio_list(struct jsonw *w, const char *k, char *buf)
{
	char *line, *save = NULL;
	bool any = false;

	if (buf == NULL)
		return;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned maj, min;
		char op[16];
		unsigned long long v;
		if (sscanf(line, "%u:%u %15s %llu", &maj, &min, op, &v) != 4)
			continue;
		if (!any) {
			jsonw_key(w, k);
			jsonw_begin_array(w);
			any = true;
		}
		jsonw_begin_object(w);
		jsonw_key(w, "major");
		jsonw_uint(w, maj);
		jsonw_key(w, "minor");
		jsonw_uint(w, min);
		jsonw_key(w, "op");
		jsonw_string(w, op);
		jsonw_key(w, "value");
		jsonw_uint(w, v);
		jsonw_end_object(w);
	}
	if (any)
		jsonw_end_array(w);
}

static void blkio_stats(const struct st_ctx *x, bool v2)
{
	struct jsonw *w = x->w;

	jsonw_key(w, "blkio");
	jsonw_begin_object(w);
	if (!v2) {
		const struct cg_hier *h = hier(x->l, "blkio");
		_cleanup_free_ char *b = rd(h, x->path,
				"blkio.throttle.io_service_bytes_recursive");
		_cleanup_free_ char *s = rd(h, x->path,
				"blkio.throttle.io_serviced_recursive");
		blkio_list(w, "ioServiceBytesRecursive", b);
		blkio_list(w, "ioServicedRecursive", s);
	}
	jsonw_end_object(w);
}

static void hugetlb_stats(const struct st_ctx *x, bool v2)
{
	struct jsonw *w = x->w;
	const struct cg_hier *h = hier(x->l, "hugetlb");
	static const char *const sizes[] = {"2MB", "1GB"};

	if (h == NULL && (v2 || x->l->mode == CG_HYBRID)) {
		h = unified_of(x->l);
		v2 = true;
	}
	jsonw_key(w, "hugetlb");
	jsonw_begin_object(w);
	for (size_t i = 0; h && i < ARRAY_SIZE(sizes); i++) {
		_cleanup_free_ char *fu = husk_asprintf(
			"hugetlb.%s.%s", sizes[i],
			v2 ? "current" : "usage_in_bytes");
		_cleanup_free_ char *fm = husk_asprintf(
			"hugetlb.%s.max_usage_in_bytes", sizes[i]);
		_cleanup_free_ char *ff = husk_asprintf(
			"hugetlb.%s.%s", sizes[i], v2 ? "events" : "failcnt");
		_cleanup_free_ char *ev = NULL;
		uint64_t u, m = 0, f = 0;

		if (!rd_u64(h, x->path, fu, &u))
			continue;
		if (v2) {
			ev = rd(h, x->path, ff);
			f = ev ? kv(ev, "max") : 0;
		} else {
			rd_u64(h, x->path, fm, &m);
			rd_u64(h, x->path, ff, &f);
		}
		jsonw_key(w, sizes[i]);
		jsonw_begin_object(w);
		key_u64(w, "usage", u, true);
		key_u64(w, "max", m, true);
		key_u64(w, "failcnt", f, false);
		jsonw_end_object(w);
	}
	jsonw_end_object(w);
}

int linux_container_stats_json(const struct linux_container *c,
			       const char *id, char **out,
			       struct husk_err **err)
{
	struct cg_layout l;
	struct jsonw w;
	struct st_ctx x = {&l, c->cgroup_path, &w};
	bool v2;

	if (c->cgroup_path == NULL)
		return husk_err_set(err, ENOENT, "container has no cgroup");
	if (cgroup_layout_detect(&l, err) < 0)
		return -1;
	v2 = l.mode == CG_V2;
	jsonw_init(&w, NULL);
	jsonw_begin_object(&w);
	jsonw_key(&w, "type");
	jsonw_string(&w, "stats");
	jsonw_key(&w, "id");
	jsonw_string(&w, id);
	jsonw_key(&w, "data");
	jsonw_begin_object(&w);
	cpu_stats(&x, v2);
	memory_stats(&x, v2);
	pids_stats(&x, v2);
	blkio_stats(&x, v2);
	hugetlb_stats(&x, v2);
	jsonw_end_object(&w);
	jsonw_end_object(&w);
	*out = jsonw_take(&w);
	cgroup_layout_free(&l);
	return 0;
}

int linux_container_oom_kills(const struct linux_container *c, uint64_t *n,
			      struct husk_err **err)
{
	struct cg_layout l;
	const struct cg_hier *h;
	_cleanup_free_ char *buf = NULL;
	bool v2;

	*n = 0;
	if (c->cgroup_path == NULL)
		return husk_err_set(err, ENOENT, "container has no cgroup");
	if (cgroup_layout_detect(&l, err) < 0)
		return -1;
	v2 = l.mode == CG_V2;
	h = v2 ? unified_of(&l) : hier(&l, "memory");
	/* v1 counts in memory.oom_control, v2 in memory.events. */
	buf = rd(h, c->cgroup_path, v2 ? "memory.events" : "memory.oom_control");
	if (buf)
		*n = kv(buf, "oom_kill");
	cgroup_layout_free(&l);
	return 0;
}
