/* The device thread's epoll loop. Registrations live in a table indexed by
 * fd with a generation number in each epoll cookie, so a callback may remove
 * (and even reuse) another fd whose event is still pending in the same batch
 * without that stale event reaching the wrong owner. */
#include "vmm/event.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/util.h"

#define EVENT_BATCH 64

struct event_reg {
	event_cb cb;
	void *opaque;
	uint32_t gen; /* 0: free */
};

struct event_loop {
	int epfd;
	int stopfd;
	bool stopped; /* accessed with __atomic */
	uint32_t next_gen;
	pthread_mutex_t lock; /* regs/n_regs: event_add may come from any thread */
	struct event_reg *regs;
	int n_regs;
};

static uint64_t cookie(int fd, uint32_t gen)
{
	return (uint64_t)gen << 32 | (uint32_t)fd;
}

int event_loop_create(struct event_loop **out, struct husk_err **err)
{
	struct event_loop *l = husk_calloc(1, sizeof(*l));
	struct epoll_event ev = {.events = EPOLLIN};

	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->stopfd = -1;
	if (l->epfd < 0) {
		husk_err_sys(err, "epoll_create1");
		goto fail;
	}
	l->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->stopfd < 0) {
		husk_err_sys(err, "eventfd for the event loop");
		goto fail;
	}
	/* gen 0 in the cookie marks the stop eventfd. */
	ev.data.u64 = cookie(l->stopfd, 0);
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->stopfd, &ev) < 0) {
		husk_err_sys(err, "epoll_ctl add stop eventfd");
		goto fail;
	}
	pthread_mutex_init(&l->lock, NULL);
	l->next_gen = 1;
	*out = l;
	return 0;
fail:
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->stopfd >= 0)
		close(l->stopfd);
	free(l);
	return -1;
}

void event_loop_destroy(struct event_loop *l)
{
	if (l == NULL)
		return;
	close(l->epfd);
	close(l->stopfd);
	pthread_mutex_destroy(&l->lock);
	free(l->regs);
	free(l);
}

int event_add(struct event_loop *l, int fd, uint32_t events, event_cb cb,
	      void *opaque)
{
	struct epoll_event ev = {.events = events};
	struct event_reg *r;
	bool existed;
	int rc;

	if (fd < 0 || cb == NULL) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&l->lock);
	if (fd >= l->n_regs) {
		int n = fd + 16;

		l->regs = husk_reallocarray(l->regs, (size_t)n,
					    sizeof(*l->regs));
		memset(l->regs + l->n_regs, 0,
		       (size_t)(n - l->n_regs) * sizeof(*l->regs));
		l->n_regs = n;
	}
	r = &l->regs[fd];
	existed = r->gen != 0;
	r->cb = cb;
	r->opaque = opaque;
	r->gen = l->next_gen++;
	if (l->next_gen == 0)
		l->next_gen = 1;
	ev.data.u64 = cookie(fd, r->gen);
	rc = epoll_ctl(l->epfd, existed ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd,
		       &ev);
	/* The table may be stale if the owner closed the fd without
	 * event_del: the kernel forgot it, so add it afresh. */
	if (rc < 0 && existed && errno == ENOENT)
		rc = epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev);
	if (rc < 0)
		r->gen = 0;
	pthread_mutex_unlock(&l->lock);
	return rc;
}

int event_mod(struct event_loop *l, int fd, uint32_t events)
{
	struct epoll_event ev = {.events = events};
	int rc;

	pthread_mutex_lock(&l->lock);
	if (fd < 0 || fd >= l->n_regs || l->regs[fd].gen == 0) {
		pthread_mutex_unlock(&l->lock);
		errno = ENOENT;
		return -1;
	}
	ev.data.u64 = cookie(fd, l->regs[fd].gen);
	rc = epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev);
	pthread_mutex_unlock(&l->lock);
	return rc;
}

void event_del(struct event_loop *l, int fd)
{
	pthread_mutex_lock(&l->lock);
	if (fd >= 0 && fd < l->n_regs && l->regs[fd].gen != 0) {
		l->regs[fd].gen = 0;
		l->regs[fd].cb = NULL;
		/* ENOENT/EBADF if the fd was closed first: nothing to undo. */
		(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	}
	pthread_mutex_unlock(&l->lock);
}

int event_loop_run_once(struct event_loop *l, int timeout_ms)
{
	struct epoll_event evs[EVENT_BATCH];
	int n, ran = 0;

	n = epoll_wait(l->epfd, evs, EVENT_BATCH, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	for (int i = 0; i < n; i++) {
		int fd = (int)(uint32_t)evs[i].data.u64;
		uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
		event_cb cb = NULL;
		void *opaque = NULL;

		if (gen == 0 && fd == l->stopfd) {
			uint64_t v;

			if (read(l->stopfd, &v, sizeof(v)) < 0 &&
			    errno != EAGAIN)
				return -1;
			__atomic_store_n(&l->stopped, true, __ATOMIC_RELEASE);
			continue;
		}
		pthread_mutex_lock(&l->lock);
		if (fd < l->n_regs && l->regs[fd].gen == gen && gen != 0) {
			cb = l->regs[fd].cb;
			opaque = l->regs[fd].opaque;
		}
		pthread_mutex_unlock(&l->lock);
		if (cb == NULL)
			continue;
		cb(opaque, evs[i].events);
		ran++;
	}
	return ran;
}

int event_loop_run(struct event_loop *l)
{
	while (!__atomic_load_n(&l->stopped, __ATOMIC_ACQUIRE)) {
		if (event_loop_run_once(l, -1) < 0)
			return -1;
	}
	return 0;
}

void event_loop_stop(struct event_loop *l)
{
	uint64_t one = 1;

	/* Only EAGAIN (counter saturated: a stop is already pending) can
	 * fail here, and that is as good as success. */
	while (write(l->stopfd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}
