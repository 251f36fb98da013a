/* The default config.json of `husk spec`, field for field what `runc spec`
 * (and `runc spec --rootless`) writes, apart from ociVersion and hostname. */
#include "oci/template.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "common/util.h"

struct gen {
	yajl_gen g;
	int bad; /* first yajl_gen_status that was not ok */
};

static void put_str(struct gen *o, const char *s)
{
	int st = yajl_gen_string(o->g, (const unsigned char *)s, strlen(s));

	if (st != yajl_gen_status_ok && !o->bad)
		o->bad = st;
}

static void put_int(struct gen *o, long long v)
{
	int st = yajl_gen_integer(o->g, v);

	if (st != yajl_gen_status_ok && !o->bad)
		o->bad = st;
}

static void put_bool(struct gen *o, bool v)
{
	int st = yajl_gen_bool(o->g, v);

	if (st != yajl_gen_status_ok && !o->bad)
		o->bad = st;
}

static void open_map(struct gen *o)
{
	int st = yajl_gen_map_open(o->g);

	if (st != yajl_gen_status_ok && !o->bad)
		o->bad = st;
}

static void close_map(struct gen *o)
{
	int st = yajl_gen_map_close(o->g);

	if (st != yajl_gen_status_ok && !o->bad)
		o->bad = st;
}

static void open_arr(struct gen *o)
{
	int st = yajl_gen_array_open(o->g);

	if (st != yajl_gen_status_ok && !o->bad)
		o->bad = st;
}

static void close_arr(struct gen *o)
{
	int st = yajl_gen_array_close(o->g);

	if (st != yajl_gen_status_ok && !o->bad)
		o->bad = st;
}

static void put_strv(struct gen *o, const char *const *v)
{
	open_arr(o);
	for (; *v; v++)
		put_str(o, *v);
	close_arr(o);
}

static void key_str(struct gen *o, const char *k, const char *v)
{
	put_str(o, k);
	put_str(o, v);
}

static void key_strv(struct gen *o, const char *k, const char *const *v)
{
	put_str(o, k);
	put_strv(o, v);
}

static void gen_process(struct gen *o)
{
	static const char *const env[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"TERM=xterm", NULL,
	};
	static const char *const caps[] = {
		"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL,
	};
	static const char *const args[] = {"sh", NULL};
	static const char *const sets[] = {"bounding", "effective",
					   "permitted", "ambient"};

	put_str(o, "process");
	open_map(o);
	put_str(o, "terminal");
	put_bool(o, true);
	put_str(o, "user");
	open_map(o);
	put_str(o, "uid");
	put_int(o, 0);
	put_str(o, "gid");
	put_int(o, 0);
	close_map(o);
	key_strv(o, "args", args);
	key_strv(o, "env", env);
	key_str(o, "cwd", "/");
	put_str(o, "capabilities");
	open_map(o);
	for (size_t i = 0; i < ARRAY_SIZE(sets); i++)
		key_strv(o, sets[i], caps);
	close_map(o);
	put_str(o, "rlimits");
	open_arr(o);
	open_map(o);
	key_str(o, "type", "RLIMIT_NOFILE");
	put_str(o, "hard");
	put_int(o, 1024);
	put_str(o, "soft");
	put_int(o, 1024);
	close_map(o);
	close_arr(o);
	put_str(o, "noNewPrivileges");
	put_bool(o, true);
	close_map(o);
}

static void gen_mount(struct gen *o, const char *dest, const char *type,
		      const char *src, const char *const *opts)
{
	open_map(o);
	key_str(o, "destination", dest);
	key_str(o, "type", type);
	key_str(o, "source", src);
	if (opts)
		key_strv(o, "options", opts);
	close_map(o);
}

static void gen_mounts(struct gen *o, bool rootless)
{
	static const char *const dev[] = {"nosuid", "strictatime", "mode=755",
					  "size=65536k", NULL};
	/* rootless: no gid=5, the tty group need not be mapped */
	static const char *const pts[] = {"nosuid", "noexec", "newinstance",
					  "ptmxmode=0666", "mode=0620", "gid=5",
					  NULL};
	static const char *const pts_rootless[] = {"nosuid", "noexec",
						   "newinstance",
						   "ptmxmode=0666", "mode=0620",
						   NULL};
	static const char *const shm[] = {"nosuid", "noexec", "nodev",
					  "mode=1777", "size=65536k", NULL};
	static const char *const mq[] = {"nosuid", "noexec", "nodev", NULL};
	static const char *const sys[] = {"nosuid", "noexec", "nodev", "ro",
					  NULL};
	/* rootless: sysfs cannot be mounted without a network namespace of
	 * one's own, so the host's /sys is bind-mounted instead */
	static const char *const sys_rootless[] = {"rbind", "nosuid", "noexec",
						   "nodev", "ro", NULL};
	static const char *const cg[] = {"nosuid", "noexec", "nodev",
					 "relatime", "ro", NULL};

	put_str(o, "mounts");
	open_arr(o);
	gen_mount(o, "/proc", "proc", "proc", NULL);
	gen_mount(o, "/dev", "tmpfs", "tmpfs", dev);
	gen_mount(o, "/dev/pts", "devpts", "devpts",
		  rootless ? pts_rootless : pts);
	gen_mount(o, "/dev/shm", "tmpfs", "shm", shm);
	gen_mount(o, "/dev/mqueue", "mqueue", "mqueue", mq);
	if (rootless)
		gen_mount(o, "/sys", "none", "/sys", sys_rootless);
	else
		gen_mount(o, "/sys", "sysfs", "sysfs", sys);
	gen_mount(o, "/sys/fs/cgroup", "cgroup", "cgroup", cg);
	close_arr(o);
}

static void gen_idmap(struct gen *o, const char *key, unsigned long host)
{
	put_str(o, key);
	open_arr(o);
	open_map(o);
	put_str(o, "containerID");
	put_int(o, 0);
	put_str(o, "hostID");
	put_int(o, (long long)host);
	put_str(o, "size");
	put_int(o, 1);
	close_map(o);
	close_arr(o);
}

static void gen_linux(struct gen *o, bool rootless)
{
	static const char *const ns[] = {"pid", "network", "ipc", "uts",
					 "mount"};
	static const char *const ns_rootless[] = {"pid", "ipc", "uts", "mount",
						  "user"};
	static const char *const masked[] = {
		"/proc/acpi",	     "/proc/asound",	   "/proc/kcore",
		"/proc/keys",	     "/proc/latency_stats", "/proc/timer_list",
		"/proc/timer_stats", "/proc/sched_debug",  "/sys/firmware",
		"/proc/scsi",	     NULL,
	};
	static const char *const ro[] = {"/proc/bus", "/proc/fs", "/proc/irq",
					 "/proc/sys", "/proc/sysrq-trigger",
					 NULL};
	const char *const *nsl = rootless ? ns_rootless : ns;

	put_str(o, "linux");
	open_map(o);
	if (rootless) {
		gen_idmap(o, "uidMappings", (unsigned long)getuid());
		gen_idmap(o, "gidMappings", (unsigned long)getgid());
	} else {
		put_str(o, "resources");
		open_map(o);
		put_str(o, "devices");
		open_arr(o);
		open_map(o);
		put_str(o, "allow");
		put_bool(o, false);
		key_str(o, "access", "rwm");
		close_map(o);
		close_arr(o);
		close_map(o);
	}
	put_str(o, "namespaces");
	open_arr(o);
	for (size_t i = 0; i < 5; i++) {
		open_map(o);
		key_str(o, "type", nsl[i]);
		close_map(o);
	}
	close_arr(o);
	key_strv(o, "maskedPaths", masked);
	key_strv(o, "readonlyPaths", ro);
	close_map(o);
}

int oci_template_generate(bool rootless, char **json_out,
			  struct husk_err **err)
{
	struct gen o = {yajl_gen_alloc(NULL), 0};
	const unsigned char *buf;
	size_t len;

	*json_out = NULL;
	if (o.g == NULL)
		return husk_err_set(err, ENOMEM, "yajl_gen_alloc: out of memory");
	/* runc writes with json.MarshalIndent(spec, "", "\t") */
	yajl_gen_config(o.g, yajl_gen_beautify, 1);
	yajl_gen_config(o.g, yajl_gen_indent_string, "\t");

	open_map(&o);
	key_str(&o, "ociVersion", OCI_TEMPLATE_VERSION);
	gen_process(&o);
	put_str(&o, "root");
	open_map(&o);
	key_str(&o, "path", "rootfs");
	put_str(&o, "readonly");
	put_bool(&o, true);
	close_map(&o);
	key_str(&o, "hostname", "husk");
	gen_mounts(&o, rootless);
	gen_linux(&o, rootless);
	close_map(&o);

	if (o.bad || yajl_gen_get_buf(o.g, &buf, &len) != yajl_gen_status_ok) {
		yajl_gen_free(o.g);
		return husk_err_set(err, EINVAL,
				    "generating the default config: yajl_gen status %d",
				    o.bad);
	}
	/* yajl ends a beautified document with a newline, runc does not */
	while (len > 0 && buf[len - 1] == '\n')
		len--;
	*json_out = husk_calloc(len + 1, 1);
	memcpy(*json_out, buf, len);
	yajl_gen_free(o.g);
	return 0;
}
