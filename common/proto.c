/* The host <-> husk-agent wire protocol: framing, strict JSON parsing into
 * typed messages, encoding. Spec: common/PROTOCOL.md. */
#include "common/proto.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "common/util.h"

static const char *const op_names[PROTO_OP__COUNT] = {
	[PROTO_OP_HELLO] = "hello",
	[PROTO_OP_PING] = "ping",
	[PROTO_OP_SHUTDOWN] = "shutdown",
	[PROTO_OP_CREATE] = "create",
	[PROTO_OP_START] = "start",
	[PROTO_OP_EXEC] = "exec",
	[PROTO_OP_SIGNAL] = "signal",
	[PROTO_OP_WAIT] = "wait",
	[PROTO_OP_RESIZE] = "resize",
	[PROTO_OP_STATS] = "stats",
	[PROTO_OP_UPDATE] = "update",
	[PROTO_OP_PAUSE] = "pause",
	[PROTO_OP_RESUME] = "resume",
	[PROTO_OP_DELETE] = "delete",
	[PROTO_OP_STATE] = "state",
	[PROTO_OP_ATTACH] = "attach",
};

static const char *const stream_names[PROTO_STREAM__COUNT] = {
	[PROTO_STREAM_STDIN] = "stdin",
	[PROTO_STREAM_STDOUT] = "stdout",
	[PROTO_STREAM_STDERR] = "stderr",
	[PROTO_STREAM_PTY] = "pty",
};

static const char *const status_names[] = {
	[PROTO_STATUS_CREATED] = "created",
	[PROTO_STATUS_RUNNING] = "running",
	[PROTO_STATUS_PAUSED] = "paused",
	[PROTO_STATUS_STOPPED] = "stopped",
};

/* A hostile string echoed in an error message: printable ASCII only, and
 * short, so the error itself is always valid UTF-8 and small. */
static void echo_safe(char *dst, size_t dstlen, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i + 4 < dstlen; i++)
		dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i]) {
		memcpy(dst + i, "...", 3);
		i += 3;
	}
	dst[i] = '\0';
}

const char *proto_op_name(enum proto_op op)
{
	if (op <= PROTO_OP_NONE || op >= PROTO_OP__COUNT)
		return "?";
	return op_names[op];
}

const char *proto_stream_name(enum proto_stream st)
{
	if ((int)st < 0 || st >= PROTO_STREAM__COUNT)
		return "?";
	return stream_names[st];
}

const char *proto_status_name(enum proto_status st)
{
	if (st < PROTO_STATUS_CREATED || st > PROTO_STATUS_STOPPED)
		return "?";
	return status_names[st];
}

int proto_check_name(const char *what, const char *s, struct husk_err **err)
{
	size_t n = strlen(s);

	if (n == 0 || n > PROTO_MAX_NAME || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '+' ||
		      c == '.' || c == '-'))
			goto bad;
	}
	return 0;
bad:;
	char safe[72];
	echo_safe(safe, sizeof(safe), s);
	return husk_err_set(err, EINVAL, "%s: invalid id \"%s\"", what, safe);
}

uint32_t proto_exit_status(int wstatus)
{
	if (WIFSIGNALED(wstatus))
		return 128 + (uint32_t)WTERMSIG(wstatus);
	if (WIFEXITED(wstatus))
		return (uint32_t)WEXITSTATUS(wstatus);
	return 255;
}

static void target_free(struct proto_target *t)
{
	free(t->container);
	free(t->exec);
}

void proto_msg_free(struct proto_msg *m)
{
	if (m == NULL)
		return;
	free(m->error);
	if (m->kind == PROTO_REPLY && m->op == PROTO_OP_HELLO) {
		free(m->rep.hello.agent);
		free(m->rep.hello.kernel);
	}
	if (m->kind == PROTO_REQUEST) {
		switch (m->op) {
		case PROTO_OP_CREATE:
			free(m->req.create.container);
			free(m->req.create.rootfs);
			free(m->req.create.config);
			break;
		case PROTO_OP_EXEC:
			target_free(&m->req.exec.t);
			free(m->req.exec.process);
			break;
		case PROTO_OP_UPDATE:
			free(m->req.update.container);
			free(m->req.update.resources);
			break;
		case PROTO_OP_DELETE:
			free(m->req.del.container);
			break;
		case PROTO_OP_START:
		case PROTO_OP_SIGNAL:
		case PROTO_OP_WAIT:
		case PROTO_OP_RESIZE:
		case PROTO_OP_STATS:
		case PROTO_OP_PAUSE:
		case PROTO_OP_RESUME:
		case PROTO_OP_STATE:
		case PROTO_OP_ATTACH:
			/* every one of these starts with its target */
			target_free(&m->req.target);
			break;
		default:
			break;
		}
	}
	memset(m, 0, sizeof(*m));
}

/* ---- strict JSON -------------------------------------------------------- */

/* yajl_tree_parse has no depth limit (its tree free recurses) and accepts
 * comments, so every body first goes through a validating pass that bounds
 * the nesting, refuses NUL characters in strings (C strings would silently
 * truncate them) and rejects trailing data; only then is the tree built. */
struct scan {
	int depth;
	const char *why;
};

static int scan_open(void *ctx)
{
	struct scan *s = ctx;

	if (++s->depth > PROTO_MAX_DEPTH) {
		s->why = "nesting deeper than " "32" " levels";
		return 0;
	}
	return 1;
}

static int scan_close(void *ctx)
{
	((struct scan *)ctx)->depth--;
	return 1;
}

static int scan_str(void *ctx, const unsigned char *str, size_t len)
{
	if (memchr(str, '\0', len)) {
		((struct scan *)ctx)->why = "string contains a NUL character";
		return 0;
	}
	return 1;
}

static const yajl_callbacks scan_cbs = {
	.yajl_string = scan_str,
	.yajl_start_map = scan_open,
	.yajl_map_key = scan_str,
	.yajl_end_map = scan_close,
	.yajl_start_array = scan_open,
	.yajl_end_array = scan_close,
};

_Static_assert(PROTO_MAX_DEPTH == 32, "update the depth error message");

static int json_parse(const char *buf, size_t len, yajl_val *out,
		      struct husk_err **err)
{
	struct scan s = {0, NULL};
	_cleanup_free_ char *copy = NULL;
	char ebuf[128];
	yajl_handle h;
	yajl_status st;
	yajl_val v;

	if (len == 0)
		return husk_err_set(err, EBADMSG, "empty message");
	if (len > PROTO_MAX_FRAME)
		return husk_err_set(err, EMSGSIZE,
				    "message of %zu bytes exceeds %u bytes",
				    len, PROTO_MAX_FRAME);
	if (memchr(buf, '\0', len))
		return husk_err_set(err, EBADMSG,
				    "message contains a NUL byte");
	h = yajl_alloc(&scan_cbs, NULL, &s);
	if (h == NULL)
		return husk_err_set(err, ENOMEM, "yajl_alloc");
	st = yajl_parse(h, (const unsigned char *)buf, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	if (st != yajl_status_ok) {
		int r;
		if (s.why) {
			r = husk_err_set(err, EBADMSG, "invalid JSON: %s",
					 s.why);
		} else {
			unsigned char *e = yajl_get_error(h, 0, NULL, 0);
			char *nl;
			snprintf(ebuf, sizeof(ebuf), "%s",
				 e ? (char *)e : "parse error");
			if ((nl = strchr(ebuf, '\n')))
				*nl = '\0';
			if (e)
				yajl_free_error(h, e);
			r = husk_err_set(err, EBADMSG, "invalid JSON: %s",
					 ebuf);
		}
		yajl_free(h);
		return r;
	}
	yajl_free(h);

	copy = husk_reallocarray(NULL, len + 1, 1);
	memcpy(copy, buf, len);
	copy[len] = '\0';
	v = yajl_tree_parse(copy, ebuf, sizeof(ebuf));
	if (v == NULL)
		return husk_err_set(err, EBADMSG, "invalid JSON: %s", ebuf);
	if (!YAJL_IS_OBJECT(v)) {
		yajl_tree_free(v);
		return husk_err_set(err, EBADMSG,
				    "message is not a JSON object");
	}
	*out = v;
	return 0;
}

static void json_freep(yajl_val *v)
{
	if (*v)
		yajl_tree_free(*v);
}
#define _cleanup_json_ __attribute__((cleanup(json_freep)))

/* The values of the keys a message knows, each found at most once. Keys it
 * does not know are ignored, so a newer peer may add fields. */
struct field {
	const char *key;
	yajl_val v;
};

static int fields_collect(yajl_val obj, struct field *f, size_t n,
			  struct husk_err **err)
{
	for (size_t i = 0; i < obj->u.object.len; i++) {
		const char *k = obj->u.object.keys[i];
		for (size_t j = 0; j < n; j++) {
			if (strcmp(k, f[j].key) != 0)
				continue;
			if (f[j].v)
				return husk_err_set(err, EBADMSG,
						    "%s: duplicate key", k);
			f[j].v = obj->u.object.values[i];
		}
	}
	return 0;
}

static yajl_val field_get(struct field *f, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(f[i].key, key) == 0)
			return f[i].v;
	return NULL;
}

/* JSON numbers are checked from their text: yajl's integer flag is not
 * reliable across versions, and only plain decimal digits are accepted
 * (no sign, fraction or exponent). */
static int get_uint(yajl_val v, const char *key, uint64_t min, uint64_t max,
		    uint64_t *out, struct husk_err **err)
{
	const char *p;
	uint64_t x = 0;

	if (v == NULL)
		return husk_err_set(err, EBADMSG, "%s: missing", key);
	if (!YAJL_IS_NUMBER(v))
		return husk_err_set(err, EBADMSG, "%s: must be an integer",
				    key);
	p = v->u.number.r;
	if (p == NULL || *p == '\0' || (p[0] == '0' && p[1] != '\0'))
		goto bad;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		if (x > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			goto range;
		x = x * 10 + (uint64_t)(*p - '0');
	}
	if (x < min || x > max)
		goto range;
	*out = x;
	return 0;
bad:
	return husk_err_set(err, EBADMSG, "%s: must be an integer", key);
range:
	return husk_err_set(err, ERANGE, "%s: must be in %llu..%llu", key,
			    (unsigned long long)min, (unsigned long long)max);
}

static int get_u32(yajl_val v, const char *key, uint32_t min, uint32_t *out,
		   struct husk_err **err)
{
	uint64_t x;

	if (get_uint(v, key, min, UINT32_MAX, &x, err) < 0)
		return -1;
	*out = (uint32_t)x;
	return 0;
}

static int get_str(yajl_val v, const char *key, char **out,
		   struct husk_err **err)
{
	if (v == NULL)
		return husk_err_set(err, EBADMSG, "%s: missing", key);
	if (!YAJL_IS_STRING(v))
		return husk_err_set(err, EBADMSG, "%s: must be a string", key);
	if (strlen(v->u.string) > PROTO_MAX_STR)
		return husk_err_set(err, EMSGSIZE,
				    "%s: longer than %d bytes", key,
				    PROTO_MAX_STR);
	*out = husk_strdup(v->u.string);
	return 0;
}

static int get_bool(yajl_val v, const char *key, bool *out,
		    struct husk_err **err)
{
	if (v == NULL)
		return husk_err_set(err, EBADMSG, "%s: missing", key);
	if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
		return husk_err_set(err, EBADMSG, "%s: must be true or false",
				    key);
	*out = YAJL_IS_TRUE(v);
	return 0;
}

/* ---- per-op bodies ------------------------------------------------------ */

/* Every op names the keys of its request and its ok-reply beyond id, op,
 * ok and error, with a parser and an encoder for each; a new op is one
 * more row. */
struct op_desc {
	const char *req_keys[7];
	const char *rep_keys[6];
	int (*parse_req)(struct field *f, size_t n, struct proto_msg *m,
			 struct husk_err **err);
	int (*parse_rep)(struct field *f, size_t n, struct proto_msg *m,
			 struct husk_err **err);
	int (*gen_req)(yajl_gen g, const struct proto_msg *m);
	int (*gen_rep)(yajl_gen g, const struct proto_msg *m);
};

static int hello_parse_req(struct field *f, size_t n, struct proto_msg *m,
			   struct husk_err **err)
{
	return get_u32(field_get(f, n, "version"), "version", 1,
		       &m->req.hello.version, err);
}

static int hello_parse_rep(struct field *f, size_t n, struct proto_msg *m,
			   struct husk_err **err)
{
	struct proto_hello_reply *h = &m->rep.hello;
	uint64_t boot;

	if (get_u32(field_get(f, n, "version"), "version", 1, &h->version,
		    err) < 0 ||
	    get_str(field_get(f, n, "agent"), "agent", &h->agent, err) < 0 ||
	    get_uint(field_get(f, n, "boot_ms"), "boot_ms", 0, PROTO_MAX_ID,
		     &boot, err) < 0 ||
	    get_u32(field_get(f, n, "nproc"), "nproc", 1, &h->nproc, err) < 0 ||
	    get_str(field_get(f, n, "kernel"), "kernel", &h->kernel, err) < 0)
		return -1;
	h->boot_ms = boot;
	return 0;
}

#define GEN_KEY(g, k) yajl_gen_string(g, (const unsigned char *)(k), strlen(k))

static int gen_str(yajl_gen g, const char *k, const char *v)
{
	if (GEN_KEY(g, k) != yajl_gen_status_ok)
		return -1;
	v = v ? v : "";
	return yajl_gen_string(g, (const unsigned char *)v, strlen(v)) ==
			       yajl_gen_status_ok ? 0 : -1;
}

static int gen_uint(yajl_gen g, const char *k, uint64_t v)
{
	char num[24];

	if (GEN_KEY(g, k) != yajl_gen_status_ok)
		return -1;
	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	return yajl_gen_number(g, num, strlen(num)) == yajl_gen_status_ok ?
		       0 : -1;
}

static int hello_gen_req(yajl_gen g, const struct proto_msg *m)
{
	return gen_uint(g, "version", m->req.hello.version);
}

static int hello_gen_rep(yajl_gen g, const struct proto_msg *m)
{
	const struct proto_hello_reply *h = &m->rep.hello;

	if (gen_uint(g, "version", h->version) < 0 ||
	    gen_str(g, "agent", h->agent) < 0 ||
	    gen_uint(g, "boot_ms", h->boot_ms) < 0 ||
	    gen_uint(g, "nproc", h->nproc) < 0 ||
	    gen_str(g, "kernel", h->kernel) < 0)
		return -1;
	return 0;
}

/* ---- version 2 fields --------------------------------------------------- */

static int get_str_max(yajl_val v, const char *key, size_t max, char **out,
		       struct husk_err **err)
{
	if (v == NULL)
		return husk_err_set(err, EBADMSG, "%s: missing", key);
	if (!YAJL_IS_STRING(v))
		return husk_err_set(err, EBADMSG, "%s: must be a string", key);
	if (strlen(v->u.string) > max)
		return husk_err_set(err, EMSGSIZE, "%s: longer than %zu bytes",
				    key, max);
	*out = husk_strdup(v->u.string);
	return 0;
}

static int get_name(yajl_val v, const char *key, char **out,
		    struct husk_err **err)
{
	char *s = NULL;

	if (get_str_max(v, key, PROTO_MAX_STR, &s, err) < 0)
		return -1;
	if (proto_check_name(key, s, err) < 0) {
		free(s);
		return -1;
	}
	*out = s;
	return 0;
}

static int get_opt_bool(yajl_val v, const char *key, bool *out,
			struct husk_err **err)
{
	*out = false;
	return v == NULL ? 0 : get_bool(v, key, out, err);
}

#define F(key) field_get(f, n, key)

static int target_parse(struct field *f, size_t n, struct proto_target *t,
			bool exec_required, struct husk_err **err)
{
	if (get_name(F("container"), "container", &t->container, err) < 0)
		return -1;
	if (F("exec") == NULL && !exec_required)
		return 0;
	return get_name(F("exec"), "exec", &t->exec, err);
}

static int stdio_parse(struct field *f, size_t n, bool stdio[3],
		       struct husk_err **err)
{
	for (int i = 0; i < 3; i++)
		if (get_opt_bool(F(stream_names[i]), stream_names[i], &stdio[i],
				 err) < 0)
			return -1;
	return 0;
}

static int create_parse_req(struct field *f, size_t n, struct proto_msg *m,
			    struct husk_err **err)
{
	struct proto_create_req *c = &m->req.create;

	if (get_name(F("container"), "container", &c->container, err) < 0 ||
	    get_str(F("rootfs"), "rootfs", &c->rootfs, err) < 0)
		return -1;
	if (c->rootfs[0] != '/')
		return husk_err_set(err, EINVAL,
				    "rootfs: must be an absolute path");
	if (get_str_max(F("config"), "config", PROTO_MAX_DOC, &c->config,
			err) < 0)
		return -1;
	return stdio_parse(f, n, c->stdio, err);
}

static int target_parse_req(struct field *f, size_t n, struct proto_msg *m,
			    struct husk_err **err)
{
	return target_parse(f, n, &m->req.target, false, err);
}

static int container_parse_req(struct field *f, size_t n,
			       struct proto_msg *m, struct husk_err **err)
{
	return get_name(F("container"), "container", &m->req.target.container,
			err);
}

static int exec_parse_req(struct field *f, size_t n, struct proto_msg *m,
			  struct husk_err **err)
{
	struct proto_exec_req *e = &m->req.exec;

	if (target_parse(f, n, &e->t, true, err) < 0 ||
	    get_str_max(F("process"), "process", PROTO_MAX_DOC, &e->process,
			err) < 0)
		return -1;
	return stdio_parse(f, n, e->stdio, err);
}

static int signal_parse_req(struct field *f, size_t n, struct proto_msg *m,
			    struct husk_err **err)
{
	struct proto_signal_req *s = &m->req.signal;
	uint64_t x;

	if (target_parse(f, n, &s->t, false, err) < 0 ||
	    get_uint(F("signal"), "signal", 1, PROTO_MAX_SIG, &x, err) < 0)
		return -1;
	s->signal = (uint32_t)x;
	if (get_opt_bool(F("all"), "all", &s->all, err) < 0)
		return -1;
	if (s->all && s->t.exec)
		return husk_err_set(err, EINVAL,
				    "all: only for the container's init "
				    "(no exec)");
	return 0;
}

static int wait_parse_req(struct field *f, size_t n, struct proto_msg *m,
			  struct husk_err **err)
{
	struct proto_wait_req *w = &m->req.wait;

	if (target_parse(f, n, &w->t, false, err) < 0)
		return -1;
	return get_opt_bool(F("guard"), "guard", &w->guard, err);
}

static int get_u16(yajl_val v, const char *key, uint32_t *out,
		   struct husk_err **err)
{
	uint64_t x;

	if (get_uint(v, key, 0, 65535, &x, err) < 0)
		return -1;
	*out = (uint32_t)x;
	return 0;
}

static int resize_parse_req(struct field *f, size_t n, struct proto_msg *m,
			    struct husk_err **err)
{
	struct proto_resize_req *r = &m->req.resize;

	if (target_parse(f, n, &r->t, false, err) < 0 ||
	    get_u16(F("rows"), "rows", &r->rows, err) < 0 ||
	    get_u16(F("cols"), "cols", &r->cols, err) < 0)
		return -1;
	return 0;
}

static int update_parse_req(struct field *f, size_t n, struct proto_msg *m,
			    struct husk_err **err)
{
	struct proto_update_req *u = &m->req.update;

	if (get_name(F("container"), "container", &u->container, err) < 0)
		return -1;
	return get_str_max(F("resources"), "resources", PROTO_MAX_DOC,
			   &u->resources, err);
}

static int delete_parse_req(struct field *f, size_t n, struct proto_msg *m,
			    struct husk_err **err)
{
	struct proto_delete_req *d = &m->req.del;

	if (get_name(F("container"), "container", &d->container, err) < 0)
		return -1;
	return get_opt_bool(F("force"), "force", &d->force, err);
}

static int attach_parse_req(struct field *f, size_t n, struct proto_msg *m,
			    struct husk_err **err)
{
	struct proto_attach_req *a = &m->req.attach;
	yajl_val v = F("stream");

	if (target_parse(f, n, &a->t, false, err) < 0)
		return -1;
	if (v == NULL)
		return husk_err_set(err, EBADMSG, "stream: missing");
	if (YAJL_IS_STRING(v))
		for (int i = 0; i < PROTO_STREAM__COUNT; i++)
			if (strcmp(v->u.string, stream_names[i]) == 0) {
				a->stream = (enum proto_stream)i;
				return 0;
			}
	return husk_err_set(err, EINVAL,
			    "stream: must be one of stdin, stdout, stderr, "
			    "pty");
}

static int pid_parse_rep(struct field *f, size_t n, struct proto_msg *m,
			 struct husk_err **err)
{
	uint64_t x;

	if (get_uint(F("pid"), "pid", 1, PROTO_MAX_PID, &x, err) < 0)
		return -1;
	m->rep.pid.pid = (uint32_t)x;
	return 0;
}

static int wait_parse_rep(struct field *f, size_t n, struct proto_msg *m,
			  struct husk_err **err)
{
	uint64_t x;

	if (get_uint(F("status"), "status", 0, 255, &x, err) < 0)
		return -1;
	m->rep.wait.status = (uint32_t)x;
	return 0;
}

static const char *const stats_keys[] = {
	"cpu_usage_ns", "memory_usage", "memory_limit", "pids_current",
	"pids_limit",
};

static uint64_t *stats_field(struct proto_stats_reply *s, size_t i)
{
	uint64_t *v[] = {&s->cpu_usage_ns, &s->memory_usage, &s->memory_limit,
			 &s->pids_current, &s->pids_limit};
	return v[i];
}

static int stats_parse_rep(struct field *f, size_t n, struct proto_msg *m,
			   struct husk_err **err)
{
	for (size_t i = 0; i < ARRAY_SIZE(stats_keys); i++)
		if (get_uint(F(stats_keys[i]), stats_keys[i], 0, INT64_MAX,
			     stats_field(&m->rep.stats, i), err) < 0)
			return -1;
	return 0;
}

static int state_parse_rep(struct field *f, size_t n, struct proto_msg *m,
			   struct husk_err **err)
{
	struct proto_state_reply *s = &m->rep.state;
	yajl_val v = F("status");
	uint64_t x;

	if (get_uint(F("pid"), "pid", 0, PROTO_MAX_PID, &x, err) < 0)
		return -1;
	s->pid = (uint32_t)x;
	if (v == NULL)
		return husk_err_set(err, EBADMSG, "status: missing");
	for (int i = PROTO_STATUS_CREATED;
	     YAJL_IS_STRING(v) && i <= PROTO_STATUS_STOPPED; i++)
		if (strcmp(v->u.string, status_names[i]) == 0)
			s->status = (enum proto_status)i;
	if (s->status == 0)
		return husk_err_set(err, EINVAL,
				    "status: must be one of created, running, "
				    "paused, stopped");
	if (get_uint(F("exit_status"), "exit_status", 0, 255, &x, err) < 0)
		return -1;
	s->exit_status = (uint32_t)x;
	return 0;
}

#undef F

static int gen_bool(yajl_gen g, const char *k, bool v)
{
	if (GEN_KEY(g, k) != yajl_gen_status_ok)
		return -1;
	return yajl_gen_bool(g, v) == yajl_gen_status_ok ? 0 : -1;
}

static int target_gen(yajl_gen g, const struct proto_target *t)
{
	if (gen_str(g, "container", t->container) < 0)
		return -1;
	return t->exec ? gen_str(g, "exec", t->exec) : 0;
}

/* Only the true ones: false is the default. */
static int stdio_gen(yajl_gen g, const bool stdio[3])
{
	for (int i = 0; i < 3; i++)
		if (stdio[i] && gen_bool(g, stream_names[i], true) < 0)
			return -1;
	return 0;
}

static int create_gen_req(yajl_gen g, const struct proto_msg *m)
{
	const struct proto_create_req *c = &m->req.create;

	if (gen_str(g, "container", c->container) < 0 ||
	    gen_str(g, "rootfs", c->rootfs) < 0 ||
	    gen_str(g, "config", c->config) < 0)
		return -1;
	return stdio_gen(g, c->stdio);
}

static int target_gen_req(yajl_gen g, const struct proto_msg *m)
{
	return target_gen(g, &m->req.target);
}

static int container_gen_req(yajl_gen g, const struct proto_msg *m)
{
	return gen_str(g, "container", m->req.target.container);
}

static int exec_gen_req(yajl_gen g, const struct proto_msg *m)
{
	const struct proto_exec_req *e = &m->req.exec;

	if (target_gen(g, &e->t) < 0 || gen_str(g, "process", e->process) < 0)
		return -1;
	return stdio_gen(g, e->stdio);
}

static int signal_gen_req(yajl_gen g, const struct proto_msg *m)
{
	const struct proto_signal_req *s = &m->req.signal;

	if (target_gen(g, &s->t) < 0 || gen_uint(g, "signal", s->signal) < 0)
		return -1;
	return s->all ? gen_bool(g, "all", true) : 0;
}

static int wait_gen_req(yajl_gen g, const struct proto_msg *m)
{
	const struct proto_wait_req *w = &m->req.wait;

	if (target_gen(g, &w->t) < 0)
		return -1;
	return w->guard ? gen_bool(g, "guard", true) : 0;
}

static int resize_gen_req(yajl_gen g, const struct proto_msg *m)
{
	const struct proto_resize_req *r = &m->req.resize;

	if (target_gen(g, &r->t) < 0 || gen_uint(g, "rows", r->rows) < 0 ||
	    gen_uint(g, "cols", r->cols) < 0)
		return -1;
	return 0;
}

static int update_gen_req(yajl_gen g, const struct proto_msg *m)
{
	if (gen_str(g, "container", m->req.update.container) < 0)
		return -1;
	return gen_str(g, "resources", m->req.update.resources);
}

static int delete_gen_req(yajl_gen g, const struct proto_msg *m)
{
	if (gen_str(g, "container", m->req.del.container) < 0)
		return -1;
	return m->req.del.force ? gen_bool(g, "force", true) : 0;
}

static int attach_gen_req(yajl_gen g, const struct proto_msg *m)
{
	if (target_gen(g, &m->req.attach.t) < 0)
		return -1;
	return gen_str(g, "stream", proto_stream_name(m->req.attach.stream));
}

static int pid_gen_rep(yajl_gen g, const struct proto_msg *m)
{
	return gen_uint(g, "pid", m->rep.pid.pid);
}

static int wait_gen_rep(yajl_gen g, const struct proto_msg *m)
{
	return gen_uint(g, "status", m->rep.wait.status);
}

static int stats_gen_rep(yajl_gen g, const struct proto_msg *m)
{
	struct proto_stats_reply s = m->rep.stats;

	for (size_t i = 0; i < ARRAY_SIZE(stats_keys); i++)
		if (gen_uint(g, stats_keys[i], *stats_field(&s, i)) < 0)
			return -1;
	return 0;
}

static int state_gen_rep(yajl_gen g, const struct proto_msg *m)
{
	const struct proto_state_reply *s = &m->rep.state;

	if (gen_uint(g, "pid", s->pid) < 0 ||
	    gen_str(g, "status", proto_status_name(s->status)) < 0 ||
	    gen_uint(g, "exit_status", s->exit_status) < 0)
		return -1;
	return 0;
}

#define TARGET_KEYS "container", "exec"
#define STDIO_KEYS "stdin", "stdout", "stderr"

static const struct op_desc ops[PROTO_OP__COUNT] = {
	[PROTO_OP_HELLO] = {
		.req_keys = {"version"},
		.rep_keys = {"version", "agent", "boot_ms", "nproc", "kernel"},
		.parse_req = hello_parse_req,
		.parse_rep = hello_parse_rep,
		.gen_req = hello_gen_req,
		.gen_rep = hello_gen_rep,
	},
	[PROTO_OP_PING] = {{NULL}, {NULL}, NULL, NULL, NULL, NULL},
	[PROTO_OP_SHUTDOWN] = {{NULL}, {NULL}, NULL, NULL, NULL, NULL},
	[PROTO_OP_CREATE] = {
		.req_keys = {"container", "rootfs", "config", STDIO_KEYS},
		.rep_keys = {"pid"},
		.parse_req = create_parse_req,
		.parse_rep = pid_parse_rep,
		.gen_req = create_gen_req,
		.gen_rep = pid_gen_rep,
	},
	[PROTO_OP_START] = {
		.req_keys = {"container"},
		.parse_req = container_parse_req,
		.gen_req = container_gen_req,
	},
	[PROTO_OP_EXEC] = {
		.req_keys = {TARGET_KEYS, "process", STDIO_KEYS},
		.rep_keys = {"pid"},
		.parse_req = exec_parse_req,
		.parse_rep = pid_parse_rep,
		.gen_req = exec_gen_req,
		.gen_rep = pid_gen_rep,
	},
	[PROTO_OP_SIGNAL] = {
		.req_keys = {TARGET_KEYS, "signal", "all"},
		.parse_req = signal_parse_req,
		.gen_req = signal_gen_req,
	},
	[PROTO_OP_WAIT] = {
		.req_keys = {TARGET_KEYS, "guard"},
		.rep_keys = {"status"},
		.parse_req = wait_parse_req,
		.parse_rep = wait_parse_rep,
		.gen_req = wait_gen_req,
		.gen_rep = wait_gen_rep,
	},
	[PROTO_OP_RESIZE] = {
		.req_keys = {TARGET_KEYS, "rows", "cols"},
		.parse_req = resize_parse_req,
		.gen_req = resize_gen_req,
	},
	[PROTO_OP_STATS] = {
		.req_keys = {"container"},
		.rep_keys = {"cpu_usage_ns", "memory_usage", "memory_limit",
			     "pids_current", "pids_limit"},
		.parse_req = container_parse_req,
		.parse_rep = stats_parse_rep,
		.gen_req = container_gen_req,
		.gen_rep = stats_gen_rep,
	},
	[PROTO_OP_UPDATE] = {
		.req_keys = {"container", "resources"},
		.parse_req = update_parse_req,
		.gen_req = update_gen_req,
	},
	[PROTO_OP_PAUSE] = {
		.req_keys = {"container"},
		.parse_req = container_parse_req,
		.gen_req = container_gen_req,
	},
	[PROTO_OP_RESUME] = {
		.req_keys = {"container"},
		.parse_req = container_parse_req,
		.gen_req = container_gen_req,
	},
	[PROTO_OP_DELETE] = {
		.req_keys = {"container", "force"},
		.parse_req = delete_parse_req,
		.gen_req = delete_gen_req,
	},
	[PROTO_OP_STATE] = {
		.req_keys = {TARGET_KEYS},
		.rep_keys = {"pid", "status", "exit_status"},
		.parse_req = target_parse_req,
		.parse_rep = state_parse_rep,
		.gen_req = target_gen_req,
		.gen_rep = state_gen_rep,
	},
	[PROTO_OP_ATTACH] = {
		.req_keys = {TARGET_KEYS, "stream"},
		.parse_req = attach_parse_req,
		.gen_req = attach_gen_req,
	},
};

/* id, op/ok, error, then the op's own keys. */
#define MAX_FIELDS (3 + 7)

static size_t fields_init(struct field *f, const char *const *common,
			  const char *const *own, size_t own_max)
{
	size_t n = 0;

	for (; *common; common++)
		f[n++] = (struct field){*common, NULL};
	for (size_t i = 0; i < own_max && own && own[i]; i++)
		f[n++] = (struct field){own[i], NULL};
	return n;
}

/* ---- parsing ------------------------------------------------------------ */

int proto_parse_request(const char *buf, size_t len, struct proto_msg *m,
			struct husk_err **err)
{
	static const char *const common[] = {"id", "op", NULL};
	_cleanup_json_ yajl_val root = NULL;
	struct field f[MAX_FIELDS];
	_cleanup_free_ char *op = NULL;
	size_t n;

	memset(m, 0, sizeof(*m));
	m->kind = PROTO_REQUEST;
	if (json_parse(buf, len, &root, err) < 0)
		return -1;
	n = fields_init(f, common, NULL, 0);
	if (fields_collect(root, f, n, err) < 0)
		return -1;
	if (get_uint(f[0].v, "id", 0, PROTO_MAX_ID, &m->id, err) < 0)
		return -1;
	m->has_id = true;
	if (get_str(f[1].v, "op", &op, err) < 0)
		return -1;
	for (int i = PROTO_OP_NONE + 1; i < PROTO_OP__COUNT; i++)
		if (strcmp(op, op_names[i]) == 0)
			m->op = (enum proto_op)i;
	if (m->op == PROTO_OP_NONE) {
		char safe[72];
		echo_safe(safe, sizeof(safe), op);
		return husk_err_set(err, EOPNOTSUPP,
				    "op: unknown operation \"%s\"", safe);
	}
	if (ops[m->op].parse_req == NULL)
		return 0;
	n = fields_init(f, common, ops[m->op].req_keys,
			ARRAY_SIZE(ops[m->op].req_keys));
	if (fields_collect(root, f, n, err) < 0)
		return -1;
	if (ops[m->op].parse_req(f, n, m, err) < 0) {
		/* Keep what the agent needs to answer with an error. */
		uint64_t id = m->id;
		enum proto_op o = m->op;
		proto_msg_free(m);
		m->kind = PROTO_REQUEST;
		m->op = o;
		m->has_id = true;
		m->id = id;
		return -1;
	}
	return 0;
}

int proto_parse_reply(const char *buf, size_t len, enum proto_op op,
		      struct proto_msg *m, struct husk_err **err)
{
	static const char *const common[] = {"id", "ok", "error", NULL};
	_cleanup_json_ yajl_val root = NULL;
	struct field f[MAX_FIELDS];
	size_t n;
	int r;

	memset(m, 0, sizeof(*m));
	if (op <= PROTO_OP_NONE || op >= PROTO_OP__COUNT)
		return husk_err_set(err, EINVAL, "reply to unknown op %d", op);
	if (json_parse(buf, len, &root, err) < 0)
		return -1;
	n = fields_init(f, common, ops[op].rep_keys,
			ARRAY_SIZE(ops[op].rep_keys));
	if (fields_collect(root, f, n, err) < 0)
		return -1;
	if (get_bool(f[1].v, "ok", &m->ok, err) < 0)
		return -1;
	/* An agent that could not read a request's id still answers, without
	 * one; that can only be an error. */
	if (f[0].v || m->ok) {
		if (get_uint(f[0].v, "id", 0, PROTO_MAX_ID, &m->id, err) < 0)
			return -1;
		m->has_id = true;
	}
	if (!m->ok) {
		if (get_str(f[2].v, "error", &m->error, err) < 0)
			return -1;
		m->kind = PROTO_REPLY;
		m->op = op;
		return 0;
	}
	/* Set kind and op only now: proto_msg_free frees op-specific strings
	 * by them, and the parsers fill those one by one. */
	m->kind = PROTO_REPLY;
	m->op = op;
	if (ops[op].parse_rep == NULL)
		return 0;
	r = ops[op].parse_rep(f, n, m, err);
	if (r < 0)
		proto_msg_free(m);
	return r;
}

/* ---- encoding ----------------------------------------------------------- */

static int gen_body(yajl_gen g, const struct proto_msg *m)
{
	const struct op_desc *d = &ops[m->op];

	if (yajl_gen_map_open(g) != yajl_gen_status_ok)
		return -1;
	if (m->has_id && gen_uint(g, "id", m->id) < 0)
		return -1;
	if (m->kind == PROTO_REQUEST) {
		if (gen_str(g, "op", proto_op_name(m->op)) < 0)
			return -1;
		if (d->gen_req && d->gen_req(g, m) < 0)
			return -1;
	} else {
		if (GEN_KEY(g, "ok") != yajl_gen_status_ok ||
		    yajl_gen_bool(g, m->ok) != yajl_gen_status_ok)
			return -1;
		if (!m->ok) {
			if (gen_str(g, "error", m->error) < 0)
				return -1;
		} else if (d->gen_rep && d->gen_rep(g, m) < 0) {
			return -1;
		}
	}
	return yajl_gen_map_close(g) == yajl_gen_status_ok ? 0 : -1;
}

int proto_encode(const struct proto_msg *m, char **out, size_t *out_len,
		 struct husk_err **err)
{
	const unsigned char *body;
	size_t len;
	yajl_gen g;
	char *frame;

	/* An error reply may answer a request whose op was unknown. */
	if ((m->op <= PROTO_OP_NONE || m->op >= PROTO_OP__COUNT) &&
	    !(m->kind == PROTO_REPLY && !m->ok))
		return husk_err_set(err, EINVAL, "encode: unknown op %d",
				    m->op);
	if (m->kind == PROTO_REQUEST && !m->has_id)
		return husk_err_set(err, EINVAL, "encode: request without id");
	g = yajl_gen_alloc(NULL);
	if (g == NULL)
		return husk_err_set(err, ENOMEM, "yajl_gen_alloc");
	/* Strings here may echo what a peer sent: never emit bad UTF-8. */
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	if (gen_body(g, m) < 0 ||
	    yajl_gen_get_buf(g, &body, &len) != yajl_gen_status_ok) {
		yajl_gen_free(g);
		return husk_err_set(err, EINVAL, "encode %s %s: invalid value",
				    proto_op_name(m->op),
				    m->kind == PROTO_REQUEST ? "request" :
							       "reply");
	}
	if (len > PROTO_MAX_FRAME) {
		yajl_gen_free(g);
		return husk_err_set(err, EMSGSIZE,
				    "encode: message of %zu bytes exceeds %u",
				    len, PROTO_MAX_FRAME);
	}
	frame = husk_reallocarray(NULL, PROTO_HDR_LEN + len, 1);
	frame[0] = (char)(len >> 24);
	frame[1] = (char)(len >> 16);
	frame[2] = (char)(len >> 8);
	frame[3] = (char)len;
	memcpy(frame + PROTO_HDR_LEN, body, len);
	yajl_gen_free(g);
	*out = frame;
	*out_len = PROTO_HDR_LEN + len;
	return 0;
}

void proto_reply_error(struct proto_msg *m, const struct proto_msg *req,
		       const char *msg)
{
	memset(m, 0, sizeof(*m));
	m->kind = PROTO_REPLY;
	m->op = req->op;
	m->has_id = req->has_id;
	m->id = req->id;
	m->ok = false;
	m->error = husk_strdup(msg);
}

/* ---- I/O ---------------------------------------------------------------- */

static int send_all(int fd, const char *buf, size_t len)
{
	bool sock = true;

	while (len > 0) {
		ssize_t n = sock ? send(fd, buf, len, MSG_NOSIGNAL) :
				   write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOTSOCK && sock) {
				sock = false;
				continue;
			}
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int proto_send(int fd, const struct proto_msg *m, struct husk_err **err)
{
	_cleanup_free_ char *frame = NULL;
	size_t len;

	if (proto_encode(m, &frame, &len, err) < 0)
		return -1;
	if (send_all(fd, frame, len) < 0)
		return husk_err_sys(err, "send %s %s", proto_op_name(m->op),
				    m->kind == PROTO_REQUEST ? "request" :
							       "reply");
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read exactly len bytes unless EOF comes first; *got says how many came.
 * Returns 0, or -1 with errno (ETIMEDOUT when the deadline passes). */
static int read_full(int fd, char *buf, size_t len, size_t *got,
		     int64_t deadline)
{
	*got = 0;
	while (*got < len) {
		ssize_t n;
		if (deadline >= 0) {
			struct pollfd p = {fd, POLLIN, 0};
			int64_t left = deadline - now_ms();
			int r;
			if (left <= 0) {
				errno = ETIMEDOUT;
				return -1;
			}
			r = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return -1;
			if (r == 0)
				continue; /* loop re-checks the deadline */
		}
		n = read(fd, buf + *got, len - *got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return 0;
		*got += (size_t)n;
	}
	return 0;
}

int proto_read_frame(int fd, char **body, size_t *len, int timeout_ms,
		     struct husk_err **err)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	unsigned char hdr[PROTO_HDR_LEN];
	_cleanup_free_ char *buf = NULL;
	size_t got;
	uint32_t n;

	if (read_full(fd, (char *)hdr, sizeof(hdr), &got, deadline) < 0) {
		if (errno == ETIMEDOUT)
			husk_err_set(err, ETIMEDOUT,
				     "no frame within %d ms", timeout_ms);
		else
			husk_err_sys(err, "read frame header");
		return PROTO_RECV_FATAL;
	}
	if (got == 0)
		return PROTO_RECV_EOF;
	if (got < sizeof(hdr)) {
		husk_err_set(err, EPROTO,
			     "truncated frame header: %zu of %d bytes", got,
			     PROTO_HDR_LEN);
		return PROTO_RECV_FATAL;
	}
	n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	if (n > PROTO_MAX_FRAME) {
		husk_err_set(err, EMSGSIZE,
			     "frame length %u exceeds the limit of %u bytes",
			     n, PROTO_MAX_FRAME);
		return PROTO_RECV_FATAL;
	}
	buf = husk_reallocarray(NULL, (size_t)n + 1, 1);
	if (read_full(fd, buf, n, &got, deadline) < 0) {
		if (errno == ETIMEDOUT)
			husk_err_set(err, ETIMEDOUT,
				     "frame body not complete within %d ms",
				     timeout_ms);
		else
			husk_err_sys(err, "read frame body");
		return PROTO_RECV_FATAL;
	}
	if (got < n) {
		husk_err_set(err, EPROTO, "truncated frame: %zu of %u bytes",
			     got, n);
		return PROTO_RECV_FATAL;
	}
	buf[n] = '\0';
	*body = TAKE_PTR(buf);
	*len = n;
	return PROTO_RECV_OK;
}

int proto_recv_request(int fd, struct proto_msg *m, struct husk_err **err)
{
	_cleanup_free_ char *body = NULL;
	size_t len;
	int r;

	memset(m, 0, sizeof(*m));
	r = proto_read_frame(fd, &body, &len, -1, err);
	if (r != PROTO_RECV_OK)
		return r;
	if (proto_parse_request(body, len, m, err) < 0)
		return PROTO_RECV_BADMSG;
	return PROTO_RECV_OK;
}

int proto_recv_reply(int fd, enum proto_op op, struct proto_msg *m,
		     int timeout_ms, struct husk_err **err)
{
	_cleanup_free_ char *body = NULL;
	size_t len;
	int r;

	memset(m, 0, sizeof(*m));
	r = proto_read_frame(fd, &body, &len, timeout_ms, err);
	if (r != PROTO_RECV_OK)
		return r;
	if (proto_parse_reply(body, len, op, m, err) < 0)
		return PROTO_RECV_BADMSG;
	return PROTO_RECV_OK;
}

int proto_call(int fd, const struct proto_msg *req, struct proto_msg *rep,
	       int timeout_ms, struct husk_err **err)
{
	const char *name = proto_op_name(req->op);
	int r;

	memset(rep, 0, sizeof(*rep));
	if (proto_send(fd, req, err) < 0)
		return husk_err_prefix(err, "agent: %s", name);
	r = proto_recv_reply(fd, req->op, rep, timeout_ms, err);
	if (r == PROTO_RECV_EOF)
		return husk_err_set(err, ECONNRESET,
				    "agent: %s: connection closed", name);
	if (r < 0)
		return husk_err_prefix(err, "agent: %s reply", name);
	if (!rep->ok) {
		husk_err_set(err, EREMOTEIO, "agent: %s: %s", name, rep->error);
		proto_msg_free(rep);
		return -1;
	}
	if (rep->id != req->id) {
		husk_err_set(err, EPROTO,
			     "agent: %s: reply id %llu, request id %llu", name,
			     (unsigned long long)rep->id,
			     (unsigned long long)req->id);
		proto_msg_free(rep);
		return -1;
	}
	return 0;
}
