/* linux.seccomp: the config's filter built with libseccomp, loaded right
 * before execve, and the SCMP_ACT_NOTIFY listener handed to listenerPath.
 * Behaviour follows runc (libcontainer/seccomp) where the spec leaves room. */
#include "runtime/linux/seccomp.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <yajl/yajl_tree.h>

#include "common/util.h"
#include "oci/jsonw.h"
#include "oci/state.h"

#define W "linux.seccomp"

/* SCMP_FLTATR_CTL_WAITKILL and API level 7 came with libseccomp 2.6.0. */
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 6)
#define HAVE_WAITKILL 1
#else
#define HAVE_WAITKILL 0
#endif

struct action_def {
	const char *name;
	uint32_t act;     /* for ERRNO and TRACE, without the 16 data bits */
	bool takes_errno; /* errnoRet allowed (runtime-spec) */
	unsigned api;     /* seccomp_api_get() level the action needs */
};

/* The API levels: 3 brought KILL_PROCESS and LOG; runc asks 6 for NOTIFY
 * (5 has it, but not together with TSYNC). */
static const struct action_def actions[] = {
	{"SCMP_ACT_KILL", SCMP_ACT_KILL, false, 1},
	{"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false, 1},
	{"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false, 3},
	{"SCMP_ACT_TRAP", SCMP_ACT_TRAP, false, 1},
	{"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true, 1},
	{"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true, 1},
	{"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false, 1},
	{"SCMP_ACT_LOG", SCMP_ACT_LOG, false, 3},
	{"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, false, 6},
};

static const struct {
	const char *name;
	enum scmp_compare op;
} operators[] = {
	{"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT},
	{"SCMP_CMP_LE", SCMP_CMP_LE}, {"SCMP_CMP_EQ", SCMP_CMP_EQ},
	{"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
	{"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

/* After the filter is loaded the init passes the listener out with these;
 * a notifying rule on them would wait for an agent that never gets the fd. */
static const char *const notify_refused[] = {"write", "sendmsg"};

static const struct action_def *action_find(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(actions); i++)
		if (strcmp(actions[i].name, name) == 0)
			return &actions[i];
	return NULL;
}

/* name, errnoRet and their JSON paths -> the libseccomp action value. */
static int action_resolve(const char *name, const struct oci_opt_u64 *errno_ret,
			  const char *act_path, const char *errno_path,
			  uint32_t *out, struct husk_err **err)
{
	const struct action_def *d = action_find(name);
	unsigned api;

	if (d == NULL)
		return husk_err_set(err, EINVAL, "%s: unknown action \"%.64s\"",
				    act_path, name ? name : "");
	api = seccomp_api_get();
	if (d->api > 1 && api < d->api)
		return husk_err_set(err, EOPNOTSUPP,
				    "%s: %s needs libseccomp API level %u, this host has %u",
				    act_path, d->name, d->api, api);
	*out = d->act;
	if (!d->takes_errno) {
		/* runtime-spec config-linux.md#seccomp: "When the action
		 * doesn't support an errno, the runtime MUST ... fail." */
		if (errno_ret->set)
			return husk_err_set(err, EINVAL,
					    "%s: %s does not take an errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)",
					    errno_path, d->name);
		return 0;
	}
	if (!errno_ret->set) {
		*out |= EPERM;
		return 0;
	}
	/* SECCOMP_RET_DATA is 16 bits; a wider value would wrap (65536
	 * would become "return 0", a denied call reporting success). */
	if (errno_ret->v > 0xffff)
		return husk_err_set(err, EINVAL, "%s: must be in [0, 65535]",
				    errno_path);
	*out |= (uint32_t)errno_ret->v;
	return 0;
}

/* "SCMP_ARCH_X86_64" -> libseccomp's token, 0 if it does not know it. */
static uint32_t arch_token(const char *name)
{
	char low[32];
	size_t k = 0;

	if (name == NULL || !husk_str_has_prefix(name, "SCMP_ARCH_"))
		return 0;
	name += strlen("SCMP_ARCH_");
	for (; k < sizeof(low) - 1 && name[k]; k++)
		low[k] = (char)tolower((unsigned char)name[k]);
	if (name[k] != '\0' || k == 0)
		return 0;
	low[k] = '\0';
	return seccomp_arch_resolve_name(low);
}

static int add_arches(scmp_filter_ctx ctx, const struct oci_seccomp *s,
		      struct husk_err **err)
{
	for (size_t i = 0; i < s->architectures.n; i++) {
		const char *name = s->architectures.v[i];
		uint32_t a = arch_token(name);
		int rc;

		if (a == 0)
			return husk_err_set(err, EINVAL,
					    W ".architectures[%zu]: \"%.64s\" is not supported by libseccomp %u.%u.%u",
					    i, name ? name : "", SCMP_VER_MAJOR,
					    SCMP_VER_MINOR, SCMP_VER_MICRO);
		rc = seccomp_arch_add(ctx, a);
		/* the native architecture is always in the filter */
		if (rc == -EEXIST)
			continue;
		/* one BPF program cannot compare both byte orders */
		if (rc == -EDOM)
			return husk_err_set(err, EDOM,
					    W ".architectures[%zu]: %s cannot share a filter with the native architecture (other byte order)",
					    i, name);
		if (rc < 0)
			return husk_err_set(err, -rc,
					    W ".architectures[%zu]: adding %s: %s",
					    i, name, strerror(-rc));
	}
	return 0;
}

static int set_attr(scmp_filter_ctx ctx, enum scmp_filter_attr attr,
		    size_t i, const char *flag, struct husk_err **err)
{
	int rc = seccomp_attr_set(ctx, attr, 1);

	if (rc < 0)
		return husk_err_set(err, -rc,
				    W ".flags[%zu]: %s: not supported by this kernel and libseccomp (API level %u): %s",
				    i, flag, seccomp_api_get(), strerror(-rc));
	return 0;
}

static int set_flags(scmp_filter_ctx ctx, const struct oci_seccomp *s,
		     struct husk_err **err)
{
	for (size_t i = 0; i < s->flags.n; i++) {
		const char *f = s->flags.v[i];

		if (f == NULL)
			return husk_err_set(err, EINVAL, W ".flags[%zu]: must be a string", i);
		/* As runc: TSYNC only matters for other threads, and the
		 * init is single-threaded when it loads the filter right
		 * before execve (which would end any other thread). */
		if (strcmp(f, "SECCOMP_FILTER_FLAG_TSYNC") == 0)
			continue;
		if (strcmp(f, "SECCOMP_FILTER_FLAG_LOG") == 0) {
			if (set_attr(ctx, SCMP_FLTATR_CTL_LOG, i, f, err) < 0)
				return -1;
		} else if (strcmp(f, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0) {
			if (set_attr(ctx, SCMP_FLTATR_CTL_SSB, i, f, err) < 0)
				return -1;
		} else if (strcmp(f, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") == 0) {
#if HAVE_WAITKILL
			if (set_attr(ctx, SCMP_FLTATR_CTL_WAITKILL, i, f, err) < 0)
				return -1;
#else
			return husk_err_set(err, EOPNOTSUPP,
					    W ".flags[%zu]: %s: needs libseccomp >= 2.6.0, husk was built with %u.%u.%u",
					    i, f, SCMP_VER_MAJOR, SCMP_VER_MINOR,
					    SCMP_VER_MICRO);
#endif
		} else {
			return husk_err_set(err, EINVAL,
					    W ".flags[%zu]: unknown flag \"%.64s\"",
					    i, f);
		}
	}
	return 0;
}

/* args -> conditions; *split when one index appears twice: runc then adds
 * each condition as its own rule (OR), since libseccomp refuses two
 * comparisons of one argument in a rule. */
static int conditions(const struct oci_seccomp_syscall *c, size_t i,
		      struct scmp_arg_cmp *conds, bool *split,
		      struct husk_err **err)
{
	unsigned seen[6] = {0};

	*split = false;
	for (size_t j = 0; j < c->n_args; j++) {
		const struct oci_seccomp_arg *a = &c->args[j];
		size_t k;

		if (a->index > 5)
			return husk_err_set(err, EINVAL,
					    W ".syscalls[%zu].args[%zu].index: must be in [0, 5]",
					    i, j);
		for (k = 0; k < ARRAY_SIZE(operators); k++)
			if (a->op && strcmp(a->op, operators[k].name) == 0)
				break;
		if (k == ARRAY_SIZE(operators))
			return husk_err_set(err, EINVAL,
					    W ".syscalls[%zu].args[%zu].op: unknown operator \"%.64s\"",
					    i, j, a->op ? a->op : "");
		if (seen[a->index]++)
			*split = true;
		/* For MASKED_EQ, libseccomp's datum_a is the mask and
		 * datum_b the value: runc passes value, valueTwo. */
		conds[j] = (struct scmp_arg_cmp){
			.arg = a->index,
			.op = operators[k].op,
			.datum_a = a->value,
			.datum_b = a->value_two,
		};
	}
	return 0;
}

static bool notify_refused_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(notify_refused); i++)
		if (strcmp(name, notify_refused[i]) == 0)
			return true;
	return false;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t act, int nr,
		    const struct scmp_arg_cmp *conds, size_t n, bool split)
{
	int rc = 0;

	if (n == 0)
		return seccomp_rule_add_array(ctx, act, nr, 0, NULL);
	if (!split)
		return seccomp_rule_add_array(ctx, act, nr, (unsigned)n, conds);
	for (size_t k = 0; k < n && rc == 0; k++)
		rc = seccomp_rule_add_array(ctx, act, nr, 1, &conds[k]);
	return rc;
}

static int add_syscall(scmp_filter_ctx ctx, uint32_t def_act,
		       const struct oci_seccomp_syscall *c, size_t i,
		       struct husk_err **err)
{
	_cleanup_free_ struct scmp_arg_cmp *conds = NULL;
	char act_path[64], errno_path[64];
	uint32_t act;
	bool split;

	snprintf(act_path, sizeof(act_path), W ".syscalls[%zu].action", i);
	snprintf(errno_path, sizeof(errno_path), W ".syscalls[%zu].errnoRet", i);
	if (action_resolve(c->action, &c->errno_ret, act_path, errno_path, &act,
			   err) < 0)
		return -1;
	if (c->names.n == 0)
		return husk_err_set(err, EINVAL,
				    W ".syscalls[%zu].names: must be a non-empty array",
				    i);
	conds = husk_calloc(c->n_args ? c->n_args : 1, sizeof(*conds));
	if (conditions(c, i, conds, &split, err) < 0)
		return -1;
	for (size_t j = 0; j < c->names.n; j++) {
		const char *name = c->names.v[j];
		int nr, rc;

		if (name == NULL)
			return husk_err_set(err, EINVAL,
					    W ".syscalls[%zu].names[%zu]: must be a string",
					    i, j);
		if (act == SCMP_ACT_NOTIFY && notify_refused_name(name))
			return husk_err_set(err, EINVAL,
					    W ".syscalls[%zu].names[%zu]: SCMP_ACT_NOTIFY cannot be used for \"%s\": the runtime passes the listener out with it",
					    i, j, name);
		/* libseccomp refuses a rule with the default action (runc
		 * skips those silently) */
		if (act == def_act)
			continue;
		/* A name this libseccomp does not know is skipped, as runc
		 * does: profiles list syscalls of newer kernels. Names of
		 * other architectures resolve to pseudo numbers, which the
		 * non-exact rule_add maps per architecture. */
		nr = seccomp_syscall_resolve_name(name);
		if (nr == __NR_SCMP_ERROR)
			continue;
		rc = add_rule(ctx, act, nr, conds, c->n_args, split);
		if (rc < 0)
			return husk_err_set(err, -rc,
					    W ".syscalls[%zu].names[%zu]: adding a rule for \"%s\": %s",
					    i, j, name, strerror(-rc));
	}
	return 0;
}

static void ctx_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

int linux_seccomp_build(const struct oci_seccomp *s, scmp_filter_ctx *out,
			struct husk_err **err)
{
	__attribute__((cleanup(ctx_releasep))) scmp_filter_ctx ctx = NULL;
	uint32_t def_act;
	int rc;

	*out = NULL;
	if (s == NULL)
		return husk_err_set(err, EINVAL, W ": no configuration");
	if (action_resolve(s->default_action, &s->default_errno_ret,
			   W ".defaultAction", W ".defaultErrnoRet", &def_act,
			   err) < 0)
		return -1;
	/* The notifying process itself would stop on its first syscall. */
	if (def_act == SCMP_ACT_NOTIFY)
		return husk_err_set(err, EINVAL,
				    W ".defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
	/* config-linux.md#seccomp: "MUST NOT be set if listenerPath is
	 * not set" */
	if (s->listener_metadata && s->listener_metadata[0] &&
	    (s->listener_path == NULL || s->listener_path[0] == '\0'))
		return husk_err_set(err, EINVAL,
				    W ".listenerMetadata: must not be set without listenerPath");
	ctx = seccomp_init(def_act);
	if (ctx == NULL)
		return husk_err_set(err, EINVAL,
				    W ".defaultAction: libseccomp refuses %s",
				    s->default_action);
	/* no_new_privs is process.noNewPrivileges, applied by the caller;
	 * without it the load needs CAP_SYS_ADMIN, which the init holds. */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	/* the kernel's errno from seccomp_load, not libseccomp's -ECANCELED */
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	if (rc < 0)
		return husk_err_set(err, -rc, W ": setting filter attributes: %s",
				    strerror(-rc));
	if (add_arches(ctx, s, err) < 0 || set_flags(ctx, s, err) < 0)
		return -1;
	for (size_t i = 0; i < s->n_syscalls; i++)
		if (add_syscall(ctx, def_act, &s->syscalls[i], i, err) < 0)
			return -1;
	*out = TAKE_PTR(ctx);
	return 0;
}

bool linux_seccomp_uses_notify(const struct oci_seccomp *s)
{
	for (size_t i = 0; s && i < s->n_syscalls; i++) {
		const struct oci_seccomp_syscall *c = &s->syscalls[i];

		if (c->action == NULL || strcmp(c->action, "SCMP_ACT_NOTIFY"))
			continue;
		for (size_t j = 0; j < c->names.n; j++)
			if (c->names.v[j] &&
			    seccomp_syscall_resolve_name(c->names.v[j]) !=
				    __NR_SCMP_ERROR)
				return true;
	}
	return false;
}

int linux_seccomp_load(scmp_filter_ctx ctx, const struct oci_seccomp *s,
		       int *listener_fd, struct husk_err **err)
{
	/* decided before the load: from then on every call is filtered */
	bool notify = linux_seccomp_uses_notify(s);
	int rc, fd;

	*listener_fd = -1;
	if (ctx == NULL)
		return husk_err_set(err, EINVAL, W ": no filter to load");
	rc = seccomp_load(ctx);
	if (rc == -EACCES)
		return husk_err_set(err, EACCES,
				    W ": loading the filter: %s (without process.noNewPrivileges it needs CAP_SYS_ADMIN)",
				    strerror(EACCES));
	if (rc < 0)
		return husk_err_set(err, -rc, W ": loading the filter: %s",
				    strerror(-rc));
	if (!notify)
		return 0;
	fd = seccomp_notify_fd(ctx);
	if (fd < 0)
		return husk_err_set(err, fd < -1 ? -fd : EBADF,
				    W ": the loaded filter has no notify listener");
	*listener_fd = fd;
	return 0;
}

/* The containerProcessState document (config-linux.md). */
static char *process_state(pid_t pid, const char *metadata,
			   const char *state_json)
{
	struct jsonw w;

	jsonw_init(&w, NULL);
	jsonw_begin_object(&w);
	jsonw_key(&w, "ociVersion");
	jsonw_string(&w, OCI_STATE_SPEC_VERSION);
	jsonw_key(&w, "fds");
	jsonw_begin_array(&w);
	jsonw_string(&w, "seccompFd");
	jsonw_end_array(&w);
	jsonw_key(&w, "pid");
	jsonw_int(&w, pid);
	if (metadata) {
		jsonw_key(&w, "metadata");
		jsonw_string(&w, metadata);
	}
	/* last: a raw value after a key leaves the writer expecting one */
	jsonw_key(&w, "state");
	jsonw_raw(&w, state_json, strlen(state_json));
	w.after_key = false;
	jsonw_end_object(&w);
	return jsonw_take(&w);
}

static int state_check(const char *state_json, struct husk_err **err)
{
	char ebuf[128];
	yajl_val v;
	bool ok;

	if (state_json == NULL || strlen(state_json) > OCI_SPEC_MAX_SIZE)
		return husk_err_set(err, EINVAL,
				    W ".listenerPath: the container state is missing or too large");
	v = yajl_tree_parse(state_json, ebuf, sizeof(ebuf));
	ok = v && YAJL_IS_OBJECT(v);
	yajl_tree_free(v);
	if (!ok)
		return husk_err_set(err, EINVAL,
				    W ".listenerPath: the container state is not a JSON object");
	return 0;
}

/* One sendmsg carries the fd with the first bytes (the spec allows more
 * calls, the fds only in the first); MSG_NOSIGNAL: an agent that hangs up
 * is an error to report, not a SIGPIPE. */
static int send_with_fd(int sock, const char *buf, size_t len, int fd)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.b,
		.msg_controllen = sizeof(ctl.b),
	};
	struct cmsghdr *cm;
	ssize_t n;
	size_t off;

	memset(&ctl, 0, sizeof(ctl));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	for (off = (size_t)n; off < len; off += (size_t)n) {
		do
			n = send(sock, buf + off, len - off, MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return -1;
	}
	return 0;
}

int linux_seccomp_send_listener(const char *listener_path, int listener_fd,
				pid_t pid, const char *metadata,
				const char *state_json, struct husk_err **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int sock = -1;
	_cleanup_free_ char *msg = NULL;
	int rc;

	if (listener_path == NULL || listener_path[0] != '/')
		return husk_err_set(err, EINVAL,
				    W ".listenerPath: must be an absolute path");
	if (strlen(listener_path) >= sizeof(sa.sun_path))
		return husk_err_set(err, ENAMETOOLONG,
				    W ".listenerPath: %.128s: longer than %zu bytes, the limit of a unix socket address",
				    listener_path, sizeof(sa.sun_path) - 1);
	if (listener_fd < 0)
		return husk_err_set(err, EBADF,
				    W ".listenerPath: no seccomp listener fd to send");
	if (state_check(state_json, err) < 0)
		return -1;
	msg = process_state(pid, metadata, state_json);
	strcpy(sa.sun_path, listener_path);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return husk_err_sys(err, W ".listenerPath: socket(AF_UNIX)");
	do
		rc = connect(sock, (struct sockaddr *)&sa, sizeof(sa));
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return husk_err_sys(err, W ".listenerPath: connect %s",
				    listener_path);
	if (send_with_fd(sock, msg, strlen(msg), listener_fd) < 0)
		return husk_err_sys(err, W ".listenerPath: sending the seccomp listener to %s",
				    listener_path);
	return 0;
}

static void list_add(const char **v, size_t *n, size_t cap, const char *s)
{
	if (*n < cap)
		v[(*n)++] = s;
}

void linux_seccomp_features(struct linux_seccomp_features *f)
{
	const char *const *names;
	unsigned api = seccomp_api_get();
	scmp_filter_ctx scratch;
	size_t n;

	memset(f, 0, sizeof(*f));
	/* Validation's lists, less what this libseccomp and kernel lack. */
	names = oci_known_names(OCI_NAMES_SECCOMP_ACTIONS, &n);
	for (size_t i = 0; i < n; i++) {
		const struct action_def *d = action_find(names[i]);

		if (d && (d->api <= 1 || api >= d->api))
			list_add(f->actions, &f->n_actions,
				 ARRAY_SIZE(f->actions), names[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(operators); i++)
		list_add(f->operators, &f->n_operators,
			 ARRAY_SIZE(f->operators), operators[i].name);
	/* the architectures a filter here can hold: known to libseccomp
	 * and of the native byte order */
	scratch = seccomp_init(SCMP_ACT_ALLOW);
	names = oci_known_names(OCI_NAMES_SECCOMP_ARCHS, &n);
	for (size_t i = 0; scratch && i < n; i++) {
		uint32_t a = arch_token(names[i]);
		int rc = a ? seccomp_arch_add(scratch, a) : -EINVAL;

		if (rc == 0 || rc == -EEXIST)
			list_add(f->archs, &f->n_archs, ARRAY_SIZE(f->archs),
				 names[i]);
	}
	if (scratch)
		seccomp_release(scratch);
	names = oci_known_names(OCI_NAMES_SECCOMP_FLAGS, &n);
	for (size_t i = 0; i < n; i++) {
		bool ok = false;

		list_add(f->known_flags, &f->n_known_flags,
			 ARRAY_SIZE(f->known_flags), names[i]);
		/* API levels: 2 TSYNC, 3 LOG, 4 SSB, 7 WAITKILL */
		if (strcmp(names[i], "SECCOMP_FILTER_FLAG_TSYNC") == 0)
			ok = api >= 2;
		else if (strcmp(names[i], "SECCOMP_FILTER_FLAG_LOG") == 0)
			ok = api >= 3;
		else if (strcmp(names[i], "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
			ok = api >= 4;
		else if (strcmp(names[i],
				"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") == 0)
			ok = HAVE_WAITKILL && api >= 7;
		if (ok)
			list_add(f->supported_flags, &f->n_supported_flags,
				 ARRAY_SIZE(f->supported_flags), names[i]);
	}
}
