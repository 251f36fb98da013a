/* Semantic checks of a parsed config.json (runtime-spec config.md and
 * config-linux.md): required fields, enumerations, absolute paths, ranges,
 * and the cross-field rules runc enforces. Each message names the JSON path. */
#include "oci/spec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/resource.h>

#include "common/util.h"

/* ---- name tables ------------------------------------------------------------ */

static const char *const ns_list[] = {
	"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time", NULL,
};

static const struct {
	const char *name;
	int value;
} rlimit_tab[] = {
	{"RLIMIT_AS", RLIMIT_AS},
	{"RLIMIT_CORE", RLIMIT_CORE},
	{"RLIMIT_CPU", RLIMIT_CPU},
	{"RLIMIT_DATA", RLIMIT_DATA},
	{"RLIMIT_FSIZE", RLIMIT_FSIZE},
	{"RLIMIT_LOCKS", RLIMIT_LOCKS},
	{"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
	{"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
	{"RLIMIT_NICE", RLIMIT_NICE},
	{"RLIMIT_NOFILE", RLIMIT_NOFILE},
	{"RLIMIT_NPROC", RLIMIT_NPROC},
	{"RLIMIT_RSS", RLIMIT_RSS},
	{"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
	{"RLIMIT_RTTIME", RLIMIT_RTTIME},
	{"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
	{"RLIMIT_STACK", RLIMIT_STACK},
};

static const char *const rlimit_list[] = {
	"RLIMIT_AS",	 "RLIMIT_CORE",	    "RLIMIT_CPU",    "RLIMIT_DATA",
	"RLIMIT_FSIZE",	 "RLIMIT_LOCKS",    "RLIMIT_MEMLOCK",
	"RLIMIT_MSGQUEUE", "RLIMIT_NICE",   "RLIMIT_NOFILE", "RLIMIT_NPROC",
	"RLIMIT_RSS",	 "RLIMIT_RTPRIO",   "RLIMIT_RTTIME",
	"RLIMIT_SIGPENDING", "RLIMIT_STACK", NULL,
};

static const char *const seccomp_actions[] = {
	"SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
	"SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",	   "SCMP_ACT_TRACE",
	"SCMP_ACT_ALLOW", "SCMP_ACT_LOG",	   "SCMP_ACT_NOTIFY",
	NULL,
};

static const char *const seccomp_ops[] = {
	"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",	    "SCMP_CMP_EQ",
	"SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", NULL,
};

static const char *const seccomp_archs[] = {
	"SCMP_ARCH_X86",	 "SCMP_ARCH_X86_64",	"SCMP_ARCH_X32",
	"SCMP_ARCH_ARM",	 "SCMP_ARCH_AARCH64",	"SCMP_ARCH_MIPS",
	"SCMP_ARCH_MIPS64",	 "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
	"SCMP_ARCH_MIPSEL64",	 "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
	"SCMP_ARCH_PPC64",	 "SCMP_ARCH_PPC64LE",	"SCMP_ARCH_S390",
	"SCMP_ARCH_S390X",	 "SCMP_ARCH_PARISC",	"SCMP_ARCH_PARISC64",
	"SCMP_ARCH_RISCV64",	 "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",
	"SCMP_ARCH_SH",		 "SCMP_ARCH_SHEB",	NULL,
};

static const char *const seccomp_flags[] = {
	"SECCOMP_FILTER_FLAG_TSYNC",
	"SECCOMP_FILTER_FLAG_LOG",
	"SECCOMP_FILTER_FLAG_SPEC_ALLOW",
	"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
	NULL,
};

static const char *const propagations[] = {
	"shared",   "slave",   "private",    "rshared", "rslave",
	"rprivate", "unbindable", "runbindable", NULL,
};

static const char *const ioprio_classes[] = {
	"IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE", NULL,
};

static const char *const sched_policies[] = {
	"SCHED_OTHER", "SCHED_FIFO", "SCHED_RR",       "SCHED_BATCH",
	"SCHED_ISO",   "SCHED_IDLE", "SCHED_DEADLINE", NULL,
};

static const char *const sched_flags[] = {
	"SCHED_FLAG_RESET_ON_FORK",  "SCHED_FLAG_RECLAIM",
	"SCHED_FLAG_DL_OVERRUN",     "SCHED_FLAG_KEEP_POLICY",
	"SCHED_FLAG_KEEP_PARAMS",    "SCHED_FLAG_UTIL_CLAMP_MIN",
	"SCHED_FLAG_UTIL_CLAMP_MAX", NULL,
};

static const char *const personality_domains[] = {"LINUX", "LINUX32", NULL};

static const char *const mpol_modes[] = {
	"MPOL_DEFAULT",	      "MPOL_BIND",	"MPOL_INTERLEAVE",
	"MPOL_WEIGHTED_INTERLEAVE", "MPOL_PREFERRED", "MPOL_PREFERRED_MANY",
	"MPOL_LOCAL",	      NULL,
};

static const char *const mpol_flags[] = {
	"MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES",
	"MPOL_F_STATIC_NODES", NULL,
};

static bool in_list(const char *const *list, const char *s)
{
	if (s == NULL)
		return false;
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

const char *const *oci_known_names(enum oci_name_list which, size_t *n)
{
	static const char *const *const lists[OCI_NAMES_COUNT] = {
		[OCI_NAMES_NAMESPACES] = ns_list,
		[OCI_NAMES_RLIMITS] = rlimit_list,
		[OCI_NAMES_SECCOMP_ACTIONS] = seccomp_actions,
		[OCI_NAMES_SECCOMP_OPERATORS] = seccomp_ops,
		[OCI_NAMES_SECCOMP_ARCHS] = seccomp_archs,
		[OCI_NAMES_SECCOMP_FLAGS] = seccomp_flags,
		[OCI_NAMES_PROPAGATIONS] = propagations,
	};
	const char *const *l;
	size_t k = 0;

	if ((unsigned)which >= OCI_NAMES_COUNT) {
		if (n)
			*n = 0;
		return NULL;
	}
	l = lists[which];
	while (l[k])
		k++;
	if (n)
		*n = k;
	return l;
}

int oci_rlimit_from_name(const char *name)
{
	if (name == NULL)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(rlimit_tab); i++)
		if (strcmp(rlimit_tab[i].name, name) == 0)
			return rlimit_tab[i].value;
	return -1;
}

/* ---- helpers ---------------------------------------------------------------- */

static int verr(struct husk_err **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int verr(struct husk_err **err, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return husk_err_set(err, EINVAL, "%s", msg);
}

/* Values echoed in messages are cut short: they come from the config. */
#define Q "\"%.128s\""
/* a map member in a path: linux.sysctl["net.ipv4.ip_forward"] */
#define K "[\"%.128s\"]"

static bool is_abs(const char *p)
{
	return p && p[0] == '/';
}

/* A name used as one path component (a cgroup file, a resctrl group). */
static bool is_file_name(const char *s)
{
	return s && s[0] && strchr(s, '/') == NULL && strcmp(s, ".") &&
	       strcmp(s, "..");
}

static bool has_ctl_or_space(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return true;
	return false;
}

/* dev_valid_name() in net/core/dev.c */
static bool is_ifname(const char *s)
{
	return s && s[0] && strlen(s) < 16 && strcmp(s, ".") &&
	       strcmp(s, "..") && !strchr(s, '/') && !strchr(s, ':') &&
	       !has_ctl_or_space(s);
}

/* "0-3,7": the list syntax of cpusets and of NUMA node lists. */
static bool is_cpu_list(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (;;) {
		char *end;
		unsigned long a, b;

		if (*s < '0' || *s > '9')
			return false;
		a = strtoul(s, &end, 10);
		s = end;
		if (*s == '-') {
			s++;
			if (*s < '0' || *s > '9')
				return false;
			b = strtoul(s, &end, 10);
			s = end;
			if (b < a)
				return false;
		}
		if (*s == '\0')
			return true;
		if (*s != ',')
			return false;
		s++;
	}
}

static bool has_dotdot_component(const char *s)
{
	const char *p = s;

	while ((p = strstr(p, "..")) != NULL) {
		bool start = p == s || p[-1] == '/';
		bool end = p[2] == '\0' || p[2] == '/';

		if (start && end)
			return true;
		p += 2;
	}
	return false;
}

/* ---- version ----------------------------------------------------------------- */

/* Any 1.x.y release or pre-release from 1.0.0 to 1.3.x: the fields of
 * those versions are what spec.c knows. */
static bool version_supported(const char *v)
{
	char *end;
	unsigned long minor;

	if (strncmp(v, "1.", 2) != 0)
		return false;
	v += 2;
	if (*v < '0' || *v > '9')
		return false;
	minor = strtoul(v, &end, 10);
	if (minor > 3 || (v[0] == '0' && end - v > 1) || *end != '.')
		return false;
	v = end + 1;
	if (*v < '0' || *v > '9')
		return false;
	while (*v >= '0' && *v <= '9')
		v++;
	if (*v == '\0')
		return true;
	if (*v != '-' && *v != '+')
		return false;
	if (v[1] == '\0')
		return false;
	for (v++; *v; v++)
		if (!(*v == '.' || *v == '-' || *v == '+' ||
		      (*v >= '0' && *v <= '9') || (*v >= 'a' && *v <= 'z') ||
		      (*v >= 'A' && *v <= 'Z')))
			return false;
	return true;
}

/* ---- process ----------------------------------------------------------------- */

static int check_env(const struct oci_strv *env, const char *where,
		     struct husk_err **err)
{
	for (size_t i = 0; i < env->n; i++) {
		const char *e = env->v[i];

		if (e == NULL || e[0] == '=' || strchr(e, '=') == NULL)
			return verr(err, "%s[%zu]: must be of the form NAME=value",
				    where, i);
	}
	return 0;
}

static int check_cap_set(const struct oci_strv *s, const char *set,
			 struct husk_err **err)
{
	for (size_t i = 0; i < s->n; i++) {
		const char *c = s->v[i];
		cap_value_t val;
		bool ok = c && strncmp(c, "CAP_", 4) == 0;

		/* cap_from_name() also takes lowercase names and numbers;
		 * the spec's names are the kernel's, in capitals */
		for (const char *q = c; ok && *q; q++)
			if (!((*q >= 'A' && *q <= 'Z') || *q == '_' ||
			      (*q >= '0' && *q <= '9')))
				ok = false;
		if (!ok || cap_from_name(c, &val) < 0)
			return verr(err,
				    "process.capabilities.%s[%zu]: unknown capability " Q,
				    set, i, c ? c : "");
	}
	return 0;
}

static int check_rlimits(struct oci_process *p, struct husk_err **err)
{
	uint32_t seen = 0;

	for (size_t i = 0; i < p->n_rlimits; i++) {
		struct oci_rlimit *r = &p->rlimits[i];
		int res = oci_rlimit_from_name(r->type);

		if (r->type == NULL)
			return verr(err, "process.rlimits[%zu].type: must be set",
				    i);
		if (res < 0 || res >= 32)
			return verr(err,
				    "process.rlimits[%zu].type: unknown rlimit " Q,
				    i, r->type);
		if (seen & (1u << res))
			return verr(err,
				    "process.rlimits[%zu].type: duplicate rlimit " Q,
				    i, r->type);
		seen |= 1u << res;
		if (r->soft > r->hard)
			return verr(err,
				    "process.rlimits[%zu]: soft limit %" PRIu64
				    " is above hard limit %" PRIu64,
				    i, r->soft, r->hard);
		r->resource = res;
	}
	return 0;
}

static int check_scheduler(const struct oci_scheduler *s,
			   struct husk_err **err)
{
	const char *w = "process.scheduler";

	if (s->policy == NULL)
		return verr(err, "%s.policy: must be set", w);
	if (!in_list(sched_policies, s->policy))
		return verr(err, "%s.policy: unknown policy " Q, w, s->policy);
	if (s->nice.set && (s->nice.v < -20 || s->nice.v > 19))
		return verr(err, "%s.nice: must be in [-20, 19]", w);
	if (s->priority.set && s->priority.v != 0) {
		bool rt = !strcmp(s->policy, "SCHED_FIFO") ||
			  !strcmp(s->policy, "SCHED_RR");
		if (!rt)
			return verr(err,
				    "%s.priority: only SCHED_FIFO and SCHED_RR take a priority",
				    w);
		if (s->priority.v < 1 || s->priority.v > 99)
			return verr(err, "%s.priority: must be in [1, 99]", w);
	}
	for (size_t i = 0; i < s->flags.n; i++)
		if (!in_list(sched_flags, s->flags.v[i]))
			return verr(err, "%s.flags[%zu]: unknown flag " Q, w, i,
				    s->flags.v[i]);
	return 0;
}

static int check_process(struct oci_process *p, struct husk_err **err)
{
	if (p->args.n == 0)
		return verr(err, "process.args: must be a non-empty array");
	if (!is_abs(p->cwd))
		return verr(err, "process.cwd: must be an absolute path");
	if (check_env(&p->env, "process.env", err) < 0)
		return -1;
	/* NGROUPS_MAX of the kernel (setgroups(2)) */
	if (p->user.n_additional_gids > 65536)
		return verr(err,
			    "process.user.additionalGids: more than 65536 groups");
	if (p->user.umask.set && p->user.umask.v > 0777)
		return verr(err, "process.user.umask: must be in [0, 0777]");
	if (p->capabilities) {
		struct oci_caps *c = p->capabilities;

		if (check_cap_set(&c->bounding, "bounding", err) < 0 ||
		    check_cap_set(&c->effective, "effective", err) < 0 ||
		    check_cap_set(&c->inheritable, "inheritable", err) < 0 ||
		    check_cap_set(&c->permitted, "permitted", err) < 0 ||
		    check_cap_set(&c->ambient, "ambient", err) < 0)
			return -1;
	}
	if (check_rlimits(p, err) < 0)
		return -1;
	if (p->oom_score_adj.set &&
	    (p->oom_score_adj.v < -1000 || p->oom_score_adj.v > 1000))
		return verr(err, "process.oomScoreAdj: must be in [-1000, 1000]");
	if (p->io_priority) {
		if (p->io_priority->class == NULL)
			return verr(err, "process.ioPriority.class: must be set");
		if (!in_list(ioprio_classes, p->io_priority->class))
			return verr(err,
				    "process.ioPriority.class: unknown class " Q,
				    p->io_priority->class);
		if (p->io_priority->priority < 0 ||
		    p->io_priority->priority > 7)
			return verr(err,
				    "process.ioPriority.priority: must be in [0, 7]");
	}
	if (p->scheduler && check_scheduler(p->scheduler, err) < 0)
		return -1;
	if (p->exec_cpu_affinity) {
		const char *a = p->exec_cpu_affinity->initial;
		const char *b = p->exec_cpu_affinity->final;

		if (a && !is_cpu_list(a))
			return verr(err,
				    "process.execCPUAffinity.initial: invalid CPU list " Q,
				    a);
		if (b && !is_cpu_list(b))
			return verr(err,
				    "process.execCPUAffinity.final: invalid CPU list " Q,
				    b);
	}
	return 0;
}

/* ---- mounts, hooks ----------------------------------------------------------- */

static int check_idmaps(const struct oci_id_mapping *m, size_t n,
			const char *where, struct husk_err **err)
{
	/* /proc/<pid>/uid_map takes at most 340 lines (user_namespaces(7)) */
	if (n > 340)
		return verr(err, "%s: more than 340 mappings", where);
	for (size_t i = 0; i < n; i++) {
		if (m[i].size == 0)
			return verr(err, "%s[%zu].size: must be > 0", where, i);
		if ((uint64_t)m[i].container_id + m[i].size > 1ull << 32 ||
		    (uint64_t)m[i].host_id + m[i].size > 1ull << 32)
			return verr(err, "%s[%zu]: range goes past 4294967295",
				    where, i);
	}
	return 0;
}

static int check_mounts(const struct oci_spec *s, struct husk_err **err)
{
	char where[64];

	for (size_t i = 0; i < s->n_mounts; i++) {
		const struct oci_mount *m = &s->mounts[i];

		if (!is_abs(m->destination))
			return verr(err,
				    "mounts[%zu].destination: must be an absolute path",
				    i);
		if (!m->uid_mappings != !m->gid_mappings)
			return verr(err,
				    "mounts[%zu]: uidMappings and gidMappings must be set together",
				    i);
		snprintf(where, sizeof(where), "mounts[%zu].uidMappings", i);
		if (check_idmaps(m->uid_mappings, m->n_uid_mappings, where,
				 err) < 0)
			return -1;
		snprintf(where, sizeof(where), "mounts[%zu].gidMappings", i);
		if (check_idmaps(m->gid_mappings, m->n_gid_mappings, where,
				 err) < 0)
			return -1;
	}
	return 0;
}

static int check_hook_list(const struct oci_hook_list *l, const char *name,
			   struct husk_err **err)
{
	char where[64];

	for (size_t i = 0; i < l->n; i++) {
		const struct oci_hook *h = &l->v[i];

		if (!is_abs(h->path))
			return verr(err,
				    "hooks.%s[%zu].path: must be an absolute path",
				    name, i);
		if (h->timeout.set && h->timeout.v <= 0)
			return verr(err, "hooks.%s[%zu].timeout: must be > 0",
				    name, i);
		snprintf(where, sizeof(where), "hooks.%s[%zu].env", name, i);
		if (check_env(&h->env, where, err) < 0)
			return -1;
	}
	return 0;
}

static int check_hooks(const struct oci_hooks *h, struct husk_err **err)
{
	if (check_hook_list(&h->prestart, "prestart", err) < 0 ||
	    check_hook_list(&h->create_runtime, "createRuntime", err) < 0 ||
	    check_hook_list(&h->create_container, "createContainer", err) < 0 ||
	    check_hook_list(&h->start_container, "startContainer", err) < 0 ||
	    check_hook_list(&h->poststart, "poststart", err) < 0 ||
	    check_hook_list(&h->poststop, "poststop", err) < 0)
		return -1;
	return 0;
}

/* ---- resources --------------------------------------------------------------- */

/* "2MB", "64KB", "1GB": the name becomes part of a hugetlb.<size>.* file
 * name, so nothing else may pass. */
static bool is_page_size(const char *s)
{
	size_t d = strspn(s, "0123456789");

	if (d == 0 || d > 20)
		return false;
	s += d;
	if (*s == 'K' || *s == 'M' || *s == 'G' || *s == 'T' || *s == 'P')
		s++;
	return strcmp(s, "B") == 0;
}

static int check_resources(const struct oci_resources *r, const char *pre,
			   struct husk_err **err)
{
	for (size_t i = 0; i < r->n_devices; i++) {
		const struct oci_device_rule *d = &r->devices[i];

		if (d->type && strcmp(d->type, "a") && strcmp(d->type, "b") &&
		    strcmp(d->type, "c"))
			return verr(err,
				    "%sdevices[%zu].type: must be one of \"a\", \"b\", \"c\"",
				    pre, i);
		if (d->access && d->access[strspn(d->access, "rwm")] != '\0')
			return verr(err,
				    "%sdevices[%zu].access: must consist of the letters \"r\", \"w\", \"m\"",
				    pre, i);
	}
	if (r->memory && r->memory->swappiness.set &&
	    r->memory->swappiness.v > 100)
		return verr(err, "%smemory.swappiness: must be in [0, 100]", pre);
	if (r->cpu) {
		if (r->cpu->cpus && r->cpu->cpus[0] &&
		    !is_cpu_list(r->cpu->cpus))
			return verr(err, "%scpu.cpus: invalid CPU list " Q, pre,
				    r->cpu->cpus);
		if (r->cpu->mems && r->cpu->mems[0] &&
		    !is_cpu_list(r->cpu->mems))
			return verr(err, "%scpu.mems: invalid node list " Q, pre,
				    r->cpu->mems);
	}
	for (size_t i = 0; i < r->n_hugepage_limits; i++) {
		const char *ps = r->hugepage_limits[i].page_size;

		if (ps == NULL)
			return verr(err,
				    "%shugepageLimits[%zu].pageSize: must be set",
				    pre, i);
		if (!is_page_size(ps))
			return verr(err,
				    "%shugepageLimits[%zu].pageSize: invalid page size " Q,
				    pre, i, ps);
	}
	if (r->network)
		for (size_t i = 0; i < r->network->n_priorities; i++)
			if (!is_ifname(r->network->priorities[i].name))
				return verr(err,
					    "%snetwork.priorities[%zu].name: invalid interface name",
					    pre, i);
	for (size_t i = 0; i < r->n_rdma; i++)
		if (!r->rdma[i].device[0] || has_ctl_or_space(r->rdma[i].device))
			return verr(err, "%srdma" K ": invalid device name", pre,
				    r->rdma[i].device);
	for (size_t i = 0; i < r->n_unified; i++)
		if (!is_file_name(r->unified[i].key))
			return verr(err,
				    "%sunified" K ": invalid cgroup file name", pre,
				    r->unified[i].key);
	return 0;
}

int oci_resources_validate(const struct oci_resources *r,
			   struct husk_err **err)
{
	return r ? check_resources(r, "", err) : 0;
}

/* ---- linux ------------------------------------------------------------------- */

static int check_namespaces(struct oci_linux *l, bool *have,
			    struct husk_err **err)
{
	for (size_t i = 0; i < l->n_namespaces; i++) {
		struct oci_namespace *ns = &l->namespaces[i];

		if (ns->type_name == NULL)
			return verr(err, "linux.namespaces[%zu].type: must be set",
				    i);
		if ((unsigned)ns->type >= OCI_NS_COUNT)
			return verr(err,
				    "linux.namespaces[%zu].type: unknown namespace type " Q,
				    i, ns->type_name);
		if (have[ns->type])
			return verr(err,
				    "linux.namespaces[%zu]: duplicate namespace type " Q,
				    i, ns->type_name);
		have[ns->type] = true;
		if (ns->path && ns->path[0] == '\0') {
			/* "" means a new namespace, as with Go's omitempty */
			free(ns->path);
			ns->path = NULL;
		}
		if (ns->path && !is_abs(ns->path))
			return verr(err,
				    "linux.namespaces[%zu].path: must be an absolute path",
				    i);
	}
	return 0;
}

static int check_user_ns(const struct oci_spec *s, const bool *have,
			 struct husk_err **err)
{
	const struct oci_linux *l = s->linux_;
	const struct oci_namespace *userns = oci_spec_namespace(s, OCI_NS_USER);

	if (check_idmaps(l->uid_mappings, l->n_uid_mappings,
			 "linux.uidMappings", err) < 0 ||
	    check_idmaps(l->gid_mappings, l->n_gid_mappings,
			 "linux.gidMappings", err) < 0)
		return -1;
	if (!have[OCI_NS_USER]) {
		if (l->n_uid_mappings)
			return verr(err,
				    "linux.uidMappings: requires a user namespace");
		if (l->n_gid_mappings)
			return verr(err,
				    "linux.gidMappings: requires a user namespace");
		return 0;
	}
	if (userns->path == NULL) {
		if (l->n_uid_mappings == 0)
			return verr(err,
				    "linux.uidMappings: must be set for a new user namespace");
		if (l->n_gid_mappings == 0)
			return verr(err,
				    "linux.gidMappings: must be set for a new user namespace");
	}
	return 0;
}

/* runc's rule (libcontainer/configs/validate): only sysctls that belong to
 * a namespace the container has of its own may be set, or the write would
 * change the host. Keys may use '/' or '.' as the separator. */
static int check_sysctl(const struct oci_linux *l, const bool *have,
			struct husk_err **err)
{
	static const char *const ipc_keys[] = {
		"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",
		"kernel.sem", "kernel.shmall", "kernel.shmmax",
		"kernel.shmmni", "kernel.shm_rmid_forced", NULL,
	};

	for (size_t i = 0; i < l->n_sysctl; i++) {
		const char *key = l->sysctl[i].key;
		char norm[256];
		size_t n = strlen(key);

		if (n == 0)
			return verr(err, "linux.sysctl: key must not be empty");
		if (n >= sizeof(norm) || key[0] == '/' || key[0] == '.' ||
		    key[n - 1] == '/' || key[n - 1] == '.' ||
		    strstr(key, "//") || strstr(key, "..") ||
		    has_ctl_or_space(key))
			return verr(err, "linux.sysctl" K ": invalid key", key);
		/* with '/' separators, dots are part of a component
		 * (net/ipv4/conf/eth0.100/forwarding) */
		memcpy(norm, key, n + 1);
		if (strchr(norm, '/'))
			for (char *c = norm; *c; c++)
				if (*c == '/')
					*c = '.';
		if (strncmp(norm, "net.", 4) == 0) {
			if (!have[OCI_NS_NETWORK])
				return verr(err,
					    "linux.sysctl" K
					    ": requires a network namespace",
					    key);
		} else if (in_list(ipc_keys, norm) ||
			   strncmp(norm, "fs.mqueue.", 10) == 0) {
			if (!have[OCI_NS_IPC])
				return verr(err,
					    "linux.sysctl" K
					    ": requires an ipc namespace",
					    key);
		} else if (!strcmp(norm, "kernel.hostname") ||
			   !strcmp(norm, "kernel.domainname")) {
			if (!have[OCI_NS_UTS])
				return verr(err,
					    "linux.sysctl" K
					    ": requires a uts namespace",
					    key);
		} else {
			return verr(err,
				    "linux.sysctl" K
				    ": not in a namespace of the container's own",
				    key);
		}
	}
	return 0;
}

static int check_devices(const struct oci_linux *l, struct husk_err **err)
{
	for (size_t i = 0; i < l->n_devices; i++) {
		const struct oci_device *d = &l->devices[i];

		if (d->type == NULL)
			return verr(err, "linux.devices[%zu].type: must be set",
				    i);
		if (strcmp(d->type, "c") && strcmp(d->type, "b") &&
		    strcmp(d->type, "u") && strcmp(d->type, "p"))
			return verr(err,
				    "linux.devices[%zu].type: must be one of \"c\", \"b\", \"u\", \"p\"",
				    i);
		if (!is_abs(d->path))
			return verr(err,
				    "linux.devices[%zu].path: must be an absolute path",
				    i);
		if (strcmp(d->type, "p") != 0) {
			if (!d->has_major)
				return verr(err,
					    "linux.devices[%zu].major: must be set for type " Q,
					    i, d->type);
			if (!d->has_minor)
				return verr(err,
					    "linux.devices[%zu].minor: must be set for type " Q,
					    i, d->type);
		}
	}
	return 0;
}

static int check_seccomp(const struct oci_seccomp *s, struct husk_err **err)
{
	const char *w = "linux.seccomp";
	bool notify = false;

	if (s->default_action == NULL)
		return verr(err, "%s.defaultAction: must be set", w);
	if (!in_list(seccomp_actions, s->default_action))
		return verr(err, "%s.defaultAction: unknown action " Q, w,
			    s->default_action);
	/* libseccomp refuses it: the notifying process itself would be
	 * stopped on its first syscall */
	if (strcmp(s->default_action, "SCMP_ACT_NOTIFY") == 0)
		return verr(err,
			    "%s.defaultAction: SCMP_ACT_NOTIFY cannot be the default action",
			    w);
	for (size_t i = 0; i < s->architectures.n; i++)
		if (!in_list(seccomp_archs, s->architectures.v[i]))
			return verr(err,
				    "%s.architectures[%zu]: unknown architecture " Q,
				    w, i, s->architectures.v[i]);
	for (size_t i = 0; i < s->flags.n; i++)
		if (!in_list(seccomp_flags, s->flags.v[i]))
			return verr(err, "%s.flags[%zu]: unknown flag " Q, w, i,
				    s->flags.v[i]);
	for (size_t i = 0; i < s->n_syscalls; i++) {
		const struct oci_seccomp_syscall *c = &s->syscalls[i];

		if (c->names.n == 0)
			return verr(err,
				    "%s.syscalls[%zu].names: must be a non-empty array",
				    w, i);
		for (size_t j = 0; j < c->names.n; j++)
			if (c->names.v[j][0] == '\0')
				return verr(err,
					    "%s.syscalls[%zu].names[%zu]: must not be empty",
					    w, i, j);
		if (c->action == NULL)
			return verr(err, "%s.syscalls[%zu].action: must be set",
				    w, i);
		if (!in_list(seccomp_actions, c->action))
			return verr(err,
				    "%s.syscalls[%zu].action: unknown action " Q,
				    w, i, c->action);
		if (strcmp(c->action, "SCMP_ACT_NOTIFY") == 0)
			notify = true;
		for (size_t j = 0; j < c->n_args; j++) {
			const struct oci_seccomp_arg *a = &c->args[j];

			/* a syscall has six argument registers */
			if (a->index > 5)
				return verr(err,
					    "%s.syscalls[%zu].args[%zu].index: must be in [0, 5]",
					    w, i, j);
			if (a->op == NULL)
				return verr(err,
					    "%s.syscalls[%zu].args[%zu].op: must be set",
					    w, i, j);
			if (!in_list(seccomp_ops, a->op))
				return verr(err,
					    "%s.syscalls[%zu].args[%zu].op: unknown operator " Q,
					    w, i, j, a->op);
		}
	}
	if (notify && !is_abs(s->listener_path))
		return verr(err,
			    "%s.listenerPath: must be an absolute path when SCMP_ACT_NOTIFY is used",
			    w);
	if (s->listener_path && s->listener_path[0] &&
	    !is_abs(s->listener_path))
		return verr(err, "%s.listenerPath: must be an absolute path", w);
	return 0;
}

static int check_paths(const struct oci_strv *v, const char *where,
		       struct husk_err **err)
{
	for (size_t i = 0; i < v->n; i++)
		if (!is_abs(v->v[i]))
			return verr(err, "%s[%zu]: must be an absolute path",
				    where, i);
	return 0;
}

static int check_net_devices(const struct oci_linux *l, const bool *have,
			     struct husk_err **err)
{
	if (l->n_net_devices == 0)
		return 0;
	if (!have[OCI_NS_NETWORK])
		return verr(err, "linux.netDevices: requires a network namespace");
	if (l->n_net_devices > 256)
		return verr(err, "linux.netDevices: more than 256 devices");
	for (size_t i = 0; i < l->n_net_devices; i++) {
		const struct oci_net_device *d = &l->net_devices[i];
		const char *ni = d->name ? d->name : d->host_name;

		if (!is_ifname(d->host_name))
			return verr(err,
				    "linux.netDevices" K
				    ": invalid interface name",
				    d->host_name);
		if (d->name && !is_ifname(d->name))
			return verr(err,
				    "linux.netDevices" K
				    ".name: invalid interface name",
				    d->host_name);
		for (size_t j = 0; j < i; j++) {
			const struct oci_net_device *e = &l->net_devices[j];

			if (!strcmp(e->host_name, d->host_name))
				return verr(err,
					    "linux.netDevices" K ": duplicate device",
					    d->host_name);
			if (!strcmp(e->name ? e->name : e->host_name, ni))
				return verr(err,
					    "linux.netDevices" K
					    ".name: " Q " is already used",
					    d->host_name, ni);
		}
	}
	return 0;
}

static int check_misc_linux(const struct oci_linux *l, const bool *have,
			    struct husk_err **err)
{
	if (l->time_offsets) {
		const struct oci_time_offset *t[2] = {l->time_offsets->monotonic,
						      l->time_offsets->boottime};
		static const char *const names[2] = {"monotonic", "boottime"};

		if (!have[OCI_NS_TIME])
			return verr(err,
				    "linux.timeOffsets: requires a time namespace");
		for (int i = 0; i < 2; i++)
			if (t[i] && t[i]->nanosecs >= 1000000000u)
				return verr(err,
					    "linux.timeOffsets.%s.nanosecs: must be < 1000000000",
					    names[i]);
	}
	if (l->cgroups_path &&
	    (has_dotdot_component(l->cgroups_path) ||
	     has_ctl_or_space(l->cgroups_path)))
		return verr(err, "linux.cgroupsPath: invalid path " Q,
			    l->cgroups_path);
	if (l->rootfs_propagation && l->rootfs_propagation[0] &&
	    !in_list(propagations, l->rootfs_propagation))
		return verr(err, "linux.rootfsPropagation: unknown propagation " Q,
			    l->rootfs_propagation);
	if (check_paths(&l->masked_paths, "linux.maskedPaths", err) < 0 ||
	    check_paths(&l->readonly_paths, "linux.readonlyPaths", err) < 0)
		return -1;
	if (l->intel_rdt && l->intel_rdt->clos_id &&
	    !is_file_name(l->intel_rdt->clos_id))
		return verr(err, "linux.intelRdt.closID: invalid name " Q,
			    l->intel_rdt->clos_id);
	if (l->personality) {
		const struct oci_personality *p = l->personality;

		if (p->domain == NULL)
			return verr(err, "linux.personality.domain: must be set");
		if (!in_list(personality_domains, p->domain))
			return verr(err,
				    "linux.personality.domain: unknown domain " Q,
				    p->domain);
		/* config-linux.md: no flag values are defined yet */
		if (p->flags.n)
			return verr(err,
				    "linux.personality.flags[0]: unknown flag " Q,
				    p->flags.v[0]);
	}
	if (l->memory_policy) {
		const struct oci_memory_policy *m = l->memory_policy;

		if (m->mode == NULL)
			return verr(err, "linux.memoryPolicy.mode: must be set");
		if (!in_list(mpol_modes, m->mode))
			return verr(err,
				    "linux.memoryPolicy.mode: unknown mode " Q,
				    m->mode);
		if (m->nodes && m->nodes[0] && !is_cpu_list(m->nodes))
			return verr(err,
				    "linux.memoryPolicy.nodes: invalid node list " Q,
				    m->nodes);
		for (size_t i = 0; i < m->flags.n; i++)
			if (!in_list(mpol_flags, m->flags.v[i]))
				return verr(err,
					    "linux.memoryPolicy.flags[%zu]: unknown flag " Q,
					    i, m->flags.v[i]);
	}
	return 0;
}

static int check_linux(struct oci_spec *s, bool *have, struct husk_err **err)
{
	struct oci_linux *l = s->linux_;

	if (check_namespaces(l, have, err) < 0 ||
	    check_user_ns(s, have, err) < 0 || check_sysctl(l, have, err) < 0 ||
	    check_devices(l, err) < 0 || check_net_devices(l, have, err) < 0 ||
	    check_misc_linux(l, have, err) < 0)
		return -1;
	if (l->resources &&
	    check_resources(l->resources, "linux.resources.", err) < 0)
		return -1;
	if (l->seccomp && check_seccomp(l->seccomp, err) < 0)
		return -1;
	return 0;
}

/* ---- the whole config -------------------------------------------------------- */

int oci_spec_validate(struct oci_spec *spec, struct husk_err **err)
{
	bool have[OCI_NS_COUNT] = {false};

	if (spec == NULL)
		return verr(err, "no config");
	if (spec->oci_version == NULL || spec->oci_version[0] == '\0')
		return verr(err, "ociVersion: must be set");
	if (!version_supported(spec->oci_version))
		return verr(err, "ociVersion: unsupported version " Q,
			    spec->oci_version);
	if (spec->root == NULL || spec->root->path == NULL ||
	    spec->root->path[0] == '\0')
		return verr(err, "root.path: must be set");
	if (spec->process == NULL)
		return verr(err, "process: must be set");
	if (check_process(spec->process, err) < 0)
		return -1;
	if (check_mounts(spec, err) < 0)
		return -1;
	if (spec->hooks && check_hooks(spec->hooks, err) < 0)
		return -1;
	if (spec->linux_ && check_linux(spec, have, err) < 0)
		return -1;
	/* runc: a hostname needs a UTS namespace (new or joined) of the
	 * container's own, or it would rename the host */
	if (spec->hostname && spec->hostname[0] && !have[OCI_NS_UTS])
		return verr(err, "hostname: cannot be set without a uts namespace");
	if (spec->domainname && spec->domainname[0] && !have[OCI_NS_UTS])
		return verr(err,
			    "domainname: cannot be set without a uts namespace");
	return 0;
}
