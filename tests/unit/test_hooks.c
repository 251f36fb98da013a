/* runtime/linux/hooks: args, env, state on stdin, exit status, signals,
 * timeouts, exec failures, EPIPE and fd hygiene, with this test program
 * re-executed as the hook (HUSK_TEST_HOOK selects what it does). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "common/util.h"
#include "runtime/linux/hooks.h"
#include "unit.h"

extern char **environ;

/* ---- the hook side ------------------------------------------------------- */

static int write_out(const char *text)
{
	const char *path = getenv("HOOK_OUT");
	int fd;

	if (!path)
		return 2;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || husk_write_all(fd, text, strlen(text)) < 0)
		return 2;
	close(fd);
	return 0;
}

static int hook_main(const char *mode, int argc, char **argv)
{
	char buf[1 << 16];
	size_t o = 0;

	if (strcmp(mode, "env") == 0) {
		for (char **e = environ; *e; e++)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s\n",
					      *e);
		return write_out(buf);
	}
	if (strcmp(mode, "args") == 0) {
		for (int i = 0; i < argc; i++)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "[%s]",
					      argv[i]);
		return write_out(buf);
	}
	if (strcmp(mode, "stdin") == 0) {
		_cleanup_free_ char *all = NULL;
		size_t len = 0;
		struct husk_err *e = NULL;

		if (husk_read_file_at(AT_FDCWD, "/dev/stdin", 16u << 20, &all,
				      &len, &e) < 0)
			return 2;
		return write_out(all);
	}
	if (strcmp(mode, "fds") == 0) {
		DIR *d = opendir("/proc/self/fd");
		struct dirent *de;

		if (!d)
			return 2;
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.' ||
			    atoi(de->d_name) == dirfd(d))
				continue;
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s ",
					      de->d_name);
		}
		closedir(d);
		return write_out(buf);
	}
	if (strcmp(mode, "signals") == 0) {
		_cleanup_free_ char *st = NULL;
		struct husk_err *e = NULL;
		char *ign, *blk;

		if (husk_read_file_at(AT_FDCWD, "/proc/self/status", 1 << 16,
				      &st, NULL, &e) < 0)
			return 2;
		ign = strstr(st, "SigIgn:");
		blk = strstr(st, "SigBlk:");
		if (!ign || !blk)
			return 2;
		snprintf(buf, sizeof(buf), "%.24s %.24s", blk, ign);
		return write_out(buf);
	}
	if (strcmp(mode, "fail") == 0) {
		const char msg[] = "boom \"x\"\nsecond line\n";
		if (write(2, msg, sizeof(msg) - 1) < 0)
			return 2;
		return 3;
	}
	if (strcmp(mode, "close-stdin") == 0) {
		struct timespec ts = {0, 200 * 1000 * 1000};
		close(0);
		nanosleep(&ts, NULL);
		return 0;
	}
	return 2;
}

/* ---- helpers ------------------------------------------------------------- */

static char self[4096];
static char tmpdir[] = "/tmp/husk-test-hooks.XXXXXX";

struct hook_spec {
	const char *path;
	const char *args[8];
	const char *env[8];
	long long timeout; /* 0: none */
};

/* Build an oci_hook from a spec; the strings point into spec (static). */
static void hook_fill(struct oci_hook *h, const struct hook_spec *s)
{
	memset(h, 0, sizeof(*h));
	h->path = (char *)s->path;
	h->args.v = (char **)s->args;
	while (s->args[h->args.n])
		h->args.n++;
	h->env.v = (char **)s->env;
	while (s->env[h->env.n])
		h->env.n++;
	if (s->timeout) {
		h->timeout.set = true;
		h->timeout.v = s->timeout;
	}
}

static int run1(const struct hook_spec *s, const char *kind, const char *state,
		struct husk_err **err)
{
	struct oci_hook h;
	struct oci_hook_list l = {&h, 1};

	hook_fill(&h, s);
	return linux_hooks_run(&l, kind, state, err);
}

static char *out_path(const char *name)
{
	return husk_asprintf("%s/%s", tmpdir, name);
}

static char *slurp(const char *path)
{
	char *s = NULL;
	size_t len;
	struct husk_err *e = NULL;

	if (husk_read_file_at(AT_FDCWD, path, 16u << 20, &s, &len, &e) < 0) {
		husk_err_free(&e);
		return NULL;
	}
	return s;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- tests --------------------------------------------------------------- */

TEST(success_and_empty_list)
{
	_cleanup_err_ struct husk_err *err = NULL;
	struct hook_spec t = {"/bin/true", {NULL}, {NULL}, 0};
	struct oci_hook_list empty = {NULL, 0};

	CHECK(run1(&t, "prestart", "{}", &err) == 0 && err == NULL);
	CHECK(linux_hooks_run(&empty, "prestart", "{}", &err) == 0);
	CHECK(linux_hooks_run(NULL, "prestart", "{}", &err) == 0);
}

TEST(env_exactly_as_given)
{
	_cleanup_err_ struct husk_err *err = NULL;
	_cleanup_free_ char *out = out_path("env");
	_cleanup_free_ char *outv = husk_asprintf("HOOK_OUT=%s", out);
	_cleanup_free_ char *got = NULL, *want = NULL;
	struct hook_spec t = {self,
			      {NULL},
			      {"HUSK_TEST_HOOK=env", outv, "A=1", "B=two words",
			       "EMPTY=", NULL},
			      0};

	setenv("LEAK_CHECK", "must-not-appear", 1);
	CHECK(run1(&t, "createRuntime", "{}", &err) == 0);
	unsetenv("LEAK_CHECK");
	got = slurp(out);
	want = husk_asprintf("HUSK_TEST_HOOK=env\n%s\nA=1\nB=two words\n"
			     "EMPTY=\n",
			     outv);
	CHECK_STR(got, want);
}

TEST(args_as_given_and_default)
{
	_cleanup_err_ struct husk_err *err = NULL;
	_cleanup_free_ char *out = out_path("args");
	_cleanup_free_ char *outv = husk_asprintf("HOOK_OUT=%s", out);
	_cleanup_free_ char *got = NULL, *got2 = NULL, *want2 = NULL;
	struct hook_spec t = {self,
			      {"custom-argv0", "one", "two words", "", NULL},
			      {"HUSK_TEST_HOOK=args", outv, NULL},
			      0};
	struct hook_spec d = {
		self, {NULL}, {"HUSK_TEST_HOOK=args", outv, NULL}, 0};

	CHECK(run1(&t, "prestart", "{}", &err) == 0);
	got = slurp(out);
	CHECK_STR(got, "[custom-argv0][one][two words][]");
	/* No args: argv is {path}, as runc (Go's exec.Cmd) does. */
	CHECK(run1(&d, "prestart", "{}", &err) == 0);
	got2 = slurp(out);
	want2 = husk_asprintf("[%s]", self);
	CHECK_STR(got2, want2);
}

static bool json_str_is(yajl_val root, const char *key, const char *want)
{
	const char *path[] = {key, NULL};
	yajl_val v = yajl_tree_get(root, path, yajl_t_string);

	return v && YAJL_IS_STRING(v) && strcmp(v->u.string, want) == 0;
}

TEST(state_on_stdin)
{
	_cleanup_err_ struct husk_err *err = NULL;
	_cleanup_free_ char *out = out_path("stdin");
	_cleanup_free_ char *outv = husk_asprintf("HOOK_OUT=%s", out);
	_cleanup_free_ char *state = NULL, *got = NULL;
	struct oci_kv ann[] = {{"com.example.k", "v \"q\""},
			       {"run.husk.sandbox", "container"}};
	struct hook_spec t = {
		self, {NULL}, {"HUSK_TEST_HOOK=stdin", outv, NULL}, 0};
	const char *pidp[] = {"pid", NULL};
	const char *annp[] = {"annotations", "com.example.k", NULL};
	char ebuf[256];
	yajl_val root, v;

	state = linux_hooks_state_json("1.2.0", "c1", "creating", 4242,
				       "/run/bundle", ann, 2);
	CHECK(run1(&t, "createRuntime", state, &err) == 0);
	got = slurp(out);
	CHECK_STR(got, state);
	root = yajl_tree_parse(got, ebuf, sizeof(ebuf));
	CHECK(root != NULL);
	v = yajl_tree_get(root, pidp, yajl_t_number);
	bool ok = json_str_is(root, "ociVersion", "1.2.0") &&
		  json_str_is(root, "id", "c1") &&
		  json_str_is(root, "status", "creating") &&
		  json_str_is(root, "bundle", "/run/bundle") && v &&
		  YAJL_GET_INTEGER(v) == 4242;
	v = yajl_tree_get(root, annp, yajl_t_string);
	ok = ok && v && strcmp(v->u.string, "v \"q\"") == 0;
	yajl_tree_free(root);
	CHECK(ok);
}

TEST(large_state_on_stdin)
{
	/* More than a pipe holds: the write must interleave with the hook
	 * reading, not block before it starts. */
	_cleanup_err_ struct husk_err *err = NULL;
	_cleanup_free_ char *out = out_path("big");
	_cleanup_free_ char *outv = husk_asprintf("HOOK_OUT=%s", out);
	_cleanup_free_ char *big = husk_calloc(1, 300001), *got = NULL;
	struct hook_spec t = {
		self, {NULL}, {"HUSK_TEST_HOOK=stdin", outv, NULL}, 5};

	memset(big, 'x', 300000);
	CHECK(run1(&t, "prestart", big, &err) == 0);
	got = slurp(out);
	CHECK(got && strlen(got) == 300000 && strcmp(got, big) == 0);
}

TEST(state_json_layout)
{
	_cleanup_free_ char *a = NULL, *b = NULL;
	struct oci_kv ann[] = {{"k", "v"}};

	a = linux_hooks_state_json("1.0.2", "id1", "stopped", 0, "/b", NULL, 0);
	CHECK_STR(a, "{\"ociVersion\":\"1.0.2\",\"id\":\"id1\","
		     "\"status\":\"stopped\",\"bundle\":\"/b\"}");
	b = linux_hooks_state_json("1.0.2", "id1", "running", 7, "/b\n", ann,
				   1);
	CHECK_STR(b, "{\"ociVersion\":\"1.0.2\",\"id\":\"id1\","
		     "\"status\":\"running\",\"pid\":7,\"bundle\":\"/b\\n\","
		     "\"annotations\":{\"k\":\"v\"}}");
}

TEST(exit_status_message)
{
	_cleanup_err_ struct husk_err *err = NULL, *err2 = NULL;
	_cleanup_free_ char *want = NULL;
	struct oci_hook h[2];
	struct oci_hook_list l = {h, 2};
	struct hook_spec ok = {"/bin/true", {NULL}, {NULL}, 0};
	struct hook_spec bad = {self, {NULL}, {"HUSK_TEST_HOOK=fail", NULL}, 0};
	struct hook_spec f = {"/bin/false", {"false", NULL}, {NULL}, 0};

	hook_fill(&h[0], &ok);
	hook_fill(&h[1], &bad);
	CHECK(linux_hooks_run(&l, "prestart", "{}", &err) < 0 && err);
	want = husk_asprintf("prestart hook[1] %s: exit status 3 (stderr: "
			     "\"boom \\\"x\\\"\\nsecond line\")",
			     self);
	CHECK_STR(err->msg, want);
	CHECK(run1(&f, "poststart", "{}", &err2) < 0 && err2);
	CHECK_STR(err2->msg, "poststart hook[0] /bin/false: exit status 1");
}

TEST(first_failure_stops_the_list)
{
	_cleanup_err_ struct husk_err *err = NULL;
	_cleanup_free_ char *out = out_path("never");
	_cleanup_free_ char *outv = husk_asprintf("HOOK_OUT=%s", out);
	struct oci_hook h[2];
	struct oci_hook_list l = {h, 2};
	struct hook_spec f = {"/bin/false", {NULL}, {NULL}, 0};
	struct hook_spec w = {
		self, {NULL}, {"HUSK_TEST_HOOK=args", outv, NULL}, 0};

	hook_fill(&h[0], &f);
	hook_fill(&h[1], &w);
	CHECK(linux_hooks_run(&l, "createContainer", "{}", &err) < 0);
	CHECK(access(out, F_OK) < 0 && errno == ENOENT);
}

TEST(run_all_keeps_going)
{
	_cleanup_err_ struct husk_err *err = NULL;
	_cleanup_free_ char *out = out_path("after");
	_cleanup_free_ char *outv = husk_asprintf("HOOK_OUT=%s", out);
	struct oci_hook h[3];
	struct oci_hook_list l = {h, 3};
	struct hook_spec f = {"/bin/false", {NULL}, {NULL}, 0};
	struct hook_spec m = {"/nonexistent/x", {NULL}, {NULL}, 0};
	struct hook_spec w = {
		self, {NULL}, {"HUSK_TEST_HOOK=args", outv, NULL}, 0};

	hook_fill(&h[0], &f);
	hook_fill(&h[1], &m);
	hook_fill(&h[2], &w);
	CHECK(linux_hooks_run_all(&l, "poststop", "{}", &err) < 0 && err);
	CHECK_STR(err->msg,
		  "poststop hook[0] /bin/false: exit status 1; "
		  "poststop hook[1] /nonexistent/x: exec: No such file or "
		  "directory");
	CHECK(access(out, F_OK) == 0);
}

TEST(killed_by_signal)
{
	_cleanup_err_ struct husk_err *err = NULL;
	struct hook_spec t = {
		"/bin/sh", {"sh", "-c", "kill -TERM $$", NULL}, {NULL}, 0};

	CHECK(run1(&t, "startContainer", "{}", &err) < 0 && err);
	CHECK_STR(err->msg,
		  "startContainer hook[0] /bin/sh: killed by signal 15");
}

TEST(timeout_kills)
{
	_cleanup_err_ struct husk_err *err = NULL;
	struct hook_spec t = {"/bin/sleep", {"sleep", "100", NULL}, {NULL}, 1};
	double t0 = now_s(), dt;

	CHECK(run1(&t, "poststart", "{}", &err) < 0 && err);
	dt = now_s() - t0;
	CHECK_STR(err->msg, "poststart hook[0] /bin/sleep: timed out after 1s");
	CHECK(err->errnum == ETIMEDOUT);
	CHECK(dt >= 0.95 && dt < 2.0);
}

TEST(timeout_kills_its_children)
{
	/* sh waits for its sleep: killing only sh would leave the sleep
	 * holding the output pipe; the whole group goes. */
	_cleanup_err_ struct husk_err *err = NULL;
	_cleanup_free_ char *pidf = out_path("grandchild");
	_cleanup_free_ char *script =
		husk_asprintf("sleep 100 & echo $! > %s; wait", pidf);
	_cleanup_free_ char *pid = NULL;
	struct hook_spec t = {"/bin/sh", {"sh", "-c", script, NULL}, {NULL}, 1};
	double t0 = now_s();

	CHECK(run1(&t, "prestart", "{}", &err) < 0 && err);
	CHECK(now_s() - t0 < 2.0);
	pid = slurp(pidf);
	CHECK(pid != NULL && atoi(pid) > 0);
	/* Killed; it may linger as a zombie of init for a moment. */
	for (int i = 0; i < 100; i++) {
		char st = 0;
		unsigned long long start;
		if (husk_proc_stat(atoi(pid), &start, &st) < 0 || st == 'Z')
			return;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	CHECK(!"grandchild still running");
}

TEST(leftover_child_does_not_block)
{
	/* A hook that leaves a child holding its stdout is done when it
	 * exits: runc would wait for EOF here; we do not. */
	_cleanup_err_ struct husk_err *err = NULL;
	struct hook_spec t = {
		"/bin/sh", {"sh", "-c", "sleep 2 & exit 0", NULL}, {NULL}, 0};
	double t0 = now_s();

	CHECK(run1(&t, "poststart", "{}", &err) == 0);
	CHECK(now_s() - t0 < 1.5);
}

TEST(missing_path)
{
	_cleanup_err_ struct husk_err *err = NULL, *err2 = NULL;
	struct hook_spec t = {"/nonexistent/hook", {NULL}, {NULL}, 0};
	struct hook_spec d = {"/tmp", {NULL}, {NULL}, 0};

	CHECK(run1(&t, "createRuntime", "{}", &err) < 0 && err);
	CHECK_STR(err->msg, "createRuntime hook[0] /nonexistent/hook: exec: "
			    "No such file or directory");
	CHECK(err->errnum == ENOENT);
	CHECK(run1(&d, "createRuntime", "{}", &err2) < 0 && err2);
	CHECK_STR(err2->msg,
		  "createRuntime hook[0] /tmp: exec: Permission denied");
}

TEST(epipe_is_not_a_failure)
{
	_cleanup_err_ struct husk_err *err = NULL, *err2 = NULL;
	_cleanup_free_ char *big = husk_calloc(1, 1 << 20);
	struct hook_spec c = {
		self, {NULL}, {"HUSK_TEST_HOOK=close-stdin", NULL}, 5};
	struct hook_spec t = {"/bin/true", {NULL}, {NULL}, 5};
	struct sigaction sa;
	sigset_t pending;

	memset(big, '{', (1 << 20) - 1);
	CHECK(run1(&c, "prestart", big, &err) == 0);
	CHECK(run1(&t, "prestart", big, &err2) == 0);
	/* Still alive, SIGPIPE's disposition untouched and none pending. */
	CHECK(sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL);
	CHECK(sigpending(&pending) == 0 && !sigismember(&pending, SIGPIPE));
}

TEST(no_fd_leaks_into_the_hook)
{
	_cleanup_err_ struct husk_err *err = NULL;
	_cleanup_free_ char *out = out_path("fds");
	_cleanup_free_ char *outv = husk_asprintf("HOOK_OUT=%s", out);
	_cleanup_free_ char *got = NULL;
	struct hook_spec t = {
		self, {NULL}, {"HUSK_TEST_HOOK=fds", outv, NULL}, 0};
	/* Deliberately without O_CLOEXEC: the hook must still not get it. */
	int leak = open("/dev/null", O_RDONLY);
	int leak2 = dup(leak);

	CHECK(leak >= 0 && leak2 >= 0);
	int r = run1(&t, "prestart", "{}", &err);
	close(leak);
	close(leak2);
	CHECK(r == 0);
	got = slurp(out);
	CHECK_STR(got, "0 1 2 ");
}

TEST(signals_reset_in_the_hook)
{
	/* Ignored signals survive execve: the hook must not inherit husk's
	 * SIG_IGN or blocked mask. */
	_cleanup_err_ struct husk_err *err = NULL;
	_cleanup_free_ char *out = out_path("signals");
	_cleanup_free_ char *outv = husk_asprintf("HOOK_OUT=%s", out);
	_cleanup_free_ char *got = NULL;
	struct hook_spec t = {
		self, {NULL}, {"HUSK_TEST_HOOK=signals", outv, NULL}, 5};
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_int, old_hup;
	sigset_t usr1, old_mask;
	int r;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGHUP, &ign, &old_hup);
	sigprocmask(SIG_BLOCK, &usr1, &old_mask);
	r = run1(&t, "prestart", "{}", &err);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	CHECK(r == 0);
	got = slurp(out);
	CHECK_STR(got, "SigBlk:\t0000000000000000 SigIgn:\t0000000000000000");
}

TEST(huge_timeout)
{
	_cleanup_err_ struct husk_err *err = NULL;
	struct hook_spec t = {"/bin/true", {NULL}, {NULL}, INT64_MAX};

	CHECK(run1(&t, "prestart", "{}", &err) == 0);
}

static int init_like_flags(void)
{
	return CLONE_NEWNS | CLONE_NEWPID | (geteuid() ? CLONE_NEWUSER : 0);
}

/* Why runs_from_a_container_init cannot run here, or NULL. */
static const char *init_like_skip(void)
{
	int status = -1;
	pid_t pid;

	if (access("/bin/busybox", X_OK) < 0)
		return "no /bin/busybox";
	pid = fork();
	if (pid == 0)
		_exit(unshare(init_like_flags()) < 0);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return "cannot unshare mount and pid namespaces here";
	return NULL;
}

/* In the child, pid 1 of a new pid namespace chrooted into root: what the
 * container's init is when it runs createContainer/startContainer hooks.
 * Exit 0 if the hook ran; the error goes to fd errfd. */
static int init_like_child(const char *root, int errfd)
{
	struct husk_err *err = NULL;
	struct hook_spec t = {
		"/bin/sh",
		{"sh", "-c", "echo \"pid $$ in $PWD\" > /ran", NULL},
		{NULL},
		5};

	if (getpid() != 1 || chroot(root) < 0 || chdir("/") < 0)
		return 3;
	if (run1(&t, "startContainer", "{}", &err) < 0) {
		if (write(errfd, err->msg, strlen(err->msg)) < 0)
			return 5;
		return 4;
	}
	return 0;
}

TEST(runs_from_a_container_init)
{
	_cleanup_free_ char *root = out_path("rootfs");
	_cleanup_free_ char *bin = husk_asprintf("%s/bin", root);
	_cleanup_free_ char *sh = husk_asprintf("%s/bin/sh", root);
	_cleanup_free_ char *ran = husk_asprintf("%s/ran", root);
	_cleanup_free_ char *cp = NULL, *got = NULL;
	char msg[512] = "";
	int p[2], status = -1;
	pid_t outer;

	CHECK(mkdir(root, 0755) == 0 && mkdir(bin, 0755) == 0);
	cp = husk_asprintf("cp /bin/busybox '%s'", sh);
	CHECK(system(cp) == 0);
	CHECK(pipe2(p, O_CLOEXEC) == 0);
	outer = fork();
	CHECK(outer >= 0);
	if (outer == 0) {
		pid_t init;
		int st;

		if (unshare(init_like_flags()) < 0)
			_exit(100);
		init = fork();
		if (init == 0)
			_exit(init_like_child(root, p[1]));
		if (init < 0 || waitpid(init, &st, 0) != init)
			_exit(101);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 102);
	}
	close(p[1]);
	CHECK(waitpid(outer, &status, 0) == outer);
	if (read(p[0], msg, sizeof(msg) - 1) < 0)
		msg[0] = 0;
	close(p[0]);
	if (msg[0])
		printf("  %s\n", msg);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Resolved and run in the caller's root, as a child of pid 1. */
	got = slurp(ran);
	CHECK_STR(got, "pid 2 in /\n");
}

TEST(stdio_closed_in_caller)
{
	/* With 0..2 closed, the pipes land on 0..2 in the caller; the child's
	 * dup2() must still give the hook the right ends. */
	_cleanup_err_ struct husk_err *err = NULL;
	_cleanup_free_ char *out = out_path("stdin2");
	_cleanup_free_ char *outv = husk_asprintf("HOOK_OUT=%s", out);
	_cleanup_free_ char *got = NULL;
	struct hook_spec t = {
		self, {NULL}, {"HUSK_TEST_HOOK=stdin", outv, NULL}, 5};
	int saved[3], r;

	for (int i = 0; i < 3; i++)
		saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 10);
	fflush(stdout);
	close(0);
	close(1);
	close(2);
	r = run1(&t, "prestart", "{\"a\":1}", &err);
	for (int i = 0; i < 3; i++) {
		dup2(saved[i], i);
		close(saved[i]);
	}
	CHECK(r == 0);
	got = slurp(out);
	CHECK_STR(got, "{\"a\":1}");
}

int main(int argc, char **argv)
{
	const char *mode = getenv("HUSK_TEST_HOOK");
	ssize_t n;

	if (mode)
		return hook_main(mode, argc, argv);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || !mkdtemp(tmpdir)) {
		printf("FAIL test_hooks: setup: %s\n", strerror(errno));
		return 1;
	}
	self[n] = 0;
	RUN(success_and_empty_list);
	RUN(env_exactly_as_given);
	RUN(args_as_given_and_default);
	RUN(state_on_stdin);
	RUN(large_state_on_stdin);
	RUN(state_json_layout);
	RUN(exit_status_message);
	RUN(first_failure_stops_the_list);
	RUN(run_all_keeps_going);
	RUN(killed_by_signal);
	RUN(timeout_kills);
	RUN(timeout_kills_its_children);
	RUN(leftover_child_does_not_block);
	RUN(missing_path);
	RUN(epipe_is_not_a_failure);
	RUN(no_fd_leaks_into_the_hook);
	RUN(signals_reset_in_the_hook);
	RUN(huge_timeout);
	if (init_like_skip())
		printf("SKIP runs_from_a_container_init: skipped: %s\n",
		       init_like_skip());
	else
		RUN(runs_from_a_container_init);
	RUN(stdio_closed_in_caller);
	{
		_cleanup_free_ char *cmd = husk_asprintf("rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			printf("FAIL test_hooks: cleanup of %s\n", tmpdir);
	}
	UNIT_EXIT();
}
