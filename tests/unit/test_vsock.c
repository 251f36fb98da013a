/* virtio-vsock against a fake guest driver living in fake guest memory:
 * host- and guest-initiated connections, 1 MiB each way byte-exact under
 * credit limits, shutdown both ways, refusals and garbage packets. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "vmm/virtio/mmio.h"
#include "vmm/virtio/virtio.h"
#include "vmm/virtio/vsock.h"

#define BASE 0x100000ULL
#define MEMSZ (4 << 20)
#define QN 64
#define RXD (BASE + 0x0000)
#define RXA (BASE + 0x1000)
#define RXU (BASE + 0x2000)
#define TXD (BASE + 0x3000)
#define TXA (BASE + 0x4000)
#define TXU (BASE + 0x5000)
#define EVD (BASE + 0x6000)
#define EVA (BASE + 0x7000)
#define EVU (BASE + 0x8000)
#define RXBUF (BASE + 0x10000)
#define RXSTRIDE 0x2000
#define RXDATA 4096
#define TXBUF (BASE + 0x100000)
#define TXSTRIDE 0x11000
#define NCHAIN (QN / 2)
#define CID 3
#define XFER (1 << 20)
#define G_BUF 30000 /* not a multiple of the rx buffer size */

struct guest {
	uint8_t *buf;
	struct guest_mem gm;
	struct event_loop *loop;
	struct virtio_dev_env env;
	struct bus_dev bus;
	int irq;
	char path[108];
	uint16_t rx_avail, rx_seen, tx_avail;
	unsigned tx_slot;
	bool broken;
	bool event_idx; /* negotiate VIRTIO_F_EVENT_IDX and honour it */
	unsigned n_rx;  /* rx chains posted at init (0: all) */
	bool hold;      /* keep used rx buffers until g_release() */
	unsigned held[NCHAIN], n_held;
};

struct pkt {
	struct virtio_vsock_hdr h;
	uint8_t data[RXDATA];
};

static void *gp(struct guest *g, uint64_t a)
{
	return g->buf + (a - BASE);
}

static void wr(struct guest *g, uint64_t off, uint32_t v)
{
	g->bus.write(g->bus.opaque, off, &v, 4);
}

static uint32_t rd(struct guest *g, uint64_t off)
{
	uint32_t v = 0;

	g->bus.read(g->bus.opaque, off, &v, 4);
	return v;
}

static void set_desc(struct guest *g, uint64_t table, unsigned i,
		     uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct virtq_desc d = {addr, len, flags, next};

	memcpy(gp(g, table + 16ULL * i), &d, 16);
}

static void setup_queue(struct guest *g, uint32_t q, uint64_t d, uint64_t a,
			uint64_t u)
{
	wr(g, 0x30, q);
	wr(g, 0x38, QN);
	wr(g, 0x80, (uint32_t)d);
	wr(g, 0x90, (uint32_t)a);
	wr(g, 0xa0, (uint32_t)u);
	wr(g, 0x44, 1);
}

/* Kick the device for queue q unless EVENT_IDX says it does not want to
 * hear about avail idx moving from old to new (vring_need_event()). */
static void g_kick(struct guest *g, uint32_t q, uint64_t used, uint16_t old,
		   uint16_t new)
{
	uint16_t ev;

	if (g->event_idx) {
		memcpy(&ev, gp(g, used + 4 + 8 * QN), 2);
		if ((uint16_t)(new - ev - 1) >= (uint16_t)(new - old))
			return;
	}
	wr(g, 0x50, q);
}

static void rx_post(struct guest *g, unsigned chain)
{
	uint16_t head = (uint16_t)(2 * chain);

	memcpy(gp(g, RXA + 4 + 2 * (g->rx_avail % QN)), &head, 2);
	g->rx_avail++;
	memcpy(gp(g, RXA + 2), &g->rx_avail, 2);
}

static int guest_create(struct guest *g, const char *name)
{
	struct husk_err *err = NULL;

	memset(g, 0, sizeof(*g));
	g->buf = calloc(1, MEMSZ);
	gmem_init_fake(&g->gm, g->buf, BASE, MEMSZ);
	if (event_loop_create(&g->loop, &err) < 0)
		return -1;
	g->irq = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	g->env = (struct virtio_dev_env){.mem = &g->gm,
					 .loop = g->loop,
					 .vm_fd = -1,
					 .mmio_base = 0xd0000000,
					 .gsi = 5,
					 .irq_eventfd = g->irq};
	snprintf(g->path, sizeof(g->path), "/tmp/husk-vsock-%d-%s.sock",
		 getpid(), name);
	unlink(g->path);
	if (virtio_vsock_create(&g->env, CID, g->path, &g->bus, &err) < 0) {
		printf("# %s\n", err->msg);
		husk_err_free(&err);
		return -1;
	}
	return 0;
}

/* What the guest's virtio_mmio + vsock drivers do at probe. */
static int guest_driver_init(struct guest *g)
{
	wr(g, 0x70, 0);
	wr(g, 0x70, 3);
	wr(g, 0x24, 0);
	wr(g, 0x20, g->event_idx ? 1u << VIRTIO_F_EVENT_IDX : 0);
	wr(g, 0x24, 1);
	wr(g, 0x20, 1); /* VERSION_1 */
	wr(g, 0x70, 0xb);
	if (!(rd(g, 0x70) & 8))
		return -1;
	setup_queue(g, VSOCK_RXQ, RXD, RXA, RXU);
	setup_queue(g, VSOCK_TXQ, TXD, TXA, TXU);
	setup_queue(g, VSOCK_EVQ, EVD, EVA, EVU);
	/* Like Linux 6.1: even rx chains split header and data, odd ones
	 * are a single buffer. */
	for (unsigned i = 0; i < NCHAIN; i++) {
		uint64_t b = RXBUF + (uint64_t)i * RXSTRIDE;

		if (i % 2 == 0) {
			set_desc(g, RXD, 2 * i, b, 44,
				 VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
				 (uint16_t)(2 * i + 1));
			set_desc(g, RXD, 2 * i + 1, b + 64, RXDATA,
				 VIRTQ_DESC_F_WRITE, 0);
		} else {
			set_desc(g, RXD, 2 * i, b, 44 + RXDATA,
				 VIRTQ_DESC_F_WRITE, 0);
		}
		if (g->n_rx == 0 || i < g->n_rx)
			rx_post(g, i);
	}
	wr(g, 0x70, 0xf);
	return 0;
}

static int guest_init_ev(struct guest *g, const char *name, bool event_idx)
{
	if (guest_create(g, name) < 0)
		return -1;
	g->event_idx = event_idx;
	return guest_driver_init(g);
}

static int guest_init(struct guest *g, const char *name)
{
	return guest_init_ev(g, name, false);
}

static void guest_free(struct guest *g)
{
	virtio_dev_destroy(&g->bus);
	event_loop_destroy(g->loop);
	close(g->irq);
	free(g->buf);
}

static void pump(struct guest *g)
{
	for (int i = 0; i < 50; i++)
		if (event_loop_run_once(g->loop, 0) <= 0)
			break;
}

/* Next packet the device put on the rx queue; the buffer is reposted. */
static int g_recv(struct guest *g, struct pkt *p)
{
	uint16_t idx;
	uint32_t id, len;
	unsigned chain;
	uint64_t b;
	uint16_t old;

	memcpy(&idx, gp(g, RXU + 2), 2);
	if (idx == g->rx_seen)
		return 0;
	memcpy(&id, gp(g, RXU + 4 + 8 * (g->rx_seen % QN)), 4);
	memcpy(&len, gp(g, RXU + 8 + 8 * (g->rx_seen % QN)), 4);
	g->rx_seen++;
	chain = id / 2;
	if (id % 2 || chain >= NCHAIN || len < 44 || len > 44 + RXDATA)
		abort();
	b = RXBUF + (uint64_t)chain * RXSTRIDE;
	memcpy(&p->h, gp(g, b), 44);
	if (p->h.len != len - 44)
		abort();
	memcpy(p->data, gp(g, b + (chain % 2 ? 44 : 64)), len - 44);
	if (g->hold) {
		g->held[g->n_held++] = chain;
		return 1;
	}
	old = g->rx_avail;
	rx_post(g, chain);
	g_kick(g, VSOCK_RXQ, RXU, old, g->rx_avail);
	return 1;
}

/* Give back the held rx buffers, with one kick as Linux would. */
static void g_release(struct guest *g)
{
	uint16_t old = g->rx_avail;

	for (unsigned i = 0; i < g->n_held; i++)
		rx_post(g, g->held[i]);
	g->n_held = 0;
	g_kick(g, VSOCK_RXQ, RXU, old, g->rx_avail);
}

/* Wait (pumping the device) for the next packet. */
static int g_wait(struct guest *g, struct pkt *p)
{
	for (int i = 0; i < 200; i++) {
		if (g_recv(g, p))
			return 1;
		event_loop_run_once(g->loop, 5);
	}
	return 0;
}

static void g_send_raw(struct guest *g, const void *hdr, uint32_t hlen,
		       const void *data, uint32_t dlen)
{
	unsigned s = g->tx_slot++ % NCHAIN;
	uint64_t b = TXBUF + (uint64_t)s * TXSTRIDE;
	uint16_t head = (uint16_t)(2 * s), used;

	memcpy(gp(g, b), hdr, hlen);
	if (dlen)
		memcpy(gp(g, b + 0x40), data, dlen);
	set_desc(g, TXD, 2 * s, b, hlen, dlen ? VIRTQ_DESC_F_NEXT : 0,
		 (uint16_t)(2 * s + 1));
	set_desc(g, TXD, 2 * s + 1, b + 0x40, dlen, 0, 0);
	memcpy(gp(g, TXA + 4 + 2 * (g->tx_avail % QN)), &head, 2);
	g->tx_avail++;
	memcpy(gp(g, TXA + 2), &g->tx_avail, 2);
	g_kick(g, VSOCK_TXQ, TXU, (uint16_t)(g->tx_avail - 1), g->tx_avail);
	/* Processed synchronously: every chain comes back at once. */
	memcpy(&used, gp(g, TXU + 2), 2);
	if (used != g->tx_avail)
		g->broken = true;
}

static void g_send(struct guest *g, uint16_t op, uint32_t src_port,
		   uint32_t dst_port, uint32_t flags, uint32_t fwd_cnt,
		   const void *data, uint32_t len)
{
	struct virtio_vsock_hdr h = {
		.src_cid = CID,
		.dst_cid = VSOCK_HOST_CID,
		.src_port = src_port,
		.dst_port = dst_port,
		.len = len,
		.type = VSOCK_TYPE_STREAM,
		.op = op,
		.flags = flags,
		.buf_alloc = G_BUF,
		.fwd_cnt = fwd_cnt,
	};

	g_send_raw(g, &h, 44, data, len);
}

static int client_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			0);

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int listen_at(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 4) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read what is there now (the socket is nonblocking): bytes, 0 at EOF,
 * -1 if nothing yet. */
static ssize_t client_read(int fd, void *buf, size_t len)
{
	ssize_t n = read(fd, buf, len);

	if (n < 0 && errno == EAGAIN)
		return -1;
	return n < 0 ? 0 : n;
}

static uint8_t pat_h2g(size_t i)
{
	return (uint8_t)(i * 7 + i / 251);
}

static uint8_t pat_g2h(size_t i)
{
	return (uint8_t)(i * 13 + i / 509 + 1);
}

/* Host CONNECT, guest RESPONSE, "OK <port>": returns the host port. */
static uint32_t open_host_conn(struct guest *g, int *client, uint32_t gport)
{
	struct pkt p;
	char ok[64];
	char cmd[32];
	ssize_t n;

	*client = client_connect(g->path);
	if (*client < 0)
		return 0;
	n = snprintf(cmd, sizeof(cmd), "CONNECT %u\n", gport);
	if (write(*client, cmd, (size_t)n) != n)
		return 0;
	if (!g_wait(g, &p) || p.h.op != VSOCK_OP_REQUEST ||
	    p.h.src_cid != VSOCK_HOST_CID || p.h.dst_cid != CID ||
	    p.h.dst_port != gport || p.h.src_port < VSOCK_LOCAL_PORT_MIN ||
	    p.h.type != VSOCK_TYPE_STREAM)
		return 0;
	g_send(g, VSOCK_OP_RESPONSE, gport, p.h.src_port, 0, 0, NULL, 0);
	n = client_read(*client, ok, sizeof(ok) - 1);
	if (n <= 0)
		return 0;
	ok[n] = '\0';
	if (strncmp(ok, "OK ", 3) != 0 || strtoul(ok + 3, NULL, 10) !=
							   p.h.src_port)
		return 0;
	return p.h.src_port;
}

struct xfer {
	/* host -> guest */
	size_t h2g_sent, h2g_got;
	uint32_t g_fwd_adv;
	/* guest -> host */
	size_t g2h_sent, g2h_got;
	uint32_t host_buf_alloc, host_fwd_cnt;
	bool stalled, got_shutdown, got_rst;
	uint32_t shutdown_flags;
	const char *why;
};

static void xfer_packet(struct guest *g, struct xfer *x, const struct pkt *p,
			uint32_t hport, uint32_t gport)
{
	if (p->h.src_port != hport || p->h.dst_port != gport) {
		x->why = "packet for the wrong connection";
		return;
	}
	x->host_buf_alloc = p->h.buf_alloc;
	x->host_fwd_cnt = p->h.fwd_cnt;
	switch (p->h.op) {
	case VSOCK_OP_RW:
		/* The device must stay within the credit we advertised. */
		if ((uint32_t)(x->h2g_got + p->h.len) - x->g_fwd_adv > G_BUF)
			x->why = "host exceeded the guest's credit";
		for (uint32_t i = 0; i < p->h.len; i++)
			if (p->data[i] != pat_h2g(x->h2g_got + i))
				x->why = "host->guest data corrupted";
		x->h2g_got += p->h.len;
		break;
	case VSOCK_OP_CREDIT_REQUEST:
		x->g_fwd_adv = (uint32_t)x->h2g_got;
		g_send(g, VSOCK_OP_CREDIT_UPDATE, gport, hport, 0,
		       x->g_fwd_adv, NULL, 0);
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break;
	case VSOCK_OP_SHUTDOWN:
		x->got_shutdown = true;
		x->shutdown_flags = p->h.flags;
		break;
	case VSOCK_OP_RST:
		x->got_rst = true;
		break;
	default:
		x->why = "unexpected op";
	}
}

static void run_xfer(struct unit_ctx *u_, bool event_idx)
{
	struct guest g;
	struct xfer x = {0};
	uint8_t *src = malloc(XFER), *chunk = malloc(16384), rbuf[8192];
	uint32_t hport;
	int client = -1;
	bool shut_wr = false;
	struct pkt *p = malloc(sizeof(*p));

	for (size_t i = 0; i < XFER; i++)
		src[i] = pat_h2g(i);
	CHECK(guest_init_ev(&g, "xfer", event_idx) == 0);
	hport = open_host_conn(&g, &client, 1024);
	CHECK(hport != 0);
	x.host_buf_alloc = VSOCK_CONN_BUF;
	for (int iter = 0; iter < 200000 && !x.why; iter++) {
		ssize_t n;

		if (x.h2g_sent < XFER) {
			n = write(client, src + x.h2g_sent, XFER - x.h2g_sent);
			if (n > 0)
				x.h2g_sent += (size_t)n;
		} else if (!shut_wr) {
			shutdown(client, SHUT_WR);
			shut_wr = true;
		}
		/* The host reads nothing until the guest has run out of
		 * credit once: the device must buffer and then hold. */
		if (x.stalled && x.g2h_got < XFER) {
			n = client_read(client, rbuf, sizeof(rbuf));
			for (ssize_t i = 0; i < n; i++)
				if (rbuf[i] != pat_g2h(x.g2h_got + (size_t)i))
					x.why = "guest->host data corrupted";
			if (n > 0)
				x.g2h_got += (size_t)n;
		}
		pump(&g);
		while (g_recv(&g, p))
			xfer_packet(&g, &x, p, hport, 1024);
		if (x.h2g_got - x.g_fwd_adv >= G_BUF / 2) {
			x.g_fwd_adv = (uint32_t)x.h2g_got;
			g_send(&g, VSOCK_OP_CREDIT_UPDATE, 1024, hport, 0,
			       x.g_fwd_adv, NULL, 0);
		}
		while (x.g2h_sent < XFER) {
			uint32_t in_flight = (uint32_t)x.g2h_sent -
					     x.host_fwd_cnt;
			uint32_t credit = x.host_buf_alloc - in_flight;
			size_t len = XFER - x.g2h_sent;

			if (in_flight > x.host_buf_alloc)
				x.why = "host fwd_cnt went backwards";
			if (credit == 0) {
				x.stalled = true;
				break;
			}
			if (len > 16384)
				len = 16384;
			if (len > credit)
				len = credit;
			for (size_t i = 0; i < len; i++)
				chunk[i] = pat_g2h(x.g2h_sent + i);
			x.g_fwd_adv = (uint32_t)x.h2g_got;
			g_send(&g, VSOCK_OP_RW, 1024, hport, 0, x.g_fwd_adv,
			       chunk, (uint32_t)len);
			x.g2h_sent += len;
		}
		if (x.got_rst)
			x.why = "connection reset during transfer";
		if (x.h2g_got == XFER && x.g2h_got == XFER && x.got_shutdown)
			break;
	}
	if (x.why)
		printf("# %s (h2g %zu/%zu g2h %zu/%zu)\n", x.why, x.h2g_got,
		       x.h2g_sent, x.g2h_got, x.g2h_sent);
	CHECK(x.why == NULL);
	CHECK(!g.broken);
	CHECK(x.stalled);
	CHECK(x.h2g_got == XFER && x.g2h_got == XFER);
	/* Host half-closed: the guest hears "no more sends" only. */
	CHECK(x.got_shutdown && x.shutdown_flags == VSOCK_SHUTDOWN_SEND);
	/* Guest closes both ways; the device answers RST, the host EOF. */
	g_send(&g, VSOCK_OP_SHUTDOWN, 1024, hport, 3, x.g_fwd_adv, NULL, 0);
	CHECK(g_wait(&g, p) && p->h.op == VSOCK_OP_RST);
	CHECK(p->h.src_port == hport && p->h.dst_port == 1024);
	CHECK(client_read(client, rbuf, sizeof(rbuf)) == 0);
	/* The connection is gone: data on it is answered with RST. */
	g_send(&g, VSOCK_OP_RW, 1024, hport, 0, 0, "x", 1);
	CHECK(g_wait(&g, p) && p->h.op == VSOCK_OP_RST);
	close(client);
	guest_free(&g);
	free(src);
	free(chunk);
	free(p);
}

TEST(test_host_conn_1mib_both_ways)
{
	run_xfer(u_, false);
}

/* The same with notification suppression: the device must publish
 * avail_event when it runs out of rx buffers or it never hears of more. */
TEST(test_host_conn_1mib_event_idx)
{
	run_xfer(u_, true);
}

/* Only an rx kick can wake the device here: it ran out of buffers with
 * host data waiting, and no other packet or socket event follows. */
TEST(test_rx_refill_event_idx)
{
	struct guest g;
	struct pkt p;
	uint8_t data[20000];
	size_t got = 0;
	uint32_t hport;
	int c;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = pat_h2g(i);
	CHECK(guest_create(&g, "refill") == 0);
	g.event_idx = true;
	g.n_rx = 4;
	CHECK(guest_driver_init(&g) == 0);
	hport = open_host_conn(&g, &c, 1024);
	CHECK(hport);
	g.hold = true;
	CHECK(write(c, data, sizeof(data)) == (ssize_t)sizeof(data));
	pump(&g);
	while (g_recv(&g, &p)) {
		CHECK(p.h.op == VSOCK_OP_RW);
		CHECK(memcmp(p.data, data + got, p.h.len) == 0);
		got += p.h.len;
	}
	CHECK(g.n_held == 4 && got < sizeof(data));
	g.hold = false;
	g_release(&g);
	for (int i = 0; i < 100 && got < sizeof(data); i++) {
		pump(&g);
		while (got < sizeof(data) && g_recv(&g, &p)) {
			CHECK(p.h.op == VSOCK_OP_RW);
			CHECK(memcmp(p.data, data + got, p.h.len) == 0);
			got += p.h.len;
		}
	}
	CHECK(got == sizeof(data));
	close(c);
	guest_free(&g);
}

TEST(test_guest_conn)
{
	struct guest g;
	struct pkt p;
	char lpath[128], buf[64];
	int lfd, sfd;

	CHECK(guest_init(&g, "gconn") == 0);
	snprintf(lpath, sizeof(lpath), "%s_5000", g.path);
	lfd = listen_at(lpath);
	CHECK(lfd >= 0);
	g_send(&g, VSOCK_OP_REQUEST, 3333, 5000, 0, 0, NULL, 0);
	CHECK(g_wait(&g, &p) && p.h.op == VSOCK_OP_RESPONSE);
	CHECK(p.h.src_port == 5000 && p.h.dst_port == 3333);
	CHECK(p.h.src_cid == VSOCK_HOST_CID && p.h.dst_cid == CID);
	CHECK(p.h.buf_alloc == VSOCK_CONN_BUF);
	sfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	CHECK(sfd >= 0);
	g_send(&g, VSOCK_OP_RW, 3333, 5000, 0, 0, "hello", 5);
	CHECK(read(sfd, buf, sizeof(buf)) == 5 && memcmp(buf, "hello", 5) == 0);
	CHECK(write(sfd, "world!", 6) == 6);
	CHECK(g_wait(&g, &p) && p.h.op == VSOCK_OP_RW && p.h.len == 6);
	CHECK(memcmp(p.data, "world!", 6) == 0);
	/* Guest stops sending: the host sees EOF, can still send. */
	g_send(&g, VSOCK_OP_SHUTDOWN, 3333, 5000, VSOCK_SHUTDOWN_SEND, 6, NULL,
	       0);
	CHECK(read(sfd, buf, sizeof(buf)) == 0);
	CHECK(write(sfd, "bye", 3) == 3);
	CHECK(g_wait(&g, &p) && p.h.op == VSOCK_OP_RW && p.h.len == 3);
	/* Host closes: SHUTDOWN both ways, then the guest's RST ends it. */
	close(sfd);
	CHECK(g_wait(&g, &p) && p.h.op == VSOCK_OP_SHUTDOWN);
	CHECK(p.h.flags == (VSOCK_SHUTDOWN_SEND | VSOCK_SHUTDOWN_RCV));
	g_send(&g, VSOCK_OP_RST, 3333, 5000, 0, 0, NULL, 0);
	pump(&g);
	CHECK(!g_recv(&g, &p)); /* no answer to an RST */
	g_send(&g, VSOCK_OP_RW, 3333, 5000, 0, 0, "x", 1);
	CHECK(g_wait(&g, &p) && p.h.op == VSOCK_OP_RST);
	/* Nothing listens on 5001: RST. */
	g_send(&g, VSOCK_OP_REQUEST, 3334, 5001, 0, 0, NULL, 0);
	CHECK(g_wait(&g, &p) && p.h.op == VSOCK_OP_RST);
	CHECK(p.h.src_port == 5001 && p.h.dst_port == 3334);
	CHECK(!g.broken);
	close(lfd);
	unlink(lpath);
	guest_free(&g);
}

TEST(test_host_refusals)
{
	struct guest g;
	struct pkt p;
	char buf[64];
	int c;

	CHECK(guest_init(&g, "refuse") == 0);
	/* Not a CONNECT line: closed without a word. */
	c = client_connect(g.path);
	CHECK(c >= 0);
	CHECK(write(c, "HELLO 1\n", 8) == 8);
	pump(&g);
	CHECK(client_read(c, buf, sizeof(buf)) == 0);
	close(c);
	c = client_connect(g.path);
	CHECK(write(c, "CONNECT 99999999999\n", 20) == 20);
	pump(&g);
	CHECK(client_read(c, buf, sizeof(buf)) == 0);
	close(c);
	/* A line that never ends. */
	c = client_connect(g.path);
	CHECK(write(c, "CONNECT 1111111111111111111111111111111", 39) == 39);
	pump(&g);
	CHECK(client_read(c, buf, sizeof(buf)) == 0);
	close(c);
	CHECK(!g_recv(&g, &p));
	/* The guest refuses: the client sees EOF and no OK. */
	c = client_connect(g.path);
	CHECK(write(c, "CONNECT 77\n", 11) == 11);
	CHECK(g_wait(&g, &p) && p.h.op == VSOCK_OP_REQUEST);
	g_send(&g, VSOCK_OP_RST, 77, p.h.src_port, 0, 0, NULL, 0);
	pump(&g);
	CHECK(client_read(c, buf, sizeof(buf)) == 0);
	close(c);
	/* Two connections get different host ports. */
	{
		int c1, c2;
		uint32_t p1 = open_host_conn(&g, &c1, 1024);
		uint32_t p2 = open_host_conn(&g, &c2, 1024);

		CHECK(p1 && p2 && p1 != p2);
		close(c1);
		close(c2);
		pump(&g);
	}
	guest_free(&g);
}

TEST(test_garbage)
{
	struct guest g;
	struct pkt p;
	struct virtio_vsock_hdr h = {.src_cid = CID,
				     .dst_cid = VSOCK_HOST_CID,
				     .src_port = 40,
				     .dst_port = 41,
				     .type = VSOCK_TYPE_STREAM};
	uint8_t small[8] = {0};
	int c;
	uint32_t hport;

	CHECK(guest_init(&g, "garbage") == 0);
	/* Unknown op, no connection: RST. */
	h.op = 99;
	g_send_raw(&g, &h, 44, NULL, 0);
	CHECK(g_wait(&g, &p) && p.h.op == VSOCK_OP_RST);
	CHECK(p.h.src_port == 41 && p.h.dst_port == 40);
	/* Wrong destination cid, wrong type: RST. */
	h.op = VSOCK_OP_REQUEST;
	h.dst_cid = 7;
	g_send_raw(&g, &h, 44, NULL, 0);
	CHECK(g_wait(&g, &p) && p.h.op == VSOCK_OP_RST);
	h.dst_cid = VSOCK_HOST_CID;
	h.type = 2;
	g_send_raw(&g, &h, 44, NULL, 0);
	CHECK(g_wait(&g, &p) && p.h.op == VSOCK_OP_RST);
	h.type = VSOCK_TYPE_STREAM;
	/* Dropped silently: forged source cid, len beyond the payload or
	 * beyond any sane packet, a header cut short, an RST for nothing. */
	h.src_cid = 9;
	g_send_raw(&g, &h, 44, NULL, 0);
	h.src_cid = CID;
	h.op = VSOCK_OP_RW;
	h.len = 100;
	g_send_raw(&g, &h, 44, "abc", 3);
	h.len = 1u << 30;
	g_send_raw(&g, &h, 44, NULL, 0);
	g_send_raw(&g, small, sizeof(small), NULL, 0);
	h.op = VSOCK_OP_RST;
	h.len = 0;
	g_send_raw(&g, &h, 44, NULL, 0);
	pump(&g);
	CHECK(!g_recv(&g, &p));
	CHECK(!g.broken);
	/* Garbage on a live connection kills it with RST. */
	hport = open_host_conn(&g, &c, 1024);
	CHECK(hport);
	g_send(&g, 42, 1024, hport, 0, 0, NULL, 0);
	CHECK(g_wait(&g, &p) && p.h.op == VSOCK_OP_RST);
	CHECK(p.h.src_port == hport && p.h.dst_port == 1024);
	pump(&g);
	{
		char b[8];

		CHECK(client_read(c, b, sizeof(b)) == 0);
	}
	close(c);
	/* More data than the credit we gave: RST. */
	hport = open_host_conn(&g, &c, 1024);
	CHECK(hport);
	{
		uint8_t *big = calloc(1, VSOCK_MAX_PKT);
		bool rst = false;

		for (int i = 0; i < 2 * VSOCK_CONN_BUF / VSOCK_MAX_PKT + 8;
		     i++) {
			g_send(&g, VSOCK_OP_RW, 1024, hport, 0, 0, big,
			       VSOCK_MAX_PKT);
			while (g_recv(&g, &p))
				rst = rst || p.h.op == VSOCK_OP_RST;
		}
		free(big);
		CHECK(rst);
	}
	close(c);
	/* A malformed tx chain breaks the device, it asks for a reset. */
	set_desc(&g, TXD, 0, BASE + MEMSZ, 44, 0, 0);
	{
		uint16_t head = 0;

		memcpy(gp(&g, TXA + 4 + 2 * (g.tx_avail % QN)), &head, 2);
		g.tx_avail++;
		memcpy(gp(&g, TXA + 2), &g.tx_avail, 2);
		wr(&g, 0x50, VSOCK_TXQ);
	}
	CHECK(rd(&g, 0x70) & VIRTIO_STATUS_NEEDS_RESET);
	guest_free(&g);
}

TEST(test_connect_before_driver)
{
	struct guest g;
	struct pkt p;
	char ok[64];
	int c;

	/* A host client may connect before the guest driver is up: the
	 * REQUEST waits for the rx queue and survives the probe's reset. */
	CHECK(guest_create(&g, "early") == 0);
	c = client_connect(g.path);
	CHECK(c >= 0 && write(c, "CONNECT 1024\n", 13) == 13);
	pump(&g);
	CHECK(guest_driver_init(&g) == 0);
	CHECK(g_wait(&g, &p) && p.h.op == VSOCK_OP_REQUEST);
	CHECK(p.h.dst_port == 1024);
	g_send(&g, VSOCK_OP_RESPONSE, 1024, p.h.src_port, 0, 0, NULL, 0);
	CHECK(client_read(c, ok, sizeof(ok)) > 3 && memcmp(ok, "OK ", 3) == 0);
	/* A driver reset drops the connections the guest knew. */
	wr(&g, 0x70, 0);
	CHECK(client_read(c, ok, sizeof(ok)) == 0);
	close(c);
	guest_free(&g);
}

int main(void)
{
	RUN(test_host_conn_1mib_both_ways);
	RUN(test_host_conn_1mib_event_idx);
	RUN(test_rx_refill_event_idx);
	RUN(test_guest_conn);
	RUN(test_host_refusals);
	RUN(test_garbage);
	RUN(test_connect_before_driver);
	UNIT_EXIT();
}
