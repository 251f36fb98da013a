/* Flag parsing with urfave/cli's rules, which runc's clients rely on:
 * "-b x", "--bundle x", "--bundle=x", flags after the container id. */
#include "runtime/cli.h"

#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "common/util.h"

static const struct cli_opt *find_opt(const struct cli_opt *opts, size_t nopts,
				      const char *name, size_t len)
{
	for (size_t i = 0; i < nopts; i++) {
		const struct cli_opt *o = &opts[i];
		if ((strlen(o->name) == len &&
		     strncmp(o->name, name, len) == 0) ||
		    (o->alias && strlen(o->alias) == len &&
		     strncmp(o->alias, name, len) == 0))
			return o;
	}
	return NULL;
}

static int parse_bool(const char *v, bool *out)
{
	/* Go's strconv.ParseBool */
	static const char *const t[] = {"1", "t", "T", "true", "TRUE", "True"};
	static const char *const f[] = {"0",	 "f",	  "F",
					"false", "FALSE", "False"};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		if (strcmp(v, t[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(v, f[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int set_opt(const struct cli_opt *o, const char *flag, const char *value,
		   struct husk_err **err)
{
	long long n;

	switch (o->type) {
	case CLI_BOOL:
		if (value == NULL) {
			*(bool *)o->dest = true;
		} else if (parse_bool(value, (bool *)o->dest) < 0) {
			return husk_err_set(
				err, EINVAL,
				"invalid boolean value \"%s\" for flag -%s",
				value, flag);
		}
		return 0;
	case CLI_STRING:
		*(const char **)o->dest = value;
		return 0;
	case CLI_INT:
		if (husk_parse_i64(value, &n) < 0)
			return husk_err_set(err, EINVAL,
					    "invalid value \"%s\" for flag "
					    "-%s: parse error",
					    value, flag);
		*(long long *)o->dest = n;
		return 0;
	case CLI_STRV: {
		struct cli_strv *sv = o->dest;
		sv->v = husk_reallocarray(sv->v, sv->n + 2, sizeof(char *));
		sv->v[sv->n++] = value;
		sv->v[sv->n] = NULL;
		return 0;
	}
	}
	return husk_err_set(err, EINVAL, "flag -%s: bad type", flag);
}

int cli_parse(const struct cli_opt *opts, size_t nopts, int argc, char **argv,
	      bool in_order, int *npos, struct husk_err **err)
{
	_cleanup_free_ char **pos =
		husk_calloc((size_t)argc + 1, sizeof(char *));
	int np = 0, i;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *name, *eq, *value = NULL;
		const struct cli_opt *o;
		size_t len;

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0') {
			pos[np++] = argv[i];
			if (in_order) {
				i++;
				break;
			}
			continue;
		}
		name = a + 1 + (a[1] == '-');
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		if ((len == 1 && name[0] == 'h') ||
		    (len == 4 && strncmp(name, "help", 4) == 0))
			return 1;
		o = find_opt(opts, nopts, name, len);
		if (o == NULL || len == 0)
			return husk_err_set(
				err, EINVAL,
				"flag provided but not defined: -%.*s",
				(int)len, name);
		if (eq) {
			value = eq + 1;
		} else if (o->type != CLI_BOOL) {
			if (i + 1 >= argc)
				return husk_err_set(
					err, EINVAL,
					"flag needs an argument: -%.*s",
					(int)len, name);
			value = argv[++i];
		}
		if (set_opt(o, o->name, value, err) < 0)
			return -1;
	}
	for (; i < argc; i++)
		pos[np++] = argv[i];
	memcpy(argv, pos, (size_t)np * sizeof(char *));
	argv[np] = NULL;
	*npos = np;
	return 0;
}

int cli_nargs(const char *cmd, int npos, int min, int max,
	      struct husk_err **err)
{
	if (npos >= min && npos <= max)
		return 0;
	if (min == max)
		return husk_err_set(err, EINVAL,
				    "\"%s\" requires exactly %d argument(s)",
				    cmd, min);
	if (npos < min)
		return husk_err_set(
			err, EINVAL,
			"\"%s\" requires a minimum of %d argument(s)", cmd,
			min);
	return husk_err_set(err, EINVAL,
			    "\"%s\" requires a maximum of %d argument(s)", cmd,
			    max);
}

static const struct {
	const char *name;
	int sig;
} signal_names[] = {
	{"ABRT", SIGABRT},     {"ALRM", SIGALRM},     {"BUS", SIGBUS},
	{"CHLD", SIGCHLD},     {"CLD", SIGCHLD},      {"CONT", SIGCONT},
	{"FPE", SIGFPE},       {"HUP", SIGHUP},	      {"ILL", SIGILL},
	{"INT", SIGINT},       {"IO", SIGIO},	      {"IOT", SIGIOT},
	{"KILL", SIGKILL},     {"PIPE", SIGPIPE},     {"POLL", SIGPOLL},
	{"PROF", SIGPROF},     {"PWR", SIGPWR},	      {"QUIT", SIGQUIT},
	{"SEGV", SIGSEGV},     {"STKFLT", SIGSTKFLT}, {"STOP", SIGSTOP},
	{"SYS", SIGSYS},       {"TERM", SIGTERM},     {"TRAP", SIGTRAP},
	{"TSTP", SIGTSTP},     {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},
	{"URG", SIGURG},       {"USR1", SIGUSR1},     {"USR2", SIGUSR2},
	{"VTALRM", SIGVTALRM}, {"WINCH", SIGWINCH},   {"XCPU", SIGXCPU},
	{"XFSZ", SIGXFSZ},
};

void cli_forward_sigset(sigset_t *set)
{
	static const int own[] = {SIGKILL, SIGSTOP, SIGSEGV, SIGBUS,  SIGILL,
				  SIGFPE,  SIGTRAP, SIGSYS,  SIGABRT, SIGWINCH};

	sigemptyset(set);
	for (int s = 1; s <= SIGRTMAX; s++) {
		bool skip = s > 31 && s < SIGRTMIN; /* glibc's own */
		for (size_t i = 0; i < ARRAY_SIZE(own); i++)
			skip |= own[i] == s;
		if (!skip)
			sigaddset(set, s);
	}
}

int cli_exit_status(int wstatus)
{
	return WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus)
				    : WEXITSTATUS(wstatus);
}

int husk_parse_signal(const char *s, int *sig, struct husk_err **err)
{
	char up[32];
	const char *name;
	long long n;
	size_t i;

	/* runc: a number as is, else upper-cased with or without "SIG". */
	if (husk_parse_i64(s, &n) == 0) {
		if (n < 1 || n > SIGRTMAX)
			return husk_err_set(err, EINVAL,
					    "unknown signal \"%s\"", s);
		*sig = (int)n;
		return 0;
	}
	if (strlen(s) >= sizeof(up))
		return husk_err_set(err, EINVAL, "unknown signal \"%s\"", s);
	for (i = 0; s[i]; i++)
		up[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
	up[i] = '\0';
	name = husk_str_has_prefix(up, "SIG") ? up + 3 : up;
	for (i = 0; i < ARRAY_SIZE(signal_names); i++) {
		if (strcmp(signal_names[i].name, name) == 0) {
			*sig = signal_names[i].sig;
			return 0;
		}
	}
	/* RTMIN, RTMIN+n, RTMAX, RTMAX-n as kill(1) takes them */
	if (husk_str_has_prefix(name, "RTMIN") ||
	    husk_str_has_prefix(name, "RTMAX")) {
		bool min = name[3] == 'I';
		const char *rest = name + 5;
		long long off = 0;
		int v;
		if (*rest && ((min && *rest != '+') || (!min && *rest != '-')))
			return husk_err_set(err, EINVAL,
					    "unknown signal \"%s\"", s);
		if (*rest && (husk_parse_i64(rest + 1, &off) < 0 || off < 0 ||
			      off > SIGRTMAX - SIGRTMIN))
			return husk_err_set(err, EINVAL,
					    "unknown signal \"%s\"", s);
		v = min ? SIGRTMIN + (int)off : SIGRTMAX - (int)off;
		*sig = v;
		return 0;
	}
	return husk_err_set(err, EINVAL, "unknown signal \"%s\"", s);
}
