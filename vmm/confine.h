/* husk-vmm confines itself before the guest runs its first instruction, as
 * Firecracker's jailer does: no new privileges, no capabilities (bounding
 * set included), and a seccomp allow-list of the syscalls its threads use;
 * anything else kills the process (SIGSYS). */
#ifndef HUSK_VMM_CONFINE_H
#define HUSK_VMM_CONFINE_H

#include "common/err.h"

/* Apply everything, in the order the kernel requires: no_new_privs (lets an
 * unprivileged process load a filter), capabilities, then the filter. Call
 * it from the main thread before any other thread exists. */
int confine_apply(struct husk_err **err);

#endif
