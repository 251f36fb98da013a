/* process.terminal in the init and in exec'd processes: the pty made in
 * the container's devpts, its slave on /dev/console, its master handed over
 * the console socket (runc docs/terminals.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/linux/internal.h"
#include "runtime/linux/terminal.h"

/* runc bind-mounts the slave over /dev/console (created if missing) so
 * that a process opening /dev/console reaches its own terminal. The path
 * is resolved inside the (pivoted) root, never following a symlink out. */
static int bind_console(int slave, struct husk_err **err)
{
	_cleanup_close_ int root = -1, target = -1;
	char src[64], dst[64];

	root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return husk_err_sys(err, "open /");
	target = root_mkpath(root, "/dev/console", true, err);
	if (target < 0)
		return husk_err_prefix(err, "/dev/console");
	snprintf(src, sizeof(src), "/proc/self/fd/%d", slave);
	snprintf(dst, sizeof(dst), "/proc/self/fd/%d", target);
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
		return husk_err_sys(err, "bind the pty slave on /dev/console");
	return 0;
}

int console_setup(int sock, const struct oci_process *p, bool bind,
		  struct husk_err **err)
{
	_cleanup_close_ int master = -1;
	int slave = -1;

	/* After pivot_root (or setns into the mount namespace), /dev/ptmx is
	 * the container's devpts: the pty belongs to it. */
	if (linux_terminal_open("/dev/ptmx", &master, &slave, p->console_size,
				err) < 0)
		return husk_err_prefix(err, "process.terminal");
	if (bind && bind_console(slave, err) < 0)
		goto fail;
	if (linux_terminal_send_master_fd(sock, master, err) < 0) {
		husk_err_prefix(err, "console socket");
		goto fail;
	}
	if (linux_terminal_setup_slave(slave, err) < 0)
		return -1; /* it closed the slave */
	return 0;
fail:
	close(slave);
	return -1;
}
