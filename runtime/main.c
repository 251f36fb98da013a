/* husk: the runc-compatible command line. Global flags, dispatch to one
 * cmd_<name>.c per command, and the one place that prints errors. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "oci/state.h"
#include "runtime/cli.h"

static const struct husk_cmd cmd_checkpoint = {
	"checkpoint", "checkpoint a running container",
	"[command options] <container-id>", NULL, cmd_unsupported};
static const struct husk_cmd cmd_restore = {
	"restore", "restore a container from a previous checkpoint",
	"[command options] <container-id>", NULL, cmd_unsupported};

static const struct husk_cmd *const commands[] = {
	&cmd_checkpoint, &cmd_create, &cmd_delete, &cmd_events, &cmd_exec,
	&cmd_features,	 &cmd_kill,   &cmd_list,   &cmd_pause,	&cmd_ps,
	&cmd_restore,	 &cmd_resume, &cmd_run,	   &cmd_spec,	&cmd_start,
	&cmd_state,	 &cmd_update,
};

static const struct husk_cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

static void print_version(void)
{
	printf("husk version %s\nspec: %s\n", HUSK_VERSION,
	       OCI_STATE_SPEC_VERSION);
}

static void print_help(void)
{
	printf("NAME:\n   husk - an OCI runtime that runs each workload in a "
	       "container or a microVM\n\n"
	       "USAGE:\n   husk [global options] command [command options] "
	       "[arguments...]\n\n"
	       "VERSION:\n   %s\n\nCOMMANDS:\n",
	       HUSK_VERSION);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		printf("   %-11s%s%s\n", commands[i]->name,
		       commands[i]->summary,
		       commands[i]->fn == cmd_unsupported
			       ? " (not supported yet)"
			       : "");
	printf("   %-11s%s\n", "help, h",
	       "Shows a list of commands or help for one command");
	printf("\nGLOBAL OPTIONS:\n"
	       "   --debug                  enable debug logging\n"
	       "   --log value              set the log file to write husk "
	       "logs to (default is stderr)\n"
	       "   --log-format value       set the log format ('text' "
	       "(default), or 'json') (default: \"text\")\n"
	       "   --root value             root directory for storage of "
	       "container state (default: \"" HUSK_DEFAULT_ROOT "\")\n"
	       "   --systemd-cgroup         enable systemd cgroup support "
	       "(recorded and passed to the backend)\n"
	       "   --sandbox value          'container' (default) or 'vm'; the "
	       "name husk-vm means vm\n"
	       "   --rootless value         ignore cgroup permission errors "
	       "('true', 'false', or 'auto') (default: \"auto\")\n"
	       "   --help, -h               show help\n"
	       "   --version, -v            print the version\n");
}

void husk_cmd_help(const char *name)
{
	const struct husk_cmd *c = find_cmd(name);

	if (c == NULL) {
		print_help();
		return;
	}
	printf("NAME:\n   husk %s - %s\n\nUSAGE:\n   husk %s %s\n", c->name,
	       c->summary, c->name, c->usage);
	if (c->fn == cmd_unsupported)
		printf("\nNOTE:\n   not supported yet: husk %s fails with an "
		       "error\n",
		       c->name);
	if (c->details)
		printf("\n%s", c->details);
}

int cmd_unsupported(struct husk_ctx *ctx, int argc, char **argv,
		    struct husk_err **err)
{
	/* argv[-1] is the command's name (main passes argv + 1). */
	return husk_err_set(err, ENOSYS, "%s: not supported yet", argv[-1]);
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

int main(int argc, char **argv)
{
	_cleanup_err_ struct husk_err *err = NULL;
	struct husk_ctx ctx = {.root = HUSK_DEFAULT_ROOT,
			       .log = HUSK_LOG_INIT,
			       .sandbox = "container"};
	const char *log_path = NULL, *log_format = NULL, *sandbox = NULL;
	bool debug = false, help = false, version = false;
	const struct cli_opt gopts[] = {
		{"root", NULL, CLI_STRING, &ctx.root},
		{"log", NULL, CLI_STRING, &log_path},
		{"log-format", NULL, CLI_STRING, &log_format},
		{"debug", NULL, CLI_BOOL, &debug},
		{"systemd-cgroup", NULL, CLI_BOOL, &ctx.systemd_cgroup},
		{"sandbox", NULL, CLI_STRING, &sandbox},
		{"rootless", NULL, CLI_STRING, &ctx.rootless},
		{"version", "v", CLI_BOOL, &version},
	};
	const struct husk_cmd *cmd;
	int npos = 0, r;
	/* The parsers reorder their words in place; the re-exec from the
	 * sealed copy needs the command line as it was given. */
	_cleanup_free_ char **orig =
		husk_calloc((size_t)argc + 1, sizeof(char *));
	char **rest = argv + 1;
	_cleanup_free_ char *abs_root = NULL;

	memcpy(orig, argv, (size_t)argc * sizeof(char *));

	if (strcmp(base_name(argv[0]), "husk-vm") == 0)
		ctx.sandbox = "vm";
	r = cli_parse(gopts, ARRAY_SIZE(gopts), argc - 1, rest, true, &npos,
		      &err);
	if (r == 1)
		help = true;
	/* The parser stopped at the command: rest[0] is it, and the words
	 * after it are still in place after the positional slot. */
	if (r == 0 && sandbox) {
		if (strcmp(sandbox, "container") != 0 &&
		    strcmp(sandbox, "vm") != 0)
			husk_err_set(&err, EINVAL,
				     "--sandbox: \"%s\": want container or vm",
				     sandbox);
		else
			ctx.sandbox = sandbox;
	}
	if (r == 0 && ctx.rootless && strcmp(ctx.rootless, "auto") != 0 &&
	    strcmp(ctx.rootless, "true") != 0 &&
	    strcmp(ctx.rootless, "false") != 0)
		husk_err_set(&err, EINVAL,
			     "--rootless: \"%s\": want auto, true or false",
			     ctx.rootless);
	if (r == 0 && err == NULL && *ctx.root == '\0')
		husk_err_set(&err, EINVAL, "--root: must not be empty");
	/* The backend and state.json want absolute paths; runc does the
	 * same with a relative --root. */
	if (r == 0 && err == NULL && ctx.root[0] != '/') {
		char *cwd = getcwd(NULL, 0);
		if (cwd == NULL) {
			husk_err_sys(&err, "getcwd");
		} else {
			abs_root = husk_asprintf("%s/%s", cwd, ctx.root);
			ctx.root = abs_root;
			free(cwd);
		}
	}
	if (err == NULL &&
	    husk_log_open(&ctx.log, log_path, log_format, debug, &err) == 0 &&
	    !help && version) {
		print_version();
		return 0;
	}
	if (err) {
		fprintf(stderr, "husk: %s\n", err->msg);
		husk_log(&ctx.log, HUSK_LOG_ERROR, "%s", err->msg);
		return 1;
	}
	if (help || npos == 0) {
		print_help();
		return 0;
	}
	if (strcmp(rest[0], "help") == 0 || strcmp(rest[0], "h") == 0) {
		if (rest[1])
			husk_cmd_help(rest[1]);
		else
			print_help();
		return 0;
	}
	cmd = find_cmd(rest[0]);
	if (cmd == NULL) {
		husk_err_set(&err, EINVAL,
			     "command %s: no such command (see husk --help)",
			     rest[0]);
	} else {
		int cargc = 0;
		while (rest[1 + cargc])
			cargc++;
		if ((strcmp(cmd->name, "create") == 0 ||
		     strcmp(cmd->name, "run") == 0) &&
		    strcmp(ctx.sandbox, "container") == 0)
			husk_ensure_sealed_exe(orig, &err);
		if (err == NULL) {
			husk_log(&ctx.log, HUSK_LOG_DEBUG, "husk %s: root %s",
				 cmd->name, ctx.root);
			r = cmd->fn(&ctx, cargc, rest + 1, &err);
			if (r >= 0 && err == NULL) {
				husk_log_close(&ctx.log);
				return r;
			}
		}
	}
	if (err == NULL)
		husk_err_set(&err, EIO, "%s failed", rest[0]);
	fprintf(stderr, "husk: %s\n", err->msg);
	husk_log(&ctx.log, HUSK_LOG_ERROR, "%s", err->msg);
	husk_log_close(&ctx.log);
	return 1;
}
