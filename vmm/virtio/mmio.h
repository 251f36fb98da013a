/* The virtio-mmio transport (virtio 1.2 section 4.2, version 2 layout). A
 * device is a table of operations plus its config bytes; the transport owns
 * the registers, the queues, the notification and interrupt plumbing, and the
 * per-device mutex. Internal to vmm/virtio/. */
#ifndef HUSK_VMM_VIRTIO_MMIO_H
#define HUSK_VMM_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/virtio/queue.h"
#include "vmm/virtio/virtio.h"

#define VIRTIO_MMIO_MAX_QUEUES 4
#define VIRTIO_MMIO_CONFIG_MAX 64

#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

#define VIRTIO_MMIO_INT_VRING 1
#define VIRTIO_MMIO_INT_CONFIG 2

struct virtio_mmio;

struct virtio_mmio_notify {
	struct virtio_mmio *t;
	int q;
};

/* Every op runs with the device mutex held. */
struct virtio_mmio_ops {
	uint32_t device_id;
	uint64_t features; /* device-type bits; the transport adds its own */
	int n_queues;
	/* A buffer was made available on queue q (also called once for every
	 * ready queue when the driver sets DRIVER_OK). */
	void (*queue_notify)(struct virtio_mmio *t, int q);
	/* Driver reset the device (status 0) or the device is being
	 * destroyed: drop all in-flight state. */
	void (*reset)(struct virtio_mmio *t);
	/* Free the device (called unlocked, after every fd is unregistered). */
	void (*destroy)(struct virtio_mmio *t);
};

struct virtio_mmio {
	pthread_mutex_t lock;
	const struct virtio_mmio_ops *ops;
	void *dev; /* the device's own state */
	struct guest_mem *mem;
	struct event_loop *loop;
	int vm_fd;
	uint64_t base;
	uint32_t gsi;
	int irq_fd;  /* irqfd we made (vm_fd >= 0) or the env's eventfd */
	bool own_irq_fd;
	int notify_fd[VIRTIO_MMIO_MAX_QUEUES]; /* ioeventfds, -1 if none */
	struct virtio_mmio_notify notify_ctx[VIRTIO_MMIO_MAX_QUEUES];

	uint32_t status;
	uint32_t isr; /* __atomic: read and acked without the mutex */
	uint32_t dev_features_sel, drv_features_sel;
	uint64_t drv_features;
	uint32_t queue_sel;
	struct {
		uint16_t num;
		uint64_t desc, avail, used;
	} qcfg[VIRTIO_MMIO_MAX_QUEUES];
	struct virtq vq[VIRTIO_MMIO_MAX_QUEUES];
	uint8_t config[VIRTIO_MMIO_CONFIG_MAX];
	uint32_t config_len;
};

/* Set up the transport for a device and fill the bus window. dev is the
 * device's state, given back through t->dev. Registers ioeventfd/irqfd when
 * env->vm_fd >= 0 and watches the notify eventfds on env->loop. */
int virtio_mmio_init(struct virtio_mmio *t, const struct virtio_dev_env *env,
		     const struct virtio_mmio_ops *ops, void *dev,
		     const void *config, uint32_t config_len,
		     struct bus_dev *out, struct husk_err **err);
/* Undo virtio_mmio_init (calls ops->reset under the lock, not destroy). */
void virtio_mmio_fini(struct virtio_mmio *t);

void virtio_mmio_lock(struct virtio_mmio *t);
void virtio_mmio_unlock(struct virtio_mmio *t);

/* Lock held. True when the driver set DRIVER_OK and no reset is needed:
 * the device may use its queues. */
bool virtio_mmio_active(const struct virtio_mmio *t);
/* Lock held. After pushing used buffers on queue q: interrupt the guest if
 * the queue's suppression settings ask for it. */
void virtio_mmio_notify_used(struct virtio_mmio *t, int q);
/* Lock held. The driver broke the protocol: set DEVICE_NEEDS_RESET and
 * send a configuration change interrupt (spec 2.1.2). */
void virtio_mmio_needs_reset(struct virtio_mmio *t);

#endif
