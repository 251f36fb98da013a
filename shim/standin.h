/* The stand-in (DESIGN.md section 5): the host process that clients see for
 * a process running in the VM. It relays the stdio it was given to and
 * from the process's streams, forwards the signals it gets, and ends with
 * the process's status. */
#ifndef HUSK_SHIM_STANDIN_H
#define HUSK_SHIM_STANDIN_H

#include <signal.h>

#include "common/err.h"

/* After the exit status arrived, how long stdout/stderr may take to reach
 * EOF before the stand-in gives up on them (a client must never stall). */
#define STANDIN_DRAIN_MS 5000

struct standin {
	const char *container; /* the agent's name of the container */
	const char *exec;      /* NULL: the init */
	int ctl;	       /* control connection: signal requests */
	int guard;	       /* a `wait` with guard already sent on it */
	int stream[3];	       /* stdin, stdout, stderr streams; -1: none */
	int io[3];	       /* the host fds they relay to/from (0, 1, 2) */
	int sigfd;	       /* signalfd of standin_sigset() */
};

/* The signals a stand-in forwards: every one a supervisor may send, not
 * the faults that concern the stand-in itself, SIGCHLD (it has no
 * children) or SIGPIPE (its own writes to a closed pipe). */
void standin_sigset(sigset_t *set);

/* Relay until the process's status arrived (on s->guard) and the output
 * streams reached EOF (or STANDIN_DRAIN_MS passed after the status).
 * Returns the status to exit with (0..255): the process's, or 255 when the
 * agent went away without one. -1 only on a local failure (poll, read of
 * the signalfd). */
int standin_run(const struct standin *s, struct husk_err **err);

#endif
