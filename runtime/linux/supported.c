/* linux_check_supported: refuse, by JSON path, every config.json field the
 * container backend does not apply yet. A field present with a value that
 * changes nothing (docker's memory {"disableOOMKiller": false}, a zero
 * cpu.shares, empty arrays) is accepted. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util.h"
#include "runtime/linux/internal.h"
#include "runtime/linux/linux.h"

#define NOT_YET(err, ...) husk_err_set(err, ENOTSUP, __VA_ARGS__)

static int check_caps(const struct oci_caps *c, struct husk_err **err)
{
	const struct {
		const char *name;
		const struct oci_strv *v;
	} sets[] = {
		{"bounding", &c->bounding},       {"effective", &c->effective},
		{"inheritable", &c->inheritable}, {"permitted", &c->permitted},
		{"ambient", &c->ambient},
	};

	for (size_t s = 0; s < ARRAY_SIZE(sets); s++)
		for (size_t i = 0; i < sets[s].v->n; i++)
			if (process_cap_from_name(sets[s].v->v[i]) < 0)
				return husk_err_set(err, EINVAL,
						    "process.capabilities.%s[%zu]"
						    ": unknown capability \"%s\"",
						    sets[s].name, i,
						    sets[s].v->v[i]);
	return 0;
}

static int check_process(const struct oci_process *p, struct husk_err **err)
{
	if (p == NULL)
		return 0;
	if (p->apparmor_profile && p->apparmor_profile[0])
		return NOT_YET(err, "process.apparmorProfile: not supported yet");
	if (p->selinux_label && p->selinux_label[0])
		return NOT_YET(err, "process.selinuxLabel: not supported yet");
	if (p->io_priority)
		return NOT_YET(err, "process.ioPriority: not supported yet");
	if (p->scheduler)
		return NOT_YET(err, "process.scheduler: not supported yet");
	if (p->exec_cpu_affinity)
		return NOT_YET(err, "process.execCPUAffinity: not supported yet");
	if (p->capabilities && check_caps(p->capabilities, err) < 0)
		return -1;
	return 0;
}

static int check_mounts(const struct oci_spec *spec, struct husk_err **err)
{
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct oci_mount *m = &spec->mounts[i];
		struct mount_opts o;
		char where[48];

		if (m->n_uid_mappings || m->n_gid_mappings)
			return NOT_YET(err, "mounts[%zu].%s: not supported yet",
				       i, m->n_uid_mappings ? "uidMappings"
							    : "gidMappings");
		snprintf(where, sizeof(where), "mounts[%zu]", i);
		if (mount_opts_parse(&m->options, where, &o, err) < 0)
			return -1;
		mount_opts_free(&o);
	}
	return 0;
}

/* linux.resources: every field is applied by resources.c (or refused
 * there, naming the field and the missing controller) and the devices by
 * cgroup.c, so nothing is refused here. */
static int check_resources(const struct oci_resources *r,
			   struct husk_err **err)
{
	(void)r;
	(void)err;
	return 0;
}

static bool has_ns(const struct oci_linux *lx, enum oci_ns_type t)
{
	for (size_t i = 0; i < lx->n_namespaces; i++)
		if (lx->namespaces[i].type == t)
			return true;
	return false;
}

/* Is the namespace of type t given by path the host's own (ours)? */
static bool ns_is_host(const struct oci_linux *lx, enum oci_ns_type t,
		       const char *self)
{
	struct stat a, b;

	for (size_t i = 0; i < lx->n_namespaces; i++) {
		const struct oci_namespace *ns = &lx->namespaces[i];
		if (ns->type != t || ns->path == NULL)
			continue;
		return stat(ns->path, &a) == 0 && stat(self, &b) == 0 &&
		       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	}
	return false;
}

/* runc's rules (libcontainer/configs/validate): only sysctls that live in
 * a namespace the container does not share with the host. */
static int check_sysctl(const struct oci_linux *lx, struct husk_err **err)
{
	static const char *const ipc_keys[] = {
		"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",
		"kernel.sem",    "kernel.shmall", "kernel.shmmax",
		"kernel.shmmni", "kernel.shm_rmid_forced",
	};

	for (size_t i = 0; i < lx->n_sysctl; i++) {
		const char *k = lx->sysctl[i].key;
		bool ipc = husk_str_has_prefix(k, "fs.mqueue.");

		if (k[0] == '\0' || strchr(k, '/') || lx->sysctl[i].value == NULL)
			return husk_err_set(err, EINVAL,
					    "linux.sysctl: invalid sysctl \"%s\"",
					    k);
		for (size_t j = 0; j < ARRAY_SIZE(ipc_keys); j++)
			ipc |= strcmp(k, ipc_keys[j]) == 0;
		if (ipc && has_ns(lx, OCI_NS_IPC))
			continue;
		if (husk_str_has_prefix(k, "net.") &&
		    has_ns(lx, OCI_NS_NETWORK)) {
			if (ns_is_host(lx, OCI_NS_NETWORK, "/proc/self/ns/net"))
				return husk_err_set(err, EINVAL,
						    "linux.sysctl: sysctl \"%s\" "
						    "not allowed in the host's "
						    "network namespace",
						    k);
			continue;
		}
		if (has_ns(lx, OCI_NS_UTS)) {
			if (strcmp(k, "kernel.domainname") == 0)
				continue;
			if (strcmp(k, "kernel.hostname") == 0)
				return husk_err_set(err, EINVAL,
						    "linux.sysctl: sysctl \"%s\" "
						    "is not allowed as it "
						    "conflicts with the OCI "
						    "\"hostname\" field",
						    k);
		}
		return husk_err_set(err, EINVAL,
				    "linux.sysctl: sysctl \"%s\" is not in a "
				    "separate kernel namespace",
				    k);
	}
	return 0;
}

static int check_linux(const struct oci_linux *lx, struct husk_err **err)
{
	if (lx == NULL)
		return husk_err_set(err, EINVAL,
				    "linux: missing (a mount namespace is "
				    "required)");
	for (size_t i = 0; i < lx->n_namespaces; i++)
		if (lx->namespaces[i].type == OCI_NS_USER)
			return NOT_YET(err,
				       "linux.namespaces[%zu] (user): not "
				       "supported yet",
				       i);
	if (lx->n_uid_mappings)
		return NOT_YET(err, "linux.uidMappings: not supported yet");
	if (lx->n_gid_mappings)
		return NOT_YET(err, "linux.gidMappings: not supported yet");
	if (!has_ns(lx, OCI_NS_MOUNT))
		return husk_err_set(err, EINVAL,
				    "linux.namespaces: a mount namespace is "
				    "required");
	if (lx->time_offsets) {
		const struct oci_time_offset *o[] = {
			lx->time_offsets->monotonic, lx->time_offsets->boottime};
		for (size_t i = 0; i < ARRAY_SIZE(o); i++)
			if (o[i] && (o[i]->secs || o[i]->nanosecs))
				return NOT_YET(err, "linux.timeOffsets: not "
						    "supported yet");
	}
	if (lx->mount_label && lx->mount_label[0])
		return NOT_YET(err, "linux.mountLabel: not supported yet");
	if (lx->intel_rdt)
		return NOT_YET(err, "linux.intelRdt: not supported yet");
	if (lx->personality &&
	    ((lx->personality->domain &&
	      strcmp(lx->personality->domain, "LINUX") != 0) ||
	     lx->personality->flags.n))
		return NOT_YET(err, "linux.personality: not supported yet");
	if (lx->memory_policy)
		return NOT_YET(err, "linux.memoryPolicy: not supported yet");
	if (lx->n_net_devices)
		return NOT_YET(err, "linux.netDevices: not supported yet");
	if (check_sysctl(lx, err) < 0)
		return -1;
	return check_resources(lx->resources, err);
}

int linux_check_supported(const struct oci_spec *spec, struct husk_err **err)
{
	if (check_process(spec->process, err) < 0)
		return -1;
	if (check_mounts(spec, err) < 0)
		return -1;
	return check_linux(spec->linux_, err);
}
