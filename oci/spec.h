/* config.json as typed structs: the OCI runtime-spec (1.0.0 .. 1.3.x) for Linux.
 * oci_spec_parse() fills these from the JSON and oci_spec_validate() checks
 * them; everything downstream trusts only these structs, never the JSON.
 *
 * Conventions: an absent string or object is NULL; an absent optional number
 * or bool has .set == false; arrays are (pointer, count) pairs; a map is an
 * array of key/value pairs in document order. */
#ifndef HUSK_OCI_SPEC_H
#define HUSK_OCI_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct oci_opt_i64 {
	bool set;
	int64_t v;
};
struct oci_opt_u64 {
	bool set;
	uint64_t v;
};
struct oci_opt_bool {
	bool set;
	bool v;
};

struct oci_kv {
	char *key;
	char *value;
};

struct oci_strv {
	char **v; /* NULL-terminated as well, for execve() */
	size_t n;
};

/* ---- process ----------------------------------------------------------- */

struct oci_rlimit {
	char *type; /* "RLIMIT_NOFILE" ... */
	int resource; /* RLIMIT_* value, filled by validation */
	uint64_t soft, hard;
};

struct oci_caps {
	struct oci_strv bounding, effective, inheritable, permitted, ambient;
	bool has_bounding, has_effective, has_inheritable, has_permitted,
		has_ambient;
};

struct oci_user {
	uint32_t uid, gid;
	struct oci_opt_u64 umask;
	uint32_t *additional_gids;
	size_t n_additional_gids;
	char *username; /* Windows only; kept, unused */
};

struct oci_console_size {
	uint32_t height, width;
};

struct oci_io_priority {
	char *class; /* IOPRIO_CLASS_RT | IOPRIO_CLASS_BE | IOPRIO_CLASS_IDLE */
	int64_t priority;
};

struct oci_scheduler {
	char *policy; /* SCHED_OTHER ... */
	struct oci_opt_i64 nice, priority;
	struct oci_strv flags;
	struct oci_opt_u64 runtime, deadline, period;
};

struct oci_exec_cpu_affinity {
	char *initial, *final; /* cpu lists such as "0-3,7" */
};

struct oci_process {
	bool terminal;
	struct oci_console_size *console_size;
	struct oci_user user;
	struct oci_strv args;
	char *command_line; /* Windows only */
	struct oci_strv env;
	char *cwd;
	struct oci_caps *capabilities;
	struct oci_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	char *apparmor_profile;
	struct oci_opt_i64 oom_score_adj;
	char *selinux_label;
	struct oci_io_priority *io_priority;
	struct oci_scheduler *scheduler;
	struct oci_exec_cpu_affinity *exec_cpu_affinity;
};

/* ---- root, mounts, hooks ----------------------------------------------- */

struct oci_root {
	char *path;
	bool readonly;
};

struct oci_id_mapping {
	uint32_t container_id, host_id, size;
};

struct oci_mount {
	char *destination;
	char *type;
	char *source;
	struct oci_strv options;
	struct oci_id_mapping *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
};

struct oci_hook {
	char *path;
	struct oci_strv args, env;
	struct oci_opt_i64 timeout; /* seconds, > 0 */
};

struct oci_hook_list {
	struct oci_hook *v;
	size_t n;
};

struct oci_hooks {
	struct oci_hook_list prestart, create_runtime, create_container,
		start_container, poststart, poststop;
};

/* ---- linux.resources --------------------------------------------------- */

struct oci_device_rule {
	bool allow;
	char *type; /* "a" "b" "c" or NULL (= "a") */
	struct oci_opt_i64 major, minor; /* unset = wildcard */
	char *access; /* subset of "rwm" or NULL (= "rwm") */
};

struct oci_memory {
	struct oci_opt_i64 limit, reservation, swap, kernel, kernel_tcp;
	struct oci_opt_u64 swappiness;
	struct oci_opt_bool disable_oom_killer, use_hierarchy,
		check_before_update;
};

struct oci_cpu {
	struct oci_opt_u64 shares, period, realtime_period, burst;
	struct oci_opt_i64 quota, realtime_runtime, idle;
	char *cpus, *mems;
};

struct oci_weight_device {
	int64_t major, minor;
	struct oci_opt_u64 weight, leaf_weight; /* uint16 in the spec */
};

struct oci_throttle_device {
	int64_t major, minor;
	uint64_t rate;
};

struct oci_throttle_list {
	struct oci_throttle_device *v;
	size_t n;
};

struct oci_block_io {
	struct oci_opt_u64 weight, leaf_weight; /* uint16 */
	struct oci_weight_device *weight_device;
	size_t n_weight_device;
	struct oci_throttle_list throttle_read_bps, throttle_write_bps,
		throttle_read_iops, throttle_write_iops;
};

struct oci_hugepage_limit {
	char *page_size; /* "2MB" */
	uint64_t limit;
};

struct oci_net_priority {
	char *name;
	uint32_t priority;
};

struct oci_network {
	struct oci_opt_u64 class_id; /* uint32 */
	struct oci_net_priority *priorities;
	size_t n_priorities;
};

struct oci_rdma {
	char *device;
	struct oci_opt_u64 hca_handles, hca_objects; /* uint32 */
};

struct oci_resources {
	struct oci_device_rule *devices;
	size_t n_devices;
	struct oci_memory *memory;
	struct oci_cpu *cpu;
	struct oci_opt_i64 pids_limit; /* linux.resources.pids.limit */
	bool has_pids;
	struct oci_block_io *block_io;
	struct oci_hugepage_limit *hugepage_limits;
	size_t n_hugepage_limits;
	struct oci_network *network;
	struct oci_rdma *rdma;
	size_t n_rdma;
	struct oci_kv *unified;
	size_t n_unified;
};

/* ---- linux: the rest --------------------------------------------------- */

enum oci_ns_type {
	OCI_NS_PID,
	OCI_NS_NETWORK,
	OCI_NS_MOUNT,
	OCI_NS_IPC,
	OCI_NS_UTS,
	OCI_NS_USER,
	OCI_NS_CGROUP,
	OCI_NS_TIME,
	OCI_NS_COUNT
};

struct oci_namespace {
	enum oci_ns_type type;
	char *type_name; /* as written: "pid", "network", ... */
	char *path;      /* NULL: create a new one */
};

struct oci_device {
	char *type; /* "c" "b" "u" "p" */
	char *path;
	int64_t major, minor;
	struct oci_opt_u64 file_mode; /* uint32 */
	struct oci_opt_u64 uid, gid;  /* uint32 */
	bool has_major, has_minor; /* required unless type is "p" */
};

struct oci_seccomp_arg {
	uint32_t index;
	uint64_t value, value_two;
	char *op; /* SCMP_CMP_NE ... */
};

struct oci_seccomp_syscall {
	struct oci_strv names;
	char *action;
	struct oci_opt_u64 errno_ret; /* uint32 */
	struct oci_seccomp_arg *args;
	size_t n_args;
};

struct oci_seccomp {
	char *default_action;
	struct oci_opt_u64 default_errno_ret; /* uint32 */
	struct oci_strv architectures;
	struct oci_strv flags;
	char *listener_path;
	char *listener_metadata;
	struct oci_seccomp_syscall *syscalls;
	size_t n_syscalls;
};

struct oci_time_offset {
	int64_t secs;
	uint32_t nanosecs;
};

struct oci_time_offsets {
	struct oci_time_offset *monotonic, *boottime;
};

struct oci_intel_rdt {
	char *clos_id, *l3_cache_schema, *mem_bw_schema;
	struct oci_strv schemata;
	struct oci_opt_bool enable_cmt, enable_mbm;
};

struct oci_personality {
	char *domain; /* LINUX | LINUX32 */
	struct oci_strv flags;
};

struct oci_memory_policy {
	char *mode; /* MPOL_* */
	char *nodes;
	struct oci_strv flags;
};

struct oci_net_device {
	char *host_name; /* the key of linux.netDevices */
	char *name;      /* name inside the container, NULL = same */
};

struct oci_linux {
	struct oci_id_mapping *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
	struct oci_time_offsets *time_offsets;
	struct oci_kv *sysctl;
	size_t n_sysctl;
	struct oci_resources *resources;
	char *cgroups_path;
	struct oci_namespace *namespaces;
	size_t n_namespaces;
	struct oci_device *devices;
	size_t n_devices;
	struct oci_seccomp *seccomp;
	char *rootfs_propagation;
	struct oci_strv masked_paths, readonly_paths;
	char *mount_label;
	struct oci_intel_rdt *intel_rdt;
	struct oci_personality *personality;
	struct oci_memory_policy *memory_policy;
	struct oci_net_device *net_devices;
	size_t n_net_devices;
};

/* ---- the whole config -------------------------------------------------- */

struct oci_spec {
	char *oci_version;
	struct oci_process *process;
	struct oci_root *root;
	char *hostname, *domainname;
	struct oci_mount *mounts;
	size_t n_mounts;
	struct oci_hooks *hooks;
	struct oci_kv *annotations;
	size_t n_annotations;
	struct oci_linux *linux_;
};

/* Bounds on hostile input: the size of a config.json (and of any document
 * oci_spec_parse/oci_resources_parse accept) and the nesting depth of its
 * JSON (the deepest field of the spec is 6 levels down). */
#define OCI_SPEC_MAX_SIZE (4u << 20)
#define OCI_SPEC_MAX_DEPTH 64

/* Parse config.json text (len bytes, need not be NUL-terminated). Type
 * errors name the JSON path: "process.args[2]: must be a string". The
 * messages do not start with "config.json: "; callers add the file name. */
int oci_spec_parse(const char *json, size_t len, struct oci_spec **out,
		   struct husk_err **err);

/* Read and parse <bundle>/config.json; errors start with "config.json: ". */
int oci_spec_load(const char *bundle, struct oci_spec **out,
		  struct husk_err **err);

/* Semantic checks (required fields, ranges, absolute paths, duplicate
 * namespaces, known enum values); fills derived fields such as
 * oci_rlimit.resource. Messages name the JSON path, e.g.
 * "process.args: must be a non-empty array". */
int oci_spec_validate(struct oci_spec *spec, struct husk_err **err);

/* Parse a LinuxResources JSON document alone (`husk update --resources`). */
int oci_resources_parse(const char *json, size_t len,
			struct oci_resources **out, struct husk_err **err);

/* The checks oci_spec_validate() makes of linux.resources, for a document
 * from oci_resources_parse(); paths are relative ("memory.swappiness"). */
int oci_resources_validate(const struct oci_resources *r,
			   struct husk_err **err);

void oci_spec_free(struct oci_spec *spec);
void oci_resources_free(struct oci_resources *r);

/* Look up an annotation; NULL if absent. */
const char *oci_spec_annotation(const struct oci_spec *spec, const char *key);

/* The namespace entry of a type, or NULL. */
const struct oci_namespace *oci_spec_namespace(const struct oci_spec *spec,
					       enum oci_ns_type type);

/* Name <-> value tables shared by validation and `husk features`. */
const char *oci_ns_type_name(enum oci_ns_type type);
/* OCI_NS_COUNT if the name is not a namespace type. */
enum oci_ns_type oci_ns_type_from_name(const char *name);
/* RLIMIT_* value of "RLIMIT_NOFILE" ..., or -1. */
int oci_rlimit_from_name(const char *name);

/* The names validation accepts, for `husk features` (NULL-terminated). */
enum oci_name_list {
	OCI_NAMES_NAMESPACES,
	OCI_NAMES_RLIMITS,
	OCI_NAMES_SECCOMP_ACTIONS,
	OCI_NAMES_SECCOMP_OPERATORS,
	OCI_NAMES_SECCOMP_ARCHS,
	OCI_NAMES_SECCOMP_FLAGS,
	OCI_NAMES_PROPAGATIONS,
	OCI_NAMES_COUNT
};
const char *const *oci_known_names(enum oci_name_list which, size_t *n);

#endif
