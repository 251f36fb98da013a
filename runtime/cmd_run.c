/* husk run: create + start, then (unless --detach) wait for the init,
 * forwarding signals, exit with its status and delete the container. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/cli.h"
#include "runtime/linux/terminal.h"

/* Wait for the init (our child), forwarding every signal that arrives. */
static int wait_init(struct husk_ctx *ctx, struct linux_container *c, int sfd,
		     struct husk_err **err)
{
	struct signalfd_siginfo si;

	for (;;) {
		int status;
		pid_t w;
		ssize_t n;

		/* Reap everything: a helper the backend left as our child
		 * must not stay a zombie. */
		while ((w = waitpid(-1, &status, WNOHANG)) > 0)
			if (w == c->pid)
				return cli_exit_status(status);
		if (w < 0 && errno == ECHILD)
			return husk_err_set(err, ECHILD,
					    "wait for pid %d: not our child",
					    (int)c->pid);
		n = read(sfd, &si, sizeof(si));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si))
			return husk_err_sys(err, "read signalfd");
		if (si.ssi_signo == SIGCHLD)
			continue;
		husk_log(&ctx->log, HUSK_LOG_DEBUG, "run: forwarding signal %u",
			 si.ssi_signo);
		{
			_cleanup_err_ struct husk_err *e = NULL;
			/* Fails only if the init is already gone, which the
			 * next waitpid sees. */
			linux_container_signal(c, (int)si.ssi_signo, false, &e);
		}
	}
}

static int run_main(struct husk_ctx *ctx, int argc, char **argv,
		    struct husk_err **err)
{
	struct create_args a = {.bundle = "."};
	bool detach = false, keep = false, no_subreaper = false;
	const struct cli_opt opts[] = {
		CREATE_OPTS(a),
		{"detach", "d", CLI_BOOL, &detach},
		{"keep", NULL, CLI_BOOL, &keep},
		{"no-subreaper", NULL, CLI_BOOL, &no_subreaper},
	};
	struct oci_state_dir d = OCI_STATE_DIR_INIT;
	struct linux_container c = {0};
	struct oci_state *st = NULL;
	struct husk_console hc = {.fd = -1};
	_cleanup_close_ int sfd = -1, master = -1;
	sigset_t set, old;
	int npos, r, code;

	r = cli_parse(opts, ARRAY_SIZE(opts), argc, argv, false, &npos, err);
	if (r != 0) {
		if (r == 1)
			husk_cmd_help("run");
		return r == 1 ? 0 : -1;
	}
	if (cli_nargs("run", npos, 1, 1, err) < 0)
		return -1;
	if (!detach && a.console_socket)
		return husk_err_set(err, EINVAL,
				    "cannot use console socket if husk will "
				    "not detach or allocate tty");
	/* Attached: a process.terminal's master comes to husk, which relays
	 * it to the caller's stdio. */
	if (!detach) {
		if (husk_console_listen(&hc, err) < 0)
			return -1;
		a.console_socket = hc.path;
		a.console_internal = true;
	}
	if (husk_create(ctx, argv[0], &a, &d, &st, &c, err) < 0) {
		husk_console_close(&hc);
		return -1;
	}
	if (!detach) {
		husk_console_recv(&hc, &master, err);
		husk_console_close(&hc);
	}
	if (!detach) {
		/* Blocked only now: the init was cloned with husk's normal
		 * mask, and a blocked mask would survive its execve. */
		cli_forward_sigset(&set);
		sigaddset(&set, SIGCHLD);
		sigprocmask(SIG_BLOCK, &set, &old);
		sfd = signalfd(-1, &set, SFD_CLOEXEC);
		if (sfd < 0)
			husk_err_sys(err, "signalfd");
	}
	/* The caller's window size before the process runs (the relay
	 * copies it again, but only once the process may have looked). */
	if (master >= 0 && isatty(0)) {
		struct winsize ws;
		if (ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
			ioctl(master, TIOCSWINSZ, &ws);
	}
	if (*err == NULL)
		husk_start(ctx, &d, st, err);
	if (*err) {
		_cleanup_err_ struct husk_err *e2 = NULL;
		husk_destroy(ctx, &d, st, &e2);
		r = -1;
		goto out;
	}
	oci_state_dir_close(&d);
	if (detach) {
		r = 0;
		goto out;
	}
	/* Until the process exits; then wait_init reaps it. */
	if (master >= 0) {
		_cleanup_err_ struct husk_err *e2 = NULL;
		if (linux_terminal_relay(master, 0, 1, c.pid, &e2) < 0) {
			husk_log(&ctx->log, HUSK_LOG_WARN, "run: relay: %s",
				 e2->msg);
			husk_err_free(&e2);
			linux_container_signal(&c, SIGKILL, false, &e2);
		}
	}
	code = wait_init(ctx, &c, sfd, err);
	if (code < 0) {
		r = -1;
		goto out;
	}
	r = code;
	if (!keep) {
		_cleanup_err_ struct husk_err *e2 = NULL;
		struct oci_state *st2 = NULL;
		if (oci_state_dir_open(ctx->root, st->id, true, &d, &st2,
				       &e2) == 0) {
			husk_destroy(ctx, &d, st2, &e2);
			oci_state_free(st2);
		}
		if (e2 && e2->errnum != ENOENT)
			husk_log(&ctx->log, HUSK_LOG_WARN, "run: delete %s: %s",
				 st->id, e2->msg);
	}
out:
	oci_state_dir_close(&d);
	oci_state_free(st);
	linux_container_clear(&c);
	return r;
}

const struct husk_cmd cmd_run = {
	"run",
	"create and run a container",
	"[command options] <container-id>",
	"DESCRIPTION:\n"
	"   Creates and starts a container from a bundle, waits for its "
	"process, forwards\n"
	"the signals husk receives to it, exits with its status (128+N if "
	"killed by signal\n"
	"N) and deletes the container.\n\n"
	"OPTIONS:\n"
	"   --bundle value, -b value  path to the root of the bundle "
	"directory, defaults to the current directory\n"
	"   --console-socket value    path to an AF_UNIX socket which will "
	"receive a file descriptor referencing the master end of the console's "
	"pseudoterminal\n"
	"   --detach, -d              detach from the container's process\n"
	"   --keep                    do not delete the container after it "
	"exits\n"
	"   --pid-file value          specify the file to write the process id "
	"to\n"
	"   --no-subreaper            accepted for runc compatibility (the "
	"init is husk's child anyway)\n"
	"   --no-pivot                do not use pivot root to jail process "
	"inside rootfs\n"
	"   --no-new-keyring          do not create a new session keyring for "
	"the container\n"
	"   --preserve-fds value      Pass N additional file descriptors to "
	"the container (stdio + $LISTEN_FDS + N in total) (default: 0)\n",
	run_main,
};
