/* The sandbox a container gets: --sandbox / husk-vm is the floor, and the
 * trust annotations clients already send can only raise it to vm. */
#include "runtime/sandbox.h"

#include <errno.h>
#include <string.h>

#include "runtime/vm.h"

int husk_sandbox_choose(const char *floor, const struct oci_spec *spec,
			const char **choice, struct husk_err **err)
{
	const char *own = oci_spec_annotation(spec, "run.husk.sandbox");
	const char *cri = oci_spec_annotation(
		spec, "io.kubernetes.cri.untrusted-workload");
	const char *crio =
		oci_spec_annotation(spec, "io.kubernetes.cri-o.TrustedSandbox");
	const char *why = NULL;
	bool vm = strcmp(floor, "vm") == 0;

	if (own) {
		if (strcmp(own, "vm") == 0) {
			vm = true;
			why = why ? why : "annotation run.husk.sandbox";
		} else if (strcmp(own, "container") != 0) {
			return husk_err_set(err, EINVAL,
					    "config.json: "
					    "annotations[\"run.husk.sandbox\"]:"
					    " \"%s\": want container or vm",
					    own);
		} else if (vm) {
			/* A tenant must not leave the VM by annotating its
			 * pod. */
			return husk_err_set(err, EPERM,
					    "config.json: "
					    "annotations[\"run.husk.sandbox\"]:"
					    " \"container\" is below the "
					    "operator's sandbox \"vm\"");
		}
	}
	if (cri && strcmp(cri, "true") == 0 && !vm) {
		vm = true;
		why = "annotation io.kubernetes.cri.untrusted-workload";
	}
	if (crio && strcmp(crio, "false") == 0 && !vm) {
		vm = true;
		why = "annotation io.kubernetes.cri-o.TrustedSandbox";
	}
	/* Never run as a container what was asked to run in a VM. */
	if (vm && husk_vm_available(why, err) < 0)
		return -1;
	*choice = vm ? "vm" : "container";
	return 0;
}
