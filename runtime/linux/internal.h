/* Interfaces between the files of the container backend (runtime/linux/).
 * Nothing outside runtime/linux/ and its unit tests includes this. */
#ifndef HUSK_LINUX_INTERNAL_H
#define HUSK_LINUX_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "oci/spec.h"

/* ---- cgroups (cgroup.c, cgroup2.c) ------------------------------------- */

enum cg_mode { CG_V1, CG_HYBRID, CG_V2 };

struct cg_hier {
	char *mountpoint; /* "/sys/fs/cgroup/memory" */
	char *name;       /* last component of mountpoint: "memory" */
	char *options;    /* super options: "rw,cpu", "rw,name=systemd" */
	bool v2;
	bool freezer, cpuset, devices;
};

struct cg_layout {
	enum cg_mode mode;
	struct cg_hier *h;
	size_t n;
};

int cgroup_layout_detect(struct cg_layout *l, struct husk_err **err);
void cgroup_layout_free(struct cg_layout *l);

/* linux.cgroupsPath -> the path used on every hierarchy: absolute as given,
 * relative under /husk/, default /husk/<id>. Refuses "..", the root. */
int cgroup_resolve_path(const char *cgroups_path, const char *id, char **out,
			struct husk_err **err);

/* mkdir the cgroup on every hierarchy (cpuset initialised on v1). */
int cgroup_create(const struct cg_layout *l, const char *path,
		  struct husk_err **err);
/* Apply linux.resources.devices (v1 files or the v2 eBPF program). */
int cgroup_apply_devices(const struct cg_layout *l, const char *path,
			 const struct oci_resources *r, struct husk_err **err);
/* Apply the rest of linux.resources (resources.c): v1 files, or v2 ones
 * with runc's conversions; on hybrid hosts each controller where it is. */
int cgroup_apply_resources(const struct cg_layout *l, const char *path,
			   const struct oci_resources *r,
			   struct husk_err **err);
uint64_t cgroup_shares_to_weight(uint64_t shares);
uint64_t cgroup_blkio_to_io_weight(uint64_t weight);
/* Freeze or thaw (v1 freezer, v2 cgroup.freeze), waiting until done. */
int cgroup_freeze(const struct cg_layout *l, const char *path, bool freeze,
		  struct husk_err **err);
/* The pids in the container's cgroup (*pids allocated). */
int cgroup_pids(const struct cg_layout *l, const char *path, pid_t **pids,
		size_t *n, struct husk_err **err);
/* Write pid into cgroup.procs on every hierarchy. */
int cgroup_enter(const struct cg_layout *l, const char *path, pid_t pid,
		 struct husk_err **err);
int cgroup_signal_all(const struct cg_layout *l, const char *path, int sig,
		      struct husk_err **err);
/* Kill everything, wait until empty, rmdir everywhere; gone dirs are fine. */
int cgroup_destroy(const struct cg_layout *l, const char *path,
		   struct husk_err **err);

/* One device rule after defaults were merged: access bits are those of
 * BPF_DEVCG_ACC_* (mknod 1, read 2, write 4). */
struct dev_rule {
	bool allow;
	char type;            /* 'a' 'b' 'c' */
	int64_t major, minor; /* -1 = wildcard */
	unsigned access;
};

/* The spec's rules followed by the defaults runc appends. *out is
 * allocated. */
int devices_rules_build(const struct oci_resources *r, struct dev_rule **out,
			size_t *n, struct husk_err **err);

struct bpf_insn;
/* BPF_PROG_TYPE_CGROUP_DEVICE program for the rules (last match wins,
 * default deny). */
int devices_bpf_build(const struct dev_rule *rules, size_t n,
		      struct bpf_insn **out, size_t *n_insns,
		      struct husk_err **err);
int devices_bpf_load(const struct bpf_insn *insns, size_t n, int *prog_fd,
		     struct husk_err **err);
int devices_bpf_attach(int prog_fd, int cgroup_fd, struct husk_err **err);

/* ---- paths inside the rootfs (mounts.c) -------------------------------- */

/* openat2(root, path, RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS), O_PATH. */
int root_open(int rootfd, const char *path, int flags, struct husk_err **err);
/* Resolve path in root, creating missing directories (mode 0755) and, when
 * file is true, the last component as an empty file. Returns an O_PATH fd. */
int root_mkpath(int rootfd, const char *path, bool file,
		struct husk_err **err);

/* Mount flags from a spec mount's options. */
struct mount_opts {
	unsigned long flags;     /* MS_* for mount(2) */
	unsigned long clear;     /* MS_* explicitly cleared ("rw", "suid") */
	unsigned long propagation; /* MS_SHARED|MS_REC ... or 0 */
	uint64_t rec_set, rec_clr; /* MOUNT_ATTR_* with AT_RECURSIVE ("rro") */
	bool bind, rbind, rro;
	char *data;              /* unknown options, comma-joined */
};
int mount_opts_parse(const struct oci_strv *options, const char *where,
		     struct mount_opts *o, struct husk_err **err);
void mount_opts_free(struct mount_opts *o);
/* MOUNT_ATTR_* from MS_* flags. */
uint64_t mount_attr_from_flags(unsigned long flags);

/* ---- the child ---------------------------------------------------------- */

struct linux_create_opts;

/* Everything the init needs, prepared by the parent before clone. */
struct init_ctx {
	const struct linux_create_opts *o;
	const struct oci_spec *spec;
	const struct cg_layout *cg;
	const char *cg_path;
	char *rootfs;          /* absolute, resolved */
	int ns_fds[OCI_NS_COUNT]; /* namespaces to join, -1 if new/none */
	bool ns_new[OCI_NS_COUNT];
	int sock;              /* child end of the sync socket */
	int fifo_r, fifo_w;    /* exec.fifo, see container.c */
	void *seccomp;         /* scmp_filter_ctx built before clone, or NULL */
	bool hooks_synced;     /* init_hooks_mounted has run */
	int console_sock;      /* connected --console-socket, or -1 */
};

/* console.c: in the process about to exec, after pivot_root or setns into
 * the mount namespace: a pty from the container's /dev/ptmx sized by
 * process.consoleSize, the slave bound on /dev/console when bind, the
 * master sent over sock as runc sends it, the slave made the controlling
 * terminal and fds 0-2. */
int console_setup(int sock, const struct oci_process *p, bool bind,
		  struct husk_err **err);

/* init_confine.c: seccomp and the create-time hooks.
 * Messages of the init to the parent besides its final report: */
enum { INIT_MSG_HOOKS = 3, INIT_MSG_SECCOMP = 4 };
/* Parent, before clone: build the filter (a bad profile fails create). */
int init_seccomp_build(struct init_ctx *c, struct husk_err **err);
void init_seccomp_free(struct init_ctx *c);
/* Init: called before and after process_set_creds; loads the filter at the
 * one of the two that process.noNewPrivileges calls for (seccomp.h), and
 * passes a NOTIFY listener to the parent (INIT_MSG_SECCOMP). */
int init_seccomp_load(struct init_ctx *c, bool before_creds,
		      struct husk_err **err);
/* prestart, createRuntime or createContainer hooks exist. */
bool init_has_create_hooks(const struct oci_spec *spec);
/* Init, mounts in place, before pivot_root (once): the parent runs
 * prestart and createRuntime (INIT_MSG_HOOKS, answered 'h'), then the init
 * runs createContainer. */
int init_hooks_mounted(struct init_ctx *c, struct husk_err **err);
/* Init, released by start, right before execve. */
int init_hooks_start(struct init_ctx *c, struct husk_err **err);
/* Parent: one INIT_MSG_* of the init (pid as the host sees it); fd is the
 * one the message carried or -1. */
int init_parent_msg(struct init_ctx *c, int sock, pid_t pid, int32_t kind,
		    int fd, struct husk_err **err);
/* recv() that also takes one SCM_RIGHTS fd (O_CLOEXEC) into *fd, else
 * -1. */
ssize_t init_recv(int sock, void *buf, size_t len, int flags, int *fd);
/* start, after writing the release byte to exec.fifo through fd: wait
 * until the init has exec'd or died; a message it left in the fifo (a
 * failed startContainer hook or execve) is the error. */
int init_start_wait(int fd, const char *fifo, struct husk_err **err);

/* mounts.c: the spec's mounts, in order, under rootfd (before pivot_root). */
int mounts_apply(struct init_ctx *c, int rootfd, struct husk_err **err);

/* rootfs.c: everything from mount propagation to the read-only root. */
int rootfs_setup(struct init_ctx *c, struct husk_err **err);
/* rootfs.c: hostname, domainname. */
int rootfs_set_names(const struct oci_spec *spec, struct husk_err **err);

/* process.c */
int process_oom_score_adj(const struct oci_process *p, struct husk_err **err);
int process_rlimits(const struct oci_process *p, struct husk_err **err);
/* Resolve args[0] against PATH from env, inside the current root. */
int process_find_exec(const struct oci_process *p, char **out,
		      struct husk_err **err);
int process_chdir(const struct oci_process *p, struct husk_err **err);
/* groups, gid, uid, capabilities, noNewPrivileges, umask. */
int process_set_creds(const struct oci_process *p, struct husk_err **err);
/* Capability name -> number; -1 if unknown. */
int process_cap_from_name(const char *name);

/* netlink.c: bring lo up in the current network namespace. */
int netlink_loopback_up(struct husk_err **err);

/* namespaces.c */
/* Open linux.namespaces[].path and validate their types. */
int ns_open_paths(const struct oci_spec *spec, int fds[OCI_NS_COUNT],
		  bool is_new[OCI_NS_COUNT], struct husk_err **err);
/* Fork the init into its pid namespace (new or joined). The child runs
 * fn(arg) and _exit()s with its result; the parent gets the pid. */
pid_t ns_spawn(const int fds[OCI_NS_COUNT], const bool is_new[OCI_NS_COUNT],
	       int (*fn)(void *), void *arg, struct husk_err **err);
/* In the child: setns() into the joined namespaces, then unshare the new
 * ones; neither pid nor cgroup. */
int ns_join_rest(const int fds[OCI_NS_COUNT], const bool is_new[OCI_NS_COUNT],
		 struct husk_err **err);
/* In the child, once the parent placed it in its cgroup: the cgroup
 * namespace (joined or new, whose root is then the container's cgroup). */
int ns_enter_cgroup(const int fds[OCI_NS_COUNT],
		    const bool is_new[OCI_NS_COUNT], struct husk_err **err);

#endif
