/* husk-agent's PID 1 duties: the kernel command line, early mounts, module
 * loading and the end of the VM. Diagnostics go to the serial console, the
 * only place anyone can see them. */
#include "guest-agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

uint64_t agent_boottime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* One write() per line, so lines from several threads never interleave. */
void agent_say(struct agent *a, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "husk-agent: ");
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (a->console_fd >= 0)
		(void)husk_write_all(a->console_fd, line, (size_t)n);
}

static int opt_bool(const char *key, const char *val, bool *out,
		    struct husk_err **err)
{
	if (strcmp(val, "1") == 0 || strcmp(val, "yes") == 0 ||
	    strcmp(val, "true") == 0)
		*out = true;
	else if (strcmp(val, "0") == 0 || strcmp(val, "no") == 0 ||
		 strcmp(val, "false") == 0)
		*out = false;
	else
		return husk_err_set(err, EINVAL, "%s=%s: must be 0 or 1", key,
				    val);
	return 0;
}

static int opt_apply(char *tok, struct agent_opts *o, struct husk_err **err)
{
	char *val = strchr(tok, '=');

	if (!husk_str_has_prefix(tok, "husk."))
		return 0;
	if (val == NULL)
		return husk_err_set(err, EINVAL, "%s: needs =value", tok);
	*val++ = '\0';
	if (strcmp(tok, "husk.poweroff") == 0) {
		if (strcmp(val, "reset") == 0)
			o->poweroff = AGENT_POWEROFF_RESET;
		else if (strcmp(val, "acpi") == 0)
			o->poweroff = AGENT_POWEROFF_ACPI;
		else
			return husk_err_set(err, EINVAL,
					    "%s=%s: must be reset or acpi",
					    tok, val);
		return 0;
	}
	if (strcmp(tok, "husk.marker_only") == 0)
		return opt_bool(tok, val, &o->marker_only, err);
	if (strcmp(tok, "husk.debug") == 0)
		return opt_bool(tok, val, &o->debug, err);
	return husk_err_set(err, EINVAL, "%s: unknown option", tok);
}

/* The kernel keeps husk.* (a dotted, module-style name) out of init's argv
 * and environment, so the options are read from /proc/cmdline. A bad option
 * is reported and the others still apply. */
int agent_cmdline_parse(const char *cmdline, struct agent_opts *o,
			struct husk_err **err)
{
	_cleanup_free_ char *copy = husk_strdup(cmdline);
	char *save = NULL, *tok;
	int rc = 0;

	for (tok = strtok_r(copy, " \t\n", &save); tok;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		if (opt_apply(tok, o, err) < 0)
			rc = -1;
	}
	return rc;
}

struct early_mount {
	const char *src, *dst, *type;
	unsigned long flags;
	const char *data;
	bool optional;
};

/* devtmpfs first: DEVTMPFS_MOUNT is off in Debian's kernel, and /dev/pts
 * lives inside it. */
static const struct early_mount early_mounts[] = {
	{"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", false},
	{"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
	 false},
	{"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
	 false},
	{"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", false},
	{"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	 "newinstance,ptmxmode=0666,mode=0620", true},
	{"cgroup2", "/sys/fs/cgroup", "cgroup2",
	 MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, true},
};

void agent_mount_early(struct agent *a)
{
	for (size_t i = 0; i < ARRAY_SIZE(early_mounts); i++) {
		const struct early_mount *m = &early_mounts[i];
		if (mkdir(m->dst, 0755) < 0 && errno != EEXIST) {
			agent_say(a, "mkdir %s: %s", m->dst, strerror(errno));
			continue;
		}
		if (mount(m->src, m->dst, m->type, m->flags, m->data) < 0 &&
		    errno != EBUSY)
			agent_say(a, "mount %s on %s%s: %s", m->type, m->dst,
				  m->optional ? " (optional)" : "",
				  strerror(errno));
	}
}

static int load_one(struct agent *a, int dirfd, const char *name)
{
	_cleanup_close_ int fd = -1;
	double t0 = mono_ms();

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		agent_say(a, "module %s: open: %s", name, strerror(errno));
		return -1;
	}
	/* Compressed modules would need MODULE_DECOMPRESS, which Debian's
	 * kernel lacks: the initramfs ships them uncompressed. */
	if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST) {
		agent_say(a, "module %s: finit_module: %s", name,
			  strerror(errno));
		return -1;
	}
	if (a->opts.debug)
		agent_say(a, "module %s: %.2f ms", name, mono_ms() - t0);
	return 0;
}

void agent_modules_init(struct agent *a)
{
	a->mods.dirfd = -1;
	a->mods.done = true; /* until there is something to wait for */
	pthread_mutex_init(&a->mods.lock, NULL);
	pthread_cond_init(&a->mods.cond, NULL);
}

static void late_add(struct agent_modules *m, size_t *n, const char *name)
{
	m->late = husk_reallocarray(m->late, *n + 2, sizeof(char *));
	m->late[(*n)++] = husk_strdup(name);
	m->late[*n] = NULL;
}

int agent_load_modules(struct agent *a, const char *order_path)
{
	_cleanup_free_ char *text = NULL, *dir = husk_strdup(order_path);
	_cleanup_err_ struct husk_err *err = NULL;
	char *save = NULL, *line, *slash;
	int failed = 0, loaded = 0;
	size_t nlate = 0;
	bool late = false;
	double t0 = mono_ms();

	if (husk_read_file_at(AT_FDCWD, order_path, 1 << 20, &text, NULL,
			      &err) < 0) {
		agent_say(a, "modules: %s", err->msg);
		return 1;
	}
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	a->mods.dirfd = open(slash ? (*dir ? dir : "/") : ".",
			     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a->mods.dirfd < 0) {
		agent_say(a, "modules: open %s: %s", dir, strerror(errno));
		return 1;
	}
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		/* "# kernel <release>": modules only load into the kernel
		 * they were built for (vermagic); say so once, clearly. */
		if (husk_str_has_prefix(line, "# kernel ")) {
			if (strcmp(line + 9, a->kernel) != 0)
				agent_say(a,
					  "modules: initramfs is for kernel %s, "
					  "running %s",
					  line + 9, a->kernel);
			continue;
		}
		if (husk_str_has_prefix(line, "# late"))
			late = true;
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (strstr(line, "..") || line[0] == '/') {
			agent_say(a, "modules: %s: bad name", line);
			failed++;
			continue;
		}
		if (late)
			late_add(&a->mods, &nlate, line);
		else if (load_one(a, a->mods.dirfd, line) < 0)
			failed++;
		else
			loaded++;
	}
	if (a->opts.debug || failed)
		agent_say(a, "modules: %d loaded, %d failed in %.1f ms",
			  loaded, failed, mono_ms() - t0);
	return failed;
}

static void *late_thread(void *arg)
{
	struct agent *a = arg;
	double t0 = mono_ms();
	int failed = 0, n = 0;

	for (char **p = a->mods.late; *p; p++, n++)
		if (load_one(a, a->mods.dirfd, *p) < 0)
			failed++;
	if (a->opts.debug || failed)
		agent_say(a, "late modules: %d, %d failed in %.1f ms", n,
			  failed, mono_ms() - t0);
	pthread_mutex_lock(&a->mods.lock);
	a->mods.failed = failed;
	a->mods.done = true;
	pthread_cond_broadcast(&a->mods.cond);
	pthread_mutex_unlock(&a->mods.lock);
	return NULL;
}

void agent_modules_start_late(struct agent *a)
{
	pthread_t t;
	int r;

	if (a->mods.late == NULL)
		return;
	a->mods.done = false;
	r = pthread_create(&t, NULL, late_thread, a);
	if (r != 0) {
		/* Not fatal: load them here, only later than planned. */
		agent_say(a, "late modules: pthread_create: %s", strerror(r));
		late_thread(a);
		return;
	}
	pthread_detach(t);
}

int agent_modules_wait(struct agent *a)
{
	int failed;

	pthread_mutex_lock(&a->mods.lock);
	while (!a->mods.done)
		pthread_cond_wait(&a->mods.cond, &a->mods.lock);
	failed = a->mods.failed;
	pthread_mutex_unlock(&a->mods.lock);
	return failed;
}

void agent_power_off(struct agent *a)
{
	int cmd = a->opts.poweroff == AGENT_POWEROFF_ACPI ? RB_POWER_OFF :
							    RB_AUTOBOOT;

	sync();
	reboot(cmd);
	/* PID 1 must never exit (the kernel would panic): if the machine
	 * cannot be stopped, say why and wait to be killed from outside. */
	agent_say(a, "reboot(%s): %s",
		  cmd == RB_POWER_OFF ? "RB_POWER_OFF" : "RB_AUTOBOOT",
		  strerror(errno));
	for (;;)
		pause();
}
