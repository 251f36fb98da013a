/* libFuzzer harness: config.json text → oci_spec_parse → oci_spec_validate
 * → oci_spec_free, and the same bytes through oci_resources_parse. Any
 * crash, sanitizer report or leak is a bug; errors are normal results. */
#include <stddef.h>
#include <stdint.h>

#include "oci/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct husk_err *err = NULL;
	struct oci_spec *spec = NULL;
	struct oci_resources *res = NULL;

	if (oci_spec_parse((const char *)data, size, &spec, &err) == 0) {
		/* every accepted spec must be safe to validate, twice (the
		 * first run normalizes some fields) */
		if (oci_spec_validate(spec, &err) == 0)
			(void)oci_spec_validate(spec, &err);
		(void)oci_spec_annotation(spec, "run.husk.sandbox");
		(void)oci_spec_namespace(spec, OCI_NS_USER);
	}
	husk_err_free(&err);
	oci_spec_free(spec);

	if (oci_resources_parse((const char *)data, size, &res, &err) == 0)
		(void)oci_resources_validate(res, &err);
	husk_err_free(&err);
	oci_resources_free(res);
	return 0;
}
