/* Unit tests of runtime/linux/resources.c: runc's unit conversions, and the
 * files written for a spec on a fake v1 and a fake v2 hierarchy (plain
 * directories standing for the cgroup mounts, so no root is needed). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/linux/internal.h"
#include "tests/unit/unit.h"

TEST(shares_to_weight)
{
	/* runc's ConvertCPUSharesToCgroupV2Value */
	CHECK(cgroup_shares_to_weight(0) == 0);
	CHECK(cgroup_shares_to_weight(2) == 1);
	CHECK(cgroup_shares_to_weight(1024) == 39);
	CHECK(cgroup_shares_to_weight(262144) == 10000);
	CHECK(cgroup_shares_to_weight(1u << 30) == 10000);
}

TEST(blkio_to_io_weight)
{
	CHECK(cgroup_blkio_to_io_weight(0) == 0);
	CHECK(cgroup_blkio_to_io_weight(10) == 1);
	CHECK(cgroup_blkio_to_io_weight(500) == 4950);
	CHECK(cgroup_blkio_to_io_weight(1000) == 10000);
}

static char *mk(const char *dir, const char *sub)
{
	char *p = husk_asprintf("%s/%s", dir, sub);
	char *s = p + strlen(dir);

	mkdir(dir, 0755);
	for (; *s; s++) {
		if (*s != '/' || s == p + strlen(dir))
			continue;
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
	return p;
}

static void touch(const char *dir, const char *file, const char *content)
{
	char *p = husk_asprintf("%s/%s", dir, file);
	FILE *f = fopen(p, "w");

	if (f) {
		fputs(content, f);
		fclose(f);
	}
	free(p);
}

static char *cat(const char *dir, const char *file)
{
	char *p = husk_asprintf("%s/%s", dir, file), *buf = NULL;
	struct husk_err *e = NULL;

	if (husk_read_file_at(AT_FDCWD, p, 4096, &buf, NULL, &e) < 0) {
		husk_err_free(&e);
		buf = husk_strdup("(missing)");
	}
	free(p);
	return buf;
}

static void rm_rf(const char *dir)
{
	char *cmd = husk_asprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "rm -rf %s failed\n", dir);
	free(cmd);
}

TEST(v1_files)
{
	char tmpl[] = "/tmp/husk-cgunit.XXXXXX";
	char *base = mkdtemp(tmpl), *mem, *cpu, *pids, *v;
	struct cg_hier h[3];
	struct cg_layout l = {CG_V1, h, 3};
	struct oci_memory m = {.limit = {true, 1 << 26},
			       .reservation = {true, 1 << 25},
			       .swap = {true, 1 << 27},
			       .swappiness = {true, 10}};
	struct oci_cpu c = {.shares = {true, 512},
			    .quota = {true, 50000},
			    .period = {true, 100000}};
	struct oci_resources r = {.memory = &m, .cpu = &c, .has_pids = true,
				  .pids_limit = {true, -1}};
	struct husk_err *err = NULL;
	int ret;

	CHECK(base != NULL);
	memset(h, 0, sizeof(h));
	h[0].mountpoint = husk_asprintf("%s/memory", base);
	h[0].options = "rw,memory";
	h[1].mountpoint = husk_asprintf("%s/cpu", base);
	h[1].options = "rw,cpu,cpuacct";
	h[2].mountpoint = husk_asprintf("%s/pids", base);
	h[2].options = "rw,pids";
	mem = mk(h[0].mountpoint, "x/c");
	cpu = mk(h[1].mountpoint, "x/c");
	pids = mk(h[2].mountpoint, "x/c");
	const char *mf[] = {"memory.limit_in_bytes", "memory.soft_limit_in_bytes",
			    "memory.memsw.limit_in_bytes", "memory.swappiness"};
	for (size_t i = 0; i < ARRAY_SIZE(mf); i++)
		touch(mem, mf[i], "");
	touch(cpu, "cpu.shares", "");
	touch(cpu, "cpu.cfs_quota_us", "");
	touch(cpu, "cpu.cfs_period_us", "");
	touch(pids, "pids.max", "");
	ret = cgroup_apply_resources(&l, "/x/c", &r, &err);
	if (ret < 0)
		printf("# %s\n", err->msg);
	husk_err_free(&err);
	const char *want[][3] = {
		{"m", "memory.limit_in_bytes", "67108864"},
		{"m", "memory.soft_limit_in_bytes", "33554432"},
		{"m", "memory.memsw.limit_in_bytes", "134217728"},
		{"m", "memory.swappiness", "10"},
		{"c", "cpu.shares", "512"},
		{"c", "cpu.cfs_quota_us", "50000"},
		{"c", "cpu.cfs_period_us", "100000"},
		{"p", "pids.max", "max"},
	};
	for (size_t i = 0; ret == 0 && i < ARRAY_SIZE(want); i++) {
		const char *d = want[i][0][0] == 'm'   ? mem
				: want[i][0][0] == 'c' ? cpu
						       : pids;
		v = cat(d, want[i][1]);
		if (strcmp(v, want[i][2]) != 0) {
			printf("# %s: got %s want %s\n", want[i][1], v,
			       want[i][2]);
			ret = -1;
		}
		free(v);
	}
	/* A controller the layout lacks is refused by name. */
	struct oci_hugepage_limit hl = {"2MB", 1 << 21};
	struct oci_resources r2 = {.hugepage_limits = &hl,
				   .n_hugepage_limits = 1};
	int ret2 = cgroup_apply_resources(&l, "/x/c", &r2, &err);
	rm_rf(base);
	for (size_t i = 0; i < 3; i++)
		free(h[i].mountpoint);
	free(mem);
	free(cpu);
	free(pids);
	CHECK(ret == 0);
	CHECK(ret2 < 0);
	CHECK_STR(err->msg, "linux.resources.hugepageLimits: the hugetlb cgroup "
			    "controller is not available on this host");
	husk_err_free(&err);
}

TEST(v2_files)
{
	char tmpl[] = "/tmp/husk-cgunit.XXXXXX";
	char *base = mkdtemp(tmpl), *dir, *v;
	struct cg_hier h;
	struct cg_layout l = {CG_V2, &h, 1};
	struct oci_memory m = {.limit = {true, 1 << 26},
			       .swap = {true, 1 << 27}};
	struct oci_cpu c = {.shares = {true, 1024}, .quota = {true, 50000}};
	struct oci_block_io b = {.weight = {true, 500}};
	struct oci_hugepage_limit hl = {"2MB", 1 << 21};
	struct oci_kv u = {"pids.max", "7"};
	struct oci_resources r = {.memory = &m, .cpu = &c, .block_io = &b,
				  .hugepage_limits = &hl,
				  .n_hugepage_limits = 1, .unified = &u,
				  .n_unified = 1};
	struct husk_err *err = NULL;
	int ret;

	CHECK(base != NULL);
	memset(&h, 0, sizeof(h));
	h.mountpoint = base;
	h.options = "rw";
	h.v2 = true;
	dir = mk(base, "x/c");
	touch(base, "cgroup.controllers", "cpu io memory hugetlb pids\n");
	touch(base, "cgroup.subtree_control", "");
	{
		char *x = husk_asprintf("%s/x", base);
		touch(x, "cgroup.subtree_control", "");
		free(x);
	}
	const char *files[] = {"memory.max", "memory.swap.max", "cpu.weight",
			       "cpu.max", "io.weight", "hugetlb.2MB.max",
			       "pids.max"};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		touch(dir, files[i], "");
	ret = cgroup_apply_resources(&l, "/x/c", &r, &err);
	if (ret < 0)
		printf("# %s\n", err->msg);
	husk_err_free(&err);
	const char *want[][2] = {
		{"memory.max", "67108864"},
		{"memory.swap.max", "67108864"}, /* swap - limit */
		{"cpu.weight", "39"},
		{"cpu.max", "50000 100000"},
		{"io.weight", "4950"},
		{"hugetlb.2MB.max", "2097152"},
		{"pids.max", "7"},
	};
	for (size_t i = 0; ret == 0 && i < ARRAY_SIZE(want); i++) {
		v = cat(dir, want[i][0]);
		if (strcmp(v, want[i][1]) != 0) {
			printf("# %s: got %s want %s\n", want[i][0], v,
			       want[i][1]);
			ret = -1;
		}
		free(v);
	}
	/* The controllers were enabled on the way down (the last write to
	 * a plain file is what is left). */
	v = cat(base, "cgroup.subtree_control");
	if (ret == 0 && strncmp(v, "+", 1) != 0)
		ret = -1;
	free(v);
	/* v2 has no swappiness; a bad unified key is refused. */
	struct oci_memory m2 = {.swappiness = {true, 10}};
	struct oci_resources r2 = {.memory = &m2};
	int ret2 = cgroup_apply_resources(&l, "/x/c", &r2, &err);
	char *msg2 = err ? husk_strdup(err->msg) : NULL;
	husk_err_free(&err);
	struct oci_kv bad = {"rdma.max", "x"};
	struct oci_resources r3 = {.unified = &bad, .n_unified = 1};
	int ret3 = cgroup_apply_resources(&l, "/x/c", &r3, &err);
	rm_rf(base);
	free(dir);
	CHECK(ret == 0);
	CHECK(ret2 < 0);
	CHECK_STR(msg2, "linux.resources.memory.swappiness: not available on "
			"cgroup v2");
	free(msg2);
	CHECK(ret3 < 0);
	CHECK(strstr(err->msg, "the rdma controller is not enabled") != NULL);
	husk_err_free(&err);
}

int main(void)
{
	RUN(shares_to_weight);
	RUN(blkio_to_io_weight);
	RUN(v1_files);
	RUN(v2_files);
	UNIT_EXIT();
}
