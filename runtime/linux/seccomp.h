/* linux.seccomp with libseccomp: build the filter from the validated config,
 * load it as the last step before execve, and hand a SCMP_ACT_NOTIFY
 * listener to linux.seccomp.listenerPath (runtime-spec config-linux.md
 * #seccomp, "The Container Process State"). */
#ifndef HUSK_LINUX_SECCOMP_H
#define HUSK_LINUX_SECCOMP_H

#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"
#include "oci/spec.h"

/* Build the filter for s (parsed and validated by oci/). Nothing is loaded
 * and no syscall is made on the process's behalf, so this can run in the
 * runtime before the container's init is cloned, or in the init early.
 *
 * As runc does: syscall names libseccomp does not know are skipped; a rule
 * whose action equals the default action is skipped; a rule whose args
 * name the same index twice becomes one rule per condition (OR), otherwise
 * its conditions are ANDed in one rule. The filter never sets
 * no_new_privs itself (SCMP_FLTATR_CTL_NNP off): process.noNewPrivileges
 * is the caller's to apply. Errors name the JSON path
 * ("linux.seccomp.syscalls[3].errnoRet: ..."). *out is for seccomp_release. */
int linux_seccomp_build(const struct oci_seccomp *s, scmp_filter_ctx *out,
			struct husk_err **err);

/* true if the filter built from s has a SCMP_ACT_NOTIFY rule (an entry
 * with that action and at least one name libseccomp knows). */
bool linux_seccomp_uses_notify(const struct oci_seccomp *s);

/* Load ctx into the calling thread. Without no_new_privs this needs
 * CAP_SYS_ADMIN (the message says so). When the filter has a
 * SCMP_ACT_NOTIFY rule, *listener_fd is the listener (O_CLOEXEC, owned by
 * the caller, still valid after seccomp_release); else -1.
 *
 * Every syscall the calling process makes after this goes through the
 * filter, so it goes as late as possible, in runc's order
 * (standard_init_linux.go):
 *  - process.noNewPrivileges true: prctl(PR_SET_NO_NEW_PRIVS) earlier,
 *    then caps/user/groups, then load, then the remaining steps (pass the
 *    listener out, personality, exec.fifo wait, close fds, execve);
 *  - false: load while CAP_SYS_ADMIN is still held, i.e. right before
 *    the capabilities and the user are changed (setgroups, setresgid,
 *    setresuid, capset then run under the filter).
 * The listener must then leave the process: pass it with
 * sendmsg(SCM_RIGHTS) to the runtime, which calls
 * linux_seccomp_send_listener while the state is still "creating".
 * linux_seccomp_build refuses SCMP_ACT_NOTIFY for "write" and "sendmsg"
 * so that step can never wait on the agent it is meant to reach (runc
 * refuses "write"). */
int linux_seccomp_load(scmp_filter_ctx ctx, const struct oci_seccomp *s,
		       int *listener_fd, struct husk_err **err);

/* Connect to the AF_UNIX SOCK_STREAM socket listener_path, send one
 * containerProcessState {"ociVersion","fds":["seccompFd"],"pid","metadata",
 * "state"} with listener_fd in SCM_RIGHTS on the first sendmsg, close.
 * state_json is the container's state document (runtime.md#state, status
 * "creating"), pid the container process as the runtime sees it, metadata
 * is linux.seccomp.listenerMetadata (NULL: no "metadata" member). Does not
 * close listener_fd. */
int linux_seccomp_send_listener(const char *listener_path, int listener_fd,
				pid_t pid, const char *metadata,
				const char *state_json, struct husk_err **err);

/* What this build applies, for `husk features` (features.md
 * linux.seccomp): each list holds static strings. supported_flags are the
 * known flags this libseccomp and kernel can apply. */
struct linux_seccomp_features {
	const char *actions[16];
	size_t n_actions;
	const char *operators[16];
	size_t n_operators;
	const char *archs[32];
	size_t n_archs;
	const char *known_flags[8];
	size_t n_known_flags;
	const char *supported_flags[8];
	size_t n_supported_flags;
};
void linux_seccomp_features(struct linux_seccomp_features *f);

#endif
