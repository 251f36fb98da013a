/* The features document (runtime-spec features.md). Every list here is
 * what the backend applies today: linux_check_supported() refuses the
 * rest, and the two must move together as later issues lift limits. */
#include "oci/features.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/capability.h>

#include "common/util.h"
#include "oci/jsonw.h"
#include "oci/spec.h"
#include "oci/state.h"
#include "runtime/linux/seccomp.h"

/* The options runtime/linux/mounts.c recognises (its flag, propagation
 * and recursive-attribute tables, and bind/rbind); it refuses tmpcopyup
 * and idmap, and passes anything else to the file system as data. */
static const char *const mount_options[] = {
	"async",   "atime",	   "bind",	  "defaults",
	"dev",	   "diratime",	   "dirsync",	  "exec",
	"mand",	   "noatime",	   "nodev",	  "nodiratime",
	"noexec",  "nomand",	   "norelatime",  "nostrictatime",
	"nosuid",  "nosymfollow",  "private",	  "rbind",
	"rdev",	   "rdiratime",	   "relatime",	  "remount",
	"rexec",   "rnodev",	   "rnodiratime", "rnoexec",
	"rnosuid", "rnosymfollow", "ro",	  "rprivate",
	"rro",	   "rrw",	   "rshared",	  "rslave",
	"rsuid",   "rsymfollow",   "runbindable", "rw",
	"shared",  "slave",	   "strictatime", "suid",
	"sync",	   "unbindable",
};

static void caps_list(struct jsonw *w)
{
	int max = (int)cap_max_bits();

	jsonw_begin_array(w);
	for (int i = 0; i < max; i++) {
		char *name = cap_to_name((cap_value_t)i);
		char up[64];
		size_t k;

		if (name == NULL)
			continue;
		/* libcap names an unknown bit by its number: skip those. */
		if (!husk_str_has_prefix(name, "cap_") ||
		    strlen(name) >= sizeof(up)) {
			cap_free(name);
			continue;
		}
		for (k = 0; name[k]; k++)
			up[k] = (char)toupper((unsigned char)name[k]);
		up[k] = '\0';
		cap_free(name);
		jsonw_string(w, up);
	}
	jsonw_end_array(w);
}

/* runtime/linux/hooks.c runs each at its point of config.md's summary. */
static const char *const hook_kinds[] = {
	"prestart",	   "createRuntime", "createContainer",
	"startContainer", "poststart",	   "poststop",
};

static void string_list(struct jsonw *w, const char *key,
			const char *const *v, size_t n)
{
	jsonw_key(w, key);
	jsonw_begin_array(w);
	for (size_t i = 0; i < n; i++)
		jsonw_string(w, v[i]);
	jsonw_end_array(w);
}

/* features.md linux.seccomp: what this libseccomp and kernel apply. */
static void seccomp_features(struct jsonw *w)
{
	struct linux_seccomp_features f;

	linux_seccomp_features(&f);
	jsonw_key(w, "seccomp");
	jsonw_begin_object(w);
	jsonw_key(w, "enabled");
	jsonw_bool(w, true);
	string_list(w, "actions", f.actions, f.n_actions);
	string_list(w, "operators", f.operators, f.n_operators);
	string_list(w, "archs", f.archs, f.n_archs);
	string_list(w, "knownFlags", f.known_flags, f.n_known_flags);
	string_list(w, "supportedFlags", f.supported_flags,
		    f.n_supported_flags);
	jsonw_end_object(w);
}

static void enabled(struct jsonw *w, const char *key, bool on)
{
	jsonw_key(w, key);
	jsonw_begin_object(w);
	jsonw_key(w, "enabled");
	jsonw_bool(w, on);
	jsonw_end_object(w);
}

int oci_features_json(const char *version, char **out, struct husk_err **err)
{
	struct jsonw w;

	jsonw_init(&w, "    ");
	jsonw_begin_object(&w);
	jsonw_key(&w, "ociVersionMin");
	jsonw_string(&w, "1.0.0");
	jsonw_key(&w, "ociVersionMax");
	jsonw_string(&w, OCI_STATE_SPEC_VERSION);
	jsonw_key(&w, "hooks");
	jsonw_begin_array(&w);
	for (size_t i = 0; i < ARRAY_SIZE(hook_kinds); i++)
		jsonw_string(&w, hook_kinds[i]);
	jsonw_end_array(&w);
	jsonw_key(&w, "mountOptions");
	jsonw_begin_array(&w);
	for (size_t i = 0; i < ARRAY_SIZE(mount_options); i++)
		jsonw_string(&w, mount_options[i]);
	jsonw_end_array(&w);

	jsonw_key(&w, "linux");
	jsonw_begin_object(&w);
	jsonw_key(&w, "namespaces");
	jsonw_begin_array(&w);
	/* User namespaces come with a later issue. */
	for (int t = 0; t < OCI_NS_COUNT; t++)
		if (t != OCI_NS_USER)
			jsonw_string(&w, oci_ns_type_name((enum oci_ns_type)t));
	jsonw_end_array(&w);
	jsonw_key(&w, "capabilities");
	caps_list(&w);
	jsonw_key(&w, "cgroup");
	jsonw_begin_object(&w);
	jsonw_key(&w, "v1");
	jsonw_bool(&w, true);
	jsonw_key(&w, "v2");
	jsonw_bool(&w, true);
	/* --systemd-cgroup is recorded, not yet applied through D-Bus. */
	jsonw_key(&w, "systemd");
	jsonw_bool(&w, false);
	jsonw_key(&w, "systemdUser");
	jsonw_bool(&w, false);
	/* Applied where the rdma controller is mounted, else refused. */
	jsonw_key(&w, "rdma");
	jsonw_bool(&w, true);
	jsonw_end_object(&w);
	seccomp_features(&w);
	enabled(&w, "apparmor", false);
	enabled(&w, "selinux", false);
	enabled(&w, "intelRdt", false);
	jsonw_key(&w, "mountExtensions");
	jsonw_begin_object(&w);
	enabled(&w, "idmap", false);
	jsonw_end_object(&w);
	jsonw_end_object(&w);

	jsonw_key(&w, "annotations");
	jsonw_begin_object(&w);
	jsonw_key(&w, "run.husk.version");
	jsonw_string(&w, version);
	jsonw_key(&w, "run.husk.sandboxes");
	jsonw_string(&w, "container");
	jsonw_end_object(&w);
	jsonw_end_object(&w);
	jsonw_raw(&w, "\n", 1);
	*out = jsonw_take(&w);
	(void)err;
	return 0;
}
