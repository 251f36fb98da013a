/* virtio-rng (virtio 1.2 section 5.4): one request queue; every
 * device-writable buffer is filled from getrandom(). */
#include <errno.h>
#include <sys/random.h>

#include "common/util.h"
#include "vmm/virtio/mmio.h"

#define RNG_DEVICE_ID 4
/* A guest asking for more per request gets this much (the driver asks for
 * small amounts; this bounds the time one chain can hold the device). */
#define RNG_MAX_PER_CHAIN (64 * 1024)

struct virtio_rng {
	struct virtio_mmio t;
	struct virtq_chain chain;
};

static size_t fill_random(struct iovec *iov, int n)
{
	size_t total = 0;

	for (int i = 0; i < n; i++) {
		char *p = iov[i].iov_base;
		size_t left = iov[i].iov_len;

		while (left > 0 && total < RNG_MAX_PER_CHAIN) {
			size_t want = left;
			ssize_t got;

			if (want > RNG_MAX_PER_CHAIN - total)
				want = RNG_MAX_PER_CHAIN - total;
			got = getrandom(p, want, 0);
			if (got < 0) {
				if (errno == EINTR)
					continue;
				return total;
			}
			p += got;
			left -= (size_t)got;
			total += (size_t)got;
		}
	}
	return total;
}

static void rng_notify(struct virtio_mmio *t, int qi)
{
	struct virtio_rng *r = t->dev;
	struct virtq *q = &t->vq[qi];
	bool pushed = false;

	for (;;) {
		int rc;

		while ((rc = virtq_pop(q, &r->chain)) > 0) {
			struct virtq_chain *c = &r->chain;
			size_t n = fill_random(c->iov + c->n_out, c->n_in);

			virtq_push(q, c->head, (uint32_t)n);
			pushed = true;
		}
		if (rc < 0 || !virtq_enable_notify(q))
			break;
	}
	if (pushed)
		virtio_mmio_notify_used(t, qi);
}

static void rng_destroy(struct virtio_mmio *t)
{
	free(t->dev);
}

static const struct virtio_mmio_ops rng_ops = {
	.device_id = RNG_DEVICE_ID,
	.features = 0,
	.n_queues = 1,
	.queue_notify = rng_notify,
	.reset = NULL,
	.destroy = rng_destroy,
};

int virtio_rng_create(const struct virtio_dev_env *env, struct bus_dev *out,
		      struct husk_err **err)
{
	struct virtio_rng *r = husk_calloc(1, sizeof(*r));

	if (virtio_mmio_init(&r->t, env, &rng_ops, r, NULL, 0, out, err) < 0) {
		free(r);
		return husk_err_prefix(err, "virtio-rng");
	}
	return 0;
}
