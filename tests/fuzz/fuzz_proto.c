/* libFuzzer harnesses for the protocol parsers: built with -DFUZZ_REQUEST
 * (the agent parsing what a host sends) or -DFUZZ_REPLY (the host, as root,
 * parsing what a possibly hostile guest sends), over every op of version 2.
 * Besides not crashing, a message that parses must encode, parse again and
 * encode to the same bytes. */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/proto.h"
#include "common/util.h"

#if !defined(FUZZ_REQUEST) && !defined(FUZZ_REPLY)
#error "build with -DFUZZ_REQUEST or -DFUZZ_REPLY"
#endif

/* Two messages are the same when they encode to the same bytes: that
 * covers every field of every op without a comparison per op. */
static void same_or_die(const char *frame, size_t len,
			const struct proto_msg *b)
{
	struct husk_err *err = NULL;
	char *again = NULL;
	size_t alen;

	if (proto_encode(b, &again, &alen, &err) < 0)
		__builtin_trap();
	if (alen != len || memcmp(frame, again, len) != 0)
		__builtin_trap();
	free(again);
}

static void roundtrip(const struct proto_msg *m)
{
	struct husk_err *err = NULL;
	struct proto_msg again;
	char *frame = NULL;
	size_t len;
	int r;

	if (proto_encode(m, &frame, &len, &err) < 0) {
		/* Only an error text that is not valid UTF-8 can fail, and
		 * the parsers never produce one. */
		__builtin_trap();
	}
	if (m->kind == PROTO_REQUEST)
		r = proto_parse_request(frame + PROTO_HDR_LEN,
					len - PROTO_HDR_LEN, &again, &err);
	else
		r = proto_parse_reply(frame + PROTO_HDR_LEN,
				      len - PROTO_HDR_LEN, m->op, &again, &err);
	if (r < 0)
		__builtin_trap();
	same_or_die(frame, len, &again);
	proto_msg_free(&again);
	free(frame);
}

/* The same bytes as a stream: framing, short frames, EOF in the middle. */
static void as_stream(const uint8_t *data, size_t size, enum proto_op op)
{
	struct husk_err *err = NULL;
	struct proto_msg m;
	int sv[2];

	if (size > 32768 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	/* Both ends' buffers together hold this much without blocking. */
	if (husk_write_all(sv[1], data, size) < 0) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	close(sv[1]);
	for (;;) {
		int r;
#ifdef FUZZ_REQUEST
		(void)op;
		r = proto_recv_request(sv[0], &m, &err);
#else
		r = proto_recv_reply(sv[0], op, &m, 1000, &err);
#endif
		husk_err_free(&err);
		proto_msg_free(&m);
		if (r == PROTO_RECV_EOF || r == PROTO_RECV_FATAL)
			break;
	}
	close(sv[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct husk_err *err = NULL;
	struct proto_msg m;

#ifdef FUZZ_REQUEST
	if (proto_parse_request((const char *)data, size, &m, &err) == 0)
		roundtrip(&m);
	proto_msg_free(&m);
	husk_err_free(&err);
	as_stream(data, size, PROTO_OP_NONE);
#else
	/* The first byte picks the op the host was waiting on. */
	enum proto_op op;

	if (size < 1)
		return 0;
	op = (enum proto_op)(1 + data[0] % (PROTO_OP__COUNT - 1));
	if (proto_parse_reply((const char *)data + 1, size - 1, op, &m,
			      &err) == 0)
		roundtrip(&m);
	proto_msg_free(&m);
	husk_err_free(&err);
	as_stream(data + 1, size - 1, op);
#endif
	return 0;
}
