/* Split virtqueue walker against fake guest memory: well-formed chains and
 * every malformed case (each must break the queue, never crash); guest
 * memory bounds; the event loop. */
#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "vmm/event.h"
#include "vmm/mem.h"
#include "vmm/virtio/queue.h"

#define BASE 0x10000ULL
#define MEMSZ (1 << 20)
#define DESC (BASE + 0x0)
#define AVAIL (BASE + 0x1000)
#define USED (BASE + 0x2000)
#define DATA (BASE + 0x10000)
#define IND (BASE + 0x8000)

struct fake {
	uint8_t *buf;
	struct guest_mem gm;
	struct virtq q;
	uint16_t num;
	uint16_t avail_idx;
};

static void *gpa(struct fake *f, uint64_t a)
{
	return f->buf + (a - BASE);
}

static void fake_init(struct fake *f, uint16_t num, bool indirect,
		      bool event_idx)
{
	f->buf = calloc(1, MEMSZ);
	gmem_init_fake(&f->gm, f->buf, BASE, MEMSZ);
	f->num = num;
	f->avail_idx = 0;
	if (virtq_setup(&f->q, &f->gm, num, DESC, AVAIL, USED, indirect,
			event_idx) < 0)
		abort();
}

static void fake_free(struct fake *f)
{
	free(f->buf);
}

static void set_desc_at(struct fake *f, uint64_t table, uint16_t i,
			uint64_t addr, uint32_t len, uint16_t flags,
			uint16_t next)
{
	struct virtq_desc d = {addr, len, flags, next};

	memcpy(gpa(f, table + 16ULL * i), &d, sizeof(d));
}

static void set_desc(struct fake *f, uint16_t i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	set_desc_at(f, DESC, i, addr, len, flags, next);
}

static void avail_set_idx(struct fake *f, uint16_t idx)
{
	memcpy(gpa(f, AVAIL + 2), &idx, 2);
}

static void avail_push(struct fake *f, uint16_t head)
{
	memcpy(gpa(f, AVAIL + 4 + 2ULL * (f->avail_idx % f->num)), &head, 2);
	f->avail_idx++;
	avail_set_idx(f, f->avail_idx);
}

static uint16_t used_idx(struct fake *f)
{
	uint16_t v;

	memcpy(&v, gpa(f, USED + 2), 2);
	return v;
}

TEST(test_chain_ok)
{
	struct fake f;
	struct virtq_chain *c = calloc(1, sizeof(*c));
	uint32_t id, len;

	fake_init(&f, 16, false, false);
	set_desc(&f, 3, DATA, 44, VIRTQ_DESC_F_NEXT, 5);
	set_desc(&f, 5, DATA + 100, 10, VIRTQ_DESC_F_NEXT, 7);
	set_desc(&f, 7, DATA + 200, 4096, VIRTQ_DESC_F_WRITE, 0);
	avail_push(&f, 3);
	CHECK(virtq_pop(&f.q, c) == 1);
	CHECK(c->head == 3 && c->n_out == 2 && c->n_in == 1);
	CHECK(c->out_len == 54 && c->in_len == 4096);
	CHECK(c->iov[0].iov_base == gpa(&f, DATA));
	CHECK(c->iov[2].iov_base == gpa(&f, DATA + 200));
	CHECK(c->iov[2].iov_len == 4096);
	CHECK(virtq_pop(&f.q, c) == 0);
	virtq_push(&f.q, c->head, 77);
	CHECK(used_idx(&f) == 1);
	memcpy(&id, gpa(&f, USED + 4), 4);
	memcpy(&len, gpa(&f, USED + 8), 4);
	CHECK(id == 3 && len == 77);
	/* Without EVENT_IDX the avail flags decide. */
	CHECK(virtq_need_interrupt(&f.q));
	*(uint16_t *)gpa(&f, AVAIL) = VIRTQ_AVAIL_F_NO_INTERRUPT;
	CHECK(!virtq_need_interrupt(&f.q));
	/* Wrap the 16-bit indices around. */
	for (int i = 0; i < 70000; i++) {
		set_desc(&f, 0, DATA, 1, 0, 0);
		avail_push(&f, 0);
		CHECK(virtq_pop(&f.q, c) == 1);
		virtq_push(&f.q, c->head, 0);
	}
	CHECK(used_idx(&f) == (uint16_t)70001);
	CHECK(!f.q.broken);
	/* unpop gives the same chain back. */
	avail_push(&f, 0);
	CHECK(virtq_pop(&f.q, c) == 1);
	virtq_unpop(&f.q);
	CHECK(virtq_pop(&f.q, c) == 1 && c->head == 0);
	fake_free(&f);
	free(c);
}

TEST(test_indirect_ok)
{
	struct fake f;
	struct virtq_chain *c = calloc(1, sizeof(*c));

	fake_init(&f, 8, true, false);
	set_desc_at(&f, IND, 0, DATA, 44, VIRTQ_DESC_F_NEXT, 2);
	set_desc_at(&f, IND, 2, DATA + 64, 100, VIRTQ_DESC_F_NEXT, 1);
	set_desc_at(&f, IND, 1, DATA + 512, 200, VIRTQ_DESC_F_WRITE, 0);
	set_desc(&f, 1, IND, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_push(&f, 1);
	CHECK(virtq_pop(&f.q, c) == 1);
	CHECK(c->head == 1 && c->n_out == 2 && c->n_in == 1);
	CHECK(c->out_len == 144 && c->in_len == 200);
	/* An indirect table may hold more entries than the queue has. */
	for (int i = 0; i < 20; i++)
		set_desc_at(&f, IND, (uint16_t)i, DATA, 8,
			    i < 19 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	set_desc(&f, 2, IND, 20 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_push(&f, 2);
	CHECK(virtq_pop(&f.q, c) == 1);
	CHECK(c->n_out == 20);
	fake_free(&f);
	free(c);
}

/* Each malformed case: setup fn writes descriptors for head 0 (or breaks
 * the ring), then pop must return -1 and the queue stay broken. */
typedef void (*mal_fn)(struct fake *f);

static void m_addr_oob(struct fake *f)
{
	set_desc(f, 0, BASE + MEMSZ - 8, 16, 0, 0);
	avail_push(f, 0);
}
static void m_addr_below(struct fake *f)
{
	set_desc(f, 0, BASE - 16, 8, 0, 0);
	avail_push(f, 0);
}
static void m_addr_overflow(struct fake *f)
{
	set_desc(f, 0, 0xfffffffffffffff0ULL, 0x100, 0, 0);
	avail_push(f, 0);
}
static void m_next_oob(struct fake *f)
{
	set_desc(f, 0, DATA, 8, VIRTQ_DESC_F_NEXT, 16);
	avail_push(f, 0);
}
static void m_loop(struct fake *f)
{
	set_desc(f, 0, DATA, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, DATA, 8, VIRTQ_DESC_F_NEXT, 2);
	set_desc(f, 2, DATA, 8, VIRTQ_DESC_F_NEXT, 0);
	avail_push(f, 0);
}
static void m_self_loop(struct fake *f)
{
	set_desc(f, 0, DATA, 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 0);
	avail_push(f, 0);
}
static void m_avail_jump(struct fake *f)
{
	set_desc(f, 0, DATA, 8, 0, 0);
	avail_set_idx(f, 17); /* num 16 */
}
static void m_head_oob(struct fake *f)
{
	avail_push(f, 16);
}
static void m_read_after_write(struct fake *f)
{
	set_desc(f, 0, DATA, 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	set_desc(f, 1, DATA, 8, 0, 0);
	avail_push(f, 0);
}
static void m_ind_oob(struct fake *f)
{
	set_desc(f, 0, BASE + MEMSZ - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail_push(f, 0);
}
static void m_ind_nested(struct fake *f)
{
	set_desc_at(f, IND, 0, IND + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0);
	set_desc_at(f, IND + 0x100, 0, DATA, 8, 0, 0);
	set_desc(f, 0, IND, 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_push(f, 0);
}
static void m_ind_next(struct fake *f)
{
	set_desc_at(f, IND, 0, DATA, 8, 0, 0);
	set_desc(f, 0, IND, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, DATA, 8, 0, 0);
	avail_push(f, 0);
}
static void m_ind_len(struct fake *f)
{
	set_desc_at(f, IND, 0, DATA, 8, 0, 0);
	set_desc(f, 0, IND, 20, VIRTQ_DESC_F_INDIRECT, 0);
	avail_push(f, 0);
}
static void m_ind_empty(struct fake *f)
{
	set_desc(f, 0, IND, 0, VIRTQ_DESC_F_INDIRECT, 0);
	avail_push(f, 0);
}
static void m_ind_loop(struct fake *f)
{
	set_desc_at(f, IND, 0, DATA, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc_at(f, IND, 1, DATA, 8, VIRTQ_DESC_F_NEXT, 0);
	set_desc(f, 0, IND, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail_push(f, 0);
}
static void m_ind_next_oob(struct fake *f)
{
	set_desc_at(f, IND, 0, DATA, 8, VIRTQ_DESC_F_NEXT, 2);
	set_desc(f, 0, IND, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail_push(f, 0);
}
static void m_ind_too_long(struct fake *f)
{
	for (int i = 0; i <= VIRTQ_MAX_SIZE; i++)
		set_desc_at(f, IND, (uint16_t)i, DATA, 8, VIRTQ_DESC_F_NEXT,
			    (uint16_t)(i + 1));
	set_desc(f, 0, IND, 16 * (VIRTQ_MAX_SIZE + 1), VIRTQ_DESC_F_INDIRECT,
		 0);
	avail_push(f, 0);
}
static void m_ind_desc_oob(struct fake *f)
{
	set_desc_at(f, IND, 0, BASE + MEMSZ, 1, 0, 0);
	set_desc(f, 0, IND, 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_push(f, 0);
}
static void m_ind_too_long_chain(struct fake *f)
{
	/* Direct descriptors before a full-size indirect table: more than
	 * a chain can hold. */
	set_desc(f, 0, DATA, 8, VIRTQ_DESC_F_NEXT, 1);
	for (int i = 0; i < VIRTQ_MAX_SIZE; i++)
		set_desc_at(f, IND, (uint16_t)i, DATA, 8,
			    i + 1 < VIRTQ_MAX_SIZE ? VIRTQ_DESC_F_NEXT : 0,
			    (uint16_t)(i + 1));
	set_desc(f, 1, IND, 16 * VIRTQ_MAX_SIZE, VIRTQ_DESC_F_INDIRECT, 0);
	avail_push(f, 0);
}

static void run_malformed(const char *name, mal_fn fn, bool indirect)
{
	struct fake f;
	struct virtq_chain *c = calloc(1, sizeof(*c));
	char tname[96];
	bool ok;

	fake_init(&f, 16, indirect, false);
	fn(&f);
	ok = virtq_pop(&f.q, c) == -1 && f.q.broken;
	/* Once broken, nothing more comes out even for a good chain. */
	set_desc(&f, 1, DATA, 8, 0, 0);
	avail_push(&f, 1);
	ok = ok && virtq_pop(&f.q, c) == -1 && used_idx(&f) == 0;
	snprintf(tname, sizeof(tname), "test_malformed_%s", name);
	unit_report(tname, ok, "pop did not break the queue");
	fake_free(&f);
	free(c);
}

TEST(test_indirect_refused)
{
	struct fake f;
	struct virtq_chain *c = calloc(1, sizeof(*c));

	fake_init(&f, 16, false, false);
	set_desc_at(&f, IND, 0, DATA, 8, 0, 0);
	set_desc(&f, 0, IND, 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_push(&f, 0);
	CHECK(virtq_pop(&f.q, c) == -1);
	fake_free(&f);
	free(c);
}

TEST(test_setup_checks)
{
	uint8_t *buf = calloc(1, MEMSZ);
	struct guest_mem gm;
	struct virtq q;

	gmem_init_fake(&gm, buf, BASE, MEMSZ);
	CHECK(virtq_setup(&q, &gm, 16, DESC, AVAIL, USED, false, false) == 0);
	CHECK(virtq_setup(&q, &gm, 0, DESC, AVAIL, USED, false, false) < 0);
	CHECK(virtq_setup(&q, &gm, 12, DESC, AVAIL, USED, false, false) < 0);
	CHECK(virtq_setup(&q, &gm, 512, DESC, AVAIL, USED, false, false) < 0);
	CHECK(virtq_setup(&q, &gm, 16, DESC + 8, AVAIL, USED, 0, 0) < 0);
	CHECK(virtq_setup(&q, &gm, 16, DESC, AVAIL + 1, USED, 0, 0) < 0);
	CHECK(virtq_setup(&q, &gm, 16, DESC, AVAIL, USED + 2, 0, 0) < 0);
	CHECK(!q.ready);
	/* Rings outside RAM, across its end, and wrapping 2^64. */
	CHECK(virtq_setup(&q, &gm, 16, 0, AVAIL, USED, 0, 0) < 0);
	CHECK(virtq_setup(&q, &gm, 16, DESC, BASE + MEMSZ - 8, USED, 0, 0) <
	      0);
	CHECK(virtq_setup(&q, &gm, 16, DESC, AVAIL, BASE + MEMSZ - 64, 0, 0) <
	      0);
	CHECK(virtq_setup(&q, &gm, 16, 0xfffffffffffffff0ULL, AVAIL, USED, 0,
			  0) < 0);
	/* A queue that was never set up yields nothing. */
	CHECK(virtq_pop(&q, &(struct virtq_chain){0}) == 0);
	free(buf);
}

TEST(test_event_idx)
{
	struct fake f;
	struct virtq_chain *c = calloc(1, sizeof(*c));
	uint16_t used_event, avail_event;

	fake_init(&f, 16, false, true);
	/* used_event = 0: interrupt once the first buffer is used. */
	set_desc(&f, 0, DATA, 8, VIRTQ_DESC_F_WRITE, 0);
	avail_push(&f, 0);
	CHECK(virtq_pop(&f.q, c) == 1);
	virtq_push(&f.q, 0, 8);
	CHECK(virtq_need_interrupt(&f.q));
	/* Driver asks for an interrupt only after used idx passes 5. */
	used_event = 5;
	memcpy(gpa(&f, AVAIL + 4 + 2 * 16), &used_event, 2);
	for (int i = 0; i < 4; i++) {
		avail_push(&f, 0);
		CHECK(virtq_pop(&f.q, c) == 1);
		virtq_push(&f.q, 0, 8);
		CHECK(!virtq_need_interrupt(&f.q));
	}
	avail_push(&f, 0);
	CHECK(virtq_pop(&f.q, c) == 1);
	virtq_push(&f.q, 0, 8); /* used idx 6 crosses 5 */
	CHECK(virtq_need_interrupt(&f.q));
	/* enable_notify publishes avail_event and sees late buffers. */
	CHECK(!virtq_enable_notify(&f.q));
	memcpy(&avail_event, gpa(&f, USED + 4 + 8 * 16), 2);
	CHECK(avail_event == 6);
	avail_push(&f, 0);
	CHECK(virtq_enable_notify(&f.q));
	fake_free(&f);
	free(c);
}

TEST(test_gmem_bounds)
{
	uint8_t *buf = calloc(1, 4096);
	struct guest_mem gm;
	uint8_t x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, y[8];

	gmem_init_fake(&gm, buf, 0x1000, 4096);
	CHECK(gmem_ptr(&gm, 0x1000, 4096) == buf);
	CHECK(gmem_ptr(&gm, 0x1fff, 1) == buf + 4095);
	CHECK(gmem_ptr(&gm, 0x2000, 0) == buf + 4096);
	CHECK(gmem_ptr(&gm, 0x1fff, 2) == NULL);
	CHECK(gmem_ptr(&gm, 0xfff, 1) == NULL);
	CHECK(gmem_ptr(&gm, 0x2001, 0) == NULL);
	CHECK(gmem_ptr(&gm, 0x1000, UINT64_MAX) == NULL);
	CHECK(gmem_ptr(&gm, UINT64_MAX, 2) == NULL);
	CHECK(gmem_write(&gm, 0x1ff8, x, 8) == 0);
	CHECK(gmem_read(&gm, 0x1ff8, y, 8) == 0 && memcmp(x, y, 8) == 0);
	CHECK(gmem_write(&gm, 0x1ff9, x, 8) == -1);
	CHECK(gmem_read(&gm, 0x1ff9, y, 8) == -1);
	free(buf);
}

TEST(test_gmem_create)
{
	struct guest_mem m;
	struct husk_err *err = NULL;
	uint64_t big = GMEM_LOW_END + (64ULL << 20);
	uint8_t *lo, *hi;

	CHECK(gmem_create(&m, 1000, &err) < 0 && err != NULL);
	CHECK(strstr(err->msg, "guest memory size 1000") != NULL);
	husk_err_free(&err);
	CHECK(gmem_create(&m, 4ULL << 20, &err) == 0);
	CHECK(m.memfd >= 0 && m.n_regions == 1 && m.regions[0].size == 4 << 20);
	CHECK(gmem_ptr(&m, (4 << 20) - 1, 1) != NULL);
	CHECK(gmem_ptr(&m, 4 << 20, 1) == NULL);
	gmem_destroy(&m);
	/* Above the hole: untouched memory costs nothing (MAP_NORESERVE). */
	CHECK(gmem_create(&m, big, &err) == 0);
	CHECK(m.n_regions == 2);
	CHECK(m.regions[1].gpa == GMEM_HIGH_START &&
	      m.regions[1].size == 64ULL << 20);
	CHECK(gmem_ptr(&m, GMEM_LOW_END, 1) == NULL);
	CHECK(gmem_ptr(&m, GMEM_LOW_END - 4, 8) == NULL);
	lo = gmem_ptr(&m, GMEM_LOW_END - 1, 1);
	hi = gmem_ptr(&m, GMEM_HIGH_START, 1);
	CHECK(lo != NULL && hi == lo + 1);
	CHECK(gmem_ptr(&m, GMEM_HIGH_START + (64ULL << 20), 1) == NULL);
	*hi = 42;
	CHECK(pread(m.memfd, lo, 1, (off_t)GMEM_LOW_END) == 1 && *lo == 42);
	gmem_destroy(&m);
}

struct ev_ctx {
	struct event_loop *l;
	int fds[2];
	int hits[2];
};

static void ev_cb0(void *opaque, uint32_t events)
{
	struct ev_ctx *c = opaque;
	uint64_t v;

	c->hits[0]++;
	if (read(c->fds[0], &v, 8) < 0)
		abort();
	/* Removing the other fd mid-batch: its pending event is dropped. */
	event_del(c->l, c->fds[1]);
}

static void ev_cb1(void *opaque, uint32_t events)
{
	struct ev_ctx *c = opaque;
	uint64_t v;

	c->hits[1]++;
	if (read(c->fds[1], &v, 8) < 0)
		abort();
	event_del(c->l, c->fds[0]);
}

TEST(test_event_loop)
{
	struct ev_ctx c = {0};
	struct husk_err *err = NULL;
	uint64_t one = 1;

	CHECK(event_loop_create(&c.l, &err) == 0);
	c.fds[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c.fds[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	CHECK(event_add(c.l, c.fds[0], EPOLLIN, ev_cb0, &c) == 0);
	CHECK(event_add(c.l, c.fds[1], EPOLLIN, ev_cb1, &c) == 0);
	CHECK(event_loop_run_once(c.l, 0) == 0);
	CHECK(write(c.fds[0], &one, 8) == 8 && write(c.fds[1], &one, 8) == 8);
	CHECK(event_loop_run_once(c.l, 1000) == 1);
	CHECK(c.hits[0] + c.hits[1] == 1);
	/* Stop from "another thread": run() returns. */
	event_loop_stop(c.l);
	CHECK(event_loop_run(c.l) == 0);
	CHECK(event_add(c.l, -1, EPOLLIN, ev_cb0, &c) < 0);
	close(c.fds[0]);
	close(c.fds[1]);
	event_loop_destroy(c.l);
}

int main(void)
{
	static const struct {
		const char *name;
		mal_fn fn;
		bool indirect;
	} mal[] = {
		{"addr_oob", m_addr_oob, false},
		{"addr_below", m_addr_below, false},
		{"addr_overflow", m_addr_overflow, false},
		{"next_oob", m_next_oob, false},
		{"loop", m_loop, false},
		{"self_loop", m_self_loop, false},
		{"avail_jump", m_avail_jump, false},
		{"head_oob", m_head_oob, false},
		{"read_after_write", m_read_after_write, false},
		{"indirect_oob", m_ind_oob, true},
		{"indirect_nested", m_ind_nested, true},
		{"indirect_with_next", m_ind_next, true},
		{"indirect_len", m_ind_len, true},
		{"indirect_empty", m_ind_empty, true},
		{"indirect_loop", m_ind_loop, true},
		{"indirect_next_oob", m_ind_next_oob, true},
		{"indirect_too_long", m_ind_too_long, true},
		{"indirect_desc_oob", m_ind_desc_oob, true},
		{"chain_too_long", m_ind_too_long_chain, true},
	};

	RUN(test_chain_ok);
	RUN(test_indirect_ok);
	RUN(test_indirect_refused);
	RUN(test_setup_checks);
	RUN(test_event_idx);
	for (size_t i = 0; i < sizeof(mal) / sizeof(mal[0]); i++)
		run_malformed(mal[i].name, mal[i].fn, mal[i].indirect);
	RUN(test_gmem_bounds);
	RUN(test_gmem_create);
	RUN(test_event_loop);
	UNIT_EXIT();
}
