#!/usr/bin/env bash
# linux.seccomp as docker sends it: its default profile already resolved
# for docker's default capabilities (ERRNO/EPERM by default, an allow list,
# personality and clone rules with argument conditions, clone3 -> ENOSYS),
# noNewPrivileges false, root. The shell must run; unshare must be denied.
source "$(dirname "$0")/../lib.sh"
need_root seccomp_docker
[ -x "$HUSK" ] || { fail seccomp_docker "no $HUSK: run make first"; exit 1; }

N=0
run_in() {
	local b=$1; shift
	N=$((N + 1)); ID="scd$$-$N"
	OUT=$(cd "$b" && timeout 30 "$HUSK" --root "$ROOT" run "$ID" 2>&1 </dev/null)
	RC=$?
}

# docker_profile BUNDLE: config.json gets docker's caps and its profile.
docker_profile() {
	python3 - "$1/config.json" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
caps = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
        "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP",
        "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
        "CAP_AUDIT_WRITE"]
c["process"]["capabilities"] = {k: caps for k in ["bounding", "effective", "permitted"]}
c["process"].pop("noNewPrivileges", None)
allow = """accept accept4 access adjtimex alarm bind brk cachestat capget capset
chdir chmod chown chown32 clock_adjtime clock_adjtime64 clock_getres
clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep
clock_nanosleep_time64 close close_range connect copy_file_range creat dup
dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait
epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit
exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate
fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat fcntl
fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr
fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex
futex_requeue futex_time64 futex_wait futex_waitv futex_wake futimesat
getcpu getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 getgid
getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid
getppid getpriority getrandom getresgid getresgid32 getresuid getresuid32
getrlimit get_robust_list getrusage getsid getsockname getsockopt
get_thread_area gettid gettimeofday getuid getuid32 getxattr inotify_add_watch
inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy
io_getevents io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set
io_setup io_submit ipc kill landlock_add_rule landlock_create_ruleset
landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listxattr
llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64 madvise
map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir mkdirat
mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr
mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend
mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv msgsnd msync
munlock munlockall munmap name_to_handle_at nanosleep newfstatat _newselect
open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc
pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2
prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev pwritev2
read readahead readlink readlinkat readv recv recvfrom recvmmsg
recvmmsg_time64 recvmsg remap_file_pages removexattr rename renameat
renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending
rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr
sched_getparam sched_get_priority_max sched_get_priority_min
sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64
sched_setaffinity sched_setattr sched_setparam sched_setscheduler
sched_yield seccomp select semctl semget semop semtimedop semtimedop_time64
send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32
setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid
setpriority setregid setregid32 setresgid setresgid32 setresuid setresuid32
setreuid setreuid32 setrlimit set_robust_list setsid setsockopt
set_thread_area set_tid_address setuid setuid32 setxattr shmat shmctl shmdt
shmget shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn socket
socketcall socketpair splice stat stat64 statfs statfs64 statx symlink
symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create
timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime
timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64
timerfd_settime timerfd_settime64 times tkill truncate truncate64 ugetrlimit
umask uname unlink unlinkat utime utimensat utimensat_time64 utimes vfork
vmsplice wait4 waitid waitpid write writev""".split()
rules = [{"names": allow, "action": "SCMP_ACT_ALLOW"}]
for v in [0, 8, 131072, 131080, 4294967295]:
    rules.append({"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                  "args": [{"index": 0, "value": v, "op": "SCMP_CMP_EQ"}]})
rules += [
    {"names": ["process_vm_readv", "process_vm_writev", "ptrace"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["arch_prctl", "modify_ldt"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["chroot"], "action": "SCMP_ACT_ALLOW"},
    # clone without namespace flags (docker: unless CAP_SYS_ADMIN)
    {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}]},
    # glibc falls back to clone
    {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
]
c["linux"]["seccomp"] = {
    "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "syscalls": rules}
json.dump(c, open(p, "w"), indent=1)
PY
}

B=$T/plain
make_bundle "$B" sh -c 'unshare -U true; echo "rc=$?"'
run_in "$B"
expect_match unshare_works_without_seccomp "$OUT" "rc=0"

B=$T/docker
make_bundle "$B" sh -c 'echo ok; unshare -U true; echo "rc=$?"; grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status | tr -d "\t"'
docker_profile "$B"
run_in "$B"
expect_match docker_profile_shell_runs "$OUT" "^ok"
expect_match docker_profile_denies_unshare "$OUT" "Operation not permitted"$'\n'"rc=1"
expect_match docker_profile_filter_mode "$OUT" "Seccomp:2"
expect_match docker_profile_no_nnp "$OUT" "NoNewPrivs:0"
expect docker_profile_exit "$RC" 0

# A profile libseccomp refuses fails create before any process exists.
B=$T/bad
make_bundle "$B" true
cfg "$B" "c['linux']['seccomp']={'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['write'],'action':'SCMP_ACT_NOTIFY'}],'listenerPath':'/tmp/x.sock'}"
run_in "$B"
expect_match bad_profile_fails_create "$OUT" "linux.seccomp"
expect bad_profile_leaves_nothing "$(h list -q)" ""
[ -d "/sys/fs/cgroup/unified/husk/$ID" ] || [ -d "/sys/fs/cgroup/memory/husk/$ID" ] &&
	fail bad_profile_no_cgroup "cgroup of $ID left" || pass bad_profile_no_cgroup
