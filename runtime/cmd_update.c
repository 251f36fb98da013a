/* husk update: change a container's cgroup limits (runc's flags, or a
 * LinuxResources JSON document from --resources FILE or "-" for stdin). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/cli.h"

struct update_flags {
	const char *resources, *memory, *memory_swap, *memory_reservation,
		*cpu_shares, *cpu_quota, *cpu_period, *cpuset_cpus,
		*cpuset_mems, *pids_limit, *blkio_weight, *kernel_memory,
		*kernel_memory_tcp, *cpu_rt_period, *cpu_rt_runtime;
};

/* A size as docker's units.RAMInBytes reads it: "64m", "1g", "512k",
 * bytes without a suffix; "-1" for no limit. */
static int parse_bytes(const char *flag, const char *s, int64_t *out,
		       struct husk_err **err)
{
	char *end;
	long long v;
	int64_t mul = 1;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s)
		goto bad;
	if (*end) {
		switch (*end | 0x20) {
		case 'b': mul = 1; break;
		case 'k': mul = 1LL << 10; break;
		case 'm': mul = 1LL << 20; break;
		case 'g': mul = 1LL << 30; break;
		case 't': mul = 1LL << 40; break;
		default: goto bad;
		}
		end++;
		if ((*end | 0x20) == 'b' && mul != 1)
			end++;
		if (*end || v < 0)
			goto bad;
	}
	if (v == -1 && mul == 1) {
		*out = -1;
		return 0;
	}
	if (v < 0 || v > INT64_MAX / mul)
		goto bad;
	*out = v * mul;
	return 0;
bad:
	return husk_err_set(err, EINVAL, "invalid value \"%s\" for flag --%s",
			    s, flag);
}

static int parse_int(const char *flag, const char *s, int64_t min,
		     int64_t *out, struct husk_err **err)
{
	long long v;

	if (husk_parse_i64(s, &v) < 0 || v < min)
		return husk_err_set(err, EINVAL,
				    "invalid value \"%s\" for flag --%s", s,
				    flag);
	*out = v;
	return 0;
}

static int read_resources(const char *file, struct oci_resources **r,
			  struct husk_err **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	if (strcmp(file, "-") == 0) {
		size_t cap = 0;
		for (;;) {
			ssize_t n;
			if (len == cap) {
				if (cap >= OCI_SPEC_MAX_SIZE)
					return husk_err_set(err, E2BIG,
							    "--resources: "
							    "stdin: too large");
				cap = cap ? cap * 2 : 4096;
				buf = realloc(buf, cap);
				if (buf == NULL)
					abort();
			}
			n = read(STDIN_FILENO, buf + len, cap - len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return husk_err_sys(err, "--resources: read "
							 "stdin");
			if (n == 0)
				break;
			len += (size_t)n;
		}
	} else if (husk_read_file_at(AT_FDCWD, file, OCI_SPEC_MAX_SIZE, &buf,
				     &len, err) < 0) {
		return husk_err_prefix(err, "--resources");
	}
	if (oci_resources_parse(buf ? buf : "", len, r, err) < 0)
		return husk_err_prefix(err, "--resources %s", file);
	if (oci_resources_validate(*r, err) < 0)
		return husk_err_prefix(err, "--resources %s", file);
	return 0;
}

/* The flags override what the document says, as in runc. */
static int apply_flags(const struct update_flags *f, struct oci_resources *r,
		       struct husk_err **err)
{
	int64_t v;

	if (f->memory || f->memory_swap || f->memory_reservation ||
	    f->kernel_memory || f->kernel_memory_tcp) {
		struct oci_memory *m = r->memory;
		if (m == NULL)
			m = r->memory = husk_calloc(1, sizeof(*m));
		if (f->memory) {
			if (parse_bytes("memory", f->memory, &v, err) < 0)
				return -1;
			m->limit = (struct oci_opt_i64){true, v};
		}
		if (f->memory_swap) {
			if (parse_bytes("memory-swap", f->memory_swap, &v,
					err) < 0)
				return -1;
			m->swap = (struct oci_opt_i64){true, v};
		}
		if (f->memory_reservation) {
			if (parse_bytes("memory-reservation",
					f->memory_reservation, &v, err) < 0)
				return -1;
			m->reservation = (struct oci_opt_i64){true, v};
		}
		if (f->kernel_memory) {
			if (parse_bytes("kernel-memory", f->kernel_memory, &v,
					err) < 0)
				return -1;
			m->kernel = (struct oci_opt_i64){true, v};
		}
		if (f->kernel_memory_tcp) {
			if (parse_bytes("kernel-memory-tcp",
					f->kernel_memory_tcp, &v, err) < 0)
				return -1;
			m->kernel_tcp = (struct oci_opt_i64){true, v};
		}
	}
	if (f->cpu_shares || f->cpu_quota || f->cpu_period || f->cpuset_cpus ||
	    f->cpuset_mems || f->cpu_rt_period || f->cpu_rt_runtime) {
		struct oci_cpu *c = r->cpu;
		if (c == NULL)
			c = r->cpu = husk_calloc(1, sizeof(*c));
		if (f->cpu_shares) {
			if (parse_int("cpu-shares", f->cpu_shares, 0, &v, err) <
			    0)
				return -1;
			c->shares = (struct oci_opt_u64){true, (uint64_t)v};
		}
		if (f->cpu_quota) {
			if (parse_int("cpu-quota", f->cpu_quota, -1, &v, err) <
			    0)
				return -1;
			c->quota = (struct oci_opt_i64){true, v};
		}
		if (f->cpu_period) {
			if (parse_int("cpu-period", f->cpu_period, 0, &v, err) <
			    0)
				return -1;
			c->period = (struct oci_opt_u64){true, (uint64_t)v};
		}
		if (f->cpu_rt_period) {
			if (parse_int("cpu-rt-period", f->cpu_rt_period, 0, &v,
				      err) < 0)
				return -1;
			c->realtime_period = (struct oci_opt_u64){true,
								  (uint64_t)v};
		}
		if (f->cpu_rt_runtime) {
			if (parse_int("cpu-rt-runtime", f->cpu_rt_runtime, -1,
				      &v, err) < 0)
				return -1;
			c->realtime_runtime = (struct oci_opt_i64){true, v};
		}
		if (f->cpuset_cpus) {
			free(c->cpus);
			c->cpus = husk_strdup(f->cpuset_cpus);
		}
		if (f->cpuset_mems) {
			free(c->mems);
			c->mems = husk_strdup(f->cpuset_mems);
		}
	}
	if (f->pids_limit) {
		if (parse_int("pids-limit", f->pids_limit, -1, &v, err) < 0)
			return -1;
		r->has_pids = true;
		r->pids_limit = (struct oci_opt_i64){true, v};
	}
	if (f->blkio_weight) {
		if (parse_int("blkio-weight", f->blkio_weight, 0, &v, err) < 0)
			return -1;
		if (r->block_io == NULL)
			r->block_io = husk_calloc(1, sizeof(*r->block_io));
		r->block_io->weight = (struct oci_opt_u64){true, (uint64_t)v};
	}
	return 0;
}

static int update_main(struct husk_ctx *ctx, int argc, char **argv,
		       struct husk_err **err)
{
	struct update_flags f = {0};
	const struct cli_opt opts[] = {
		{"resources", "r", CLI_STRING, &f.resources},
		{"memory", NULL, CLI_STRING, &f.memory},
		{"memory-swap", NULL, CLI_STRING, &f.memory_swap},
		{"memory-reservation", NULL, CLI_STRING,
		 &f.memory_reservation},
		{"kernel-memory", NULL, CLI_STRING, &f.kernel_memory},
		{"kernel-memory-tcp", NULL, CLI_STRING, &f.kernel_memory_tcp},
		{"cpu-shares", NULL, CLI_STRING, &f.cpu_shares},
		{"cpu-quota", NULL, CLI_STRING, &f.cpu_quota},
		{"cpu-period", NULL, CLI_STRING, &f.cpu_period},
		{"cpu-rt-period", NULL, CLI_STRING, &f.cpu_rt_period},
		{"cpu-rt-runtime", NULL, CLI_STRING, &f.cpu_rt_runtime},
		{"cpuset-cpus", NULL, CLI_STRING, &f.cpuset_cpus},
		{"cpuset-mems", NULL, CLI_STRING, &f.cpuset_mems},
		{"pids-limit", NULL, CLI_STRING, &f.pids_limit},
		{"blkio-weight", NULL, CLI_STRING, &f.blkio_weight},
	};
	struct oci_state_dir d = OCI_STATE_DIR_INIT;
	struct oci_state *st = NULL;
	struct oci_resources *res = NULL;
	struct linux_container c;
	int npos, r;

	r = cli_parse(opts, ARRAY_SIZE(opts), argc, argv, false, &npos, err);
	if (r != 0) {
		if (r == 1)
			husk_cmd_help("update");
		return r == 1 ? 0 : -1;
	}
	if (cli_nargs("update", npos, 1, 1, err) < 0)
		return -1;
	if (oci_state_dir_open(ctx->root, argv[0], true, &d, &st, err) < 0)
		return -1;
	if (f.resources)
		r = read_resources(f.resources, &res, err);
	else
		res = husk_calloc(1, sizeof(*res));
	if (r == 0)
		r = apply_flags(&f, res, err);
	if (r == 0 && oci_state_status(st, d.dirfd) == OCI_STATUS_STOPPED)
		r = husk_err_set(err, ESRCH, "container not running");
	if (r == 0 && st->sandbox && strcmp(st->sandbox, "container") != 0)
		r = husk_err_set(err, ENOSYS,
				 "update: not supported yet in the %s sandbox",
				 st->sandbox);
	if (r == 0) {
		husk_state_to_container(st, &c);
		husk_log(&ctx->log, HUSK_LOG_DEBUG, "update %s", st->id);
		r = linux_container_update(&c, res, err);
	}
	oci_resources_free(res);
	oci_state_dir_close(&d);
	oci_state_free(st);
	return r < 0 ? -1 : 0;
}

const struct husk_cmd cmd_update = {
	"update",
	"update container resource constraints",
	"[command options] <container-id>",
	"OPTIONS:\n"
	"   --resources value, -r value  path to the file containing the "
	"resources to update or '-' to read from the standard input\n"
	"   --blkio-weight value         Specifies per cgroup weight, range is "
	"from 10 to 1000\n"
	"   --cpu-period value           CPU CFS period to be used for "
	"hardcapping (in usecs)\n"
	"   --cpu-quota value            CPU CFS hardcap limit (in usecs). "
	"Allowed cpu time in a given period\n"
	"   --cpu-rt-period value        CPU realtime period to be used for "
	"hardcapping (in usecs)\n"
	"   --cpu-rt-runtime value       CPU realtime hardcap limit (in "
	"usecs)\n"
	"   --cpu-shares value           CPU shares (relative weight vs. "
	"other containers)\n"
	"   --cpuset-cpus value          CPU(s) to use\n"
	"   --cpuset-mems value          Memory node(s) to use\n"
	"   --memory value, -m value     Memory limit (in bytes)\n"
	"   --memory-reservation value   Memory reservation or soft_limit (in "
	"bytes)\n"
	"   --memory-swap value          Total memory usage (memory + swap); "
	"set '-1' to enable unlimited swap\n"
	"   --pids-limit value           Maximum number of pids allowed in the "
	"container\n",
	update_main,
};
