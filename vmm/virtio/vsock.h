/* virtio-vsock wire format (virtio 1.2 section 5.10) and the limits husk's
 * user-space device applies. Internal to vmm/virtio/ and its tests. */
#ifndef HUSK_VMM_VIRTIO_VSOCK_H
#define HUSK_VMM_VIRTIO_VSOCK_H

#include <stdint.h>

#define VSOCK_DEVICE_ID 19
#define VSOCK_HOST_CID 2

#define VSOCK_RXQ 0
#define VSOCK_TXQ 1
#define VSOCK_EVQ 2

#define VSOCK_TYPE_STREAM 1

#define VSOCK_OP_REQUEST 1
#define VSOCK_OP_RESPONSE 2
#define VSOCK_OP_RST 3
#define VSOCK_OP_SHUTDOWN 4
#define VSOCK_OP_RW 5
#define VSOCK_OP_CREDIT_UPDATE 6
#define VSOCK_OP_CREDIT_REQUEST 7

#define VSOCK_SHUTDOWN_RCV 1
#define VSOCK_SHUTDOWN_SEND 2

/* Largest payload in one packet either way (Linux's
 * VIRTIO_VSOCK_MAX_PKT_BUF_SIZE); a guest packet claiming more is dropped. */
#define VSOCK_MAX_PKT 65536
/* What husk buffers per connection for data the host socket has not taken
 * yet: the buf_alloc it advertises, so a guest within its credit never
 * finds the buffer full. */
#define VSOCK_CONN_BUF (256 * 1024)
#define VSOCK_MAX_CONNS 1024
/* Host ports husk picks for host-initiated connections (as Firecracker:
 * [2^30, 2^31), far from the ports guests use). */
#define VSOCK_LOCAL_PORT_MIN (1U << 30)
#define VSOCK_LOCAL_PORT_END (1U << 31)

struct virtio_vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
} __attribute__((packed));

_Static_assert(sizeof(struct virtio_vsock_hdr) == 44, "virtio_vsock_hdr");

#endif
