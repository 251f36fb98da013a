/* The container's pty: open it in the container's devpts, hand the master to
 * --console-socket (SCM_RIGHTS, as runc), make the slave the controlling
 * terminal, and relay it to the caller's terminal for `husk run`. */
#include "runtime/linux/terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "common/util.h"

/* Documented in Documentation/admin-guide/devices.txt: 136-143. */
#define PTY_SLAVE_MAJOR_FIRST 136
#define PTY_SLAVE_MAJOR_LAST  143

/* ---- opening the pty ----------------------------------------------------- */

int linux_terminal_set_size(int fd, const struct oci_console_size *size,
			    struct husk_err **err)
{
	struct winsize ws = {0};

	if (size->height > USHRT_MAX || size->width > USHRT_MAX)
		return husk_err_set(err, ERANGE,
				    "process.consoleSize: %ux%u is larger "
				    "than a terminal can be (65535)",
				    size->height, size->width);
	ws.ws_row = (unsigned short)size->height;
	ws.ws_col = (unsigned short)size->width;
	if (ioctl(fd, TIOCSWINSZ, &ws) < 0)
		return husk_err_sys(err, "ioctl TIOCSWINSZ");
	return 0;
}

/* The slave through its path, for kernels before TIOCGPTPEER (4.13); the
 * device numbers are checked so a planted file is refused. */
static int open_slave_by_name(int master, struct husk_err **err)
{
	char name[64];
	unsigned int n;
	struct stat st;
	int fd;

	if (ioctl(master, TIOCGPTN, &n) < 0)
		return husk_err_sys(err, "ioctl TIOCGPTN");
	snprintf(name, sizeof(name), "/dev/pts/%u", n);
	fd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return husk_err_sys(err, "open %s", name);
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) ||
	    major(st.st_rdev) < PTY_SLAVE_MAJOR_FIRST ||
	    major(st.st_rdev) > PTY_SLAVE_MAJOR_LAST) {
		close(fd);
		return husk_err_set(err, EINVAL, "%s: not a pty slave", name);
	}
	return fd;
}

int linux_terminal_open(const char *ptmx_path, int *master, int *slave,
			const struct oci_console_size *size,
			struct husk_err **err)
{
	_cleanup_close_ int m = -1, s = -1;
	unsigned int n;
	int unlock = 0;

	if (ptmx_path == NULL)
		ptmx_path = "/dev/ptmx";
	m = open(ptmx_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return husk_err_sys(err, "open %s", ptmx_path);
	/* Only a pty multiplexer answers TIOCGPTN: a rootfs that put
	 * something else at /dev/ptmx is refused here. */
	if (ioctl(m, TIOCGPTN, &n) < 0)
		return husk_err_set(err, errno, "%s: not a pty multiplexer",
				    ptmx_path);
	if (ioctl(m, TIOCSPTLCK, &unlock) < 0)
		return husk_err_sys(err, "ioctl TIOCSPTLCK on %s", ptmx_path);
	s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0 && (errno == EINVAL || errno == ENOTTY))
		s = open_slave_by_name(m, err);
	else if (s < 0)
		return husk_err_sys(err, "ioctl TIOCGPTPEER on %s", ptmx_path);
	if (s < 0)
		return -1;
	/* runc resizes only when both are set; 0x0 means "leave it". */
	if (size && size->height && size->width &&
	    linux_terminal_set_size(m, size, err) < 0)
		return -1;
	*master = TAKE_FD(m);
	*slave = TAKE_FD(s);
	return 0;
}

int linux_terminal_ptsname(int master, char *buf, size_t len,
			   struct husk_err **err)
{
	unsigned int n;

	if (ioctl(master, TIOCGPTN, &n) < 0)
		return husk_err_sys(err, "ioctl TIOCGPTN");
	if ((size_t)snprintf(buf, len, "/dev/pts/%u", n) >= len)
		return husk_err_set(err, ENAMETOOLONG, "/dev/pts/%u: too long",
				    n);
	return 0;
}

/* ---- the console socket -------------------------------------------------- */

/* connect(), where EINTR leaves the connection going on in the
 * background: wait for it and take its result. */
static int connect_retry(int fd, const struct sockaddr_un *addr)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0)
		return 0;
	if (errno != EINTR)
		return -1;
	while (poll(&p, 1, -1) < 0)
		if (errno != EINTR)
			return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		return -1;
	if (soerr) {
		errno = soerr;
		return -1;
	}
	return 0;
}

int linux_terminal_connect(const char *console_socket, int *sock,
			   struct husk_err **err)
{
	_cleanup_close_ int fd = -1, dirfd = -1;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	const char *path = console_socket;
	char via[sizeof(addr.sun_path)];

	if (console_socket == NULL || console_socket[0] == 0)
		return husk_err_set(err, EINVAL, "console socket: empty path");
	if (strlen(path) >= sizeof(addr.sun_path)) {
		/* Too long for sun_path: go through the directory's fd. */
		_cleanup_free_ char *dir = husk_strdup(console_socket);
		char *slash = strrchr(dir, '/');

		if (slash == NULL || slash[1] == 0)
			return husk_err_set(err, ENAMETOOLONG,
					    "console socket %s: name too long",
					    console_socket);
		*slash = 0;
		dirfd = open(dir[0] ? dir : "/",
			     O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0)
			return husk_err_sys(err, "console socket: open %s",
					    dir[0] ? dir : "/");
		if ((size_t)snprintf(via, sizeof(via), "/proc/self/fd/%d/%s",
				     dirfd, slash + 1) >= sizeof(via))
			return husk_err_set(err, ENAMETOOLONG,
					    "console socket %s: name too long",
					    console_socket);
		path = via;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return husk_err_sys(err, "socket AF_UNIX");
	if (connect_retry(fd, &addr) < 0)
		return husk_err_sys(err, "connect to console socket %s",
				    console_socket);
	*sock = TAKE_FD(fd);
	return 0;
}

int linux_terminal_send_master_fd(int sock, int master, struct husk_err **err)
{
	static const char name[] = TERMINAL_MASTER_NAME;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = (void *)name,
			    .iov_len = sizeof(name) - 1};
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c;
	ssize_t n;

	memset(&ctl, 0, sizeof(ctl));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &master, sizeof(int));
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return husk_err_sys(err,
				    "sendmsg pty master to console socket");
	/* The fd went with the first byte; finish the name if the stream
	 * took only part of it. */
	while ((size_t)n < iov.iov_len) {
		ssize_t m = send(sock, name + n, iov.iov_len - (size_t)n,
				 MSG_NOSIGNAL);
		if (m < 0 && errno == EINTR)
			continue;
		if (m < 0)
			return husk_err_sys(err, "send to console socket");
		n += m;
	}
	return 0;
}

int linux_terminal_send_master(const char *console_socket, int master,
			       struct husk_err **err)
{
	_cleanup_close_ int sock = -1;

	if (linux_terminal_connect(console_socket, &sock, err) < 0)
		return -1;
	if (linux_terminal_send_master_fd(sock, master, err) < 0)
		return husk_err_prefix(err, "console socket %s",
				       console_socket);
	return 0;
}

/* ---- the process side ---------------------------------------------------- */

int linux_terminal_setup_slave(int slave, struct husk_err **err)
{
	if (setsid() < 0 && !(errno == EPERM && getsid(0) == getpid()))
		return husk_err_sys(err, "setsid");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return husk_err_sys(err, "ioctl TIOCSCTTY");
	for (int i = 0; i <= 2; i++) {
		/* dup2(fd, fd) keeps FD_CLOEXEC: clear it by hand. */
		if (slave == i) {
			if (fcntl(i, F_SETFD, 0) < 0)
				return husk_err_sys(err, "fcntl %d F_SETFD", i);
		} else if (dup2(slave, i) < 0) {
			return husk_err_sys(err, "dup2 pty slave onto %d", i);
		}
	}
	if (slave > 2)
		close(slave);
	return 0;
}

/* ---- the relay ----------------------------------------------------------- */

struct relay {
	int master, in_fd, out_fd;
	bool in_open, out_open, done;
	size_t off, len; /* pending in -> master bytes in buf */
	char buf[8192];
};

static void copy_winsize(int from, int to)
{
	struct winsize ws;

	/* Best effort: a failed resize must not end the session. */
	if (ioctl(from, TIOCGWINSZ, &ws) == 0)
		ioctl(to, TIOCSWINSZ, &ws);
}

/* master -> out_fd; *r->done once the pty hung up. Reads at most max
 * chunks so one busy side cannot starve the other. */
static int relay_from_master(struct relay *r, int max, struct husk_err **err)
{
	char buf[8192];

	for (int i = 0; i < max && !r->done; i++) {
		ssize_t n = read(r->master, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n == 0 || (n < 0 && errno == EIO)) {
			/* EIO: every slave fd is closed. */
			r->done = true;
			return 0;
		}
		if (n < 0)
			return husk_err_sys(err, "read pty master");
		if (r->out_open &&
		    husk_write_all(r->out_fd, buf, (size_t)n) < 0) {
			if (errno != EPIPE && errno != EIO)
				return husk_err_sys(err,
						    "write terminal output");
			r->out_open = false;
		}
	}
	return 0;
}

static int relay_to_master(struct relay *r, struct husk_err **err)
{
	while (r->off < r->len) {
		ssize_t n = write(r->master, r->buf + r->off, r->len - r->off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0 && errno == EIO) {
			r->done = true;
			return 0;
		}
		if (n < 0)
			return husk_err_sys(err, "write pty master");
		r->off += (size_t)n;
	}
	r->off = r->len = 0;
	return 0;
}

static int relay_read_input(struct relay *r, struct husk_err **err)
{
	ssize_t n;

	do
		n = read(r->in_fd, r->buf, sizeof(r->buf));
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n < 0 && errno != EIO)
		return husk_err_sys(err, "read terminal input");
	if (n <= 0) {
		/* EOF or a hung-up terminal: only this direction ends. */
		r->in_open = false;
		return 0;
	}
	r->off = 0;
	r->len = (size_t)n;
	return relay_to_master(r, err);
}

static int relay_loop(struct relay *r, int sfd, int pidfd,
		      struct husk_err **err)
{
	while (!r->done) {
		struct pollfd p[4];
		int n = 0, i_in = -1, i_sig = -1, i_pid = -1;

		p[n++] = (struct pollfd){.fd = r->master,
					 .events = POLLIN |
						   (r->len ? POLLOUT : 0)};
		if (r->in_open && r->len == 0) {
			i_in = n;
			p[n++] = (struct pollfd){.fd = r->in_fd,
						 .events = POLLIN};
		}
		if (sfd >= 0) {
			i_sig = n;
			p[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
		}
		if (pidfd >= 0) {
			i_pid = n;
			p[n++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
		}
		if (poll(p, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return husk_err_sys(err, "poll");
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR) &&
		    relay_from_master(r, 16, err) < 0)
			return -1;
		if (!r->done && (p[0].revents & POLLOUT) &&
		    relay_to_master(r, err) < 0)
			return -1;
		if (!r->done && i_in >= 0 && p[i_in].revents &&
		    relay_read_input(r, err) < 0)
			return -1;
		if (i_sig >= 0 && p[i_sig].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) > 0)
				;
			copy_winsize(r->in_fd, r->master);
		}
		if (i_pid >= 0 && p[i_pid].revents) {
			/* The child is gone: copy what it left in the pty,
			 * bounded, in case something it started keeps
			 * writing. */
			if (relay_from_master(r, 1024, err) < 0)
				return -1;
			r->done = true;
		}
	}
	return 0;
}

int linux_terminal_relay(int master, int in_fd, int out_fd, pid_t child,
			 struct husk_err **err)
{
	_cleanup_free_ struct relay *r = husk_calloc(1, sizeof(*r));
	_cleanup_close_ int sfd = -1, pidfd = -1;
	struct termios saved, raw;
	sigset_t sigs, old_mask, pending;
	bool tty = in_fd >= 0 && isatty(in_fd);
	bool pipe_was_pending;
	int master_fl, ret = -1;

	r->master = master;
	r->in_fd = in_fd;
	r->out_fd = out_fd;
	r->in_open = in_fd >= 0;
	r->out_open = out_fd >= 0;

	master_fl = fcntl(master, F_GETFL);
	if (master_fl < 0)
		return husk_err_sys(err, "fcntl pty master F_GETFL");
	if (child > 0) {
		pidfd = pidfd_open(child, 0);
		/* ESRCH: already reaped, so only the hangup can end it. */
		if (pidfd < 0 && errno != ESRCH)
			return husk_err_sys(err, "pidfd_open %d", (int)child);
	}
	/* Signals first: once the terminal is raw, a caller may resize it
	 * and expect the SIGWINCH to be seen. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGWINCH);
	sigaddset(&sigs, SIGPIPE);
	sigpending(&pending);
	pipe_was_pending = sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &sigs, &old_mask);
	if (tty) {
		sigset_t winch;
		sigemptyset(&winch);
		sigaddset(&winch, SIGWINCH);
		sfd = signalfd(-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK);
		if (sfd < 0) {
			husk_err_sys(err, "signalfd SIGWINCH");
			goto out_mask;
		}
		if (tcgetattr(in_fd, &saved) < 0) {
			husk_err_sys(err, "tcgetattr on fd %d", in_fd);
			goto out_mask;
		}
		raw = saved;
		cfmakeraw(&raw);
		if (tcsetattr(in_fd, TCSANOW, &raw) < 0) {
			husk_err_sys(err, "tcsetattr raw on fd %d", in_fd);
			goto out_mask;
		}
		copy_winsize(in_fd, master);
	}
	if (fcntl(master, F_SETFL, master_fl | O_NONBLOCK) < 0) {
		husk_err_sys(err, "fcntl pty master O_NONBLOCK");
		goto out_tty;
	}
	ret = relay_loop(r, sfd, pidfd, err);
	fcntl(master, F_SETFL, master_fl);
out_tty:
	if (tty) {
		while (tcsetattr(in_fd, TCSADRAIN, &saved) < 0 &&
		       errno == EINTR)
			;
	}
out_mask : {
	/* Take back a SIGPIPE that a closed out_fd raised here, so
	 * unblocking does not deliver it; SIGWINCH is harmless. */
	sigset_t pipe_set;
	struct timespec zero = {0, 0};

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	if (!pipe_was_pending && sigismember(&pending, SIGPIPE) == 1)
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 &&
		       errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
}
	return ret;
}
