/* cgroup v2 device control: linux.resources.devices compiled by hand into a
 * BPF_PROG_TYPE_CGROUP_DEVICE program (no libbpf), loaded and attached to
 * the container's cgroup. */
#include <errno.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/linux/internal.h"

/* Upper bound on rules: keeps the program far below the verifier's limits
 * (each rule is at most 9 instructions). */
#define DEV_RULES_MAX 4096

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src,
			    int16_t off, int32_t imm)
{
	struct bpf_insn i;

	memset(&i, 0, sizeof(i));
	i.code = code;
	i.dst_reg = dst & 0xf;
	i.src_reg = src & 0xf;
	i.off = off;
	i.imm = imm;
	return i;
}

#define LDX_W(dst, src, off) insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
#define ALU32_K(op, dst, k) insn(BPF_ALU | (op) | BPF_K, dst, 0, 0, k)
#define MOV32_X(dst, src) insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
#define MOV64_K(dst, k) insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, k)
#define JMP32_K(op, dst, k, off) insn(BPF_JMP32 | (op) | BPF_K, dst, 0, off, k)
#define EXIT() insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* A conditional jump to insn `end` (the next rule) from insn *k. */
static void emit_jmp(struct bpf_insn *p, size_t *k, size_t end, uint8_t op,
		     uint8_t reg, int32_t imm)
{
	p[*k] = JMP32_K(op, reg, imm, (int16_t)(end - *k - 1));
	(*k)++;
}

/* Registers after the prologue: r2 device type, r3 access, r4 major,
 * r5 minor (the layout of struct bpf_cgroup_dev_ctx). */
static size_t rule_len(const struct dev_rule *r)
{
	return (r->type != 'a') + (r->access != 7 ? 3 : 0) + (r->major >= 0) +
	       (r->minor >= 0) + 2;
}

int devices_bpf_build(const struct dev_rule *rules, size_t n,
		      struct bpf_insn **out, size_t *n_insns,
		      struct husk_err **err)
{
	struct bpf_insn *p;
	size_t total = 6 + 2, k = 0;

	if (n > DEV_RULES_MAX)
		return husk_err_set(err, E2BIG,
				    "linux.resources.devices: more than %d "
				    "rules",
				    DEV_RULES_MAX);
	for (size_t i = 0; i < n; i++)
		total += rule_len(&rules[i]);
	p = husk_calloc(total, sizeof(*p));
	p[k++] = LDX_W(BPF_REG_2, BPF_REG_1, 0);
	p[k++] = ALU32_K(BPF_AND, BPF_REG_2, 0xffff);
	p[k++] = LDX_W(BPF_REG_3, BPF_REG_1, 0);
	p[k++] = ALU32_K(BPF_RSH, BPF_REG_3, 16);
	p[k++] = LDX_W(BPF_REG_4, BPF_REG_1, 4);
	p[k++] = LDX_W(BPF_REG_5, BPF_REG_1, 8);
	/* The last matching rule decides, as in the v1 controller: emit
	 * the rules in reverse and return at the first match. */
	for (size_t i = n; i-- > 0;) {
		const struct dev_rule *r = &rules[i];
		size_t end = k + rule_len(r); /* first insn of the next rule */

		if (r->access == 0)
			continue; /* matches nothing */

		if (r->type != 'a')
			emit_jmp(p, &k, end, BPF_JNE, BPF_REG_2,
				 r->type == 'b' ? BPF_DEVCG_DEV_BLOCK
						: BPF_DEVCG_DEV_CHAR);
		if (r->access != 7) {
			p[k++] = MOV32_X(BPF_REG_1, BPF_REG_3);
			if (r->allow) {
				/* allow: every requested access is allowed */
				p[k++] = ALU32_K(BPF_AND, BPF_REG_1,
						 (int32_t)(~r->access & 7));
				emit_jmp(p, &k, end, BPF_JNE, BPF_REG_1, 0);
			} else {
				/* deny: any requested access is denied */
				p[k++] = ALU32_K(BPF_AND, BPF_REG_1,
						 (int32_t)r->access);
				emit_jmp(p, &k, end, BPF_JEQ, BPF_REG_1, 0);
			}
		}
		if (r->major >= 0)
			emit_jmp(p, &k, end, BPF_JNE, BPF_REG_4,
				 (int32_t)r->major);
		if (r->minor >= 0)
			emit_jmp(p, &k, end, BPF_JNE, BPF_REG_5,
				 (int32_t)r->minor);
		p[k++] = MOV64_K(BPF_REG_0, r->allow ? 1 : 0);
		p[k++] = EXIT();
		/* A rule that matches everything ends the program: the
		 * verifier refuses unreachable instructions. */
		if (rule_len(r) == 2)
			goto done;
	}
	p[k++] = MOV64_K(BPF_REG_0, 0);
	p[k++] = EXIT();
done:
	*out = p;
	*n_insns = k;
	return 0;
}

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

int devices_bpf_load(const struct bpf_insn *insns, size_t n, int *prog_fd,
		     struct husk_err **err)
{
	static const char license[] = "GPL";
	union bpf_attr attr;
	char log[1024];
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = (uint32_t)n;
	attr.license = (uint64_t)(uintptr_t)license;
	fd = sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd >= 0) {
		*prog_fd = fd;
		return 0;
	}
	if (errno != EINVAL && errno != EACCES)
		return husk_err_sys(err, "bpf BPF_PROG_LOAD devices filter");
	/* Load again with a log for the verifier's reason. */
	log[0] = '\0';
	attr.log_buf = (uint64_t)(uintptr_t)log;
	attr.log_size = sizeof(log);
	attr.log_level = 1;
	fd = sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd >= 0) {
		*prog_fd = fd;
		return 0;
	}
	log[sizeof(log) - 1] = '\0';
	return husk_err_sys(err, "bpf BPF_PROG_LOAD devices filter (%s)",
			    log[0] ? log : "no verifier log");
}

int devices_bpf_attach(int prog_fd, int cgroup_fd, struct husk_err **err)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)cgroup_fd;
	attr.attach_bpf_fd = (uint32_t)prog_fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
		return husk_err_sys(err, "bpf BPF_PROG_ATTACH devices filter");
	return 0;
}
