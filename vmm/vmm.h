/* husk-vmm's internal model: the VM, its vCPUs, the port-I/O and MMIO
 * devices the vCPU threads dispatch to, and how a thread ends the VM. */
#ifndef HUSK_VMM_VMM_H
#define HUSK_VMM_VMM_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "vmm/bus.h"
#include "vmm/event.h"
#include "vmm/mem.h"

#define VMM_MAX_VCPUS 32
#define VMM_MAX_PIO 8
#define VMM_MAX_MMIO 8

/* virtio-mmio windows: in the 32-bit hole, far from the IOAPIC/LAPIC and
 * from KVM's TSS and identity-map pages at the top of the hole. */
#define VMM_MMIO_BASE 0xd0000000ULL
/* IOAPIC pins 16..23 are not ISA pins, so no legacy device or override
 * can collide with them. */
#define VMM_MMIO_GSI_BASE 16

#define VMM_SERIAL_PORT 0x3f8
#define VMM_SERIAL_GSI 4

/* How the VM ended: RESET and POWEROFF are the guest's own wish (exit 0). */
enum vm_end {
	VM_RUNNING = 0,
	VM_END_RESET,
	VM_END_POWEROFF,
	VM_END_CRASH, /* triple fault, failed entry, emulation error */
	VM_END_ERROR, /* the VMM itself failed */
};

struct pio_dev {
	uint16_t base, len;
	/* off < len; size is 1, 2 or 4; data is the KVM buffer of that size */
	void (*in)(void *opaque, uint16_t off, void *data, uint32_t size);
	void (*out)(void *opaque, uint16_t off, const void *data,
		    uint32_t size);
	void *opaque;
};

struct vm;

struct vcpu {
	struct vm *vm;
	int index;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool started;
};

struct vm {
	int kvm_fd;
	int vm_fd;
	struct guest_mem mem;
	int nvcpus;
	struct vcpu vcpus[VMM_MAX_VCPUS];

	struct pio_dev pio[VMM_MAX_PIO];
	int n_pio;
	struct bus_dev mmio[VMM_MAX_MMIO];
	int n_mmio;

	struct event_loop *loop;
	struct timespec t0; /* husk-vmm's start, for the timing markers */
	int log_fd;	    /* timing and error lines; -1: none */

	pthread_mutex_t end_lock;
	pthread_cond_t end_cond;
	enum vm_end end;
	char end_msg[256];
	atomic_bool stopping; /* set once; vCPU threads leave their loop */
	pthread_t waiter;     /* main thread, woken by VMM_END_SIGNAL */
	bool has_waiter;
	atomic_bool ready_logged;
};

/* Record how the VM ends (the first caller wins) and wake main. Safe from
 * any thread; never blocks on the guest. */
void vm_end(struct vm *vm, enum vm_end how, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Milliseconds since vm->t0. */
double vm_elapsed_ms(const struct vm *vm);

/* Write one "husk-vmm: ..." line to vm->log_fd (async-signal-safe enough:
 * one write()). */
void vm_log(const struct vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

int vm_add_pio(struct vm *vm, const struct pio_dev *d);
int vm_add_mmio(struct vm *vm, const struct bus_dev *d);

/* The signal that kicks a vCPU thread out of KVM_RUN. */
#define VCPU_KICK_SIGNAL SIGUSR1
/* What vm_end() sends the waiting main thread (blocked, sigwaitinfo). */
#define VMM_END_SIGNAL SIGUSR2

#endif
