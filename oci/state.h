/* The state directory: one <root>/<id>/ per container holding state.json
 * (husk's own record) and .lock; the status shown to clients is derived
 * from the live process, never trusted from the file. */
#ifndef HUSK_OCI_STATE_H
#define HUSK_OCI_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"
#include "oci/spec.h"

/* The runtime-spec version husk implements, shown in `state` and `list`. */
#define OCI_STATE_SPEC_VERSION "1.2.0"

/* runc's limit is none; ours keeps "<root>/<id>/state.json" well under
 * PATH_MAX for any sane root. */
#define OCI_STATE_ID_MAX 1024
/* state.json carries the annotations, which config.json bounds. */
#define OCI_STATE_MAX_SIZE (OCI_SPEC_MAX_SIZE + (64u << 10))

enum oci_status {
	OCI_STATUS_CREATING,
	OCI_STATUS_CREATED,
	OCI_STATUS_RUNNING,
	OCI_STATUS_STOPPED,
	OCI_STATUS_PAUSED,
};

struct oci_state {
	char *id;
	pid_t pid;		       /* 0 until the init exists */
	unsigned long long start_time; /* field 22 of /proc/<pid>/stat */
	char *bundle;		       /* absolute */
	char *rootfs;		       /* absolute */
	char *created;		       /* RFC 3339 with nanoseconds, UTC */
	uid_t owner;
	struct oci_kv *annotations;
	size_t n_annotations;
	char *cgroup_path;
	char *sandbox; /* "container" (later "vm") */
	bool systemd_cgroup;
	enum oci_status status; /* as last written, not as it is now */
};

/* A container id that can never name anything but one directory entry:
 * 1..1024 chars of [A-Za-z0-9_+.-], not "." or "..". The message is runc's
 * "invalid container ID format" plus the reason. */
int oci_state_id_check(const char *id, struct husk_err **err);

const char *oci_status_name(enum oci_status s);
/* -1 if the name is not a status. */
int oci_status_from_name(const char *name);

/* What `status` is now, from facts about the process: whether the pid
 * exists, its state letter and start time (from /proc/<pid>/stat), and
 * whether exec.fifo is still there. Pure: the unit tests drive it. */
enum oci_status oci_status_derive(pid_t pid, unsigned long long want_start,
				  bool proc_exists, char proc_state,
				  unsigned long long proc_start,
				  bool fifo_present);

/* oci_status_derive over the live process and <dirfd>/exec.fifo. */
enum oci_status oci_state_status(const struct oci_state *st, int dirfd);

/* husk's state.json <-> struct. The parser bounds every field and rejects
 * anything but its own format. */
int oci_state_to_json(const struct oci_state *st, char **out,
		      struct husk_err **err);
int oci_state_from_json(const char *json, size_t len, struct oci_state **out,
			struct husk_err **err);

/* The runtime-spec state as runc prints it (`runc state`: 2-space indent,
 * no trailing newline; `list --format json`: one line). owner is runc's
 * "owner" field: "" for `state`, the user name for `list`. */
char *oci_state_format(const struct oci_state *st, enum oci_status status,
		       const char *owner, bool pretty);

/* "2026-11-25T09:00:00.123456789Z" as Go's RFC3339Nano prints it (trailing
 * zeros of the fraction dropped). */
char *oci_state_now_rfc3339(void);

void oci_state_free(struct oci_state *st);

/* ---- the directory ------------------------------------------------------ */

/* A container's directory, opened and locked (a POSIX record lock on
 * <dir>/.lock, which a forked or cloned child does not inherit). */
struct oci_state_dir {
	char *path; /* <root>/<id> */
	int dirfd;
	int lockfd;
};

#define OCI_STATE_DIR_INIT   \
	{                    \
		NULL, -1, -1 \
	}

/* Make <root>/<id>/ (mode 0700) holding st as state.json, atomically: it is
 * built in a temporary directory, locked, and renamed into place, so no
 * other command ever sees it half made. EEXIST (err->errnum) if the id is
 * taken: "container with id exists: <id>". On success the lock is held. */
int oci_state_dir_create(const char *root, const struct oci_state *st,
			 struct oci_state_dir *d, struct husk_err **err);

/* Open and lock an existing container's directory (exclusive or shared) and
 * read its state.json. ENOENT (err->errnum) with runc's words "container
 * does not exist" if there is no such container. */
int oci_state_dir_open(const char *root, const char *id, bool exclusive,
		       struct oci_state_dir *d, struct oci_state **st,
		       struct husk_err **err);

/* Rewrite state.json atomically (the lock must be held). */
int oci_state_dir_write(struct oci_state_dir *d, const struct oci_state *st,
			struct husk_err **err);

/* Remove the directory and everything in it (state.json first, so that
 * a command waiting for the lock finds no container). */
int oci_state_dir_remove(struct oci_state_dir *d, struct husk_err **err);

/* Drop the lock and close (the directory stays). */
void oci_state_dir_close(struct oci_state_dir *d);

/* Remove <root>/<id> if it is a leftover with no state.json and nobody holds
 * its lock (a create killed before it wrote anything). 1 if removed, 0 if
 * there was nothing to remove. */
int oci_state_dir_remove_stale(const char *root, const char *id,
			       struct husk_err **err);

/* The ids in root that have a state.json, sorted; *n of them. */
int oci_state_list(const char *root, char ***ids, size_t *n,
		   struct husk_err **err);

/* Read <root>/<id>/state.json without the lock (it is replaced by rename,
 * so a reader sees a whole file); ENOENT if absent. */
int oci_state_read(const char *root, const char *id, struct oci_state **st,
		   struct husk_err **err);

#endif
