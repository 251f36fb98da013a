/* libFuzzer harness: arbitrary bytes become guest memory and ring layout.
 * Mode 0 walks a split virtqueue directly (pop/push/interrupt logic); mode 1
 * runs the whole virtio-vsock device over it through the mmio transport
 * (tx packets parsed, replies written into rx buffers). A crash, sanitizer
 * report or a read outside guest memory (ASan catches it: the fake guest
 * memory is its own heap block) is a bug; a broken queue is a result. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/virtio/mmio.h"
#include "vmm/virtio/queue.h"
#include "vmm/virtio/virtio.h"

#define MEMSZ 0x10000
#define HDR 32 /* control bytes before the memory image */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctl {
	uint8_t mode;
	uint8_t num_log; /* queue size 1 << (num_log % 10): 512 is refused */
	uint8_t feat;    /* bit 0 indirect, bit 1 event_idx */
	uint8_t pops;
	uint16_t desc, avail, used; /* ring offsets in guest memory */
	uint16_t rx_desc, rx_avail, rx_used;
	uint16_t last_avail;
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void parse_ctl(const uint8_t *d, struct ctl *c)
{
	c->mode = d[0] & 1;
	c->num_log = d[1];
	c->feat = d[2];
	c->pops = d[3];
	c->desc = get16(d + 4);
	c->avail = get16(d + 6);
	c->used = get16(d + 8);
	c->rx_desc = get16(d + 10);
	c->rx_avail = get16(d + 12);
	c->rx_used = get16(d + 14);
	c->last_avail = get16(d + 16);
}

static void fuzz_queue(uint8_t *mem, const struct ctl *c)
{
	struct guest_mem gm;
	struct virtq q;
	static struct virtq_chain chain;
	uint16_t num = (uint16_t)(1u << (c->num_log % 10));

	/* Guest addresses start at 0x1000 so that 0 is outside RAM. */
	gmem_init_fake(&gm, mem, 0x1000, MEMSZ);
	if (virtq_setup(&q, &gm, num, 0x1000 + (uint64_t)c->desc,
			0x1000 + (uint64_t)c->avail, 0x1000 + (uint64_t)c->used,
			c->feat & 1, c->feat & 2) < 0)
		return;
	q.last_avail = c->last_avail;
	for (int i = 0; i <= c->pops; i++) {
		int rc = virtq_pop(&q, &chain);

		if (rc <= 0)
			break;
		/* Touch every byte the walker handed out. */
		for (int k = 0; k < chain.n_out + chain.n_in; k++)
			if (chain.iov[k].iov_len)
				((volatile uint8_t *)chain.iov[k].iov_base)
					[chain.iov[k].iov_len - 1] ^= 0;
		virtq_push(&q, chain.head, (uint32_t)chain.in_len);
		(void)virtq_need_interrupt(&q);
	}
	(void)virtq_enable_notify(&q);
}

struct vsock_rig {
	uint8_t *mem;
	struct guest_mem gm;
	struct event_loop *loop;
	struct bus_dev bus;
};

static void wr(struct vsock_rig *r, uint64_t off, uint32_t v)
{
	r->bus.write(r->bus.opaque, off, &v, 4);
}

static void queue(struct vsock_rig *r, uint32_t q, uint32_t num, uint64_t d,
		  uint64_t a, uint64_t u)
{
	wr(r, 0x30, q);
	wr(r, 0x38, num);
	wr(r, 0x80, (uint32_t)d);
	wr(r, 0x90, (uint32_t)a);
	wr(r, 0xa0, (uint32_t)u);
	wr(r, 0x44, 1);
}

static struct vsock_rig *rig_get(void)
{
	static struct vsock_rig r;
	struct husk_err *err = NULL;
	struct virtio_dev_env env;
	char path[64];

	if (r.mem)
		return &r;
	r.mem = malloc(MEMSZ);
	gmem_init_fake(&r.gm, r.mem, 0x1000, MEMSZ);
	if (event_loop_create(&r.loop, &err) < 0)
		abort();
	env = (struct virtio_dev_env){.mem = &r.gm,
				      .loop = r.loop,
				      .vm_fd = -1,
				      .irq_eventfd = -1};
	snprintf(path, sizeof(path), "/tmp/husk-fuzz-virtq-%d.sock",
		 getpid());
	unlink(path);
	if (virtio_vsock_create(&env, 3, path, &r.bus, &err) < 0)
		abort();
	/* The socket file is only needed while the process lives. */
	unlink(path);
	return &r;
}

static void fuzz_vsock(const uint8_t *img, size_t len, const struct ctl *c)
{
	struct vsock_rig *r = rig_get();
	uint16_t num = (uint16_t)(1u << (c->num_log % 9));

	wr(r, 0x70, 0); /* reset: drops what the last input left */
	memset(r->mem, 0, MEMSZ);
	memcpy(r->mem, img, len);
	wr(r, 0x70, 3);
	wr(r, 0x24, 0);
	wr(r, 0x20, (uint32_t)(c->feat & 3) << 28);
	wr(r, 0x24, 1);
	wr(r, 0x20, 1);
	wr(r, 0x70, 0xb);
	queue(r, 0, num, 0x1000 + (uint64_t)c->rx_desc,
	      0x1000 + (uint64_t)c->rx_avail, 0x1000 + (uint64_t)c->rx_used);
	queue(r, 1, num, 0x1000 + (uint64_t)c->desc,
	      0x1000 + (uint64_t)c->avail, 0x1000 + (uint64_t)c->used);
	wr(r, 0x70, 0xf); /* DRIVER_OK runs both queues */
	wr(r, 0x50, 1);
	wr(r, 0x50, 0);
	for (int i = 0; i < 4; i++)
		if (event_loop_run_once(r->loop, 0) <= 0)
			break;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl c;
	uint8_t *mem;
	size_t len;

	if (size < HDR)
		return 0;
	parse_ctl(data, &c);
	len = size - HDR < MEMSZ ? size - HDR : MEMSZ;
	if (c.mode == 1) {
		fuzz_vsock(data + HDR, len, &c);
		return 0;
	}
	/* Exactly MEMSZ bytes of heap: one byte past is an ASan report. */
	mem = calloc(1, MEMSZ);
	memcpy(mem, data + HDR, len);
	fuzz_queue(mem, &c);
	free(mem);
	return 0;
}
