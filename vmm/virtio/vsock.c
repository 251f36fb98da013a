/* virtio-vsock in user space (virtio 1.2 section 5.10): the guest's stream
 * connections to CID 2 become unix socket connections on the host, in the
 * manner of Firecracker's vsock muxer. Host clients connect to uds_path and
 * write "CONNECT <port>\n"; guest connections to host port P go to
 * "<uds_path>_P". Data moves straight between guest buffers and sockets;
 * only what a host socket does not accept at once is copied, into a
 * per-connection buffer whose size is the credit we give the guest. */
#include "vmm/virtio/vsock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/util.h"
#include "vmm/virtio/mmio.h"

#define HDR_LEN ((uint32_t)sizeof(struct virtio_vsock_hdr))
#define CMD_MAX 32 /* "CONNECT 4294967295\n" fits */
#define RST_RING 64
/* Send a credit update once the guest believes it has less than this. */
#define CREDIT_THRESH (VSOCK_CONN_BUF / 4)

enum conn_state {
	CONN_CMD,        /* host client: waiting for "CONNECT <port>\n" */
	CONN_CONNECTING, /* REQUEST queued or sent to the guest */
	CONN_OPEN,
};

/* Control packets owed to the guest, one bit each. */
#define P_REQUEST 1u
#define P_RESPONSE 2u
#define P_SHUTDOWN 4u
#define P_CREDIT_UPDATE 8u
#define P_CREDIT_REQUEST 16u

struct vsock_conn {
	struct vsock_dev *vs;
	struct vsock_conn *next_dead;
	bool dead;
	int fd;
	enum conn_state state;
	uint32_t local_port; /* host side */
	uint32_t peer_port;  /* guest side */
	uint32_t pending;
	uint32_t shut_flags; /* flags of the SHUTDOWN owed */
	bool readable, writable, hup, rdhup;
	bool host_eof;
	bool guest_shut_rcv, guest_shut_send;
	bool shut_wr_done;
	bool request_sent;
	bool credit_requested;
	/* guest -> host */
	uint8_t *buf; /* ring of VSOCK_CONN_BUF, allocated on first need */
	uint32_t buf_start, buf_used;
	uint32_t rx_cnt, fwd_cnt, last_fwd_sent;
	/* host -> guest */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
};

struct vsock_dev {
	struct virtio_mmio t;
	uint64_t cid;
	struct event_loop *loop;
	char *uds_path;
	int listen_fd;
	dev_t sock_dev;
	ino_t sock_ino;
	struct vsock_conn *conns[VSOCK_MAX_CONNS];
	int n_conns;
	unsigned rr;
	uint32_t next_port;
	struct {
		uint32_t host_port, guest_port;
	} rst[RST_RING];
	unsigned rst_head, rst_n;
	/* Closed connections whose memory the event loop thread frees: a
	 * vCPU thread (driver reset, DRIVER_OK) may close a connection while
	 * the loop thread holds a just-dispatched event for it. */
	struct vsock_conn *grave;
	bool rx_pushed, tx_pushed;
	struct virtq_chain chain;
	struct iovec scratch[VIRTQ_MAX_SIZE];
};

static void vsock_kick(struct vsock_dev *vs);

/* ---- connections --------------------------------------------------------- */

static struct vsock_conn *conn_find(struct vsock_dev *vs, uint32_t local,
				    uint32_t peer)
{
	for (int i = 0; i < vs->n_conns; i++) {
		struct vsock_conn *c = vs->conns[i];

		if (c->state != CONN_CMD && c->local_port == local &&
		    c->peer_port == peer)
			return c;
	}
	return NULL;
}

static void rst_enqueue(struct vsock_dev *vs, uint32_t host_port,
			uint32_t guest_port)
{
	unsigned i;

	/* Full: the guest's own timeout will close that socket. */
	if (vs->rst_n == RST_RING)
		return;
	i = (vs->rst_head + vs->rst_n++) % RST_RING;
	vs->rst[i].host_port = host_port;
	vs->rst[i].guest_port = guest_port;
}

static void conn_free(struct vsock_conn *c)
{
	struct vsock_dev *vs = c->vs;

	for (int i = 0; i < vs->n_conns; i++) {
		if (vs->conns[i] == c) {
			vs->conns[i] = vs->conns[--vs->n_conns];
			break;
		}
	}
	event_del(vs->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
	c->dead = true;
	c->next_dead = vs->grave;
	vs->grave = c;
}

/* Loop thread, lock held: no event for a dead connection can be in flight
 * any more (their fds left epoll before they died). */
static void conn_reap(struct vsock_dev *vs)
{
	while (vs->grave) {
		struct vsock_conn *c = vs->grave;

		vs->grave = c->next_dead;
		free(c);
	}
}

/* Drop a connection; the guest learns of it by RST if it knows it. */
static void conn_kill(struct vsock_conn *c, bool rst)
{
	bool known = c->state == CONN_OPEN ||
		     (c->state == CONN_CONNECTING && c->request_sent);

	if (rst && known)
		rst_enqueue(c->vs, c->local_port, c->peer_port);
	conn_free(c);
}

static void conn_event(void *opaque, uint32_t events);

static struct vsock_conn *conn_new(struct vsock_dev *vs, int fd,
				   enum conn_state state)
{
	struct vsock_conn *c;

	if (vs->n_conns >= VSOCK_MAX_CONNS)
		return NULL;
	c = husk_calloc(1, sizeof(*c));
	c->vs = vs;
	c->fd = fd;
	c->state = state;
	/* Edge-triggered: readable/writable are tracked here and cleared
	 * only on EAGAIN, so a socket we cannot serve now (no credit, no rx
	 * buffers) does not spin the loop. */
	if (event_add(vs->loop, fd,
		      EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, conn_event,
		      c) < 0) {
		free(c);
		return NULL;
	}
	vs->conns[vs->n_conns++] = c;
	return c;
}

static uint32_t peer_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0
					      : c->peer_buf_alloc - in_flight;
}

static void maybe_credit_update(struct vsock_conn *c)
{
	uint32_t believed = c->rx_cnt - c->last_fwd_sent;

	if (c->fwd_cnt != c->last_fwd_sent &&
	    (believed > VSOCK_CONN_BUF ||
	     VSOCK_CONN_BUF - believed < CREDIT_THRESH))
		c->pending |= P_CREDIT_UPDATE;
}

/* Guest->host bytes that wait in the buffer go out first; then, when the
 * guest has said it sends no more, the host side sees EOF. Returns -1 if
 * the connection is gone. */
static int conn_flush(struct vsock_conn *c)
{
	while (c->buf_used > 0 && c->writable) {
		struct iovec iov[2];
		struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 1};
		uint32_t first = VSOCK_CONN_BUF - c->buf_start;
		ssize_t n;

		iov[0].iov_base = c->buf + c->buf_start;
		iov[0].iov_len = first < c->buf_used ? first : c->buf_used;
		if (first < c->buf_used) {
			iov[1].iov_base = c->buf;
			iov[1].iov_len = c->buf_used - first;
			msg.msg_iovlen = 2;
		}
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				c->writable = false;
				break;
			}
			conn_kill(c, true);
			return -1;
		}
		c->buf_start = (c->buf_start + (uint32_t)n) % VSOCK_CONN_BUF;
		c->buf_used -= (uint32_t)n;
		c->fwd_cnt += (uint32_t)n;
	}
	if (c->buf_used == 0 && c->guest_shut_send) {
		/* The guest closed both ways: it waits for our RST. */
		if (c->guest_shut_rcv) {
			conn_kill(c, true);
			return -1;
		}
		if (!c->shut_wr_done) {
			(void)shutdown(c->fd, SHUT_WR);
			c->shut_wr_done = true;
		}
	}
	maybe_credit_update(c);
	return 0;
}

static void buf_append(struct vsock_conn *c, const struct iovec *iov, int n,
		       size_t skip, uint32_t len)
{
	uint32_t tail = (c->buf_start + c->buf_used) % VSOCK_CONN_BUF;
	uint32_t first = VSOCK_CONN_BUF - tail;
	size_t got;

	if (c->buf == NULL)
		c->buf = husk_calloc(1, VSOCK_CONN_BUF);
	if (first > len)
		first = len;
	got = iov_to_buf(iov, n, skip, c->buf + tail, first);
	if (got == first && len > first)
		got += iov_to_buf(iov, n, skip + first, c->buf, len - first);
	c->buf_used += (uint32_t)got;
}

/* An RW packet from the guest: as much as the socket takes goes straight
 * from guest memory, the rest into the buffer. */
static void conn_recv_data(struct vsock_conn *c, const struct virtq_chain *ch,
			   uint32_t len)
{
	struct vsock_dev *vs = c->vs;
	ssize_t sent = 0;
	int k;

	if (len == 0)
		return;
	/* Beyond the credit we gave: the guest broke the protocol. */
	if (len > VSOCK_CONN_BUF - c->buf_used) {
		conn_kill(c, true);
		return;
	}
	c->rx_cnt += len;
	k = iov_slice(ch->iov, ch->n_out, HDR_LEN, len, vs->scratch);
	if (c->buf_used == 0 && c->writable) {
		struct msghdr msg = {.msg_iov = vs->scratch,
				     .msg_iovlen = (size_t)k};

		do
			sent = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		while (sent < 0 && errno == EINTR);
		if (sent < 0) {
			if (errno != EAGAIN) {
				conn_kill(c, true);
				return;
			}
			c->writable = false;
			sent = 0;
		}
		c->fwd_cnt += (uint32_t)sent;
	}
	if ((uint32_t)sent < len)
		buf_append(c, vs->scratch, k, (size_t)sent,
			   len - (uint32_t)sent);
	maybe_credit_update(c);
}

/* ---- host side: listening socket and CONNECT ------------------------------ */

static uint32_t alloc_local_port(struct vsock_dev *vs)
{
	for (int tries = 0; tries <= VSOCK_MAX_CONNS; tries++) {
		uint32_t p = vs->next_port++;
		bool used = false;

		if (vs->next_port >= VSOCK_LOCAL_PORT_END)
			vs->next_port = VSOCK_LOCAL_PORT_MIN;
		for (int i = 0; i < vs->n_conns && !used; i++)
			used = vs->conns[i]->state != CONN_CMD &&
			       vs->conns[i]->local_port == p;
		if (!used)
			return p;
	}
	return 0; /* cannot happen: fewer connections than tries */
}

static int parse_connect(const char *line, uint32_t *port)
{
	long long v;

	if (!husk_str_has_prefix(line, "CONNECT "))
		return -1;
	line += strlen("CONNECT ");
	if (*line < '0' || *line > '9' || husk_parse_i64(line, &v) < 0 ||
	    v < 0 || v > UINT32_MAX)
		return -1;
	*port = (uint32_t)v;
	return 0;
}

/* Peek so that bytes after the newline stay in the socket for the guest. */
static void conn_read_cmd(struct vsock_conn *c)
{
	char line[CMD_MAX + 1];
	char *nl;
	uint32_t port;
	ssize_t n;

	do
		n = recv(c->fd, line, CMD_MAX, MSG_PEEK | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN) {
		c->readable = false;
		return;
	}
	if (n <= 0) {
		conn_kill(c, false);
		return;
	}
	line[n] = '\0';
	nl = memchr(line, '\n', (size_t)n);
	if (nl == NULL) {
		if (n == CMD_MAX || c->rdhup)
			conn_kill(c, false);
		else
			c->readable = false; /* the rest comes with an edge */
		return;
	}
	*nl = '\0';
	if (recv(c->fd, line, (size_t)(nl - line + 1), MSG_DONTWAIT) !=
	    nl - line + 1) {
		conn_kill(c, false);
		return;
	}
	line[nl - line] = '\0';
	if (parse_connect(line, &port) < 0) {
		conn_kill(c, false);
		return;
	}
	c->local_port = alloc_local_port(c->vs);
	c->peer_port = port;
	c->state = CONN_CONNECTING;
	c->pending |= P_REQUEST;
	/* Whatever followed the line waits in the socket until OK. */
	c->readable = true;
}

static void conn_event(void *opaque, uint32_t events)
{
	struct vsock_conn *c = opaque;
	struct vsock_dev *vs = c->vs;

	/* c is alive or in the grave: only this thread frees it. */
	virtio_mmio_lock(&vs->t);
	if (c->dead) {
		conn_reap(vs);
		virtio_mmio_unlock(&vs->t);
		return;
	}
	conn_reap(vs);
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->readable = true;
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		c->writable = true;
	if (events & (EPOLLHUP | EPOLLERR))
		c->hup = true;
	if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->rdhup = true;
	if (c->state == CONN_CMD) {
		conn_read_cmd(c);
	} else if (c->state == CONN_CONNECTING) {
		/* The client gave up before the guest answered. */
		if (c->hup)
			conn_kill(c, true);
	} else if (c->buf_used > 0 || c->guest_shut_send) {
		(void)conn_flush(c);
	}
	vsock_kick(vs);
	virtio_mmio_unlock(&vs->t);
}

static void listen_event(void *opaque, uint32_t events)
{
	struct vsock_dev *vs = opaque;

	(void)events;
	virtio_mmio_lock(&vs->t);
	conn_reap(vs);
	for (;;) {
		int fd = accept4(vs->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break; /* EAGAIN, or EMFILE: retried on next edge */
		}
		if (conn_new(vs, fd, CONN_CMD) == NULL)
			close(fd);
	}
	virtio_mmio_unlock(&vs->t);
}

/* ---- guest -> host packets (tx queue) ------------------------------------- */

static void guest_connect(struct vsock_dev *vs,
			  const struct virtio_vsock_hdr *h)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct vsock_conn *c;
	int fd, n;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", vs->uds_path,
		     h->dst_port);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		goto rst;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto rst;
	/* A unix connect never completes later: EAGAIN means a full
	 * backlog, which the guest sees as a refusal. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		goto rst;
	}
	c = conn_new(vs, fd, CONN_OPEN);
	if (c == NULL) {
		close(fd);
		goto rst;
	}
	c->local_port = h->dst_port;
	c->peer_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->writable = true;
	c->pending |= P_RESPONSE;
	return;
rst:
	rst_enqueue(vs, h->dst_port, h->src_port);
}

static void conn_got_response(struct vsock_conn *c)
{
	char ok[32];
	int n = snprintf(ok, sizeof(ok), "OK %u\n", c->local_port);
	ssize_t w;

	c->state = CONN_OPEN;
	/* A fresh socket's buffer takes these few bytes whole. */
	do
		w = send(c->fd, ok, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (w < 0 && errno == EINTR);
	if (w != n)
		conn_kill(c, true);
}

static void conn_got_shutdown(struct vsock_conn *c, uint32_t flags)
{
	if (flags & VSOCK_SHUTDOWN_RCV)
		c->guest_shut_rcv = true;
	if (flags & VSOCK_SHUTDOWN_SEND)
		c->guest_shut_send = true;
	if (c->guest_shut_send)
		(void)conn_flush(c);
}

static void tx_packet(struct vsock_dev *vs, const struct virtq_chain *ch)
{
	struct virtio_vsock_hdr h;
	struct vsock_conn *c;

	/* Copied once: the guest may change its memory under us. */
	if (ch->out_len < HDR_LEN)
		return;
	iov_to_buf(ch->iov, ch->n_out, 0, &h, HDR_LEN);
	if (h.len > VSOCK_MAX_PKT || h.len > ch->out_len - HDR_LEN)
		return;
	if (h.src_cid != vs->cid)
		return;
	if (h.op == VSOCK_OP_RST)
		goto rst_in;
	if (h.dst_cid != VSOCK_HOST_CID || h.type != VSOCK_TYPE_STREAM)
		goto rst_out;
	c = conn_find(vs, h.dst_port, h.src_port);
	if (h.op == VSOCK_OP_REQUEST) {
		if (c) {
			conn_kill(c, false);
			goto rst_out;
		}
		guest_connect(vs, &h);
		return;
	}
	if (c == NULL)
		goto rst_out;
	c->peer_buf_alloc = h.buf_alloc;
	c->peer_fwd_cnt = h.fwd_cnt;
	c->credit_requested = false;
	if (c->state != CONN_OPEN) {
		if (h.op == VSOCK_OP_RESPONSE && c->request_sent)
			conn_got_response(c);
		else
			conn_kill(c, true);
		return;
	}
	switch (h.op) {
	case VSOCK_OP_RW:
		if (c->guest_shut_send)
			conn_kill(c, true);
		else
			conn_recv_data(c, ch, h.len);
		return;
	case VSOCK_OP_SHUTDOWN:
		conn_got_shutdown(c, h.flags);
		return;
	case VSOCK_OP_CREDIT_UPDATE:
		return;
	case VSOCK_OP_CREDIT_REQUEST:
		c->pending |= P_CREDIT_UPDATE;
		return;
	default: /* RESPONSE on an open connection, unknown ops */
		conn_kill(c, true);
		return;
	}
rst_in:
	c = conn_find(vs, h.dst_port, h.src_port);
	if (c)
		conn_kill(c, false);
	return;
rst_out:
	rst_enqueue(vs, h.dst_port, h.src_port);
}

static void vsock_process_tx(struct vsock_dev *vs)
{
	struct virtq *q = &vs->t.vq[VSOCK_TXQ];
	int rc;

	if (!q->ready)
		return;
	for (;;) {
		while ((rc = virtq_pop(q, &vs->chain)) > 0) {
			tx_packet(vs, &vs->chain);
			virtq_push(q, vs->chain.head, 0);
			vs->tx_pushed = true;
		}
		if (rc < 0) {
			virtio_mmio_needs_reset(&vs->t);
			return;
		}
		if (!virtq_enable_notify(q))
			return;
	}
}

/* ---- host -> guest packets (rx queue) ------------------------------------- */

static void hdr_for(struct vsock_dev *vs, struct vsock_conn *c,
		    struct virtio_vsock_hdr *h, uint16_t op, uint32_t flags,
		    uint32_t len)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = VSOCK_HOST_CID;
	h->dst_cid = vs->cid;
	h->type = VSOCK_TYPE_STREAM;
	h->op = op;
	h->flags = flags;
	h->len = len;
	if (c) {
		h->src_port = c->local_port;
		h->dst_port = c->peer_port;
		h->buf_alloc = VSOCK_CONN_BUF;
		h->fwd_cnt = c->fwd_cnt;
		c->last_fwd_sent = c->fwd_cnt;
	}
}

/* Pop an rx buffer big enough for a header: 1, 0 if none, -1 if broken.
 * Buffers too small for a header go back empty. */
static int rx_pop(struct vsock_dev *vs)
{
	struct virtq *q = &vs->t.vq[VSOCK_RXQ];
	int rc;

	for (;;) {
		while ((rc = virtq_pop(q, &vs->chain)) > 0) {
			if (vs->chain.in_len >= HDR_LEN)
				return 1;
			virtq_push(q, vs->chain.head, 0);
			vs->rx_pushed = true;
		}
		if (rc < 0) {
			virtio_mmio_needs_reset(&vs->t);
			return rc;
		}
		/* Out of buffers: with EVENT_IDX the driver kicks us for new
		 * ones only if avail_event says so; then look once more. */
		if (!virtq_enable_notify(q))
			return 0;
	}
}

static void rx_put(struct vsock_dev *vs, const struct virtio_vsock_hdr *h)
{
	struct virtq_chain *ch = &vs->chain;

	iov_from_buf(ch->iov + ch->n_out, ch->n_in, 0, h, HDR_LEN);
	virtq_push(&vs->t.vq[VSOCK_RXQ], ch->head, HDR_LEN + h->len);
	vs->rx_pushed = true;
}

static uint16_t take_pending(struct vsock_conn *c, uint32_t *flags)
{
	static const struct {
		uint32_t bit;
		uint16_t op;
	} order[] = {
		{P_REQUEST, VSOCK_OP_REQUEST},
		{P_RESPONSE, VSOCK_OP_RESPONSE},
		{P_CREDIT_UPDATE, VSOCK_OP_CREDIT_UPDATE},
		{P_CREDIT_REQUEST, VSOCK_OP_CREDIT_REQUEST},
		{P_SHUTDOWN, VSOCK_OP_SHUTDOWN},
	};

	*flags = 0;
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		if (c->pending & order[i].bit) {
			c->pending &= ~order[i].bit;
			if (order[i].bit == P_SHUTDOWN)
				*flags = c->shut_flags;
			if (order[i].bit == P_REQUEST)
				c->request_sent = true;
			return order[i].op;
		}
	}
	return 0;
}

static bool conn_wants_data(struct vsock_conn *c)
{
	if (c->state != CONN_OPEN || !c->readable || c->host_eof ||
	    c->guest_shut_rcv)
		return false;
	if (peer_credit(c) == 0) {
		if (!c->credit_requested) {
			c->credit_requested = true;
			c->pending |= P_CREDIT_REQUEST;
		}
		return false;
	}
	return true;
}

/* Read from the host socket straight into the guest's rx buffer. The chain
 * is popped; returns 1 if a packet was sent, 0 if the chain went back. */
static int conn_send_data(struct vsock_dev *vs, struct vsock_conn *c)
{
	struct virtq_chain *ch = &vs->chain;
	struct virtio_vsock_hdr h;
	uint64_t room = ch->in_len - HDR_LEN;
	uint32_t max = peer_credit(c);
	ssize_t n;
	int k;

	if (max > VSOCK_MAX_PKT)
		max = VSOCK_MAX_PKT;
	if (room < max)
		max = (uint32_t)room;
	if (max == 0) {
		virtq_unpop(&vs->t.vq[VSOCK_RXQ]);
		return 0;
	}
	k = iov_slice(ch->iov + ch->n_out, ch->n_in, HDR_LEN, max,
		      vs->scratch);
	do
		n = readv(c->fd, vs->scratch, k);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		hdr_for(vs, c, &h, VSOCK_OP_RW, 0, (uint32_t)n);
		rx_put(vs, &h);
		c->tx_cnt += (uint32_t)n;
		return 1;
	}
	virtq_unpop(&vs->t.vq[VSOCK_RXQ]);
	if (n < 0 && errno == EAGAIN) {
		c->readable = false;
		return 0;
	}
	if (n < 0) {
		conn_kill(c, true);
		return 1;
	}
	/* EOF: the host sends no more; with a hangup it receives no more
	 * either, and the guest answers a two-way SHUTDOWN with RST. */
	c->host_eof = true;
	c->shut_flags = VSOCK_SHUTDOWN_SEND;
	if (c->hup || c->shut_wr_done)
		c->shut_flags |= VSOCK_SHUTDOWN_RCV;
	c->pending |= P_SHUTDOWN;
	return 1;
}

/* One packet for c if it has one: 1 sent (or c changed), 0 nothing,
 * -1 no rx buffer. */
static int conn_emit(struct vsock_dev *vs, struct vsock_conn *c)
{
	struct virtio_vsock_hdr h;
	uint32_t flags;
	bool data = conn_wants_data(c);
	int rc;

	if (c->pending == 0 && !data)
		return 0;
	rc = rx_pop(vs);
	if (rc <= 0)
		return -1;
	if (c->pending) {
		uint16_t op = take_pending(c, &flags);

		hdr_for(vs, c, &h, op, flags, 0);
		rx_put(vs, &h);
		return 1;
	}
	return conn_send_data(vs, c);
}

static void vsock_fill_rx(struct vsock_dev *vs)
{
	bool progress = true;

	if (!vs->t.vq[VSOCK_RXQ].ready)
		return;
	while (progress) {
		progress = false;
		while (vs->rst_n > 0) {
			struct virtio_vsock_hdr h;

			if (rx_pop(vs) <= 0)
				return;
			hdr_for(vs, NULL, &h, VSOCK_OP_RST, 0, 0);
			h.src_port = vs->rst[vs->rst_head].host_port;
			h.dst_port = vs->rst[vs->rst_head].guest_port;
			vs->rst_head = (vs->rst_head + 1) % RST_RING;
			vs->rst_n--;
			rx_put(vs, &h);
		}
		/* One packet per connection per round: a bulk transfer does
		 * not starve the others. */
		for (int i = 0, n = vs->n_conns; i < n; i++) {
			struct vsock_conn *c = vs->conns[(vs->rr + i) % n];
			int rc = conn_emit(vs, c);

			if (rc < 0)
				return;
			if (rc > 0)
				progress = true;
			if (vs->n_conns != n)
				break; /* c was freed; start over */
		}
		vs->rr++;
	}
}

/* After any event: send what is owed, then interrupt once per queue. */
static void vsock_kick(struct vsock_dev *vs)
{
	if (virtio_mmio_active(&vs->t))
		vsock_fill_rx(vs);
	if (vs->rx_pushed)
		virtio_mmio_notify_used(&vs->t, VSOCK_RXQ);
	if (vs->tx_pushed)
		virtio_mmio_notify_used(&vs->t, VSOCK_TXQ);
	vs->rx_pushed = vs->tx_pushed = false;
}

/* ---- transport ops -------------------------------------------------------- */

static void vsock_queue_notify(struct virtio_mmio *t, int q)
{
	struct vsock_dev *vs = t->dev;

	if (q == VSOCK_TXQ)
		vsock_process_tx(vs);
	/* rx: new buffers; event queue: nothing to send on it. */
	vsock_kick(vs);
}

/* The guest's view of every connection is gone; host clients still waiting
 * for a guest that never saw their REQUEST keep waiting. */
static void vsock_reset(struct virtio_mmio *t)
{
	struct vsock_dev *vs = t->dev;

	for (int i = vs->n_conns - 1; i >= 0; i--) {
		struct vsock_conn *c = vs->conns[i];

		if (c->state == CONN_OPEN || c->request_sent)
			conn_free(c);
		else
			c->pending &= P_REQUEST;
	}
	vs->rst_n = 0;
	vs->rst_head = 0;
}

static void vsock_destroy(struct virtio_mmio *t)
{
	struct vsock_dev *vs = t->dev;
	struct stat st;

	while (vs->n_conns > 0)
		conn_free(vs->conns[0]);
	conn_reap(vs);
	if (vs->listen_fd >= 0) {
		event_del(vs->loop, vs->listen_fd);
		close(vs->listen_fd);
		/* Only our own socket file: someone may have replaced it. */
		if (stat(vs->uds_path, &st) == 0 && st.st_dev == vs->sock_dev &&
		    st.st_ino == vs->sock_ino)
			unlink(vs->uds_path);
	}
	free(vs->uds_path);
	free(vs);
}

static const struct virtio_mmio_ops vsock_ops = {
	.device_id = VSOCK_DEVICE_ID,
	.features = 0, /* stream only: no VIRTIO_VSOCK_F_SEQPACKET */
	.n_queues = 3,
	.queue_notify = vsock_queue_notify,
	.reset = vsock_reset,
	.destroy = vsock_destroy,
};

static int vsock_listen(struct vsock_dev *vs, struct husk_err **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (strlen(vs->uds_path) >= sizeof(sa.sun_path))
		return husk_err_set(err, ENAMETOOLONG,
				    "vsock socket %s: path longer than %zu",
				    vs->uds_path, sizeof(sa.sun_path) - 1);
	strcpy(sa.sun_path, vs->uds_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return husk_err_sys(err, "socket for vsock %s", vs->uds_path);
	/* bind refuses an existing path: never steal another VM's socket. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return husk_err_sys(err, "bind vsock socket %s", vs->uds_path);
	if (stat(vs->uds_path, &st) == 0) {
		vs->sock_dev = st.st_dev;
		vs->sock_ino = st.st_ino;
	}
	if (listen(fd, 128) < 0) {
		husk_err_sys(err, "listen on vsock socket %s", vs->uds_path);
		unlink(vs->uds_path);
		return -1;
	}
	/* Edge-triggered: running out of fds must not spin the loop. */
	if (event_add(vs->loop, fd, EPOLLIN | EPOLLET, listen_event, vs) < 0) {
		husk_err_sys(err, "epoll add vsock socket %s", vs->uds_path);
		unlink(vs->uds_path);
		return -1;
	}
	vs->listen_fd = TAKE_FD(fd);
	return 0;
}

int virtio_vsock_create(const struct virtio_dev_env *env, uint64_t guest_cid,
			const char *uds_path, struct bus_dev *out,
			struct husk_err **err)
{
	struct vsock_dev *vs;
	uint8_t config[8];

	/* 0, 1, 2 and ~0U are reserved (5.10.4); the top 32 bits must be 0. */
	if (guest_cid <= VSOCK_HOST_CID || guest_cid >= UINT32_MAX)
		return husk_err_set(err, EINVAL, "vsock guest cid %llu: must "
				    "be between 3 and 4294967294",
				    (unsigned long long)guest_cid);
	vs = husk_calloc(1, sizeof(*vs));
	vs->cid = guest_cid;
	vs->loop = env->loop;
	vs->uds_path = husk_strdup(uds_path);
	vs->listen_fd = -1;
	vs->next_port = VSOCK_LOCAL_PORT_MIN;
	memcpy(config, &guest_cid, sizeof(config)); /* le64 on x86 */
	if (virtio_mmio_init(&vs->t, env, &vsock_ops, vs, config,
			     sizeof(config), out, err) < 0) {
		free(vs->uds_path);
		free(vs);
		return husk_err_prefix(err, "virtio-vsock");
	}
	if (vsock_listen(vs, err) < 0) {
		virtio_dev_destroy(out);
		return -1;
	}
	return 0;
}
