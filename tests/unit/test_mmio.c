/* The virtio-mmio transport driven through bus_dev.read/write the way a
 * guest driver does it (virtio 1.2 section 4.2.3), with virtio-rng and
 * virtio-vsock behind it; odd-width and out-of-range accesses. */
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "vmm/virtio/mmio.h"
#include "vmm/virtio/virtio.h"

#define BASE 0x10000ULL
#define MEMSZ (1 << 20)
#define DESC (BASE + 0x0)
#define AVAIL (BASE + 0x1000)
#define USED (BASE + 0x2000)
#define DATA (BASE + 0x10000)

struct rig {
	uint8_t *buf;
	struct guest_mem gm;
	struct event_loop *loop;
	struct virtio_dev_env env;
	struct bus_dev bus;
	int irq;
};

static uint32_t rd(struct rig *r, uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	r->bus.read(r->bus.opaque, off, &v, 4);
	return v;
}

static void wr(struct rig *r, uint64_t off, uint32_t v)
{
	r->bus.write(r->bus.opaque, off, &v, 4);
}

static void rig_init(struct rig *r)
{
	struct husk_err *err = NULL;

	memset(r, 0, sizeof(*r));
	r->buf = calloc(1, MEMSZ);
	gmem_init_fake(&r->gm, r->buf, BASE, MEMSZ);
	if (event_loop_create(&r->loop, &err) < 0)
		abort();
	r->irq = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r->env.mem = &r->gm;
	r->env.loop = r->loop;
	r->env.vm_fd = -1;
	r->env.mmio_base = 0xd0000000;
	r->env.gsi = 5;
	r->env.irq_eventfd = r->irq;
}

static void rig_free(struct rig *r)
{
	virtio_dev_destroy(&r->bus);
	event_loop_destroy(r->loop);
	close(r->irq);
	free(r->buf);
}

static uint64_t irq_count(struct rig *r)
{
	uint64_t v = 0;

	if (read(r->irq, &v, 8) != 8)
		return 0;
	return v;
}

/* 4.2.3.1 and 3.1.1: reset, ACK, DRIVER, features, FEATURES_OK. */
static int negotiate(struct rig *r, uint32_t lo, uint32_t hi)
{
	wr(r, 0x70, 0);
	wr(r, 0x70, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(r, 0x70, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(r, 0x24, 0);
	wr(r, 0x20, lo);
	wr(r, 0x24, 1);
	wr(r, 0x20, hi);
	wr(r, 0x70, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			    VIRTIO_STATUS_FEATURES_OK);
	return (rd(r, 0x70) & VIRTIO_STATUS_FEATURES_OK) ? 0 : -1;
}

static void setup_queue(struct rig *r, uint32_t q, uint32_t num,
			uint64_t desc, uint64_t avail, uint64_t used)
{
	wr(r, 0x30, q);
	wr(r, 0x38, num);
	wr(r, 0x80, (uint32_t)desc);
	wr(r, 0x84, (uint32_t)(desc >> 32));
	wr(r, 0x90, (uint32_t)avail);
	wr(r, 0x94, (uint32_t)(avail >> 32));
	wr(r, 0xa0, (uint32_t)used);
	wr(r, 0xa4, (uint32_t)(used >> 32));
	wr(r, 0x44, 1);
}

TEST(test_rng_registers)
{
	struct rig r;
	struct husk_err *err = NULL;

	rig_init(&r);
	CHECK(virtio_rng_create(&r.env, &r.bus, &err) == 0);
	CHECK(r.bus.base == 0xd0000000 && r.bus.len == VIRTIO_MMIO_WINDOW);
	CHECK(rd(&r, 0x000) == 0x74726976);
	CHECK(rd(&r, 0x004) == 2);
	CHECK(rd(&r, 0x008) == 4);
	wr(&r, 0x14, 1);
	CHECK(rd(&r, 0x10) & 1); /* VIRTIO_F_VERSION_1 is bit 32 */
	wr(&r, 0x14, 0);
	CHECK(rd(&r, 0x10) & (1u << VIRTIO_F_INDIRECT_DESC));
	wr(&r, 0x14, 7);
	CHECK(rd(&r, 0x10) == 0);
	/* No VERSION_1, or a bit we never offered: FEATURES_OK refused. */
	CHECK(negotiate(&r, 0, 0) < 0);
	CHECK(negotiate(&r, 1u << 5, 1) < 0);
	CHECK(negotiate(&r, 0, 1) == 0);
	/* Features are frozen after FEATURES_OK. */
	wr(&r, 0x24, 0);
	wr(&r, 0x20, 1u << 5);
	wr(&r, 0x30, 0);
	CHECK(rd(&r, 0x34) == VIRTQ_MAX_SIZE);
	wr(&r, 0x30, 1);
	CHECK(rd(&r, 0x34) == 0); /* rng has one queue */
	CHECK(rd(&r, 0x44) == 0);
	CHECK(rd(&r, 0xb0) == 0xffffffff); /* no shared memory */
	CHECK(rd(&r, 0xfc) == 0);
	setup_queue(&r, 0, 16, DESC, AVAIL, USED);
	CHECK(rd(&r, 0x44) == 1);
	/* Changing a live queue's layout is ignored. */
	wr(&r, 0x38, 8);
	wr(&r, 0x80, 0);
	CHECK(((struct virtio_mmio *)r.bus.opaque)->vq[0].num == 16);
	wr(&r, 0x70, 0xf);
	CHECK(rd(&r, 0x70) == 0xf);
	rig_free(&r);
}

TEST(test_rng_request)
{
	struct rig r;
	struct husk_err *err = NULL;
	struct virtq_desc d = {DATA, 64, VIRTQ_DESC_F_WRITE, 0};
	uint16_t idx = 1, head = 0, used_idx;
	uint32_t used_len;
	static const uint8_t zero[64];

	rig_init(&r);
	CHECK(virtio_rng_create(&r.env, &r.bus, &err) == 0);
	CHECK(negotiate(&r, 0, 1) == 0);
	setup_queue(&r, 0, 16, DESC, AVAIL, USED);
	wr(&r, 0x70, 0xf);
	CHECK(irq_count(&r) == 0);
	memcpy(r.buf + (DESC - BASE), &d, 16);
	memcpy(r.buf + (AVAIL - BASE) + 4, &head, 2);
	memcpy(r.buf + (AVAIL - BASE) + 2, &idx, 2);
	wr(&r, 0x50, 0);
	memcpy(&used_idx, r.buf + (USED - BASE) + 2, 2);
	memcpy(&used_len, r.buf + (USED - BASE) + 8, 4);
	CHECK(used_idx == 1 && used_len == 64);
	CHECK(memcmp(r.buf + (DATA - BASE), zero, 64) != 0);
	CHECK(rd(&r, 0x60) == VIRTIO_MMIO_INT_VRING);
	CHECK(irq_count(&r) == 1);
	wr(&r, 0x64, VIRTIO_MMIO_INT_VRING);
	CHECK(rd(&r, 0x60) == 0);
	/* A notify for a queue that does not exist does nothing. */
	wr(&r, 0x50, 3);
	CHECK(rd(&r, 0x70) == 0xf);
	/* A malformed chain: the device asks for a reset, with a config
	 * change interrupt (2.1.2). */
	d.addr = BASE + MEMSZ;
	memcpy(r.buf + (DESC - BASE), &d, 16);
	idx = 2;
	memcpy(r.buf + (AVAIL - BASE) + 6, &head, 2);
	memcpy(r.buf + (AVAIL - BASE) + 2, &idx, 2);
	wr(&r, 0x50, 0);
	CHECK(rd(&r, 0x70) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK(rd(&r, 0x60) & VIRTIO_MMIO_INT_CONFIG);
	/* The driver cannot clear NEEDS_RESET except by resetting. */
	wr(&r, 0x70, 0xf);
	CHECK(rd(&r, 0x70) & VIRTIO_STATUS_NEEDS_RESET);
	wr(&r, 0x70, 0);
	CHECK(rd(&r, 0x70) == 0 && rd(&r, 0x60) == 0);
	wr(&r, 0x30, 0);
	CHECK(rd(&r, 0x44) == 0);
	rig_free(&r);
}

TEST(test_bad_rings)
{
	struct rig r;
	struct husk_err *err = NULL;

	rig_init(&r);
	CHECK(virtio_rng_create(&r.env, &r.bus, &err) == 0);
	CHECK(negotiate(&r, 0, 1) == 0);
	/* Used ring beyond guest memory: queue refused, device broken. */
	setup_queue(&r, 0, 16, DESC, AVAIL, BASE + MEMSZ - 8);
	CHECK(rd(&r, 0x44) == 0);
	CHECK(rd(&r, 0x70) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK(negotiate(&r, 0, 1) == 0);
	CHECK(!(rd(&r, 0x70) & VIRTIO_STATUS_NEEDS_RESET));
	setup_queue(&r, 0, 1000, DESC, AVAIL, USED); /* > max: num 0 */
	CHECK(rd(&r, 0x44) == 0);
	rig_free(&r);
}

TEST(test_odd_accesses)
{
	struct rig r;
	struct husk_err *err = NULL;
	uint64_t v8;
	uint16_t v2;
	uint8_t v1;

	rig_init(&r);
	CHECK(virtio_rng_create(&r.env, &r.bus, &err) == 0);
	v2 = 0xffff;
	r.bus.read(r.bus.opaque, 0, &v2, 2);
	CHECK(v2 == 0);
	v8 = ~0ULL;
	r.bus.read(r.bus.opaque, 0, &v8, 8);
	CHECK(v8 == 0);
	CHECK(rd(&r, 0x2) == 0); /* unaligned */
	CHECK(rd(&r, 0xffc) == 0);
	CHECK(rd(&r, 0x100) == 0); /* rng has no config */
	/* Narrow or unaligned writes to Status are ignored. */
	v1 = 1;
	r.bus.write(r.bus.opaque, 0x70, &v1, 1);
	CHECK(rd(&r, 0x70) == 0);
	wr(&r, 0x71, 1);
	CHECK(rd(&r, 0x70) == 0);
	r.bus.write(r.bus.opaque, 0x70, &v8, 8);
	CHECK(rd(&r, 0x70) == 0);
	wr(&r, 0x100, 1);
	wr(&r, 0xfff, 1);
	wr(&r, 0x000, 1); /* read-only */
	CHECK(rd(&r, 0x000) == 0x74726976);
	/* Queue registers for an absent queue are ignored. */
	wr(&r, 0x30, 3);
	wr(&r, 0x38, 16);
	wr(&r, 0x44, 1);
	CHECK(rd(&r, 0x44) == 0);
	/* DRIVER_OK without FEATURES_OK does not stick. */
	wr(&r, 0x70, 7);
	CHECK(rd(&r, 0x70) == 3);
	rig_free(&r);
}

TEST(test_vsock_config)
{
	struct rig r;
	struct husk_err *err = NULL;
	char path[64];
	uint64_t v8 = 0;
	uint32_t v4 = 0;
	uint8_t v1 = 0;

	snprintf(path, sizeof(path), "/tmp/husk-mmio-%d.sock", getpid());
	unlink(path);
	rig_init(&r);
	CHECK(virtio_vsock_create(&r.env, 0x123456789ULL & 0xffffffff, path,
				  &r.bus, &err) == 0);
	CHECK(rd(&r, 0x008) == 19);
	r.bus.read(r.bus.opaque, 0x100, &v8, 8);
	CHECK(v8 == 0x23456789);
	r.bus.read(r.bus.opaque, 0x100, &v4, 4);
	CHECK(v4 == 0x23456789);
	r.bus.read(r.bus.opaque, 0x104, &v4, 4);
	CHECK(v4 == 0);
	r.bus.read(r.bus.opaque, 0x101, &v1, 1);
	CHECK(v1 == 0x67);
	v4 = 7;
	r.bus.read(r.bus.opaque, 0x106, &v4, 4); /* crosses the end */
	CHECK(v4 == 0);
	r.bus.read(r.bus.opaque, 0x100, &v4, 3); /* odd width */
	CHECK(v4 == 0);
	/* The socket path is taken; a second device is refused. */
	{
		struct bus_dev b2;

		CHECK(virtio_vsock_create(&r.env, 4, path, &b2, &err) < 0);
		CHECK(err && strstr(err->msg, path) != NULL);
		husk_err_free(&err);
	}
	CHECK(virtio_vsock_create(&r.env, 2, "/tmp/x", &r.bus, &err) < 0);
	husk_err_free(&err);
	CHECK(access(path, F_OK) == 0);
	rig_free(&r);
	CHECK(access(path, F_OK) < 0);
}

int main(void)
{
	RUN(test_rng_registers);
	RUN(test_rng_request);
	RUN(test_bad_rings);
	RUN(test_odd_accesses);
	RUN(test_vsock_config);
	UNIT_EXIT();
}
