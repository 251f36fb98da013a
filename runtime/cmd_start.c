/* husk start: release a created container's init. */
#include "runtime/cli.h"

static int start_main(struct husk_ctx *ctx, int argc, char **argv,
		      struct husk_err **err)
{
	struct oci_state_dir d = OCI_STATE_DIR_INIT;
	struct oci_state *st = NULL;
	int npos, r;

	r = cli_parse(NULL, 0, argc, argv, false, &npos, err);
	if (r != 0) {
		if (r == 1)
			husk_cmd_help("start");
		return r == 1 ? 0 : -1;
	}
	if (cli_nargs("start", npos, 1, 1, err) < 0)
		return -1;
	if (oci_state_dir_open(ctx->root, argv[0], true, &d, &st, err) < 0)
		return -1;
	r = husk_start(ctx, &d, st, err);
	oci_state_dir_close(&d);
	oci_state_free(st);
	return r < 0 ? -1 : 0;
}

const struct husk_cmd cmd_start = {
	"start",
	"executes the user defined process in a created container",
	"<container-id>",
	NULL,
	start_main,
};
