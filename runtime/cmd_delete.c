/* husk delete: remove a stopped (or, with --force, any) container. */
#include <errno.h>

#include "runtime/cli.h"

static int delete_main(struct husk_ctx *ctx, int argc, char **argv,
		       struct husk_err **err)
{
	bool force = false;
	const struct cli_opt opts[] = {{"force", "f", CLI_BOOL, &force}};
	struct oci_state_dir d = OCI_STATE_DIR_INIT;
	struct oci_state *st = NULL;
	enum oci_status s;
	int npos, r;

	r = cli_parse(opts, ARRAY_SIZE(opts), argc, argv, false, &npos, err);
	if (r != 0) {
		if (r == 1)
			husk_cmd_help("delete");
		return r == 1 ? 0 : -1;
	}
	if (cli_nargs("delete", npos, 1, 1, err) < 0)
		return -1;
	if (oci_state_dir_open(ctx->root, argv[0], true, &d, &st, err) < 0) {
		_cleanup_err_ struct husk_err *e2 = NULL;
		if (*err == NULL || (*err)->errnum != ENOENT)
			return -1;
		/* runc: a directory left without state.json by an aborted
		 * create is removed, and --force makes "does not exist" a
		 * success (containerd deletes twice). */
		oci_state_dir_remove_stale(ctx->root, argv[0], &e2);
		if (!force)
			return -1;
		husk_err_free(err);
		return 0;
	}
	s = oci_state_status(st, d.dirfd);
	switch (s) {
	case OCI_STATUS_STOPPED:
	case OCI_STATUS_CREATED: /* runc kills a created container too */
		r = 0;
		break;
	default:
		r = force ? 0
			  : husk_err_set(err, EBUSY,
					 "cannot delete container %s that is "
					 "not stopped: %s",
					 st->id, oci_status_name(s));
	}
	if (r == 0)
		r = husk_destroy(ctx, &d, st, err);
	oci_state_dir_close(&d);
	oci_state_free(st);
	return r < 0 ? -1 : 0;
}

const struct husk_cmd cmd_delete = {
	"delete",
	"delete any resources held by the container often used with detached "
	"container",
	"[command options] <container-id>",
	"OPTIONS:\n"
	"   --force, -f  Forcibly deletes the container if it is still running "
	"(uses SIGKILL)\n",
	delete_main,
};
