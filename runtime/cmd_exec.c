/* husk exec: run a new process in a container, from runc's process.json
 * (--process) or from the container's own process with the command line's
 * changes (runc's getProcess in exec.go); wait for it, or --detach. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/cli.h"
#include "runtime/linux/terminal.h"
#include "runtime/vm.h"

struct exec_args {
	const char *process, *console_socket, *cwd, *user, *pid_file;
	const char *process_label, *apparmor;
	struct cli_strv env, caps, gids;
	bool tty, detach, no_new_privs, ignore_paused;
	long long preserve_fds;
};

/* What the process is built from and of: freed together. */
struct exec_proc {
	struct oci_spec *spec; /* the container's config.json, or NULL */
	struct oci_spec *doc;  /* --process wrapped as a spec, or NULL */
	struct oci_process p;  /* shallow copy; the arrays below are ours */
	struct oci_caps caps;
	char **env;
	uint32_t *gids;
	const char **capv[4];
};

static void exec_proc_free(struct exec_proc *e)
{
	if (e->spec)
		oci_spec_free(e->spec);
	if (e->doc)
		oci_spec_free(e->doc);
	free(e->env);
	free(e->gids);
	for (size_t i = 0; i < ARRAY_SIZE(e->capv); i++)
		free(e->capv[i]);
}

#define PROCESS_MAX (1u << 20)

/* runc's process.json is a bare Process object: parsed and validated with
 * the spec's own rules (the JSON paths in errors start with "process."). */
static int load_process_file(const char *path, struct exec_proc *e,
			     struct husk_err **err)
{
	_cleanup_free_ char *text = NULL, *doc = NULL;
	size_t len;

	if (husk_read_file_at(AT_FDCWD, path, PROCESS_MAX, &text, &len, err) <
	    0)
		return husk_err_prefix(err, "--process");
	if (memchr(text, '\0', len))
		return husk_err_set(err, EINVAL, "--process %s: not JSON", path);
	doc = husk_asprintf("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":"
			    "\"/\"},\"process\":\n%s\n}",
			    text);
	if (oci_spec_parse(doc, strlen(doc), &e->doc, err) < 0 ||
	    oci_spec_validate(e->doc, err) < 0)
		return husk_err_prefix(err, "--process %s", path);
	e->p = *e->doc->process;
	return 0;
}

static bool env_same_name(const char *a, const char *b)
{
	size_t n = strcspn(a, "=");

	return strncmp(a, b, n) == 0 && (b[n] == '=' || b[n] == '\0');
}

/* --env: appended; a name already there is replaced (glibc's getenv
 * returns the first definition, and the caller means the new one). */
static void apply_env(struct exec_proc *e, const struct cli_strv *add)
{
	size_t n = e->p.env.n;

	e->env = husk_calloc(n + add->n + 1, sizeof(char *));
	if (n)
		memcpy(e->env, e->p.env.v, n * sizeof(char *));
	for (size_t i = 0; i < add->n; i++) {
		size_t k;
		for (k = 0; k < n; k++)
			if (env_same_name(add->v[i], e->env[k]))
				break;
		e->env[k] = (char *)add->v[i];
		if (k == n)
			n++;
	}
	e->env[n] = NULL;
	e->p.env.v = e->env;
	e->p.env.n = n;
}

static int parse_id(const char *s, const char *flag, uint32_t *out,
		    struct husk_err **err)
{
	long long v;

	if (husk_parse_i64(s, &v) < 0 || v < 0 || v > 0xfffffffeLL)
		return husk_err_set(err, EINVAL, "%s: \"%s\": invalid id", flag,
				    s);
	*out = (uint32_t)v;
	return 0;
}

/* --user uid[:gid] (numbers: runc resolves no names either). */
static int apply_user(struct exec_proc *e, const struct exec_args *a,
		      struct husk_err **err)
{
	size_t n = e->p.user.n_additional_gids;

	if (a->user) {
		_cleanup_free_ char *u = husk_strdup(a->user);
		char *g = strchr(u, ':');
		if (g)
			*g++ = '\0';
		if (parse_id(u, "--user", &e->p.user.uid, err) < 0 ||
		    (g && parse_id(g, "--user", &e->p.user.gid, err) < 0))
			return -1;
	}
	if (a->gids.n == 0)
		return 0;
	e->gids = husk_calloc(n + a->gids.n, sizeof(uint32_t));
	if (n)
		memcpy(e->gids, e->p.user.additional_gids,
		       n * sizeof(uint32_t));
	for (size_t i = 0; i < a->gids.n; i++)
		if (parse_id(a->gids.v[i], "--additional-gids", &e->gids[n++],
			     err) < 0)
			return -1;
	e->p.user.additional_gids = e->gids;
	e->p.user.n_additional_gids = n;
	return 0;
}

static void strv_append(const struct oci_strv *base, const struct cli_strv *add,
			const char ***store, struct oci_strv *out)
{
	const char **v = husk_calloc(base->n + add->n + 1, sizeof(char *));

	if (base->n)
		memcpy(v, base->v, base->n * sizeof(char *));
	memcpy(v + base->n, add->v, add->n * sizeof(char *));
	*store = v;
	out->v = (char **)v;
	out->n = base->n + add->n;
}

/* runc exec --cap: bounding, effective and permitted; ambient too when
 * there are inheritable capabilities (ambient needs them). */
static void apply_caps(struct exec_proc *e, const struct cli_strv *add)
{
	static const struct oci_caps none;
	const struct oci_caps *c = e->p.capabilities ? e->p.capabilities : &none;

	if (add->n == 0)
		return;
	e->caps = *c;
	strv_append(&c->bounding, add, &e->capv[0], &e->caps.bounding);
	strv_append(&c->effective, add, &e->capv[1], &e->caps.effective);
	strv_append(&c->permitted, add, &e->capv[2], &e->caps.permitted);
	if (c->inheritable.n)
		strv_append(&c->ambient, add, &e->capv[3], &e->caps.ambient);
	e->p.capabilities = &e->caps;
}

static int build_process(const struct oci_state *st, const struct exec_args *a,
			 char **cmd, int ncmd, struct exec_proc *e,
			 struct husk_err **err)
{
	struct husk_err *spec_err = NULL;

	/* The container's config: the base of a command-line process. */
	if (oci_spec_load(st->bundle, &e->spec, &spec_err) == 0 &&
	    oci_spec_validate(e->spec, &spec_err) < 0)
		husk_err_prefix(&spec_err, "config.json");
	if (a->process) {
		husk_err_free(&spec_err);
		return load_process_file(a->process, e, err);
	}
	if (spec_err) {
		*err = spec_err;
		return -1;
	}
	if (ncmd == 0)
		return husk_err_set(err, EINVAL, "process args cannot be empty");
	e->p = *e->spec->process;
	e->p.args.v = cmd;
	e->p.args.n = (size_t)ncmd;
	e->p.terminal = a->tty;
	if (a->cwd) {
		if (a->cwd[0] != '/')
			return husk_err_set(err, EINVAL,
					    "--cwd: \"%s\": must be an absolute "
					    "path",
					    a->cwd);
		e->p.cwd = (char *)a->cwd;
	}
	apply_env(e, &a->env);
	if (apply_user(e, a, err) < 0)
		return -1;
	apply_caps(e, &a->caps);
	if (a->no_new_privs)
		e->p.no_new_privileges = true;
	return 0;
}

static int wait_process(pid_t pid, int sfd, struct husk_err **err)
{
	struct signalfd_siginfo si;

	for (;;) {
		int status;
		pid_t w = waitpid(pid, &status, WNOHANG);
		ssize_t n;

		if (w == pid)
			return cli_exit_status(status);
		if (w < 0 && errno != EINTR)
			return husk_err_sys(err, "wait for pid %d", (int)pid);
		n = read(sfd, &si, sizeof(si));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si))
			return husk_err_sys(err, "read signalfd");
		/* pid is our unreaped child: it cannot be another process. */
		if (si.ssi_signo != SIGCHLD)
			kill(pid, (int)si.ssi_signo);
	}
}

static int check_status(const struct oci_state *st, enum oci_status s,
			bool ignore_paused, struct husk_err **err)
{
	if (s == OCI_STATUS_STOPPED)
		return husk_err_set(err, EINVAL,
				    "cannot exec in a stopped container");
	if (s == OCI_STATUS_PAUSED && !ignore_paused)
		return husk_err_set(err, EINVAL,
				    "cannot exec in a paused container (use "
				    "--ignore-paused to override)");
	if (strcmp(st->sandbox ? st->sandbox : "container", "container") != 0)
		return husk_err_set(err, ENOSYS,
				    "exec: sandbox \"%s\": not available yet",
				    st->sandbox);
	return 0;
}

static int exec_run(struct husk_ctx *ctx, struct exec_args *a, char **argv,
		    int npos, struct husk_err **err)
{
	struct oci_state_dir d = OCI_STATE_DIR_INIT;
	struct oci_state *st = NULL;
	struct exec_proc e = {0};
	struct linux_container c;
	struct linux_exec_opts o = {0};
	_cleanup_close_ int sfd = -1, master = -1;
	struct oci_console_size size;
	struct winsize ws;
	sigset_t set, old;
	pid_t pid = -1;
	int r = -1;

	if (oci_state_dir_open(ctx->root, argv[0], false, &d, &st, err) < 0)
		return -1;
	/* The recorded pid is the stand-in's: joining its namespaces would
	 * run the process on the host, not in the VM. */
	if (husk_state_is_vm(st)) {
		husk_err_set(err, ENOTSUP,
			     "exec: not supported in the vm sandbox yet");
		goto out;
	}
	if (check_status(st, oci_state_status(st, d.dirfd), a->ignore_paused,
			 err) < 0 ||
	    build_process(st, a, argv + 1, npos - 1, &e, err) < 0)
		goto out;
	/* runc's checkTerminal; attached, a tty is relayed by husk. */
	if (a->detach && husk_check_terminal(e.p.terminal, a->console_socket,
					     false, err) < 0)
		goto out;
	if (!a->detach && a->console_socket) {
		husk_err_set(err, EINVAL,
			     "cannot use console socket if husk will not "
			     "detach or allocate tty");
		goto out;
	}
	/* Attached to a terminal: the process starts with the caller's
	 * window size (the relay only follows later changes). */
	if (!a->detach && e.p.terminal && isatty(0) &&
	    ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
		size.height = ws.ws_row;
		size.width = ws.ws_col;
		e.p.console_size = &size;
	}
	husk_state_to_container(st, &c);
	o.process = &e.p;
	o.spec = e.spec;
	o.console_socket = a->console_socket;
	o.preserve_fds = (int)a->preserve_fds;
	/* Not held while the process runs: kill and delete must work. The
	 * backend pins the init through a pidfd. */
	oci_state_dir_close(&d);
	if (!a->detach) {
		/* Before the fork, so none is missed; the child clears its
		 * mask before execve. */
		cli_forward_sigset(&set);
		sigaddset(&set, SIGCHLD);
		sigprocmask(SIG_BLOCK, &set, &old);
		sfd = signalfd(-1, &set, SFD_CLOEXEC);
		if (sfd < 0) {
			husk_err_sys(err, "signalfd");
			goto out;
		}
	}
	husk_log(&ctx->log, HUSK_LOG_DEBUG, "exec %s: %s", st->id,
		 e.p.args.v[0]);
	if (linux_container_exec(&c, &o, &pid, a->detach ? NULL : &master,
				 err) < 0)
		goto out;
	if (a->detach) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
		/* runc writes the bare number through a rename: the shim may
		 * read it at any time. */
		if (a->pid_file && husk_write_file_atomic(a->pid_file, buf,
							  (size_t)n, 0644,
							  err) < 0) {
			husk_err_prefix(err, "pid file");
			kill(pid, SIGKILL);
			goto out;
		}
		r = 0;
		goto out;
	}
	if (a->pid_file) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
		if (husk_write_file_atomic(a->pid_file, buf, (size_t)n, 0644,
					   err) < 0) {
			husk_err_prefix(err, "pid file");
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			goto out;
		}
	}
	if (master >= 0) {
		_cleanup_err_ struct husk_err *e2 = NULL;
		if (linux_terminal_relay(master, 0, 1, pid, &e2) < 0) {
			husk_log(&ctx->log, HUSK_LOG_WARN, "exec: relay: %s",
				 e2->msg);
			kill(pid, SIGKILL);
		}
	}
	r = wait_process(pid, sfd, err);
out:
	oci_state_dir_close(&d);
	oci_state_free(st);
	exec_proc_free(&e);
	return r;
}

static int exec_main(struct husk_ctx *ctx, int argc, char **argv,
		     struct husk_err **err)
{
	struct exec_args a = {0};
	const struct cli_opt opts[] = {
		{"process", "p", CLI_STRING, &a.process},
		{"console-socket", NULL, CLI_STRING, &a.console_socket},
		{"cwd", NULL, CLI_STRING, &a.cwd},
		{"env", "e", CLI_STRV, &a.env},
		{"tty", "t", CLI_BOOL, &a.tty},
		{"user", "u", CLI_STRING, &a.user},
		{"additional-gids", "g", CLI_STRV, &a.gids},
		{"detach", "d", CLI_BOOL, &a.detach},
		{"pid-file", NULL, CLI_STRING, &a.pid_file},
		{"process-label", NULL, CLI_STRING, &a.process_label},
		{"apparmor", NULL, CLI_STRING, &a.apparmor},
		{"no-new-privs", NULL, CLI_BOOL, &a.no_new_privs},
		{"cap", "c", CLI_STRV, &a.caps},
		{"preserve-fds", NULL, CLI_INT, &a.preserve_fds},
		{"ignore-paused", NULL, CLI_BOOL, &a.ignore_paused},
	};
	int npos, r;

	/* runc: the words after the container id are the command's own. */
	r = cli_parse(opts, ARRAY_SIZE(opts), argc, argv, true, &npos, err);
	if (r != 0) {
		if (r == 1)
			husk_cmd_help("exec");
		r = r == 1 ? 0 : -1;
		goto out;
	}
	r = -1;
	if (cli_nargs("exec", npos, 1, argc, err) < 0)
		goto out;
	if (a.process_label && a.process_label[0]) {
		husk_err_set(err, ENOTSUP,
			     "--process-label: not supported yet (no SELinux "
			     "support)");
		goto out;
	}
	if (a.apparmor && a.apparmor[0]) {
		husk_err_set(err, ENOTSUP,
			     "--apparmor: not supported yet (no AppArmor "
			     "support)");
		goto out;
	}
	if (a.preserve_fds < 0 || a.preserve_fds > 65536) {
		husk_err_set(err, EINVAL, "--preserve-fds: %lld: out of range",
			     a.preserve_fds);
		goto out;
	}
	r = exec_run(ctx, &a, argv, npos, err);
out:
	free(a.env.v);
	free(a.caps.v);
	free(a.gids.v);
	return r;
}

const struct husk_cmd cmd_exec = {
	"exec",
	"execute new process inside the container",
	"[command options] <container-id> <command> [command options]  || -p "
	"process.json <container-id>",
	"EXAMPLE:\n"
	"   husk exec -t ubuntu01 sh\n\n"
	"OPTIONS:\n"
	"   --console-socket value       path to an AF_UNIX socket which will "
	"receive a file descriptor referencing the master end of the console's "
	"pseudoterminal\n"
	"   --cwd value                  current working directory in the "
	"container\n"
	"   --env value, -e value        set environment variables\n"
	"   --tty, -t                    allocate a pseudo-TTY\n"
	"   --user value, -u value       UID (format: <uid>[:<gid>])\n"
	"   --additional-gids value, -g value  additional gids\n"
	"   --process value, -p value    path to the process.json\n"
	"   --detach, -d                 detach from the container's process\n"
	"   --pid-file value             specify the file to write the process "
	"id to\n"
	"   --process-label value        set the asm process label for the "
	"process commonly used with selinux (not supported yet)\n"
	"   --apparmor value             set the apparmor profile for the "
	"process (not supported yet)\n"
	"   --no-new-privs               set the no new privileges value for "
	"the process\n"
	"   --cap value, -c value        add a capability to the bounding set "
	"for the process\n"
	"   --preserve-fds value         Pass N additional file descriptors to "
	"the container (stdio + $LISTEN_FDS + N in total) (default: 0)\n"
	"   --ignore-paused              allow exec in a paused container\n",
	exec_main,
};
