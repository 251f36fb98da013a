/* The devices husk-vmm offers the guest, over the virtio-mmio transport
 * (version 2 layout; the core describes each window in the ACPI DSDT as a
 * "LNRO0005" device). This is the whole interface the VMM core uses. */
#ifndef HUSK_VMM_VIRTIO_H
#define HUSK_VMM_VIRTIO_H

#include <stdint.h>

#include "common/err.h"
#include "vmm/bus.h"
#include "vmm/event.h"
#include "vmm/mem.h"

#define VIRTIO_MMIO_WINDOW 0x1000 /* bytes the core reserves per device */

struct virtio_dev_env {
	struct guest_mem *mem;
	struct event_loop *loop;
	/* KVM VM fd: the transport registers KVM_IOEVENTFD for QueueNotify and
	 * KVM_IRQFD (edge, on gsi) itself. -1 in unit tests: notifications then
	 * arrive as plain writes through bus_dev.write, and the interrupt is
	 * signalled on irq_eventfd below. */
	int vm_fd;
	uint64_t mmio_base;
	uint32_t gsi;
	int irq_eventfd; /* used when vm_fd == -1; else the transport makes its own */
};

/* virtio-vsock emulated in user space. Host side: a unix socket listening at
 * uds_path; a host client connects and writes "CONNECT <port>\n", gets
 * "OK <host port>\n" and then a byte stream to guest port <port>. A guest
 * connection to host port P is made to the unix socket "<uds_path>_P". */
int virtio_vsock_create(const struct virtio_dev_env *env, uint64_t guest_cid,
			const char *uds_path, struct bus_dev *out,
			struct husk_err **err);

/* virtio-rng, fed from getrandom(). */
int virtio_rng_create(const struct virtio_dev_env *env, struct bus_dev *out,
		      struct husk_err **err);

/* Tear down a device made by one of the *_create functions above: its fds
 * leave the event loop, ioeventfd/irqfd are unregistered, host connections
 * close, vsock's listening socket file is removed, out->opaque is cleared.
 * Call it after the vCPU threads and the event loop thread have stopped. */
void virtio_dev_destroy(struct bus_dev *dev);

#endif
