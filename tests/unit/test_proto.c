/* Unit tests of the host <-> agent protocol (common/proto.c): round trips,
 * framing over real sockets, and every malformed input with its exact
 * error. */
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/proto.h"
#include "common/util.h"
#include "tests/unit/unit.h"

/* Body of an encoded frame, NUL-terminated, header checked. */
static char *encode_body(const struct proto_msg *m, size_t *len)
{
	struct husk_err *err = NULL;
	char *frame = NULL, *body;
	size_t flen;

	if (proto_encode(m, &frame, &flen, &err) < 0) {
		husk_err_free(&err);
		return NULL;
	}
	*len = flen - PROTO_HDR_LEN;
	if (((size_t)(unsigned char)frame[0] << 24 |
	     (size_t)(unsigned char)frame[1] << 16 |
	     (size_t)(unsigned char)frame[2] << 8 |
	     (size_t)(unsigned char)frame[3]) != *len) {
		free(frame);
		return NULL;
	}
	body = husk_calloc(1, *len + 1);
	memcpy(body, frame + PROTO_HDR_LEN, *len);
	free(frame);
	return body;
}

TEST(roundtrip_hello_request)
{
	struct proto_msg m = {.kind = PROTO_REQUEST, .op = PROTO_OP_HELLO,
			      .has_id = true, .id = PROTO_MAX_ID,
			      .req.hello.version = 7};
	struct proto_msg out;
	struct husk_err *err = NULL;
	size_t len;
	_cleanup_free_ char *body = encode_body(&m, &len);

	CHECK(body != NULL);
	CHECK_STR(body, "{\"id\":9007199254740991,\"op\":\"hello\","
			"\"version\":7}");
	CHECK(proto_parse_request(body, len, &out, &err) == 0);
	CHECK(out.kind == PROTO_REQUEST && out.op == PROTO_OP_HELLO);
	CHECK(out.has_id && out.id == PROTO_MAX_ID);
	CHECK(out.req.hello.version == 7);
	proto_msg_free(&out);
}

TEST(roundtrip_hello_reply)
{
	struct proto_msg m = {.kind = PROTO_REPLY, .op = PROTO_OP_HELLO,
			      .has_id = true, .id = 3, .ok = true};
	struct proto_msg out;
	struct husk_err *err = NULL;
	size_t len;
	_cleanup_free_ char *body = NULL;

	m.rep.hello = (struct proto_hello_reply){
		.version = 1, .agent = (char *)"husk-agent 0.1.0",
		.boot_ms = 123, .nproc = 2, .kernel = (char *)"6.1.0-x\"y"};
	body = encode_body(&m, &len);
	CHECK(body != NULL);
	CHECK_STR(body, "{\"id\":3,\"ok\":true,\"version\":1,\"agent\":"
			"\"husk-agent 0.1.0\",\"boot_ms\":123,\"nproc\":2,"
			"\"kernel\":\"6.1.0-x\\\"y\"}");
	CHECK(proto_parse_reply(body, len, PROTO_OP_HELLO, &out, &err) == 0);
	CHECK(out.kind == PROTO_REPLY && out.ok && out.id == 3);
	CHECK(out.rep.hello.version == 1 && out.rep.hello.nproc == 2);
	CHECK(out.rep.hello.boot_ms == 123);
	CHECK_STR(out.rep.hello.agent, "husk-agent 0.1.0");
	CHECK_STR(out.rep.hello.kernel, "6.1.0-x\"y");
	proto_msg_free(&out);
}

TEST(roundtrip_ping_shutdown_error)
{
	struct proto_msg req = {.kind = PROTO_REQUEST, .op = PROTO_OP_PING,
				.has_id = true, .id = 0};
	struct proto_msg rep, out;
	struct husk_err *err = NULL;
	size_t len;
	char *body;

	body = encode_body(&req, &len);
	CHECK(body != NULL);
	CHECK_STR(body, "{\"id\":0,\"op\":\"ping\"}");
	free(body);
	req.op = PROTO_OP_SHUTDOWN;
	body = encode_body(&req, &len);
	CHECK(body != NULL);
	CHECK(proto_parse_request(body, len, &out, &err) == 0);
	free(body);
	CHECK(out.op == PROTO_OP_SHUTDOWN && out.id == 0);

	/* An error reply to a frame whose id could not be read has none. */
	req.has_id = false;
	req.op = PROTO_OP_NONE;
	proto_reply_error(&rep, &req, "invalid JSON: \xff bytes");
	CHECK(encode_body(&rep, &len) == NULL); /* never emits bad UTF-8 */
	proto_msg_free(&rep);
	proto_reply_error(&rep, &req, "message is not a JSON object");
	body = encode_body(&rep, &len);
	proto_msg_free(&rep);
	CHECK(body != NULL);
	CHECK_STR(body,
		  "{\"ok\":false,\"error\":\"message is not a JSON object\"}");
	CHECK(proto_parse_reply(body, len, PROTO_OP_PING, &out, &err) == 0);
	free(body);
	CHECK(!out.ok && !out.has_id);
	CHECK_STR(out.error, "message is not a JSON object");
	proto_msg_free(&out);
}

TEST(encode_refuses_bad_messages)
{
	struct proto_msg m = {.kind = PROTO_REQUEST, .op = PROTO_OP_PING};
	struct husk_err *err = NULL;
	char *frame = NULL;
	size_t len;

	CHECK(proto_encode(&m, &frame, &len, &err) < 0);
	CHECK_STR(err->msg, "encode: request without id");
	husk_err_free(&err);
	m.has_id = true;
	m.op = PROTO_OP__COUNT;
	CHECK(proto_encode(&m, &frame, &len, &err) < 0);
	CHECK_STR(err->msg, "encode: unknown op 17");
	husk_err_free(&err);
}

struct bad {
	const char *json;
	const char *want;
	int has_id; /* -1: don't care */
};

static void run_bad(const char *what, const struct bad *t, size_t n,
		    enum proto_op reply_op)
{
	for (size_t i = 0; i < n; i++) {
		struct husk_err *err = NULL;
		struct proto_msg m;
		char name[64], why[512];
		int r;

		snprintf(name, sizeof(name), "%s_%zu", what, i);
		if (reply_op == PROTO_OP_NONE)
			r = proto_parse_request(t[i].json, strlen(t[i].json),
						&m, &err);
		else
			r = proto_parse_reply(t[i].json, strlen(t[i].json),
					      reply_op, &m, &err);
		if (r == 0) {
			snprintf(why, sizeof(why), "%s: accepted", t[i].json);
			unit_report(name, 0, why);
			proto_msg_free(&m);
			continue;
		}
		if (strcmp(err->msg, t[i].want) != 0) {
			snprintf(why, sizeof(why), "%.100s: got \"%s\", want \"%s\"",
				 t[i].json, err->msg, t[i].want);
			unit_report(name, 0, why);
		} else if (t[i].has_id >= 0 && m.has_id != (t[i].has_id > 0)) {
			snprintf(why, sizeof(why), "%s: has_id %d", t[i].json,
				 m.has_id);
			unit_report(name, 0, why);
		} else {
			unit_report(name, 1, NULL);
		}
		husk_err_free(&err);
		proto_msg_free(&m);
	}
}

static char *nested(int depth)
{
	/* {"x": [[...]]} : the object is one level, each array one more. */
	char *s = husk_calloc(1, (size_t)depth * 2 + 16);
	int n = sprintf(s, "{\"x\":");

	for (int i = 1; i < depth; i++)
		s[n++] = '[';
	for (int i = 1; i < depth; i++)
		s[n++] = ']';
	s[n++] = '}';
	return s;
}

TEST(request_malformed)
{
	_cleanup_free_ char *deep = nested(PROTO_MAX_DEPTH + 1);
	_cleanup_free_ char *ok_deep = nested(PROTO_MAX_DEPTH);
	_cleanup_free_ char *long_op = husk_calloc(1, 200);
	char echoed[128];

	memset(long_op, 'a', 150);
	memcpy(long_op, "{\"id\":5,\"op\":\"", 14);
	strcpy(long_op + 150, "\"}");
	/* Echoed hostile strings are cut to 68 bytes. */
	snprintf(echoed, sizeof(echoed), "op: unknown operation \"%.*s...\"",
		 68, long_op + 14);
	{
		const struct bad t[] = {
			{"", "empty message", 0},
			{"garbage",
			 "invalid JSON: lexical error: invalid char in json text.",
			 0},
			{"{\"id\":1,", "invalid JSON: parse error: premature EOF", 0},
			{"[1]", "message is not a JSON object", 0},
			{"42", "message is not a JSON object", 0},
			{"\"s\"", "message is not a JSON object", 0},
			{"null", "message is not a JSON object", 0},
			{deep, "invalid JSON: nesting deeper than 32 levels", 0},
			{ok_deep, "id: missing", 0},
			{"{\"op\":\"ping\"}", "id: missing", 0},
			{"{\"id\":\"1\",\"op\":\"ping\"}", "id: must be an integer",
			 0},
			{"{\"id\":null,\"op\":\"ping\"}", "id: must be an integer",
			 0},
			{"{\"id\":-1,\"op\":\"ping\"}", "id: must be an integer", 0},
			{"{\"id\":1.0,\"op\":\"ping\"}", "id: must be an integer",
			 0},
			{"{\"id\":1e3,\"op\":\"ping\"}", "id: must be an integer",
			 0},
			{"{\"id\":9007199254740992,\"op\":\"ping\"}",
			 "id: must be in 0..9007199254740991", 0},
			{"{\"id\":99999999999999999999999,\"op\":\"ping\"}",
			 "id: must be in 0..9007199254740991", 0},
			{"{\"id\":1}", "op: missing", 1},
			{"{\"id\":1,\"op\":5}", "op: must be a string", 1},
			{"{\"id\":1,\"op\":\"nope\"}",
			 "op: unknown operation \"nope\"", 1},
			{"{\"id\":1,\"op\":\"p\\n\\u00e9\"}",
			 "op: unknown operation \"p???\"", 1},
			{long_op, echoed, 1},
			{"{\"id\":1,\"op\":\"hello\"}", "version: missing", 1},
			{"{\"id\":1,\"op\":\"hello\",\"version\":0}",
			 "version: must be in 1..4294967295", 1},
			{"{\"id\":1,\"op\":\"hello\",\"version\":4294967296}",
			 "version: must be in 1..4294967295", 1},
			{"{\"id\":1,\"op\":\"hello\",\"version\":[1]}",
			 "version: must be an integer", 1},
			{"{\"id\":1,\"id\":2,\"op\":\"ping\"}", "id: duplicate key",
			 0},
			{"{\"id\":1,\"op\":\"hello\",\"version\":1,\"version\":2}",
			 "version: duplicate key", 1},
			{"{\"id\":1,\"op\":\"ping\"} {}",
			 "invalid JSON: parse error: trailing garbage", 0},
			{"{\"id\":1,\"op\":\"pi\\u0000ng\"}",
			 "invalid JSON: string contains a NUL character", 0},
			{"{\"id\\u0000\":1,\"op\":\"ping\"}",
			 "invalid JSON: string contains a NUL character", 0},
			{"{\"id\":1,\"op\":\"ping\" /* c */}",
			 "invalid JSON: lexical error: probable comment found in "
			 "input text, comments are not enabled.",
			 0},
			{"{\"id\":1,\"op\":\"\xff\"}",
			 "invalid JSON: lexical error: invalid bytes in UTF8 "
			 "string.",
			 0},
		};
		run_bad("request_malformed", t, ARRAY_SIZE(t), PROTO_OP_NONE);
	}
}

TEST(request_nul_byte_and_size)
{
	struct husk_err *err = NULL;
	struct proto_msg m;
	_cleanup_free_ char *big = NULL;
	const char nul[] = "{\"id\":1,\"op\":\"ping\"}\0";

	CHECK(proto_parse_request(nul, sizeof(nul) - 1, &m, &err) < 0);
	CHECK_STR(err->msg, "message contains a NUL byte");
	husk_err_free(&err);

	/* Exactly the limit is accepted (unknown keys are ignored); one
	 * more byte is refused. */
	big = husk_calloc(1, PROTO_MAX_FRAME + 2);
	memset(big, ' ', PROTO_MAX_FRAME + 1);
	memcpy(big, "{\"id\":1,\"op\":\"ping\",\"pad\":\"", 27);
	memcpy(big + PROTO_MAX_FRAME - 2, "\"}", 2);
	CHECK(proto_parse_request(big, PROTO_MAX_FRAME, &m, &err) == 0);
	CHECK(m.op == PROTO_OP_PING);
	proto_msg_free(&m);
	CHECK(proto_parse_request(big, PROTO_MAX_FRAME + 1, &m, &err) < 0);
	CHECK_STR(err->msg, "message of 1048577 bytes exceeds 1048576 bytes");
	husk_err_free(&err);
}

TEST(request_unknown_keys_ignored)
{
	const char *j = "{\"op\":\"ping\",\"future\":{\"a\":[1,2,{}]},\"id\":9}";
	struct husk_err *err = NULL;
	struct proto_msg m;

	CHECK(proto_parse_request(j, strlen(j), &m, &err) == 0);
	CHECK(m.op == PROTO_OP_PING && m.id == 9);
}

TEST(reply_malformed)
{
	_cleanup_free_ char *long_agent = husk_calloc(1, PROTO_MAX_STR + 200);
	int n = sprintf(long_agent, "{\"id\":1,\"ok\":true,\"version\":1,"
				    "\"agent\":\"");

	memset(long_agent + n, 'a', PROTO_MAX_STR + 1);
	strcpy(long_agent + n + PROTO_MAX_STR + 1,
	       "\",\"boot_ms\":1,\"nproc\":1,\"kernel\":\"k\"}");
	{
		const struct bad ping[] = {
			{"{\"ok\":true}", "id: missing", -1},
			{"{\"id\":1}", "ok: missing", -1},
			{"{\"id\":1,\"ok\":\"yes\"}", "ok: must be true or false",
			 -1},
			{"{\"id\":1,\"ok\":1}", "ok: must be true or false", -1},
			{"{\"id\":1,\"ok\":false}", "error: missing", -1},
			{"{\"id\":1,\"ok\":false,\"error\":7}",
			 "error: must be a string", -1},
			{"{\"id\":-5,\"ok\":false,\"error\":\"x\"}",
			 "id: must be an integer", -1},
			{"[]", "message is not a JSON object", -1},
		};
		const struct bad hello[] = {
			{"{\"id\":1,\"ok\":true}", "version: missing", -1},
			{"{\"id\":1,\"ok\":true,\"version\":1,\"agent\":\"a\","
			 "\"boot_ms\":1,\"nproc\":1}",
			 "kernel: missing", -1},
			{"{\"id\":1,\"ok\":true,\"version\":1,\"agent\":\"a\","
			 "\"boot_ms\":1,\"nproc\":0,\"kernel\":\"k\"}",
			 "nproc: must be in 1..4294967295", -1},
			{"{\"id\":1,\"ok\":true,\"version\":1,\"agent\":\"a\","
			 "\"boot_ms\":-1,\"nproc\":1,\"kernel\":\"k\"}",
			 "boot_ms: must be an integer", -1},
			{"{\"id\":1,\"ok\":true,\"version\":1,\"agent\":\"a\","
			 "\"boot_ms\":1e99,\"nproc\":1,\"kernel\":\"k\"}",
			 "boot_ms: must be an integer", -1},
			{"{\"id\":1,\"ok\":true,\"version\":1,\"agent\":[],"
			 "\"boot_ms\":1,\"nproc\":1,\"kernel\":\"k\"}",
			 "agent: must be a string", -1},
			{"{\"id\":1,\"ok\":true,\"version\":1,\"agent\":\"a\","
			 "\"boot_ms\":1,\"nproc\":1,\"kernel\":\"k\","
			 "\"kernel\":\"k\"}",
			 "kernel: duplicate key", -1},
			{long_agent, "agent: longer than 4096 bytes", -1},
		};
		run_bad("reply_ping_malformed", ping, ARRAY_SIZE(ping),
			PROTO_OP_PING);
		run_bad("reply_hello_malformed", hello, ARRAY_SIZE(hello),
			PROTO_OP_HELLO);
	}
}

/* ---- framing over sockets ----------------------------------------------- */

struct dribble {
	int fd;
	const char *buf;
	size_t len;
};

/* Write one byte at a time, so the reader sees every short read. */
static void *dribble_thread(void *arg)
{
	struct dribble *d = arg;

	for (size_t i = 0; i < d->len; i++) {
		if (write(d->fd, d->buf + i, 1) != 1)
			break;
		usleep(200);
	}
	return NULL;
}

TEST(frames_short_reads)
{
	struct proto_msg req = {.kind = PROTO_REQUEST, .op = PROTO_OP_HELLO,
				.has_id = true, .id = 42,
				.req.hello.version = 1};
	struct husk_err *err = NULL;
	_cleanup_free_ char *frame = NULL;
	struct proto_msg out;
	struct dribble d;
	pthread_t t;
	size_t len;
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(proto_encode(&req, &frame, &len, &err) == 0);
	d = (struct dribble){sv[1], frame, len};
	CHECK(pthread_create(&t, NULL, dribble_thread, &d) == 0);
	CHECK(proto_recv_request(sv[0], &out, &err) == PROTO_RECV_OK);
	pthread_join(t, NULL);
	CHECK(out.op == PROTO_OP_HELLO && out.id == 42);
	/* Two frames back to back, then a clean EOF between frames. */
	CHECK(proto_send(sv[1], &req, &err) == 0);
	req.op = PROTO_OP_PING;
	CHECK(proto_send(sv[1], &req, &err) == 0);
	close(sv[1]);
	CHECK(proto_recv_request(sv[0], &out, &err) == PROTO_RECV_OK);
	CHECK(out.op == PROTO_OP_HELLO);
	CHECK(proto_recv_request(sv[0], &out, &err) == PROTO_RECV_OK);
	CHECK(out.op == PROTO_OP_PING);
	CHECK(proto_recv_request(sv[0], &out, &err) == PROTO_RECV_EOF);
	close(sv[0]);
}

/* Write raw bytes, close, and read one frame: the error it gives. */
static int raw_recv(const char *bytes, size_t n, int close_after,
		    int timeout_ms, char *msg, size_t msglen)
{
	struct husk_err *err = NULL;
	struct proto_msg out;
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -100;
	if (n && write(sv[1], bytes, n) != (ssize_t)n)
		return -100;
	if (close_after)
		close(sv[1]);
	r = proto_recv_reply(sv[0], PROTO_OP_PING, &out, timeout_ms, &err);
	snprintf(msg, msglen, "%s", err ? err->msg : "");
	husk_err_free(&err);
	proto_msg_free(&out);
	close(sv[0]);
	if (!close_after)
		close(sv[1]);
	return r;
}

TEST(frames_malformed)
{
	char msg[256];

	CHECK(raw_recv("", 0, 1, -1, msg, sizeof(msg)) == PROTO_RECV_EOF);
	CHECK(raw_recv("\0\0", 2, 1, -1, msg, sizeof(msg)) ==
	      PROTO_RECV_FATAL);
	CHECK_STR(msg, "truncated frame header: 2 of 4 bytes");
	CHECK(raw_recv("\0\0\0\x0a{\"id\"", 9, 1, -1, msg, sizeof(msg)) ==
	      PROTO_RECV_FATAL);
	CHECK_STR(msg, "truncated frame: 5 of 10 bytes");
	CHECK(raw_recv("\0\x10\0\x01", 4, 1, -1, msg, sizeof(msg)) ==
	      PROTO_RECV_FATAL);
	CHECK_STR(msg, "frame length 1048577 exceeds the limit of 1048576 "
		       "bytes");
	CHECK(raw_recv("\xff\xff\xff\xff", 4, 1, -1, msg, sizeof(msg)) ==
	      PROTO_RECV_FATAL);
	CHECK_STR(msg, "frame length 4294967295 exceeds the limit of 1048576 "
		       "bytes");
	/* A whole frame with bad content leaves the stream usable. */
	CHECK(raw_recv("\0\0\0\x03[1]", 7, 1, -1, msg, sizeof(msg)) ==
	      PROTO_RECV_BADMSG);
	CHECK_STR(msg, "message is not a JSON object");
	CHECK(raw_recv("\0\0\0\0", 4, 1, -1, msg, sizeof(msg)) ==
	      PROTO_RECV_BADMSG);
	CHECK_STR(msg, "empty message");
	/* Timeouts: nothing at all, and a frame that stops halfway. */
	CHECK(raw_recv("", 0, 0, 50, msg, sizeof(msg)) == PROTO_RECV_FATAL);
	CHECK_STR(msg, "no frame within 50 ms");
	CHECK(raw_recv("\0\0\0\x0a{", 5, 0, 50, msg, sizeof(msg)) ==
	      PROTO_RECV_FATAL);
	CHECK_STR(msg, "frame body not complete within 50 ms");
}

static int write_frame(int fd, const char *json)
{
	size_t n = strlen(json);
	char hdr[4] = {(char)(n >> 24), (char)(n >> 16), (char)(n >> 8),
		       (char)n};

	if (write(fd, hdr, 4) != 4 || write(fd, json, n) != (ssize_t)n)
		return -1;
	return 0;
}

TEST(call_checks_reply)
{
	struct proto_msg req = {.kind = PROTO_REQUEST, .op = PROTO_OP_PING,
				.has_id = true, .id = 7};
	struct husk_err *err = NULL;
	struct proto_msg rep;
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(write_frame(sv[1], "{\"id\":8,\"ok\":true}") == 0);
	CHECK(proto_call(sv[0], &req, &rep, 1000, &err) < 0);
	CHECK_STR(err->msg, "agent: ping: reply id 8, request id 7");
	husk_err_free(&err);
	CHECK(write_frame(sv[1], "{\"id\":7,\"ok\":false,\"error\":\"busy\"}") ==
	      0);
	CHECK(proto_call(sv[0], &req, &rep, 1000, &err) < 0);
	CHECK_STR(err->msg, "agent: ping: busy");
	husk_err_free(&err);
	CHECK(write_frame(sv[1], "{\"id\":7,\"ok\":\"maybe\"}") == 0);
	CHECK(proto_call(sv[0], &req, &rep, 1000, &err) < 0);
	CHECK_STR(err->msg, "agent: ping reply: ok: must be true or false");
	husk_err_free(&err);
	CHECK(write_frame(sv[1], "{\"id\":7,\"ok\":true}") == 0);
	CHECK(proto_call(sv[0], &req, &rep, 1000, &err) == 0);
	CHECK(rep.ok && rep.id == 7);
	CHECK(proto_call(sv[0], &req, &rep, 50, &err) < 0);
	CHECK_STR(err->msg, "agent: ping reply: no frame within 50 ms");
	husk_err_free(&err);
	close(sv[1]);
	CHECK(proto_call(sv[0], &req, &rep, 1000, &err) < 0);
	CHECK_STR(err->msg, "agent: ping: send ping request: Broken pipe");
	husk_err_free(&err);
	close(sv[0]);
}

/* ---- version 2 ---------------------------------------------------------- */

/* Encode m, parse the body back, encode again: both bodies must be want. */
static void v2_roundtrip(const char *name, const struct proto_msg *m,
			 const char *want)
{
	struct husk_err *err = NULL;
	struct proto_msg out;
	_cleanup_free_ char *b1 = NULL, *b2 = NULL;
	char why[1024];
	size_t len;
	int r;

	b1 = encode_body(m, &len);
	if (b1 == NULL || strcmp(b1, want) != 0) {
		snprintf(why, sizeof(why), "encoded %s, want %s",
			 b1 ? b1 : "(error)", want);
		unit_report(name, 0, why);
		return;
	}
	if (m->kind == PROTO_REQUEST)
		r = proto_parse_request(b1, len, &out, &err);
	else
		r = proto_parse_reply(b1, len, m->op, &out, &err);
	if (r < 0) {
		snprintf(why, sizeof(why), "parse: %s", err->msg);
		husk_err_free(&err);
		unit_report(name, 0, why);
		return;
	}
	b2 = encode_body(&out, &len);
	proto_msg_free(&out);
	if (b2 == NULL || strcmp(b2, want) != 0) {
		snprintf(why, sizeof(why), "again %s", b2 ? b2 : "(error)");
		unit_report(name, 0, why);
		return;
	}
	unit_report(name, 1, NULL);
}

#define REQ(o, ...)                                                            \
	((struct proto_msg){.kind = PROTO_REQUEST, .op = (o), .has_id = true,  \
			    .id = 1, __VA_ARGS__})
#define REP(o, ...)                                                            \
	((struct proto_msg){.kind = PROTO_REPLY, .op = (o), .has_id = true,    \
			    .id = 2, .ok = true, __VA_ARGS__})

TEST(roundtrip_v2)
{
	struct proto_msg m;

	m = REQ(PROTO_OP_CREATE,
		.req.create = {"c1", "/b/rootfs", "{\"ociVersion\":\"1.0.2\"}",
			       {true, true, false}});
	v2_roundtrip("roundtrip_v2_create", &m,
		     "{\"id\":1,\"op\":\"create\",\"container\":\"c1\","
		     "\"rootfs\":\"/b/rootfs\",\"config\":\"{\\\"ociVersion"
		     "\\\":\\\"1.0.2\\\"}\",\"stdin\":true,\"stdout\":true}");
	m = REQ(PROTO_OP_START, .req.target = {"c1", NULL});
	v2_roundtrip("roundtrip_v2_start", &m,
		     "{\"id\":1,\"op\":\"start\",\"container\":\"c1\"}");
	m = REQ(PROTO_OP_EXEC, .req.exec = {{"c1", "e.1"}, "{\"args\":[\"sh\"]}",
					    {false, true, true}});
	v2_roundtrip("roundtrip_v2_exec", &m,
		     "{\"id\":1,\"op\":\"exec\",\"container\":\"c1\",\"exec\":"
		     "\"e.1\",\"process\":\"{\\\"args\\\":[\\\"sh\\\"]}\","
		     "\"stdout\":true,\"stderr\":true}");
	m = REQ(PROTO_OP_SIGNAL, .req.signal = {{"c1", NULL}, 64, true});
	v2_roundtrip("roundtrip_v2_signal_all", &m,
		     "{\"id\":1,\"op\":\"signal\",\"container\":\"c1\","
		     "\"signal\":64,\"all\":true}");
	m = REQ(PROTO_OP_SIGNAL, .req.signal = {{"c1", "x"}, 15, false});
	v2_roundtrip("roundtrip_v2_signal_exec", &m,
		     "{\"id\":1,\"op\":\"signal\",\"container\":\"c1\","
		     "\"exec\":\"x\",\"signal\":15}");
	m = REQ(PROTO_OP_WAIT, .req.wait = {{"c1", NULL}, true});
	v2_roundtrip("roundtrip_v2_wait", &m,
		     "{\"id\":1,\"op\":\"wait\",\"container\":\"c1\","
		     "\"guard\":true}");
	m = REQ(PROTO_OP_RESIZE, .req.resize = {{"c1", "t"}, 24, 65535});
	v2_roundtrip("roundtrip_v2_resize", &m,
		     "{\"id\":1,\"op\":\"resize\",\"container\":\"c1\","
		     "\"exec\":\"t\",\"rows\":24,\"cols\":65535}");
	m = REQ(PROTO_OP_STATS, .req.target = {"c1", NULL});
	v2_roundtrip("roundtrip_v2_stats", &m,
		     "{\"id\":1,\"op\":\"stats\",\"container\":\"c1\"}");
	m = REQ(PROTO_OP_UPDATE, .req.update = {"c1", "{}"});
	v2_roundtrip("roundtrip_v2_update", &m,
		     "{\"id\":1,\"op\":\"update\",\"container\":\"c1\","
		     "\"resources\":\"{}\"}");
	m = REQ(PROTO_OP_PAUSE, .req.target = {"c1", NULL});
	v2_roundtrip("roundtrip_v2_pause", &m,
		     "{\"id\":1,\"op\":\"pause\",\"container\":\"c1\"}");
	m = REQ(PROTO_OP_RESUME, .req.target = {"c1", NULL});
	v2_roundtrip("roundtrip_v2_resume", &m,
		     "{\"id\":1,\"op\":\"resume\",\"container\":\"c1\"}");
	m = REQ(PROTO_OP_DELETE, .req.del = {"c1", true});
	v2_roundtrip("roundtrip_v2_delete", &m,
		     "{\"id\":1,\"op\":\"delete\",\"container\":\"c1\","
		     "\"force\":true}");
	m = REQ(PROTO_OP_STATE, .req.target = {"c1", "e"});
	v2_roundtrip("roundtrip_v2_state", &m,
		     "{\"id\":1,\"op\":\"state\",\"container\":\"c1\","
		     "\"exec\":\"e\"}");
	m = REQ(PROTO_OP_ATTACH,
		.req.attach = {{"c1", NULL}, PROTO_STREAM_PTY});
	v2_roundtrip("roundtrip_v2_attach", &m,
		     "{\"id\":1,\"op\":\"attach\",\"container\":\"c1\","
		     "\"stream\":\"pty\"}");

	m = REP(PROTO_OP_CREATE, .rep.pid = {PROTO_MAX_PID});
	v2_roundtrip("roundtrip_v2_create_reply", &m,
		     "{\"id\":2,\"ok\":true,\"pid\":4194304}");
	m = REP(PROTO_OP_EXEC, .rep.pid = {1});
	v2_roundtrip("roundtrip_v2_exec_reply", &m,
		     "{\"id\":2,\"ok\":true,\"pid\":1}");
	m = REP(PROTO_OP_WAIT, .rep.wait = {137});
	v2_roundtrip("roundtrip_v2_wait_reply", &m,
		     "{\"id\":2,\"ok\":true,\"status\":137}");
	m = REP(PROTO_OP_STATS,
		.rep.stats = {123456789, 4096, 0, 3, INT64_MAX});
	v2_roundtrip("roundtrip_v2_stats_reply", &m,
		     "{\"id\":2,\"ok\":true,\"cpu_usage_ns\":123456789,"
		     "\"memory_usage\":4096,\"memory_limit\":0,"
		     "\"pids_current\":3,\"pids_limit\":9223372036854775807}");
	m = REP(PROTO_OP_STATE, .rep.state = {42, PROTO_STATUS_PAUSED, 0});
	v2_roundtrip("roundtrip_v2_state_reply", &m,
		     "{\"id\":2,\"ok\":true,\"pid\":42,\"status\":\"paused\","
		     "\"exit_status\":0}");
	m = REP(PROTO_OP_STATE, .rep.state = {0, PROTO_STATUS_STOPPED, 255});
	v2_roundtrip("roundtrip_v2_state_reply_stopped", &m,
		     "{\"id\":2,\"ok\":true,\"pid\":0,\"status\":\"stopped\","
		     "\"exit_status\":255}");
	m = REP(PROTO_OP_ATTACH);
	v2_roundtrip("roundtrip_v2_attach_reply", &m, "{\"id\":2,\"ok\":true}");
}

#define RQ(op, rest) "{\"id\":3,\"op\":\"" op "\"" rest "}"

TEST(request_v2_malformed)
{
	_cleanup_free_ char *long_id = husk_calloc(1, 1200);
	_cleanup_free_ char *max_id = husk_calloc(1, 1200);
	char want_long[128];

#define PFX "{\"id\":3,\"op\":\"start\",\"container\":\""
	strcpy(long_id, PFX);
	memset(long_id + strlen(long_id), 'a', PROTO_MAX_NAME + 1);
	strcat(long_id, "\"}");
	snprintf(want_long, sizeof(want_long),
		 "container: invalid id \"%.68s...\"", long_id + strlen(PFX));
	strcpy(max_id, PFX);
	memset(max_id + strlen(max_id), 'a', PROTO_MAX_NAME);
	strcat(max_id, "\"}");
	{
		struct husk_err *err = NULL;
		struct proto_msg m;
		CHECK(proto_parse_request(max_id, strlen(max_id), &m, &err) == 0);
		CHECK(strlen(m.req.target.container) == PROTO_MAX_NAME);
		proto_msg_free(&m);
	}
	const struct bad t[] = {
		{RQ("start", ""), "container: missing", 1},
		{RQ("start", ",\"container\":1"), "container: must be a string",
		 1},
		{RQ("start", ",\"container\":\"\""), "container: invalid id \"\"",
		 1},
		{RQ("start", ",\"container\":\".\""),
		 "container: invalid id \".\"", 1},
		{RQ("start", ",\"container\":\"..\""),
		 "container: invalid id \"..\"", 1},
		{RQ("start", ",\"container\":\"a/b\""),
		 "container: invalid id \"a/b\"", 1},
		{RQ("start", ",\"container\":\"a b\""),
		 "container: invalid id \"a b\"", 1},
		{RQ("start", ",\"container\":\"\\u00e9\""),
		 "container: invalid id \"??\"", 1},
		{long_id, want_long, 1},
		{RQ("start", ",\"container\":\"a\",\"container\":\"b\""),
		 "container: duplicate key", 1},
		{RQ("create", ",\"container\":\"c\",\"config\":\"{}\""),
		 "rootfs: missing", 1},
		{RQ("create", ",\"container\":\"c\",\"rootfs\":\"r\","
			      "\"config\":\"{}\""),
		 "rootfs: must be an absolute path", 1},
		{RQ("create", ",\"container\":\"c\",\"rootfs\":\"/r\""),
		 "config: missing", 1},
		{RQ("create", ",\"container\":\"c\",\"rootfs\":\"/r\","
			      "\"config\":{}"),
		 "config: must be a string", 1},
		{RQ("create", ",\"container\":\"c\",\"rootfs\":\"/r\","
			      "\"config\":\"{}\",\"stdin\":1"),
		 "stdin: must be true or false", 1},
		{RQ("create", ",\"container\":\"c\",\"rootfs\":\"/r\","
			      "\"config\":\"{}\",\"stderr\":\"true\""),
		 "stderr: must be true or false", 1},
		{RQ("exec", ",\"container\":\"c\",\"process\":\"{}\""),
		 "exec: missing", 1},
		{RQ("exec", ",\"container\":\"c\",\"exec\":\"../x\","
			    "\"process\":\"{}\""),
		 "exec: invalid id \"../x\"", 1},
		{RQ("exec", ",\"container\":\"c\",\"exec\":\"e\""),
		 "process: missing", 1},
		{RQ("exec", ",\"container\":\"c\",\"exec\":\"e\","
			    "\"process\":[]"),
		 "process: must be a string", 1},
		{RQ("signal", ",\"container\":\"c\""), "signal: missing", 1},
		{RQ("signal", ",\"container\":\"c\",\"signal\":0"),
		 "signal: must be in 1..64", 1},
		{RQ("signal", ",\"container\":\"c\",\"signal\":65"),
		 "signal: must be in 1..64", 1},
		{RQ("signal", ",\"container\":\"c\",\"signal\":-9"),
		 "signal: must be an integer", 1},
		{RQ("signal", ",\"container\":\"c\",\"signal\":\"KILL\""),
		 "signal: must be an integer", 1},
		{RQ("signal", ",\"container\":\"c\",\"signal\":9,\"all\":1"),
		 "all: must be true or false", 1},
		{RQ("signal", ",\"container\":\"c\",\"exec\":\"e\","
			      "\"signal\":9,\"all\":true"),
		 "all: only for the container's init (no exec)", 1},
		{RQ("signal", ",\"container\":\"c\",\"exec\":null,"
			      "\"signal\":9"),
		 "exec: must be a string", 1},
		{RQ("wait", ",\"container\":\"c\",\"guard\":\"yes\""),
		 "guard: must be true or false", 1},
		{RQ("resize", ",\"container\":\"c\",\"rows\":1"),
		 "cols: missing", 1},
		{RQ("resize", ",\"container\":\"c\",\"rows\":65536,\"cols\":1"),
		 "rows: must be in 0..65535", 1},
		{RQ("update", ",\"container\":\"c\""), "resources: missing", 1},
		{RQ("update", ",\"container\":\"c\",\"resources\":{}"),
		 "resources: must be a string", 1},
		{RQ("delete", ",\"container\":\"c\",\"force\":0"),
		 "force: must be true or false", 1},
		{RQ("attach", ",\"container\":\"c\""), "stream: missing", 1},
		{RQ("attach", ",\"container\":\"c\",\"stream\":\"tty\""),
		 "stream: must be one of stdin, stdout, stderr, pty", 1},
		{RQ("attach", ",\"container\":\"c\",\"stream\":1"),
		 "stream: must be one of stdin, stdout, stderr, pty", 1},
		{RQ("pause", ",\"container\":[]"), "container: must be a string",
		 1},
		{RQ("resume", ""), "container: missing", 1},
		{RQ("stats", ",\"container\":\"a\\\\b\""),
		 "container: invalid id \"a\\b\"", 1},
		{RQ("state", ",\"container\":\"c\",\"exec\":\"\""),
		 "exec: invalid id \"\"", 1},
	};
	run_bad("request_v2_malformed", t, ARRAY_SIZE(t), PROTO_OP_NONE);
}

struct bad_rep {
	enum proto_op op;
	const char *json;
	const char *want;
};

TEST(reply_v2_malformed)
{
	const struct bad_rep t[] = {
		{PROTO_OP_CREATE, "{\"id\":1,\"ok\":true}", "pid: missing"},
		{PROTO_OP_CREATE, "{\"id\":1,\"ok\":true,\"pid\":0}",
		 "pid: must be in 1..4194304"},
		{PROTO_OP_EXEC, "{\"id\":1,\"ok\":true,\"pid\":4194305}",
		 "pid: must be in 1..4194304"},
		{PROTO_OP_EXEC, "{\"id\":1,\"ok\":true,\"pid\":\"1\"}",
		 "pid: must be an integer"},
		{PROTO_OP_WAIT, "{\"id\":1,\"ok\":true}", "status: missing"},
		{PROTO_OP_WAIT, "{\"id\":1,\"ok\":true,\"status\":256}",
		 "status: must be in 0..255"},
		{PROTO_OP_WAIT, "{\"id\":1,\"ok\":true,\"status\":-1}",
		 "status: must be an integer"},
		{PROTO_OP_STATS,
		 "{\"id\":1,\"ok\":true,\"cpu_usage_ns\":1,\"memory_usage\":1,"
		 "\"memory_limit\":1,\"pids_current\":1}",
		 "pids_limit: missing"},
		{PROTO_OP_STATS,
		 "{\"id\":1,\"ok\":true,\"cpu_usage_ns\":9223372036854775808,"
		 "\"memory_usage\":1,\"memory_limit\":1,\"pids_current\":1,"
		 "\"pids_limit\":1}",
		 "cpu_usage_ns: must be in 0..9223372036854775807"},
		{PROTO_OP_STATS,
		 "{\"id\":1,\"ok\":true,\"cpu_usage_ns\":1.5,"
		 "\"memory_usage\":1,\"memory_limit\":1,\"pids_current\":1,"
		 "\"pids_limit\":1}",
		 "cpu_usage_ns: must be an integer"},
		{PROTO_OP_STATE, "{\"id\":1,\"ok\":true,\"status\":\"running\","
				 "\"exit_status\":0}",
		 "pid: missing"},
		{PROTO_OP_STATE, "{\"id\":1,\"ok\":true,\"pid\":1,"
				 "\"exit_status\":0}",
		 "status: missing"},
		{PROTO_OP_STATE, "{\"id\":1,\"ok\":true,\"pid\":1,"
				 "\"status\":\"zombie\",\"exit_status\":0}",
		 "status: must be one of created, running, paused, stopped"},
		{PROTO_OP_STATE, "{\"id\":1,\"ok\":true,\"pid\":1,"
				 "\"status\":7,\"exit_status\":0}",
		 "status: must be one of created, running, paused, stopped"},
		{PROTO_OP_STATE, "{\"id\":1,\"ok\":true,\"pid\":1,"
				 "\"status\":\"stopped\",\"exit_status\":300}",
		 "exit_status: must be in 0..255"},
		{PROTO_OP_STATE, "{\"id\":1,\"ok\":true,\"pid\":4194305,"
				 "\"status\":\"stopped\",\"exit_status\":0}",
		 "pid: must be in 0..4194304"},
		{PROTO_OP_ATTACH, "{\"id\":1,\"ok\":7}",
		 "ok: must be true or false"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct bad b = {t[i].json, t[i].want, -1};
		char name[64];
		snprintf(name, sizeof(name), "reply_v2_malformed_%s",
			 proto_op_name(t[i].op));
		run_bad(name, &b, 1, t[i].op);
	}
}

TEST(exit_status_and_names)
{
	struct husk_err *err = NULL;

	CHECK(proto_exit_status(3 << 8) == 3);	    /* exited 3 */
	CHECK(proto_exit_status(9) == 137);	    /* killed by SIGKILL */
	CHECK(proto_exit_status(15 | 0x80) == 143); /* SIGTERM, core */
	CHECK(proto_check_name("exec", "a-Z_0+9.x", &err) == 0);
	CHECK(proto_check_name("exec", "a\nb", &err) < 0);
	CHECK_STR(err->msg, "exec: invalid id \"a?b\"");
	husk_err_free(&err);
	CHECK_STR(proto_stream_name(PROTO_STREAM_STDERR), "stderr");
	CHECK_STR(proto_stream_name(PROTO_STREAM__COUNT), "?");
	CHECK_STR(proto_status_name(PROTO_STATUS_CREATED), "created");
	CHECK_STR(proto_status_name(0), "?");
	CHECK_STR(proto_op_name(PROTO_OP_ATTACH), "attach");
}

/* A request whose fields are bad still carries its id, and its strings are
 * freed (ASAN would tell). */
TEST(request_v2_bad_keeps_id)
{
	const char *j = RQ("exec", ",\"container\":\"c\",\"exec\":\"e\","
				   "\"process\":\"{}\",\"stdin\":2");
	struct husk_err *err = NULL;
	struct proto_msg m;

	CHECK(proto_parse_request(j, strlen(j), &m, &err) < 0);
	CHECK_STR(err->msg, "stdin: must be true or false");
	CHECK(m.has_id && m.id == 3 && m.op == PROTO_OP_EXEC);
	CHECK(m.req.exec.t.container == NULL && m.req.exec.process == NULL);
	husk_err_free(&err);
	proto_msg_free(&m);
}

int main(void)
{
	RUN(roundtrip_hello_request);
	RUN(roundtrip_hello_reply);
	RUN(roundtrip_ping_shutdown_error);
	RUN(encode_refuses_bad_messages);
	RUN(request_malformed);
	RUN(request_nul_byte_and_size);
	RUN(request_unknown_keys_ignored);
	RUN(reply_malformed);
	RUN(frames_short_reads);
	RUN(frames_malformed);
	RUN(call_checks_reply);
	RUN(roundtrip_v2);
	RUN(request_v2_malformed);
	RUN(reply_v2_malformed);
	RUN(exit_status_and_names);
	RUN(request_v2_bad_keeps_id);
	UNIT_EXIT();
}
