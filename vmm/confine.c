/* Confinement of husk-vmm (see confine.h). The allow-list covers the vCPU
 * threads (KVM_RUN, port/MMIO emulation, console writes, irq lines), the
 * device thread (epoll, vsock's unix sockets, eventfds, getrandom) and the
 * exit path (joining threads, unlinking the vsock socket). */
#include "vmm/confine.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static int drop_caps(struct husk_err **err)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {{0}};

	for (int cap = 0; cap <= 63; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
			break; /* past the kernel's last capability */
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			/* Without CAP_SETPCAP (an unprivileged husk-vmm) the
			 * bounding set cannot shrink; with no_new_privs and
			 * no permitted caps it cannot be used either. */
			if (errno == EPERM)
				break;
			return husk_err_sys(err, "prctl PR_CAPBSET_DROP %d",
					    cap);
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		return husk_err_sys(err, "prctl PR_CAP_AMBIENT_CLEAR_ALL");
	if (syscall(SYS_capset, &hdr, data) < 0)
		return husk_err_sys(err, "capset (drop all capabilities)");
	return 0;
}

static const int allowed[] = {
	/* memory, threads, signals, time */
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(mprotect), SCMP_SYS(madvise), SCMP_SYS(futex),
	SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(clone),
	SCMP_SYS(clone3), SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigaction), SCMP_SYS(sigaltstack), SCMP_SYS(tgkill),
	SCMP_SYS(gettid), SCMP_SYS(getpid), SCMP_SYS(sched_yield),
	SCMP_SYS(sched_getaffinity), SCMP_SYS(clock_gettime),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday),
	SCMP_SYS(restart_syscall), SCMP_SYS(rt_sigtimedwait),
	/* fds */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(close),
	SCMP_SYS(fcntl), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(statx),
	SCMP_SYS(lseek), SCMP_SYS(dup), SCMP_SYS(eventfd2), SCMP_SYS(pipe2),
	SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2),
	SCMP_SYS(epoll_ctl), SCMP_SYS(getrandom),
	/* vsock's unix sockets (socket() itself is checked below) */
	SCMP_SYS(accept4), SCMP_SYS(accept), SCMP_SYS(connect),
	SCMP_SYS(recvfrom), SCMP_SYS(recvmsg), SCMP_SYS(sendto),
	SCMP_SYS(sendmsg), SCMP_SYS(shutdown), SCMP_SYS(getsockopt),
	SCMP_SYS(setsockopt), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	/* the exit path removes the vsock socket */
	SCMP_SYS(unlink), SCMP_SYS(unlinkat),
};

/* AddressSanitizer builds (make asan): its error reports read
 * /proc/self/maps and symbolize. Leak checking would need ptrace, so main.c
 * turns it off for husk-vmm instead of allowing that. */
#if defined(__SANITIZE_ADDRESS__)
#define HUSK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HUSK_ASAN 1
#endif
#endif
#ifdef HUSK_ASAN
static const int allowed_asan[] = {
	SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(readlink),
	SCMP_SYS(readlinkat), SCMP_SYS(getdents64), SCMP_SYS(prctl),
	SCMP_SYS(getppid), SCMP_SYS(uname),
};
#endif

static const unsigned long allowed_ioctls[] = {
	KVM_RUN, KVM_IRQ_LINE, KVM_IRQFD, KVM_IOEVENTFD, FIONBIO, FIONREAD,
	TCGETS, /* stdio asks whether stderr is a terminal on first use */
};

static int allow_if_eq(scmp_filter_ctx ctx, int nr, unsigned arg,
		       uint64_t value)
{
	struct scmp_arg_cmp cmp = {.arg = arg, .op = SCMP_CMP_EQ,
				   .datum_a = value, .datum_b = 0};

	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, &cmp);
}

int confine_apply(struct husk_err **err)
{
	scmp_filter_ctx ctx;
	int rc;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return husk_err_sys(err, "prctl PR_SET_NO_NEW_PRIVS");
	if (drop_caps(err) < 0)
		return -1;
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return husk_err_set(err, ENOMEM, "seccomp_init");
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	for (size_t i = 0; rc == 0 && i < sizeof(allowed) / sizeof(*allowed);
	     i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
#ifdef HUSK_ASAN
	for (size_t i = 0; rc == 0 && i < ARRAY_SIZE(allowed_asan); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed_asan[i], 0);
#endif
	for (size_t i = 0; rc == 0 && i < sizeof(allowed_ioctls) /
						  sizeof(*allowed_ioctls);
	     i++)
		rc = allow_if_eq(ctx, SCMP_SYS(ioctl), 1, allowed_ioctls[i]);
	/* Only unix sockets: vsock's host side. */
	if (rc == 0)
		rc = allow_if_eq(ctx, SCMP_SYS(socket), 0, AF_UNIX);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0) {
		errno = -rc;
		return husk_err_sys(err, "seccomp filter");
	}
	return 0;
}
