/* husk create: set up a container whose init waits for `start`. */
#include "runtime/cli.h"

static int create_main(struct husk_ctx *ctx, int argc, char **argv,
		       struct husk_err **err)
{
	struct create_args a = {.bundle = "."};
	const struct cli_opt opts[] = {CREATE_OPTS(a)};
	struct oci_state_dir d = OCI_STATE_DIR_INIT;
	struct linux_container c = {0};
	struct oci_state *st = NULL;
	int npos, r;

	r = cli_parse(opts, ARRAY_SIZE(opts), argc, argv, false, &npos, err);
	if (r != 0) {
		if (r == 1)
			husk_cmd_help("create");
		return r == 1 ? 0 : -1;
	}
	if (cli_nargs("create", npos, 1, 1, err) < 0)
		return -1;
	if (husk_create(ctx, argv[0], &a, &d, &st, &c, err) < 0)
		return -1;
	oci_state_dir_close(&d);
	oci_state_free(st);
	linux_container_clear(&c);
	return 0;
}

const struct husk_cmd cmd_create = {
	"create",
	"create a container",
	"[command options] <container-id>",
	"DESCRIPTION:\n"
	"   The create command creates an instance of a container for a "
	"bundle. The bundle\n"
	"is a directory with a specification file named \"config.json\" and a "
	"root\n"
	"filesystem. The container's process waits until `husk start "
	"<container-id>`.\n\n"
	"OPTIONS:\n"
	"   --bundle value, -b value  path to the root of the bundle "
	"directory, defaults to the current directory\n"
	"   --console-socket value    path to an AF_UNIX socket which will "
	"receive a file descriptor referencing the master end of the console's "
	"pseudoterminal\n"
	"   --pid-file value          specify the file to write the process id "
	"to\n"
	"   --no-pivot                do not use pivot root to jail process "
	"inside rootfs\n"
	"   --no-new-keyring          do not create a new session keyring for "
	"the container\n"
	"   --preserve-fds value      Pass N additional file descriptors to "
	"the container (stdio + $LISTEN_FDS + N in total) (default: 0)\n",
	create_main,
};
