/* husk pause / resume: freeze and thaw every process of a container (v1
 * freezer or v2 cgroup.freeze), recording "paused" in its state. */
#include <errno.h>
#include <string.h>

#include "runtime/cli.h"

static int freeze_main(struct husk_ctx *ctx, int argc, char **argv,
		       bool freeze, struct husk_err **err)
{
	const char *name = freeze ? "pause" : "resume";
	struct oci_state_dir d = OCI_STATE_DIR_INIT;
	struct oci_state *st = NULL;
	struct linux_container c;
	enum oci_status s;
	int npos, r;

	r = cli_parse(NULL, 0, argc, argv, false, &npos, err);
	if (r != 0) {
		if (r == 1)
			husk_cmd_help(name);
		return r == 1 ? 0 : -1;
	}
	if (cli_nargs(name, npos, 1, 1, err) < 0)
		return -1;
	if (oci_state_dir_open(ctx->root, argv[0], true, &d, &st, err) < 0)
		return -1;
	s = oci_state_status(st, d.dirfd);
	/* runc's words: pause wants a running (or created) container,
	 * resume a paused one. */
	if (freeze && s != OCI_STATUS_RUNNING && s != OCI_STATUS_CREATED)
		r = husk_err_set(err, EINVAL, "container not running");
	else if (!freeze && s != OCI_STATUS_PAUSED)
		r = husk_err_set(err, EINVAL, "container not paused");
	else if (st->sandbox && strcmp(st->sandbox, "container") != 0)
		r = husk_err_set(err, ENOSYS,
				 "%s: not supported yet in the %s sandbox",
				 name, st->sandbox);
	if (r == 0) {
		husk_state_to_container(st, &c);
		husk_log(&ctx->log, HUSK_LOG_DEBUG, "%s %s", name, st->id);
		r = linux_container_freeze(&c, freeze, err);
	}
	if (r == 0) {
		/* resume returns to what the record said before the pause:
		 * a created container stays created (its fifo tells). */
		st->status = freeze ? OCI_STATUS_PAUSED : OCI_STATUS_RUNNING;
		r = oci_state_dir_write(&d, st, err);
	}
	oci_state_dir_close(&d);
	oci_state_free(st);
	return r < 0 ? -1 : 0;
}

static int pause_main(struct husk_ctx *ctx, int argc, char **argv,
		      struct husk_err **err)
{
	return freeze_main(ctx, argc, argv, true, err);
}

static int resume_main(struct husk_ctx *ctx, int argc, char **argv,
		       struct husk_err **err)
{
	return freeze_main(ctx, argc, argv, false, err);
}

const struct husk_cmd cmd_pause = {
	"pause",
	"pause suspends all processes inside the container",
	"<container-id>",
	"Where \"<container-id>\" is the name for the instance of the "
	"container to be\npaused.\n",
	pause_main,
};

const struct husk_cmd cmd_resume = {
	"resume",
	"resumes all processes that have been previously paused",
	"<container-id>",
	"Where \"<container-id>\" is the name for the instance of the "
	"container to be\nresumed.\n",
	resume_main,
};
