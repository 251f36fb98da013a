/* The namespace dance, in one place (as runc's nsexec.c). The ordering
 * constraints:
 *  - A pid namespace (new or joined) only applies to children: the parent
 *    switches its pid_ns_for_children (unshare or setns), forks the init,
 *    and switches back to its own namespace right away. The init is thus a
 *    direct child of the caller (`husk run` waitpid()s it) and pid 1 of a
 *    new namespace.
 *  - The cgroup namespace must be unshared only after the parent placed the
 *    init in its cgroup, so the namespace's root is the container's cgroup:
 *    the child waits for the parent's "go" for that (ns_enter_cgroup). The
 *    other namespaces are entered at once (ns_join_rest): the first write
 *    to a v1 cgroup.procs waits for an RCU grace period, and the init's
 *    setup runs meanwhile.
 *  - Joined namespaces are entered (setns) before the new ones are made
 *    (unshare), so a new mount namespace copies the joined one's mounts.
 *  - A new time namespace applies to the init from its execve() on
 *    (Linux >= 5.18 switches to time_ns_for_children at exec).
 *  - User namespaces are refused by linux_check_supported for now. */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/linux/internal.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const int ns_flag[OCI_NS_COUNT] = {
	[OCI_NS_PID] = CLONE_NEWPID,       [OCI_NS_NETWORK] = CLONE_NEWNET,
	[OCI_NS_MOUNT] = CLONE_NEWNS,      [OCI_NS_IPC] = CLONE_NEWIPC,
	[OCI_NS_UTS] = CLONE_NEWUTS,       [OCI_NS_USER] = CLONE_NEWUSER,
	[OCI_NS_CGROUP] = CLONE_NEWCGROUP, [OCI_NS_TIME] = CLONE_NEWTIME,
};

int ns_open_paths(const struct oci_spec *spec, int fds[OCI_NS_COUNT],
		  bool is_new[OCI_NS_COUNT], struct husk_err **err)
{
	const struct oci_linux *lx = spec->linux_;

	for (int t = 0; t < OCI_NS_COUNT; t++) {
		fds[t] = -1;
		is_new[t] = false;
	}
	for (size_t i = 0; lx && i < lx->n_namespaces; i++) {
		const struct oci_namespace *ns = &lx->namespaces[i];
		int fd, type;

		if ((int)ns->type < 0 || ns->type >= OCI_NS_COUNT)
			return husk_err_set(err, EINVAL,
					    "linux.namespaces[%zu].type: unknown",
					    i);
		if (ns->path == NULL || ns->path[0] == '\0') {
			is_new[ns->type] = true;
			continue;
		}
		fd = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return husk_err_sys(err, "linux.namespaces[%zu].path: "
					    "open %s",
					    i, ns->path);
		fds[ns->type] = fd;
		/* A path to the wrong kind of namespace is a config error,
		 * not something setns() should discover later. */
		type = ioctl(fd, NS_GET_NSTYPE);
		if (type < 0)
			return husk_err_sys(err,
					    "linux.namespaces[%zu].path: %s",
					    i, ns->path);
		if (type != ns_flag[ns->type])
			return husk_err_set(err, EINVAL,
					    "linux.namespaces[%zu].path: %s is "
					    "not a %s namespace",
					    i, ns->path,
					    oci_ns_type_name(ns->type));
	}
	return 0;
}

pid_t ns_spawn(const int fds[OCI_NS_COUNT], const bool is_new[OCI_NS_COUNT],
	       int (*fn)(void *), void *arg, struct husk_err **err)
{
	_cleanup_close_ int self = -1;
	pid_t pid;
	int saved;

	if (fds[OCI_NS_PID] >= 0 || is_new[OCI_NS_PID]) {
		self = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
		if (self < 0)
			return husk_err_sys(err, "open /proc/self/ns/pid");
		if (fds[OCI_NS_PID] >= 0) {
			if (setns(fds[OCI_NS_PID], CLONE_NEWPID) < 0)
				return husk_err_sys(err, "setns pid namespace");
		} else if (unshare(CLONE_NEWPID) < 0) {
			return husk_err_sys(err, "unshare pid namespace");
		}
	}
	pid = fork();
	if (pid == 0)
		_exit(fn(arg));
	saved = errno;
	if (self >= 0 && setns(self, CLONE_NEWPID) < 0) {
		/* The caller's later children would land in the container's
		 * namespace: fail loudly rather than go on. */
		husk_err_sys(err, "setns back to the caller's pid namespace");
		if (pid > 0)
			kill(pid, SIGKILL);
		return -1;
	}
	errno = saved;
	if (pid < 0)
		return husk_err_sys(err, "fork");
	return pid;
}

int ns_join_rest(const int fds[OCI_NS_COUNT], const bool is_new[OCI_NS_COUNT],
		 struct husk_err **err)
{
	/* The mount namespace last among the joins: entering it changes the
	 * root, and nothing below needs a path. */
	static const enum oci_ns_type order[] = {
		OCI_NS_NETWORK, OCI_NS_IPC,  OCI_NS_UTS,
		OCI_NS_TIME,    OCI_NS_MOUNT,
	};
	int flags = 0;

	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		enum oci_ns_type t = order[i];
		if (fds[t] >= 0 && setns(fds[t], ns_flag[t]) < 0)
			return husk_err_sys(err, "setns %s namespace",
					    oci_ns_type_name(t));
		if (is_new[t])
			flags |= ns_flag[t];
	}
	if (flags && unshare(flags) < 0)
		return husk_err_sys(err, "unshare namespaces");
	return 0;
}

int ns_enter_cgroup(const int fds[OCI_NS_COUNT],
		    const bool is_new[OCI_NS_COUNT], struct husk_err **err)
{
	if (fds[OCI_NS_CGROUP] >= 0 &&
	    setns(fds[OCI_NS_CGROUP], CLONE_NEWCGROUP) < 0)
		return husk_err_sys(err, "setns cgroup namespace");
	if (is_new[OCI_NS_CGROUP] && unshare(CLONE_NEWCGROUP) < 0)
		return husk_err_sys(err, "unshare cgroup namespace");
	return 0;
}
