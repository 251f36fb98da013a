/* The CLI's side of process.terminal: runc's rules on --console-socket,
 * and the console socket `run` and `exec` listen on themselves when the
 * caller's own terminal is to be relayed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/cli.h"

/* runc's checkTerminal (utils_linux.go): a detached tty needs somewhere
 * to send the master; a console socket without a tty is a mistake. */
int husk_check_terminal(bool terminal, const char *console_socket,
			bool internal, struct husk_err **err)
{
	if (terminal && (console_socket == NULL || !console_socket[0]))
		return husk_err_set(err, EINVAL,
				    "cannot allocate tty if husk will detach "
				    "without setting console socket");
	if (!terminal && console_socket && console_socket[0] && !internal)
		return husk_err_set(err, EINVAL,
				    "cannot use console socket if husk will "
				    "not detach or allocate tty");
	return 0;
}

int husk_console_listen(struct husk_console *hc, struct husk_err **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char tmpl[] = "/tmp/husk-console-XXXXXX";

	hc->fd = -1;
	hc->dir = hc->path = NULL;
	if (mkdtemp(tmpl) == NULL)
		return husk_err_sys(err, "mkdtemp %s", tmpl);
	hc->dir = husk_strdup(tmpl);
	hc->path = husk_asprintf("%s/console.sock", tmpl);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", hc->path);
	hc->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (hc->fd < 0) {
		husk_err_sys(err, "socket");
		goto fail;
	}
	if (bind(hc->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(hc->fd, 1) < 0) {
		husk_err_sys(err, "listen on %s", hc->path);
		goto fail;
	}
	return 0;
fail:
	husk_console_close(hc);
	return -1;
}

void husk_console_close(struct husk_console *hc)
{
	if (hc->fd >= 0)
		close(hc->fd);
	hc->fd = -1;
	if (hc->path)
		unlink(hc->path);
	if (hc->dir)
		rmdir(hc->dir);
	free(hc->path);
	free(hc->dir);
	hc->path = hc->dir = NULL;
}

int husk_console_recv(struct husk_console *hc, int *master,
		      struct husk_err **err)
{
	_cleanup_close_ int conn = -1;
	char data[64];

	*master = -1;
	do
		conn = accept4(hc->fd, NULL, NULL, SOCK_CLOEXEC);
	while (conn < 0 && errno == EINTR);
	if (conn < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0; /* nobody connected: no terminal */
	if (conn < 0)
		return husk_err_sys(err, "accept on %s", hc->path);
	if (husk_recv_fd(conn, data, sizeof(data), 0, master) < 0)
		return husk_err_sys(err, "receive the pty master");
	if (*master < 0)
		return husk_err_set(err, EPROTO, "no pty master received");
	return 0;
}
