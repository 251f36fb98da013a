/* husk kill: send a signal to a container's init (or, with --all, to
 * every process in its cgroup). */
#include <errno.h>
#include <signal.h>

#include "runtime/cli.h"
#include "runtime/vm.h"

static int kill_main(struct husk_ctx *ctx, int argc, char **argv,
		     struct husk_err **err)
{
	bool all = false;
	const struct cli_opt opts[] = {{"all", "a", CLI_BOOL, &all}};
	struct oci_state_dir d = OCI_STATE_DIR_INIT;
	struct oci_state *st = NULL;
	struct linux_container c;
	int npos, r, sig = SIGTERM;

	r = cli_parse(opts, ARRAY_SIZE(opts), argc, argv, false, &npos, err);
	if (r != 0) {
		if (r == 1)
			husk_cmd_help("kill");
		return r == 1 ? 0 : -1;
	}
	if (cli_nargs("kill", npos, 1, 2, err) < 0)
		return -1;
	/* runc's order: an unknown container first, then the signal. */
	if (oci_state_dir_open(ctx->root, argv[0], false, &d, &st, err) < 0)
		return -1;
	r = npos == 2 ? husk_parse_signal(argv[1], &sig, err) : 0;
	if (r == 0) {
		enum oci_status s = oci_state_status(st, d.dirfd);
		husk_state_to_container(st, &c);
		if (s == OCI_STATUS_STOPPED) {
			/* runc: --all on a stopped container is no error
			 * (containerd sends it after the init died). */
			if (!all)
				r = husk_err_set(err, ESRCH,
						 "container not running");
		} else {
			husk_log(&ctx->log, HUSK_LOG_DEBUG,
				 "kill %s: signal %d%s", st->id, sig,
				 all ? " to all" : "");
			r = husk_state_is_vm(st)
				    ? husk_vm_signal(st, sig, all, err)
				    : linux_container_signal(&c, sig, all, err);
			/* A task in a frozen v1 cgroup dies only once thawed
			 * (runc thaws after a SIGKILL as well). */
			if (r == 0 && sig == SIGKILL &&
			    s == OCI_STATUS_PAUSED && !husk_state_is_vm(st))
				r = linux_container_freeze(&c, false, err);
		}
	}
	oci_state_dir_close(&d);
	oci_state_free(st);
	return r < 0 ? -1 : 0;
}

const struct husk_cmd cmd_kill = {
	"kill",
	"kill sends the specified signal (default: SIGTERM) to the container's "
	"init process",
	"[command options] <container-id> [signal]",
	"EXAMPLE:\n"
	"   husk kill ubuntu01 KILL\n\n"
	"OPTIONS:\n"
	"   --all, -a  send the specified signal to all processes inside the "
	"container\n",
	kill_main,
};
