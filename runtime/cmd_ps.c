/* husk ps: the processes of a container, as runc lists them: the host pids
 * of its cgroup as a JSON array, or `ps` output filtered to them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/cli.h"

static bool has_pid(const pid_t *pids, size_t n, long long pid)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

/* Run `ps [args]` (default -ef) and print its header and the lines whose
 * PID column holds one of pids. */
static int ps_table(char **args, int nargs, const pid_t *pids, size_t n,
		    struct husk_err **err)
{
	char **av = husk_calloc((size_t)nargs + 3, sizeof(char *));
	_cleanup_free_ char *out = NULL;
	size_t len = 0, cap = 0;
	int pfd[2], status, col = -1;
	char *line, *save = NULL;
	pid_t child;

	av[0] = "ps";
	if (nargs == 0)
		av[1] = "-ef";
	for (int i = 0; i < nargs; i++)
		av[1 + i] = args[i];
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		free(av);
		return husk_err_sys(err, "pipe");
	}
	child = fork();
	if (child < 0) {
		free(av);
		close(pfd[0]);
		close(pfd[1]);
		return husk_err_sys(err, "fork");
	}
	if (child == 0) {
		if (dup2(pfd[1], STDOUT_FILENO) < 0)
			_exit(127);
		execvp("ps", av);
		_exit(127);
	}
	free(av);
	close(pfd[1]);
	for (;;) {
		ssize_t r;
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			out = realloc(out, cap + 1);
			if (out == NULL)
				abort();
		}
		r = read(pfd[0], out + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(pfd[0]);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return husk_err_set(err, EIO, "ps: exited with status %d",
				    cli_exit_status(status));
	if (out == NULL)
		return 0;
	out[len] = '\0';
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *copy, *tok, *s2 = NULL;
		long long pid;
		int k = 0;

		if (col < 0) {
			/* The header: the column runc looks for is "PID". */
			copy = husk_strdup(line);
			for (tok = strtok_r(copy, " \t", &s2); tok;
			     tok = strtok_r(NULL, " \t", &s2), k++)
				if (strcmp(tok, "PID") == 0)
					col = k;
			free(copy);
			if (col < 0)
				return husk_err_set(err, EINVAL,
						    "ps: no PID column in "
						    "\"%s\"",
						    line);
			printf("%s\n", line);
			continue;
		}
		copy = husk_strdup(line);
		for (tok = strtok_r(copy, " \t", &s2); tok && k < col;
		     tok = strtok_r(NULL, " \t", &s2))
			k++;
		if (tok && husk_parse_i64(tok, &pid) == 0 &&
		    has_pid(pids, n, pid))
			printf("%s\n", line);
		free(copy);
	}
	return 0;
}

static int ps_main(struct husk_ctx *ctx, int argc, char **argv,
		   struct husk_err **err)
{
	const char *format = "table";
	const struct cli_opt opts[] = {
		{"format", "f", CLI_STRING, &format}};
	struct oci_state_dir d = OCI_STATE_DIR_INIT;
	struct oci_state *st = NULL;
	struct linux_container c;
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	int npos, r;

	/* Flags stop at the id: what follows goes to ps. */
	r = cli_parse(opts, ARRAY_SIZE(opts), argc, argv, true, &npos, err);
	if (r != 0) {
		if (r == 1)
			husk_cmd_help("ps");
		return r == 1 ? 0 : -1;
	}
	if (npos < 1)
		return cli_nargs("ps", npos, 1, 1, err);
	if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
		return husk_err_set(err, EINVAL, "invalid format option");
	if (oci_state_dir_open(ctx->root, argv[0], false, &d, &st, err) < 0)
		return -1;
	if (st->sandbox && strcmp(st->sandbox, "container") != 0)
		r = husk_err_set(err, ENOSYS,
				 "ps: not supported yet in the %s sandbox",
				 st->sandbox);
	else if (oci_state_status(st, d.dirfd) == OCI_STATUS_STOPPED)
		r = husk_err_set(err, ESRCH, "container not running");
	if (r == 0) {
		husk_state_to_container(st, &c);
		r = linux_container_pids(&c, &pids, &n, err);
	}
	oci_state_dir_close(&d);
	oci_state_free(st);
	if (r < 0)
		return -1;
	if (strcmp(format, "json") == 0) {
		printf("[");
		for (size_t i = 0; i < n; i++)
			printf("%s%d", i ? "," : "", (int)pids[i]);
		printf("]\n");
		return 0;
	}
	return ps_table(argv + 1, npos - 1, pids, n, err) < 0 ? -1 : 0;
}

const struct husk_cmd cmd_ps = {
	"ps",
	"ps displays the processes running inside a container",
	"[command options] <container-id> [ps options]",
	"OPTIONS:\n"
	"   --format value, -f value  select one of: table or json (default: "
	"\"table\")\n",
	ps_main,
};
