/* husk state: the runtime-spec state of one container, as runc prints it. */
#include <stdio.h>

#include "runtime/cli.h"

static int state_main(struct husk_ctx *ctx, int argc, char **argv,
		      struct husk_err **err)
{
	struct oci_state_dir d = OCI_STATE_DIR_INIT;
	struct oci_state *st = NULL;
	char *out;
	int npos, r;

	r = cli_parse(NULL, 0, argc, argv, false, &npos, err);
	if (r != 0) {
		if (r == 1)
			husk_cmd_help("state");
		return r == 1 ? 0 : -1;
	}
	if (cli_nargs("state", npos, 1, 1, err) < 0)
		return -1;
	/* Shared: waits for a create or delete in progress, not for
	 * other readers. */
	if (oci_state_dir_open(ctx->root, argv[0], false, &d, &st, err) < 0)
		return -1;
	/* runc prints "owner": "" here and the user name only in list. */
	out = oci_state_format(st, oci_state_status(st, d.dirfd), "", true);
	fputs(out, stdout);
	free(out);
	oci_state_dir_close(&d);
	oci_state_free(st);
	return 0;
}

const struct husk_cmd cmd_state = {
	"state",    "output the state of a container", "<container-id>", NULL,
	state_main,
};
