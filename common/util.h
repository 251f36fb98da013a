/* fd, file and string helpers every husk binary shares. */
#ifndef HUSK_UTIL_H
#define HUSK_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

/* read()/write() the whole buffer, retrying EINTR and short transfers.
 * husk_read_all returns bytes read (< len only at EOF), or -1 with errno. */
ssize_t husk_read_all(int fd, void *buf, size_t len);
int husk_write_all(int fd, const void *buf, size_t len);

/* Read a whole file (at most max bytes, else EFBIG) into a NUL-terminated
 * buffer. dirfd may be AT_FDCWD. */
int husk_read_file_at(int dirfd, const char *path, size_t max, char **out,
		      size_t *out_len, struct husk_err **err);

/* Write data to path (O_TRUNC|O_CREAT, mode). */
int husk_write_file_at(int dirfd, const char *path, const void *data,
		       size_t len, mode_t mode, struct husk_err **err);

/* Write data to "<path>.tmp.<pid>" and rename it over path, so readers see
 * either the old or the new content, never a mix. */
int husk_write_file_atomic(const char *path, const void *data, size_t len,
			   mode_t mode, struct husk_err **err);

/* mkdir -p; existing directories are fine. */
int husk_mkdir_p(const char *path, mode_t mode, struct husk_err **err);

/* asprintf that aborts on out-of-memory (husk cannot go on without memory). */
char *husk_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *husk_strdup(const char *s);
void *husk_calloc(size_t n, size_t size);
void *husk_reallocarray(void *p, size_t n, size_t size);

bool husk_str_has_prefix(const char *s, const char *prefix);

/* Parse a decimal integer that must fill the whole string. */
int husk_parse_i64(const char *s, long long *out);

/* recvmsg() one message of up to len bytes and at most one fd passed with
 * SCM_RIGHTS (received close-on-exec; any further fds are closed). *fd is
 * -1 when none came. EINTR is retried. Returns the byte count or -1. */
ssize_t husk_recv_fd(int sock, void *buf, size_t len, int flags, int *fd);

/* Close every fd >= from except those listed in keep (n entries). */
int husk_close_fds_from(int from, const int *keep, size_t n);

/* Field 22 of /proc/<pid>/stat (start time in clock ticks), and the state
 * letter (field 3). Returns -1 with errno (ENOENT when the pid is gone). */
int husk_proc_stat(pid_t pid, unsigned long long *start_time, char *state);

#endif
