/* The MSRs firmware leaves set when it hands over to Linux (Firecracker and
 * kvmtool set the same list): no SYSCALL/SYSENTER targets yet, fast strings
 * on, MTRRs enabled with write-back as the default type. */
#include "vmm/x86/cpu.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102

#define MISC_ENABLE_FAST_STRING 0x1ULL
#define MTRR_ENABLE 0x800ULL
#define MTRR_TYPE_WB 0x6ULL

int msr_setup_vcpu(int vcpu_fd, struct husk_err **err)
{
	static const struct kvm_msr_entry list[] = {
		{.index = MSR_IA32_SYSENTER_CS},
		{.index = MSR_IA32_SYSENTER_ESP},
		{.index = MSR_IA32_SYSENTER_EIP},
		{.index = MSR_STAR},
		{.index = MSR_CSTAR},
		{.index = MSR_KERNEL_GS_BASE},
		{.index = MSR_SYSCALL_MASK},
		{.index = MSR_LSTAR},
		{.index = MSR_IA32_MISC_ENABLE, .data = MISC_ENABLE_FAST_STRING},
		{.index = MSR_MTRR_DEF_TYPE, .data = MTRR_ENABLE | MTRR_TYPE_WB},
	};
	const unsigned n = sizeof(list) / sizeof(list[0]);
	_cleanup_free_ struct kvm_msrs *m =
		calloc(1, sizeof(*m) + n * sizeof(list[0]));
	int rc;

	if (!m)
		return husk_err_set(err, ENOMEM, "msr list");
	m->nmsrs = n;
	for (unsigned i = 0; i < n; i++)
		m->entries[i] = list[i];
	rc = ioctl(vcpu_fd, KVM_SET_MSRS, m);
	if (rc < 0)
		return husk_err_sys(err, "ioctl KVM_SET_MSRS");
	if ((unsigned)rc != n)
		return husk_err_set(err, EINVAL,
				    "ioctl KVM_SET_MSRS: MSR 0x%x refused",
				    list[rc].index);
	return 0;
}
