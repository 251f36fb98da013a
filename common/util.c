/* fd, file and string helpers every husk binary shares. */
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

ssize_t husk_read_all(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, (char *)buf + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int husk_write_all(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

int husk_read_file_at(int dirfd, const char *path, size_t max, char **out,
		      size_t *out_len, struct husk_err **err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return husk_err_sys(err, "open %s", path);
	for (;;) {
		ssize_t n;
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			if (ncap > max + 1)
				ncap = max + 1;
			if (ncap <= len) {
				return husk_err_set(err, EFBIG,
						    "read %s: larger than %zu bytes",
						    path, max);
			}
			buf = husk_reallocarray(buf, ncap, 1);
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return husk_err_sys(err, "read %s", path);
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return husk_err_set(err, EFBIG,
					    "read %s: larger than %zu bytes",
					    path, max);
	}
	buf = husk_reallocarray(buf, len + 1, 1);
	buf[len] = '\0';
	if (out_len)
		*out_len = len;
	*out = TAKE_PTR(buf);
	return 0;
}

int husk_write_file_at(int dirfd, const char *path, const void *data,
		       size_t len, mode_t mode, struct husk_err **err)
{
	_cleanup_close_ int fd = -1;

	fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return husk_err_sys(err, "open %s", path);
	if (husk_write_all(fd, data, len) < 0)
		return husk_err_sys(err, "write %s", path);
	return 0;
}

int husk_write_file_atomic(const char *path, const void *data, size_t len,
			   mode_t mode, struct husk_err **err)
{
	_cleanup_free_ char *tmp = husk_asprintf("%s.tmp.%d", path, getpid());
	_cleanup_close_ int fd = -1;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return husk_err_sys(err, "open %s", tmp);
	if (husk_write_all(fd, data, len) < 0) {
		husk_err_sys(err, "write %s", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		husk_err_sys(err, "rename %s to %s", tmp, path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

int husk_mkdir_p(const char *path, mode_t mode, struct husk_err **err)
{
	_cleanup_free_ char *p = husk_strdup(path);

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return husk_err_sys(err, "mkdir %s", p);
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return husk_err_sys(err, "mkdir %s", p);
	return 0;
}

static void __attribute__((noreturn)) husk_oom(void)
{
	static const char msg[] = "husk: out of memory\n";
	if (write(2, msg, sizeof(msg) - 1) < 0)
		abort();
	abort();
}

char *husk_asprintf(const char *fmt, ...)
{
	char *s;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		husk_oom();
	return s;
}

char *husk_strdup(const char *s)
{
	char *r;

	if (s == NULL)
		return NULL;
	r = strdup(s);
	if (r == NULL)
		husk_oom();
	return r;
}

void *husk_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		husk_oom();
	return p;
}

void *husk_reallocarray(void *p, size_t n, size_t size)
{
	void *r = reallocarray(p, n ? n : 1, size ? size : 1);
	if (r == NULL)
		husk_oom();
	return r;
}

bool husk_str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int husk_parse_i64(const char *s, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

ssize_t husk_recv_fd(int sock, void *buf, size_t len, int flags, int *fd)
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = {buf, len};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t nfds;
		int fds[4];

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (nfds > ARRAY_SIZE(fds))
			nfds = ARRAY_SIZE(fds);
		memcpy(fds, CMSG_DATA(c), nfds * sizeof(int));
		for (size_t i = 0; i < nfds; i++) {
			if (*fd < 0)
				*fd = fds[i];
			else
				close(fds[i]);
		}
	}
	return n;
}

int husk_close_fds_from(int from, const int *keep, size_t n)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	if (d == NULL) {
		/* No /proc: fall back to close_range over the gaps. */
		for (int fd = from; fd < 4096; fd++) {
			bool kept = false;
			for (size_t i = 0; i < n; i++)
				kept |= keep[i] == fd;
			if (!kept)
				close(fd);
		}
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		long long fd;
		bool kept = false;
		if (husk_parse_i64(de->d_name, &fd) < 0 || fd < from ||
		    fd == dirfd(d))
			continue;
		for (size_t i = 0; i < n; i++)
			kept |= keep[i] == fd;
		if (!kept)
			close((int)fd);
	}
	closedir(d);
	return 0;
}

int husk_proc_stat(pid_t pid, unsigned long long *start_time, char *state)
{
	char path[64], buf[1024];
	_cleanup_close_ int fd = -1;
	ssize_t n;
	char *p;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = husk_read_all(fd, buf, sizeof(buf) - 1);
	if (n <= 0) {
		errno = n == 0 ? ENOENT : errno;
		return -1;
	}
	buf[n] = '\0';
	/* comm (field 2) may hold spaces and parentheses: skip to the last ')'. */
	p = strrchr(buf, ')');
	if (p == NULL || p[1] != ' ') {
		errno = EINVAL;
		return -1;
	}
	p += 2;
	if (state)
		*state = *p;
	for (field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (p == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (start_time)
		*start_time = strtoull(p, NULL, 10);
	return 0;
}
