/* Split virtqueues (virtio 1.2 section 2.7) as the device sees them. Every
 * address, length and index the guest supplies is checked here; a queue that
 * saw a malformed ring or chain is marked broken and yields nothing more
 * until it is set up again (the transport then reports DEVICE_NEEDS_RESET). */
#ifndef HUSK_VMM_VIRTIO_QUEUE_H
#define HUSK_VMM_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/mem.h"

/* Largest queue husk offers; also the longest chain (spec 2.7.5.3.1: a
 * chain, indirect descriptors included, is never longer than the queue). */
#define VIRTQ_MAX_SIZE 256

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq {
	const struct guest_mem *mem;
	bool ready;
	bool broken;
	bool indirect;  /* VIRTIO_F_INDIRECT_DESC negotiated */
	bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
	uint16_t num;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	/* Host views of the rings, resolved once at setup: guest memory does
	 * not move, and each ring was checked to lie inside one region. */
	struct virtq_desc *desc;
	uint16_t *avail; /* flags, idx, ring[num], used_event */
	uint8_t *used;   /* flags, idx, {id, len}[num], avail_event */
	uint16_t last_avail;
	uint16_t used_idx;
	uint16_t signalled_used;
	bool signalled_valid;
};

/* One descriptor chain: iov[0, n_out) are device-readable, then n_in
 * device-writable buffers; all point into guest memory. */
struct virtq_chain {
	uint16_t head;
	uint16_t n_out, n_in;
	uint64_t out_len, in_len;
	struct iovec iov[VIRTQ_MAX_SIZE];
};

/* Check and map the rings; -1 (queue left unusable) if num is not a power of
 * two in [1, VIRTQ_MAX_SIZE] or a ring is misaligned or not inside RAM. */
int virtq_setup(struct virtq *q, const struct guest_mem *mem, uint16_t num,
		uint64_t desc, uint64_t avail, uint64_t used, bool indirect,
		bool event_idx);
void virtq_reset(struct virtq *q);

/* Take the next available chain: 1 and *c filled, 0 if none, -1 if the ring
 * or the chain is malformed (the queue is now broken). */
int virtq_pop(struct virtq *q, struct virtq_chain *c);
/* Give back the chain virtq_pop just returned, unused. */
void virtq_unpop(struct virtq *q);
/* Return a chain to the driver with len bytes written into it. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t len);
/* After a batch of pushes: must the driver be interrupted? */
bool virtq_need_interrupt(struct virtq *q);
/* With EVENT_IDX, ask to be notified of the next buffer; returns true if
 * buffers arrived meanwhile (the caller goes on processing). */
bool virtq_enable_notify(struct virtq *q);

/* Copy between a flat buffer and an iovec array, starting skip bytes in.
 * Return the bytes copied. */
size_t iov_to_buf(const struct iovec *iov, int n, size_t skip, void *buf,
		  size_t len);
size_t iov_from_buf(const struct iovec *iov, int n, size_t skip,
		    const void *buf, size_t len);
/* Make out[] describe at most len bytes of iov[] starting skip bytes in;
 * returns the number of entries (<= n). */
int iov_slice(const struct iovec *iov, int n, size_t skip, size_t len,
	      struct iovec *out);

#endif
