/* husk-agent: the guest's PID 1 and the server of the host protocol
 * (common/proto.h). The same binary serves a unix socket on the host for
 * tests. */
#ifndef HUSK_AGENT_H
#define HUSK_AGENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/proto.h"
#include "runtime/linux/linux.h"

struct oci_spec;

#define AGENT_VERSION "0.1.0"
#define AGENT_MAX_CONNS 64
#define AGENT_STATE_DIR "/run/husk-agent"
#define AGENT_MODULES_DIR "/lib/modules"
#define AGENT_MODULES_ORDER "/lib/modules/husk.order"

enum agent_poweroff {
	AGENT_POWEROFF_RESET, /* reboot(RB_AUTOBOOT) + reboot=k: i8042 reset */
	AGENT_POWEROFF_ACPI,  /* reboot(RB_POWER_OFF): ACPI S5 */
};

/* Options from the kernel command line (husk.*). */
struct agent_opts {
	enum agent_poweroff poweroff;
	bool marker_only; /* power off right after the ready marker */
	bool debug;	  /* timings of every step on the console */
};

/* Modules listed after "# late" in husk.order load on a thread after the
 * ready marker; whatever needs them (mounting the shared rootfs) waits. */
struct agent_modules {
	int dirfd;
	char **late; /* NULL-terminated */
	int failed;
	bool done;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

/* One process the agent runs: a container's init or an exec. Its exit is
 * recorded by the reaper (server.c) and exit_efd made readable, so waiters
 * poll it with their connection. */
/* Shared by a process and its waiters (reference counted), so a waiter
 * still gets the status after `delete` freed the process. */
struct agent_exitbox {
	atomic_int refs;
	int efd;		 /* eventfd, readable once done */
	_Atomic uint32_t status; /* proto_exit_status(), set before efd */
};

struct agent_proc {
	struct agent_proc *next;
	char *exec_id; /* NULL: the init */
	pid_t pid;     /* 0 while being set up */
	bool exited;
	uint32_t status;
	struct agent_exitbox *box;
	int pty_master; /* -1 without a terminal; the relay has a dup */
};

enum agent_ctr_state {
	AGENT_CTR_CREATED = 1,
	AGENT_CTR_RUNNING,
};

struct agent_ctr {
	struct agent_ctr *next;
	char *id;
	char *state_dir; /* <state>/<id> */
	struct oci_spec *spec;
	struct linux_container lc;
	enum agent_ctr_state state;
	bool paused;
	struct agent_proc init;
	struct agent_proc *execs;
};

/* A stream connection waiting for the create/exec that will use it. */
struct agent_parked {
	struct agent_parked *next;
	char *container, *exec;
	enum proto_stream stream;
	int fd;
};

/* Pids reaped before anyone registered them (a process may die between
 * its helper reporting it and the registry learning of it). */
#define AGENT_ORPHAN_EXITS 64
struct agent_exit {
	pid_t pid;
	int wstatus;
};

struct agent_reg {
	pthread_mutex_t lock;
	struct agent_ctr *ctrs;
	struct agent_parked *parked;
	size_t n_parked;
	struct agent_exit orphans[AGENT_ORPHAN_EXITS];
	size_t orphan_next;
	char *state_root;   /* absolute, exists */
	char *rootfs_under; /* NULL: any directory */
};

#define AGENT_MAX_PARKED 256

struct agent {
	bool pid1;	   /* the guest's init: mounts, modules, reboot */
	int console_fd;	   /* marker and diagnostics */
	int listen_fd;	   /* -1 when there is nothing to listen on */
	char *listen_spec; /* "vsock:1024", "unix:/path" */
	char *unix_path;   /* unlinked on exit (host mode) */
	int shutdown_fd;   /* eventfd: a client asked for shutdown */
	uint64_t ready_ms; /* CLOCK_BOOTTIME at the ready marker */
	char kernel[65];   /* uname -r */
	struct agent_opts opts;
	atomic_int nconns; /* connections being served */
	struct agent_modules mods;
	struct agent_reg reg;
};

/* init.c: PID 1 duties. */
uint64_t agent_boottime_ms(void);
void agent_say(struct agent *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int agent_cmdline_parse(const char *cmdline, struct agent_opts *o,
			struct husk_err **err);
void agent_mount_early(struct agent *a);
/* Loads the modules listed in order_path (one file name per line, relative
 * to its directory; '#' starts a comment) up to a "# late" line, and keeps
 * the rest for agent_modules_start_late. Failures are reported on the
 * console; returns the number of modules that failed. */
void agent_modules_init(struct agent *a);
int agent_load_modules(struct agent *a, const char *order_path);
void agent_modules_start_late(struct agent *a);
/* Wait until the late modules are loaded; returns how many failed. */
int agent_modules_wait(struct agent *a);
/* sync and end the VM the way husk.poweroff says; never returns. */
__attribute__((noreturn)) void agent_power_off(struct agent *a);

/* server.c: the protocol. */
int agent_listen(struct agent *a, const char *spec, struct husk_err **err);
/* 0 when the vsock transport has a device (a local CID), else -1 with the
 * reason. */
int agent_vsock_check(struct husk_err **err);
/* Block the signals agent_serve takes from a signalfd. Must come before
 * the first thread: a thread with them unblocked would swallow SIGCHLD. */
int agent_signals_block(struct husk_err **err);
/* Serve until a client asks for shutdown (returns 0) or SIGTERM/SIGINT in
 * host mode (returns 0); reaps children on SIGCHLD meanwhile. */
int agent_serve(struct agent *a, struct husk_err **err);

/* ctr.c: the containers (every request of protocol version 2 but attach
 * and wait, which the connection code handles). Replies are filled in rep;
 * a failure is an error reply. */
int agent_reg_init(struct agent *a, const char *state_root,
		   const char *rootfs_under, struct husk_err **err);
void agent_reg_release(struct agent *a);
void agent_handle_ctr(struct agent *a, const struct proto_msg *req,
		      struct proto_msg *rep);
/* Park a stream connection (takes fd); replaces an older one. */
int agent_stream_park(struct agent *a, const struct proto_attach_req *r,
		      int fd, struct husk_err **err);
/* A reaped child: record it for the process it was. */
void agent_reg_exited(struct agent *a, pid_t pid, int wstatus);
/* The exit box of a process, referenced for the caller, or NULL with the
 * reason; agent_exitbox_put releases it. */
struct agent_exitbox *agent_proc_exitbox(struct agent *a,
					 const struct proto_target *t,
					 struct husk_err **err);
void agent_exitbox_put(struct agent_exitbox *b);
/* SIGKILL a process (a guard connection closed early). */
void agent_proc_kill(struct agent *a, const struct proto_target *t);

/* In a child that will become (or make) a container process: the signal
 * mask and the ignored SIGPIPE of the agent survive execve; undo them. */
void agent_child_signals_reset(void);

/* exec.c: start an exec'd process in a created container. stdio fds are
 * the streams (-1: /dev/null); with a terminal, *pty_master gets the pty
 * master. Returns the pid (in the agent's namespace). */
pid_t agent_exec_spawn(struct agent_ctr *c, const struct oci_spec *pspec,
		       const int stdio[3], int *pty_master,
		       struct husk_err **err);
/* Copy between a pty master and its stream until the process side hangs
 * up and the output is drained; closes both. Runs on its own thread. */
void agent_pty_relay_start(struct agent *a, int master, int stream);
/* Receive one fd sent with SCM_RIGHTS. */
int agent_recv_fd(int sock, int *fd, struct husk_err **err);

/* cgroups.c: pause/resume, stats, update of a container's cgroup; moving
 * the caller into it on every hierarchy (exec). */
int agent_cg_enter(const char *cg_path, struct husk_err **err);
int agent_cg_freeze(const char *cg_path, bool freeze, struct husk_err **err);
int agent_cg_stats(const char *cg_path, struct proto_stats_reply *st,
		   struct husk_err **err);
int agent_cg_update(const char *cg_path, const char *resources_json,
		    struct husk_err **err);

#endif
