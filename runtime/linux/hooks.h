/* OCI hooks (runtime-spec config.md#posix-platform-hooks): run a hook list
 * with the container's state on stdin, as runc does.
 *
 * Where each kind runs (the backend calls these; config.md "Summary"):
 *   prestart, createRuntime  in husk (runtime namespace), during create,
 *                            after the namespaces and mounts exist and before
 *                            pivot_root; prestart first. status "creating".
 *   createContainer          in the container's init (container namespaces),
 *                            before pivot_root: the path still resolves in
 *                            the host's root. status "creating".
 *   startContainer           in the container's init after `start` released
 *                            it, just before execve of the process: the path
 *                            resolves in the container's root. status
 *                            "created".
 *   poststart                in husk, after the process was started and
 *                            before `start` returns. status "running".
 *   poststop                 in husk, after the container was deleted and
 *                            before `delete` returns; failures only warn
 *                            (linux_hooks_run_all). status "stopped".
 * A failure of any other kind fails the operation (create: tear down what
 * was made; poststart: runc kills the container and fails `start`).
 * The state's pid is the init's as the caller sees it: runc passes its own
 * getpid() from inside the container for createContainer/startContainer
 * (1 in a new pid namespace).
 *
 * Nothing here assumes the caller's cwd or root: a hook's path is resolved
 * in whatever root the caller has, so the container's init may call these
 * too. The caller must not reap children with wait(-1) on another thread,
 * nor have SIGCHLD set to SIG_IGN, while a hook runs. */
#ifndef HUSK_LINUX_HOOKS_H
#define HUSK_LINUX_HOOKS_H

#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"
#include "oci/spec.h"

/* At most this much of a hook's stdout and of its stderr is kept for the
 * error message; the rest is read and dropped so the hook never blocks on a
 * full pipe. */
#define HOOK_OUTPUT_MAX 4096

/* Run each hook of the list in order: fork + execve(path, args or {path},
 * env exactly as given, empty if none), state_json written to its stdin,
 * its stdout and stderr captured (runc captures both and reports them when
 * the hook fails). The first failure stops the list, returns -1 and sets
 * *err to one of:
 *   "<kind> hook[<i>] <path>: exec: <strerror>"
 *   "<kind> hook[<i>] <path>: exit status <n>"
 *   "<kind> hook[<i>] <path>: killed by signal <n>"
 *   "<kind> hook[<i>] <path>: timed out after <n>s"
 * followed, when the hook wrote anything, by
 *   " (stdout: \"...\", stderr: \"...\")" (first lines, each part only if
 * non-empty). A hook that closes stdin without reading is not a failure.
 * No fd of the caller's but 0..2 reaches a hook, and those are replaced by
 * the pipes. kind is only used in messages ("prestart", "poststop"...). */
int linux_hooks_run(const struct oci_hook_list *hooks, const char *kind,
		    const char *state_json, struct husk_err **err);

/* Like linux_hooks_run, but every hook runs even when an earlier one failed
 * (runtime-spec: poststop failures are logged as warnings and the remaining
 * hooks still run). Returns -1 if any failed, with the messages of all
 * failures joined by "; " in *err for the caller to log as a warning. */
int linux_hooks_run_all(const struct oci_hook_list *hooks, const char *kind,
			const char *state_json, struct husk_err **err);

/* The state JSON of runtime.md#state for a hook's stdin:
 * {"ociVersion":..,"id":..,"status":..,"pid":..,"bundle":..,
 *  "annotations":{..}}; pid is left out when <= 0 and annotations when n is
 * 0 (as runc does). Returns a malloc'd string; aborts on out of memory. */
char *linux_hooks_state_json(const char *oci_version, const char *id,
			     const char *status, pid_t pid, const char *bundle,
			     const struct oci_kv *annotations, size_t n);

#endif
