/* Split virtqueue walker (virtio 1.2 section 2.7). The guest may rewrite any
 * ring or descriptor while we read it, so every field is read once into a
 * local copy and checked there. */
#include "vmm/virtio/queue.h"

#include <string.h>

#define AVAIL_IDX 1 /* u16 index into the avail ring: flags, idx, ring[] */
#define AVAIL_RING 2
#define USED_HDR 4 /* bytes before used ring entries */
#define USED_ELEM 8

static bool is_pow2(uint32_t n)
{
	return n && (n & (n - 1)) == 0;
}

void virtq_reset(struct virtq *q)
{
	memset(q, 0, sizeof(*q));
}

int virtq_setup(struct virtq *q, const struct guest_mem *mem, uint16_t num,
		uint64_t desc, uint64_t avail, uint64_t used, bool indirect,
		bool event_idx)
{
	void *d, *a, *u;

	virtq_reset(q);
	if (!is_pow2(num) || num > VIRTQ_MAX_SIZE)
		return -1;
	/* Alignments of spec 2.7 table "Virtqueue Part Alignment". */
	if (desc % 16 || avail % 2 || used % 4)
		return -1;
	/* Sizes include used_event/avail_event whether or not EVENT_IDX is
	 * negotiated: the spec lays the rings out that way. */
	d = gmem_ptr(mem, desc, 16ULL * num);
	a = gmem_ptr(mem, avail, 6ULL + 2ULL * num);
	u = gmem_ptr(mem, used, 6ULL + 8ULL * num);
	if (d == NULL || a == NULL || u == NULL)
		return -1;
	q->mem = mem;
	q->num = num;
	q->desc_gpa = desc;
	q->avail_gpa = avail;
	q->used_gpa = used;
	q->desc = d;
	q->avail = a;
	q->used = u;
	q->indirect = indirect;
	q->event_idx = event_idx;
	q->ready = true;
	return 0;
}

static uint16_t load16(const uint16_t *p, int order)
{
	return __atomic_load_n(p, order);
}

static void store16(uint16_t *p, uint16_t v, int order)
{
	__atomic_store_n(p, v, order);
}

static int chain_add(struct virtq *q, struct virtq_chain *c,
		     const struct virtq_desc *d)
{
	int i = c->n_out + c->n_in;
	void *p;

	if (i >= VIRTQ_MAX_SIZE)
		return -1;
	p = gmem_ptr(q->mem, d->addr, d->len);
	if (p == NULL)
		return -1;
	if (d->flags & VIRTQ_DESC_F_WRITE) {
		c->n_in++;
		c->in_len += d->len;
	} else {
		/* 2.7.4.2: device-readable buffers come first. */
		if (c->n_in)
			return -1;
		c->n_out++;
		c->out_len += d->len;
	}
	c->iov[i].iov_base = p;
	c->iov[i].iov_len = d->len;
	return 0;
}

static void desc_read(const struct virtq_desc *table, uint32_t i,
		      struct virtq_desc *d)
{
	memcpy(d, &table[i], sizeof(*d));
}

/* Walk an indirect table. Linux may put more entries in a table than the
 * queue has slots, so the bound is the table itself (a walk longer than it
 * is a loop) and the chain's capacity (chain_add). */
static int walk_indirect(struct virtq *q, struct virtq_chain *c,
			 const struct virtq_desc *ind)
{
	const struct virtq_desc *table;
	uint32_t n, i = 0, budget;

	/* 2.7.5.3.1: NEXT and INDIRECT together are invalid, and the table is
	 * whole descriptors. */
	if (ind->flags & VIRTQ_DESC_F_NEXT || ind->len == 0 || ind->len % 16)
		return -1;
	n = ind->len / 16;
	if (n > VIRTQ_MAX_SIZE)
		return -1;
	budget = n;
	table = gmem_ptr(q->mem, ind->addr, ind->len);
	if (table == NULL)
		return -1;
	for (;;) {
		struct virtq_desc d;

		if (budget == 0)
			return -1;
		budget--;
		desc_read(table, i, &d);
		/* No nested tables (2.7.5.3.1). */
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return -1;
		if (chain_add(q, c, &d) < 0)
			return -1;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.next;
		if (i >= n)
			return -1;
	}
}

static int walk_chain(struct virtq *q, struct virtq_chain *c, uint16_t head)
{
	uint32_t budget = q->num, i = head;

	c->head = head;
	c->n_out = c->n_in = 0;
	c->out_len = c->in_len = 0;
	for (;;) {
		struct virtq_desc d;

		/* More descriptors than the queue holds: a loop or a chain
		 * the driver may not build. */
		if (budget == 0)
			return -1;
		budget--;
		desc_read(q->desc, i, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!q->indirect)
				return -1;
			return walk_indirect(q, c, &d);
		}
		if (chain_add(q, c, &d) < 0)
			return -1;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.next;
		if (i >= q->num)
			return -1;
	}
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
	uint16_t avail_idx, head;

	if (!q->ready || q->broken)
		return q->broken ? -1 : 0;
	/* Acquire: the ring entries the driver wrote before bumping idx must
	 * be read after idx (2.7.13: the driver's write barrier pairs with
	 * this). */
	avail_idx = load16(&q->avail[AVAIL_IDX], __ATOMIC_ACQUIRE);
	if (avail_idx == q->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - q->last_avail) > q->num)
		goto broken;
	head = load16(&q->avail[AVAIL_RING + q->last_avail % q->num],
		      __ATOMIC_RELAXED);
	if (head >= q->num)
		goto broken;
	if (walk_chain(q, c, head) < 0)
		goto broken;
	q->last_avail++;
	return 1;
broken:
	q->broken = true;
	return -1;
}

void virtq_unpop(struct virtq *q)
{
	q->last_avail--;
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	uint8_t *elem;
	uint32_t id = head;

	if (!q->ready)
		return;
	elem = q->used + USED_HDR + (size_t)(q->used_idx % q->num) * USED_ELEM;
	memcpy(elem, &id, 4);
	memcpy(elem + 4, &len, 4);
	q->used_idx++;
	/* Release: the element is visible before the index that covers it. */
	store16((uint16_t *)(q->used + 2), q->used_idx, __ATOMIC_RELEASE);
}

bool virtq_need_interrupt(struct virtq *q)
{
	uint16_t old, new, event;

	if (!q->ready)
		return false;
	/* The used idx store must be visible before we read the driver's
	 * suppression fields, or both sides may decide not to act
	 * (2.7.7.2 / 2.7.10). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)
		return !(load16(&q->avail[0], __ATOMIC_RELAXED) &
			 VIRTQ_AVAIL_F_NO_INTERRUPT);
	old = q->signalled_used;
	new = q->used_idx;
	q->signalled_used = new;
	if (!q->signalled_valid) {
		q->signalled_valid = true;
		return true;
	}
	event = load16(&q->avail[AVAIL_RING + q->num], __ATOMIC_RELAXED);
	/* vring_need_event() */
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

bool virtq_enable_notify(struct virtq *q)
{
	if (!q->ready || q->broken)
		return false;
	if (q->event_idx)
		store16((uint16_t *)(q->used + USED_HDR +
				     (size_t)q->num * USED_ELEM),
			q->last_avail, __ATOMIC_RELAXED);
	/* Publish avail_event before looking at avail idx again. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return load16(&q->avail[AVAIL_IDX], __ATOMIC_ACQUIRE) != q->last_avail;
}

size_t iov_to_buf(const struct iovec *iov, int n, size_t skip, void *buf,
		  size_t len)
{
	size_t done = 0;

	for (int i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len, take;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		take = l - skip < len - done ? l - skip : len - done;
		memcpy((char *)buf + done, (char *)iov[i].iov_base + skip,
		       take);
		done += take;
		skip = 0;
	}
	return done;
}

size_t iov_from_buf(const struct iovec *iov, int n, size_t skip,
		    const void *buf, size_t len)
{
	size_t done = 0;

	for (int i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len, take;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		take = l - skip < len - done ? l - skip : len - done;
		memcpy((char *)iov[i].iov_base + skip,
		       (const char *)buf + done, take);
		done += take;
		skip = 0;
	}
	return done;
}

int iov_slice(const struct iovec *iov, int n, size_t skip, size_t len,
	      struct iovec *out)
{
	int k = 0;

	for (int i = 0; i < n && len > 0; i++) {
		size_t l = iov[i].iov_len, take;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		take = l - skip < len ? l - skip : len;
		out[k].iov_base = (char *)iov[i].iov_base + skip;
		out[k].iov_len = take;
		k++;
		len -= take;
		skip = 0;
	}
	return k;
}
