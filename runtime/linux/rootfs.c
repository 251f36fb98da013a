/* The container's root: propagation, the rootfs mount, the spec's mounts,
 * /dev, sysctl, masked and read-only paths, then pivot_root. Everything
 * before pivot_root is resolved relative to the rootfs fd. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/linux/internal.h"
#include "runtime/linux/linux.h"

static unsigned long root_propagation(const char *name)
{
	static const struct {
		const char *name;
		unsigned long flags;
	} t[] = {
		{"private", MS_PRIVATE},      {"rprivate", MS_PRIVATE | MS_REC},
		{"shared", MS_SHARED},        {"rshared", MS_SHARED | MS_REC},
		{"slave", MS_SLAVE},          {"rslave", MS_SLAVE | MS_REC},
		{"unbindable", MS_UNBINDABLE},
		{"runbindable", MS_UNBINDABLE | MS_REC},
	};

	for (size_t i = 0; name && i < ARRAY_SIZE(t); i++)
		if (strcmp(name, t[i].name) == 0)
			return t[i].flags;
	return MS_PRIVATE | MS_REC;
}

/* ---- /dev ---------------------------------------------------------------- */

static const struct {
	const char *name;
	unsigned major, minor;
} default_devices[] = {
	{"null", 1, 3},    {"zero", 1, 5}, {"full", 1, 7},
	{"random", 1, 8},  {"urandom", 1, 9}, {"tty", 5, 0},
};

static const struct {
	const char *name, *target;
} default_links[] = {
	{"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"},
	{"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
	{"core", "/proc/kcore"},       {"ptmx", "pts/ptmx"},
};

/* Make one device node in dirfd. mknod first (one syscall); where that is
 * not permitted, bind the host's node (what user namespaces will need). */
static int make_node(int dirfd, const char *dir, const char *name,
		     mode_t mode, dev_t dev, uid_t uid, gid_t gid,
		     struct husk_err **err)
{
	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return husk_err_sys(err, "remove %s/%s", dir, name);
	if (mknodat(dirfd, name, mode, dev) < 0) {
		_cleanup_free_ char *host = NULL;
		_cleanup_close_ int tree = -1, dst = -1;

		if (errno != EPERM || !S_ISCHR(mode))
			return husk_err_sys(err, "mknod %s/%s", dir, name);
		host = husk_asprintf("/dev/%s", name);
		dst = openat(dirfd, name,
			     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				     O_CLOEXEC,
			     0644);
		if (dst < 0)
			return husk_err_sys(err, "create %s/%s", dir, name);
		close(dst);
		dst = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		tree = open_tree(AT_FDCWD, host,
				 OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (dst < 0 || tree < 0 ||
		    move_mount(tree, "", dst, "",
			       MOVE_MOUNT_F_EMPTY_PATH |
				       MOVE_MOUNT_T_EMPTY_PATH) < 0)
			return husk_err_sys(err, "bind %s on %s/%s", host, dir,
					    name);
		return 0;
	}
	if ((uid != 0 || gid != 0) &&
	    fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return husk_err_sys(err, "chown %s/%s", dir, name);
	return 0;
}

static int spec_device(int rootfd, const struct oci_device *d, size_t i,
		       struct husk_err **err)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int dfd = -1;
	char *name;
	mode_t mode;

	if (d->path == NULL || d->path[0] != '/' || d->type == NULL)
		return husk_err_set(err, EINVAL,
				    "linux.devices[%zu]: path and type are "
				    "required",
				    i);
	dir = husk_strdup(d->path);
	name = strrchr(dir, '/');
	*name++ = '\0';
	if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return husk_err_set(err, EINVAL,
				    "linux.devices[%zu].path: %s: not a file "
				    "name",
				    i, d->path);
	switch (d->type[0]) {
	case 'c':
	case 'u':
		mode = S_IFCHR;
		break;
	case 'b':
		mode = S_IFBLK;
		break;
	case 'p':
		mode = S_IFIFO;
		break;
	default:
		return husk_err_set(err, EINVAL,
				    "linux.devices[%zu].type: unknown type %s",
				    i, d->type);
	}
	mode |= d->file_mode.set ? (mode_t)(d->file_mode.v & 07777) : 0666;
	dfd = root_mkpath(rootfd, dir[0] ? dir : "/", false, err);
	if (dfd < 0)
		return husk_err_prefix(err, "linux.devices[%zu]", i);
	return make_node(dfd, dir, name, mode,
			 makedev((unsigned)d->major, (unsigned)d->minor),
			 d->uid.set ? (uid_t)d->uid.v : 0,
			 d->gid.set ? (gid_t)d->gid.v : 0, err);
}

static bool dev_is_bind(const struct oci_spec *spec)
{
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct oci_mount *m = &spec->mounts[i];
		if (m->destination == NULL || strcmp(m->destination, "/dev") != 0)
			continue;
		if (m->type && strcmp(m->type, "bind") == 0)
			return true;
		for (size_t k = 0; k < m->options.n; k++)
			if (strcmp(m->options.v[k], "bind") == 0 ||
			    strcmp(m->options.v[k], "rbind") == 0)
				return true;
	}
	return false;
}

static int devices_setup(const struct oci_spec *spec, int rootfd,
			 struct husk_err **err)
{
	const struct oci_linux *lx = spec->linux_;
	_cleanup_close_ int dev = -1;

	/* A /dev bound from the host already has its nodes (runc). */
	if (!dev_is_bind(spec)) {
		dev = root_mkpath(rootfd, "/dev", false, err);
		if (dev < 0)
			return -1;
		for (size_t i = 0; i < ARRAY_SIZE(default_devices); i++)
			if (make_node(dev, "/dev", default_devices[i].name,
				      S_IFCHR | 0666,
				      makedev(default_devices[i].major,
					      default_devices[i].minor),
				      0, 0, err) < 0)
				return -1;
		for (size_t i = 0; i < ARRAY_SIZE(default_links); i++) {
			const char *n = default_links[i].name;
			/* /dev/ptmx may exist as a node: the pts one wins. */
			if (strcmp(n, "ptmx") == 0 && unlinkat(dev, n, 0) < 0 &&
			    errno != ENOENT)
				return husk_err_sys(err, "remove /dev/ptmx");
			if (symlinkat(default_links[i].target, dev, n) < 0 &&
			    errno != EEXIST)
				return husk_err_sys(err, "symlink /dev/%s", n);
		}
	}
	for (size_t i = 0; lx && i < lx->n_devices; i++)
		if (spec_device(rootfd, &lx->devices[i], i, err) < 0)
			return -1;
	return 0;
}

/* ---- sysctl, masked and read-only paths ---------------------------------- */

/* runtime-spec config-linux.md#sysctl: keys were checked against the
 * namespaced list by linux_check_supported. */
static int sysctl_apply(const struct oci_spec *spec, int rootfd,
			struct husk_err **err)
{
	const struct oci_linux *lx = spec->linux_;

	for (size_t i = 0; lx && i < lx->n_sysctl; i++) {
		const struct oci_kv *kv = &lx->sysctl[i];
		_cleanup_free_ char *p = husk_asprintf("/proc/sys/%s", kv->key);
		_cleanup_close_ int fd = -1;

		for (char *s = p + 10; *s; s++)
			if (*s == '.')
				*s = '/';
		fd = root_open(rootfd, p, O_WRONLY, err);
		if (fd < 0)
			return husk_err_prefix(err, "sysctl %s", kv->key);
		if (husk_write_all(fd, kv->value, strlen(kv->value)) < 0)
			return husk_err_sys(err, "sysctl %s=%s", kv->key,
					    kv->value);
	}
	return 0;
}

/* Open a path inside the rootfs; a missing path is skipped (as runc). */
static int open_optional(int rootfd, const char *path, struct husk_err **err)
{
	struct husk_err *e = NULL;
	int fd = root_open(rootfd, path, O_PATH, &e);

	if (fd >= 0)
		return fd;
	if (e->errnum == ENOENT) {
		husk_err_free(&e);
		return -2;
	}
	*err = e;
	return -1;
}

static int readonly_paths(const struct oci_strv *v, int rootfd,
			  struct husk_err **err)
{
	for (size_t i = 0; i < v->n; i++) {
		_cleanup_close_ int fd = open_optional(rootfd, v->v[i], err);
		_cleanup_close_ int tree = -1;
		struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};

		if (fd == -2)
			continue;
		if (fd < 0)
			return husk_err_prefix(err, "linux.readonlyPaths[%zu]",
					       i);
		tree = open_tree(fd, "",
				 OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
					 AT_RECURSIVE | AT_EMPTY_PATH);
		if (tree < 0 ||
		    mount_setattr(tree, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0 ||
		    move_mount(tree, "", fd, "",
			       MOVE_MOUNT_F_EMPTY_PATH |
				       MOVE_MOUNT_T_EMPTY_PATH) < 0)
			return husk_err_sys(err, "make %s read-only", v->v[i]);
	}
	return 0;
}

static int masked_paths(const struct oci_strv *v, int rootfd,
			struct husk_err **err)
{
	_cleanup_close_ int null = -1;

	for (size_t i = 0; i < v->n; i++) {
		_cleanup_close_ int fd = open_optional(rootfd, v->v[i], err);
		_cleanup_close_ int tree = -1;
		struct stat st;
		char p[64];

		if (fd == -2)
			continue;
		if (fd < 0)
			return husk_err_prefix(err, "linux.maskedPaths[%zu]", i);
		if (fstat(fd, &st) < 0)
			return husk_err_sys(err, "stat %s", v->v[i]);
		if (S_ISDIR(st.st_mode)) {
			snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
			if (mount("tmpfs", p, "tmpfs", MS_RDONLY, NULL) < 0)
				return husk_err_sys(err, "mask %s", v->v[i]);
			continue;
		}
		if (null < 0) {
			null = open("/dev/null", O_PATH | O_CLOEXEC);
			if (null < 0)
				return husk_err_sys(err, "open /dev/null");
		}
		tree = open_tree(null, "",
				 OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
					 AT_EMPTY_PATH);
		if (tree < 0 ||
		    move_mount(tree, "", fd, "",
			       MOVE_MOUNT_F_EMPTY_PATH |
				       MOVE_MOUNT_T_EMPTY_PATH) < 0)
			return husk_err_sys(err, "mask %s", v->v[i]);
	}
	return 0;
}

/* ---- pivot ---------------------------------------------------------------- */

static int enter_root(int rootfd, bool no_pivot, unsigned long prop,
		      struct husk_err **err)
{
	if (fchdir(rootfd) < 0)
		return husk_err_sys(err, "chdir to the rootfs");
	if (no_pivot) {
		if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
			return husk_err_sys(err, "move the rootfs to /");
		if (chroot(".") < 0)
			return husk_err_sys(err, "chroot");
	} else {
		/* pivot_root(".", ".") stacks the old root on top of the new
		 * one; detaching "." then removes it without a put_old dir
		 * (which a read-only rootfs could not hold). */
		if (syscall(SYS_pivot_root, ".", ".") < 0)
			return husk_err_sys(err, "pivot_root");
		/* A shared old root would take the detach to its peers. */
		if ((prop & (MS_SHARED | MS_SLAVE)) &&
		    mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
			return husk_err_sys(err, "make the old root a slave");
		if (umount2(".", MNT_DETACH) < 0)
			return husk_err_sys(err, "detach the old root");
	}
	if (chdir("/") < 0)
		return husk_err_sys(err, "chdir /");
	return 0;
}

/* Make the mount that holds path (the longest mount point above it)
 * private, not recursively. */
static int parent_mount_private(const char *path, struct husk_err **err)
{
	_cleanup_free_ char *buf = NULL, *best = NULL;
	size_t best_len = 0;
	char *save = NULL;

	if (husk_read_file_at(AT_FDCWD, "/proc/self/mountinfo", 16u << 20,
			      &buf, NULL, err) < 0)
		return -1;
	for (char *l = strtok_r(buf, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char *mp = l;
		size_t len;
		/* the fifth field; mount points with spaces are escaped */
		for (int i = 0; i < 4 && mp; i++) {
			mp = strchr(mp, ' ');
			if (mp)
				mp++;
		}
		if (mp == NULL)
			continue;
		len = strcspn(mp, " ");
		if (len < best_len || strncmp(path, mp, len) != 0 ||
		    (len > 1 && path[len] != '/' && path[len] != '\0'))
			continue;
		free(best);
		best = strndup(mp, len);
		best_len = len;
	}
	if (best == NULL)
		return husk_err_set(err, ENOENT, "no mount holds %s", path);
	if (mount(NULL, best, NULL, MS_PRIVATE, NULL) < 0)
		return husk_err_sys(err, "make %s private", best);
	return 0;
}

int rootfs_setup(struct init_ctx *c, struct husk_err **err)
{
	const struct oci_spec *spec = c->spec;
	const struct oci_linux *lx = spec->linux_;
	unsigned long prop = root_propagation(lx ? lx->rootfs_propagation : NULL);
	_cleanup_close_ int rootfd = -1;

	/* Nothing mounted from here on may reach the host's mount table.
	 * An unbindable / could not give the rootfs bind below: it becomes
	 * unbindable after pivot_root. */
	if (mount(NULL, "/",  NULL,
		  prop & MS_UNBINDABLE ? (prop & MS_REC) | MS_PRIVATE : prop,
		  NULL) < 0)
		return husk_err_sys(err, "set the propagation of /");
	/* pivot_root refuses a shared new root or a shared parent of it:
	 * the mount holding the rootfs dir (whose bind the new root is)
	 * turns private, as runc does. */
	if ((prop & MS_SHARED) && parent_mount_private(c->rootfs, err) < 0)
		return -1;
	if (mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return husk_err_sys(err, "bind the rootfs %s", c->rootfs);
	rootfd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return husk_err_sys(err, "open %s", c->rootfs);
	if (mounts_apply(c, rootfd, err) < 0 ||
	    devices_setup(spec, rootfd, err) < 0)
		return -1;
	if (spec->process && spec->process->cwd) {
		_cleanup_close_ int cwd = root_mkpath(rootfd, spec->process->cwd,
						      false, err);
		if (cwd < 0)
			return husk_err_prefix(err, "process.cwd");
	}
	/* runc's order: prestart, createRuntime and createContainer with the
	 * mounts made, before anything is sealed and before pivot_root. */
	if (init_hooks_mounted(c, err) < 0)
		return -1;
	/* sysctl goes through /proc/sys before readonlyPaths seals it. */
	if (sysctl_apply(spec, rootfd, err) < 0)
		return -1;
	if (lx && (readonly_paths(&lx->readonly_paths, rootfd, err) < 0 ||
		   masked_paths(&lx->masked_paths, rootfd, err) < 0))
		return -1;
	if (spec->root && spec->root->readonly) {
		struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
		if (mount_setattr(rootfd, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
			return husk_err_sys(err, "make the rootfs read-only");
	}
	if (enter_root(rootfd, c->o->no_pivot, prop, err) < 0)
		return -1;
	if ((prop & (MS_SHARED | MS_UNBINDABLE)) &&
	    mount(NULL, "/", NULL, prop, NULL) < 0)
		return husk_err_sys(err, "set the propagation of the rootfs");
	return 0;
}

int rootfs_set_names(const struct oci_spec *spec, struct husk_err **err)
{
	if (spec->hostname &&
	    sethostname(spec->hostname, strlen(spec->hostname)) < 0)
		return husk_err_sys(err, "sethostname %s", spec->hostname);
	if (spec->domainname &&
	    setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
		return husk_err_sys(err, "setdomainname %s", spec->domainname);
	return 0;
}
