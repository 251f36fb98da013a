/* process.terminal: the container's pty, handing its master to
 * --console-socket as runc does (runc docs/terminals.md), and the relay
 * `husk run` uses when the caller's own terminal is the console.
 *
 * The order runc follows, and the backend should too:
 *   husk (parent):  linux_terminal_connect(--console-socket) before entering
 *                   the container (the socket's path is a host path), and
 *                   hand the connected fd to the init.
 *   init, after pivot_root (so /dev/ptmx is the container's devpts instance
 *   and the pty belongs to it):
 *                   linux_terminal_open("/dev/ptmx", ..., consoleSize);
 *                   bind-mount the slave on /dev/console (ptsname below or
 *                   /proc/self/fd/<slave>); linux_terminal_send_master_fd();
 *                   close the master and the socket;
 *                   linux_terminal_setup_slave() before execve.
 *   `husk run` without --console-socket: husk keeps the master (received
 *   over a socketpair from the init) and calls linux_terminal_relay(). */
#ifndef HUSK_LINUX_TERMINAL_H
#define HUSK_LINUX_TERMINAL_H

#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"
#include "oci/spec.h"

/* What runc puts in the data of the SCM_RIGHTS message: the master's file
 * name (Go's os.File.Name() of the opened /dev/ptmx). conmon and
 * containerd's shim read and ignore it, but send the same bytes. */
#define TERMINAL_MASTER_NAME "/dev/ptmx"

/* Open a new pty from ptmx_path (NULL: "/dev/ptmx", resolved in the
 * caller's root): unlock it, open its slave through the master
 * (TIOCGPTPEER, no path lookup in a hostile /dev/pts), and, when size is
 * given with both dimensions non-zero (as runc), set the window size.
 * Both fds are O_CLOEXEC, the slave O_NOCTTY. Fails if ptmx_path is not a
 * pty multiplexer. */
int linux_terminal_open(const char *ptmx_path, int *master, int *slave,
			const struct oci_console_size *size,
			struct husk_err **err);

/* TIOCSWINSZ from a consoleSize (values above 65535 are refused). */
int linux_terminal_set_size(int fd, const struct oci_console_size *size,
			    struct husk_err **err);

/* "/dev/pts/<n>" of a master, as seen from the devpts instance it came from
 * (the container's, when opened there). */
int linux_terminal_ptsname(int master, char *buf, size_t len,
			   struct husk_err **err);

/* Connect a SOCK_STREAM unix socket to console_socket (paths longer than
 * sun_path are reached through /proc/self/fd). *sock is O_CLOEXEC. */
int linux_terminal_connect(const char *console_socket, int *sock,
			   struct husk_err **err);

/* Send the master over a connected socket exactly as runc does: one
 * sendmsg with TERMINAL_MASTER_NAME as data and the fd in one SCM_RIGHTS
 * control message. A peer that went away is an error, not a SIGPIPE. */
int linux_terminal_send_master_fd(int sock, int master, struct husk_err **err);

/* linux_terminal_connect + linux_terminal_send_master_fd + close. */
int linux_terminal_send_master(const char *console_socket, int master,
			       struct husk_err **err);

/* In the process that will exec: a new session (fine if it already leads
 * one), the slave as controlling terminal, and the slave on 0, 1 and 2
 * (without FD_CLOEXEC). The slave fd itself is closed if it is above 2. */
int linux_terminal_setup_slave(int slave, struct husk_err **err);

/* Copy in_fd -> master and master -> out_fd until the pty hangs up (every
 * slave closed) or, if child > 0, child exits (what it wrote before is
 * still copied). If in_fd is a terminal it is put in raw mode and its
 * window size copied to the master, at start and on every SIGWINCH, and its
 * mode restored on return. in_fd reaching EOF only stops that direction;
 * in_fd may be -1. out_fd going away (EPIPE) drops the output from then
 * on. Does not reap child. SIGWINCH and SIGPIPE are blocked in the calling
 * thread while it runs: call it from husk's only thread (or keep SIGWINCH
 * blocked in the others) so a process-directed SIGWINCH reaches it. */
int linux_terminal_relay(int master, int in_fd, int out_fd, pid_t child,
			 struct husk_err **err);

#endif
