/* The host <-> husk-agent wire protocol: length-prefixed JSON frames parsed
 * into typed messages. Both ends treat the other as hostile (the guest can
 * attack the host, which runs as root). common/PROTOCOL.md is the spec. */
#ifndef HUSK_PROTO_H
#define HUSK_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define PROTO_VERSION 1     /* the version this side speaks */
#define PROTO_MIN_VERSION 1 /* the oldest version a peer may speak */
#define PROTO_AGENT_PORT 1024 /* vsock port the agent listens on */

#define PROTO_HDR_LEN 4
#define PROTO_MAX_FRAME (1u << 20) /* body bytes; bigger drops the link */
#define PROTO_MAX_DEPTH 32	   /* JSON nesting, objects and arrays */
#define PROTO_MAX_STR 4096	   /* any string field of the v1 messages */
#define PROTO_MAX_ID ((1ull << 53) - 1) /* exact in every JSON reader */

enum proto_kind {
	PROTO_REQUEST = 1,
	PROTO_REPLY,
};

/* Keep in step with the op table in proto.c. */
enum proto_op {
	PROTO_OP_NONE = 0,
	PROTO_OP_HELLO,
	PROTO_OP_PING,
	PROTO_OP_SHUTDOWN,
	PROTO_OP__COUNT,
};

struct proto_hello_req {
	uint32_t version; /* the newest version the host speaks */
};

struct proto_hello_reply {
	uint32_t version; /* the version the agent will speak */
	char *agent;	  /* "husk-agent <ver>" */
	uint64_t boot_ms; /* CLOCK_BOOTTIME ms when the agent became ready */
	uint32_t nproc;	  /* online CPUs in the guest */
	char *kernel;	  /* uname -r */
};

struct proto_msg {
	enum proto_kind kind;
	enum proto_op op; /* a reply's op is the op of its request */
	bool has_id;	  /* false only in an error reply to an unreadable frame */
	uint64_t id;
	bool ok;     /* replies */
	char *error; /* replies with ok == false */
	union {
		struct proto_hello_req hello;
	} req;
	union {
		struct proto_hello_reply hello;
	} rep;
};

/* Free the strings a message owns and zero it. */
void proto_msg_free(struct proto_msg *m);

const char *proto_op_name(enum proto_op op);

/* Parse one frame body (not NUL-terminated; len <= PROTO_MAX_FRAME).
 * For a request, m->id/has_id are filled as soon as the id is read, so the
 * agent can answer even a request it rejects with an error reply. A reply
 * is parsed against the op of the request it answers; an error reply
 * (ok == false) is returned as success with m->error set. */
int proto_parse_request(const char *buf, size_t len, struct proto_msg *m,
			struct husk_err **err);
int proto_parse_reply(const char *buf, size_t len, enum proto_op op,
		      struct proto_msg *m, struct husk_err **err);

/* Serialize m into a whole frame (header + body), malloc'd in *out. */
int proto_encode(const struct proto_msg *m, char **out, size_t *out_len,
		 struct husk_err **err);

/* Build an error reply; id may be absent (has_id false). */
void proto_reply_error(struct proto_msg *m, const struct proto_msg *req,
		       const char *msg);

/* Write a frame to fd (EINTR and short writes handled; MSG_NOSIGNAL on
 * sockets so a dead peer is an EPIPE error, not a signal). */
int proto_send(int fd, const struct proto_msg *m, struct husk_err **err);

/* What proto_read_frame and proto_recv_* return. */
enum proto_recv_rc {
	PROTO_RECV_BADMSG = -2, /* frame read whole but its content is bad:
				   answer with an error and go on */
	PROTO_RECV_FATAL = -1,	/* I/O error, timeout, truncated or oversize
				   frame: the stream is unusable, drop it */
	PROTO_RECV_EOF = 0,	/* peer closed between two frames */
	PROTO_RECV_OK = 1,
};

/* Read one frame body into a malloc'd, NUL-terminated buffer. timeout_ms
 * bounds the whole frame (< 0: wait forever). */
int proto_read_frame(int fd, char **body, size_t *len, int timeout_ms,
		     struct husk_err **err);

/* The agent's side: read and parse one request. */
int proto_recv_request(int fd, struct proto_msg *m, struct husk_err **err);

/* The host's side: read and parse the reply to a request of op op. */
int proto_recv_reply(int fd, enum proto_op op, struct proto_msg *m,
		     int timeout_ms, struct husk_err **err);

/* Send req and wait for its reply (ids must match). An error reply from the
 * agent becomes an error "agent: <op>: <message>". Returns 0 with *rep
 * filled on success. */
int proto_call(int fd, const struct proto_msg *req, struct proto_msg *rep,
	       int timeout_ms, struct husk_err **err);

#endif
