/* `husk features`: the runtime-spec features.md document, telling what
 * this build of husk applies now (and nothing it would refuse). */
#ifndef HUSK_OCI_FEATURES_H
#define HUSK_OCI_FEATURES_H

#include "common/err.h"

/* The JSON (4-space indent as runc prints it, trailing newline). */
int oci_features_json(const char *version, char **out, struct husk_err **err);

#endif
