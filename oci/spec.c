/* config.json → struct oci_spec: one pass over the yajl tree, driven by
 * per-object field tables; type errors name the JSON path. */
#include "oci/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "common/util.h"

/* ---- JSON paths for error messages --------------------------------------- */

/* A path is a chain of stack nodes from the value being parsed up to the
 * document; it costs nothing until an error has to be formatted. */
struct jpath {
	const struct jpath *up;
	const char *key; /* NULL: array element idx */
	size_t idx;
	bool map_key; /* a member of a map: shown as ["key"] */
};

static void jpath_fmt(const struct jpath *p, char *buf, size_t size,
		      size_t *pos)
{
	int n;

	if (p == NULL || p->up == NULL)
		return;
	jpath_fmt(p->up, buf, size, pos);
	if (*pos >= size)
		return;
	if (p->key && p->map_key)
		n = snprintf(buf + *pos, size - *pos, "[\"%.128s\"]", p->key);
	else if (p->key)
		n = snprintf(buf + *pos, size - *pos, "%s%s",
			     *pos ? "." : "", p->key);
	else
		n = snprintf(buf + *pos, size - *pos, "[%zu]", p->idx);
	if (n > 0)
		*pos += (size_t)n;
}

static int perr(struct husk_err **err, const struct jpath *p, const char *fmt,
		...) __attribute__((format(printf, 3, 4)));
static int perr(struct husk_err **err, const struct jpath *p, const char *fmt,
		...)
{
	char path[512] = "", msg[256];
	size_t pos = 0;
	va_list ap;

	jpath_fmt(p, path, sizeof(path), &pos);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (path[0])
		return husk_err_set(err, EINVAL, "%s: %s", path, msg);
	return husk_err_set(err, EINVAL, "%s", msg);
}

/* ---- scalars -------------------------------------------------------------- */

static int get_string(yajl_val v, char **dst, const struct jpath *p,
		      struct husk_err **err)
{
	if (!YAJL_IS_STRING(v))
		return perr(err, p, "must be a string");
	*dst = husk_strdup(v->u.string);
	return 0;
}

static int get_bool(yajl_val v, bool *dst, const struct jpath *p,
		    struct husk_err **err)
{
	if (YAJL_IS_TRUE(v))
		*dst = true;
	else if (YAJL_IS_FALSE(v))
		*dst = false;
	else
		return perr(err, p, "must be a boolean");
	return 0;
}

/* The text of a JSON number if it is written as an integer. yajl keeps the
 * original text, so integers beyond int64 (which yajl only has as doubles)
 * are still exact here. */
static const char *int_text(yajl_val v)
{
	const char *r;

	if (!YAJL_IS_NUMBER(v) || v->u.number.r == NULL)
		return NULL;
	r = v->u.number.r;
	if (strpbrk(r, ".eE"))
		return NULL;
	return r;
}

static int get_i64(yajl_val v, int64_t *dst, int64_t lo, int64_t hi,
		   const struct jpath *p, struct husk_err **err)
{
	const char *r = int_text(v);
	long long x;
	char *end;

	if (r == NULL)
		return perr(err, p, "must be an integer");
	errno = 0;
	x = strtoll(r, &end, 10);
	if (*end != '\0' || end == r)
		return perr(err, p, "must be an integer");
	if (errno == ERANGE || x < lo || x > hi)
		return perr(err, p, "must be an integer in [%" PRId64 ", %" PRId64
			    "]", lo, hi);
	*dst = x;
	return 0;
}

static int get_u64(yajl_val v, uint64_t *dst, uint64_t hi,
		   const struct jpath *p, struct husk_err **err)
{
	const char *r = int_text(v);
	unsigned long long x;
	char *end;

	if (r == NULL)
		return perr(err, p, "must be an integer");
	if (r[0] == '-') {
		/* strtoull would silently negate; only -0 is in range */
		if (strspn(r + 1, "0") == strlen(r + 1) && r[1])
			x = 0;
		else
			return perr(err, p, "must be an integer in [0, %" PRIu64
				    "]", hi);
	} else {
		errno = 0;
		x = strtoull(r, &end, 10);
		if (*end != '\0' || end == r)
			return perr(err, p, "must be an integer");
		if (errno == ERANGE || x > hi)
			return perr(err, p, "must be an integer in [0, %" PRIu64
				    "]", hi);
	}
	*dst = x;
	return 0;
}

/* ---- field tables ---------------------------------------------------------- */

typedef int (*field_fn)(yajl_val v, void *dst, const struct jpath *p,
			struct husk_err **err);

enum ftype {
	F_STR,   /* char * */
	F_BOOL,  /* bool */
	F_OBOOL, /* struct oci_opt_bool */
	F_U32,   /* uint32_t */
	F_I64,   /* int64_t in [lo, hi] */
	F_U64,   /* uint64_t */
	F_OI64,  /* struct oci_opt_i64 in [lo, hi] */
	F_OU64,  /* struct oci_opt_u64 in [0, hi] */
	F_STRV,  /* struct oci_strv */
	F_FN,    /* anything else: fn(value, base + off) */
};

struct field {
	const char *name;
	enum ftype type;
	bool required;
	size_t off;
	int64_t lo;
	uint64_t hi;
	field_fn fn;
};

#define FLD(n, t, T, m) {n, t, false, offsetof(T, m), 0, 0, NULL}
#define FREQ(n, t, T, m) {n, t, true, offsetof(T, m), 0, 0, NULL}
#define FI64(n, T, m, l, h) {n, F_I64, false, offsetof(T, m), l, (uint64_t)(h), NULL}
#define FI64R(n, T, m, l, h) {n, F_I64, true, offsetof(T, m), l, (uint64_t)(h), NULL}
#define FOI64(n, T, m, l, h) {n, F_OI64, false, offsetof(T, m), l, (uint64_t)(h), NULL}
#define FOU64(n, T, m, h) {n, F_OU64, false, offsetof(T, m), 0, h, NULL}
#define FFN(n, T, m, f) {n, F_FN, false, offsetof(T, m), 0, 0, f}
#define FFNR(n, T, m, f) {n, F_FN, true, offsetof(T, m), 0, 0, f}

static int parse_strv(yajl_val v, struct oci_strv *dst, const struct jpath *p,
		      struct husk_err **err)
{
	size_t n;

	if (!YAJL_IS_ARRAY(v))
		return perr(err, p, "must be an array of strings");
	n = v->u.array.len;
	/* attached before it is filled, so a failure frees what was copied */
	dst->v = husk_calloc(n + 1, sizeof(char *));
	dst->n = n;
	for (size_t i = 0; i < n; i++) {
		struct jpath ep = {p, NULL, i, false};

		if (get_string(v->u.array.values[i], &dst->v[i], &ep, err) < 0)
			return -1;
	}
	return 0;
}

static int field_set(const struct field *f, yajl_val v, char *base,
		     const struct jpath *p, struct husk_err **err)
{
	void *dst = base + f->off;

	switch (f->type) {
	case F_STR:
		return get_string(v, dst, p, err);
	case F_BOOL:
		return get_bool(v, dst, p, err);
	case F_OBOOL: {
		struct oci_opt_bool *o = dst;
		if (get_bool(v, &o->v, p, err) < 0)
			return -1;
		o->set = true;
		return 0;
	}
	case F_U32: {
		uint64_t x;
		if (get_u64(v, &x, UINT32_MAX, p, err) < 0)
			return -1;
		*(uint32_t *)dst = (uint32_t)x;
		return 0;
	}
	case F_I64:
		return get_i64(v, dst, f->lo, (int64_t)f->hi, p, err);
	case F_U64:
		return get_u64(v, dst, UINT64_MAX, p, err);
	case F_OI64: {
		struct oci_opt_i64 *o = dst;
		if (get_i64(v, &o->v, f->lo, (int64_t)f->hi, p, err) < 0)
			return -1;
		o->set = true;
		return 0;
	}
	case F_OU64: {
		struct oci_opt_u64 *o = dst;
		if (get_u64(v, &o->v, f->hi, p, err) < 0)
			return -1;
		o->set = true;
		return 0;
	}
	case F_STRV:
		return parse_strv(v, dst, p, err);
	case F_FN:
		return f->fn(v, dst, p, err);
	}
	return perr(err, p, "internal error: bad field type");
}

/* Fill base from the object v. Keys are visited last to first and a key
 * seen once is skipped after, so of duplicate keys the last wins, as with
 * Go's encoding/json (what runc and most policy tools read configs with).
 * null is the same as absent. Unknown keys are ignored (config.md). */
static int parse_object(yajl_val v, const struct field *tab, size_t nf,
			void *base, uint64_t *seen_out, const struct jpath *p,
			struct husk_err **err)
{
	uint64_t seen = 0, present = 0;

	if (nf > 64)
		return perr(err, p, "internal error: field table too large");
	if (!YAJL_IS_OBJECT(v))
		return perr(err, p, "must be an object");
	for (size_t i = v->u.object.len; i-- > 0;) {
		const char *key = v->u.object.keys[i];
		yajl_val val = v->u.object.values[i];
		size_t j;

		for (j = 0; j < nf; j++)
			if (strcmp(tab[j].name, key) == 0)
				break;
		if (j == nf || (seen & (1ull << j)))
			continue;
		seen |= 1ull << j;
		if (YAJL_IS_NULL(val))
			continue;
		present |= 1ull << j;
		struct jpath fp = {p, tab[j].name, 0, false};
		if (field_set(&tab[j], val, base, &fp, err) < 0)
			return -1;
	}
	for (size_t j = 0; j < nf; j++) {
		if (tab[j].required && !(present & (1ull << j))) {
			struct jpath fp = {p, tab[j].name, 0, false};
			return perr(err, &fp, "must be set");
		}
	}
	if (seen_out)
		*seen_out = present;
	return 0;
}

#define PARSE_OBJ(v, tab, base, seen, p, err)                                  \
	parse_object(v, tab, ARRAY_SIZE(tab), base, seen, p, err)

/* An array of objects: the array is attached to *out / *n before its
 * elements are parsed so that the owner's free function releases partial
 * results. */
static int parse_array(yajl_val v, size_t esize, void **out, size_t *n,
		       int (*elem)(yajl_val, void *, const struct jpath *,
				   struct husk_err **),
		       const struct jpath *p, struct husk_err **err)
{
	char *arr;

	if (!YAJL_IS_ARRAY(v))
		return perr(err, p, "must be an array");
	*n = v->u.array.len;
	arr = husk_calloc(*n ? *n : 1, esize);
	*out = arr;
	for (size_t i = 0; i < *n; i++) {
		struct jpath ep = {p, NULL, i, false};

		if (elem(v->u.array.values[i], arr + i * esize, &ep, err) < 0)
			return -1;
	}
	return 0;
}

/* A JSON object used as a map: calls elem(key, value, slot) per member. */
static int parse_map(yajl_val v, size_t esize, void **out, size_t *n,
		     int (*elem)(const char *, yajl_val, void *,
				 const struct jpath *, struct husk_err **),
		     const struct jpath *p, struct husk_err **err)
{
	char *arr;

	if (!YAJL_IS_OBJECT(v))
		return perr(err, p, "must be an object");
	*n = v->u.object.len;
	arr = husk_calloc(*n ? *n : 1, esize);
	*out = arr;
	for (size_t i = 0; i < *n; i++) {
		const char *key = v->u.object.keys[i];
		struct jpath ep = {p, key, 0, true};

		if (elem(key, v->u.object.values[i], arr + i * esize, &ep,
			 err) < 0)
			return -1;
	}
	return 0;
}

static int kv_elem(const char *key, yajl_val v, void *slot,
		   const struct jpath *p, struct husk_err **err)
{
	struct oci_kv *kv = slot;

	kv->key = husk_strdup(key);
	return get_string(v, &kv->value, p, err);
}

static int parse_kv_map(yajl_val v, struct oci_kv **out, size_t *n,
			const struct jpath *p, struct husk_err **err)
{
	return parse_map(v, sizeof(**out), (void **)out, n, kv_elem, p, err);
}

/* Allocate a struct, attach it, then fill it from a field table. */
#define DEFINE_OBJ_PARSER(name, T, tab)                                        \
	static int name(yajl_val v, void *dst, const struct jpath *p,          \
			struct husk_err **err)                                 \
	{                                                                      \
		T *o = husk_calloc(1, sizeof(T));                              \
		*(T **)dst = o;                                                \
		return PARSE_OBJ(v, tab, o, NULL, p, err);                     \
	}

/* An element parser for arrays of T filled from a field table. */
#define DEFINE_ELEM_PARSER(name, tab)                                          \
	static int name(yajl_val v, void *slot, const struct jpath *p,         \
			struct husk_err **err)                                 \
	{                                                                      \
		return PARSE_OBJ(v, tab, slot, NULL, p, err);                  \
	}

/* ---- process ---------------------------------------------------------------- */

static const struct field console_size_fields[] = {
	FREQ("height", F_U32, struct oci_console_size, height),
	FREQ("width", F_U32, struct oci_console_size, width),
};
DEFINE_OBJ_PARSER(parse_console_size, struct oci_console_size,
		  console_size_fields)

static int parse_gids(yajl_val v, void *dst, const struct jpath *p,
		      struct husk_err **err)
{
	struct oci_user *u = (struct oci_user *)((char *)dst -
			     offsetof(struct oci_user, additional_gids));

	if (!YAJL_IS_ARRAY(v))
		return perr(err, p, "must be an array");
	u->n_additional_gids = v->u.array.len;
	u->additional_gids = husk_calloc(v->u.array.len ? v->u.array.len : 1,
					 sizeof(uint32_t));
	for (size_t i = 0; i < v->u.array.len; i++) {
		struct jpath ep = {p, NULL, i, false};
		uint64_t x;

		if (get_u64(v->u.array.values[i], &x, UINT32_MAX, &ep, err) < 0)
			return -1;
		u->additional_gids[i] = (uint32_t)x;
	}
	return 0;
}

static const struct field user_fields[] = {
	FLD("uid", F_U32, struct oci_user, uid),
	FLD("gid", F_U32, struct oci_user, gid),
	FOU64("umask", struct oci_user, umask, UINT32_MAX),
	FFN("additionalGids", struct oci_user, additional_gids, parse_gids),
	FLD("username", F_STR, struct oci_user, username),
};

static int parse_user(yajl_val v, void *dst, const struct jpath *p,
		      struct husk_err **err)
{
	return PARSE_OBJ(v, user_fields, dst, NULL, p, err);
}

static const struct field caps_fields[] = {
	FLD("bounding", F_STRV, struct oci_caps, bounding),
	FLD("effective", F_STRV, struct oci_caps, effective),
	FLD("inheritable", F_STRV, struct oci_caps, inheritable),
	FLD("permitted", F_STRV, struct oci_caps, permitted),
	FLD("ambient", F_STRV, struct oci_caps, ambient),
};

static int parse_caps(yajl_val v, void *dst, const struct jpath *p,
		      struct husk_err **err)
{
	struct oci_caps *c = husk_calloc(1, sizeof(*c));

	*(struct oci_caps **)dst = c;
	if (PARSE_OBJ(v, caps_fields, c, NULL, p, err) < 0)
		return -1;
	c->has_bounding = c->bounding.v != NULL;
	c->has_effective = c->effective.v != NULL;
	c->has_inheritable = c->inheritable.v != NULL;
	c->has_permitted = c->permitted.v != NULL;
	c->has_ambient = c->ambient.v != NULL;
	return 0;
}

static const struct field rlimit_fields[] = {
	FREQ("type", F_STR, struct oci_rlimit, type),
	FREQ("soft", F_U64, struct oci_rlimit, soft),
	FREQ("hard", F_U64, struct oci_rlimit, hard),
};

static int rlimit_elem(yajl_val v, void *slot, const struct jpath *p,
		       struct husk_err **err)
{
	((struct oci_rlimit *)slot)->resource = -1;
	return PARSE_OBJ(v, rlimit_fields, slot, NULL, p, err);
}

static int parse_rlimits(yajl_val v, void *dst, const struct jpath *p,
			 struct husk_err **err)
{
	struct oci_process *pr = (struct oci_process *)((char *)dst -
				 offsetof(struct oci_process, rlimits));

	return parse_array(v, sizeof(struct oci_rlimit), (void **)&pr->rlimits,
			   &pr->n_rlimits, rlimit_elem, p, err);
}

static const struct field io_priority_fields[] = {
	FLD("class", F_STR, struct oci_io_priority, class),
	FI64("priority", struct oci_io_priority, priority, INT64_MIN,
	     INT64_MAX),
};
DEFINE_OBJ_PARSER(parse_io_priority, struct oci_io_priority,
		  io_priority_fields)

static const struct field scheduler_fields[] = {
	FLD("policy", F_STR, struct oci_scheduler, policy),
	FOI64("nice", struct oci_scheduler, nice, INT32_MIN, INT32_MAX),
	FOI64("priority", struct oci_scheduler, priority, INT32_MIN,
	      INT32_MAX),
	FLD("flags", F_STRV, struct oci_scheduler, flags),
	FOU64("runtime", struct oci_scheduler, runtime, UINT64_MAX),
	FOU64("deadline", struct oci_scheduler, deadline, UINT64_MAX),
	FOU64("period", struct oci_scheduler, period, UINT64_MAX),
};
DEFINE_OBJ_PARSER(parse_scheduler, struct oci_scheduler, scheduler_fields)

static const struct field affinity_fields[] = {
	FLD("initial", F_STR, struct oci_exec_cpu_affinity, initial),
	FLD("final", F_STR, struct oci_exec_cpu_affinity, final),
};
DEFINE_OBJ_PARSER(parse_affinity, struct oci_exec_cpu_affinity,
		  affinity_fields)

static const struct field process_fields[] = {
	FLD("terminal", F_BOOL, struct oci_process, terminal),
	FFN("consoleSize", struct oci_process, console_size,
	    parse_console_size),
	FFN("user", struct oci_process, user, parse_user),
	FLD("args", F_STRV, struct oci_process, args),
	FLD("commandLine", F_STR, struct oci_process, command_line),
	FLD("env", F_STRV, struct oci_process, env),
	FLD("cwd", F_STR, struct oci_process, cwd),
	FFN("capabilities", struct oci_process, capabilities, parse_caps),
	FFN("rlimits", struct oci_process, rlimits, parse_rlimits),
	FLD("noNewPrivileges", F_BOOL, struct oci_process, no_new_privileges),
	FLD("apparmorProfile", F_STR, struct oci_process, apparmor_profile),
	FOI64("oomScoreAdj", struct oci_process, oom_score_adj, INT64_MIN,
	      INT64_MAX),
	FLD("selinuxLabel", F_STR, struct oci_process, selinux_label),
	FFN("ioPriority", struct oci_process, io_priority, parse_io_priority),
	FFN("scheduler", struct oci_process, scheduler, parse_scheduler),
	FFN("execCPUAffinity", struct oci_process, exec_cpu_affinity,
	    parse_affinity),
};
DEFINE_OBJ_PARSER(parse_process, struct oci_process, process_fields)

/* ---- root, mounts, hooks ---------------------------------------------------- */

static const struct field root_fields[] = {
	FLD("path", F_STR, struct oci_root, path),
	FLD("readonly", F_BOOL, struct oci_root, readonly),
};
DEFINE_OBJ_PARSER(parse_root, struct oci_root, root_fields)

static const struct field idmap_fields[] = {
	FREQ("containerID", F_U32, struct oci_id_mapping, container_id),
	FREQ("hostID", F_U32, struct oci_id_mapping, host_id),
	FREQ("size", F_U32, struct oci_id_mapping, size),
};
DEFINE_ELEM_PARSER(idmap_elem, idmap_fields)

/* uid/gid mapping arrays sit as (pointer, count) pairs at different
 * offsets in struct oci_mount and struct oci_linux. */
#define DEFINE_IDMAP_PARSER(name, T, ptr, cnt)                                 \
	static int name(yajl_val v, void *dst, const struct jpath *p,          \
			struct husk_err **err)                                 \
	{                                                                      \
		T *o = (T *)((char *)dst - offsetof(T, ptr));                  \
		return parse_array(v, sizeof(struct oci_id_mapping),           \
				   (void **)&o->ptr, &o->cnt, idmap_elem, p,   \
				   err);                                       \
	}
DEFINE_IDMAP_PARSER(parse_mount_uidmap, struct oci_mount, uid_mappings,
		    n_uid_mappings)
DEFINE_IDMAP_PARSER(parse_mount_gidmap, struct oci_mount, gid_mappings,
		    n_gid_mappings)
DEFINE_IDMAP_PARSER(parse_linux_uidmap, struct oci_linux, uid_mappings,
		    n_uid_mappings)
DEFINE_IDMAP_PARSER(parse_linux_gidmap, struct oci_linux, gid_mappings,
		    n_gid_mappings)

static const struct field mount_fields[] = {
	FLD("destination", F_STR, struct oci_mount, destination),
	FLD("type", F_STR, struct oci_mount, type),
	FLD("source", F_STR, struct oci_mount, source),
	FLD("options", F_STRV, struct oci_mount, options),
	FFN("uidMappings", struct oci_mount, uid_mappings, parse_mount_uidmap),
	FFN("gidMappings", struct oci_mount, gid_mappings, parse_mount_gidmap),
};
DEFINE_ELEM_PARSER(mount_elem, mount_fields)

static const struct field hook_fields[] = {
	FLD("path", F_STR, struct oci_hook, path),
	FLD("args", F_STRV, struct oci_hook, args),
	FLD("env", F_STRV, struct oci_hook, env),
	FOI64("timeout", struct oci_hook, timeout, INT64_MIN, INT64_MAX),
};
DEFINE_ELEM_PARSER(hook_elem, hook_fields)

static int parse_hook_list(yajl_val v, void *dst, const struct jpath *p,
			   struct husk_err **err)
{
	struct oci_hook_list *l = dst;

	return parse_array(v, sizeof(struct oci_hook), (void **)&l->v, &l->n,
			   hook_elem, p, err);
}

static const struct field hooks_fields[] = {
	FFN("prestart", struct oci_hooks, prestart, parse_hook_list),
	FFN("createRuntime", struct oci_hooks, create_runtime,
	    parse_hook_list),
	FFN("createContainer", struct oci_hooks, create_container,
	    parse_hook_list),
	FFN("startContainer", struct oci_hooks, start_container,
	    parse_hook_list),
	FFN("poststart", struct oci_hooks, poststart, parse_hook_list),
	FFN("poststop", struct oci_hooks, poststop, parse_hook_list),
};
DEFINE_OBJ_PARSER(parse_hooks, struct oci_hooks, hooks_fields)

/* ---- linux.resources -------------------------------------------------------- */

static const struct field device_rule_fields[] = {
	FREQ("allow", F_BOOL, struct oci_device_rule, allow),
	FLD("type", F_STR, struct oci_device_rule, type),
	FOI64("major", struct oci_device_rule, major, INT64_MIN, INT64_MAX),
	FOI64("minor", struct oci_device_rule, minor, INT64_MIN, INT64_MAX),
	FLD("access", F_STR, struct oci_device_rule, access),
};
DEFINE_ELEM_PARSER(device_rule_elem, device_rule_fields)

static int parse_device_rules(yajl_val v, void *dst, const struct jpath *p,
			      struct husk_err **err)
{
	struct oci_resources *r = (struct oci_resources *)((char *)dst -
				  offsetof(struct oci_resources, devices));

	return parse_array(v, sizeof(struct oci_device_rule),
			   (void **)&r->devices, &r->n_devices,
			   device_rule_elem, p, err);
}

static const struct field memory_fields[] = {
	FOI64("limit", struct oci_memory, limit, INT64_MIN, INT64_MAX),
	FOI64("reservation", struct oci_memory, reservation, INT64_MIN,
	      INT64_MAX),
	FOI64("swap", struct oci_memory, swap, INT64_MIN, INT64_MAX),
	FOI64("kernel", struct oci_memory, kernel, INT64_MIN, INT64_MAX),
	FOI64("kernelTCP", struct oci_memory, kernel_tcp, INT64_MIN,
	      INT64_MAX),
	FOU64("swappiness", struct oci_memory, swappiness, UINT64_MAX),
	FLD("disableOOMKiller", F_OBOOL, struct oci_memory,
	    disable_oom_killer),
	FLD("useHierarchy", F_OBOOL, struct oci_memory, use_hierarchy),
	FLD("checkBeforeUpdate", F_OBOOL, struct oci_memory,
	    check_before_update),
};
DEFINE_OBJ_PARSER(parse_memory, struct oci_memory, memory_fields)

static const struct field cpu_fields[] = {
	FOU64("shares", struct oci_cpu, shares, UINT64_MAX),
	FOI64("quota", struct oci_cpu, quota, INT64_MIN, INT64_MAX),
	FOU64("burst", struct oci_cpu, burst, UINT64_MAX),
	FOU64("period", struct oci_cpu, period, UINT64_MAX),
	FOI64("realtimeRuntime", struct oci_cpu, realtime_runtime, INT64_MIN,
	      INT64_MAX),
	FOU64("realtimePeriod", struct oci_cpu, realtime_period, UINT64_MAX),
	FLD("cpus", F_STR, struct oci_cpu, cpus),
	FLD("mems", F_STR, struct oci_cpu, mems),
	FOI64("idle", struct oci_cpu, idle, INT64_MIN, INT64_MAX),
};
DEFINE_OBJ_PARSER(parse_cpu, struct oci_cpu, cpu_fields)

static const struct field pids_fields[] = {
	FOI64("limit", struct oci_resources, pids_limit, INT64_MIN, INT64_MAX),
};

static int parse_pids(yajl_val v, void *dst, const struct jpath *p,
		      struct husk_err **err)
{
	struct oci_resources *r = (struct oci_resources *)((char *)dst -
				  offsetof(struct oci_resources, pids_limit));

	r->has_pids = true;
	return PARSE_OBJ(v, pids_fields, r, NULL, p, err);
}

static const struct field weight_dev_fields[] = {
	FI64R("major", struct oci_weight_device, major, INT64_MIN, INT64_MAX),
	FI64R("minor", struct oci_weight_device, minor, INT64_MIN, INT64_MAX),
	FOU64("weight", struct oci_weight_device, weight, UINT16_MAX),
	FOU64("leafWeight", struct oci_weight_device, leaf_weight, UINT16_MAX),
};
DEFINE_ELEM_PARSER(weight_dev_elem, weight_dev_fields)

static int parse_weight_devs(yajl_val v, void *dst, const struct jpath *p,
			     struct husk_err **err)
{
	struct oci_block_io *b = (struct oci_block_io *)((char *)dst -
				 offsetof(struct oci_block_io, weight_device));

	return parse_array(v, sizeof(struct oci_weight_device),
			   (void **)&b->weight_device, &b->n_weight_device,
			   weight_dev_elem, p, err);
}

static const struct field throttle_fields[] = {
	FI64R("major", struct oci_throttle_device, major, INT64_MIN,
	      INT64_MAX),
	FI64R("minor", struct oci_throttle_device, minor, INT64_MIN,
	      INT64_MAX),
	FREQ("rate", F_U64, struct oci_throttle_device, rate),
};
DEFINE_ELEM_PARSER(throttle_elem, throttle_fields)

static int parse_throttle(yajl_val v, void *dst, const struct jpath *p,
			  struct husk_err **err)
{
	struct oci_throttle_list *l = dst;

	return parse_array(v, sizeof(struct oci_throttle_device),
			   (void **)&l->v, &l->n, throttle_elem, p, err);
}

static const struct field block_io_fields[] = {
	FOU64("weight", struct oci_block_io, weight, UINT16_MAX),
	FOU64("leafWeight", struct oci_block_io, leaf_weight, UINT16_MAX),
	FFN("weightDevice", struct oci_block_io, weight_device,
	    parse_weight_devs),
	FFN("throttleReadBpsDevice", struct oci_block_io, throttle_read_bps,
	    parse_throttle),
	FFN("throttleWriteBpsDevice", struct oci_block_io, throttle_write_bps,
	    parse_throttle),
	FFN("throttleReadIOPSDevice", struct oci_block_io, throttle_read_iops,
	    parse_throttle),
	FFN("throttleWriteIOPSDevice", struct oci_block_io,
	    throttle_write_iops, parse_throttle),
};
DEFINE_OBJ_PARSER(parse_block_io, struct oci_block_io, block_io_fields)

static const struct field hugepage_fields[] = {
	FLD("pageSize", F_STR, struct oci_hugepage_limit, page_size),
	FREQ("limit", F_U64, struct oci_hugepage_limit, limit),
};
DEFINE_ELEM_PARSER(hugepage_elem, hugepage_fields)

static int parse_hugepages(yajl_val v, void *dst, const struct jpath *p,
			   struct husk_err **err)
{
	struct oci_resources *r = (struct oci_resources *)((char *)dst -
				  offsetof(struct oci_resources,
					   hugepage_limits));

	return parse_array(v, sizeof(struct oci_hugepage_limit),
			   (void **)&r->hugepage_limits, &r->n_hugepage_limits,
			   hugepage_elem, p, err);
}

static const struct field net_prio_fields[] = {
	FLD("name", F_STR, struct oci_net_priority, name),
	FREQ("priority", F_U32, struct oci_net_priority, priority),
};
DEFINE_ELEM_PARSER(net_prio_elem, net_prio_fields)

static int parse_net_prios(yajl_val v, void *dst, const struct jpath *p,
			   struct husk_err **err)
{
	struct oci_network *n = (struct oci_network *)((char *)dst -
				offsetof(struct oci_network, priorities));

	return parse_array(v, sizeof(struct oci_net_priority),
			   (void **)&n->priorities, &n->n_priorities,
			   net_prio_elem, p, err);
}

static const struct field network_fields[] = {
	FOU64("classID", struct oci_network, class_id, UINT32_MAX),
	FFN("priorities", struct oci_network, priorities, parse_net_prios),
};
DEFINE_OBJ_PARSER(parse_network, struct oci_network, network_fields)

static const struct field rdma_fields[] = {
	FOU64("hcaHandles", struct oci_rdma, hca_handles, UINT32_MAX),
	FOU64("hcaObjects", struct oci_rdma, hca_objects, UINT32_MAX),
};

static int rdma_elem(const char *key, yajl_val v, void *slot,
		     const struct jpath *p, struct husk_err **err)
{
	struct oci_rdma *r = slot;

	r->device = husk_strdup(key);
	return PARSE_OBJ(v, rdma_fields, r, NULL, p, err);
}

static int parse_rdma(yajl_val v, void *dst, const struct jpath *p,
		      struct husk_err **err)
{
	struct oci_resources *r = (struct oci_resources *)((char *)dst -
				  offsetof(struct oci_resources, rdma));

	return parse_map(v, sizeof(struct oci_rdma), (void **)&r->rdma,
			 &r->n_rdma, rdma_elem, p, err);
}

static int parse_unified(yajl_val v, void *dst, const struct jpath *p,
			 struct husk_err **err)
{
	struct oci_resources *r = (struct oci_resources *)((char *)dst -
				  offsetof(struct oci_resources, unified));

	return parse_kv_map(v, &r->unified, &r->n_unified, p, err);
}

static const struct field resources_fields[] = {
	FFN("devices", struct oci_resources, devices, parse_device_rules),
	FFN("memory", struct oci_resources, memory, parse_memory),
	FFN("cpu", struct oci_resources, cpu, parse_cpu),
	FFN("pids", struct oci_resources, pids_limit, parse_pids),
	FFN("blockIO", struct oci_resources, block_io, parse_block_io),
	FFN("hugepageLimits", struct oci_resources, hugepage_limits,
	    parse_hugepages),
	FFN("network", struct oci_resources, network, parse_network),
	FFN("rdma", struct oci_resources, rdma, parse_rdma),
	FFN("unified", struct oci_resources, unified, parse_unified),
};
DEFINE_OBJ_PARSER(parse_resources, struct oci_resources, resources_fields)

/* ---- linux: the rest -------------------------------------------------------- */

static const struct field time_offset_fields[] = {
	FI64("secs", struct oci_time_offset, secs, INT64_MIN, INT64_MAX),
	FLD("nanosecs", F_U32, struct oci_time_offset, nanosecs),
};
DEFINE_OBJ_PARSER(parse_time_offset, struct oci_time_offset,
		  time_offset_fields)

/* linux.timeOffsets is a map keyed by clock name; only these two clocks
 * can be offset (time_namespaces(7)). */
static const struct field time_offsets_fields[] = {
	FFN("monotonic", struct oci_time_offsets, monotonic, parse_time_offset),
	FFN("boottime", struct oci_time_offsets, boottime, parse_time_offset),
};

static int parse_time_offsets(yajl_val v, void *dst, const struct jpath *p,
			      struct husk_err **err)
{
	struct oci_time_offsets *t = husk_calloc(1, sizeof(*t));

	*(struct oci_time_offsets **)dst = t;
	if (PARSE_OBJ(v, time_offsets_fields, t, NULL, p, err) < 0)
		return -1;
	for (size_t i = 0; i < v->u.object.len; i++) {
		const char *k = v->u.object.keys[i];
		struct jpath kp = {p, k, 0, false};

		if (strcmp(k, "monotonic") && strcmp(k, "boottime"))
			return perr(err, &kp, "unknown clock (want \"monotonic\" or \"boottime\")");
	}
	return 0;
}

static int parse_sysctl(yajl_val v, void *dst, const struct jpath *p,
			struct husk_err **err)
{
	struct oci_linux *l = (struct oci_linux *)((char *)dst -
			      offsetof(struct oci_linux, sysctl));

	return parse_kv_map(v, &l->sysctl, &l->n_sysctl, p, err);
}

static const struct field namespace_fields[] = {
	FLD("type", F_STR, struct oci_namespace, type_name),
	FLD("path", F_STR, struct oci_namespace, path),
};

static int namespace_elem(yajl_val v, void *slot, const struct jpath *p,
			  struct husk_err **err)
{
	struct oci_namespace *ns = slot;

	ns->type = OCI_NS_COUNT;
	if (PARSE_OBJ(v, namespace_fields, ns, NULL, p, err) < 0)
		return -1;
	if (ns->type_name)
		ns->type = oci_ns_type_from_name(ns->type_name);
	return 0;
}

static int parse_namespaces(yajl_val v, void *dst, const struct jpath *p,
			    struct husk_err **err)
{
	struct oci_linux *l = (struct oci_linux *)((char *)dst -
			      offsetof(struct oci_linux, namespaces));

	return parse_array(v, sizeof(struct oci_namespace),
			   (void **)&l->namespaces, &l->n_namespaces,
			   namespace_elem, p, err);
}

static const struct field device_fields[] = {
	FLD("type", F_STR, struct oci_device, type),
	FLD("path", F_STR, struct oci_device, path),
	FI64("major", struct oci_device, major, INT64_MIN, INT64_MAX),
	FI64("minor", struct oci_device, minor, INT64_MIN, INT64_MAX),
	FOU64("fileMode", struct oci_device, file_mode, UINT32_MAX),
	FOU64("uid", struct oci_device, uid, UINT32_MAX),
	FOU64("gid", struct oci_device, gid, UINT32_MAX),
};

static int device_elem(yajl_val v, void *slot, const struct jpath *p,
		       struct husk_err **err)
{
	struct oci_device *d = slot;
	uint64_t seen = 0;

	if (PARSE_OBJ(v, device_fields, d, &seen, p, err) < 0)
		return -1;
	d->has_major = seen & (1ull << 2);
	d->has_minor = seen & (1ull << 3);
	return 0;
}

static int parse_devices(yajl_val v, void *dst, const struct jpath *p,
			 struct husk_err **err)
{
	struct oci_linux *l = (struct oci_linux *)((char *)dst -
			      offsetof(struct oci_linux, devices));

	return parse_array(v, sizeof(struct oci_device), (void **)&l->devices,
			   &l->n_devices, device_elem, p, err);
}

static const struct field seccomp_arg_fields[] = {
	FREQ("index", F_U32, struct oci_seccomp_arg, index),
	FREQ("value", F_U64, struct oci_seccomp_arg, value),
	FLD("valueTwo", F_U64, struct oci_seccomp_arg, value_two),
	FLD("op", F_STR, struct oci_seccomp_arg, op),
};
DEFINE_ELEM_PARSER(seccomp_arg_elem, seccomp_arg_fields)

static int parse_seccomp_args(yajl_val v, void *dst, const struct jpath *p,
			      struct husk_err **err)
{
	struct oci_seccomp_syscall *s = (struct oci_seccomp_syscall *)((char *)dst -
					offsetof(struct oci_seccomp_syscall, args));

	return parse_array(v, sizeof(struct oci_seccomp_arg), (void **)&s->args,
			   &s->n_args, seccomp_arg_elem, p, err);
}

static const struct field syscall_fields[] = {
	FLD("names", F_STRV, struct oci_seccomp_syscall, names),
	FLD("action", F_STR, struct oci_seccomp_syscall, action),
	FOU64("errnoRet", struct oci_seccomp_syscall, errno_ret, UINT32_MAX),
	FFN("args", struct oci_seccomp_syscall, args, parse_seccomp_args),
};
DEFINE_ELEM_PARSER(syscall_elem, syscall_fields)

static int parse_syscalls(yajl_val v, void *dst, const struct jpath *p,
			  struct husk_err **err)
{
	struct oci_seccomp *s = (struct oci_seccomp *)((char *)dst -
				offsetof(struct oci_seccomp, syscalls));

	return parse_array(v, sizeof(struct oci_seccomp_syscall),
			   (void **)&s->syscalls, &s->n_syscalls, syscall_elem,
			   p, err);
}

static const struct field seccomp_fields[] = {
	FLD("defaultAction", F_STR, struct oci_seccomp, default_action),
	FOU64("defaultErrnoRet", struct oci_seccomp, default_errno_ret,
	      UINT32_MAX),
	FLD("architectures", F_STRV, struct oci_seccomp, architectures),
	FLD("flags", F_STRV, struct oci_seccomp, flags),
	FLD("listenerPath", F_STR, struct oci_seccomp, listener_path),
	FLD("listenerMetadata", F_STR, struct oci_seccomp, listener_metadata),
	FFN("syscalls", struct oci_seccomp, syscalls, parse_syscalls),
};
DEFINE_OBJ_PARSER(parse_seccomp, struct oci_seccomp, seccomp_fields)

static const struct field intel_rdt_fields[] = {
	FLD("closID", F_STR, struct oci_intel_rdt, clos_id),
	FLD("l3CacheSchema", F_STR, struct oci_intel_rdt, l3_cache_schema),
	FLD("memBwSchema", F_STR, struct oci_intel_rdt, mem_bw_schema),
	FLD("schemata", F_STRV, struct oci_intel_rdt, schemata),
	FLD("enableCMT", F_OBOOL, struct oci_intel_rdt, enable_cmt),
	FLD("enableMBM", F_OBOOL, struct oci_intel_rdt, enable_mbm),
};
DEFINE_OBJ_PARSER(parse_intel_rdt, struct oci_intel_rdt, intel_rdt_fields)

static const struct field personality_fields[] = {
	FLD("domain", F_STR, struct oci_personality, domain),
	FLD("flags", F_STRV, struct oci_personality, flags),
};
DEFINE_OBJ_PARSER(parse_personality, struct oci_personality,
		  personality_fields)

static const struct field memory_policy_fields[] = {
	FLD("mode", F_STR, struct oci_memory_policy, mode),
	FLD("nodes", F_STR, struct oci_memory_policy, nodes),
	FLD("flags", F_STRV, struct oci_memory_policy, flags),
};
DEFINE_OBJ_PARSER(parse_memory_policy, struct oci_memory_policy,
		  memory_policy_fields)

static const struct field net_device_fields[] = {
	FLD("name", F_STR, struct oci_net_device, name),
};

static int net_device_elem(const char *key, yajl_val v, void *slot,
			   const struct jpath *p, struct husk_err **err)
{
	struct oci_net_device *d = slot;

	d->host_name = husk_strdup(key);
	return PARSE_OBJ(v, net_device_fields, d, NULL, p, err);
}

static int parse_net_devices(yajl_val v, void *dst, const struct jpath *p,
			     struct husk_err **err)
{
	struct oci_linux *l = (struct oci_linux *)((char *)dst -
			      offsetof(struct oci_linux, net_devices));

	return parse_map(v, sizeof(struct oci_net_device),
			 (void **)&l->net_devices, &l->n_net_devices,
			 net_device_elem, p, err);
}

static const struct field linux_fields[] = {
	FFN("uidMappings", struct oci_linux, uid_mappings, parse_linux_uidmap),
	FFN("gidMappings", struct oci_linux, gid_mappings, parse_linux_gidmap),
	FFN("timeOffsets", struct oci_linux, time_offsets, parse_time_offsets),
	FFN("sysctl", struct oci_linux, sysctl, parse_sysctl),
	FFN("resources", struct oci_linux, resources, parse_resources),
	FLD("cgroupsPath", F_STR, struct oci_linux, cgroups_path),
	FFN("namespaces", struct oci_linux, namespaces, parse_namespaces),
	FFN("devices", struct oci_linux, devices, parse_devices),
	FFN("seccomp", struct oci_linux, seccomp, parse_seccomp),
	FLD("rootfsPropagation", F_STR, struct oci_linux, rootfs_propagation),
	FLD("maskedPaths", F_STRV, struct oci_linux, masked_paths),
	FLD("readonlyPaths", F_STRV, struct oci_linux, readonly_paths),
	FLD("mountLabel", F_STR, struct oci_linux, mount_label),
	FFN("intelRdt", struct oci_linux, intel_rdt, parse_intel_rdt),
	FFN("personality", struct oci_linux, personality, parse_personality),
	FFN("memoryPolicy", struct oci_linux, memory_policy,
	    parse_memory_policy),
	FFN("netDevices", struct oci_linux, net_devices, parse_net_devices),
};
DEFINE_OBJ_PARSER(parse_linux, struct oci_linux, linux_fields)

/* ---- the whole config ------------------------------------------------------- */

static int parse_mounts(yajl_val v, void *dst, const struct jpath *p,
			struct husk_err **err)
{
	struct oci_spec *s = (struct oci_spec *)((char *)dst -
			     offsetof(struct oci_spec, mounts));

	return parse_array(v, sizeof(struct oci_mount), (void **)&s->mounts,
			   &s->n_mounts, mount_elem, p, err);
}

static int parse_annotations(yajl_val v, void *dst, const struct jpath *p,
			     struct husk_err **err)
{
	struct oci_spec *s = (struct oci_spec *)((char *)dst -
			     offsetof(struct oci_spec, annotations));

	return parse_kv_map(v, &s->annotations, &s->n_annotations, p, err);
}

static const struct field spec_fields[] = {
	FLD("ociVersion", F_STR, struct oci_spec, oci_version),
	FFN("process", struct oci_spec, process, parse_process),
	FFN("root", struct oci_spec, root, parse_root),
	FLD("hostname", F_STR, struct oci_spec, hostname),
	FLD("domainname", F_STR, struct oci_spec, domainname),
	FFN("mounts", struct oci_spec, mounts, parse_mounts),
	FFN("hooks", struct oci_spec, hooks, parse_hooks),
	FFN("annotations", struct oci_spec, annotations, parse_annotations),
	FFN("linux", struct oci_spec, linux_, parse_linux),
};

/* ---- the JSON text ---------------------------------------------------------- */

/* One cheap pass before yajl sees the text: yajl's tree builder and
 * yajl_tree_free recurse once per nesting level, so a deeply nested
 * document would exhaust the stack; yajl hands strings over
 * NUL-terminated, so a \u0000 escape would silently cut a string short
 * (a path "/a\u0000/../x" must not become "/a"); and comments, which
 * yajl_tree_parse() allows, are refused as every other JSON reader does. */
static int json_prescan(const char *s, size_t len, struct husk_err **err)
{
	size_t depth = 0, i = 0;

	while (i < len) {
		char c = s[i];

		if (c == '"') {
			/* a string: only '"', '\\' and NUL matter */
			for (i++; i < len; i++) {
				c = s[i];
				if (c == '"' || c == '\\' || c == '\0') {
					if (c != '\\')
						break;
					if (i + 5 < len && s[i + 1] == 'u' &&
					    memcmp(s + i + 2, "0000", 4) == 0)
						return husk_err_set(err, EINVAL,
								    "invalid JSON: \\u0000 in a string at offset %zu",
								    i);
					i++;
				}
			}
			if (i >= len || c == '\0')
				continue;
		} else if (c == '\0') {
			return husk_err_set(err, EINVAL,
					    "invalid JSON: NUL byte at offset %zu",
					    i);
		} else if (c == '/') {
			/* yajl_tree_parse() turns comments on; JSON (and Go,
			 * which most tools that read configs use) has none */
			return husk_err_set(err, EINVAL,
					    "invalid JSON: comment at offset %zu",
					    i);
		} else if (c == '{' || c == '[') {
			if (++depth > OCI_SPEC_MAX_DEPTH)
				return husk_err_set(err, EINVAL,
						    "invalid JSON: nested deeper than %d levels",
						    OCI_SPEC_MAX_DEPTH);
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
		i++;
	}
	return 0;
}

static int json_parse(const char *json, size_t len, yajl_val *out,
		      struct husk_err **err)
{
	/* most configs fit: no malloc/free of a large block per parse */
	char stackbuf[16384];
	_cleanup_free_ char *heapbuf = NULL;
	char ebuf[256] = "", *buf = stackbuf;
	size_t n;

	if (len > OCI_SPEC_MAX_SIZE)
		return husk_err_set(err, EFBIG,
				    "invalid JSON: larger than %u bytes",
				    OCI_SPEC_MAX_SIZE);
	if (json_prescan(json, len, err) < 0)
		return -1;
	if (len >= sizeof(stackbuf)) {
		buf = heapbuf = malloc(len + 1);
		if (buf == NULL)
			return husk_err_set(err, ENOMEM, "out of memory");
	}
	memcpy(buf, json, len);
	buf[len] = '\0';
	*out = yajl_tree_parse(buf, ebuf, sizeof(ebuf));
	if (*out == NULL) {
		/* yajl's message continues with the text and a caret on
		 * further lines; one line is enough */
		n = strcspn(ebuf, "\n");
		while (n > 0 && (ebuf[n - 1] == ' ' || ebuf[n - 1] == '.'))
			n--;
		ebuf[n] = '\0';
		return husk_err_set(err, EINVAL, "invalid JSON: %s",
				    ebuf[0] ? ebuf : "parse error");
	}
	return 0;
}

struct yajl_holder {
	yajl_val v;
};
static void yajl_holder_free(struct yajl_holder *h)
{
	if (h->v)
		yajl_tree_free(h->v);
}
#define _cleanup_json_ __attribute__((cleanup(yajl_holder_free)))

int oci_spec_parse(const char *json, size_t len, struct oci_spec **out,
		   struct husk_err **err)
{
	_cleanup_json_ struct yajl_holder tree = {NULL};
	struct jpath root = {NULL, NULL, 0, false};
	struct oci_spec *spec;

	*out = NULL;
	if (json_parse(json, len, &tree.v, err) < 0)
		return -1;
	if (!YAJL_IS_OBJECT(tree.v))
		return husk_err_set(err, EINVAL,
				    "the document must be a JSON object");
	spec = husk_calloc(1, sizeof(*spec));
	if (PARSE_OBJ(tree.v, spec_fields, spec, NULL, &root, err) < 0) {
		oci_spec_free(spec);
		return -1;
	}
	*out = spec;
	return 0;
}

int oci_resources_parse(const char *json, size_t len,
			struct oci_resources **out, struct husk_err **err)
{
	_cleanup_json_ struct yajl_holder tree = {NULL};
	struct jpath root = {NULL, NULL, 0, false};
	struct oci_resources *r = NULL;

	*out = NULL;
	if (json_parse(json, len, &tree.v, err) < 0)
		return -1;
	if (!YAJL_IS_OBJECT(tree.v))
		return husk_err_set(err, EINVAL,
				    "the document must be a JSON object");
	if (parse_resources(tree.v, &r, &root, err) < 0) {
		oci_resources_free(r);
		return -1;
	}
	*out = r;
	return 0;
}

int oci_spec_load(const char *bundle, struct oci_spec **out,
		  struct husk_err **err)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	size_t len = 0;

	*out = NULL;
	path = husk_asprintf("%s/config.json", bundle);
	if (husk_read_file_at(AT_FDCWD, path, OCI_SPEC_MAX_SIZE, &text, &len,
			      err) < 0)
		return husk_err_prefix(err, "config.json");
	if (oci_spec_parse(text, len, out, err) < 0)
		return husk_err_prefix(err, "config.json");
	return 0;
}

/* ---- lookups ---------------------------------------------------------------- */

const char *oci_spec_annotation(const struct oci_spec *spec, const char *key)
{
	if (spec == NULL || key == NULL)
		return NULL;
	/* from the end: of duplicate keys the last one counts */
	for (size_t i = spec->n_annotations; i-- > 0;)
		if (spec->annotations[i].key &&
		    strcmp(spec->annotations[i].key, key) == 0)
			return spec->annotations[i].value;
	return NULL;
}

const struct oci_namespace *oci_spec_namespace(const struct oci_spec *spec,
					       enum oci_ns_type type)
{
	if (spec == NULL || spec->linux_ == NULL)
		return NULL;
	for (size_t i = 0; i < spec->linux_->n_namespaces; i++)
		if (spec->linux_->namespaces[i].type == type)
			return &spec->linux_->namespaces[i];
	return NULL;
}

static const char *const ns_names[OCI_NS_COUNT] = {
	[OCI_NS_PID] = "pid",	  [OCI_NS_NETWORK] = "network",
	[OCI_NS_MOUNT] = "mount", [OCI_NS_IPC] = "ipc",
	[OCI_NS_UTS] = "uts",	  [OCI_NS_USER] = "user",
	[OCI_NS_CGROUP] = "cgroup", [OCI_NS_TIME] = "time",
};

const char *oci_ns_type_name(enum oci_ns_type type)
{
	if ((unsigned)type >= OCI_NS_COUNT)
		return NULL;
	return ns_names[type];
}

enum oci_ns_type oci_ns_type_from_name(const char *name)
{
	if (name == NULL)
		return OCI_NS_COUNT;
	for (int i = 0; i < OCI_NS_COUNT; i++)
		if (strcmp(ns_names[i], name) == 0)
			return (enum oci_ns_type)i;
	return OCI_NS_COUNT;
}

/* ---- freeing ---------------------------------------------------------------- */

static void strv_free(struct oci_strv *s)
{
	if (s->v)
		for (size_t i = 0; i < s->n; i++)
			free(s->v[i]);
	free(s->v);
}

static void kv_free(struct oci_kv *kv, size_t n)
{
	if (kv)
		for (size_t i = 0; i < n; i++) {
			free(kv[i].key);
			free(kv[i].value);
		}
	free(kv);
}

static void hook_list_free(struct oci_hook_list *l)
{
	if (l->v)
		for (size_t i = 0; i < l->n; i++) {
			free(l->v[i].path);
			strv_free(&l->v[i].args);
			strv_free(&l->v[i].env);
		}
	free(l->v);
}

static void process_free(struct oci_process *p)
{
	if (p == NULL)
		return;
	free(p->console_size);
	free(p->user.additional_gids);
	free(p->user.username);
	strv_free(&p->args);
	free(p->command_line);
	strv_free(&p->env);
	free(p->cwd);
	if (p->capabilities) {
		strv_free(&p->capabilities->bounding);
		strv_free(&p->capabilities->effective);
		strv_free(&p->capabilities->inheritable);
		strv_free(&p->capabilities->permitted);
		strv_free(&p->capabilities->ambient);
		free(p->capabilities);
	}
	if (p->rlimits)
		for (size_t i = 0; i < p->n_rlimits; i++)
			free(p->rlimits[i].type);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	if (p->io_priority)
		free(p->io_priority->class);
	free(p->io_priority);
	if (p->scheduler) {
		free(p->scheduler->policy);
		strv_free(&p->scheduler->flags);
	}
	free(p->scheduler);
	if (p->exec_cpu_affinity) {
		free(p->exec_cpu_affinity->initial);
		free(p->exec_cpu_affinity->final);
	}
	free(p->exec_cpu_affinity);
	free(p);
}

void oci_resources_free(struct oci_resources *r)
{
	if (r == NULL)
		return;
	if (r->devices)
		for (size_t i = 0; i < r->n_devices; i++) {
			free(r->devices[i].type);
			free(r->devices[i].access);
		}
	free(r->devices);
	free(r->memory);
	if (r->cpu) {
		free(r->cpu->cpus);
		free(r->cpu->mems);
	}
	free(r->cpu);
	if (r->block_io) {
		free(r->block_io->weight_device);
		free(r->block_io->throttle_read_bps.v);
		free(r->block_io->throttle_write_bps.v);
		free(r->block_io->throttle_read_iops.v);
		free(r->block_io->throttle_write_iops.v);
	}
	free(r->block_io);
	if (r->hugepage_limits)
		for (size_t i = 0; i < r->n_hugepage_limits; i++)
			free(r->hugepage_limits[i].page_size);
	free(r->hugepage_limits);
	if (r->network) {
		if (r->network->priorities)
			for (size_t i = 0; i < r->network->n_priorities; i++)
				free(r->network->priorities[i].name);
		free(r->network->priorities);
	}
	free(r->network);
	if (r->rdma)
		for (size_t i = 0; i < r->n_rdma; i++)
			free(r->rdma[i].device);
	free(r->rdma);
	kv_free(r->unified, r->n_unified);
	free(r);
}

static void seccomp_free(struct oci_seccomp *s)
{
	if (s == NULL)
		return;
	free(s->default_action);
	strv_free(&s->architectures);
	strv_free(&s->flags);
	free(s->listener_path);
	free(s->listener_metadata);
	if (s->syscalls)
		for (size_t i = 0; i < s->n_syscalls; i++) {
			struct oci_seccomp_syscall *c = &s->syscalls[i];

			strv_free(&c->names);
			free(c->action);
			if (c->args)
				for (size_t j = 0; j < c->n_args; j++)
					free(c->args[j].op);
			free(c->args);
		}
	free(s->syscalls);
	free(s);
}

static void linux_free(struct oci_linux *l)
{
	if (l == NULL)
		return;
	free(l->uid_mappings);
	free(l->gid_mappings);
	if (l->time_offsets) {
		free(l->time_offsets->monotonic);
		free(l->time_offsets->boottime);
	}
	free(l->time_offsets);
	kv_free(l->sysctl, l->n_sysctl);
	oci_resources_free(l->resources);
	free(l->cgroups_path);
	if (l->namespaces)
		for (size_t i = 0; i < l->n_namespaces; i++) {
			free(l->namespaces[i].type_name);
			free(l->namespaces[i].path);
		}
	free(l->namespaces);
	if (l->devices)
		for (size_t i = 0; i < l->n_devices; i++) {
			free(l->devices[i].type);
			free(l->devices[i].path);
		}
	free(l->devices);
	seccomp_free(l->seccomp);
	free(l->rootfs_propagation);
	strv_free(&l->masked_paths);
	strv_free(&l->readonly_paths);
	free(l->mount_label);
	if (l->intel_rdt) {
		free(l->intel_rdt->clos_id);
		free(l->intel_rdt->l3_cache_schema);
		free(l->intel_rdt->mem_bw_schema);
		strv_free(&l->intel_rdt->schemata);
	}
	free(l->intel_rdt);
	if (l->personality) {
		free(l->personality->domain);
		strv_free(&l->personality->flags);
	}
	free(l->personality);
	if (l->memory_policy) {
		free(l->memory_policy->mode);
		free(l->memory_policy->nodes);
		strv_free(&l->memory_policy->flags);
	}
	free(l->memory_policy);
	if (l->net_devices)
		for (size_t i = 0; i < l->n_net_devices; i++) {
			free(l->net_devices[i].host_name);
			free(l->net_devices[i].name);
		}
	free(l->net_devices);
	free(l);
}

void oci_spec_free(struct oci_spec *spec)
{
	if (spec == NULL)
		return;
	free(spec->oci_version);
	process_free(spec->process);
	if (spec->root)
		free(spec->root->path);
	free(spec->root);
	free(spec->hostname);
	free(spec->domainname);
	if (spec->mounts)
		for (size_t i = 0; i < spec->n_mounts; i++) {
			struct oci_mount *m = &spec->mounts[i];

			free(m->destination);
			free(m->type);
			free(m->source);
			strv_free(&m->options);
			free(m->uid_mappings);
			free(m->gid_mappings);
		}
	free(spec->mounts);
	if (spec->hooks) {
		hook_list_free(&spec->hooks->prestart);
		hook_list_free(&spec->hooks->create_runtime);
		hook_list_free(&spec->hooks->create_container);
		hook_list_free(&spec->hooks->start_container);
		hook_list_free(&spec->hooks->poststart);
		hook_list_free(&spec->hooks->poststop);
	}
	free(spec->hooks);
	kv_free(spec->annotations, spec->n_annotations);
	linux_free(spec->linux_);
	free(spec);
}
