/* The process's own settings: oomScoreAdj, rlimits, cwd, the executable's
 * lookup in $PATH, then groups, ids, capabilities (libcap; ambient through
 * prctl), noNewPrivileges and umask. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/linux/internal.h"

int process_oom_score_adj(const struct oci_process *p, struct husk_err **err)
{
	char buf[32];
	int n;

	if (p == NULL || !p->oom_score_adj.set)
		return 0;
	n = snprintf(buf, sizeof(buf), "%lld", (long long)p->oom_score_adj.v);
	return husk_write_file_at(AT_FDCWD, "/proc/self/oom_score_adj", buf,
				  (size_t)n, 0644, err);
}

static const char *rlimit_name(const struct oci_rlimit *r)
{
	return r->type ? r->type : "rlimit";
}

int process_rlimits(const struct oci_process *p, struct husk_err **err)
{
	for (size_t i = 0; p && i < p->n_rlimits; i++) {
		const struct oci_rlimit *r = &p->rlimits[i];
		struct rlimit rl = {.rlim_cur = r->soft, .rlim_max = r->hard};

		if (r->resource < 0)
			return husk_err_set(err, EINVAL,
					    "process.rlimits[%zu].type: unknown "
					    "%s",
					    i, rlimit_name(r));
		if (setrlimit((__rlimit_resource_t)r->resource, &rl) < 0)
			return husk_err_sys(err, "setrlimit %s", rlimit_name(r));
	}
	return 0;
}

int process_chdir(const struct oci_process *p, struct husk_err **err)
{
	const char *cwd = p && p->cwd ? p->cwd : "/";

	if (chdir(cwd) < 0)
		return husk_err_sys(err, "chdir %s", cwd);
	return 0;
}

static const char *env_get(const struct oci_strv *env, const char *name)
{
	size_t len = strlen(name);

	/* The last definition wins, as execve's consumers read it. */
	for (size_t i = env->n; i-- > 0;)
		if (strncmp(env->v[i], name, len) == 0 && env->v[i][len] == '=')
			return env->v[i] + len + 1;
	return NULL;
}

static bool is_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       (st.st_mode & 0111) && access(path, X_OK) == 0;
}

int process_find_exec(const struct oci_process *p, char **out,
		      struct husk_err **err)
{
	const char *name, *path;
	_cleanup_free_ char *copy = NULL;
	char *save = NULL;
	struct stat st;

	if (p == NULL || p->args.n == 0 || p->args.v[0][0] == '\0')
		return husk_err_set(err, EINVAL,
				    "process.args: must be a non-empty array");
	name = p->args.v[0];
	if (strchr(name, '/')) {
		if (stat(name, &st) < 0)
			return husk_err_sys(err, "exec: \"%s\": stat %s", name,
					    name);
		if (S_ISDIR(st.st_mode))
			return husk_err_set(err, EISDIR,
					    "exec: \"%s\": is a directory", name);
		*out = husk_strdup(name);
		return 0;
	}
	path = env_get(&p->env, "PATH");
	copy = husk_strdup(path ? path : "");
	/* strtok would skip empty entries, which mean the current dir. */
	for (char *dir = copy; dir; dir = save) {
		_cleanup_free_ char *full = NULL;

		save = strchr(dir, ':');
		if (save)
			*save++ = '\0';
		if (path == NULL)
			break;
		full = husk_asprintf("%s/%s", dir[0] ? dir : ".", name);
		if (is_executable(full)) {
			*out = TAKE_PTR(full);
			return 0;
		}
	}
	return husk_err_set(err, ENOENT,
			    "exec: \"%s\": executable file not found in $PATH",
			    name);
}

int process_cap_from_name(const char *name)
{
	cap_value_t v;

	/* cap_from_name also takes numbers and "all": only CAP_* names. */
	if (name == NULL || strncasecmp(name, "CAP_", 4) != 0 ||
	    cap_from_name(name, &v) < 0)
		return -1;
	return v;
}

/* Capabilities the running kernel knows, as cap_set_flag wants them. */
static size_t caps_list(const struct oci_strv *v, cap_value_t *out, int max)
{
	size_t k = 0;

	for (size_t i = 0; i < v->n; i++) {
		int c = process_cap_from_name(v->v[i]);
		/* Names were checked by linux_check_supported; a capability
		 * newer than the kernel cannot be held and is left out. */
		if (c >= 0 && c < max)
			out[k++] = c;
	}
	return k;
}

static int drop_bounding(const struct oci_caps *caps, struct husk_err **err)
{
	static const struct oci_strv none = {NULL, 0};
	int max = (int)cap_max_bits();
	cap_value_t list[64];
	bool keep[64] = {false};
	size_t n;

	if (max > 64)
		max = 64;
	n = caps_list(caps ? &caps->bounding : &none, list, max);
	for (size_t i = 0; i < n; i++)
		keep[list[i]] = true;
	for (int i = 0; i < max; i++)
		if (!keep[i] && prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0)
			return husk_err_sys(err,
					    "drop %s from the bounding set",
					    cap_to_name(i));
	return 0;
}

static int set_caps(const struct oci_caps *caps, struct husk_err **err)
{
	static const struct oci_strv none = {NULL, 0};
	int max = (int)cap_max_bits();
	cap_value_t list[64];
	cap_t c;
	size_t n;
	int r;

	if (max > 64)
		max = 64;
	c = cap_init();
	if (c == NULL)
		return husk_err_sys(err, "cap_init");
	n = caps_list(caps ? &caps->effective : &none, list, max);
	r = n ? cap_set_flag(c, CAP_EFFECTIVE, (int)n, list, CAP_SET) : 0;
	n = caps_list(caps ? &caps->permitted : &none, list, max);
	r |= n ? cap_set_flag(c, CAP_PERMITTED, (int)n, list, CAP_SET) : 0;
	n = caps_list(caps ? &caps->inheritable : &none, list, max);
	r |= n ? cap_set_flag(c, CAP_INHERITABLE, (int)n, list, CAP_SET) : 0;
	if (r != 0 || cap_set_proc(c) < 0) {
		husk_err_sys(err, "capset");
		cap_free(c);
		return -1;
	}
	cap_free(c);
	n = caps_list(caps ? &caps->ambient : &none, list, max);
	for (size_t i = 0; i < n; i++) {
		/* The kernel keeps ambient ⊆ permitted ∩ inheritable. runc's own
		 * default spec lists ambient caps that are permitted but not
		 * inheritable and runc goes on: such a cap is no raise to make.
		 * One that is not even permitted is a config error (below). */
		cap_flag_value_t in_p = CAP_CLEAR, in_i = CAP_CLEAR;
		cap_t cur = cap_get_proc();
		if (cur) {
			cap_get_flag(cur, list[i], CAP_PERMITTED, &in_p);
			cap_get_flag(cur, list[i], CAP_INHERITABLE, &in_i);
			cap_free(cur);
		}
		if (in_p == CAP_SET && in_i != CAP_SET)
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, list[i], 0,
			  0) < 0)
			return husk_err_sys(err,
					    "process.capabilities.ambient: "
					    "raise %s",
					    cap_to_name(list[i]));
	}
	return 0;
}

int process_set_creds(const struct oci_process *p, struct husk_err **err)
{
	const struct oci_user *u = &p->user;

	/* Order: the bounding set is dropped while CAP_SETPCAP is still
	 * effective; KEEPCAPS keeps the permitted set across setuid (which
	 * clears the effective one); capset then sets what the spec asks. */
	if (drop_bounding(p->capabilities, err) < 0)
		return -1;
	if (setgroups(u->n_additional_gids, u->additional_gids) < 0)
		return husk_err_sys(err, "setgroups");
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return husk_err_sys(err, "prctl PR_SET_KEEPCAPS");
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		return husk_err_sys(err, "setgid %u", u->gid);
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		return husk_err_sys(err, "setuid %u", u->uid);
	if (set_caps(p->capabilities, err) < 0)
		return -1;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return husk_err_sys(err, "prctl PR_SET_KEEPCAPS");
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return husk_err_sys(err, "prctl PR_SET_NO_NEW_PRIVS");
	umask(u->umask.set ? (mode_t)(u->umask.v & 0777) : 022);
	return 0;
}
