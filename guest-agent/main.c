/* husk-agent: as PID 1 of a husk guest it mounts, loads modules, serves the
 * host protocol on vsock port 1024 and prints a ready marker on the console;
 * with --listen on the host it only serves (how most of its tests run). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/proto.h"
#include "common/util.h"
#include "guest-agent/agent.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: husk-agent --listen unix:PATH|vsock:PORT "
		   "[--state DIR] [--rootfs-under DIR]\n"
		   "  As PID 1 (the guest's /init) it needs no arguments.\n"
		   "  --state: the containers' state (default " AGENT_STATE_DIR
		   ")\n"
		   "  --rootfs-under: refuse a create whose rootfs is "
		   "elsewhere\n"
		   "  Kernel command line: husk.poweroff=reset|acpi, "
		   "husk.marker_only=0|1, husk.debug=0|1\n");
}

/* The kernel hands init /dev/console as fds 0-2 only if the initramfs has
 * that node; if it did not, open it from the devtmpfs just mounted. */
static void guest_console(struct agent *a)
{
	int fd;

	if (fcntl(STDOUT_FILENO, F_GETFD) >= 0) {
		a->console_fd = STDOUT_FILENO;
		return;
	}
	fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0)
		return;
	for (int i = 0; i < 3; i++)
		if (fd != i)
			dup2(fd, i);
	if (fd > 2)
		close(fd);
	a->console_fd = STDOUT_FILENO;
}

/* Host mode only: PID 1 never gets here. */
static void agent_release(struct agent *a)
{
	if (a->unix_path)
		unlink(a->unix_path);
	if (a->listen_fd >= 0)
		close(a->listen_fd);
	if (a->shutdown_fd >= 0)
		close(a->shutdown_fd);
	if (a->mods.dirfd >= 0)
		close(a->mods.dirfd);
	husk_strvfreep(&a->mods.late);
	agent_reg_release(a);
	free(a->unix_path);
	free(a->listen_spec);
}

static void guest_boot(struct agent *a)
{
	_cleanup_err_ struct husk_err *err = NULL;
	_cleanup_free_ char *cmdline = NULL;

	agent_mount_early(a);
	guest_console(a);
	if (husk_read_file_at(AT_FDCWD, "/proc/cmdline", 65536, &cmdline,
			      NULL, &err) < 0)
		agent_say(a, "%s", err->msg);
	else if (agent_cmdline_parse(cmdline, &a->opts, &err) < 0)
		agent_say(a, "kernel command line: %s", err->msg);
	husk_err_free(&err);

	agent_load_modules(a, AGENT_MODULES_ORDER);

	/* The marker is printed whatever happens to vsock: a benchmark on a
	 * VMM without vsock still times boot by it. */
	if (agent_listen(a, "vsock:1024", &err) < 0 ||
	    agent_vsock_check(&err) < 0) {
		a->ready_ms = agent_boottime_ms();
		agent_say(a, "ready %llu", (unsigned long long)a->ready_ms);
		agent_say(a, "no vsock: %s", err->msg);
	} else {
		a->ready_ms = agent_boottime_ms();
		agent_say(a, "ready %llu", (unsigned long long)a->ready_ms);
	}
	if (a->opts.marker_only)
		agent_power_off(a);
	agent_modules_start_late(a);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"state", required_argument, NULL, 's'},
		{"rootfs-under", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	_cleanup_err_ struct husk_err *err = NULL;
	struct agent a = {
		.console_fd = STDERR_FILENO,
		.listen_fd = -1,
		.shutdown_fd = -1,
		.opts = {.poweroff = AGENT_POWEROFF_RESET},
	};
	const char *listen_spec = NULL, *state = AGENT_STATE_DIR,
		   *rootfs_under = NULL;
	struct utsname u;
	int c, rc;

	/* PID 1 with --listen is a host agent started as the init of a fresh
	 * pid namespace (the tests' `unshare --pid --fork`), not a guest. */
	a.pid1 = getpid() == 1 &&
		 !(argc > 1 && husk_str_has_prefix(argv[1], "--"));
	agent_modules_init(&a);
	/* The kernel may pass init arguments it did not understand; PID 1
	 * ignores its argv. */
	while (!a.pid1 &&
	       (c = getopt_long(argc, argv, "l:hV", lopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen_spec = optarg;
			break;
		case 's':
			state = optarg;
			break;
		case 'r':
			rootfs_under = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("husk-agent %s (protocol %d)\n", AGENT_VERSION,
			       PROTO_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!a.pid1 && (listen_spec == NULL || optind != argc)) {
		usage(stderr);
		return 2;
	}

	signal(SIGPIPE, SIG_IGN);
	if (agent_signals_block(&err) < 0) {
		fprintf(stderr, "husk-agent: %s\n", err->msg);
		husk_err_free(&err);
		if (!a.pid1)
			return 1;
	}
	if (uname(&u) == 0)
		snprintf(a.kernel, sizeof(a.kernel), "%s", u.release);
	a.shutdown_fd = eventfd(0, EFD_CLOEXEC);
	if (a.shutdown_fd < 0) {
		fprintf(stderr, "husk-agent: eventfd: %s\n", strerror(errno));
		if (!a.pid1)
			return 1;
	}

	/* Host mode: the containers' inits and execs are reparented here
	 * when the helpers that made them exit (a guest's PID 1 gets them
	 * anyway). */
	if (!a.pid1 && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		fprintf(stderr, "husk-agent: PR_SET_CHILD_SUBREAPER: %s\n",
			strerror(errno));
		return 1;
	}
	if (!a.pid1 && agent_reg_init(&a, state, rootfs_under, &err) < 0) {
		fprintf(stderr, "husk-agent: %s\n", err->msg);
		agent_release(&a);
		return 1;
	}

	if (a.pid1) {
		guest_boot(&a);
		/* /run is the tmpfs guest_boot mounted. */
		if (agent_reg_init(&a, state, NULL, &err) < 0) {
			agent_say(&a, "%s", err->msg);
			husk_err_free(&err);
		}
	} else {
		a.console_fd = STDOUT_FILENO;
		if (agent_listen(&a, listen_spec, &err) < 0) {
			fprintf(stderr, "husk-agent: %s\n", err->msg);
			agent_release(&a); /* a socket bound by us goes too */
			return 1;
		}
		a.ready_ms = agent_boottime_ms();
		agent_say(&a, "ready %llu", (unsigned long long)a.ready_ms);
	}

	rc = agent_serve(&a, &err);
	if (rc < 0)
		agent_say(&a, "%s", err->msg);
	if (a.pid1)
		agent_power_off(&a);
	agent_release(&a);
	return rc < 0 ? 1 : 0;
}
