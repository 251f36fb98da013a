/* The vm sandbox's command paths (DESIGN.md section 5): the container runs
 * in husk-agent, and a stand-in (shim/) is the pid clients see. */
#ifndef HUSK_RUNTIME_VM_H
#define HUSK_RUNTIME_VM_H

#include <stdbool.h>

#include "common/err.h"
#include "oci/spec.h"
#include "oci/state.h"
#include "runtime/cli.h"

/* The env variable of the test build's transport: the "VM" is a husk-agent
 * the test started on the host, listening on this unix socket. Only a build
 * with -DHUSK_TEST_TRANSPORT reads it. */
#define HUSK_TEST_AGENT_ENV "HUSK_TEST_AGENT_SOCKET"

/* true if the container was created in the vm sandbox. */
bool husk_state_is_vm(const struct oci_state *st);

/* Whether this husk can run the vm sandbox at all; why (may be NULL) names
 * what asked for it. Fails with "sandbox \"vm\": not available yet ..."
 * naming what is missing. */
int husk_vm_available(const char *why, struct husk_err **err);

/* vm-mode create, after the state directory was made (d locked, st the
 * record): the agent creates the container, a stand-in is forked and
 * becomes st->pid / c->pid (our child), state.json and the pid file are
 * written. On failure the agent's container and the stand-in are gone
 * (the caller removes d). */
int husk_vm_create(struct husk_ctx *ctx, const struct create_args *a,
		   const struct oci_spec *spec, struct oci_state_dir *d,
		   struct oci_state *st, struct linux_container *c,
		   struct husk_err **err);

/* Release the created container's process. */
int husk_vm_start(const struct oci_state *st, struct husk_err **err);

/* Deliver sig in the guest to the process (all: every process of it). */
int husk_vm_signal(const struct oci_state *st, int sig, bool all,
		   struct husk_err **err);

/* Kill what runs, have the agent delete the container, wait for the
 * stand-in to exit, remove the state directory (lock of d held). */
int husk_vm_destroy(struct husk_ctx *ctx, struct oci_state_dir *d,
		    const struct oci_state *st, struct husk_err **err);

#endif
