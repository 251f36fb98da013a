/* The container backend: what `husk` (and later husk-agent) asks of
 * runtime/linux/. The CLI owns the state directory and state.json; this
 * module owns processes, namespaces, mounts and cgroups. */
#ifndef HUSK_LINUX_H
#define HUSK_LINUX_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"
#include "oci/spec.h"

struct linux_create_opts {
	const struct oci_spec *spec; /* parsed and validated */
	const char *id;
	const char *bundle;         /* absolute path of the bundle directory */
	const char *state_dir;      /* absolute, exists; exec.fifo is made here */
	const char *console_socket; /* NULL if none */
	int preserve_fds;           /* fds 3 .. 3+n-1 are passed to the process */
	bool no_pivot;
	bool no_new_keyring;
	bool systemd_cgroup;
};

struct linux_container {
	pid_t pid;                      /* init, as seen from the host */
	unsigned long long start_time;  /* field 22 of /proc/<pid>/stat */
	char *cgroup_path;              /* e.g. "/husk/<id>", same on every hierarchy */
};

/* Refuse any config.json field the backend does not apply yet, naming its
 * JSON path ("linux.seccomp: not supported yet"). Fields present with a
 * value that changes nothing are accepted. */
int linux_check_supported(const struct oci_spec *spec, struct husk_err **err);

/* Create the container: cgroup, namespaces, rootfs, process set up to the
 * point where only execve() is left; the init then blocks opening
 * <state_dir>/exec.fifo for writing. The init is a child of the caller.
 * On failure nothing is left behind (no process, cgroup, mount or fifo). */
int linux_container_create(const struct linux_create_opts *o,
			   struct linux_container *out, struct husk_err **err);

/* Release a created container's init (write a byte to exec.fifo), wait
 * until it has exec'd the process, remove the fifo. Fails if the fifo is
 * gone (already started), with the init's message if a startContainer hook
 * or execve failed, or if the init died first. */
int linux_container_start(const char *state_dir, struct husk_err **err);

/* true if c->pid still exists, is not a zombie and has c->start_time. */
bool linux_container_alive(const struct linux_container *c);

/* Signal the init through a pidfd (never a reused pid); with all, every
 * process in the container's cgroup. */
int linux_container_signal(const struct linux_container *c, int sig, bool all,
			   struct husk_err **err);

/* Kill whatever is left in the container's cgroup, wait until it is empty
 * and remove the cgroup on every hierarchy. Safe to call more than once. */
int linux_container_destroy(const struct linux_container *c,
			    struct husk_err **err);

void linux_container_clear(struct linux_container *c);

struct linux_exec_opts {
	const struct oci_process *process; /* validated */
	const struct oci_spec *spec;       /* the container's config */
	const char *console_socket; /* with process->terminal; NULL: the
				     * master comes back in *master */
	int preserve_fds;
};

/* Start a process in a running container: every namespace of the init
 * (pid included: it is the pid namespace's child), its cgroup on every
 * hierarchy, then the process's own cwd, rlimits, user, capabilities,
 * noNewPrivileges and terminal. Returns once the process has exec'd (or
 * failed to, with the reason); it is a child of the caller, *pid as the
 * host sees it. *master (if not NULL) is -1, or the pty master when
 * process->terminal is set without a console socket. */
int linux_container_exec(const struct linux_container *c,
			 const struct linux_exec_opts *o, pid_t *pid,
			 int *master, struct husk_err **err);

/* runtime/linux/cgroup_ops.c: `update` (write r into the cgroup),
 * `pause`/`resume` (return once frozen/thawed), `ps` (the host pids in
 * the container's cgroup, *pids allocated). */
int linux_container_update(const struct linux_container *c,
			   const struct oci_resources *r,
			   struct husk_err **err);
int linux_container_freeze(const struct linux_container *c, bool freeze,
			   struct husk_err **err);
int linux_container_pids(const struct linux_container *c, pid_t **pids,
			 size_t *n, struct husk_err **err);
/* runtime/linux/stats.c: one `events --stats` line, runc's JSON
 * ({"type":"stats","id":..,"data":{cpu,memory,pids,blkio,hugetlb}}). */
int linux_container_stats_json(const struct linux_container *c,
			       const char *id, char **out,
			       struct husk_err **err);
/* The cgroup's count of OOM kills so far (0 without a memory controller). */
int linux_container_oom_kills(const struct linux_container *c, uint64_t *n,
			      struct husk_err **err);

#endif
