/* cgroup placement on v1, hybrid and v2 hosts: layout detection, creation,
 * joining, the v1 devices controller, signalling and removal. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/linux/internal.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* Bounds: a cgroup.procs larger than this is read in several passes. */
#define CG_PROCS_MAX (1u << 20)

/* Undo the octal escapes of /proc/self/mountinfo (\040 for a space). */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				      (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

static bool has_opt(const char *opts, const char *name)
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

void cgroup_layout_free(struct cg_layout *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->h[i].mountpoint);
		free(l->h[i].name);
		free(l->h[i].options);
	}
	free(l->h);
	l->h = NULL;
	l->n = 0;
}

static void layout_add(struct cg_layout *l, const char *mp, const char *opts,
		       bool v2)
{
	struct cg_hier *h;
	const char *slash = strrchr(mp, '/');

	l->h = husk_reallocarray(l->h, l->n + 1, sizeof(*l->h));
	h = &l->h[l->n++];
	h->mountpoint = husk_strdup(mp);
	h->name = husk_strdup(slash ? slash + 1 : mp);
	h->options = husk_strdup(opts);
	h->v2 = v2;
	h->freezer = !v2 && has_opt(opts, "freezer");
	h->cpuset = !v2 && has_opt(opts, "cpuset");
	h->devices = !v2 && has_opt(opts, "devices");
}

int cgroup_layout_detect(struct cg_layout *l, struct husk_err **err)
{
	_cleanup_free_ char *buf = NULL;
	char *line, *save = NULL;
	/* Several mounts of one hierarchy share a device number: keep one. */
	char seen[64][16];
	size_t n_seen = 0;
	struct statfs sfs;

	memset(l, 0, sizeof(*l));
	if (husk_read_file_at(AT_FDCWD, "/proc/self/mountinfo", 16u << 20,
			      &buf, NULL, err) < 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *f[6], *sep, *fstype, *sopts, *p = line;
		bool v2, dup = false;
		int i;

		for (i = 0; i < 6 && p; i++) {
			f[i] = p;
			p = strchr(p, ' ');
			if (p)
				*p++ = '\0';
		}
		if (i < 6 || p == NULL)
			continue;
		/* Optional fields (possibly none) end with a lone "-". */
		if (husk_str_has_prefix(p, "- "))
			fstype = p + 2;
		else if ((sep = strstr(p, " - ")) != NULL)
			fstype = sep + 3;
		else
			continue;
		sopts = strchr(fstype, ' ');
		if (sopts == NULL)
			continue;
		*sopts++ = '\0';
		sopts = strchr(sopts, ' '); /* skip the source */
		if (sopts == NULL)
			continue;
		sopts++;
		v2 = strcmp(fstype, "cgroup2") == 0;
		if (!v2 && strcmp(fstype, "cgroup") != 0)
			continue;
		for (size_t k = 0; k < n_seen; k++)
			dup |= strcmp(seen[k], f[2]) == 0;
		if (dup || n_seen == ARRAY_SIZE(seen) ||
		    strlen(f[2]) >= sizeof(seen[0]))
			continue;
		strcpy(seen[n_seen++], f[2]);
		unescape(f[4]);
		layout_add(l, f[4], sopts, v2);
	}
	if (statfs("/sys/fs/cgroup", &sfs) == 0 &&
	    sfs.f_type == CGROUP2_SUPER_MAGIC) {
		l->mode = CG_V2;
	} else {
		bool any_v1 = false, any_v2 = false;
		for (size_t i = 0; i < l->n; i++) {
			any_v1 |= !l->h[i].v2;
			any_v2 |= l->h[i].v2;
		}
		if (!any_v1 && !any_v2) {
			cgroup_layout_free(l);
			return husk_err_set(err, ENOENT,
					    "cgroups: no cgroup file system "
					    "is mounted");
		}
		l->mode = !any_v1 ? CG_V2 : any_v2 ? CG_HYBRID : CG_V1;
	}
	if (l->mode == CG_V2) {
		/* Only the unified hierarchy counts; stray v1 mounts (such
		 * as a name=systemd one) are left alone as runc does. */
		size_t k = 0;
		for (size_t i = 0; i < l->n; i++) {
			if (l->h[i].v2 && k == 0) {
				l->h[k++] = l->h[i];
			} else {
				free(l->h[i].mountpoint);
				free(l->h[i].name);
				free(l->h[i].options);
			}
		}
		l->n = k;
	}
	return 0;
}

int cgroup_resolve_path(const char *cgroups_path, const char *id, char **out,
			struct husk_err **err)
{
	_cleanup_free_ char *p = NULL;
	char *q, *tok, *save = NULL;
	size_t len = 0;

	if (cgroups_path == NULL || *cgroups_path == '\0')
		p = husk_asprintf("/husk/%s", id);
	else if (cgroups_path[0] == '/')
		p = husk_strdup(cgroups_path);
	else
		p = husk_asprintf("/husk/%s", cgroups_path);
	if (strlen(p) > PATH_MAX / 2)
		return husk_err_set(err, ENAMETOOLONG,
				    "linux.cgroupsPath: too long");
	/* Normalise: drop empty and "." components, refuse "..". */
	q = husk_calloc(strlen(p) + 2, 1);
	for (tok = strtok_r(p, "/", &save); tok;
	     tok = strtok_r(NULL, "/", &save)) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0) {
			free(q);
			return husk_err_set(err, EINVAL,
					    "linux.cgroupsPath: \"..\" is not "
					    "allowed");
		}
		len += (size_t)sprintf(q + len, "/%s", tok);
	}
	if (len == 0) {
		free(q);
		return husk_err_set(err, EINVAL,
				    "linux.cgroupsPath: the root cgroup "
				    "cannot hold a container");
	}
	*out = q;
	return 0;
}

static int write_at(int dirfd, const char *dir, const char *file,
		    const char *data, struct husk_err **err)
{
	_cleanup_close_ int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return husk_err_sys(err, "open %s/%s", dir, file);
	if (husk_write_all(fd, data, strlen(data)) < 0)
		return husk_err_sys(err, "write %s to %s/%s", data, dir, file);
	return 0;
}

/* A new v1 cpuset cgroup starts with empty cpus and mems and refuses tasks:
 * copy them from the parent. */
static int cpuset_init(const char *dir, struct husk_err **err)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	_cleanup_free_ char *parent = husk_strdup(dir);
	char *slash = strrchr(parent, '/');

	if (slash)
		*slash = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *pf = husk_asprintf("%s/%s", parent, files[i]);
		_cleanup_free_ char *cf = husk_asprintf("%s/%s", dir, files[i]);
		_cleanup_free_ char *v = NULL, *cur = NULL;

		if (husk_read_file_at(AT_FDCWD, cf, 4096, &cur, NULL, err) < 0)
			return -1;
		if (cur[0] != '\0' && cur[0] != '\n')
			continue;
		if (husk_read_file_at(AT_FDCWD, pf, 4096, &v, NULL, err) < 0)
			return -1;
		if (husk_write_file_at(AT_FDCWD, cf, v, strlen(v), 0644,
				       err) < 0)
			return -1;
	}
	return 0;
}

static int mkdir_cgroup(const struct cg_hier *h, const char *path,
			struct husk_err **err)
{
	_cleanup_free_ char *full = husk_asprintf("%s%s", h->mountpoint, path);
	size_t base = strlen(h->mountpoint);

	/* mkdir -p, initialising every cpuset level this creates. */
	for (char *s = full + base + 1;; s++) {
		bool end = *s == '\0';
		if (!end && *s != '/')
			continue;
		*s = '\0';
		if (mkdir(full, 0755) == 0) {
			if (h->cpuset && cpuset_init(full, err) < 0)
				return -1;
		} else if (errno != EEXIST) {
			return husk_err_sys(err, "mkdir %s", full);
		}
		if (end)
			break;
		*s = '/';
	}
	return 0;
}

int cgroup_create(const struct cg_layout *l, const char *path,
		  struct husk_err **err)
{
	for (size_t i = 0; i < l->n; i++)
		if (mkdir_cgroup(&l->h[i], path, err) < 0)
			return -1;
	return 0;
}

int cgroup_enter(const struct cg_layout *l, const char *path, pid_t pid,
		 struct husk_err **err)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", (int)pid);
	for (size_t i = 0; i < l->n; i++) {
		_cleanup_free_ char *dir = NULL;
		_cleanup_close_ int fd = -1;

		dir = husk_asprintf("%s%s", l->h[i].mountpoint, path);
		fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return husk_err_sys(err, "open %s", dir);
		if (write_at(fd, dir, "cgroup.procs", buf, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- devices ------------------------------------------------------------ */

static unsigned access_bits(const char *a)
{
	unsigned bits = 0;

	if (a == NULL)
		return 7;
	for (; *a; a++)
		bits |= *a == 'm' ? 1 : *a == 'r' ? 2 : *a == 'w' ? 4 : 0;
	return bits;
}

/* runc's default allow list (libcontainer/specconv AllowedDevices, 1.2):
 * mknod of anything, then the devices every container gets. */
static const struct dev_rule default_rules[] = {
	{true, 'c', -1, -1, 1},  {true, 'b', -1, -1, 1}, {true, 'c', 1, 3, 7},
	{true, 'c', 1, 8, 7},    {true, 'c', 1, 7, 7},   {true, 'c', 5, 0, 7},
	{true, 'c', 1, 5, 7},    {true, 'c', 1, 9, 7},   {true, 'c', 136, -1, 7},
	{true, 'c', 5, 2, 7},
};

int devices_rules_build(const struct oci_resources *r, struct dev_rule **out,
			size_t *n, struct husk_err **err)
{
	size_t ns = r ? r->n_devices : 0, k = 0;
	struct dev_rule *v = husk_calloc(ns + ARRAY_SIZE(default_rules),
					 sizeof(*v));

	for (size_t i = 0; i < ns; i++) {
		const struct oci_device_rule *d = &r->devices[i];
		const char *t = d->type ? d->type : "a";

		if (strlen(t) != 1 || !strchr("abc", t[0])) {
			free(v);
			return husk_err_set(err, EINVAL,
					    "linux.resources.devices[%zu].type: "
					    "must be \"a\", \"b\" or \"c\"",
					    i);
		}
		if (d->access && strspn(d->access, "rwm") != strlen(d->access)) {
			free(v);
			return husk_err_set(err, EINVAL,
					    "linux.resources.devices[%zu].access:"
					    " must be a subset of \"rwm\"",
					    i);
		}
		v[k].allow = d->allow;
		v[k].type = t[0];
		v[k].major = d->major.set ? d->major.v : -1;
		v[k].minor = d->minor.set ? d->minor.v : -1;
		v[k].access = access_bits(d->access);
		if (v[k].major < -1 || v[k].major > UINT32_MAX ||
		    v[k].minor < -1 || v[k].minor > UINT32_MAX) {
			free(v);
			return husk_err_set(err, EINVAL,
					    "linux.resources.devices[%zu]: "
					    "major/minor out of range",
					    i);
		}
		k++;
	}
	memcpy(v + k, default_rules, sizeof(default_rules));
	*n = k + ARRAY_SIZE(default_rules);
	*out = v;
	return 0;
}

static void rule_string(const struct dev_rule *r, char *buf, size_t len)
{
	char maj[24] = "*", min[24] = "*", acc[4];
	size_t k = 0;

	if (r->major >= 0)
		snprintf(maj, sizeof(maj), "%lld", (long long)r->major);
	if (r->minor >= 0)
		snprintf(min, sizeof(min), "%lld", (long long)r->minor);
	if (r->access & 2)
		acc[k++] = 'r';
	if (r->access & 4)
		acc[k++] = 'w';
	if (r->access & 1)
		acc[k++] = 'm';
	acc[k] = '\0';
	snprintf(buf, len, "%c %s:%s %s", r->type, maj, min, acc);
}

static bool rule_is_all(const struct dev_rule *r)
{
	return r->type == 'a' && r->major < 0 && r->minor < 0 && r->access == 7;
}

static int devices_v1(const struct cg_hier *h, const char *path,
		      const struct dev_rule *rules, size_t n,
		      struct husk_err **err)
{
	_cleanup_free_ char *dir = husk_asprintf("%s%s", h->mountpoint, path);
	_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	char buf[80];

	if (dfd < 0)
		return husk_err_sys(err, "open %s", dir);
	/* The list starts as deny-all, as runc's emulator does, so a
	 * config without a deny-all rule still gets only what it allows. */
	if (write_at(dfd, dir, "devices.deny", "a", err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct dev_rule *r = &rules[i];
		const char *file = r->allow ? "devices.allow" : "devices.deny";

		if (r->access == 0)
			continue;
		if (rule_is_all(r))
			snprintf(buf, sizeof(buf), "a");
		else
			rule_string(r, buf, sizeof(buf));
		if (write_at(dfd, dir, file, buf, err) < 0)
			return -1;
	}
	return 0;
}

static int devices_v2(const struct cg_hier *h, const char *path,
		      const struct dev_rule *rules, size_t n,
		      struct husk_err **err)
{
	_cleanup_free_ char *dir = husk_asprintf("%s%s", h->mountpoint, path);
	_cleanup_free_ struct bpf_insn *insns = NULL;
	_cleanup_close_ int dfd = -1, prog = -1;
	size_t n_insns;

	if (devices_bpf_build(rules, n, &insns, &n_insns, err) < 0)
		return -1;
	if (devices_bpf_load(insns, n_insns, &prog, err) < 0)
		return -1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return husk_err_sys(err, "open %s", dir);
	if (devices_bpf_attach(prog, dfd, err) < 0)
		return husk_err_prefix(err, "%s", dir);
	return 0;
}

int cgroup_apply_devices(const struct cg_layout *l, const char *path,
			 const struct oci_resources *r, struct husk_err **err)
{
	_cleanup_free_ struct dev_rule *rules = NULL;
	size_t n;

	if (devices_rules_build(r, &rules, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < l->n; i++) {
		if (l->mode == CG_V2 && l->h[i].v2)
			return devices_v2(&l->h[i], path, rules, n, err);
		if (l->h[i].devices)
			return devices_v1(&l->h[i], path, rules, n, err);
	}
	/* A v1 host without a devices hierarchy cannot apply the rules. */
	return husk_err_set(err, ENOENT,
			    "linux.resources.devices: no devices cgroup "
			    "controller is mounted");
}

/* ---- signalling and removal --------------------------------------------- */

/* The hierarchy whose cgroup.procs lists every process: the unified one
 * when present (hybrid and v2), else the first v1 hierarchy. */
static const struct cg_hier *procs_hier(const struct cg_layout *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->h[i].v2)
			return &l->h[i];
	return l->n ? &l->h[0] : NULL;
}

/* Read the pids of cgroup.procs; a missing cgroup reads as empty. */
static int read_procs(const char *dir, pid_t **pids, size_t *n,
		      struct husk_err **err)
{
	_cleanup_free_ char *file = husk_asprintf("%s/cgroup.procs", dir);
	_cleanup_free_ char *buf = NULL;
	char *tok, *save = NULL;
	struct husk_err *e = NULL;

	*pids = NULL;
	*n = 0;
	if (husk_read_file_at(AT_FDCWD, file, CG_PROCS_MAX, &buf, NULL, &e) <
	    0) {
		if (e->errnum == ENOENT) {
			husk_err_free(&e);
			return 0;
		}
		*err = e;
		return -1;
	}
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

int cgroup_signal_all(const struct cg_layout *l, const char *path, int sig,
		      struct husk_err **err)
{
	const struct cg_hier *h = procs_hier(l);
	_cleanup_free_ char *dir = NULL;
	_cleanup_free_ pid_t *pids = NULL;
	size_t n;

	if (h == NULL)
		return 0;
	dir = husk_asprintf("%s%s", h->mountpoint, path);
	if (sig == SIGKILL && h->v2) {
		_cleanup_close_ int fd = -1;
		_cleanup_free_ char *kill_file =
			husk_asprintf("%s/cgroup.kill", dir);

		fd = open(kill_file, O_WRONLY | O_CLOEXEC);
		if (fd >= 0 && husk_write_all(fd, "1", 1) == 0)
			return 0;
		/* Kernels before 5.14 have no cgroup.kill: fall through. */
	}
	if (read_procs(dir, &pids, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (kill(pids[i], sig) < 0 && errno != ESRCH)
			return husk_err_sys(err, "kill %d", (int)pids[i]);
	return 0;
}

/* SIGKILL every process and block (on pidfds) until each has exited. */
static int kill_and_wait(const char *dir, bool *any, struct husk_err **err)
{
	_cleanup_free_ pid_t *pids = NULL;
	_cleanup_free_ struct pollfd *pfds = NULL;
	size_t n, k = 0;
	int ret = 0;

	*any = false;
	if (read_procs(dir, &pids, &n, err) < 0)
		return -1;
	if (n == 0)
		return 0;
	*any = true;
	pfds = husk_calloc(n, sizeof(*pfds));
	for (size_t i = 0; i < n; i++) {
		int fd = pidfd_open(pids[i], 0);
		if (fd < 0)
			continue; /* already gone */
		if (pidfd_send_signal(fd, SIGKILL, NULL, 0) < 0 &&
		    errno != ESRCH) {
			husk_err_sys(err, "kill %d", (int)pids[i]);
			close(fd);
			ret = -1;
			continue;
		}
		pfds[k].fd = fd;
		pfds[k++].events = POLLIN;
	}
	for (size_t i = 0; i < k && ret == 0; i++) {
		while (poll(&pfds[i], 1, -1) < 0) {
			if (errno != EINTR) {
				ret = husk_err_sys(err, "poll pidfd");
				break;
			}
		}
	}
	for (size_t i = 0; i < k; i++)
		close(pfds[i].fd);
	return ret;
}

static const struct cg_hier *freezer_hier(const struct cg_layout *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->h[i].freezer)
			return &l->h[i];
	return NULL;
}

static int rmdir_retry(const char *dir, struct husk_err **err)
{
	/* The kernel drops an exited task from its cgroup before the pidfd
	 * signals, but a v1 hierarchy may lag behind by a css_set release:
	 * retry EBUSY a bounded number of times without sleeping long. */
	for (int i = 0; i < 1000; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		sched_yield();
	}
	return husk_err_sys(err, "rmdir %s", dir);
}

int cgroup_destroy(const struct cg_layout *l, const char *path,
		   struct husk_err **err)
{
	const struct cg_hier *ph = procs_hier(l), *fz = freezer_hier(l);
	_cleanup_free_ char *pdir = NULL, *fdir = NULL;
	bool any = true, frozen = false;
	int ret = 0;

	if (ph == NULL)
		return 0;
	pdir = husk_asprintf("%s%s", ph->mountpoint, path);
	/* v1: freeze first so nothing forks away between reading the list
	 * and the kills; frozen tasks die once thawed. */
	if (fz && l->mode != CG_V2) {
		struct stat st;
		fdir = husk_asprintf("%s%s", fz->mountpoint, path);
		if (stat(fdir, &st) == 0) {
			_cleanup_close_ int fd = open(fdir, O_PATH | O_CLOEXEC);
			if (fd >= 0 && write_at(fd, fdir, "freezer.state",
						"FROZEN", err) == 0)
				frozen = true;
			husk_err_free(err);
		}
	}
	if (frozen) {
		_cleanup_free_ pid_t *pids = NULL;
		_cleanup_free_ char *d = husk_asprintf("%s%s", fz->mountpoint,
						       path);
		size_t n;
		if (read_procs(d, &pids, &n, err) < 0)
			return -1;
		for (size_t i = 0; i < n; i++)
			kill(pids[i], SIGKILL);
		_cleanup_close_ int fd = open(fdir, O_PATH | O_CLOEXEC);
		if (fd >= 0)
			write_at(fd, fdir, "freezer.state", "THAWED", err);
		husk_err_free(err);
	}
	for (int round = 0; any && round < 100; round++)
		if (kill_and_wait(pdir, &any, err) < 0)
			return -1;
	for (size_t i = 0; i < l->n; i++) {
		_cleanup_free_ char *d = husk_asprintf("%s%s",
						       l->h[i].mountpoint, path);
		/* A v1-only hierarchy may still list a straggler. */
		if (rmdir(d) < 0 && errno == EBUSY) {
			bool a = false;
			if (kill_and_wait(d, &a, err) < 0)
				return -1;
		}
		if (rmdir_retry(d, err) < 0)
			ret = -1;
	}
	return ret;
}
