/* runtime/linux/seccomp.c: configs build or fail with their exact message;
 * filters loaded in forked children do what the config says (errno, kill,
 * trap, trace, log, argument conditions, notify), docker's default profile
 * works, and the listener reaches listenerPath with the process state. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "common/util.h"
#include "oci/spec.h"
#include "runtime/linux/seccomp.h"
#include "tests/unit/unit.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

/* Test JSON is written with ' for " to stay readable. */
static char *J(const char *s)
{
	char *r = husk_strdup(s);

	for (char *p = r; *p; p++)
		if (*p == '\'')
			*p = '"';
	return r;
}

/* A whole config.json around linux.seccomp, parsed and validated as the
 * runtime would; NULL (and *msg) if that fails. */
static struct oci_spec *spec_of(const char *seccomp_quoted, char **msg)
{
	char *body = husk_asprintf(
		"{'ociVersion':'1.2.0','root':{'path':'rootfs'},"
		"'process':{'args':['sh'],'cwd':'/'},'linux':{'seccomp':%s}}",
		seccomp_quoted);
	char *json = J(body);
	struct husk_err *err = NULL;
	struct oci_spec *s = NULL;

	free(body);
	if (oci_spec_parse(json, strlen(json), &s, &err) < 0 ||
	    oci_spec_validate(s, &err) < 0) {
		*msg = husk_asprintf("config: %s", err ? err->msg : "?");
		husk_err_free(&err);
		oci_spec_free(s);
		s = NULL;
	}
	free(json);
	return s;
}

/* Build; NULL on success, else the message (caller frees). */
static char *build_msg(const struct oci_seccomp *sc, scmp_filter_ctx *keep)
{
	struct husk_err *err = NULL;
	scmp_filter_ctx ctx = NULL;
	char *msg = NULL;

	if (linux_seccomp_build(sc, &ctx, &err) < 0) {
		msg = husk_strdup(err && err->msg ? err->msg : "(no message)");
		husk_err_free(&err);
		if (ctx != NULL)
			msg = husk_asprintf("ctx set on failure: %s", msg);
		return msg;
	}
	if (keep)
		*keep = ctx;
	else
		seccomp_release(ctx);
	return NULL;
}

#define SC(...) "{" __VA_ARGS__ "}"
#define ALLOW "'defaultAction':'SCMP_ACT_ALLOW'"

struct bcase {
	const char *name;
	const char *seccomp;
	const char *want; /* NULL: builds */
};

static const struct bcase build_cases[] = {
	{"build_allow_errno", SC(ALLOW ",'syscalls':[{'names':['getcwd','chmod'],'action':'SCMP_ACT_ERRNO'}]"), NULL},
	{"build_default_errno_ret", SC("'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':38,'syscalls':[{'names':['read'],'action':'SCMP_ACT_ALLOW'}]"), NULL},
	{"build_default_trace", SC("'defaultAction':'SCMP_ACT_TRACE','defaultErrnoRet':7"), NULL},
	{"build_every_action",
	 SC(ALLOW ",'listenerPath':'/run/x.sock','syscalls':["
	    "{'names':['mkdir'],'action':'SCMP_ACT_KILL'},"
	    "{'names':['rmdir'],'action':'SCMP_ACT_KILL_THREAD'},"
	    "{'names':['link'],'action':'SCMP_ACT_KILL_PROCESS'},"
	    "{'names':['unlink'],'action':'SCMP_ACT_TRAP'},"
	    "{'names':['rename'],'action':'SCMP_ACT_ERRNO','errnoRet':0},"
	    "{'names':['chown'],'action':'SCMP_ACT_TRACE','errnoRet':65535},"
	    "{'names':['chmod'],'action':'SCMP_ACT_LOG'},"
	    "{'names':['getppid'],'action':'SCMP_ACT_NOTIFY'},"
	    "{'names':['uname'],'action':'SCMP_ACT_ALLOW'}]"), NULL},
	{"build_every_default_action_kill", SC("'defaultAction':'SCMP_ACT_KILL'"), NULL},
	{"build_every_default_action_kill_thread", SC("'defaultAction':'SCMP_ACT_KILL_THREAD'"), NULL},
	{"build_every_default_action_kill_process", SC("'defaultAction':'SCMP_ACT_KILL_PROCESS'"), NULL},
	{"build_every_default_action_trap", SC("'defaultAction':'SCMP_ACT_TRAP'"), NULL},
	{"build_every_default_action_log", SC("'defaultAction':'SCMP_ACT_LOG'"), NULL},
	{"build_architectures",
	 SC(ALLOW ",'architectures':['SCMP_ARCH_X86_64','SCMP_ARCH_X86','SCMP_ARCH_X32','SCMP_ARCH_AARCH64','SCMP_ARCH_ARM','SCMP_ARCH_PPC64LE','SCMP_ARCH_RISCV64','SCMP_ARCH_MIPSEL64N32'],"
	    "'syscalls':[{'names':['socketcall','_llseek','mmap2','uname'],'action':'SCMP_ACT_ERRNO'}]"), NULL},
	{"build_flags", SC(ALLOW ",'flags':['SECCOMP_FILTER_FLAG_TSYNC','SECCOMP_FILTER_FLAG_LOG','SECCOMP_FILTER_FLAG_SPEC_ALLOW']"), NULL},
	{"build_every_operator",
	 SC(ALLOW ",'syscalls':[{'names':['socket'],'action':'SCMP_ACT_ERRNO','args':["
	    "{'index':0,'value':1,'op':'SCMP_CMP_NE'},{'index':1,'value':2,'op':'SCMP_CMP_LT'},"
	    "{'index':2,'value':3,'op':'SCMP_CMP_LE'},{'index':3,'value':4,'op':'SCMP_CMP_EQ'},"
	    "{'index':4,'value':5,'op':'SCMP_CMP_GE'},{'index':5,'value':6,'op':'SCMP_CMP_GT'}]},"
	    "{'names':['clone'],'action':'SCMP_ACT_ERRNO','args':[{'index':0,'value':2114060288,'valueTwo':0,'op':'SCMP_CMP_MASKED_EQ'}]}]"), NULL},
	{"build_same_index_split",
	 SC(ALLOW ",'syscalls':[{'names':['personality'],'action':'SCMP_ACT_ERRNO','args':["
	    "{'index':0,'value':8,'op':'SCMP_CMP_EQ'},{'index':0,'value':131072,'op':'SCMP_CMP_EQ'},{'index':1,'value':0,'op':'SCMP_CMP_EQ'}]}]"), NULL},
	{"build_rule_equal_to_default_skipped",
	 SC("'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':1,'syscalls':[{'names':['uname'],'action':'SCMP_ACT_ERRNO','errnoRet':1},{'names':['getpid'],'action':'SCMP_ACT_ALLOW'}]"), NULL},
	{"build_unknown_names_skipped",
	 SC(ALLOW ",'syscalls':[{'names':['no_such_syscall','uname','another_unknown_one'],'action':'SCMP_ACT_ERRNO'}]"), NULL},
	{"build_notify_unknown_name_only",
	 SC(ALLOW ",'listenerPath':'/run/x.sock','syscalls':[{'names':['no_such_syscall'],'action':'SCMP_ACT_NOTIFY'}]"), NULL},
	{"build_default_errno_on_allow",
	 SC(ALLOW ",'defaultErrnoRet':1"),
	 "linux.seccomp.defaultErrnoRet: SCMP_ACT_ALLOW does not take an errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)"},
	{"build_errno_on_kill",
	 SC(ALLOW ",'syscalls':[{'names':['uname'],'action':'SCMP_ACT_ERRNO'},{'names':['getcwd'],'action':'SCMP_ACT_KILL','errnoRet':1}]"),
	 "linux.seccomp.syscalls[1].errnoRet: SCMP_ACT_KILL does not take an errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)"},
	{"build_errno_on_log",
	 SC(ALLOW ",'syscalls':[{'names':['uname'],'action':'SCMP_ACT_LOG','errnoRet':0}]"),
	 "linux.seccomp.syscalls[0].errnoRet: SCMP_ACT_LOG does not take an errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)"},
	{"build_errno_too_wide",
	 SC(ALLOW ",'syscalls':[{'names':['uname'],'action':'SCMP_ACT_ERRNO','errnoRet':65536}]"),
	 "linux.seccomp.syscalls[0].errnoRet: must be in [0, 65535]"},
	{"build_default_errno_too_wide",
	 SC("'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':4294967295"),
	 "linux.seccomp.defaultErrnoRet: must be in [0, 65535]"},
	{"build_arch_other_byte_order",
	 SC(ALLOW ",'architectures':['SCMP_ARCH_X86','SCMP_ARCH_S390X']"),
	 "linux.seccomp.architectures[1]: SCMP_ARCH_S390X cannot share a filter with the native architecture (other byte order)"},
	{"build_metadata_without_path",
	 SC(ALLOW ",'listenerMetadata':'m'"),
	 "linux.seccomp.listenerMetadata: must not be set without listenerPath"},
	{"build_notify_write",
	 SC(ALLOW ",'listenerPath':'/run/x.sock','syscalls':[{'names':['getppid','write'],'action':'SCMP_ACT_NOTIFY'}]"),
	 "linux.seccomp.syscalls[0].names[1]: SCMP_ACT_NOTIFY cannot be used for \"write\": the runtime passes the listener out with it"},
	{"build_notify_sendmsg",
	 SC(ALLOW ",'listenerPath':'/run/x.sock','syscalls':[{'names':['uname'],'action':'SCMP_ACT_LOG'},{'names':['sendmsg'],'action':'SCMP_ACT_NOTIFY','args':[{'index':0,'value':3,'op':'SCMP_CMP_EQ'}]}]"),
	 "linux.seccomp.syscalls[1].names[0]: SCMP_ACT_NOTIFY cannot be used for \"sendmsg\": the runtime passes the listener out with it"},
};

static void run_build_cases(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(build_cases); i++) {
		const struct bcase *c = &build_cases[i];
		char *msg = NULL, *got;
		struct oci_spec *s = spec_of(c->seccomp, &msg);
		char *why = NULL;

		if (s == NULL) {
			unit_report(c->name, 0, msg);
			free(msg);
			continue;
		}
		got = build_msg(s->linux_->seccomp, NULL);
		if (c->want == NULL && got != NULL)
			why = husk_asprintf("unexpected failure: %s", got);
		else if (c->want && (got == NULL || strcmp(got, c->want)))
			why = husk_asprintf("got \"%s\", want \"%s\"",
					    got ? got : "(success)", c->want);
		unit_report(c->name, why == NULL, why);
		free(why);
		free(got);
		oci_spec_free(s);
	}
}

/* Messages that depend on this libseccomp's version. */
TEST(test_build_arch_unknown_to_libseccomp)
{
	struct oci_spec *s;
	char *msg = NULL, *got, *want;

	s = spec_of(SC(ALLOW ",'architectures':['SCMP_ARCH_X86','SCMP_ARCH_LOONGARCH64']"), &msg);
	CHECK(s != NULL);
	got = build_msg(s->linux_->seccomp, NULL);
	want = husk_asprintf("linux.seccomp.architectures[1]: \"SCMP_ARCH_LOONGARCH64\" is not supported by libseccomp %u.%u.%u",
			     SCMP_VER_MAJOR, SCMP_VER_MINOR, SCMP_VER_MICRO);
	oci_spec_free(s);
	CHECK_STR(got, want);
	free(got);
	free(want);
}

TEST(test_build_wait_killable_recv)
{
	struct oci_spec *s;
	char *msg = NULL, *got;

	s = spec_of(SC(ALLOW ",'flags':['SECCOMP_FILTER_FLAG_LOG','SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV']"), &msg);
	CHECK(s != NULL);
	got = build_msg(s->linux_->seccomp, NULL);
	oci_spec_free(s);
#if SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR < 6
	{
		char *want = husk_asprintf(
			"linux.seccomp.flags[1]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: needs libseccomp >= 2.6.0, husk was built with %u.%u.%u",
			SCMP_VER_MAJOR, SCMP_VER_MINOR, SCMP_VER_MICRO);
		CHECK_STR(got, want);
		free(want);
	}
#else
	/* 2.6 applies it when the kernel has it (API level 7) */
	CHECK((got == NULL) == (seccomp_api_get() >= 7));
#endif
	free(got);
}

/* Structs that never went through validation still fail cleanly. */
TEST(test_build_unvalidated_structs)
{
	struct oci_seccomp_arg args[2] = {
		{.index = 6, .value = 1, .op = (char *)"SCMP_CMP_EQ"},
		{.index = 0, .value = 1, .op = (char *)"SCMP_CMP_BOGUS"},
	};
	char *names[] = {(char *)"uname", NULL};
	struct oci_seccomp_syscall call = {
		.names = {names, 1},
		.action = (char *)"SCMP_ACT_ERRNO",
		.args = args,
		.n_args = 1,
	};
	struct oci_seccomp s = {.default_action = NULL};
	char *got;

	got = build_msg(&s, NULL);
	CHECK_STR(got, "linux.seccomp.defaultAction: unknown action \"\"");
	free(got);
	s.default_action = (char *)"SCMP_ACT_NOTIFY";
	got = build_msg(&s, NULL);
	CHECK_STR(got, "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
	free(got);
	s.default_action = (char *)"SCMP_ACT_ALLOW";
	s.syscalls = &call;
	s.n_syscalls = 1;
	got = build_msg(&s, NULL);
	CHECK_STR(got, "linux.seccomp.syscalls[0].args[0].index: must be in [0, 5]");
	free(got);
	call.args = &args[1];
	got = build_msg(&s, NULL);
	CHECK_STR(got, "linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_BOGUS\"");
	free(got);
	call.n_args = 0;
	call.action = (char *)"SCMP_ACT_BOGUS";
	got = build_msg(&s, NULL);
	CHECK_STR(got, "linux.seccomp.syscalls[0].action: unknown action \"SCMP_ACT_BOGUS\"");
	free(got);
	call.action = (char *)"SCMP_ACT_ERRNO";
	got = build_msg(NULL, NULL);
	CHECK_STR(got, "linux.seccomp: no configuration");
	free(got);
	CHECK(build_msg(&s, NULL) == NULL);
}

/* The BPF program: non-empty, whole instructions, carries ERRNO(1234). */
TEST(test_export_bpf)
{
	struct oci_spec *s;
	scmp_filter_ctx ctx = NULL;
	char *msg = NULL, *got;
	struct stat st;
	struct sock_filter *prog;
	bool found = false;
	int fd;

	s = spec_of(SC(ALLOW ",'architectures':['SCMP_ARCH_X86'],'syscalls':[{'names':['uname'],'action':'SCMP_ACT_ERRNO','errnoRet':1234}]"), &msg);
	CHECK(s != NULL);
	got = build_msg(s->linux_->seccomp, &ctx);
	oci_spec_free(s);
	CHECK(got == NULL);
	CHECK(seccomp_arch_exist(ctx, SCMP_ARCH_X86) == 0);
	CHECK(seccomp_arch_exist(ctx, seccomp_arch_native()) == 0);
	CHECK(seccomp_arch_exist(ctx, SCMP_ARCH_AARCH64) == -EEXIST);
	fd = memfd_create("bpf", MFD_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(seccomp_export_bpf(ctx, fd) == 0);
	seccomp_release(ctx);
	CHECK(fstat(fd, &st) == 0);
	CHECK(st.st_size > 0 && st.st_size % sizeof(struct sock_filter) == 0);
	prog = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	CHECK(prog != MAP_FAILED);
	for (size_t i = 0; i < (size_t)st.st_size / sizeof(*prog); i++)
		if (prog[i].code == (BPF_RET | BPF_K) &&
		    prog[i].k == (SECCOMP_RET_ERRNO | 1234))
			found = true;
	munmap(prog, (size_t)st.st_size);
	CHECK(found);
}

TEST(test_features)
{
	struct linux_seccomp_features f;
	bool notify = false, x86_64 = false, log = false, loong = false,
	     wkr = false, s390x = false, x32 = false;

	linux_seccomp_features(&f);
	CHECK(f.n_operators == 7);
	CHECK(f.n_known_flags == 4);
	for (size_t i = 0; i < f.n_actions; i++)
		notify |= strcmp(f.actions[i], "SCMP_ACT_NOTIFY") == 0;
	for (size_t i = 0; i < f.n_archs; i++) {
		x86_64 |= strcmp(f.archs[i], "SCMP_ARCH_X86_64") == 0;
		loong |= strcmp(f.archs[i], "SCMP_ARCH_LOONGARCH64") == 0;
		s390x |= strcmp(f.archs[i], "SCMP_ARCH_S390X") == 0;
		x32 |= strcmp(f.archs[i], "SCMP_ARCH_X32") == 0;
	}
	for (size_t i = 0; i < f.n_supported_flags; i++) {
		log |= strcmp(f.supported_flags[i], "SECCOMP_FILTER_FLAG_LOG") == 0;
		wkr |= strcmp(f.supported_flags[i],
			      "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") == 0;
	}
	CHECK(f.n_actions == (seccomp_api_get() >= 6 ? 9u : f.n_actions));
	CHECK(notify == (seccomp_api_get() >= 6));
	CHECK(x86_64);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	CHECK(!s390x);
#endif
#ifdef __x86_64__
	CHECK(x32);
#endif
	CHECK(loong == (seccomp_arch_resolve_name("loongarch64") != 0));
	CHECK(log == (seccomp_api_get() >= 3));
#if SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR < 6
	CHECK(!wkr);
#endif
}

/* ---- forked children ----------------------------------------------------- */

struct child {
	int pipe_w; /* the child's failure message goes here */
	int *listener;
	const struct oci_seccomp *sc;
	void *arg;
};

#define CCHECK(ch, c)                                                          \
	do {                                                                   \
		if (!(c))                                                      \
			child_fail((ch), __LINE__, #c);                        \
	} while (0)

/* write() and _exit(): both allowed by every filter these tests load */
static __attribute__((noreturn)) void child_fail(struct child *ch, int line,
						 const char *what)
{
	char buf[256];
	int e = errno;
	int n = snprintf(buf, sizeof(buf), "child line %d: %s (errno %d)", line,
			 what, e);

	if (n > 0 && write(ch->pipe_w, buf, (size_t)n) < 0)
		_exit(3);
	_exit(1);
}

enum load_mode { LOAD_NNP, LOAD_NO_NNP, LOAD_NO_CAPS };

/* Build in the parent (as the runtime would), fork, load in the child and
 * run body; *status is the child's wait status, *msg its failure text. */
static int run_child(const char *seccomp_quoted, enum load_mode mode,
		     void (*body)(struct child *), void *arg, int *status,
		     char **msg, pid_t *pid_out, void (*parent)(pid_t, void *))
{
	char *cfg_msg = NULL, *got, buf[512];
	scmp_filter_ctx ctx = NULL;
	struct oci_spec *s = spec_of(seccomp_quoted, &cfg_msg);
	int p[2];
	ssize_t n;
	pid_t pid;

	*msg = NULL;
	if (s == NULL) {
		*msg = cfg_msg;
		return -1;
	}
	got = build_msg(s->linux_->seccomp, &ctx);
	if (got) {
		*msg = got;
		oci_spec_free(s);
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		abort();
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		struct child ch = {.pipe_w = p[1], .sc = s->linux_->seccomp,
				   .arg = arg};
		struct husk_err *err = NULL;
		int listener = -1;

		close(p[0]);
		if (mode == LOAD_NNP)
			CCHECK(&ch, prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
		if (mode == LOAD_NO_CAPS) {
			cap_t none = cap_init();

			CCHECK(&ch, none && cap_set_proc(none) == 0);
		}
		if (linux_seccomp_load(ctx, s->linux_->seccomp, &listener,
				       &err) < 0) {
			n = snprintf(buf, sizeof(buf), "%s", err->msg);
			if (write(p[1], buf, (size_t)n) < 0)
				_exit(3);
			_exit(2);
		}
		/* the listener outlives the context */
		seccomp_release(ctx);
		ch.listener = &listener;
		body(&ch);
		_exit(0);
	}
	close(p[1]);
	seccomp_release(ctx);
	if (pid_out)
		*pid_out = pid;
	if (parent)
		parent(pid, arg);
	n = husk_read_all(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			abort();
	if (n > 0) {
		buf[n] = '\0';
		*msg = husk_strdup(buf);
	}
	oci_spec_free(s);
	return 0;
}

/* A child that must exit 0; anything else is a failure with its reason. */
#define CHILD_OK(cfg, mode, body, arg)                                         \
	do {                                                                   \
		int st_ = 0;                                                   \
		char *m_ = NULL;                                               \
		int rc_ = run_child((cfg), (mode), (body), (arg), &st_, &m_,   \
				    NULL, NULL);                               \
		if (rc_ < 0 || !WIFEXITED(st_) || WEXITSTATUS(st_) != 0) {     \
			printf("FAIL %s: %s:%d: status 0x%x: %s\n", u_->name,  \
			       __FILE__, __LINE__, st_, m_ ? m_ : "");         \
			u_->failed = 1;                                        \
			free(m_);                                              \
			return;                                                \
		}                                                              \
		free(m_);                                                      \
	} while (0)

static void body_errno_uname(struct child *ch)
{
	struct utsname u;
	pid_t parent = *(pid_t *)ch->arg;

	errno = 0;
	CCHECK(ch, uname(&u) == -1 && errno == 1234);
	CCHECK(ch, getppid() == parent);
	CCHECK(ch, syscall(SYS_getpid) == getpid());
}

TEST(test_load_errno)
{
	pid_t me = getpid();

	CHILD_OK(SC(ALLOW ",'syscalls':[{'names':['uname'],'action':'SCMP_ACT_ERRNO','errnoRet':1234}]"),
		 LOAD_NNP, body_errno_uname, &me);
}

static void body_getppid(struct child *ch)
{
	(void)syscall(SYS_getppid);
	CCHECK(ch, !"getppid returned");
}

/* KILL, KILL_THREAD and KILL_PROCESS all end a one-thread child by SIGSYS. */
TEST(test_load_kill)
{
	static const char *const acts[] = {"SCMP_ACT_KILL_PROCESS",
					   "SCMP_ACT_KILL_THREAD",
					   "SCMP_ACT_KILL"};

	for (size_t i = 0; i < ARRAY_SIZE(acts); i++) {
		char *cfg = husk_asprintf(
			SC(ALLOW ",'syscalls':[{'names':['getppid'],'action':'%s'}]"),
			acts[i]);
		char *m = NULL;
		int st = 0;
		int rc = run_child(cfg, LOAD_NNP, body_getppid, NULL, &st, &m,
				   NULL, NULL);

		free(cfg);
		if (rc < 0 || !WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS) {
			printf("FAIL %s: %s: status 0x%x: %s\n", u_->name,
			       acts[i], st, m ? m : "");
			u_->failed = 1;
			free(m);
			return;
		}
		free(m);
	}
}

static volatile sig_atomic_t trapped_nr = -1, trapped_code = -1;

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	trapped_code = si->si_code;
	trapped_nr = si->si_syscall;
}

static void body_trap(struct child *ch)
{
	/* the handler goes in before any SIGSYS can come */
	(void)syscall(SYS_getppid);
	CCHECK(ch, trapped_code == 1 /* SYS_SECCOMP */);
	CCHECK(ch, trapped_nr == SYS_getppid);
	CCHECK(ch, getpid() > 0);
}

TEST(test_load_trap)
{
	struct sigaction sa = {.sa_sigaction = on_sigsys,
			       .sa_flags = SA_SIGINFO};
	struct sigaction old;

	/* installed before the fork, so the child has it before its
	 * filter can raise SIGSYS */
	CHECK(sigaction(SIGSYS, &sa, &old) == 0);
	CHILD_OK(SC(ALLOW ",'syscalls':[{'names':['getppid'],'action':'SCMP_ACT_TRAP'}]"),
		 LOAD_NNP, body_trap, NULL);
	sigaction(SIGSYS, &old, NULL);
}

static void body_trace(struct child *ch)
{
	/* seccomp(2): with no tracer attached, SECCOMP_RET_TRACE fails
	 * the call with ENOSYS */
	errno = 0;
	CCHECK(ch, syscall(SYS_getppid) == -1 && errno == ENOSYS);
}

TEST(test_load_trace)
{
	CHILD_OK(SC(ALLOW ",'syscalls':[{'names':['getppid'],'action':'SCMP_ACT_TRACE','errnoRet':7}]"),
		 LOAD_NNP, body_trace, NULL);
}

static void body_log(struct child *ch)
{
	pid_t parent = *(pid_t *)ch->arg;
	struct utsname u;

	CCHECK(ch, getppid() == parent);
	errno = 0;
	CCHECK(ch, uname(&u) == -1 && errno == EPERM);
}

/* LOG lets the call through (unlike the ERRNO rule beside it), and the
 * filter flags load. */
TEST(test_load_log_and_flags)
{
	pid_t me = getpid();

	CHILD_OK(SC(ALLOW ",'flags':['SECCOMP_FILTER_FLAG_TSYNC','SECCOMP_FILTER_FLAG_LOG','SECCOMP_FILTER_FLAG_SPEC_ALLOW'],"
		    "'syscalls':[{'names':['getppid'],'action':'SCMP_ACT_LOG'},{'names':['uname'],'action':'SCMP_ACT_ERRNO'}]"),
		 LOAD_NNP, body_log, &me);
}

static int sock_errno(int domain, int type)
{
	int fd = socket(domain, type, 0);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return errno;
}

static void body_masked(struct child *ch)
{
	CCHECK(ch, sock_errno(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC) == 1234);
	CCHECK(ch, sock_errno(AF_UNIX, SOCK_DGRAM) == 1234);
	CCHECK(ch, sock_errno(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC) == 0);
	/* AND: the domain condition is not met */
	CCHECK(ch, sock_errno(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC) == 0);
}

/* socket(AF_UNIX, type & 0xf == SOCK_DGRAM): MASKED_EQ ignores the
 * SOCK_CLOEXEC bit; two indexes are ANDed. */
TEST(test_load_masked_eq_and)
{
	CHILD_OK(SC(ALLOW ",'syscalls':[{'names':['socket'],'action':'SCMP_ACT_ERRNO','errnoRet':1234,'args':["
		    "{'index':0,'value':1,'op':'SCMP_CMP_EQ'},{'index':1,'value':15,'valueTwo':2,'op':'SCMP_CMP_MASKED_EQ'}]}]"),
		 LOAD_NNP, body_masked, NULL);
}

static void body_or(struct child *ch)
{
	CCHECK(ch, sock_errno(AF_INET, SOCK_STREAM) == 1234);
	CCHECK(ch, sock_errno(AF_INET6, SOCK_STREAM) == 1234);
	/* runc: once an index repeats, every condition is its own rule,
	 * so the index-1 condition alone matches too */
	CCHECK(ch, sock_errno(AF_UNIX, SOCK_DGRAM) == 1234);
	CCHECK(ch, sock_errno(AF_UNIX, SOCK_STREAM) == 0);
}

TEST(test_load_same_index_or)
{
	CHILD_OK(SC(ALLOW ",'syscalls':[{'names':['socket'],'action':'SCMP_ACT_ERRNO','errnoRet':1234,'args':["
		    "{'index':0,'value':2,'op':'SCMP_CMP_EQ'},{'index':0,'value':10,'op':'SCMP_CMP_EQ'},"
		    "{'index':1,'value':2,'op':'SCMP_CMP_EQ'}]}]"),
		 LOAD_NNP, body_or, NULL);
}

static void body_unknown(struct child *ch)
{
	struct utsname u;

	errno = 0;
	CCHECK(ch, uname(&u) == -1 && errno == 1234);
}

TEST(test_load_unknown_name_skipped)
{
	CHILD_OK(SC(ALLOW ",'syscalls':[{'names':['no_such_syscall_at_all','uname'],'action':'SCMP_ACT_ERRNO','errnoRet':1234}]"),
		 LOAD_NNP, body_unknown, NULL);
}

/* ---- notify and the listener --------------------------------------------- */

struct listen_sock {
	char dir[64];
	char path[128];
	int fd;
};

static int listen_open(struct listen_sock *l)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(l->dir, sizeof(l->dir), "/tmp/husk-seccomp-XXXXXX");
	if (mkdtemp(l->dir) == NULL)
		return -1;
	snprintf(l->path, sizeof(l->path), "%s/agent.sock", l->dir);
	strcpy(sa.sun_path, l->path);
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->fd < 0 || bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(l->fd, 4) < 0)
		return -1;
	return 0;
}

static void listen_close(struct listen_sock *l)
{
	if (l->fd >= 0)
		close(l->fd);
	unlink(l->path);
	rmdir(l->dir);
}

/* Accept one connection within 10 s; read all it sends (to EOF) and the
 * fd of its first message. */
static int agent_receive(int lfd, char *buf, size_t cap, int *fd_out)
{
	struct pollfd pfd = {.fd = lfd, .events = POLLIN};
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 4)];
	} ctl;
	struct iovec iov;
	struct msghdr mh;
	size_t len = 0;
	int c;

	*fd_out = -1;
	if (poll(&pfd, 1, 10000) != 1)
		return -1;
	c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return -1;
	for (;;) {
		ssize_t n;

		pfd = (struct pollfd){.fd = c, .events = POLLIN};
		if (poll(&pfd, 1, 10000) != 1 || len + 1 >= cap)
			break;
		iov = (struct iovec){buf + len, cap - 1 - len};
		mh = (struct msghdr){.msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = ctl.b,
				     .msg_controllen = sizeof(ctl.b)};
		n = recvmsg(c, &mh, MSG_CMSG_CLOEXEC);
		if (n <= 0)
			break;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm;
		     cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_type == SCM_RIGHTS && *fd_out < 0 &&
			    cm->cmsg_len == CMSG_LEN(sizeof(int)))
				memcpy(fd_out, CMSG_DATA(cm), sizeof(int));
		len += (size_t)n;
	}
	close(c);
	buf[len] = '\0';
	return (int)len;
}

static const char *jstr(yajl_val root, const char **path)
{
	yajl_val v = yajl_tree_get(root, path, yajl_t_string);

	return v ? YAJL_GET_STRING(v) : NULL;
}

struct notify_ctx {
	struct listen_sock *l;
	char failure[256];
};

static void body_notify(struct child *ch)
{
	struct notify_ctx *nc = ch->arg;
	struct husk_err *err = NULL;
	char state[256];
	int fl;

	CCHECK(ch, *ch->listener >= 0);
	/* the kernel's listener is close-on-exec */
	fl = fcntl(*ch->listener, F_GETFD);
	CCHECK(ch, fl >= 0 && (fl & FD_CLOEXEC));
	snprintf(state, sizeof(state),
		 "{\"ociVersion\":\"1.2.0\",\"id\":\"ctr1\",\"status\":\"creating\",\"pid\":%d,\"bundle\":\"/b\"}",
		 (int)getpid());
	if (linux_seccomp_send_listener(nc->l->path, *ch->listener, getpid(),
					"meta-x", state, &err) < 0)
		child_fail(ch, __LINE__, err->msg);
	close(*ch->listener);
	/* the supervisor answers 4242 for us */
	CCHECK(ch, syscall(SYS_getppid) == 4242);
	CCHECK(ch, syscall(SYS_getpid) == getpid());
}

/* The supervisor: the parent receives the state and the listener, checks
 * the document, and answers the child's getppid. */
static void agent_notify(pid_t child, void *arg)
{
	struct notify_ctx *nc = arg;
	static const char *p_ver[] = {"ociVersion", NULL};
	static const char *p_meta[] = {"metadata", NULL};
	static const char *p_id[] = {"state", "id", NULL};
	static const char *p_status[] = {"state", "status", NULL};
	static const char *p_pid[] = {"pid", NULL};
	static const char *p_fds[] = {"fds", NULL};
	struct seccomp_notif *req = NULL;
	struct seccomp_notif_resp *resp = NULL;
	char buf[4096], ebuf[128];
	yajl_val root = NULL, v;
	struct pollfd pfd;
	int fd = -1;
	const char *why = NULL;

	if (agent_receive(nc->l->fd, buf, sizeof(buf), &fd) <= 0 || fd < 0) {
		why = "nothing or no fd received";
		goto out;
	}
	root = yajl_tree_parse(buf, ebuf, sizeof(ebuf));
	v = root ? yajl_tree_get(root, p_fds, yajl_t_array) : NULL;
	if (root == NULL || !jstr(root, p_ver) ||
	    strcmp(jstr(root, p_meta) ? jstr(root, p_meta) : "", "meta-x") ||
	    strcmp(jstr(root, p_id) ? jstr(root, p_id) : "", "ctr1") ||
	    strcmp(jstr(root, p_status) ? jstr(root, p_status) : "",
		   "creating") ||
	    v == NULL || YAJL_GET_ARRAY(v)->len != 1 ||
	    !YAJL_IS_STRING(YAJL_GET_ARRAY(v)->values[0]) ||
	    strcmp(v->u.array.values[0]->u.string, "seccompFd")) {
		why = "bad containerProcessState";
		goto out;
	}
	v = yajl_tree_get(root, p_pid, yajl_t_number);
	if (v == NULL || YAJL_GET_INTEGER(v) != child) {
		why = "bad pid in containerProcessState";
		goto out;
	}
	pfd = (struct pollfd){.fd = fd, .events = POLLIN};
	if (poll(&pfd, 1, 10000) != 1 ||
	    seccomp_notify_alloc(&req, &resp) != 0 ||
	    seccomp_notify_receive(fd, req) != 0) {
		why = "no notification";
		goto out;
	}
	if (req->data.nr != SYS_getppid || (pid_t)req->pid != child) {
		why = "notification for the wrong call or process";
		goto out;
	}
	memset(resp, 0, sizeof(*resp));
	resp->id = req->id;
	resp->val = 4242;
	if (seccomp_notify_respond(fd, resp) != 0)
		why = "respond failed";
out:
	if (why) {
		snprintf(nc->failure, sizeof(nc->failure), "%s: %.150s", why,
			 buf);
		kill(child, SIGKILL);
	}
	seccomp_notify_free(req, resp);
	yajl_tree_free(root);
	if (fd >= 0)
		close(fd);
}

TEST(test_load_notify)
{
	struct listen_sock l = {.fd = -1};
	struct notify_ctx nc = {.l = &l};
	char *cfg, *m = NULL;
	int st = 0, rc;

	CHECK(listen_open(&l) == 0);
	cfg = husk_asprintf(SC(ALLOW ",'listenerPath':'%s','listenerMetadata':'meta-x',"
			       "'syscalls':[{'names':['getppid'],'action':'SCMP_ACT_NOTIFY'}]"),
			    l.path);
	rc = run_child(cfg, LOAD_NNP, body_notify, &nc, &st, &m, NULL,
		       agent_notify);
	free(cfg);
	listen_close(&l);
	if (nc.failure[0] || rc < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		printf("FAIL %s: status 0x%x: %s %s\n", u_->name, st,
		       nc.failure, m ? m : "");
		u_->failed = 1;
	}
	free(m);
}

static void body_no_listener(struct child *ch)
{
	CCHECK(ch, *ch->listener == -1);
}

/* NOTIFY only for names libseccomp does not know: no rule, no listener */
TEST(test_load_notify_unknown_only)
{
	CHILD_OK(SC(ALLOW ",'listenerPath':'/run/x.sock','syscalls':[{'names':['no_such_call'],'action':'SCMP_ACT_NOTIFY'}]"),
		 LOAD_NNP, body_no_listener, NULL);
}

/* send_listener to a test socket: exact document, the same file. */
TEST(test_send_listener)
{
	struct listen_sock l = {.fd = -1};
	struct husk_err *err = NULL;
	char buf[1024];
	struct stat a, b;
	int mfd, got = -1, rc;

	CHECK(listen_open(&l) == 0);
	mfd = memfd_create("listener-stand-in", MFD_CLOEXEC);
	CHECK(mfd >= 0);
	/* connect completes against the backlog; the message fits in the
	 * socket buffer, so one process can do both ends */
	rc = linux_seccomp_send_listener(
		l.path, mfd, 42, NULL,
		"{\"ociVersion\":\"1.2.0\",\"id\":\"c\",\"status\":\"creating\",\"pid\":42,\"bundle\":\"/b\",\"annotations\":{\"k\":\"v\\\"\"}}",
		&err);
	if (rc < 0)
		printf("# %s\n", err->msg);
	husk_err_free(&err);
	CHECK(rc == 0);
	rc = agent_receive(l.fd, buf, sizeof(buf), &got);
	listen_close(&l);
	CHECK(rc > 0 && got >= 0);
	CHECK(fstat(mfd, &a) == 0 && fstat(got, &b) == 0);
	close(mfd);
	close(got);
	CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	CHECK_STR(buf,
		  "{\"ociVersion\":\"1.2.0\",\"fds\":[\"seccompFd\"],\"pid\":42,"
		  "\"state\":{\"ociVersion\":\"1.2.0\",\"id\":\"c\",\"status\":\"creating\",\"pid\":42,\"bundle\":\"/b\",\"annotations\":{\"k\":\"v\\\"\"}}}");
}

static char *send_msg(const char *path, int fd, const char *state)
{
	struct husk_err *err = NULL;
	char *m;

	if (linux_seccomp_send_listener(path, fd, 1, "m", state, &err) == 0)
		return husk_strdup("(success)");
	m = husk_strdup(err->msg);
	husk_err_free(&err);
	return m;
}

TEST(test_send_listener_errors)
{
	const char *st = "{\"id\":\"c\"}";
	char longp[200], *m;

	m = send_msg("run/agent.sock", 0, st);
	CHECK_STR(m, "linux.seccomp.listenerPath: must be an absolute path");
	free(m);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	m = send_msg(longp, 0, st);
	CHECK(husk_str_has_prefix(m, "linux.seccomp.listenerPath: /aaa"));
	CHECK(strstr(m, ": longer than 107 bytes, the limit of a unix socket address") != NULL);
	free(m);
	m = send_msg("/nonexistent-husk-dir/agent.sock", -1, st);
	CHECK_STR(m, "linux.seccomp.listenerPath: no seccomp listener fd to send");
	free(m);
	m = send_msg("/nonexistent-husk-dir/agent.sock", 0, "[1]");
	CHECK_STR(m, "linux.seccomp.listenerPath: the container state is not a JSON object");
	free(m);
	m = send_msg("/nonexistent-husk-dir/agent.sock", 0, st);
	CHECK_STR(m, "linux.seccomp.listenerPath: connect /nonexistent-husk-dir/agent.sock: No such file or directory");
	free(m);
}

/* ---- docker's default profile -------------------------------------------- */

/* moby profiles/seccomp/default.json as docker puts it into config.json
 * for an amd64 container with the default capabilities (includes and
 * excludes already resolved): the big allow list, then the
 * argument-conditioned rules. */
#define DOCKER_ALLOW                                                           \
	"'accept','accept4','access','adjtimex','alarm','bind','brk','cachestat','capget','capset','chdir','chmod','chown','chown32',"   \
	"'clock_adjtime','clock_adjtime64','clock_getres','clock_getres_time64','clock_gettime','clock_gettime64','clock_nanosleep',"     \
	"'clock_nanosleep_time64','close','close_range','connect','copy_file_range','creat','dup','dup2','dup3','epoll_create',"          \
	"'epoll_create1','epoll_ctl','epoll_ctl_old','epoll_pwait','epoll_pwait2','epoll_wait','epoll_wait_old','eventfd','eventfd2',"     \
	"'execve','execveat','exit','exit_group','faccessat','faccessat2','fadvise64','fadvise64_64','fallocate','fanotify_mark',"       \
	"'fchdir','fchmod','fchmodat','fchmodat2','fchown','fchown32','fchownat','fcntl','fcntl64','fdatasync','fgetxattr','flistxattr'," \
	"'flock','fork','fremovexattr','fsetxattr','fstat','fstat64','fstatat64','fstatfs','fstatfs64','fsync','ftruncate',"             \
	"'ftruncate64','futex','futex_requeue','futex_time64','futex_wait','futex_waitv','futex_wake','futimesat','getcpu','getcwd',"     \
	"'getdents','getdents64','getegid','getegid32','geteuid','geteuid32','getgid','getgid32','getgroups','getgroups32','getitimer',"  \
	"'getpeername','getpgid','getpgrp','getpid','getppid','getpriority','getrandom','getresgid','getresgid32','getresuid',"          \
	"'getresuid32','getrlimit','get_robust_list','getrusage','getsid','getsockname','getsockopt','get_thread_area','gettid',"        \
	"'gettimeofday','getuid','getuid32','getxattr','inotify_add_watch','inotify_init','inotify_init1','inotify_rm_watch',"           \
	"'io_cancel','ioctl','io_destroy','io_getevents','io_pgetevents','io_pgetevents_time64','ioprio_get','ioprio_set','io_setup',"    \
	"'io_submit','ipc','kill','landlock_add_rule','landlock_create_ruleset','landlock_restrict_self','lchown','lchown32',"           \
	"'lgetxattr','link','linkat','listen','listxattr','llistxattr','_llseek','lremovexattr','lseek','lsetxattr','lstat','lstat64',"   \
	"'madvise','map_shadow_stack','membarrier','memfd_create','memfd_secret','mincore','mkdir','mkdirat','mknod','mknodat','mlock',"  \
	"'mlock2','mlockall','mmap','mmap2','mprotect','mq_getsetattr','mq_notify','mq_open','mq_timedreceive','mq_timedreceive_time64'," \
	"'mq_timedsend','mq_timedsend_time64','mq_unlink','mremap','msgctl','msgget','msgrcv','msgsnd','msync','munlock','munlockall',"   \
	"'munmap','name_to_handle_at','nanosleep','newfstatat','_newselect','open','openat','openat2','pause','pidfd_open',"             \
	"'pidfd_send_signal','pipe','pipe2','pkey_alloc','pkey_free','pkey_mprotect','poll','ppoll','ppoll_time64','prctl','pread64',"   \
	"'preadv','preadv2','prlimit64','process_mrelease','pselect6','pselect6_time64','pwrite64','pwritev','pwritev2','read',"         \
	"'readahead','readlink','readlinkat','readv','recv','recvfrom','recvmmsg','recvmmsg_time64','recvmsg','remap_file_pages',"       \
	"'removexattr','rename','renameat','renameat2','restart_syscall','rmdir','rseq','rt_sigaction','rt_sigpending',"                 \
	"'rt_sigprocmask','rt_sigqueueinfo','rt_sigreturn','rt_sigsuspend','rt_sigtimedwait','rt_sigtimedwait_time64',"                  \
	"'rt_tgsigqueueinfo','sched_getaffinity','sched_getattr','sched_getparam','sched_get_priority_max','sched_get_priority_min',"    \
	"'sched_getscheduler','sched_rr_get_interval','sched_rr_get_interval_time64','sched_setaffinity','sched_setattr',"               \
	"'sched_setparam','sched_setscheduler','sched_yield','seccomp','select','semctl','semget','semop','semtimedop',"                 \
	"'semtimedop_time64','send','sendfile','sendfile64','sendmmsg','sendmsg','sendto','setfsgid','setfsgid32','setfsuid',"            \
	"'setfsuid32','setgid','setgid32','setgroups','setgroups32','setitimer','setpgid','setpriority','setregid','setregid32',"         \
	"'setresgid','setresgid32','setresuid','setresuid32','setreuid','setreuid32','setrlimit','set_robust_list','setsid',"            \
	"'setsockopt','set_thread_area','set_tid_address','setuid','setuid32','setxattr','shmat','shmctl','shmdt','shmget','shutdown',"   \
	"'sigaltstack','signalfd','signalfd4','sigprocmask','sigreturn','socketcall','socketpair','splice','stat','stat64','statfs',"     \
	"'statfs64','statx','symlink','symlinkat','sync','sync_file_range','syncfs','sysinfo','tee','tgkill','time','timer_create',"      \
	"'timer_delete','timer_getoverrun','timer_gettime','timer_gettime64','timer_settime','timer_settime64','timerfd_create',"        \
	"'timerfd_gettime','timerfd_gettime64','timerfd_settime','timerfd_settime64','times','tkill','truncate','truncate64',"           \
	"'ugetrlimit','umask','uname','unlink','unlinkat','utime','utimensat','utimensat_time64','utimes','vfork','vmsplice','wait4',"    \
	"'waitid','waitpid','write','writev'"

static const char docker_profile[] =
	"{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':1,"
	"'architectures':['SCMP_ARCH_X86_64','SCMP_ARCH_X86','SCMP_ARCH_X32'],"
	"'syscalls':[{'names':[" DOCKER_ALLOW "],'action':'SCMP_ACT_ALLOW'},"
	"{'names':['process_vm_readv','process_vm_writev','ptrace'],'action':'SCMP_ACT_ALLOW'},"
	"{'names':['socket'],'action':'SCMP_ACT_ALLOW','args':[{'index':0,'value':40,'op':'SCMP_CMP_NE'}]},"
	"{'names':['personality'],'action':'SCMP_ACT_ALLOW','args':[{'index':0,'value':0,'op':'SCMP_CMP_EQ'}]},"
	"{'names':['personality'],'action':'SCMP_ACT_ALLOW','args':[{'index':0,'value':8,'op':'SCMP_CMP_EQ'}]},"
	"{'names':['personality'],'action':'SCMP_ACT_ALLOW','args':[{'index':0,'value':131072,'op':'SCMP_CMP_EQ'}]},"
	"{'names':['personality'],'action':'SCMP_ACT_ALLOW','args':[{'index':0,'value':131080,'op':'SCMP_CMP_EQ'}]},"
	"{'names':['personality'],'action':'SCMP_ACT_ALLOW','args':[{'index':0,'value':4294967295,'op':'SCMP_CMP_EQ'}]},"
	"{'names':['arch_prctl'],'action':'SCMP_ACT_ALLOW'},"
	"{'names':['modify_ldt'],'action':'SCMP_ACT_ALLOW'},"
	"{'names':['clone'],'action':'SCMP_ACT_ALLOW','args':[{'index':0,'value':2114060288,'valueTwo':0,'op':'SCMP_CMP_MASKED_EQ'}]},"
	"{'names':['clone3'],'action':'SCMP_ACT_ERRNO','errnoRet':38}]}";

static void body_docker(struct child *ch)
{
	struct utsname u;
	char cwd[256];
	pid_t p;
	long rc;
	int st;

	CCHECK(ch, uname(&u) == 0);
	CCHECK(ch, getcwd(cwd, sizeof(cwd)) != NULL);
	CCHECK(ch, sock_errno(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC) == 0);
	CCHECK(ch, sock_errno(AF_VSOCK, SOCK_STREAM) == EPERM);
	errno = 0;
	CCHECK(ch, syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0) == -1 &&
			   errno == EPERM);
	errno = 0;
	CCHECK(ch, syscall(SYS_add_key, "user", "k", "v", 1, -3) == -1 &&
			   errno == EPERM);
	errno = 0;
	CCHECK(ch, unshare(CLONE_NEWNS) == -1 && errno == EPERM);
	/* clone3 fails with ENOSYS so that libc falls back to clone */
	errno = 0;
	CCHECK(ch, syscall(SYS_clone3, NULL, 0) == -1 && errno == ENOSYS);
	CCHECK(ch, personality(0xffffffff) >= 0);
	errno = 0;
	CCHECK(ch, personality(PER_BSD) == -1 && errno == EPERM);
	/* a plain fork passes the clone flags mask ... */
	p = fork();
	if (p == 0)
		_exit(7);
	CCHECK(ch, p > 0);
	CCHECK(ch, waitpid(p, &st, 0) == p && WIFEXITED(st) &&
			   WEXITSTATUS(st) == 7);
	/* ... a new namespace does not */
	errno = 0;
	rc = syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, 0, 0, 0, 0);
	if (rc == 0)
		_exit(0);
	CCHECK(ch, rc == -1 && errno == EPERM);
}

TEST(test_docker_default_profile)
{
	/* docker leaves no_new_privs off; as root the load then relies on
	 * CAP_SYS_ADMIN, as the init's would */
	CHILD_OK(docker_profile, geteuid() == 0 ? LOAD_NO_NNP : LOAD_NNP,
		 body_docker, NULL);
}

/* ---- process.noNewPrivileges false --------------------------------------- */

static void body_no_nnp(struct child *ch)
{
	struct utsname u;

	/* the filter did not turn no_new_privs on behind the config's back */
	CCHECK(ch, prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0);
	errno = 0;
	CCHECK(ch, uname(&u) == -1 && errno == 1234);
}

TEST(test_load_without_nnp)
{
	static const char cfg[] =
		SC(ALLOW ",'syscalls':[{'names':['uname'],'action':'SCMP_ACT_ERRNO','errnoRet':1234}]");
	char *m = NULL;
	int st = 0;

	CHILD_OK(cfg, LOAD_NO_NNP, body_no_nnp, NULL);
	/* without CAP_SYS_ADMIN and without no_new_privs the kernel says no */
	CHECK(run_child(cfg, LOAD_NO_CAPS, body_no_nnp, NULL, &st, &m, NULL,
			NULL) == 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	CHECK_STR(m, "linux.seccomp: loading the filter: Permission denied (without process.noNewPrivileges it needs CAP_SYS_ADMIN)");
	free(m);
}

int main(void)
{
	/* child failures must not be printed twice through inherited stdio */
	setvbuf(stdout, NULL, _IOLBF, 0);
	run_build_cases();
	if (seccomp_arch_resolve_name("loongarch64") == 0)
		RUN(test_build_arch_unknown_to_libseccomp);
	else
		printf("SKIP test_build_arch_unknown_to_libseccomp: skipped: "
		       "this libseccomp knows loongarch64\n");
	RUN(test_build_wait_killable_recv);
	RUN(test_build_unvalidated_structs);
	RUN(test_export_bpf);
	RUN(test_features);
	RUN(test_load_errno);
	RUN(test_load_kill);
	RUN(test_load_trap);
	RUN(test_load_trace);
	RUN(test_load_log_and_flags);
	RUN(test_load_masked_eq_and);
	RUN(test_load_same_index_or);
	RUN(test_load_unknown_name_skipped);
	RUN(test_load_notify);
	RUN(test_load_notify_unknown_only);
	RUN(test_send_listener);
	RUN(test_send_listener_errors);
	RUN(test_docker_default_profile);
	if (geteuid() == 0)
		RUN(test_load_without_nnp);
	else
		printf("SKIP test_load_without_nnp: skipped: needs root "
		       "(CAP_SYS_ADMIN)\n");
	UNIT_EXIT();
}
