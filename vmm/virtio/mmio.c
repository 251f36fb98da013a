/* virtio-mmio transport, version 2 register layout (virtio 1.2 section
 * 4.2.2). vCPU threads call the bus read/write; the event loop thread runs
 * queue notifications (ioeventfd) and the device's own fds; both take the
 * per-device mutex. InterruptStatus/ACK are atomics so the guest's interrupt
 * handler never waits for a device that is busy moving data. */
#include "vmm/virtio/mmio.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MAGIC_VALUE 0x000
#define VERSION 0x004
#define DEVICE_ID 0x008
#define VENDOR_ID 0x00c
#define DEVICE_FEATURES 0x010
#define DEVICE_FEATURES_SEL 0x014
#define DRIVER_FEATURES 0x020
#define DRIVER_FEATURES_SEL 0x024
#define QUEUE_SEL 0x030
#define QUEUE_NUM_MAX 0x034
#define QUEUE_NUM 0x038
#define QUEUE_READY 0x044
#define QUEUE_NOTIFY 0x050
#define INTERRUPT_STATUS 0x060
#define INTERRUPT_ACK 0x064
#define STATUS 0x070
#define QUEUE_DESC_LOW 0x080
#define QUEUE_DESC_HIGH 0x084
#define QUEUE_DRIVER_LOW 0x090
#define QUEUE_DRIVER_HIGH 0x094
#define QUEUE_DEVICE_LOW 0x0a0
#define QUEUE_DEVICE_HIGH 0x0a4
#define SHM_LEN_LOW 0x0b0
#define SHM_LEN_HIGH 0x0b4
#define SHM_BASE_LOW 0x0b8
#define SHM_BASE_HIGH 0x0bc
#define CONFIG_GENERATION 0x0fc
#define CONFIG 0x100

#define MMIO_MAGIC 0x74726976 /* "virt" */
#define MMIO_VENDOR 0x4b535548 /* "HUSK" */

/* Features the transport itself offers beside the device's. */
#define TRANSPORT_FEATURES                                                     \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_INDIRECT_DESC) |     \
	 (1ULL << VIRTIO_F_EVENT_IDX))

void virtio_mmio_lock(struct virtio_mmio *t)
{
	pthread_mutex_lock(&t->lock);
}

void virtio_mmio_unlock(struct virtio_mmio *t)
{
	pthread_mutex_unlock(&t->lock);
}

bool virtio_mmio_active(const struct virtio_mmio *t)
{
	return (t->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(t->status & VIRTIO_STATUS_NEEDS_RESET);
}

static void raise_irq(struct virtio_mmio *t, uint32_t why)
{
	uint64_t one = 1;

	__atomic_fetch_or(&t->isr, why, __ATOMIC_SEQ_CST);
	if (t->irq_fd < 0)
		return;
	/* EAGAIN means the counter is saturated: an interrupt is pending
	 * anyway. Nothing else can fail on an eventfd we own. */
	while (write(t->irq_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

void virtio_mmio_notify_used(struct virtio_mmio *t, int q)
{
	if (q < 0 || q >= t->ops->n_queues)
		return;
	if (virtq_need_interrupt(&t->vq[q]))
		raise_irq(t, VIRTIO_MMIO_INT_VRING);
}

void virtio_mmio_needs_reset(struct virtio_mmio *t)
{
	if (t->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	t->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		raise_irq(t, VIRTIO_MMIO_INT_CONFIG);
}

static void device_reset(struct virtio_mmio *t)
{
	if (t->ops->reset)
		t->ops->reset(t);
	t->status = 0;
	__atomic_store_n(&t->isr, 0, __ATOMIC_SEQ_CST);
	t->dev_features_sel = t->drv_features_sel = 0;
	t->drv_features = 0;
	t->queue_sel = 0;
	memset(t->qcfg, 0, sizeof(t->qcfg));
	for (int i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		virtq_reset(&t->vq[i]);
}

static void queue_notify(struct virtio_mmio *t, uint32_t q)
{
	if (q >= (uint32_t)t->ops->n_queues || !virtio_mmio_active(t))
		return;
	if (t->vq[q].broken) {
		virtio_mmio_needs_reset(t);
		return;
	}
	t->ops->queue_notify(t, (int)q);
	if (t->vq[q].broken)
		virtio_mmio_needs_reset(t);
}

static void notify_event(void *opaque, uint32_t events)
{
	struct virtio_mmio_notify *n = opaque;
	struct virtio_mmio *t = n->t;
	int q = n->q;
	uint64_t v;

	(void)events;
	/* Nonblocking; EAGAIN is a spurious wakeup. */
	if (read(t->notify_fd[q], &v, sizeof(v)) < 0)
		return;
	virtio_mmio_lock(t);
	queue_notify(t, (uint32_t)q);
	virtio_mmio_unlock(t);
}

static bool queue_ok(struct virtio_mmio *t)
{
	return t->queue_sel < (uint32_t)t->ops->n_queues;
}

static void queue_set_ready(struct virtio_mmio *t, uint32_t v)
{
	uint32_t q = t->queue_sel;
	bool indirect = t->drv_features & (1ULL << VIRTIO_F_INDIRECT_DESC);
	bool event_idx = t->drv_features & (1ULL << VIRTIO_F_EVENT_IDX);

	if (v == 0) {
		virtq_reset(&t->vq[q]);
		return;
	}
	if (t->vq[q].ready)
		return;
	if (virtq_setup(&t->vq[q], t->mem, t->qcfg[q].num, t->qcfg[q].desc,
			t->qcfg[q].avail, t->qcfg[q].used, indirect,
			event_idx) < 0)
		/* Rings outside RAM or a bad size: the driver cannot go on
		 * with this device. */
		virtio_mmio_needs_reset(t);
}

static void set_status(struct virtio_mmio *t, uint32_t v)
{
	uint32_t old = t->status;

	if (v == 0) {
		device_reset(t);
		return;
	}
	v &= 0xff;
	/* FEATURES_OK sticks only for a subset of what we offer that has
	 * VERSION_1 (2.2.2, 6.1: no legacy interface here). */
	if ((v & VIRTIO_STATUS_FEATURES_OK) &&
	    !(old & VIRTIO_STATUS_FEATURES_OK)) {
		uint64_t offered = t->ops->features | TRANSPORT_FEATURES;

		if ((t->drv_features & ~offered) ||
		    !(t->drv_features & (1ULL << VIRTIO_F_VERSION_1)))
			v &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
	}
	/* DRIVER_OK without FEATURES_OK is a driver bug; keep it off. */
	if ((v & VIRTIO_STATUS_DRIVER_OK) &&
	    !(v & VIRTIO_STATUS_FEATURES_OK))
		v &= ~(uint32_t)VIRTIO_STATUS_DRIVER_OK;
	/* The device owns NEEDS_RESET: the driver can neither set nor clear
	 * it except by a reset. */
	v = (v & ~(uint32_t)VIRTIO_STATUS_NEEDS_RESET) |
	    (old & VIRTIO_STATUS_NEEDS_RESET);
	t->status = v;
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		/* Buffers may have been added before DRIVER_OK (Linux fills
		 * vsock's rx queue in probe); look at every queue once. */
		for (int q = 0; q < t->ops->n_queues; q++)
			if (t->vq[q].ready)
				queue_notify(t, (uint32_t)q);
	}
}

static uint32_t reg_read(struct virtio_mmio *t, uint64_t off)
{
	uint32_t q = t->queue_sel;

	switch (off) {
	case MAGIC_VALUE:
		return MMIO_MAGIC;
	case VERSION:
		return 2;
	case DEVICE_ID:
		return t->ops->device_id;
	case VENDOR_ID:
		return MMIO_VENDOR;
	case DEVICE_FEATURES: {
		uint64_t f = t->ops->features | TRANSPORT_FEATURES;

		if (t->dev_features_sel == 0)
			return (uint32_t)f;
		if (t->dev_features_sel == 1)
			return (uint32_t)(f >> 32);
		return 0;
	}
	case QUEUE_NUM_MAX:
		return queue_ok(t) ? VIRTQ_MAX_SIZE : 0;
	case QUEUE_READY:
		return queue_ok(t) ? t->vq[q].ready : 0;
	case STATUS:
		return t->status;
	case SHM_LEN_LOW:
	case SHM_LEN_HIGH:
	case SHM_BASE_LOW:
	case SHM_BASE_HIGH:
		/* All ones: no shared memory region (4.2.2). */
		return 0xffffffff;
	case CONFIG_GENERATION:
		return 0; /* config space never changes after creation */
	default:
		return 0;
	}
}

static void set_half(uint64_t *v, bool high, uint32_t x)
{
	if (high)
		*v = (*v & 0xffffffffULL) | (uint64_t)x << 32;
	else
		*v = (*v & ~0xffffffffULL) | x;
}

static void reg_write(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	uint32_t q = t->queue_sel;
	/* Queue layout may change only while the queue is not live
	 * (4.2.2: written before QueueReady). */
	bool qcfg_ok = queue_ok(t) && !t->vq[q].ready;

	switch (off) {
	case DEVICE_FEATURES_SEL:
		t->dev_features_sel = v;
		break;
	case DRIVER_FEATURES:
		if ((t->status & VIRTIO_STATUS_DRIVER) &&
		    !(t->status & VIRTIO_STATUS_FEATURES_OK) &&
		    t->drv_features_sel < 2)
			set_half(&t->drv_features, t->drv_features_sel == 1, v);
		break;
	case DRIVER_FEATURES_SEL:
		t->drv_features_sel = v;
		break;
	case QUEUE_SEL:
		t->queue_sel = v;
		break;
	case QUEUE_NUM:
		if (qcfg_ok)
			t->qcfg[q].num = (uint16_t)(v <= VIRTQ_MAX_SIZE ? v : 0);
		break;
	case QUEUE_READY:
		if (queue_ok(t))
			queue_set_ready(t, v);
		break;
	case QUEUE_NOTIFY:
		/* With KVM the ioeventfd catches these; a write that still
		 * arrives here (or every write, in tests) is handled now. */
		queue_notify(t, v & 0xffff);
		break;
	case INTERRUPT_ACK:
		__atomic_fetch_and(&t->isr, ~v, __ATOMIC_SEQ_CST);
		break;
	case STATUS:
		set_status(t, v);
		break;
	case QUEUE_DESC_LOW:
	case QUEUE_DESC_HIGH:
		if (qcfg_ok)
			set_half(&t->qcfg[q].desc, off == QUEUE_DESC_HIGH, v);
		break;
	case QUEUE_DRIVER_LOW:
	case QUEUE_DRIVER_HIGH:
		if (qcfg_ok)
			set_half(&t->qcfg[q].avail, off == QUEUE_DRIVER_HIGH, v);
		break;
	case QUEUE_DEVICE_LOW:
	case QUEUE_DEVICE_HIGH:
		if (qcfg_ok)
			set_half(&t->qcfg[q].used, off == QUEUE_DEVICE_HIGH, v);
		break;
	default:
		break; /* read-only or unknown: ignored (4.2.2.2) */
	}
}

static void mmio_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct virtio_mmio *t = opaque;
	uint32_t v;

	if (len > 8)
		return;
	memset(data, 0, len);
	if (off >= CONFIG) {
		uint64_t c = off - CONFIG;

		if (c >= t->config_len || len > t->config_len - c ||
		    (len != 1 && len != 2 && len != 4 && len != 8))
			return;
		virtio_mmio_lock(t);
		memcpy(data, t->config + c, len);
		virtio_mmio_unlock(t);
		return;
	}
	/* Registers are 32 bits wide and aligned (4.2.2.2). */
	if (len != 4 || off % 4)
		return;
	if (off == INTERRUPT_STATUS) {
		v = __atomic_load_n(&t->isr, __ATOMIC_SEQ_CST);
	} else {
		virtio_mmio_lock(t);
		v = reg_read(t, off);
		virtio_mmio_unlock(t);
	}
	memcpy(data, &v, 4);
}

static void mmio_write(void *opaque, uint64_t off, const void *data,
		       uint32_t len)
{
	struct virtio_mmio *t = opaque;
	uint32_t v;

	/* Config space of husk's devices is read-only for the driver. */
	if (off >= CONFIG || len != 4 || off % 4)
		return;
	memcpy(&v, data, 4);
	if (off == INTERRUPT_ACK) {
		__atomic_fetch_and(&t->isr, ~v, __ATOMIC_SEQ_CST);
		return;
	}
	virtio_mmio_lock(t);
	reg_write(t, off, v);
	virtio_mmio_unlock(t);
}

static int kvm_ioeventfd(struct virtio_mmio *t, int q, bool assign)
{
	struct kvm_ioeventfd io = {
		.datamatch = (uint64_t)q,
		.addr = t->base + QUEUE_NOTIFY,
		.len = 4,
		.fd = t->notify_fd[q],
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH |
			 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	return ioctl(t->vm_fd, KVM_IOEVENTFD, &io);
}

static int kvm_irqfd(struct virtio_mmio *t, bool assign)
{
	struct kvm_irqfd irq = {
		.fd = (uint32_t)t->irq_fd,
		.gsi = t->gsi,
		.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};

	return ioctl(t->vm_fd, KVM_IRQFD, &irq);
}

static int setup_kvm(struct virtio_mmio *t, struct husk_err **err)
{
	t->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->irq_fd < 0)
		return husk_err_sys(err, "eventfd for virtio irq %u", t->gsi);
	t->own_irq_fd = true;
	if (kvm_irqfd(t, true) < 0) {
		husk_err_sys(err, "KVM_IRQFD gsi %u", t->gsi);
		close(t->irq_fd);
		t->irq_fd = -1;
		return -1;
	}
	for (int q = 0; q < t->ops->n_queues; q++) {
		t->notify_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->notify_fd[q] < 0)
			return husk_err_sys(err, "eventfd for queue %d", q);
		if (kvm_ioeventfd(t, q, true) < 0) {
			husk_err_sys(err,
				     "KVM_IOEVENTFD at 0x%llx for queue %d",
				     (unsigned long long)t->base + QUEUE_NOTIFY,
				     q);
			close(t->notify_fd[q]);
			t->notify_fd[q] = -1;
			return -1;
		}
		t->notify_ctx[q].t = t;
		t->notify_ctx[q].q = q;
		if (event_add(t->loop, t->notify_fd[q], EPOLLIN, notify_event,
			      &t->notify_ctx[q]) < 0)
			return husk_err_sys(err, "epoll add queue %d notify",
					    q);
	}
	return 0;
}

int virtio_mmio_init(struct virtio_mmio *t, const struct virtio_dev_env *env,
		     const struct virtio_mmio_ops *ops, void *dev,
		     const void *config, uint32_t config_len,
		     struct bus_dev *out, struct husk_err **err)
{
	memset(t, 0, sizeof(*t));
	if (ops->n_queues > VIRTIO_MMIO_MAX_QUEUES ||
	    config_len > VIRTIO_MMIO_CONFIG_MAX)
		return husk_err_set(err, EINVAL, "virtio device %u: too many "
				    "queues or too much config",
				    ops->device_id);
	pthread_mutex_init(&t->lock, NULL);
	t->ops = ops;
	t->dev = dev;
	t->mem = env->mem;
	t->loop = env->loop;
	t->vm_fd = env->vm_fd;
	t->base = env->mmio_base;
	t->gsi = env->gsi;
	t->irq_fd = env->vm_fd >= 0 ? -1 : env->irq_eventfd;
	for (int q = 0; q < VIRTIO_MMIO_MAX_QUEUES; q++)
		t->notify_fd[q] = -1;
	if (config_len)
		memcpy(t->config, config, config_len);
	t->config_len = config_len;
	if (env->vm_fd >= 0 && setup_kvm(t, err) < 0) {
		virtio_mmio_fini(t);
		return -1;
	}
	out->base = env->mmio_base;
	out->len = VIRTIO_MMIO_WINDOW;
	out->read = mmio_read;
	out->write = mmio_write;
	out->opaque = t;
	return 0;
}

void virtio_mmio_fini(struct virtio_mmio *t)
{
	for (int q = 0; q < VIRTIO_MMIO_MAX_QUEUES; q++) {
		if (t->notify_fd[q] < 0)
			continue;
		event_del(t->loop, t->notify_fd[q]);
		(void)kvm_ioeventfd(t, q, false);
		close(t->notify_fd[q]);
		t->notify_fd[q] = -1;
	}
	if (t->own_irq_fd && t->irq_fd >= 0) {
		(void)kvm_irqfd(t, false);
		close(t->irq_fd);
	}
	t->irq_fd = -1;
	virtio_mmio_lock(t);
	if (t->ops && t->ops->reset)
		t->ops->reset(t);
	virtio_mmio_unlock(t);
	pthread_mutex_destroy(&t->lock);
}

void virtio_dev_destroy(struct bus_dev *bd)
{
	struct virtio_mmio *t;

	if (bd == NULL || bd->opaque == NULL)
		return;
	t = bd->opaque;
	virtio_mmio_fini(t);
	if (t->ops->destroy)
		t->ops->destroy(t);
	bd->opaque = NULL;
}
