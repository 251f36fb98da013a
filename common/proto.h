/* The host <-> husk-agent wire protocol: length-prefixed JSON frames parsed
 * into typed messages. Both ends treat the other as hostile (the guest can
 * attack the host, which runs as root). common/PROTOCOL.md is the spec. */
#ifndef HUSK_PROTO_H
#define HUSK_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define PROTO_VERSION 2     /* the version this side speaks */
#define PROTO_MIN_VERSION 1 /* the oldest version a peer may speak */
#define PROTO_AGENT_PORT 1024 /* vsock port the agent listens on */

#define PROTO_HDR_LEN 4
#define PROTO_MAX_FRAME (1u << 20) /* body bytes; bigger drops the link */
#define PROTO_MAX_DEPTH 32	   /* JSON nesting, objects and arrays */
#define PROTO_MAX_STR 4096	   /* any string field not listed below */
#define PROTO_MAX_ID ((1ull << 53) - 1) /* exact in every JSON reader */
#define PROTO_MAX_NAME 1024 /* container and exec ids */
#define PROTO_MAX_DOC (PROTO_MAX_FRAME - 4096) /* config, process, resources */
#define PROTO_MAX_PID 4194304 /* PID_MAX_LIMIT */
#define PROTO_MAX_SIG 64

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
	/* version 2 */
	PROTO_OP_CREATE,
	PROTO_OP_START,
	PROTO_OP_EXEC,
	PROTO_OP_SIGNAL,
	PROTO_OP_WAIT,
	PROTO_OP_RESIZE,
	PROTO_OP_STATS,
	PROTO_OP_UPDATE,
	PROTO_OP_PAUSE,
	PROTO_OP_RESUME,
	PROTO_OP_DELETE,
	PROTO_OP_STATE,
	PROTO_OP_ATTACH,
	PROTO_OP__COUNT,
};

/* The streams of a process; each is a connection of its own (attach). */
enum proto_stream {
	PROTO_STREAM_STDIN = 0,
	PROTO_STREAM_STDOUT,
	PROTO_STREAM_STDERR,
	PROTO_STREAM_PTY,
	PROTO_STREAM__COUNT,
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

/* A process in the agent: a container's init (exec == NULL) or one of its
 * exec'd processes. Ids: 1..1024 bytes of [A-Za-z0-9_+.-], not "." or "..". */
struct proto_target {
	char *container;
	char *exec; /* NULL: the init */
};

struct proto_create_req {
	char *container;
	char *rootfs; /* absolute, in the agent's filesystem; overrides
			 root.path */
	char *config; /* config.json text */
	bool stdio[3]; /* stdin/stdout/stderr streams attached (ignored when
			  process.terminal: then a pty stream is) */
};

struct proto_exec_req {
	struct proto_target t; /* t.exec is required */
	char *process;	       /* runtime-spec "process" object, as text */
	bool stdio[3];
};

struct proto_signal_req {
	struct proto_target t;
	uint32_t signal; /* 1..64 */
	bool all;	 /* every process of the container (init only) */
};

struct proto_wait_req {
	struct proto_target t;
	bool guard; /* the connection stands for the process: closing it
		       before the reply SIGKILLs the process */
};

struct proto_resize_req {
	struct proto_target t;
	uint32_t rows, cols; /* 0..65535 */
};

struct proto_update_req {
	char *container;
	char *resources; /* runtime-spec LinuxResources object, as text */
};

struct proto_delete_req {
	char *container;
	bool force; /* kill what still runs */
};

struct proto_attach_req {
	struct proto_target t;
	enum proto_stream stream;
};

struct proto_pid_reply {
	uint32_t pid; /* in the agent's pid namespace */
};

struct proto_wait_reply {
	uint32_t status; /* exit code, or 128+N for signal N */
};

/* Numbers from the container's cgroup; 0 where the kernel has none. */
struct proto_stats_reply {
	uint64_t cpu_usage_ns;	 /* user + system */
	uint64_t memory_usage;	 /* bytes */
	uint64_t memory_limit;	 /* bytes, 0: none */
	uint64_t pids_current;
	uint64_t pids_limit;	 /* 0: none */
};

enum proto_status {
	PROTO_STATUS_CREATED = 1,
	PROTO_STATUS_RUNNING,
	PROTO_STATUS_PAUSED,
	PROTO_STATUS_STOPPED,
};

struct proto_state_reply {
	uint32_t pid;
	enum proto_status status;
	uint32_t exit_status; /* 0..255, meaningful when stopped */
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
		struct proto_create_req create;
		struct proto_target target; /* start, stats, pause, resume,
					       state: container (+ exec) */
		struct proto_exec_req exec;
		struct proto_signal_req signal;
		struct proto_wait_req wait;
		struct proto_resize_req resize;
		struct proto_update_req update;
		struct proto_delete_req del;
		struct proto_attach_req attach;
	} req;
	union {
		struct proto_hello_reply hello;
		struct proto_pid_reply pid; /* create, exec */
		struct proto_wait_reply wait;
		struct proto_stats_reply stats;
		struct proto_state_reply state;
	} rep;
};

/* Free the strings a message owns and zero it. */
void proto_msg_free(struct proto_msg *m);

const char *proto_op_name(enum proto_op op);
const char *proto_stream_name(enum proto_stream s);
const char *proto_status_name(enum proto_status s);

/* The id rule both sides apply (the host's own, oci/state.h): 1..1024
 * bytes of [A-Za-z0-9_+.-], not "." or "..". what names the field in the
 * message ("container: ..."). */
int proto_check_name(const char *what, const char *s, struct husk_err **err);

/* The exit status a waiter gets for a waitpid() status: the exit code, or
 * 128+N for signal N. */
uint32_t proto_exit_status(int wstatus);

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
