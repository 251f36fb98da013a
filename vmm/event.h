/* The device thread's epoll loop: fds with callbacks. Callbacks run on the
 * loop's thread only; devices lock their own state against vCPU threads. */
#ifndef HUSK_VMM_EVENT_H
#define HUSK_VMM_EVENT_H

#include <stdint.h>

#include "common/err.h"

struct event_loop;

typedef void (*event_cb)(void *opaque, uint32_t events);

int event_loop_create(struct event_loop **out, struct husk_err **err);
void event_loop_destroy(struct event_loop *l);

/* Watch fd for events (EPOLLIN/EPOLLOUT...); replaces an earlier entry. */
int event_add(struct event_loop *l, int fd, uint32_t events, event_cb cb,
	      void *opaque);
int event_mod(struct event_loop *l, int fd, uint32_t events);
void event_del(struct event_loop *l, int fd);

/* Run one round: wait up to timeout_ms (-1 forever), dispatch. Returns the
 * number of callbacks run, or -1 on an epoll error other than EINTR. */
int event_loop_run_once(struct event_loop *l, int timeout_ms);

/* Run until event_loop_stop() (which is thread-safe: it writes an eventfd). */
int event_loop_run(struct event_loop *l);
void event_loop_stop(struct event_loop *l);

#endif
