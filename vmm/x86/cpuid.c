/* CPUID for the guest: what KVM supports, with the topology of this VM
 * (one socket, nvcpus cores, APIC id = vCPU index), the hypervisor bit, and
 * KVM's paravirt leaves (0x40000000: signature, 0x40000001: kvm-clock and
 * friends) as KVM reports them. */
#include "vmm/x86/cpu.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define CPUID_EXTRA 8

int cpuid_get_supported(int kvm_fd, struct kvm_cpuid2 **out,
			struct husk_err **err)
{
	unsigned n = 128;

	for (;;) {
		struct kvm_cpuid2 *t = calloc(1, sizeof(*t) +
			(n + CPUID_EXTRA) * sizeof(struct kvm_cpuid_entry2));
		if (!t)
			return husk_err_set(err, ENOMEM, "cpuid table");
		t->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, t) == 0) {
			*out = t;
			return 0;
		}
		free(t);
		if (errno != E2BIG || n >= 4096)
			return husk_err_sys(err,
					    "ioctl KVM_GET_SUPPORTED_CPUID");
		n *= 2;
	}
}

static struct kvm_cpuid_entry2 *leaf(struct kvm_cpuid2 *t, uint32_t fn,
				     uint32_t idx)
{
	for (unsigned i = 0; i < t->nent; i++)
		if (t->entries[i].function == fn &&
		    (!(t->entries[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		     t->entries[i].index == idx))
			return &t->entries[i];
	return NULL;
}

static void drop_leaf(struct kvm_cpuid2 *t, uint32_t fn)
{
	unsigned j = 0;

	for (unsigned i = 0; i < t->nent; i++)
		if (t->entries[i].function != fn)
			t->entries[j++] = t->entries[i];
	t->nent = j;
}

static void add_leaf(struct kvm_cpuid2 *t, unsigned cap,
		     struct kvm_cpuid_entry2 e)
{
	if (t->nent < cap)
		t->entries[t->nent++] = e;
}

static unsigned order(int n)
{
	unsigned s = 0;

	while ((1 << s) < n)
		s++;
	return s;
}

void cpuid_shape(struct kvm_cpuid2 *t, unsigned cap, int index, int nvcpus)
{
	struct kvm_cpuid_entry2 *e = leaf(t, 0, 0);
	uint32_t max_basic = e ? e->eax : 0;
	bool amd = e && e->ebx == 0x68747541; /* "Auth"enticAMD */
	uint32_t id = (uint32_t)index, n = (uint32_t)nvcpus;

	if ((e = leaf(t, 1, 0))) {
		e->ebx = (e->ebx & 0xffff) | id << 24 | (n & 0xff) << 16;
		e->ecx |= 1u << 31; /* running under a hypervisor */
		if (n > 1)
			e->edx |= 1u << 28; /* HTT: ebx[23:16] is valid */
		else
			e->edx &= ~(1u << 28);
	}
	/* Deterministic cache parameters: cores per package, and who shares
	 * each cache level (only the L3 is shared between cores). */
	for (unsigned i = 0; i < t->nent; i++) {
		e = &t->entries[i];
		if (e->function != 4 || !(e->eax & 0x1f))
			continue;
		e->eax &= 0x3fff;
		e->eax |= (n - 1) << 26;
		if (((e->eax >> 5) & 7) == 3)
			e->eax |= (n - 1) << 14;
	}
	if ((e = leaf(t, 6, 0)))
		e->ecx &= ~(1u << 3); /* no energy-performance bias MSR */
	/* Extended topology: SMT level of 1 thread, core level of n.
	 * 0x1f would take precedence in Linux; the 0xb view is enough. */
	drop_leaf(t, 0xb);
	drop_leaf(t, 0x1f);
	if (max_basic >= 0xb) {
		add_leaf(t, cap, (struct kvm_cpuid_entry2){
			.function = 0xb, .index = 0,
			.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
			.eax = 0, .ebx = 1, .ecx = 0 | 1 << 8, .edx = id});
		add_leaf(t, cap, (struct kvm_cpuid_entry2){
			.function = 0xb, .index = 1,
			.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
			.eax = order(nvcpus), .ebx = n, .ecx = 1 | 2 << 8,
			.edx = id});
	}
	if (amd && (e = leaf(t, 0x80000008, 0)))
		e->ecx = (e->ecx & ~0xf0ffu) | ((n - 1) & 0xff) |
			 order(nvcpus) << 12;
	if (amd && (e = leaf(t, 0x8000001e, 0))) {
		e->eax = id;	    /* extended APIC id */
		e->ebx = id & 0xff; /* core id; 1 thread per core */
		e->ecx = 0;	    /* node 0, 1 node per package */
	}
}

int cpuid_setup_vcpu(int vcpu_fd, const struct kvm_cpuid2 *supported,
		     int index, int nvcpus, struct husk_err **err)
{
	unsigned cap = supported->nent + CPUID_EXTRA;
	size_t sz = sizeof(*supported) + cap * sizeof(supported->entries[0]);
	_cleanup_free_ struct kvm_cpuid2 *t = calloc(1, sz);

	if (!t)
		return husk_err_set(err, ENOMEM, "cpuid table");
	memcpy(t, supported, sizeof(*supported) +
	       supported->nent * sizeof(supported->entries[0]));
	cpuid_shape(t, cap, index, nvcpus);
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, t) < 0)
		return husk_err_sys(err, "ioctl KVM_SET_CPUID2 (vCPU %d)",
				    index);
	return 0;
}
