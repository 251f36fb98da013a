/* oci/spec.c, oci/validate.c, oci/template.c: good configs parse and
 * validate; each bad one fails with its exact message. */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "oci/spec.h"
#include "oci/template.h"
#include "tests/unit/unit.h"

/* Test JSON is written with ' for " to stay readable. */
static char *J(const char *s)
{
	char *r = husk_strdup(s);

	for (char *p = r; *p; p++)
		if (*p == '\'')
			*p = '"';
	return r;
}

/* parse + validate; returns NULL on success or the message (caller frees) */
static char *check_text(const char *json, size_t len, struct oci_spec **keep)
{
	struct husk_err *err = NULL;
	struct oci_spec *s = NULL;
	char *msg = NULL;

	if (oci_spec_parse(json, len, &s, &err) < 0 ||
	    oci_spec_validate(s, &err) < 0) {
		msg = husk_strdup(err && err->msg ? err->msg : "(no message)");
		husk_err_free(&err);
	}
	if (keep && msg == NULL)
		*keep = s;
	else
		oci_spec_free(s);
	return msg;
}

static char *check(const char *quoted, struct oci_spec **keep)
{
	char *json = J(quoted);
	char *msg = check_text(json, strlen(json), keep);

	free(json);
	return msg;
}

#define V12 "'ociVersion':'1.2.0'"
#define ROOT "'root':{'path':'rootfs'}"
#define PROC "'process':{'args':['sh'],'cwd':'/'}"
/* A minimal valid config plus more members; a repeated key overrides the
 * base one (the last of duplicate keys wins). */
#define C(...) "{" V12 "," ROOT "," PROC "," __VA_ARGS__ "}"
#define LNS(...) "'linux':{'namespaces':[" __VA_ARGS__ "]}"
#define NS(...) C(LNS(__VA_ARGS__))
#define CAPS "['CAP_AUDIT_WRITE','CAP_KILL','CAP_NET_BIND_SERVICE']"
#define U64MAX "18446744073709551615"

/* runtime-spec's own example (config.md), shortened, with every section. */
static const char full_config[] =
	"{'ociVersion':'1.0.1','process':{'terminal':true,"
	"'consoleSize':{'height':25,'width':80},"
	"'user':{'uid':1,'gid':1,'umask':18,'additionalGids':[5,6]},"
	"'args':['sh','-c','echo hi'],"
	"'env':['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin','TERM=xterm'],"
	"'cwd':'/','capabilities':{'bounding':" CAPS ",'permitted':" CAPS
	",'inheritable':" CAPS ",'effective':" CAPS ",'ambient':['CAP_NET_BIND_SERVICE']},"
	"'rlimits':[{'type':'RLIMIT_CORE','hard':1024,'soft':1024},"
	"{'type':'RLIMIT_NOFILE','hard':1024,'soft':1024}],"
	"'apparmorProfile':'acme_secure_profile','oomScoreAdj':100,"
	"'selinuxLabel':'system_u:system_r:svirt_lxc_net_t:s0:c124,c675',"
	"'ioPriority':{'class':'IOPRIO_CLASS_IDLE','priority':4},"
	"'scheduler':{'policy':'SCHED_FIFO','priority':10,'flags':['SCHED_FLAG_RESET_ON_FORK']},"
	"'execCPUAffinity':{'initial':'0','final':'0-3,7'},"
	"'noNewPrivileges':true},"
	"'root':{'path':'rootfs','readonly':true},"
	"'hostname':'slartibartfast','domainname':'example.org',"
	"'mounts':[{'destination':'/proc','type':'proc','source':'proc'},"
	"{'destination':'/dev','type':'tmpfs','source':'tmpfs','options':['nosuid','strictatime','mode=755','size=65536k']},"
	"{'destination':'/data','type':'bind','source':'/volumes/testing','options':['rbind','rw','idmap'],"
	"'uidMappings':[{'containerID':0,'hostID':1000,'size':10}],"
	"'gidMappings':[{'containerID':0,'hostID':1000,'size':10}]}],"
	"'hooks':{'prestart':[{'path':'/usr/bin/fix-mounts','args':['fix-mounts','arg1','arg2'],'env':['key1=value1']},"
	"{'path':'/usr/bin/setup-network'}],"
	"'createRuntime':[{'path':'/usr/bin/fix-mounts','args':['fix-mounts','arg1','arg2'],'env':['key1=value1']}],"
	"'createContainer':[{'path':'/usr/bin/mount-hook','args':['-mount','arg1','arg2'],'env':['key1=value1']}],"
	"'startContainer':[{'path':'/usr/bin/refresh-ldcache'}],"
	"'poststart':[{'path':'/usr/bin/notify-start','timeout':5}],"
	"'poststop':[{'path':'/usr/sbin/cleanup.sh','args':['cleanup.sh','-f']}]},"
	"'linux':{'devices':[{'path':'/dev/fuse','type':'c','major':10,'minor':229,'fileMode':438,'uid':0,'gid':0},"
	"{'path':'/dev/sda','type':'b','major':8,'minor':0,'fileMode':432,'uid':0,'gid':0},"
	"{'path':'/dev/fifo','type':'p'}],"
	"'uidMappings':[{'containerID':0,'hostID':1000,'size':32000}],"
	"'gidMappings':[{'containerID':0,'hostID':1000,'size':32000}],"
	"'sysctl':{'net.ipv4.ip_forward':'1','net.core.somaxconn':'256','kernel.shmmax':'1000000','fs.mqueue.msg_max':'10'},"
	"'cgroupsPath':'/myRuntime/myContainer',"
	"'resources':{'network':{'classID':1048577,'priorities':[{'name':'eth0','priority':500},{'name':'eth1','priority':1000}]},"
	"'pids':{'limit':32771},'hugepageLimits':[{'pageSize':'2MB','limit':9223372036854772000},{'pageSize':'64KB','limit':1000000}],"
	"'memory':{'limit':536870912,'reservation':536870912,'swap':536870912,'kernel':-1,'kernelTCP':-1,'swappiness':0,'disableOOMKiller':false,'useHierarchy':true,'checkBeforeUpdate':true},"
	"'cpu':{'shares':1024,'quota':1000000,'period':500000,'realtimeRuntime':950000,'realtimePeriod':1000000,'cpus':'2-3','mems':'0-7','idle':0,'burst':10000},"
	"'devices':[{'allow':false,'access':'rwm'},{'allow':true,'type':'c','major':10,'minor':229,'access':'rw'},{'allow':true,'type':'b','major':8,'minor':0,'access':'r'}],"
	"'blockIO':{'weight':10,'leafWeight':10,'weightDevice':[{'major':8,'minor':0,'weight':500,'leafWeight':300},{'major':8,'minor':16,'weight':500}],"
	"'throttleReadBpsDevice':[{'major':8,'minor':0,'rate':600}],'throttleWriteIOPSDevice':[{'major':8,'minor':16,'rate':300}]},"
	"'rdma':{'mlx5_1':{'hcaHandles':3,'hcaObjects':10000},'mlx4_0':{'hcaObjects':1000}},"
	"'unified':{'memory.high':'1073741824','io.weight':'default 100'}},"
	"'rootfsPropagation':'slave',"
	"'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_X86','SCMP_ARCH_X32'],"
	"'syscalls':[{'names':['getcwd','chmod'],'action':'SCMP_ACT_ERRNO'}]},"
	"'timeOffsets':{'monotonic':{'secs':-86400,'nanosecs':500},'boottime':{'secs':3600}},"
	"'namespaces':[{'type':'pid'},{'type':'network'},{'type':'ipc'},{'type':'uts'},{'type':'mount'},{'type':'user'},{'type':'cgroup'},{'type':'time'}],"
	"'maskedPaths':['/proc/kcore','/proc/latency_stats','/proc/timer_list','/proc/timer_stats','/proc/sched_debug'],"
	"'readonlyPaths':['/proc/asound','/proc/bus','/proc/fs','/proc/irq','/proc/sys','/proc/sysrq-trigger'],"
	"'mountLabel':'system_u:object_r:svirt_sandbox_file_t:s0:c715,c811',"
	"'intelRdt':{'closID':'guaranteed_group','l3CacheSchema':'L3:0=7f0;1=1f','memBwSchema':'MB:0=20;1=70','schemata':['L2:0=ff'],'enableCMT':true,'enableMBM':false},"
	"'personality':{'domain':'LINUX'},"
	"'memoryPolicy':{'mode':'MPOL_INTERLEAVE','nodes':'0-3','flags':['MPOL_F_STATIC_NODES']},"
	"'netDevices':{'eth1':{'name':'ctr1'},'ens4':{}}},"
	"'annotations':{'com.example.key1':'value1','com.example.key2':'value2'},"
	"'windows':{'layerFolders':['C:\\\\Layers']},'vm':{'kernel':{'path':'/k'}},"
	"'x-unknown':{'deep':[[[{'a':[1,2,{'b':null}]}]]]}}";

/* docker's default seccomp profile style: errnoRet, args, flags. */
static const char docker_config[] = C(
	"'linux':{'namespaces':[{'type':'mount'},{'type':'network'},{'type':'uts'},{'type':'pid'},{'type':'ipc'},{'type':'cgroup'}],"
	"'sysctl':{'net.ipv4.ip_unprivileged_port_start':'0','net.ipv4.ping_group_range':'0 2147483647'},"
	"'cgroupsPath':'system.slice:docker:0123abcd',"
	"'seccomp':{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':1,"
	"'architectures':['SCMP_ARCH_X86_64','SCMP_ARCH_X86','SCMP_ARCH_X32'],"
	"'flags':['SECCOMP_FILTER_FLAG_SPEC_ALLOW'],"
	"'syscalls':[{'names':['accept','accept4','access','clone3','landlock_create_ruleset'],'action':'SCMP_ACT_ALLOW'},"
	"{'names':['personality'],'action':'SCMP_ACT_ALLOW','args':[{'index':0,'value':0,'op':'SCMP_CMP_EQ'}]},"
	"{'names':['personality'],'action':'SCMP_ACT_ALLOW','args':[{'index':0,'value':4294967295,'valueTwo':0,'op':'SCMP_CMP_EQ'}]},"
	"{'names':['clone'],'action':'SCMP_ACT_ALLOW','args':[{'index':0,'value':2114060288,'valueTwo':0,'op':'SCMP_CMP_MASKED_EQ'}]},"
	"{'names':['clone3'],'action':'SCMP_ACT_ERRNO','errnoRet':38},"
	"{'names':['socket'],'action':'SCMP_ACT_LOG','args':[{'index':0,'value':40,'op':'SCMP_CMP_NE'}]},"
	"{'names':['ptrace'],'action':'SCMP_ACT_KILL_PROCESS'}]},"
	"'maskedPaths':['/proc/asound','/proc/acpi'],'readonlyPaths':['/proc/bus']},"
	"'hostname':'0123abcd'");

struct tcase {
	const char *name;
	const char *json;
	const char *want; /* NULL: must parse and validate */
};

static const struct tcase good_cases[] = {
	{"good_minimal", C("'hostname':''"), NULL},
	{"good_docker_seccomp", docker_config, NULL},
	{"good_v1_0_0", C("'ociVersion':'1.0.0'"), NULL},
	{"good_v1_0_1", C("'ociVersion':'1.0.1'"), NULL},
	{"good_v1_0_2", C("'ociVersion':'1.0.2'"), NULL},
	{"good_v1_0_2_dev", C("'ociVersion':'1.0.2-dev'"), NULL},
	{"good_v1_0_0_rc5", C("'ociVersion':'1.0.0-rc5'"), NULL},
	{"good_v1_1_0", C("'ociVersion':'1.1.0'"), NULL},
	{"good_v1_1_0_rc1", C("'ociVersion':'1.1.0-rc.1'"), NULL},
	{"good_v1_2_1", C("'ociVersion':'1.2.1'"), NULL},
	{"good_v1_3_0", C("'ociVersion':'1.3.0'"), NULL},
	{"good_v1_3_9_build", C("'ociVersion':'1.3.9+dev.abc'"), NULL},
	{"good_rlimit_u64max",
	 C("'process':{'args':['sh'],'cwd':'/','rlimits':[{'type':'RLIMIT_NOFILE','soft':" U64MAX ",'hard':" U64MAX "},"
	   "{'type':'RLIMIT_CORE','soft':0,'hard':" U64MAX "}]}"),
	 NULL},
	{"good_unknown_fields",
	 C("'solaris':{'milestone':1},'process':{'args':['sh'],'cwd':'/','futureField':{'x':[1.5e300]}},"
	   "'linux':{'futureThing':true}"),
	 NULL},
	{"good_nulls_are_absent",
	 C("'hostname':null,'mounts':null,'hooks':null,'annotations':null,"
	   "'linux':{'resources':null,'seccomp':null,'namespaces':[{'type':'pid','path':null}]}"),
	 NULL},
	{"good_minus_zero_uid",
	 C("'process':{'args':['sh'],'cwd':'/','user':{'uid':-0,'gid':0}}"),
	 NULL},
	{"good_ns_path", C(LNS("{'type':'network','path':'/var/run/netns/x'},{'type':'uts'}") ",'hostname':'h'"), NULL},
	{"good_ns_empty_path", NS("{'type':'network','path':''}"), NULL},
	{"good_joined_uts_hostname", C(LNS("{'type':'uts','path':'/proc/1/ns/uts'}") ",'hostname':'h'"), NULL},
	{"good_userns_path_no_maps", NS("{'type':'user','path':'/proc/1/ns/user'}"), NULL},
	{"good_sysctl_slashes",
	 C("'linux':{'namespaces':[{'type':'network'}],'sysctl':{'net/ipv4/conf/eth0.100/forwarding':'1'}}"),
	 NULL},
	{"good_sysctl_uts",
	 C("'linux':{'namespaces':[{'type':'uts'}],'sysctl':{'kernel.domainname':'x'}}"),
	 NULL},
	{"good_propagation_empty", C("'linux':{'rootfsPropagation':''}"), NULL},
	{"good_propagation_runbindable", C("'linux':{'rootfsPropagation':'runbindable'}"), NULL},
	{"good_seccomp_notify",
	 C("'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'/run/seccomp.sock','listenerMetadata':'x',"
	   "'flags':['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV','SECCOMP_FILTER_FLAG_LOG','SECCOMP_FILTER_FLAG_TSYNC'],"
	   "'syscalls':[{'names':['mkdir'],'action':'SCMP_ACT_NOTIFY'}]}}"),
	 NULL},
	{"good_device_rule_defaults", C("'linux':{'resources':{'devices':[{'allow':true}]}}"), NULL},
	{"good_hook_zero_env", C("'hooks':{'poststop':[{'path':'/bin/true','env':[]}]}"), NULL},
	{"good_personality_linux32", C("'linux':{'personality':{'domain':'LINUX32','flags':[]}}"), NULL},
	{"good_scheduler_deadline",
	 C("'process':{'args':['sh'],'cwd':'/','scheduler':{'policy':'SCHED_DEADLINE','runtime':10000,'deadline':20000,'period':" U64MAX "}}"),
	 NULL},
	{"good_u32_max", C("'process':{'args':['sh'],'cwd':'/','user':{'uid':4294967295,'gid':4294967295}}"), NULL},
	{"good_i64_limits",
	 C("'linux':{'resources':{'memory':{'limit':9223372036854775807,'swap':-9223372036854775808}}}"),
	 NULL},
	{"good_resources_unified_only", C("'linux':{'resources':{'unified':{'cgroup.freeze':'0'}}}"), NULL},
	{"good_whitespace", "  \n\t{ \"ociVersion\" : \"1.2.0\" , \"root\" : { \"path\" : \"r\" } , "
			     "\"process\" : { \"args\" : [ \"a\" ] , \"cwd\" : \"/\" } }  \n", NULL},
	{"good_utf8", C("'annotations':{'k':'h\\u00e9llo \\u2603 \\ud83d\\ude00'}"), NULL},
};

static const struct tcase bad_parse_cases[] = {
	{"bad_json_eof", "{", "invalid JSON: parse error: premature EOF"},
	{"bad_json_empty", "", "invalid JSON: parse error: premature EOF"},
	{"bad_json_garbage", "{} x", "invalid JSON: parse error: trailing garbage"},
	{"bad_json_two_docs", "{}{}", "invalid JSON: parse error: trailing garbage"},
	{"bad_json_trailing_comma", "{'a':1,}",
	 "invalid JSON: parse error: invalid object key (must be a string)"},
	{"bad_json_comment", "{/* c */}", "invalid JSON: comment at offset 1"},
	{"bad_json_line_comment", "{'a':1 // c\n}", "invalid JSON: comment at offset 7"},
	{"bad_json_single_quote", "{\"a\":`x`}", "invalid JSON: lexical error: invalid char in json text"},
	{"bad_json_bad_utf8", "{'a':'\xff'}", "invalid JSON: lexical error: invalid bytes in UTF8 string"},
	{"bad_json_nul_escape", "{'a':'x\\u0000y'}",
	 "invalid JSON: \\u0000 in a string at offset 7"},
	{"bad_top_array", "[1]", "the document must be a JSON object"},
	{"bad_top_string", "'x'", "the document must be a JSON object"},
	{"bad_version_type", "{'ociVersion':1}", "ociVersion: must be a string"},
	{"bad_process_type", C("'process':[]"), "process: must be an object"},
	{"bad_args_elem", C("'process':{'args':['a','b',3],'cwd':'/'}"), "process.args[2]: must be a string"},
	{"bad_args_null_elem", C("'process':{'args':[null],'cwd':'/'}"), "process.args[0]: must be a string"},
	{"bad_args_type", C("'process':{'args':'sh','cwd':'/'}"), "process.args: must be an array of strings"},
	{"bad_terminal_type", C("'process':{'args':['a'],'cwd':'/','terminal':'yes'}"), "process.terminal: must be a boolean"},
	{"bad_terminal_int", C("'process':{'args':['a'],'cwd':'/','terminal':1}"), "process.terminal: must be a boolean"},
	{"bad_mem_limit_string", C("'linux':{'resources':{'memory':{'limit':'1G'}}}"),
	 "linux.resources.memory.limit: must be an integer"},
	{"bad_mem_limit_float", C("'linux':{'resources':{'memory':{'limit':1.5}}}"),
	 "linux.resources.memory.limit: must be an integer"},
	{"bad_mem_limit_exp", C("'linux':{'resources':{'memory':{'limit':1e9}}}"),
	 "linux.resources.memory.limit: must be an integer"},
	{"bad_mem_limit_over_i64", C("'linux':{'resources':{'memory':{'limit':9223372036854775808}}}"),
	 "linux.resources.memory.limit: must be an integer in [-9223372036854775808, 9223372036854775807]"},
	{"bad_mem_limit_under_i64", C("'linux':{'resources':{'memory':{'limit':-9223372036854775809}}}"),
	 "linux.resources.memory.limit: must be an integer in [-9223372036854775808, 9223372036854775807]"},
	{"bad_uid_negative", C("'process':{'args':['a'],'cwd':'/','user':{'uid':-1,'gid':0}}"),
	 "process.user.uid: must be an integer in [0, 4294967295]"},
	{"bad_uid_too_big", C("'process':{'args':['a'],'cwd':'/','user':{'uid':4294967296,'gid':0}}"),
	 "process.user.uid: must be an integer in [0, 4294967295]"},
	{"bad_gid_bool", C("'process':{'args':['a'],'cwd':'/','user':{'uid':0,'gid':true}}"),
	 "process.user.gid: must be an integer"},
	{"bad_additional_gid", C("'process':{'args':['a'],'cwd':'/','user':{'additionalGids':[1,-2]}}"),
	 "process.user.additionalGids[1]: must be an integer in [0, 4294967295]"},
	{"bad_mount_options_string", C("'mounts':[{'destination':'/a'},{'destination':'/b','options':'ro'}]"),
	 "mounts[1].options: must be an array of strings"},
	{"bad_mounts_type", C("'mounts':{}"), "mounts: must be an array"},
	{"bad_mount_elem_type", C("'mounts':['/proc']"), "mounts[0]: must be an object"},
	{"bad_rlimit_over_u64",
	 C("'process':{'args':['a'],'cwd':'/','rlimits':[{'type':'RLIMIT_CORE','soft':18446744073709551616,'hard':1}]}"),
	 "process.rlimits[0].soft: must be an integer in [0, 18446744073709551615]"},
	{"bad_rlimit_negative",
	 C("'process':{'args':['a'],'cwd':'/','rlimits':[{'type':'RLIMIT_CORE','soft':-1,'hard':1}]}"),
	 "process.rlimits[0].soft: must be an integer in [0, 18446744073709551615]"},
	{"bad_rlimit_missing_hard",
	 C("'process':{'args':['a'],'cwd':'/','rlimits':[{'type':'RLIMIT_CORE','soft':1}]}"),
	 "process.rlimits[0].hard: must be set"},
	{"bad_rlimit_null_hard",
	 C("'process':{'args':['a'],'cwd':'/','rlimits':[{'type':'RLIMIT_CORE','soft':1,'hard':null}]}"),
	 "process.rlimits[0].hard: must be set"},
	{"bad_annotation_value", C("'annotations':{'a.b/c':1}"), "annotations[\"a.b/c\"]: must be a string"},
	{"bad_annotations_type", C("'annotations':[]"), "annotations: must be an object"},
	{"bad_hook_timeout_type", C("'hooks':{'prestart':[{'path':'/x','timeout':'5'}]}"),
	 "hooks.prestart[0].timeout: must be an integer"},
	{"bad_seccomp_arg_value",
	 C("'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a'],'action':'SCMP_ACT_LOG','args':[{'index':0,'value':-1,'op':'SCMP_CMP_EQ'}]}]}}"),
	 "linux.seccomp.syscalls[0].args[0].value: must be an integer in [0, 18446744073709551615]"},
	{"bad_seccomp_arg_missing_index",
	 C("'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a'],'action':'SCMP_ACT_LOG','args':[{'value':1,'op':'SCMP_CMP_EQ'}]}]}}"),
	 "linux.seccomp.syscalls[0].args[0].index: must be set"},
	{"bad_blkio_weight", C("'linux':{'resources':{'blockIO':{'weight':70000}}}"),
	 "linux.resources.blockIO.weight: must be an integer in [0, 65535]"},
	{"bad_throttle_missing_rate",
	 C("'linux':{'resources':{'blockIO':{'throttleWriteBpsDevice':[{'major':8,'minor':0}]}}}"),
	 "linux.resources.blockIO.throttleWriteBpsDevice[0].rate: must be set"},
	{"bad_time_offset_clock", C("'linux':{'timeOffsets':{'realtime':{'secs':1}}}"),
	 "linux.timeOffsets.realtime: unknown clock (want \"monotonic\" or \"boottime\")"},
	{"bad_idmap_missing_size", C("'linux':{'uidMappings':[{'containerID':0,'hostID':0}]}"),
	 "linux.uidMappings[0].size: must be set"},
	{"bad_device_rule_allow", C("'linux':{'resources':{'devices':[{'access':'rwm'}]}}"),
	 "linux.resources.devices[0].allow: must be set"},
	{"bad_rdma_type", C("'linux':{'resources':{'rdma':{'mlx5':{'hcaHandles':'3'}}}}"),
	 "linux.resources.rdma[\"mlx5\"].hcaHandles: must be an integer"},
	{"bad_net_device_type", C("'linux':{'netDevices':{'eth0':{'name':5}}}"),
	 "linux.netDevices[\"eth0\"].name: must be a string"},
	{"bad_sysctl_value", C("'linux':{'sysctl':{'net.x':1}}"), "linux.sysctl[\"net.x\"]: must be a string"},
	{"bad_caps_elem", C("'process':{'args':['a'],'cwd':'/','capabilities':{'bounding':['CAP_KILL',{}]}}"),
	 "process.capabilities.bounding[1]: must be a string"},
	{"bad_ns_type_type", NS("{'type':1}"), "linux.namespaces[0].type: must be a string"},
	{"bad_schemata_string", C("'linux':{'intelRdt':{'schemata':'L3:0=f'}}"),
	 "linux.intelRdt.schemata: must be an array of strings"},
	{"bad_console_height", C("'process':{'args':['a'],'cwd':'/','consoleSize':{'height':1.0,'width':1}}"),
	 "process.consoleSize.height: must be an integer"},
	{"bad_scheduler_nice_range",
	 C("'process':{'args':['a'],'cwd':'/','scheduler':{'policy':'SCHED_OTHER','nice':2147483648}}"),
	 "process.scheduler.nice: must be an integer in [-2147483648, 2147483647]"},
	{"bad_linux_type", C("'linux':true"), "linux: must be an object"},
	{"bad_root_path_type", "{'ociVersion':'1.2.0','root':{'path':['x']}}", "root.path: must be a string"},
	{"bad_dup_key_last_wins", C("'hostname':'a','hostname':7"), "hostname: must be a string"},
};

static const struct tcase bad_validate_cases[] = {
	{"val_version_missing", "{'root':{'path':'r'}," PROC "}", "ociVersion: must be set"},
	{"val_version_2", C("'ociVersion':'2.0.0'"), "ociVersion: unsupported version \"2.0.0\""},
	{"val_version_1_4", C("'ociVersion':'1.4.0'"), "ociVersion: unsupported version \"1.4.0\""},
	{"val_version_0_6", C("'ociVersion':'0.6.0'"), "ociVersion: unsupported version \"0.6.0\""},
	{"val_version_short", C("'ociVersion':'1.0'"), "ociVersion: unsupported version \"1.0\""},
	{"val_version_junk", C("'ociVersion':'1.0.0 '"), "ociVersion: unsupported version \"1.0.0 \""},
	{"val_version_empty_pre", C("'ociVersion':'1.0.0-'"), "ociVersion: unsupported version \"1.0.0-\""},
	{"val_root_missing", "{" V12 "," PROC "}", "root.path: must be set"},
	{"val_root_path_empty", C("'root':{'path':''}"), "root.path: must be set"},
	{"val_process_missing", "{" V12 "," ROOT "}", "process: must be set"},
	{"val_args_empty", C("'process':{'args':[],'cwd':'/'}"), "process.args: must be a non-empty array"},
	{"val_args_missing", C("'process':{'cwd':'/'}"), "process.args: must be a non-empty array"},
	{"val_cwd_relative", C("'process':{'args':['a'],'cwd':'tmp'}"), "process.cwd: must be an absolute path"},
	{"val_cwd_missing", C("'process':{'args':['a']}"), "process.cwd: must be an absolute path"},
	{"val_env_no_eq", C("'process':{'args':['a'],'cwd':'/','env':['A=1','FOO']}"),
	 "process.env[1]: must be of the form NAME=value"},
	{"val_env_empty_name", C("'process':{'args':['a'],'cwd':'/','env':['=x']}"),
	 "process.env[0]: must be of the form NAME=value"},
	{"val_umask", C("'process':{'args':['a'],'cwd':'/','user':{'umask':512}}"),
	 "process.user.umask: must be in [0, 0777]"},
	{"val_mount_dest_relative", C("'mounts':[{'destination':'proc','type':'proc'}]"),
	 "mounts[0].destination: must be an absolute path"},
	{"val_mount_dest_missing", C("'mounts':[{'destination':'/a'},{'type':'tmpfs'}]"),
	 "mounts[1].destination: must be an absolute path"},
	{"val_mount_idmap_half",
	 C("'mounts':[{'destination':'/a','uidMappings':[{'containerID':0,'hostID':1,'size':1}]}]"),
	 "mounts[0]: uidMappings and gidMappings must be set together"},
	{"val_mount_idmap_size",
	 C("'mounts':[{'destination':'/a','uidMappings':[{'containerID':0,'hostID':1,'size':1}],"
	   "'gidMappings':[{'containerID':0,'hostID':1,'size':0}]}]"),
	 "mounts[0].gidMappings[0].size: must be > 0"},
	{"val_rlimit_unknown",
	 C("'process':{'args':['a'],'cwd':'/','rlimits':[{'type':'RLIMIT_FOO','soft':1,'hard':1}]}"),
	 "process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\""},
	{"val_rlimit_dup",
	 C("'process':{'args':['a'],'cwd':'/','rlimits':[{'type':'RLIMIT_NOFILE','soft':1,'hard':1},"
	   "{'type':'RLIMIT_NOFILE','soft':2,'hard':2}]}"),
	 "process.rlimits[1].type: duplicate rlimit \"RLIMIT_NOFILE\""},
	{"val_rlimit_soft_above_hard",
	 C("'process':{'args':['a'],'cwd':'/','rlimits':[{'type':'RLIMIT_NOFILE','soft':2048,'hard':1024}]}"),
	 "process.rlimits[0]: soft limit 2048 is above hard limit 1024"},
	{"val_rlimit_infinity_soft",
	 C("'process':{'args':['a'],'cwd':'/','rlimits':[{'type':'RLIMIT_NOFILE','soft':" U64MAX ",'hard':1024}]}"),
	 "process.rlimits[0]: soft limit 18446744073709551615 is above hard limit 1024"},
	{"val_rlimit_lowercase",
	 C("'process':{'args':['a'],'cwd':'/','rlimits':[{'type':'rlimit_nofile','soft':1,'hard':1}]}"),
	 "process.rlimits[0].type: unknown rlimit \"rlimit_nofile\""},
	{"val_cap_unknown", C("'process':{'args':['a'],'cwd':'/','capabilities':{'bounding':['CAP_KILL','CAP_FOO']}}"),
	 "process.capabilities.bounding[1]: unknown capability \"CAP_FOO\""},
	{"val_cap_lowercase", C("'process':{'args':['a'],'cwd':'/','capabilities':{'ambient':['cap_kill']}}"),
	 "process.capabilities.ambient[0]: unknown capability \"cap_kill\""},
	{"val_cap_number", C("'process':{'args':['a'],'cwd':'/','capabilities':{'effective':['CAP_12']}}"),
	 "process.capabilities.effective[0]: unknown capability \"CAP_12\""},
	{"val_cap_no_prefix", C("'process':{'args':['a'],'cwd':'/','capabilities':{'permitted':['KILL']}}"),
	 "process.capabilities.permitted[0]: unknown capability \"KILL\""},
	{"val_oom_score", C("'process':{'args':['a'],'cwd':'/','oomScoreAdj':1001}"),
	 "process.oomScoreAdj: must be in [-1000, 1000]"},
	{"val_ioprio_class", C("'process':{'args':['a'],'cwd':'/','ioPriority':{'class':'IOPRIO_CLASS_X','priority':0}}"),
	 "process.ioPriority.class: unknown class \"IOPRIO_CLASS_X\""},
	{"val_ioprio_class_missing", C("'process':{'args':['a'],'cwd':'/','ioPriority':{'priority':0}}"),
	 "process.ioPriority.class: must be set"},
	{"val_ioprio_priority", C("'process':{'args':['a'],'cwd':'/','ioPriority':{'class':'IOPRIO_CLASS_BE','priority':8}}"),
	 "process.ioPriority.priority: must be in [0, 7]"},
	{"val_sched_policy", C("'process':{'args':['a'],'cwd':'/','scheduler':{'policy':'SCHED_X'}}"),
	 "process.scheduler.policy: unknown policy \"SCHED_X\""},
	{"val_sched_policy_missing", C("'process':{'args':['a'],'cwd':'/','scheduler':{'nice':1}}"),
	 "process.scheduler.policy: must be set"},
	{"val_sched_nice", C("'process':{'args':['a'],'cwd':'/','scheduler':{'policy':'SCHED_OTHER','nice':20}}"),
	 "process.scheduler.nice: must be in [-20, 19]"},
	{"val_sched_priority_other", C("'process':{'args':['a'],'cwd':'/','scheduler':{'policy':'SCHED_OTHER','priority':5}}"),
	 "process.scheduler.priority: only SCHED_FIFO and SCHED_RR take a priority"},
	{"val_sched_priority_range", C("'process':{'args':['a'],'cwd':'/','scheduler':{'policy':'SCHED_RR','priority':100}}"),
	 "process.scheduler.priority: must be in [1, 99]"},
	{"val_sched_flag", C("'process':{'args':['a'],'cwd':'/','scheduler':{'policy':'SCHED_OTHER','flags':['SCHED_FLAG_X']}}"),
	 "process.scheduler.flags[0]: unknown flag \"SCHED_FLAG_X\""},
	{"val_affinity", C("'process':{'args':['a'],'cwd':'/','execCPUAffinity':{'initial':'3-1'}}"),
	 "process.execCPUAffinity.initial: invalid CPU list \"3-1\""},
	{"val_affinity_final", C("'process':{'args':['a'],'cwd':'/','execCPUAffinity':{'final':'0,'}}"),
	 "process.execCPUAffinity.final: invalid CPU list \"0,\""},
	{"val_hook_relative", C("'hooks':{'createRuntime':[{'path':'/ok'},{'path':'hook.sh'}]}"),
	 "hooks.createRuntime[1].path: must be an absolute path"},
	{"val_hook_missing_path", C("'hooks':{'poststop':[{'args':['x']}]}"),
	 "hooks.poststop[0].path: must be an absolute path"},
	{"val_hook_timeout_zero", C("'hooks':{'prestart':[{'path':'/x','timeout':0}]}"),
	 "hooks.prestart[0].timeout: must be > 0"},
	{"val_hook_timeout_negative", C("'hooks':{'startContainer':[{'path':'/x','timeout':-3}]}"),
	 "hooks.startContainer[0].timeout: must be > 0"},
	{"val_hook_env", C("'hooks':{'createContainer':[{'path':'/x','env':['X']}]}"),
	 "hooks.createContainer[0].env[0]: must be of the form NAME=value"},
	{"val_ns_unknown", NS("{'type':'pid'},{'type':'foo'}"),
	 "linux.namespaces[1].type: unknown namespace type \"foo\""},
	{"val_ns_missing_type", NS("{'path':'/x'}"), "linux.namespaces[0].type: must be set"},
	{"val_ns_dup", NS("{'type':'pid'},{'type':'ipc'},{'type':'mount'},{'type':'pid'}"),
	 "linux.namespaces[3]: duplicate namespace type \"pid\""},
	{"val_ns_path_relative", NS("{'type':'network','path':'netns/x'}"),
	 "linux.namespaces[0].path: must be an absolute path"},
	{"val_uidmap_size",
	 C("'linux':{'namespaces':[{'type':'user'}],'uidMappings':[{'containerID':0,'hostID':1000,'size':0}],"
	   "'gidMappings':[{'containerID':0,'hostID':1000,'size':1}]}"),
	 "linux.uidMappings[0].size: must be > 0"},
	{"val_uidmap_overflow",
	 C("'linux':{'namespaces':[{'type':'user'}],'uidMappings':[{'containerID':4294967295,'hostID':0,'size':2}],"
	   "'gidMappings':[{'containerID':0,'hostID':1000,'size':1}]}"),
	 "linux.uidMappings[0]: range goes past 4294967295"},
	{"val_uidmap_without_userns",
	 C("'linux':{'uidMappings':[{'containerID':0,'hostID':1000,'size':1}]}"),
	 "linux.uidMappings: requires a user namespace"},
	{"val_userns_without_maps", NS("{'type':'user'}"),
	 "linux.uidMappings: must be set for a new user namespace"},
	{"val_userns_without_gidmap",
	 C("'linux':{'namespaces':[{'type':'user'}],'uidMappings':[{'containerID':0,'hostID':1000,'size':1}]}"),
	 "linux.gidMappings: must be set for a new user namespace"},
	{"val_hostname_without_uts", C("'hostname':'box'"), "hostname: cannot be set without a uts namespace"},
	{"val_hostname_without_uts_ns", C(LNS("{'type':'pid'}") ",'hostname':'box'"),
	 "hostname: cannot be set without a uts namespace"},
	{"val_domainname_without_uts", C("'domainname':'example.org'"),
	 "domainname: cannot be set without a uts namespace"},
	{"val_dev_type", C("'linux':{'devices':[{'path':'/dev/x','type':'x','major':1,'minor':1}]}"),
	 "linux.devices[0].type: must be one of \"c\", \"b\", \"u\", \"p\""},
	{"val_dev_type_missing", C("'linux':{'devices':[{'path':'/dev/x','major':1,'minor':1}]}"),
	 "linux.devices[0].type: must be set"},
	{"val_dev_path", C("'linux':{'devices':[{'path':'dev/x','type':'c','major':1,'minor':1}]}"),
	 "linux.devices[0].path: must be an absolute path"},
	{"val_dev_major", C("'linux':{'devices':[{'path':'/dev/x','type':'c','minor':1}]}"),
	 "linux.devices[0].major: must be set for type \"c\""},
	{"val_dev_minor", C("'linux':{'devices':[{'path':'/dev/x','type':'b','major':1}]}"),
	 "linux.devices[0].minor: must be set for type \"b\""},
	{"val_devrule_access", C("'linux':{'resources':{'devices':[{'allow':true,'access':'rwx'}]}}"),
	 "linux.resources.devices[0].access: must consist of the letters \"r\", \"w\", \"m\""},
	{"val_devrule_type", C("'linux':{'resources':{'devices':[{'allow':true,'type':'p'}]}}"),
	 "linux.resources.devices[0].type: must be one of \"a\", \"b\", \"c\""},
	{"val_swappiness", C("'linux':{'resources':{'memory':{'swappiness':101}}}"),
	 "linux.resources.memory.swappiness: must be in [0, 100]"},
	{"val_cpus", C("'linux':{'resources':{'cpu':{'cpus':'0-a'}}}"),
	 "linux.resources.cpu.cpus: invalid CPU list \"0-a\""},
	{"val_mems", C("'linux':{'resources':{'cpu':{'mems':'0;1'}}}"),
	 "linux.resources.cpu.mems: invalid node list \"0;1\""},
	{"val_hugepage_size", C("'linux':{'resources':{'hugepageLimits':[{'pageSize':'../2MB','limit':1}]}}"),
	 "linux.resources.hugepageLimits[0].pageSize: invalid page size \"../2MB\""},
	{"val_hugepage_missing", C("'linux':{'resources':{'hugepageLimits':[{'limit':1}]}}"),
	 "linux.resources.hugepageLimits[0].pageSize: must be set"},
	{"val_unified_traversal", C("'linux':{'resources':{'unified':{'../../release_agent':'x'}}}"),
	 "linux.resources.unified[\"../../release_agent\"]: invalid cgroup file name"},
	{"val_unified_dotdot", C("'linux':{'resources':{'unified':{'..':'x'}}}"),
	 "linux.resources.unified[\"..\"]: invalid cgroup file name"},
	{"val_rdma_name", C("'linux':{'resources':{'rdma':{'mlx5 x':{}}}}"),
	 "linux.resources.rdma[\"mlx5 x\"]: invalid device name"},
	{"val_netprio_name", C("'linux':{'resources':{'network':{'priorities':[{'name':'eth0\\n','priority':1}]}}}"),
	 "linux.resources.network.priorities[0].name: invalid interface name"},
	{"val_propagation", C("'linux':{'rootfsPropagation':'foo'}"),
	 "linux.rootfsPropagation: unknown propagation \"foo\""},
	{"val_seccomp_default_missing", C("'linux':{'seccomp':{'syscalls':[]}}"),
	 "linux.seccomp.defaultAction: must be set"},
	{"val_seccomp_default", C("'linux':{'seccomp':{'defaultAction':'SCMP_ACT_NOPE'}}"),
	 "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_NOPE\""},
	{"val_seccomp_default_notify", C("'linux':{'seccomp':{'defaultAction':'SCMP_ACT_NOTIFY','listenerPath':'/x'}}"),
	 "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"},
	{"val_seccomp_arch", C("'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_X86_64','x86_64']}}"),
	 "linux.seccomp.architectures[1]: unknown architecture \"x86_64\""},
	{"val_seccomp_flag", C("'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_X']}}"),
	 "linux.seccomp.flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_X\""},
	{"val_seccomp_action",
	 C("'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a'],'action':'SCMP_ACT_ALLOW'},{'names':['b'],'action':'ALLOW'}]}}"),
	 "linux.seccomp.syscalls[1].action: unknown action \"ALLOW\""},
	{"val_seccomp_action_missing",
	 C("'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a']}]}}"),
	 "linux.seccomp.syscalls[0].action: must be set"},
	{"val_seccomp_names_empty",
	 C("'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':[],'action':'SCMP_ACT_LOG'}]}}"),
	 "linux.seccomp.syscalls[0].names: must be a non-empty array"},
	{"val_seccomp_name_empty",
	 C("'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read',''],'action':'SCMP_ACT_LOG'}]}}"),
	 "linux.seccomp.syscalls[0].names[1]: must not be empty"},
	{"val_seccomp_op",
	 C("'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a'],'action':'SCMP_ACT_LOG','args':[{'index':0,'value':1,'op':'SCMP_CMP_XX'}]}]}}"),
	 "linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_XX\""},
	{"val_seccomp_op_missing",
	 C("'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a'],'action':'SCMP_ACT_LOG','args':[{'index':0,'value':1}]}]}}"),
	 "linux.seccomp.syscalls[0].args[0].op: must be set"},
	{"val_seccomp_index",
	 C("'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a'],'action':'SCMP_ACT_LOG','args':[{'index':6,'value':1,'op':'SCMP_CMP_EQ'}]}]}}"),
	 "linux.seccomp.syscalls[0].args[0].index: must be in [0, 5]"},
	{"val_seccomp_notify_no_listener",
	 C("'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a'],'action':'SCMP_ACT_NOTIFY'}]}}"),
	 "linux.seccomp.listenerPath: must be an absolute path when SCMP_ACT_NOTIFY is used"},
	{"val_seccomp_listener_relative",
	 C("'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'x.sock'}}"),
	 "linux.seccomp.listenerPath: must be an absolute path"},
	{"val_sysctl_empty_key", C("'linux':{'namespaces':[{'type':'network'}],'sysctl':{'':'1'}}"),
	 "linux.sysctl: key must not be empty"},
	{"val_sysctl_traversal", C("'linux':{'namespaces':[{'type':'network'}],'sysctl':{'net/../../etc/x':'1'}}"),
	 "linux.sysctl[\"net/../../etc/x\"]: invalid key"},
	{"val_sysctl_no_netns", C("'linux':{'sysctl':{'net.ipv4.ip_forward':'1'}}"),
	 "linux.sysctl[\"net.ipv4.ip_forward\"]: requires a network namespace"},
	{"val_sysctl_no_ipcns", C("'linux':{'sysctl':{'kernel.shmmax':'1'}}"),
	 "linux.sysctl[\"kernel.shmmax\"]: requires an ipc namespace"},
	{"val_sysctl_mqueue_no_ipcns", C("'linux':{'sysctl':{'fs/mqueue/msg_max':'1'}}"),
	 "linux.sysctl[\"fs/mqueue/msg_max\"]: requires an ipc namespace"},
	{"val_sysctl_no_utsns", C("'linux':{'sysctl':{'kernel.hostname':'x'}}"),
	 "linux.sysctl[\"kernel.hostname\"]: requires a uts namespace"},
	{"val_sysctl_host_only", C("'linux':{'namespaces':[{'type':'network'}],'sysctl':{'vm.swappiness':'1'}}"),
	 "linux.sysctl[\"vm.swappiness\"]: not in a namespace of the container's own"},
	{"val_masked_relative", C("'linux':{'maskedPaths':['/proc/kcore','proc/keys']}"),
	 "linux.maskedPaths[1]: must be an absolute path"},
	{"val_readonly_relative", C("'linux':{'readonlyPaths':['']}"),
	 "linux.readonlyPaths[0]: must be an absolute path"},
	{"val_cgroups_path_dotdot", C("'linux':{'cgroupsPath':'/a/../../b'}"),
	 "linux.cgroupsPath: invalid path \"/a/../../b\""},
	{"val_time_offsets_no_timens", C("'linux':{'timeOffsets':{'boottime':{'secs':1}}}"),
	 "linux.timeOffsets: requires a time namespace"},
	{"val_time_offsets_nanosecs",
	 C("'linux':{'namespaces':[{'type':'time'}],'timeOffsets':{'monotonic':{'secs':1,'nanosecs':1000000000}}}"),
	 "linux.timeOffsets.monotonic.nanosecs: must be < 1000000000"},
	{"val_closid", C("'linux':{'intelRdt':{'closID':'../x'}}"), "linux.intelRdt.closID: invalid name \"../x\""},
	{"val_personality_domain", C("'linux':{'personality':{'domain':'BSD'}}"),
	 "linux.personality.domain: unknown domain \"BSD\""},
	{"val_personality_missing", C("'linux':{'personality':{}}"), "linux.personality.domain: must be set"},
	{"val_personality_flag", C("'linux':{'personality':{'domain':'LINUX','flags':['ADDR_NO_RANDOMIZE']}}"),
	 "linux.personality.flags[0]: unknown flag \"ADDR_NO_RANDOMIZE\""},
	{"val_mpol_mode", C("'linux':{'memoryPolicy':{'mode':'MPOL_X'}}"),
	 "linux.memoryPolicy.mode: unknown mode \"MPOL_X\""},
	{"val_mpol_mode_missing", C("'linux':{'memoryPolicy':{'nodes':'0'}}"),
	 "linux.memoryPolicy.mode: must be set"},
	{"val_mpol_nodes", C("'linux':{'memoryPolicy':{'mode':'MPOL_BIND','nodes':'x'}}"),
	 "linux.memoryPolicy.nodes: invalid node list \"x\""},
	{"val_mpol_flag", C("'linux':{'memoryPolicy':{'mode':'MPOL_BIND','nodes':'0','flags':['MPOL_F_X']}}"),
	 "linux.memoryPolicy.flags[0]: unknown flag \"MPOL_F_X\""},
	{"val_netdev_no_netns", C("'linux':{'netDevices':{'eth0':{}}}"),
	 "linux.netDevices: requires a network namespace"},
	{"val_netdev_bad_name", C("'linux':{'namespaces':[{'type':'network'}],'netDevices':{'eth0':{'name':'a/b'}}}"),
	 "linux.netDevices[\"eth0\"].name: invalid interface name"},
	{"val_netdev_long_host_name",
	 C("'linux':{'namespaces':[{'type':'network'}],'netDevices':{'abcdefghijklmnop':{}}}"),
	 "linux.netDevices[\"abcdefghijklmnop\"]: invalid interface name"},
	{"val_netdev_name_clash",
	 C("'linux':{'namespaces':[{'type':'network'}],'netDevices':{'eth0':{'name':'x'},'eth1':{'name':'x'}}}"),
	 "linux.netDevices[\"eth1\"].name: \"x\" is already used"},
};

static void run_table(const struct tcase *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *got = check(t[i].json, NULL);
		char why[1024];
		int ok;

		if (t[i].want == NULL)
			ok = got == NULL;
		else
			ok = got != NULL && strcmp(got, t[i].want) == 0;
		snprintf(why, sizeof(why), "got \"%s\", want \"%s\"",
			 got ? got : "(success)",
			 t[i].want ? t[i].want : "(success)");
		unit_report(t[i].name, ok, why);
		free(got);
	}
}

/* ---- field values ------------------------------------------------------------- */

TEST(test_full_config_fields)
{
	struct oci_spec *s = NULL;
	char *msg = check(full_config, &s);

	CHECK_STR(msg ? msg : "ok", "ok");
	CHECK_STR(s->oci_version, "1.0.1");
	CHECK(s->process->terminal);
	CHECK(s->process->console_size->height == 25);
	CHECK(s->process->user.uid == 1 && s->process->user.gid == 1);
	CHECK(s->process->user.umask.set && s->process->user.umask.v == 18);
	CHECK(s->process->user.n_additional_gids == 2 &&
	      s->process->user.additional_gids[1] == 6);
	CHECK(s->process->args.n == 3 && s->process->args.v[3] == NULL);
	CHECK_STR(s->process->args.v[2], "echo hi");
	CHECK(s->process->env.n == 2 && s->process->env.v[2] == NULL);
	CHECK(s->process->capabilities->has_ambient &&
	      s->process->capabilities->ambient.n == 1);
	CHECK(s->process->n_rlimits == 2);
	CHECK(s->process->rlimits[0].resource == RLIMIT_CORE);
	CHECK(s->process->rlimits[1].resource == RLIMIT_NOFILE);
	CHECK(s->process->oom_score_adj.set &&
	      s->process->oom_score_adj.v == 100);
	CHECK(s->process->no_new_privileges);
	CHECK_STR(s->process->io_priority->class, "IOPRIO_CLASS_IDLE");
	CHECK(s->process->scheduler->priority.v == 10 &&
	      !s->process->scheduler->nice.set);
	CHECK_STR(s->process->exec_cpu_affinity->final, "0-3,7");
	CHECK(s->root->readonly);
	CHECK_STR(s->domainname, "example.org");
	CHECK(s->n_mounts == 3 && s->mounts[2].n_uid_mappings == 1 &&
	      s->mounts[2].uid_mappings[0].host_id == 1000);
	CHECK(s->mounts[0].options.v == NULL);
	CHECK(s->hooks->prestart.n == 2 && s->hooks->poststart.n == 1 &&
	      s->hooks->poststart.v[0].timeout.v == 5);
	CHECK(!s->hooks->prestart.v[0].timeout.set);
	CHECK(s->n_annotations == 2);
	CHECK_STR(oci_spec_annotation(s, "com.example.key2"), "value2");
	CHECK(oci_spec_annotation(s, "nope") == NULL);

	struct oci_linux *l = s->linux_;
	CHECK(l->n_devices == 3 && l->devices[0].major == 10 &&
	      l->devices[0].file_mode.v == 438 && l->devices[2].has_major == 0);
	CHECK(l->n_sysctl == 4);
	CHECK_STR(l->sysctl[0].key, "net.ipv4.ip_forward");
	CHECK_STR(l->cgroups_path, "/myRuntime/myContainer");
	struct oci_resources *r = l->resources;
	CHECK(r->has_pids && r->pids_limit.set && r->pids_limit.v == 32771);
	CHECK(r->n_hugepage_limits == 2 &&
	      r->hugepage_limits[0].limit == 9223372036854772000ull);
	CHECK(r->memory->kernel.v == -1 && r->memory->swappiness.set &&
	      r->memory->swappiness.v == 0);
	CHECK(r->memory->use_hierarchy.set && r->memory->use_hierarchy.v);
	CHECK(r->memory->disable_oom_killer.set &&
	      !r->memory->disable_oom_killer.v);
	CHECK(r->cpu->quota.v == 1000000 && r->cpu->burst.v == 10000);
	CHECK_STR(r->cpu->cpus, "2-3");
	CHECK(r->n_devices == 3 && !r->devices[0].allow &&
	      !r->devices[0].major.set && r->devices[1].minor.v == 229);
	CHECK(r->block_io->weight.v == 10 && r->block_io->n_weight_device == 2 &&
	      !r->block_io->weight_device[1].leaf_weight.set);
	CHECK(r->block_io->throttle_read_bps.n == 1 &&
	      r->block_io->throttle_read_bps.v[0].rate == 600);
	CHECK(r->block_io->throttle_write_iops.n == 1 &&
	      r->block_io->throttle_write_bps.n == 0);
	CHECK(r->n_rdma == 2 && r->rdma[1].hca_objects.v == 1000 &&
	      !r->rdma[1].hca_handles.set);
	CHECK_STR(r->rdma[0].device, "mlx5_1");
	CHECK(r->network->class_id.v == 1048577 &&
	      r->network->priorities[1].priority == 1000);
	CHECK(r->n_unified == 2);
	CHECK_STR(r->unified[1].value, "default 100");
	CHECK_STR(l->rootfs_propagation, "slave");
	CHECK(l->seccomp->n_syscalls == 1 && l->seccomp->architectures.n == 2);
	CHECK(l->time_offsets->monotonic->secs == -86400 &&
	      l->time_offsets->monotonic->nanosecs == 500 &&
	      l->time_offsets->boottime->secs == 3600);
	CHECK(l->n_namespaces == 8);
	CHECK(oci_spec_namespace(s, OCI_NS_TIME) == &l->namespaces[7]);
	CHECK_STR(oci_spec_namespace(s, OCI_NS_USER)->type_name, "user");
	CHECK(l->masked_paths.n == 5 && l->readonly_paths.n == 6);
	CHECK(l->intel_rdt->enable_cmt.set && l->intel_rdt->enable_cmt.v &&
	      l->intel_rdt->enable_mbm.set && !l->intel_rdt->enable_mbm.v);
	CHECK_STR(l->intel_rdt->schemata.v[0], "L2:0=ff");
	CHECK_STR(l->personality->domain, "LINUX");
	CHECK_STR(l->memory_policy->flags.v[0], "MPOL_F_STATIC_NODES");
	CHECK(l->n_net_devices == 2);
	CHECK_STR(l->net_devices[0].host_name, "eth1");
	CHECK_STR(l->net_devices[0].name, "ctr1");
	CHECK(l->net_devices[1].name == NULL);
	oci_spec_free(s);
}

TEST(test_docker_seccomp_fields)
{
	struct oci_spec *s = NULL;
	char *msg = check(docker_config, &s);

	CHECK_STR(msg ? msg : "ok", "ok");
	struct oci_seccomp *sc = s->linux_->seccomp;
	CHECK_STR(sc->default_action, "SCMP_ACT_ERRNO");
	CHECK(sc->default_errno_ret.set && sc->default_errno_ret.v == 1);
	CHECK(sc->n_syscalls == 7 && sc->syscalls[0].names.n == 5);
	CHECK(sc->syscalls[2].args[0].value == 4294967295u);
	CHECK(sc->syscalls[3].args[0].value == 2114060288u);
	CHECK_STR(sc->syscalls[3].args[0].op, "SCMP_CMP_MASKED_EQ");
	CHECK(sc->syscalls[4].errno_ret.set && sc->syscalls[4].errno_ret.v == 38);
	CHECK(!sc->syscalls[0].errno_ret.set && sc->syscalls[0].n_args == 0);
	oci_spec_free(s);
}

TEST(test_u64_max_rlimit_value)
{
	struct oci_spec *s = NULL;
	char *msg = check(C("'process':{'args':['sh'],'cwd':'/','rlimits':[{'type':'RLIMIT_NOFILE','soft':" U64MAX ",'hard':" U64MAX "}]}"), &s);

	CHECK_STR(msg ? msg : "ok", "ok");
	CHECK(s->process->rlimits[0].soft == UINT64_MAX &&
	      s->process->rlimits[0].hard == UINT64_MAX);
	oci_spec_free(s);
}

TEST(test_duplicate_keys_last_wins)
{
	struct oci_spec *s = NULL;
	char *msg = check(C("'hostname':'first','annotations':{'k':'1','k':'2'},"
			    "'linux':{'namespaces':[{'type':'uts'}]},'hostname':'second'"),
			  &s);

	CHECK_STR(msg ? msg : "ok", "ok");
	CHECK_STR(s->hostname, "second");
	CHECK_STR(oci_spec_annotation(s, "k"), "2");
	oci_spec_free(s);
}

TEST(test_null_shadows_earlier_duplicate)
{
	struct oci_spec *s = NULL;
	char *msg = check(C("'hostname':'x','hostname':null"), &s);

	CHECK_STR(msg ? msg : "ok", "ok");
	CHECK(s->hostname == NULL);
	oci_spec_free(s);
}

TEST(test_empty_ns_path_normalized)
{
	struct oci_spec *s = NULL;
	char *msg = check(NS("{'type':'network','path':''}"), &s);

	CHECK_STR(msg ? msg : "ok", "ok");
	CHECK(s->linux_->namespaces[0].path == NULL);
	CHECK(s->linux_->namespaces[0].type == OCI_NS_NETWORK);
	oci_spec_free(s);
}

/* ---- the text itself ----------------------------------------------------------- */

TEST(test_not_nul_terminated)
{
	char *json = J(C("'hostname':''"));
	size_t len = strlen(json);
	char *buf = malloc(len + 5);
	char *msg;

	memcpy(buf, json, len);
	memcpy(buf + len, "JUNK", 4); /* past len: must not be read */
	msg = check_text(buf, len, NULL);
	CHECK(msg == NULL);
	free(buf);
	free(json);
}

TEST(test_embedded_nul_byte)
{
	static const char text[] = "{\"ociVersion\":\"1.2.0\"}\0garbage";
	char *msg = check_text(text, sizeof(text) - 1, NULL);

	CHECK_STR(msg, "invalid JSON: NUL byte at offset 22");
	free(msg);
}

TEST(test_too_large)
{
	size_t len = OCI_SPEC_MAX_SIZE + 1;
	char *buf = malloc(len);
	char *msg;

	memset(buf, ' ', len);
	buf[0] = '{';
	buf[len - 1] = '}';
	msg = check_text(buf, len, NULL);
	CHECK_STR(msg, "invalid JSON: larger than 4194304 bytes");
	free(msg);
	free(buf);
}

TEST(test_depth_limit_exact)
{
	/* 64 levels (the document object plus 63 arrays) is allowed */
	char buf[256], *p = buf;
	char *msg;

	p += sprintf(p, "{\"x\":");
	for (int i = 0; i < 63; i++)
		*p++ = '[';
	for (int i = 0; i < 63; i++)
		*p++ = ']';
	*p++ = '}';
	*p = '\0';
	msg = check_text(buf, strlen(buf), NULL);
	CHECK_STR(msg, "ociVersion: must be set");
	free(msg);

	p = buf;
	p += sprintf(p, "{\"x\":");
	for (int i = 0; i < 64; i++)
		*p++ = '[';
	for (int i = 0; i < 64; i++)
		*p++ = ']';
	*p++ = '}';
	*p = '\0';
	msg = check_text(buf, strlen(buf), NULL);
	CHECK_STR(msg, "invalid JSON: nested deeper than 64 levels");
	free(msg);
}

TEST(test_too_many_groups)
{
	size_t n = 65537;
	char *buf = malloc(n * 2 + 256), *p = buf;
	char *msg;

	p += sprintf(p, "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"r\"},"
			"\"process\":{\"args\":[\"a\"],\"cwd\":\"/\","
			"\"user\":{\"additionalGids\":[");
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s1", i ? "," : "");
	strcpy(p, "]}}}");
	msg = check_text(buf, strlen(buf), NULL);
	CHECK_STR(msg, "process.user.additionalGids: more than 65536 groups");
	free(msg);
	free(buf);
}

TEST(test_very_deep_nesting)
{
	/* deep enough to overflow the stack if anything recursed per level */
	size_t n = 1000000;
	char *buf = malloc(2 * n + 8), *p = buf;
	char *msg;

	p += sprintf(p, "{\"x\":");
	memset(p, '[', n);
	p += n;
	memset(p, ']', n);
	p += n;
	strcpy(p, "}");
	msg = check_text(buf, strlen(buf), NULL);
	CHECK_STR(msg, "invalid JSON: nested deeper than 64 levels");
	free(msg);
	free(buf);
}

TEST(test_deep_nesting_in_string_ok)
{
	char *msg = check(C("'annotations':{'x':'[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\\\\\"{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{'}"), NULL);

	CHECK(msg == NULL);
}

TEST(test_escaped_backslash_before_u0000_text)
{
	/* "\\u0000" is a backslash then the text u0000, not a NUL */
	char *msg = check(C("'annotations':{'x':'a\\\\u0000'}"), NULL);

	CHECK(msg == NULL);
}

/* ---- oci_spec_load --------------------------------------------------------------- */

TEST(test_load)
{
	char dir[] = "/tmp/husk-test-spec.XXXXXX";
	char path[64];
	char *json = J(C("'hostname':''"));
	struct husk_err *err = NULL;
	struct oci_spec *s = NULL;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/config.json", dir);

	CHECK(oci_spec_load(dir, &s, &err) < 0);
	CHECK(husk_str_has_prefix(err->msg, "config.json: open "));
	husk_err_free(&err);

	CHECK(husk_write_file_at(AT_FDCWD, path, json, strlen(json), 0600,
				 &err) == 0);
	CHECK(oci_spec_load(dir, &s, &err) == 0 && s != NULL);
	CHECK(oci_spec_validate(s, &err) == 0);
	oci_spec_free(s);
	s = NULL;

	CHECK(husk_write_file_at(AT_FDCWD, path, "{\"process\":1}", 13, 0600,
				 &err) == 0);
	CHECK(oci_spec_load(dir, &s, &err) < 0 && s == NULL);
	CHECK_STR(err->msg, "config.json: process: must be an object");
	husk_err_free(&err);

	CHECK(truncate(path, OCI_SPEC_MAX_SIZE + 10) == 0);
	CHECK(oci_spec_load(dir, &s, &err) < 0);
	CHECK(husk_str_has_prefix(err->msg, "config.json: read "));
	husk_err_free(&err);

	unlink(path);
	rmdir(dir);
	free(json);
}

/* ---- resources alone (husk update) --------------------------------------------- */

TEST(test_resources_parse)
{
	char *json = J("{'memory':{'limit':1048576,'swap':-1},'cpu':{'shares':512,'cpus':'0'},"
		       "'pids':{'limit':-1},'unified':{'memory.high':'max'}}");
	struct husk_err *err = NULL;
	struct oci_resources *r = NULL;

	CHECK(oci_resources_parse(json, strlen(json), &r, &err) == 0);
	CHECK(oci_resources_validate(r, &err) == 0);
	CHECK(r->memory->limit.v == 1048576 && r->memory->swap.v == -1);
	CHECK(r->cpu->shares.v == 512);
	CHECK(r->has_pids && r->pids_limit.v == -1);
	CHECK(r->n_unified == 1);
	oci_resources_free(r);
	free(json);

	json = J("{'memory':{'limit':'x'}}");
	CHECK(oci_resources_parse(json, strlen(json), &r, &err) < 0);
	CHECK_STR(err->msg, "memory.limit: must be an integer");
	husk_err_free(&err);
	free(json);

	json = J("{'devices':[{'allow':true,'access':'q'}]}");
	CHECK(oci_resources_parse(json, strlen(json), &r, &err) == 0);
	CHECK(oci_resources_validate(r, &err) < 0);
	CHECK_STR(err->msg,
		  "devices[0].access: must consist of the letters \"r\", \"w\", \"m\"");
	husk_err_free(&err);
	oci_resources_free(r);
	free(json);

	CHECK(oci_resources_parse("[]", 2, &r, &err) < 0);
	CHECK_STR(err->msg, "the document must be a JSON object");
	husk_err_free(&err);
}

/* ---- name tables ------------------------------------------------------------------ */

TEST(test_names)
{
	size_t n;
	const char *const *l;

	for (int t = 0; t < OCI_NS_COUNT; t++)
		CHECK((int)oci_ns_type_from_name(oci_ns_type_name(t)) == t);
	CHECK(oci_ns_type_name(OCI_NS_COUNT) == NULL);
	CHECK(oci_ns_type_from_name("net") == OCI_NS_COUNT);
	CHECK(oci_rlimit_from_name("RLIMIT_NOFILE") == RLIMIT_NOFILE);
	CHECK(oci_rlimit_from_name("RLIMIT_RTTIME") == RLIMIT_RTTIME);
	CHECK(oci_rlimit_from_name("NOFILE") == -1);
	l = oci_known_names(OCI_NAMES_RLIMITS, &n);
	CHECK(n == 16 && l[n] == NULL);
	for (size_t i = 0; i < n; i++)
		CHECK(oci_rlimit_from_name(l[i]) >= 0);
	l = oci_known_names(OCI_NAMES_NAMESPACES, &n);
	CHECK(n == OCI_NS_COUNT);
	l = oci_known_names(OCI_NAMES_SECCOMP_ACTIONS, &n);
	CHECK(n == 9);
	l = oci_known_names(OCI_NAMES_PROPAGATIONS, &n);
	CHECK(n == 8);
	CHECK(oci_known_names(OCI_NAMES_COUNT, &n) == NULL && n == 0);
}

/* ---- template ---------------------------------------------------------------------- */

TEST(test_template_roundtrip)
{
	for (int rootless = 0; rootless < 2; rootless++) {
		struct husk_err *err = NULL;
		struct oci_spec *s = NULL;
		char *json = NULL, *msg;

		CHECK(oci_template_generate(rootless, &json, &err) == 0);
		CHECK(json[strlen(json) - 1] == '}');
		CHECK(strstr(json, "\n\t\"ociVersion\": \"" OCI_TEMPLATE_VERSION
				   "\",\n") != NULL);
		msg = check_text(json, strlen(json), &s);
		CHECK_STR(msg ? msg : "ok", "ok");
		CHECK(s->process->terminal);
		CHECK(s->process->args.n == 1);
		CHECK_STR(s->process->args.v[0], "sh");
		CHECK(s->n_mounts == 7);
		CHECK_STR(s->mounts[5].destination, "/sys");
		CHECK(s->linux_->n_namespaces == 5);
		CHECK(s->process->rlimits[0].resource == RLIMIT_NOFILE);
		if (rootless) {
			CHECK_STR(s->mounts[5].type, "none");
			CHECK_STR(s->mounts[5].options.v[0], "rbind");
			CHECK(s->mounts[2].options.n == 5);
			CHECK(oci_spec_namespace(s, OCI_NS_NETWORK) == NULL);
			CHECK(oci_spec_namespace(s, OCI_NS_USER) != NULL);
			CHECK(s->linux_->resources == NULL);
			CHECK(s->linux_->uid_mappings[0].host_id == getuid());
			CHECK(s->linux_->gid_mappings[0].host_id == getgid());
			CHECK(s->linux_->uid_mappings[0].size == 1);
		} else {
			CHECK_STR(s->mounts[5].type, "sysfs");
			CHECK(s->mounts[2].options.n == 6);
			CHECK(oci_spec_namespace(s, OCI_NS_NETWORK) != NULL);
			CHECK(oci_spec_namespace(s, OCI_NS_USER) == NULL);
			CHECK(s->linux_->resources->n_devices == 1);
			CHECK(s->linux_->n_uid_mappings == 0);
		}
		oci_spec_free(s);
		free(json);
	}
}

/* The same bytes as `runc spec`, but for ociVersion and hostname. */
TEST(test_template_matches_runc)
{
	char dir[] = "/tmp/husk-test-runc.XXXXXX";
	char cmd[256], path[96];
	char *runc = NULL, *ours = NULL;
	size_t len;
	struct husk_err *err = NULL;

	CHECK(mkdtemp(dir) != NULL);
	for (int rootless = 0; rootless < 2; rootless++) {
		snprintf(cmd, sizeof(cmd),
			 "cd %s && rm -f config.json && runc spec %s && "
			 "sed -i 's/\"ociVersion\": \"[^\"]*\"/\"ociVersion\": \"%s\"/; "
			 "s/\"hostname\": \"runc\"/\"hostname\": \"husk\"/' config.json",
			 dir, rootless ? "--rootless" : "", OCI_TEMPLATE_VERSION);
		CHECK(system(cmd) == 0);
		snprintf(path, sizeof(path), "%s/config.json", dir);
		CHECK(husk_read_file_at(AT_FDCWD, path, 1 << 20, &runc, &len,
					&err) == 0);
		CHECK(oci_template_generate(rootless, &ours, &err) == 0);
		CHECK_STR(ours, runc);
		free(runc);
		free(ours);
		runc = ours = NULL;
	}
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	run_table(good_cases, ARRAY_SIZE(good_cases));
	run_table(bad_parse_cases, ARRAY_SIZE(bad_parse_cases));
	run_table(bad_validate_cases, ARRAY_SIZE(bad_validate_cases));
	unit_report("good_full_config", check(full_config, NULL) == NULL,
		    "full config did not validate");
	RUN(test_full_config_fields);
	RUN(test_docker_seccomp_fields);
	RUN(test_u64_max_rlimit_value);
	RUN(test_duplicate_keys_last_wins);
	RUN(test_null_shadows_earlier_duplicate);
	RUN(test_empty_ns_path_normalized);
	RUN(test_not_nul_terminated);
	RUN(test_embedded_nul_byte);
	RUN(test_too_large);
	RUN(test_depth_limit_exact);
	RUN(test_too_many_groups);
	RUN(test_very_deep_nesting);
	RUN(test_deep_nesting_in_string_ok);
	RUN(test_escaped_backslash_before_u0000_text);
	RUN(test_load);
	RUN(test_resources_parse);
	RUN(test_names);
	RUN(test_template_roundtrip);
	if (system("command -v runc >/dev/null 2>&1") == 0)
		RUN(test_template_matches_runc);
	else
		printf("SKIP test_template_matches_runc: skipped: no runc\n");
	UNIT_EXIT();
}
