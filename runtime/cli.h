/* The husk CLI's internals: the context every command gets, the flag
 * parser (urfave/cli's rules, as runc uses them), and the commands. */
#ifndef HUSK_CLI_H
#define HUSK_CLI_H

#include <stdbool.h>
#include <signal.h>
#include <stddef.h>

#include "common/err.h"
#include "oci/state.h"
#include "runtime/linux/linux.h"
#include "runtime/log.h"

#define HUSK_VERSION	  "0.1.0"
#define HUSK_DEFAULT_ROOT "/run/husk"

struct husk_ctx {
	const char *root;     /* --root */
	struct husk_log log;  /* --log, --log-format, --debug */
	bool systemd_cgroup;  /* --systemd-cgroup */
	const char *sandbox;  /* "container" or "vm": --sandbox, or husk-vm */
	const char *rootless; /* --rootless auto|true|false, as given */
};

/* ---- flags ----------------------------------------------------------------
 */

enum cli_opt_type { CLI_BOOL, CLI_STRING, CLI_INT, CLI_STRV };

/* CLI_STRV's dest: a flag given several times (urfave's StringSlice);
 * each value is appended, v is NULL-terminated; free(v) when done. */
struct cli_strv {
	const char **v;
	size_t n;
};

struct cli_opt {
	const char *name;  /* long name, without dashes */
	const char *alias; /* one-letter alias or NULL */
	enum cli_opt_type type;
	void *dest; /* bool *, const char **, long long *, cli_strv * */
};

/* Parse argv (the words after the command's name). Flags take one or two
 * dashes, "--f value" or "--f=value"; a bool takes "=true|false". Flags may
 * follow positional arguments (urfave reorders them) unless in_order;
 * "--" ends the flags. Positional arguments are moved to the front of argv
 * and counted in *npos. Returns 1 for -h/--help, 0, or -1 with urfave's
 * words ("flag provided but not defined: -x"). */
int cli_parse(const struct cli_opt *opts, size_t nopts, int argc, char **argv,
	      bool in_order, int *npos, struct husk_err **err);

/* runc's "\"kill\" requires minimum 1, maximum 2 argument(s)". */
int cli_nargs(const char *cmd, int npos, int min, int max,
	      struct husk_err **err);

/* "TERM", "SIGTERM", "term", "15", "RTMIN+3" -> the number; runc's
 * "unknown signal \"X\"" otherwise. */
int husk_parse_signal(const char *s, int *sig, struct husk_err **err);

/* ---- commands -------------------------------------------------------------
 */

/* A command returns the exit status (>= 0) or -1 with *err set, which main
 * prints as "husk: <msg>" and logs before exiting 1. */
typedef int (*husk_cmd_fn)(struct husk_ctx *ctx, int argc, char **argv,
			   struct husk_err **err);

struct husk_cmd {
	const char *name;
	const char *summary;
	const char *usage;   /* after "husk <name> " */
	const char *details; /* the OPTIONS block and any description */
	husk_cmd_fn fn;
};

extern const struct husk_cmd cmd_create, cmd_start, cmd_run, cmd_state,
	cmd_list, cmd_kill, cmd_delete, cmd_spec, cmd_features, cmd_exec;

extern const struct husk_cmd cmd_update, cmd_pause, cmd_resume, cmd_ps,
	cmd_events;

/* `husk help CMD` / `husk CMD --help`. */
void husk_cmd_help(const char *name);

/* Commands runc has that a later issue implements: they fail, loudly. */
int cmd_unsupported(struct husk_ctx *ctx, int argc, char **argv,
		    struct husk_err **err);

/* ---- create, shared by `create` and `run` ------------------------------- */

struct create_args {
	const char *bundle;
	const char *pid_file;
	const char *console_socket;
	bool no_pivot;
	bool no_new_keyring;
	long long preserve_fds;
	/* console_socket is `run`'s own, for relaying the pty: runc's
	 * rules on --console-socket (checkTerminal) do not apply. */
	bool console_internal;
};

/* The flags `create` and `run` share. */
#define CREATE_OPTS(a)                                                     \
	{"bundle", "b", CLI_STRING, &(a).bundle},                          \
		{"pid-file", NULL, CLI_STRING, &(a).pid_file},             \
		{"console-socket", NULL, CLI_STRING, &(a).console_socket}, \
		{"no-pivot", NULL, CLI_BOOL, &(a).no_pivot},               \
		{"no-new-keyring", NULL, CLI_BOOL, &(a).no_new_keyring},   \
	{                                                                  \
		"preserve-fds", NULL, CLI_INT, &(a).preserve_fds           \
	}

/* Create container id from a bundle: on success the state directory is
 * written with status "created", the lock is still held in *d, and *st and
 * *c describe the container (the init is our child). On failure nothing is
 * left behind. */
int husk_create(struct husk_ctx *ctx, const char *id,
		const struct create_args *a, struct oci_state_dir *d,
		struct oci_state **st, struct linux_container *c,
		struct husk_err **err);

/* Release a created container's init; the lock of d must be held. */
int husk_start(struct husk_ctx *ctx, struct oci_state_dir *d,
	       struct oci_state *st, struct husk_err **err);

/* Kill and remove whatever is left of a container and its state
 * directory; the lock of d must be held. */
int husk_destroy(struct husk_ctx *ctx, struct oci_state_dir *d,
		 const struct oci_state *st, struct husk_err **err);

/* poststart and poststop (cli_hooks.c). create keeps a copy of config.json
 * in the state directory when it has such hooks (save); load gives NULL
 * when there is none. poststart failing kills the container; poststop
 * failures are only logged as warnings. */
int husk_hooks_save(const struct oci_spec *spec, const char *bundle,
		    const struct oci_state_dir *d, struct husk_err **err);
int husk_hooks_load(const struct oci_state_dir *d, struct oci_spec **spec,
		    struct husk_err **err);
int husk_hooks_poststart(struct husk_ctx *ctx, const struct oci_spec *spec,
			 const struct oci_state *st, struct husk_err **err);
void husk_hooks_poststop(struct husk_ctx *ctx, const struct oci_spec *spec,
			 const struct oci_state *st);

/* The backend's view of a recorded container (borrowing st's strings). */
void husk_state_to_container(const struct oci_state *st,
			     struct linux_container *c);

/* ---- terminals (console.c) ---------------------------------------------- */

/* runc's checkTerminal for a detached process (create, run -d, exec -d);
 * internal: the socket is husk's own (see husk_console_listen). */
int husk_check_terminal(bool terminal, const char *console_socket,
			bool internal, struct husk_err **err);

/* A console socket of husk's own, in a fresh 0700 directory under /tmp,
 * for relaying a pty to the caller's terminal. */
struct husk_console {
	int fd; /* listening, non-blocking */
	char *dir, *path;
};
int husk_console_listen(struct husk_console *hc, struct husk_err **err);
/* The master sent over a connection already made (*master -1 if nobody
 * connected: the process has no terminal). */
int husk_console_recv(struct husk_console *hc, int *master,
		      struct husk_err **err);
void husk_console_close(struct husk_console *hc);

/* ---- CVE-2019-5736 ------------------------------------------------------ */

/* Re-execute husk from a sealed memfd copy of itself unless it already
 * runs from one (see runtime/sealed_exe.c for why). Returns only on
 * failure, or with 0 when already sealed. */
int husk_ensure_sealed_exe(char **argv, struct husk_err **err);

/* true if /proc/self/exe is a memfd with the seals husk sets. */
bool husk_exe_is_sealed(void);

/* The signals `run` and `exec` forward to their process, as runc does:
 * everything a supervisor may send, not the faults that concern husk
 * itself, glibc's reserved ones, SIGCHLD (husk's own) or SIGWINCH (the
 * terminal relay's). */
void cli_forward_sigset(sigset_t *set);

/* A waitpid() status as a shell reports it: the exit code, or 128+N for
 * signal N. */
int cli_exit_status(int wstatus);

#endif
