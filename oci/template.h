/* `husk spec`: the default config.json, the same as `runc spec` makes. */
#ifndef HUSK_OCI_TEMPLATE_H
#define HUSK_OCI_TEMPLATE_H

#include <stdbool.h>

#include "common/err.h"

/* husk's own runtime-spec version, written into generated configs. */
#define OCI_TEMPLATE_VERSION "1.2.0"

/* A NUL-terminated, tab-indented JSON document (caller frees *json_out).
 * rootless: a user namespace mapping the caller's uid/gid to 0, no network
 * namespace, no cgroup resources, /sys bind-mounted read-only (as
 * `runc spec --rootless`). */
int oci_template_generate(bool rootless, char **json_out,
			  struct husk_err **err);

#endif
