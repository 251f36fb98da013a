/* The spec's mounts: option parsing, resolution of every target inside the
 * rootfs (openat2 RESOLVE_IN_ROOT, never a string path on the host), and
 * the mounts themselves, made through fds. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/linux/internal.h"
#include "runtime/linux/linux.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

int root_open(int rootfd, const char *path, int flags, struct husk_err **err)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	/* EAGAIN: a concurrent rename in the tree; the kernel asks to retry. */
	do
		fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	while (fd < 0 && (errno == EAGAIN || errno == EINTR));
	if (fd < 0)
		return husk_err_sys(err, "open %s in the rootfs", path);
	return fd;
}

static int mkpath_depth(int rootfd, const char *path, bool file, int depth,
			struct husk_err **err);

/* name in parent is a dangling symlink: create what it points to, the
 * target taken relative to the root (absolute) or to parent (relative),
 * followed by the rest of the path. */
static int mkpath_follow(int rootfd, int parent, const char *dir,
			 const char *name, const char *rest, bool file,
			 int depth, struct husk_err **err)
{
	char target[PATH_MAX];
	_cleanup_free_ char *next = NULL;
	ssize_t n = readlinkat(parent, name, target, sizeof(target) - 1);

	if (n < 0)
		return -2; /* not a symlink: EEXIST meant a race */
	target[n] = '\0';
	if (depth >= 40)
		return husk_err_set(err, ELOOP, "create %s/%s in the rootfs: "
				    "too many symlinks", dir, name);
	next = husk_asprintf("%s%s%s%s", target[0] == '/' ? "" : dir,
			     target[0] == '/' ? "" : "/", target, rest);
	return mkpath_depth(rootfd, next, file, depth + 1, err);
}

int root_mkpath(int rootfd, const char *path, bool file,
		struct husk_err **err)
{
	return mkpath_depth(rootfd, path, file, 0, err);
}

static int mkpath_depth(int rootfd, const char *path, bool file, int depth,
			struct husk_err **err)
{
	_cleanup_free_ char *p = NULL;
	struct husk_err *e = NULL;
	size_t len;
	int fd;

	fd = root_open(rootfd, path, O_PATH, &e);
	if (fd >= 0 || e->errnum != ENOENT) {
		if (fd < 0)
			*err = e;
		return fd;
	}
	husk_err_free(&e);
	p = husk_strdup(path);
	len = strlen(p);
	while (len > 1 && p[len - 1] == '/')
		p[--len] = '\0';
	/* Walk the components, creating what is missing. Each parent is
	 * resolved in the root again, so a symlink anywhere along the path
	 * resolves inside the rootfs too. */
	for (char *s = p + 1;; s++) {
		bool last = *s == '\0';
		_cleanup_close_ int parent = -1;
		char *name, saved;
		int r;

		if (!last && *s != '/')
			continue;
		saved = *s;
		*s = '\0';
		fd = root_open(rootfd, p, O_PATH, &e);
		if (fd >= 0) {
			if (last)
				return fd;
			close(fd);
			*s = saved;
			continue;
		}
		if (e->errnum != ENOENT) {
			*err = e;
			return -1;
		}
		husk_err_free(&e);
		name = strrchr(p, '/');
		*name = '\0';
		parent = root_open(rootfd, p[0] ? p : "/", O_PATH | O_DIRECTORY,
				   err);
		*name = '/';
		name++;
		if (parent < 0)
			return -1;
		if (last && file) {
			r = openat(parent, name,
				   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
					   O_CLOEXEC,
				   0644);
			if (r >= 0)
				close(r);
		} else {
			r = mkdirat(parent, name, 0755);
		}
		if (r < 0 && errno == EEXIST) {
			/* Resolution said ENOENT but the name exists: a
			 * dangling symlink, to be followed inside the root. */
			char *slash = strrchr(p, '/');
			int f;
			*slash = '\0';
			f = mkpath_follow(rootfd, parent, p, name,
					  last ? "" : path + (s - p), file,
					  depth, err);
			*slash = '/';
			if (f != -2)
				return f;
		} else if (r < 0) {
			return husk_err_sys(err, "create %s in the rootfs", p);
		}
		if (last)
			return root_open(rootfd, p, O_PATH, err);
		*s = saved;
	}
}

/* ---- options ------------------------------------------------------------ */

struct flag_opt {
	const char *name;
	bool clear;
	unsigned long flag;
};

static const struct flag_opt flag_opts[] = {
	{"async", true, MS_SYNCHRONOUS}, {"atime", true, MS_NOATIME},
	{"defaults", false, 0},          {"dev", true, MS_NODEV},
	{"diratime", true, MS_NODIRATIME}, {"dirsync", false, MS_DIRSYNC},
	{"exec", true, MS_NOEXEC},       {"mand", false, MS_MANDLOCK},
	{"noatime", false, MS_NOATIME},  {"nodev", false, MS_NODEV},
	{"nodiratime", false, MS_NODIRATIME}, {"noexec", false, MS_NOEXEC},
	{"nomand", true, MS_MANDLOCK},   {"norelatime", true, MS_RELATIME},
	{"nostrictatime", true, MS_STRICTATIME}, {"nosuid", false, MS_NOSUID},
	{"relatime", false, MS_RELATIME}, {"remount", false, MS_REMOUNT},
	{"ro", false, MS_RDONLY},        {"rw", true, MS_RDONLY},
	{"strictatime", false, MS_STRICTATIME}, {"suid", true, MS_NOSUID},
	{"sync", false, MS_SYNCHRONOUS}, {"nosymfollow", false, MS_NOSYMFOLLOW},
};

static const struct {
	const char *name;
	unsigned long flags;
} prop_opts[] = {
	{"private", MS_PRIVATE},     {"rprivate", MS_PRIVATE | MS_REC},
	{"shared", MS_SHARED},       {"rshared", MS_SHARED | MS_REC},
	{"slave", MS_SLAVE},         {"rslave", MS_SLAVE | MS_REC},
	{"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

/* Recursive attributes (mount_setattr with AT_RECURSIVE), runc's "r*". */
static const struct {
	const char *name;
	bool clear;
	uint64_t attr;
} rec_opts[] = {
	{"rro", false, MOUNT_ATTR_RDONLY},     {"rrw", true, MOUNT_ATTR_RDONLY},
	{"rnosuid", false, MOUNT_ATTR_NOSUID}, {"rsuid", true, MOUNT_ATTR_NOSUID},
	{"rnodev", false, MOUNT_ATTR_NODEV},   {"rdev", true, MOUNT_ATTR_NODEV},
	{"rnoexec", false, MOUNT_ATTR_NOEXEC}, {"rexec", true, MOUNT_ATTR_NOEXEC},
	{"rnodiratime", false, MOUNT_ATTR_NODIRATIME},
	{"rdiratime", true, MOUNT_ATTR_NODIRATIME},
	{"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW},
	{"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};

/* Options a later issue brings. */
static const char *const refused_opts[] = {"tmpcopyup", "idmap", "ridmap"};

int mount_opts_parse(const struct oci_strv *options, const char *where,
		     struct mount_opts *o, struct husk_err **err)
{
	size_t data_len = 0;

	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < options->n; i++) {
		const char *s = options->v[i];
		bool done = false;

		if (strcmp(s, "bind") == 0 || strcmp(s, "rbind") == 0) {
			o->bind = true;
			o->rbind |= s[0] == 'r';
			continue;
		}
		for (size_t k = 0; k < ARRAY_SIZE(flag_opts) && !done; k++) {
			if (strcmp(s, flag_opts[k].name) != 0)
				continue;
			if (flag_opts[k].clear) {
				o->flags &= ~flag_opts[k].flag;
				o->clear |= flag_opts[k].flag;
			} else {
				o->flags |= flag_opts[k].flag;
				o->clear &= ~flag_opts[k].flag;
			}
			done = true;
		}
		for (size_t k = 0; k < ARRAY_SIZE(prop_opts) && !done; k++) {
			if (strcmp(s, prop_opts[k].name) == 0) {
				o->propagation = prop_opts[k].flags;
				done = true;
			}
		}
		for (size_t k = 0; k < ARRAY_SIZE(rec_opts) && !done; k++) {
			if (strcmp(s, rec_opts[k].name) != 0)
				continue;
			if (rec_opts[k].clear) {
				o->rec_clr |= rec_opts[k].attr;
				o->rec_set &= ~rec_opts[k].attr;
			} else {
				o->rec_set |= rec_opts[k].attr;
				o->rec_clr &= ~rec_opts[k].attr;
			}
			o->rro |= rec_opts[k].attr == MOUNT_ATTR_RDONLY &&
				  !rec_opts[k].clear;
			done = true;
		}
		for (size_t k = 0; k < ARRAY_SIZE(refused_opts) && !done; k++)
			if (strcmp(s, refused_opts[k]) == 0) {
				mount_opts_free(o);
				return husk_err_set(err, ENOTSUP,
						    "%s.options[%zu]: %s: not "
						    "supported yet",
						    where, i, s);
			}
		if (done)
			continue;
		/* Anything else is file system data (mode=755,size=...). */
		if (strchr(s, ',') || strlen(s) > 4096) {
			mount_opts_free(o);
			return husk_err_set(err, EINVAL,
					    "%s.options[%zu]: invalid option",
					    where, i);
		}
		o->data = husk_reallocarray(o->data, data_len + strlen(s) + 2,
					    1);
		data_len += (size_t)sprintf(o->data + data_len, "%s%s",
					    data_len ? "," : "", s);
	}
	return 0;
}

void mount_opts_free(struct mount_opts *o)
{
	free(o->data);
	o->data = NULL;
}

uint64_t mount_attr_from_flags(unsigned long flags)
{
	uint64_t a = 0;

	if (flags & MS_RDONLY)
		a |= MOUNT_ATTR_RDONLY;
	if (flags & MS_NOSUID)
		a |= MOUNT_ATTR_NOSUID;
	if (flags & MS_NODEV)
		a |= MOUNT_ATTR_NODEV;
	if (flags & MS_NOEXEC)
		a |= MOUNT_ATTR_NOEXEC;
	if (flags & MS_NODIRATIME)
		a |= MOUNT_ATTR_NODIRATIME;
	if (flags & MS_NOSYMFOLLOW)
		a |= MOUNT_ATTR_NOSYMFOLLOW;
	if (flags & MS_NOATIME)
		a |= MOUNT_ATTR_NOATIME;
	else if (flags & MS_STRICTATIME)
		a |= MOUNT_ATTR_STRICTATIME;
	return a;
}

/* mount_setattr() for the per-mount flags of a bind mount. Only the flags
 * asked for are set or cleared: the source's nosuid/nodev/noexec stay (a
 * MS_REMOUNT|MS_BIND would clear them, or fail with EPERM where the kernel
 * locked them). */
static int bind_setattr(int tree, const struct mount_opts *o,
			struct husk_err **err)
{
	struct mount_attr a = {0};

	a.attr_set = mount_attr_from_flags(o->flags);
	a.attr_clr = mount_attr_from_flags(o->clear);
	if (o->flags & (MS_NOATIME | MS_STRICTATIME | MS_RELATIME))
		a.attr_clr |= MOUNT_ATTR__ATIME;
	else
		a.attr_clr &= ~MOUNT_ATTR__ATIME; /* "atime"/"norelatime" */
	if ((a.attr_set | a.attr_clr) &&
	    mount_setattr(tree, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
		return husk_err_sys(err, "mount_setattr");
	if (o->rec_set | o->rec_clr) {
		struct mount_attr r = {.attr_set = o->rec_set,
				       .attr_clr = o->rec_clr};
		if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &r,
				  sizeof(r)) < 0)
			return husk_err_sys(err, "mount_setattr recursive");
	}
	return 0;
}

static int set_propagation(int fd, unsigned long prop, struct husk_err **err)
{
	struct mount_attr a = {.propagation = prop & ~(unsigned long)MS_REC};

	if (prop == 0)
		return 0;
	if (mount_setattr(fd, "", AT_EMPTY_PATH | (prop & MS_REC ? AT_RECURSIVE : 0),
			  &a, sizeof(a)) < 0)
		return husk_err_sys(err, "set propagation");
	return 0;
}

/* Bind the detached tree onto dst. Consumes nothing; tree stays usable as
 * an fd to the new mount's root. */
static int attach(int tree, int dst, struct husk_err **err)
{
	if (move_mount(tree, "", dst, "",
		       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return husk_err_sys(err, "move_mount");
	return 0;
}

static char *bind_source(const char *bundle, const char *src)
{
	if (src[0] == '/')
		return husk_strdup(src);
	return husk_asprintf("%s/%s", bundle, src);
}

static int mount_bind(struct init_ctx *c, int rootfd,
		      const struct oci_mount *m, const struct mount_opts *o,
		      struct husk_err **err)
{
	_cleanup_free_ char *src = NULL;
	_cleanup_close_ int tree = -1, dst = -1;
	struct stat st;

	if (m->source == NULL)
		return husk_err_set(err, EINVAL,
				    "mount on %s: a bind mount needs a source",
				    m->destination);
	src = bind_source(c->o->bundle, m->source);
	tree = open_tree(AT_FDCWD, src,
			 OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
				 (o->rbind ? AT_RECURSIVE : 0));
	if (tree < 0)
		return husk_err_sys(err, "mount %s on %s", src, m->destination);
	if (fstat(tree, &st) < 0)
		return husk_err_sys(err, "stat %s", src);
	dst = root_mkpath(rootfd, m->destination, !S_ISDIR(st.st_mode), err);
	if (dst < 0)
		return husk_err_prefix(err, "mount %s on %s", src,
				       m->destination);
	if (bind_setattr(tree, o, err) < 0 || attach(tree, dst, err) < 0 ||
	    set_propagation(tree, o->propagation, err) < 0)
		return husk_err_prefix(err, "mount %s on %s", src,
				       m->destination);
	return 0;
}

static void fd_path(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

/* A new file system on the target: mount(2) through /proc/self/fd. */
static int mount_fs(int rootfd, const char *dest, const char *source,
		    const char *type, unsigned long flags, const char *data,
		    unsigned long prop, struct husk_err **err)
{
	_cleanup_close_ int dst = -1, top = -1;
	char p[64];

	dst = root_mkpath(rootfd, dest, false, err);
	if (dst < 0)
		return husk_err_prefix(err, "mount %s on %s", source, dest);
	fd_path(p, sizeof(p), dst);
	if (mount(source, p, type, flags, data) < 0)
		return husk_err_sys(err, "mount %s on %s", source, dest);
	if (prop == 0)
		return 0;
	/* The fd still names the directory under the new mount: resolve
	 * again to reach the mount itself. */
	top = root_open(rootfd, dest, O_PATH, err);
	if (top < 0 || set_propagation(top, prop, err) < 0)
		return husk_err_prefix(err, "mount %s on %s", source, dest);
	return 0;
}

/* MS_REMOUNT of whatever is mounted at the target. */
static int mount_remount(struct init_ctx *c, int rootfd,
			 const struct oci_mount *m, const struct mount_opts *o,
			 struct husk_err **err)
{
	_cleanup_close_ int dst = root_open(rootfd, m->destination, O_PATH, err);
	unsigned long flags = o->flags | (o->bind ? MS_BIND : 0);
	char p[64];

	if (dst < 0)
		return husk_err_prefix(err, "remount %s", m->destination);
	fd_path(p, sizeof(p), dst);
	if (mount(m->source, p, m->type, flags, o->data) < 0)
		return husk_err_sys(err, "remount %s", m->destination);
	return set_propagation(dst, o->propagation, err) < 0
		       ? husk_err_prefix(err, "remount %s", m->destination)
		       : 0;
}

/* v1: a tmpfs holding, per hierarchy, a read-only bind of the container's
 * own cgroup directory (as runc does without a cgroup namespace mount). */
static int mount_cgroup_v1(struct init_ctx *c, int rootfd,
			   const struct oci_mount *m,
			   const struct mount_opts *o, struct husk_err **err)
{
	unsigned long base = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	_cleanup_close_ int tfd = -1;

	if (mount_fs(rootfd, m->destination, "tmpfs", "tmpfs", base,
		     "mode=755", 0, err) < 0)
		return -1;
	tfd = root_open(rootfd, m->destination, O_PATH | O_DIRECTORY, err);
	if (tfd < 0)
		return -1;
	for (size_t i = 0; i < c->cg->n; i++) {
		const struct cg_hier *h = &c->cg->h[i];
		_cleanup_free_ char *src = husk_asprintf("%s%s", h->mountpoint,
							 c->cg_path);
		_cleanup_close_ int sub = -1, tree = -1;
		struct mount_opts bo = {.flags = o->flags & (MS_RDONLY |
							     MS_NOSUID |
							     MS_NODEV |
							     MS_NOEXEC)};

		if (mkdirat(tfd, h->name, 0755) < 0 && errno != EEXIST)
			return husk_err_sys(err, "mkdir %s/%s", m->destination,
					    h->name);
		sub = openat(tfd, h->name, O_PATH | O_DIRECTORY | O_NOFOLLOW |
						   O_CLOEXEC);
		if (sub < 0)
			return husk_err_sys(err, "open %s/%s", m->destination,
					    h->name);
		tree = open_tree(AT_FDCWD, src,
				 OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (tree < 0)
			return husk_err_sys(err, "mount %s on %s/%s", src,
					    m->destination, h->name);
		if (bind_setattr(tree, &bo, err) < 0 || attach(tree, sub, err) < 0)
			return husk_err_prefix(err, "mount %s on %s/%s", src,
					       m->destination, h->name);
		/* "cpu,cpuacct" is also reachable as "cpu" and "cpuacct". */
		if (strchr(h->name, ',')) {
			_cleanup_free_ char *names = husk_strdup(h->name);
			char *save = NULL;
			for (char *t = strtok_r(names, ",", &save); t;
			     t = strtok_r(NULL, ",", &save))
				if (symlinkat(h->name, tfd, t) < 0 &&
				    errno != EEXIST)
					return husk_err_sys(err,
							    "symlink %s/%s",
							    m->destination, t);
		}
	}
	if (o->flags & MS_RDONLY) {
		struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
		if (mount_setattr(tfd, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
			return husk_err_sys(err, "remount %s read-only",
					    m->destination);
	}
	return 0;
}

static int mount_one(struct init_ctx *c, int rootfd, size_t i,
		     struct husk_err **err)
{
	const struct oci_mount *m = &c->spec->mounts[i];
	const char *type = m->type;
	struct mount_opts o;
	char where[48];
	int r;

	snprintf(where, sizeof(where), "mounts[%zu]", i);
	if (m->destination == NULL)
		return husk_err_set(err, EINVAL, "%s.destination: missing",
				    where);
	if (mount_opts_parse(&m->options, where, &o, err) < 0)
		return -1;
	if (type && strcmp(type, "bind") == 0)
		o.bind = true;
	if (o.flags & MS_REMOUNT)
		r = mount_remount(c, rootfd, m, &o, err);
	else if (o.bind)
		r = mount_bind(c, rootfd, m, &o, err);
	else if (type && strcmp(type, "cgroup") == 0 && c->cg->mode != CG_V2)
		r = mount_cgroup_v1(c, rootfd, m, &o, err);
	else if (type && (strcmp(type, "cgroup") == 0 ||
			  strcmp(type, "cgroup2") == 0))
		r = mount_fs(rootfd, m->destination, "cgroup2", "cgroup2",
			     o.flags, NULL, o.propagation, err);
	else if (type == NULL)
		r = husk_err_set(err, EINVAL, "%s.type: missing", where);
	else
		r = mount_fs(rootfd, m->destination,
			     m->source ? m->source : type, type, o.flags,
			     o.data, o.propagation, err);
	mount_opts_free(&o);
	return r;
}

int mounts_apply(struct init_ctx *c, int rootfd, struct husk_err **err)
{
	for (size_t i = 0; i < c->spec->n_mounts; i++)
		if (mount_one(c, rootfd, i, err) < 0)
			return -1;
	return 0;
}
