/* KVM: the VM (memory slots, in-kernel irqchip and PIT) and its vCPUs, and
 * the vCPU thread that runs KVM_RUN and dispatches port I/O and MMIO. */
#ifndef HUSK_VMM_KVM_H
#define HUSK_VMM_KVM_H

#include <stdint.h>

#include "common/err.h"
#include "vmm/vmm.h"

/* KVM keeps these pages for itself (real-mode TSS, EPT identity map): just
 * below the BIOS area at the top of the 32-bit hole, outside every device. */
#define KVM_TSS_ADDR 0xfffbd000ULL
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL

/* Open /dev/kvm, create the VM with its irqchip and PIT. vm->kvm_fd and
 * vm->vm_fd are set (O_CLOEXEC). */
int kvm_vm_create(struct vm *vm, struct husk_err **err);

/* One memory slot per region of vm->mem. */
int kvm_vm_map_memory(struct vm *vm, struct husk_err **err);

/* Create vCPU index and map its kvm_run. */
int kvm_vcpu_create(struct vm *vm, int index, struct husk_err **err);

/* Drive an interrupt line of the in-kernel irqchip (PIC and IOAPIC). */
int kvm_irq_line(int vm_fd, uint32_t gsi, int level);

/* pthread entry: KVM_RUN until the VM ends. arg is a struct vcpu. */
void *kvm_vcpu_thread(void *arg);

/* Install the (empty) kick signal handler; once, before vCPU threads. */
int kvm_kick_setup(struct husk_err **err);

/* Make every started vCPU thread leave KVM_RUN and its loop. */
void kvm_vcpus_kick(struct vm *vm);

#endif
