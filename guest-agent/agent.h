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

#define AGENT_VERSION "0.1.0"
#define AGENT_MAX_CONNS 64
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

#endif
