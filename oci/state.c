/* The state directory and state.json: atomic writes under a lock, status
 * derived from the live process (runtime-spec runtime.md#state). */
#include "oci/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "common/util.h"
#include "oci/jsonw.h"

#define STATE_FILE	     "state.json"
#define LOCK_FILE	     ".lock"
#define FIFO_FILE	     "exec.fifo"
#define STATE_FORMAT_VERSION 1

static const char *const status_names[] = {
	[OCI_STATUS_CREATING] = "creating", [OCI_STATUS_CREATED] = "created",
	[OCI_STATUS_RUNNING] = "running",   [OCI_STATUS_STOPPED] = "stopped",
	[OCI_STATUS_PAUSED] = "paused",
};

const char *oci_status_name(enum oci_status s)
{
	if ((size_t)s >= ARRAY_SIZE(status_names))
		return "unknown";
	return status_names[s];
}

int oci_status_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(status_names); i++)
		if (status_names[i] && strcmp(status_names[i], name) == 0)
			return (int)i;
	return -1;
}

int oci_state_id_check(const char *id, struct husk_err **err)
{
	size_t n = strlen(id);

	if (n == 0)
		return husk_err_set(err, EINVAL,
				    "invalid container ID format: empty");
	if (n > OCI_STATE_ID_MAX)
		return husk_err_set(err, EINVAL,
				    "invalid container ID format: longer than "
				    "%d characters",
				    OCI_STATE_ID_MAX);
	if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return husk_err_set(err, EINVAL,
				    "invalid container ID format: \"%s\"", id);
	for (const char *p = id; *p; p++) {
		char c = *p;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '+' ||
		    c == '.' || c == '-')
			continue;
		return husk_err_set(
			err, EINVAL,
			"invalid container ID format: character 0x%02x at "
			"offset %zu is not one of [A-Za-z0-9_+.-]",
			(unsigned char)c, (size_t)(p - id));
	}
	return 0;
}

enum oci_status oci_status_derive(pid_t pid, unsigned long long want_start,
				  bool proc_exists, char proc_state,
				  unsigned long long proc_start,
				  bool fifo_present)
{
	/* A pid that is gone, a zombie (its exit status waits for a reaper
	 * but the container is over), or a pid reused by another process
	 * (different start time) all mean the container has stopped. */
	if (pid <= 0 || !proc_exists || proc_state == 'Z' ||
	    proc_state == 'X' || proc_start != want_start)
		return OCI_STATUS_STOPPED;
	if (fifo_present)
		return OCI_STATUS_CREATED;
	return OCI_STATUS_RUNNING;
}

enum oci_status oci_state_status(const struct oci_state *st, int dirfd)
{
	unsigned long long start = 0;
	char pstate = 0;
	bool exists, fifo;
	struct stat sb;
	enum oci_status s;

	if (st->pid <= 0)
		return OCI_STATUS_STOPPED;
	exists = husk_proc_stat(st->pid, &start, &pstate) == 0;
	fifo = fstatat(dirfd, FIFO_FILE, &sb, AT_SYMLINK_NOFOLLOW) == 0;
	/* vm sandbox: pid is the stand-in, and only the record knows whether
	 * the agent's process was started (asking the agent could block). */
	if (st->sandbox && strcmp(st->sandbox, "vm") == 0)
		fifo = st->status == OCI_STATUS_CREATED;
	s = oci_status_derive(st->pid, st->start_time, exists, pstate, start,
			      fifo);
	/* A frozen init is alive and unchanged: only the record (written by
	 * pause and resume under the lock) tells that it is paused. */
	if ((s == OCI_STATUS_RUNNING || s == OCI_STATUS_CREATED) &&
	    st->status == OCI_STATUS_PAUSED)
		return OCI_STATUS_PAUSED;
	return s;
}

/* ---- time ---------------------------------------------------------------- */

char *oci_state_now_rfc3339(void)
{
	struct timespec ts;
	struct tm tm;
	char date[64], frac[16];
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(frac, sizeof(frac), ".%09ld", ts.tv_nsec);
	/* Go's RFC3339Nano drops trailing zeros, and the dot with them. */
	n = strlen(frac);
	while (n > 1 && frac[n - 1] == '0')
		frac[--n] = '\0';
	if (n == 1)
		frac[0] = '\0';
	return husk_asprintf("%s%sZ", date, frac);
}

/* ---- husk's state.json ----------------------------------------------------
 */

int oci_state_to_json(const struct oci_state *st, char **out,
		      struct husk_err **err)
{
	struct jsonw w;

	jsonw_init(&w, NULL);
	jsonw_begin_object(&w);
	jsonw_key(&w, "version");
	jsonw_int(&w, STATE_FORMAT_VERSION);
	jsonw_key(&w, "id");
	jsonw_string(&w, st->id);
	jsonw_key(&w, "status");
	jsonw_string(&w, oci_status_name(st->status));
	jsonw_key(&w, "pid");
	jsonw_int(&w, st->pid);
	jsonw_key(&w, "start_time");
	jsonw_uint(&w, st->start_time);
	jsonw_key(&w, "bundle");
	jsonw_string(&w, st->bundle);
	jsonw_key(&w, "rootfs");
	jsonw_string(&w, st->rootfs);
	jsonw_key(&w, "created");
	jsonw_string(&w, st->created);
	jsonw_key(&w, "owner");
	jsonw_uint(&w, st->owner);
	jsonw_key(&w, "cgroup_path");
	jsonw_string(&w, st->cgroup_path);
	jsonw_key(&w, "sandbox");
	jsonw_string(&w, st->sandbox);
	jsonw_key(&w, "systemd_cgroup");
	jsonw_bool(&w, st->systemd_cgroup);
	jsonw_key(&w, "annotations");
	jsonw_begin_object(&w);
	for (size_t i = 0; i < st->n_annotations; i++) {
		jsonw_key(&w, st->annotations[i].key);
		jsonw_string(&w, st->annotations[i].value);
	}
	jsonw_end_object(&w);
	jsonw_end_object(&w);
	jsonw_raw(&w, "\n", 1);
	*out = jsonw_take(&w);
	(void)err;
	return 0;
}

static int get_str(yajl_val root, const char *key, char **dst,
		   struct husk_err **err)
{
	const char *path[] = {key, NULL};
	yajl_val v = yajl_tree_get(root, path, yajl_t_any);

	if (v == NULL || !YAJL_IS_STRING(v) || v->u.string == NULL) {
		husk_err_set(err, EINVAL,
			     "state.json: %s: missing or not a string", key);
		return -1;
	}
	if (strlen(v->u.string) > PATH_MAX * 4) {
		husk_err_set(err, EINVAL, "state.json: %s: too long", key);
		return -1;
	}
	*dst = husk_strdup(v->u.string);
	return 0;
}

static int get_int(yajl_val root, const char *key, long long min, long long max,
		   long long *dst, struct husk_err **err)
{
	const char *path[] = {key, NULL};
	yajl_val v = yajl_tree_get(root, path, yajl_t_any);

	if (v == NULL || !YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < min ||
	    YAJL_GET_INTEGER(v) > max) {
		husk_err_set(err, EINVAL,
			     "state.json: %s: missing or out of range", key);
		return -1;
	}
	*dst = YAJL_GET_INTEGER(v);
	return 0;
}

static void yajl_freep(yajl_val *v)
{
	if (*v)
		yajl_tree_free(*v);
}

static int state_parse_tree(yajl_val root, struct oci_state *st,
			    struct husk_err **err)
{
	const char *ann_path[] = {"annotations", NULL};
	const char *sd_path[] = {"systemd_cgroup", NULL};
	_cleanup_free_ char *status = NULL;
	long long v;
	yajl_val ann, sd;
	int s;

	if (!YAJL_IS_OBJECT(root))
		return husk_err_set(err, EINVAL, "state.json: not an object");
	if (get_int(root, "version", STATE_FORMAT_VERSION, STATE_FORMAT_VERSION,
		    &v, err) < 0)
		return -1;
	if (get_str(root, "id", &st->id, err) < 0 ||
	    oci_state_id_check(st->id, err) < 0 ||
	    get_str(root, "status", &status, err) < 0 ||
	    get_str(root, "bundle", &st->bundle, err) < 0 ||
	    get_str(root, "rootfs", &st->rootfs, err) < 0 ||
	    get_str(root, "created", &st->created, err) < 0 ||
	    get_str(root, "cgroup_path", &st->cgroup_path, err) < 0 ||
	    get_str(root, "sandbox", &st->sandbox, err) < 0)
		return -1;
	s = oci_status_from_name(status);
	if (s < 0)
		return husk_err_set(err, EINVAL,
				    "state.json: status: unknown \"%s\"",
				    status);
	st->status = (enum oci_status)s;
	if (get_int(root, "pid", 0, INT_MAX, &v, err) < 0)
		return -1;
	st->pid = (pid_t)v;
	if (get_int(root, "start_time", 0, LLONG_MAX, &v, err) < 0)
		return -1;
	st->start_time = (unsigned long long)v;
	if (get_int(root, "owner", 0, UINT32_MAX, &v, err) < 0)
		return -1;
	st->owner = (uid_t)v;
	sd = yajl_tree_get(root, sd_path, yajl_t_any);
	if (sd == NULL || !(YAJL_IS_TRUE(sd) || YAJL_IS_FALSE(sd)))
		return husk_err_set(
			err, EINVAL,
			"state.json: systemd_cgroup: missing or not a bool");
	st->systemd_cgroup = YAJL_IS_TRUE(sd);
	ann = yajl_tree_get(root, ann_path, yajl_t_any);
	if (ann == NULL || !YAJL_IS_OBJECT(ann))
		return husk_err_set(
			err, EINVAL,
			"state.json: annotations: missing or not an object");
	st->annotations = husk_calloc(ann->u.object.len, sizeof(struct oci_kv));
	for (size_t i = 0; i < ann->u.object.len; i++) {
		yajl_val val = ann->u.object.values[i];
		if (!YAJL_IS_STRING(val))
			return husk_err_set(
				err, EINVAL,
				"state.json: annotations[\"%s\"]: not a string",
				ann->u.object.keys[i]);
		st->annotations[i].key = husk_strdup(ann->u.object.keys[i]);
		st->annotations[i].value = husk_strdup(val->u.string);
		st->n_annotations++;
	}
	return 0;
}

int oci_state_from_json(const char *json, size_t len, struct oci_state **out,
			struct husk_err **err)
{
	__attribute__((cleanup(yajl_freep))) yajl_val root = NULL;
	_cleanup_free_ char *buf = NULL;
	char ebuf[256] = "";
	struct oci_state *st;

	if (len > OCI_STATE_MAX_SIZE)
		return husk_err_set(err, EFBIG, "state.json: too large");
	if (memchr(json, '\0', len) != NULL)
		return husk_err_set(err, EINVAL, "state.json: NUL byte");
	buf = husk_calloc(len + 1, 1);
	memcpy(buf, json, len);
	root = yajl_tree_parse(buf, ebuf, sizeof(ebuf));
	if (root == NULL) {
		ebuf[strcspn(ebuf, "\n")] = '\0';
		return husk_err_set(err, EINVAL, "state.json: invalid JSON: %s",
				    ebuf);
	}
	st = husk_calloc(1, sizeof(*st));
	if (state_parse_tree(root, st, err) < 0) {
		oci_state_free(st);
		return -1;
	}
	*out = st;
	return 0;
}

char *oci_state_format(const struct oci_state *st, enum oci_status status,
		       const char *owner, bool pretty)
{
	struct jsonw w;

	/* runc's containerState field order; a stopped container has pid 0
	 * (runtime.md#state: pid is only meaningful while it runs). */
	jsonw_init(&w, pretty ? "  " : NULL);
	jsonw_begin_object(&w);
	jsonw_key(&w, "ociVersion");
	jsonw_string(&w, OCI_STATE_SPEC_VERSION);
	jsonw_key(&w, "id");
	jsonw_string(&w, st->id);
	jsonw_key(&w, "pid");
	jsonw_int(&w, status == OCI_STATUS_STOPPED ? 0 : st->pid);
	jsonw_key(&w, "status");
	jsonw_string(&w, oci_status_name(status));
	jsonw_key(&w, "bundle");
	jsonw_string(&w, st->bundle);
	jsonw_key(&w, "rootfs");
	jsonw_string(&w, st->rootfs);
	jsonw_key(&w, "created");
	jsonw_string(&w, st->created);
	if (st->n_annotations > 0) {
		jsonw_key(&w, "annotations");
		jsonw_begin_object(&w);
		for (size_t i = 0; i < st->n_annotations; i++) {
			jsonw_key(&w, st->annotations[i].key);
			jsonw_string(&w, st->annotations[i].value);
		}
		jsonw_end_object(&w);
	}
	jsonw_key(&w, "owner");
	jsonw_string(&w, owner);
	jsonw_end_object(&w);
	return jsonw_take(&w);
}

void oci_state_free(struct oci_state *st)
{
	if (st == NULL)
		return;
	free(st->id);
	free(st->bundle);
	free(st->rootfs);
	free(st->created);
	free(st->cgroup_path);
	free(st->sandbox);
	for (size_t i = 0; i < st->n_annotations; i++) {
		free(st->annotations[i].key);
		free(st->annotations[i].value);
	}
	free(st->annotations);
	free(st);
}

/* ---- the directory ---------------------------------------------------- */

/* POSIX record locks, not flock: a record lock belongs to the process and
 * is not inherited across fork/clone, while an flock belongs to the open
 * file description, which the container's init shares until its execve --
 * and a created container's init waits on exec.fifo before that, so with
 * flock `start` would wait for the lock forever. husk opens .lock once per
 * command, so the POSIX rule "any close drops the lock" costs nothing. */
static int lock_fd(int fd, bool exclusive, bool block)
{
	struct flock fl = {
		.l_type = exclusive ? F_WRLCK : F_RDLCK,
		.l_whence = SEEK_SET,
		.l_start = 0,
		.l_len = 0,
	};

	for (;;) {
		if (fcntl(fd, block ? F_SETLKW : F_SETLK, &fl) == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

static int write_state_at(int dirfd, const char *dirpath,
			  const struct oci_state *st, struct husk_err **err)
{
	_cleanup_free_ char *json = NULL;
	_cleanup_free_ char *tmp =
		husk_asprintf(STATE_FILE ".tmp.%d", getpid());
	_cleanup_close_ int fd = -1;

	if (oci_state_to_json(st, &json, err) < 0)
		return -1;
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return husk_err_sys(err, "open %s/%s", dirpath, tmp);
	if (husk_write_all(fd, json, strlen(json)) < 0) {
		husk_err_sys(err, "write %s/%s", dirpath, tmp);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	/* rename is atomic for readers; no fsync: state lives on tmpfs
	 * (/run) and does not outlive a reboot, as runc's does not. */
	if (renameat(dirfd, tmp, dirfd, STATE_FILE) < 0) {
		husk_err_sys(err, "rename %s/%s", dirpath, tmp);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	return 0;
}

/* Remove every entry of a state directory (only files: husk makes no
 * subdirectories there) and the directory itself. */
static int remove_dir_contents(int dirfd, const char *path,
			       struct husk_err **err)
{
	int fd2 = dup(dirfd);
	DIR *d;
	struct dirent *de;

	if (fd2 < 0)
		return husk_err_sys(err, "dup %s", path);
	d = fdopendir(fd2);
	if (d == NULL) {
		close(fd2);
		return husk_err_sys(err, "opendir %s", path);
	}
	rewinddir(d);
	/* state.json first: a command that waits for the lock and then
	 * finds no state.json reports "container does not exist". */
	if (unlinkat(dirfd, STATE_FILE, 0) < 0 && errno != ENOENT) {
		closedir(d);
		return husk_err_sys(err, "unlink %s/" STATE_FILE, path);
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd, de->d_name, 0) < 0 && errno != ENOENT) {
			int e = errno;
			if (e == EISDIR &&
			    unlinkat(dirfd, de->d_name, AT_REMOVEDIR) == 0)
				continue;
			errno = e;
			closedir(d);
			return husk_err_sys(err, "unlink %s/%s", path,
					    de->d_name);
		}
	}
	closedir(d);
	return 0;
}

static int open_root(const char *root, bool create, struct husk_err **err)
{
	int fd;

	if (create && husk_mkdir_p(root, 0700, err) < 0)
		return -1;
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return husk_err_sys(err, "open state root %s", root);
	return fd;
}

/* A create killed (-9) between making its hidden "~new-<pid>" directory
 * and renaming it leaves it behind; no command lists it, and the next
 * create removes it once its pid is gone. */
static void sweep_new_dirs(int rootfd, const char *root)
{
	int fd = dup(rootfd);
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		_cleanup_free_ char *path = NULL;
		_cleanup_close_ int dfd = -1;
		long long pid;

		if (!husk_str_has_prefix(de->d_name, "~new-") ||
		    husk_parse_i64(de->d_name + 5, &pid) < 0 || pid <= 0 ||
		    pid > INT_MAX || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		path = husk_asprintf("%s/%s", root, de->d_name);
		dfd = openat(rootfd, de->d_name,
			     O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (dfd < 0 || remove_dir_contents(dfd, path, NULL) < 0)
			continue;
		unlinkat(rootfd, de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

int oci_state_dir_create(const char *root, const struct oci_state *st,
			 struct oci_state_dir *d, struct husk_err **err)
{
	_cleanup_close_ int rootfd = -1, tdirfd = -1, lockfd = -1;
	_cleanup_free_ char *tmpname = NULL, *tmppath = NULL;
	int r;

	if (oci_state_id_check(st->id, err) < 0)
		return -1;
	rootfd = open_root(root, true, err);
	if (rootfd < 0)
		return -1;
	sweep_new_dirs(rootfd, root);
	/* Built under a hidden name with its lock already held, then
	 * renamed into place: no other command ever sees a directory
	 * without state.json or with its lock free during creation. */
	tmpname = husk_asprintf("~new-%d", getpid()); /* '~' is no id's */
	tmppath = husk_asprintf("%s/%s", root, tmpname);
	if (mkdirat(rootfd, tmpname, 0700) < 0)
		return husk_err_sys(err, "mkdir %s", tmppath);
	tdirfd = openat(rootfd, tmpname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tdirfd < 0) {
		husk_err_sys(err, "open %s", tmppath);
		goto fail;
	}
	lockfd = openat(tdirfd, LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lockfd < 0 || lock_fd(lockfd, true, true) < 0) {
		husk_err_sys(err, "lock %s/" LOCK_FILE, tmppath);
		goto fail;
	}
	if (write_state_at(tdirfd, tmppath, st, err) < 0)
		goto fail;
	r = renameat2(rootfd, tmpname, rootfd, st->id, RENAME_NOREPLACE);
	if (r < 0 && errno == EEXIST) {
		if (oci_state_dir_remove_stale(root, st->id, NULL) == 1)
			r = renameat2(rootfd, tmpname, rootfd, st->id,
				      RENAME_NOREPLACE);
		else
			errno = EEXIST;
	}
	if (r < 0) {
		if (errno == EEXIST || errno == ENOTEMPTY)
			husk_err_set(err, EEXIST,
				     "container with id exists: %s", st->id);
		else if (errno == ENAMETOOLONG)
			husk_err_set(err, ENAMETOOLONG,
				     "invalid container ID format: longer than "
				     "the file system's %d-byte name limit",
				     NAME_MAX);
		else
			husk_err_sys(err, "rename %s to %s/%s", tmppath, root,
				     st->id);
		goto fail;
	}
	d->path = husk_asprintf("%s/%s", root, st->id);
	d->dirfd = TAKE_FD(tdirfd);
	d->lockfd = TAKE_FD(lockfd);
	return 0;
fail:
	if (tdirfd >= 0)
		remove_dir_contents(tdirfd, tmppath, NULL);
	unlinkat(rootfd, tmpname, AT_REMOVEDIR);
	return -1;
}

static int not_exist(struct husk_err **err)
{
	return husk_err_set(err, ENOENT, "container does not exist");
}

int oci_state_dir_open(const char *root, const char *id, bool exclusive,
		       struct oci_state_dir *d, struct oci_state **st,
		       struct husk_err **err)
{
	_cleanup_close_ int dirfd = -1, lockfd = -1;
	_cleanup_free_ char *path = NULL, *json = NULL;
	size_t len;
	int r;

	if (oci_state_id_check(id, err) < 0)
		return -1;
	path = husk_asprintf("%s/%s", root, id);
	dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dirfd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return not_exist(err);
		return husk_err_sys(err, "open %s", path);
	}
	lockfd = openat(dirfd, LOCK_FILE, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (lockfd < 0) {
		if (errno == ENOENT)
			return not_exist(err);
		return husk_err_sys(err, "open %s/" LOCK_FILE, path);
	}
	if (lock_fd(lockfd, exclusive, true) < 0)
		return husk_err_sys(err, "lock %s/" LOCK_FILE, path);
	/* Read through dirfd: if the directory was deleted (and maybe made
	 * again by a new create) while we waited, this is the old one, now
	 * empty, and the answer is the truth at the time we got the lock. */
	r = husk_read_file_at(dirfd, STATE_FILE, OCI_STATE_MAX_SIZE, &json,
			      &len, err);
	if (r < 0) {
		if (*err && (*err)->errnum == ENOENT) {
			husk_err_free(err);
			return not_exist(err);
		}
		return husk_err_prefix(err, "container %s", id);
	}
	if (oci_state_from_json(json, len, st, err) < 0)
		return husk_err_prefix(err, "%s", path);
	if (strcmp((*st)->id, id) != 0) {
		oci_state_free(*st);
		*st = NULL;
		return husk_err_set(err, EINVAL,
				    "%s/" STATE_FILE ": id does not match",
				    path);
	}
	d->path = TAKE_PTR(path);
	d->dirfd = TAKE_FD(dirfd);
	d->lockfd = TAKE_FD(lockfd);
	return 0;
}

int oci_state_dir_write(struct oci_state_dir *d, const struct oci_state *st,
			struct husk_err **err)
{
	return write_state_at(d->dirfd, d->path, st, err);
}

int oci_state_dir_remove(struct oci_state_dir *d, struct husk_err **err)
{
	if (remove_dir_contents(d->dirfd, d->path, err) < 0)
		return -1;
	if (rmdir(d->path) < 0 && errno != ENOENT)
		return husk_err_sys(err, "rmdir %s", d->path);
	return 0;
}

void oci_state_dir_close(struct oci_state_dir *d)
{
	if (d->lockfd >= 0)
		close(d->lockfd); /* drops the lock */
	if (d->dirfd >= 0)
		close(d->dirfd);
	free(d->path);
	d->path = NULL;
	d->dirfd = d->lockfd = -1;
}

int oci_state_dir_remove_stale(const char *root, const char *id,
			       struct husk_err **err)
{
	struct oci_state_dir d = OCI_STATE_DIR_INIT;
	_cleanup_free_ char *path = NULL;
	struct stat sb;
	int r = 0;

	if (oci_state_id_check(id, err) < 0)
		return -1;
	path = husk_asprintf("%s/%s", root, id);
	d.dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (d.dirfd < 0)
		return 0;
	d.lockfd = openat(d.dirfd, LOCK_FILE, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (d.lockfd >= 0 && lock_fd(d.lockfd, true, false) < 0)
		goto out; /* someone holds it: not stale */
	if (fstatat(d.dirfd, STATE_FILE, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		goto out; /* a real container */
	d.path = TAKE_PTR(path);
	r = oci_state_dir_remove(&d, err) < 0 ? -1 : 1;
out:
	oci_state_dir_close(&d);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int oci_state_list(const char *root, char ***ids, size_t *n,
		   struct husk_err **err)
{
	_cleanup_strv_ char **v = NULL;
	size_t count = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	*ids = NULL;
	*n = 0;
	if (fd < 0) {
		if (errno == ENOENT)
			goto done; /* no container was ever made: empty */
		return husk_err_sys(err, "open state root %s", root);
	}
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return husk_err_sys(err, "opendir %s", root);
	}
	while ((de = readdir(d)) != NULL) {
		_cleanup_free_ char *p = NULL;
		struct stat sb;

		if (oci_state_id_check(de->d_name, NULL) < 0)
			continue;
		p = husk_asprintf("%s/" STATE_FILE, de->d_name);
		if (fstatat(dirfd(d), p, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (count + 2 > cap) {
			cap = cap ? cap * 2 : 16;
			v = husk_reallocarray(v, cap, sizeof(char *));
		}
		v[count++] = husk_strdup(de->d_name);
		v[count] = NULL;
	}
	closedir(d);
	if (count > 1)
		qsort(v, count, sizeof(char *), cmp_str);
done:
	if (v == NULL)
		v = husk_calloc(1, sizeof(char *));
	*n = count;
	*ids = TAKE_PTR(v);
	return 0;
}

int oci_state_read(const char *root, const char *id, struct oci_state **st,
		   struct husk_err **err)
{
	_cleanup_free_ char *path = NULL, *json = NULL;
	size_t len;

	if (oci_state_id_check(id, err) < 0)
		return -1;
	path = husk_asprintf("%s/%s/" STATE_FILE, root, id);
	if (husk_read_file_at(AT_FDCWD, path, OCI_STATE_MAX_SIZE, &json, &len,
			      err) < 0) {
		if (*err && (*err)->errnum == ENOENT) {
			husk_err_free(err);
			return not_exist(err);
		}
		return -1;
	}
	if (oci_state_from_json(json, len, st, err) < 0)
		return husk_err_prefix(err, "%s", path);
	return 0;
}
