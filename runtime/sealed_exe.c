/* CVE-2019-5736: a container must never be able to write the host husk
 * binary through /proc/<pid>/exe.
 *
 * Why a re-exec, and why for the whole of create/run: the window is not
 * only "between clone and the workload's execve". The workload itself can
 * be husk: a config whose args[0] is /proc/self/exe (or a #! script naming
 * it, or a symlink to it) makes the init's execve resolve /proc/self/exe
 * to the binary the init is running at that moment -- husk -- so the
 * container then runs the host binary as its own visible, dumpable
 * process, and any process in it can open /proc/<that pid>/exe (O_PATH),
 * wait for husk to exit (ETXTBSY ends) and reopen it for writing through
 * /proc/self/fd. A new pid namespace does not help (the process is inside
 * it), nor does a non-dumpable init (execve resets dumpability). Without a
 * pid namespace the container also sees `husk run` itself, which stays
 * alive as long as the workload. So husk does what runc 1.1 and crun do:
 * before create/run does anything, it copies itself into a memfd, seals
 * it (no write, grow, shrink, or further seal changes) and re-executes
 * from it. Every /proc/<pid>/exe a container can reach then names that
 * memfd, which no one can write, and the host binary is never mapped by
 * any process a container can see.
 *
 * Cost, measured on the development machine (2 cores, loaded): 500
 * iterations each of `husk create` without arguments (re-exec, then the
 * usage error) and `husk state` without arguments (no re-exec): 1.84 and
 * 1.06 ms per call from a shell, so the seal costs about 0.8 ms, nearly all
 * of it the second execve and dynamic loading (the copy of ~160 KiB into
 * shmem through sendfile is tens of microseconds). runc 1.2's overlayfs and
 * read-only-bind tricks avoid the copy but not the execve, so they buy
 * little here. Other commands (state, kill, delete, list...) never put a
 * process where a container can see it, so they skip it. */
#include "runtime/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

#define SEALED_ENV "_HUSK_SEALED_EXE"
#define SEALS	   (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

bool husk_exe_is_sealed(void)
{
	_cleanup_close_ int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	int seals;

	if (fd < 0)
		return false;
	seals = fcntl(fd, F_GET_SEALS);
	return seals >= 0 && (seals & SEALS) == SEALS;
}

static int copy_self(int *out, struct husk_err **err)
{
	_cleanup_close_ int src = -1, mfd = -1;
	struct stat sb;
	off_t off = 0;

	src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (src < 0 || fstat(src, &sb) < 0)
		return husk_err_sys(err, "open /proc/self/exe");
	/* MFD_EXEC (Linux 6.3) keeps it executable under vm.memfd_noexec;
	 * older kernels refuse the flag, and need none. */
	mfd = memfd_create("husk", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (mfd < 0 && errno == EINVAL)
		mfd = memfd_create("husk", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return husk_err_sys(err, "memfd_create");
	while (off < sb.st_size) {
		ssize_t n =
			sendfile(mfd, src, &off, (size_t)(sb.st_size - off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return husk_err_sys(err,
					    "copy /proc/self/exe into a memfd");
	}
	if (fcntl(mfd, F_ADD_SEALS, SEALS) < 0)
		return husk_err_sys(err, "seal the memfd copy of husk");
	*out = TAKE_FD(mfd);
	return 0;
}

int husk_ensure_sealed_exe(char **argv, struct husk_err **err)
{
	_cleanup_close_ int mfd = -1;

	if (husk_exe_is_sealed()) {
		/* The container's environment comes from config.json; keep
		 * the marker out of anything husk starts anyway. */
		unsetenv(SEALED_ENV);
		return 0;
	}
	if (getenv(SEALED_ENV))
		return husk_err_set(err, EPERM,
				    "re-executed from a sealed memfd, but "
				    "/proc/self/exe is not sealed");
	if (copy_self(&mfd, err) < 0)
		return -1;
	if (setenv(SEALED_ENV, "1", 1) < 0)
		return husk_err_sys(err, "setenv " SEALED_ENV);
	fexecve(mfd, argv, environ);
	unsetenv(SEALED_ENV);
	return husk_err_sys(err, "fexecve the sealed copy of husk");
}
