/* Per-vCPU x86 state beyond the boot registers: CPUID (what KVM supports,
 * shaped into a topology and a hypervisor the guest recognises) and MSRs. */
#ifndef HUSK_VMM_X86_CPU_H
#define HUSK_VMM_X86_CPU_H

#include <linux/kvm.h>

#include "common/err.h"

/* KVM_GET_SUPPORTED_CPUID into a malloc'd table (free() it). */
int cpuid_get_supported(int kvm_fd, struct kvm_cpuid2 **out,
			struct husk_err **err);

/* Shape a copy of the supported table for vCPU index of nvcpus (APIC id =
 * index, one thread per core, one socket) and KVM_SET_CPUID2 it. */
int cpuid_setup_vcpu(int vcpu_fd, const struct kvm_cpuid2 *supported,
		     int index, int nvcpus, struct husk_err **err);

/* Exposed for unit tests: apply the shaping to a table in place. tab must
 * have room for at least 8 more entries than tab->nent. */
void cpuid_shape(struct kvm_cpuid2 *tab, unsigned cap, int index, int nvcpus);

/* The MSRs a booting Linux expects firmware to have set. */
int msr_setup_vcpu(int vcpu_fd, struct husk_err **err);

#endif
