/* Unit tests of the container backend's pure parts: the cgroup v2 device
 * filter (built, then run by the kernel's verifier and, where a cgroup2
 * hierarchy is mounted, enforced on a child), cgroup paths, mount options
 * and linux_check_supported's messages. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/linux/internal.h"
#include "runtime/linux/linux.h"
#include "tests/unit/unit.h"

#define CG2_MAGIC 0x63677270

TEST(bpf_default_rules_shape)
{
	struct dev_rule *rules = NULL;
	struct bpf_insn *p = NULL;
	struct husk_err *err = NULL;
	size_t n, ni;

	CHECK(devices_rules_build(NULL, &rules, &n, &err) == 0);
	CHECK(n == 10);
	CHECK(devices_bpf_build(rules, n, &p, &ni, &err) == 0);
	/* prologue 6; per rule: type jump, optional access (3), major,
	 * minor, mov+exit; epilogue 2. The defaults: 2 mknod-any rules
	 * (type+access+2 = 6), 7 fully specified (type+maj+min+2 = 5), one
	 * c 136:* (type+maj+2 = 4). */
	CHECK(ni == 6 + 2 * 6 + 7 * 5 + 4 + 2);
	CHECK(p[0].code == (BPF_LDX | BPF_MEM | BPF_W));
	CHECK(p[ni - 1].code == (BPF_JMP | BPF_EXIT));
	CHECK(p[ni - 2].imm == 0); /* default deny */
	/* The last rule (c 5:2 rwm, allow) is checked first. */
	CHECK(p[6].code == (BPF_JMP32 | BPF_JNE | BPF_K) && p[6].imm == 2);
	CHECK(p[7].dst_reg == BPF_REG_4 && p[7].imm == 5);
	CHECK(p[8].dst_reg == BPF_REG_5 && p[8].imm == 2);
	CHECK(p[6].off == 4 && p[9].imm == 1);
	free(p);
	free(rules);
}

TEST(bpf_match_all_ends_program)
{
	struct dev_rule r[] = {{true, 'c', 1, 3, 7}, {false, 'a', -1, -1, 7}};
	struct bpf_insn *p = NULL;
	struct husk_err *err = NULL;
	size_t ni;

	CHECK(devices_bpf_build(r, 2, &p, &ni, &err) == 0);
	/* The deny-all rule is last, so checked first and unconditional:
	 * nothing after it (the verifier refuses unreachable code). */
	CHECK(ni == 6 + 2);
	CHECK(p[6].code == (BPF_ALU64 | BPF_MOV | BPF_K) && p[6].imm == 0);
	free(p);
}

TEST(rules_bad_type)
{
	struct oci_device_rule d = {.allow = true, .type = "x"};
	struct oci_resources res = {.devices = &d, .n_devices = 1};
	struct dev_rule *rules = NULL;
	struct husk_err *err = NULL;
	size_t n;

	CHECK(devices_rules_build(&res, &rules, &n, &err) < 0);
	CHECK_STR(err->msg, "linux.resources.devices[0].type: must be \"a\", "
			    "\"b\" or \"c\"");
	husk_err_free(&err);
}

/* Load the default program into the kernel: the verifier must accept it. */
static void bpf_load_case(struct unit_ctx *u_, const struct dev_rule *r,
			  size_t n, int *prog)
{
	struct bpf_insn *p = NULL;
	struct husk_err *err = NULL;
	size_t ni;

	*prog = -1;
	CHECK(devices_bpf_build(r, n, &p, &ni, &err) == 0);
	if (devices_bpf_load(p, ni, prog, &err) < 0) {
		printf("FAIL %s: %s\n", u_->name, err->msg);
		u_->failed = 1;
		husk_err_free(&err);
	}
	free(p);
}

static const char *cgroup2_root(void)
{
	static const char *const c[] = {"/sys/fs/cgroup/unified",
					"/sys/fs/cgroup"};
	struct statfs s;

	for (size_t i = 0; i < ARRAY_SIZE(c); i++)
		if (statfs(c[i], &s) == 0 && s.f_type == CG2_MAGIC)
			return c[i];
	return NULL;
}

/* A child in a cgroup2 cgroup with the filter may open /dev/null but not
 * /dev/zero. BPF device programs apply from the task's v2 cgroup on hybrid
 * hosts too, so this runs wherever cgroup2 is mounted. */
static void bpf_enforced(struct unit_ctx *u_)
{
	struct dev_rule r[] = {{false, 'a', -1, -1, 7}, {true, 'c', 1, 3, 7}};
	const char *root = cgroup2_root();
	struct husk_err *err = NULL;
	char dir[128], procs[160];
	int prog, dfd, status;
	pid_t pid;

	if (geteuid() != 0 || root == NULL) {
		printf("SKIP bpf_enforced: skipped: needs root and cgroup2\n");
		return;
	}
	bpf_load_case(u_, r, 2, &prog);
	if (prog < 0)
		return;
	snprintf(dir, sizeof(dir), "%s/husk-unit-%d", root, (int)getpid());
	CHECK(mkdir(dir, 0755) == 0);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(dfd >= 0);
	if (devices_bpf_attach(prog, dfd, &err) < 0) {
		printf("FAIL bpf_enforced: %s\n", err->msg);
		u_->failed = 1;
		husk_err_free(&err);
		rmdir(dir);
		return;
	}
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	pid = fork();
	if (pid == 0) {
		int fd = open(procs, O_WRONLY), ok = 0, a, b;
		if (fd < 0 || write(fd, "0", 1) != 1)
			_exit(9);
		close(fd);
		a = open("/dev/null", O_RDONLY);
		b = open("/dev/zero", O_RDONLY);
		ok = a >= 0 && b < 0 && errno == EPERM;
		_exit(ok ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	close(dfd);
	close(prog);
	rmdir(dir);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	printf("PASS bpf_enforced\n");
}

TEST(bpf_verifier_accepts_defaults)
{
	struct dev_rule *rules = NULL;
	struct husk_err *err = NULL;
	size_t n;
	int prog;

	if (geteuid() != 0) {
		printf("SKIP %s: skipped: needs root\n", u_->name);
		return;
	}
	CHECK(devices_rules_build(NULL, &rules, &n, &err) == 0);
	bpf_load_case(u_, rules, n, &prog);
	free(rules);
	CHECK(prog >= 0);
	close(prog);
}

TEST(cgroup_paths)
{
	static const struct {
		const char *in, *id, *want;
	} ok[] = {
		{NULL, "abc", "/husk/abc"},
		{"", "abc", "/husk/abc"},
		{"/a/b", "x", "/a/b"},
		{"//a/./b/", "x", "/a/b"},
		{"rel/x", "x", "/husk/rel/x"},
	};
	static const char *const bad[] = {"/", "/a/../b", "..", "/./"};
	struct husk_err *err = NULL;
	char *out;

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		CHECK(cgroup_resolve_path(ok[i].in, ok[i].id, &out, &err) == 0);
		CHECK_STR(out, ok[i].want);
		free(out);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK(cgroup_resolve_path(bad[i], "x", &out, &err) < 0);
		CHECK(husk_str_has_prefix(err->msg, "linux.cgroupsPath: "));
		husk_err_free(&err);
	}
}

TEST(mount_options)
{
	char *v[] = {"rbind", "ro", "nosuid", "mode=755", "rshared", "rw",
		     "size=1k", "rro", NULL};
	struct oci_strv sv = {v, 8};
	char *bad[] = {"tmpcopyup", NULL};
	struct oci_strv bv = {bad, 1};
	struct mount_opts o;
	struct husk_err *err = NULL;

	CHECK(mount_opts_parse(&sv, "mounts[0]", &o, &err) == 0);
	CHECK(o.bind && o.rbind && o.rro);
	CHECK(o.flags == MS_NOSUID);
	CHECK(o.clear & MS_RDONLY);
	CHECK(o.propagation == (MS_SHARED | MS_REC));
	CHECK_STR(o.data, "mode=755,size=1k");
	mount_opts_free(&o);
	CHECK(mount_opts_parse(&bv, "mounts[3]", &o, &err) < 0);
	CHECK_STR(err->msg, "mounts[3].options[0]: tmpcopyup: not supported "
			    "yet");
	husk_err_free(&err);
}

static struct oci_namespace mnt_ns = {.type = OCI_NS_MOUNT,
				      .type_name = "mount"};

TEST(supported_messages)
{
	struct oci_memory mem = {.limit = {true, 1 << 20}};
	struct oci_memory mem0 = {.disable_oom_killer = {true, false},
				  .limit = {true, 0}};
	struct oci_cpu cpu0 = {.shares = {true, 0}};
	struct oci_resources res = {.memory = &mem};
	struct oci_resources res0 = {.memory = &mem0, .cpu = &cpu0};
	struct oci_seccomp sc = {0};
	struct oci_kv sysctl = {"kernel.panic", "1"};
	struct oci_linux lx = {.namespaces = &mnt_ns, .n_namespaces = 1};
	struct oci_process proc = {0};
	struct oci_spec s = {.process = &proc, .linux_ = &lx};
	struct husk_err *err = NULL;

	CHECK(linux_check_supported(&s, &err) == 0);
	lx.resources = &res0;
	CHECK(linux_check_supported(&s, &err) == 0);
	lx.resources = &res;
	CHECK(linux_check_supported(&s, &err) == 0);
	lx.resources = NULL;
	/* applied since issue 3 (runtime/linux/init_confine.c) */
	lx.seccomp = &sc;
	CHECK(linux_check_supported(&s, &err) == 0);
	lx.seccomp = NULL;
	lx.sysctl = &sysctl;
	lx.n_sysctl = 1;
	CHECK(linux_check_supported(&s, &err) < 0);
	CHECK_STR(err->msg, "linux.sysctl: sysctl \"kernel.panic\" is not in "
			    "a separate kernel namespace");
	husk_err_free(&err);
	lx.n_sysctl = 0;
	lx.n_namespaces = 0;
	CHECK(linux_check_supported(&s, &err) < 0);
	CHECK_STR(err->msg, "linux.namespaces: a mount namespace is required");
	husk_err_free(&err);
	lx.n_namespaces = 1;
	proc.terminal = true;
	CHECK(linux_check_supported(&s, &err) == 0);
}

TEST(supported_unknown_capability)
{
	char *caps[] = {"CAP_CHOWN", "CAP_NOPE", NULL};
	struct oci_caps c = {.effective = {caps, 2}};
	struct oci_process proc = {.capabilities = &c};
	struct oci_linux lx = {.namespaces = &mnt_ns, .n_namespaces = 1};
	struct oci_spec s = {.process = &proc, .linux_ = &lx};
	struct husk_err *err = NULL;

	CHECK(linux_check_supported(&s, &err) < 0);
	CHECK_STR(err->msg, "process.capabilities.effective[1]: unknown "
			    "capability \"CAP_NOPE\"");
	husk_err_free(&err);
}

int main(void)
{
	RUN(bpf_default_rules_shape);
	RUN(bpf_match_all_ends_program);
	RUN(rules_bad_type);
	RUN(bpf_verifier_accepts_defaults);
	{
		struct unit_ctx c_ = {"bpf_enforced", 0};
		bpf_enforced(&c_);
		unit_failures_ += c_.failed;
	}
	RUN(cgroup_paths);
	RUN(mount_options);
	RUN(supported_messages);
	RUN(supported_unknown_capability);
	UNIT_EXIT();
}
