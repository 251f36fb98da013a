/* Choosing the sandbox of a container (DESIGN.md section 3): the operator
 * sets the floor, annotations may only raise it. */
#ifndef HUSK_SANDBOX_H
#define HUSK_SANDBOX_H

#include "common/err.h"
#include "oci/spec.h"

/* floor is "container" or "vm". *choice is a static string. Fails for a
 * choice that cannot run (vm, unless husk_vm_available) and for an
 * annotation that asks for less than the floor. */
int husk_sandbox_choose(const char *floor, const struct oci_spec *spec,
			const char **choice, struct husk_err **err);

#endif
