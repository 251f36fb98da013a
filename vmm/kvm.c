/* KVM VM and vCPU plumbing, and the vCPU run loop with its port-I/O and MMIO
 * dispatch. Architecture state (CPUID, MSRs, registers) lives in x86/. */
#include "vmm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

void vm_log(const struct vm *vm, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	if (vm->log_fd < 0)
		return;
	n = snprintf(buf, sizeof(buf), "husk-vmm: ");
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	/* One write so lines from different threads never interleave. */
	if (write(vm->log_fd, buf, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
}

double vm_elapsed_ms(const struct vm *vm)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - vm->t0.tv_sec) * 1e3 +
	       (double)(now.tv_nsec - vm->t0.tv_nsec) / 1e6;
}

void vm_end(struct vm *vm, enum vm_end how, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&vm->end_lock);
	if (vm->end == VM_RUNNING) {
		vm->end = how;
		va_start(ap, fmt);
		vsnprintf(vm->end_msg, sizeof(vm->end_msg), fmt, ap);
		va_end(ap);
	}
	atomic_store(&vm->stopping, true);
	pthread_cond_broadcast(&vm->end_cond);
	pthread_mutex_unlock(&vm->end_lock);
	if (vm->has_waiter)
		pthread_kill(vm->waiter, VMM_END_SIGNAL);
}

int vm_add_pio(struct vm *vm, const struct pio_dev *d)
{
	if (vm->n_pio >= VMM_MAX_PIO)
		return -1;
	vm->pio[vm->n_pio++] = *d;
	return 0;
}

int vm_add_mmio(struct vm *vm, const struct bus_dev *d)
{
	if (vm->n_mmio >= VMM_MAX_MMIO)
		return -1;
	vm->mmio[vm->n_mmio++] = *d;
	return 0;
}

int kvm_vm_create(struct vm *vm, struct husk_err **err)
{
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	uint64_t ident = KVM_IDENTITY_MAP_ADDR;
	int ver;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return husk_err_sys(err, "open /dev/kvm");
	ver = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION)
		return husk_err_set(err, EINVAL,
				    "/dev/kvm: API version %d, want %d", ver,
				    KVM_API_VERSION);
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0)
		return husk_err_set(err, ENOTSUP,
				    "/dev/kvm: KVM_CAP_IMMEDIATE_EXIT missing");
	do
		vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	while (vm->vm_fd < 0 && errno == EINTR);
	if (vm->vm_fd < 0)
		return husk_err_sys(err, "ioctl KVM_CREATE_VM");
	/* KVM_CREATE_VM gives a CLOEXEC fd already (anon inode, O_CLOEXEC). */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
		return husk_err_sys(err, "ioctl KVM_SET_TSS_ADDR 0x%llx",
				    KVM_TSS_ADDR);
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0)
		return husk_err_sys(err, "ioctl KVM_SET_IDENTITY_MAP_ADDR");
	/* The irqchip must exist before any vCPU so each gets a local APIC. */
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return husk_err_sys(err, "ioctl KVM_CREATE_IRQCHIP");
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return husk_err_sys(err, "ioctl KVM_CREATE_PIT2");
	return 0;
}

int kvm_vm_map_memory(struct vm *vm, struct husk_err **err)
{
	for (int i = 0; i < vm->mem.n_regions; i++) {
		const struct gmem_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region slot = {
			.slot = (uint32_t)i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uint64_t)(uintptr_t)(vm->mem.host +
								r->offset),
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			return husk_err_sys(
				err,
				"ioctl KVM_SET_USER_MEMORY_REGION slot %d "
				"(0x%llx+0x%llx)",
				i, (unsigned long long)r->gpa,
				(unsigned long long)r->size);
	}
	return 0;
}

int kvm_vcpu_create(struct vm *vm, int index, struct husk_err **err)
{
	struct vcpu *c = &vm->vcpus[index];
	int sz;
	void *run;

	c->vm = vm;
	c->index = index;
	c->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (c->fd < 0)
		return husk_err_sys(err, "ioctl KVM_CREATE_VCPU %d", index);
	sz = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run))
		return husk_err_sys(err, "ioctl KVM_GET_VCPU_MMAP_SIZE");
	run = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd,
		   0);
	if (run == MAP_FAILED)
		return husk_err_sys(err, "mmap kvm_run of vCPU %d", index);
	c->run = run;
	c->run_size = (size_t)sz;
	return 0;
}

int kvm_irq_line(int vm_fd, uint32_t gsi, int level)
{
	struct kvm_irq_level l = {.irq = gsi, .level = (uint32_t)level};

	return ioctl(vm_fd, KVM_IRQ_LINE, &l);
}

static void kick_handler(int sig)
{
	(void)sig;
}

int kvm_kick_setup(struct husk_err **err)
{
	struct sigaction sa = {.sa_handler = kick_handler};

	/* No SA_RESTART: KVM_RUN must come back with EINTR. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		return husk_err_sys(err, "sigaction SIGUSR1");
	return 0;
}

void kvm_vcpus_kick(struct vm *vm)
{
	atomic_store(&vm->stopping, true);
	for (int i = 0; i < vm->nvcpus; i++) {
		struct vcpu *c = &vm->vcpus[i];
		if (!c->started)
			continue;
		/* immediate_exit covers the window between the thread's
		 * check of stopping and its next KVM_RUN. */
		__atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(c->thread, VCPU_KICK_SIGNAL);
	}
}

static const struct pio_dev *pio_find(struct vm *vm, uint16_t port)
{
	for (int i = 0; i < vm->n_pio; i++) {
		const struct pio_dev *d = &vm->pio[i];
		if (port >= d->base && port - d->base < d->len)
			return d;
	}
	return NULL;
}

static void vcpu_pio(struct vcpu *c)
{
	struct kvm_run *r = c->run;
	uint32_t size = r->io.size, count = r->io.count;
	uint8_t *data = (uint8_t *)r + r->io.data_offset;
	const struct pio_dev *d = pio_find(c->vm, r->io.port);

	if ((size != 1 && size != 2 && size != 4) ||
	    r->io.data_offset >= c->run_size ||
	    (uint64_t)size * count > c->run_size - r->io.data_offset)
		return;
	for (uint32_t i = 0; i < count; i++, data += size) {
		uint16_t off = d ? (uint16_t)(r->io.port - d->base) : 0;
		if (r->io.direction == KVM_EXIT_IO_IN) {
			/* Nothing behind the port: the bus floats high. */
			memset(data, 0xff, size);
			if (d && d->in)
				d->in(d->opaque, off, data, size);
		} else if (d && d->out) {
			d->out(d->opaque, off, data, size);
		}
	}
}

static void vcpu_mmio(struct vcpu *c)
{
	struct kvm_run *r = c->run;
	uint64_t addr = r->mmio.phys_addr;
	uint32_t len = r->mmio.len;

	if (len > sizeof(r->mmio.data))
		return;
	for (int i = 0; i < c->vm->n_mmio; i++) {
		const struct bus_dev *d = &c->vm->mmio[i];
		if (addr < d->base || addr - d->base >= d->len ||
		    len > d->len - (addr - d->base))
			continue;
		if (r->mmio.is_write) {
			if (d->write)
				d->write(d->opaque, addr - d->base,
					 r->mmio.data, len);
		} else {
			memset(r->mmio.data, 0xff, len);
			if (d->read)
				d->read(d->opaque, addr - d->base,
					r->mmio.data, len);
		}
		return;
	}
	if (!r->mmio.is_write)
		memset(r->mmio.data, 0xff, len);
}

static void vcpu_system_event(struct vcpu *c)
{
	switch (c->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_end(c->vm, VM_END_POWEROFF, "guest powered off");
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_end(c->vm, VM_END_RESET, "guest reset");
		break;
	default:
		vm_end(c->vm, VM_END_CRASH, "guest crashed (system event %u)",
		       c->run->system_event.type);
	}
}

/* Returns false when the VM is over for this thread. */
static bool vcpu_handle_exit(struct vcpu *c)
{
	struct kvm_run *r = c->run;

	switch (r->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_pio(c);
		return true;
	case KVM_EXIT_MMIO:
		vcpu_mmio(c);
		return true;
	case KVM_EXIT_INTR:
	case KVM_EXIT_HLT:
		return true;
	case KVM_EXIT_SHUTDOWN:
		/* A triple fault. Linux's own reset paths (i8042, ACPI) end
		 * the VM before this; reaching it means the guest died. */
		vm_end(c->vm, VM_END_CRASH, "vCPU %d: triple fault", c->index);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		vcpu_system_event(c);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		vm_end(c->vm, VM_END_CRASH,
		       "vCPU %d: entry failed (hardware reason 0x%llx)",
		       c->index,
		       (unsigned long long)
			       r->fail_entry.hardware_entry_failure_reason);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		vm_end(c->vm, VM_END_CRASH,
		       "vCPU %d: KVM internal error (suberror %u)", c->index,
		       r->internal.suberror);
		return false;
	default:
		vm_end(c->vm, VM_END_CRASH, "vCPU %d: unexpected exit %u",
		       c->index, r->exit_reason);
		return false;
	}
}

void *kvm_vcpu_thread(void *arg)
{
	struct vcpu *c = arg;
	struct vm *vm = c->vm;
	bool first = c->index == 0;

	while (!atomic_load(&vm->stopping)) {
		if (first) {
			vm_log(vm, "kernel entry (first KVM_RUN) at %.1f ms",
			       vm_elapsed_ms(vm));
			first = false;
		}
		if (ioctl(c->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vm_end(vm, VM_END_ERROR, "vCPU %d: ioctl KVM_RUN: %s",
			       c->index, strerror(errno));
			break;
		}
		if (!vcpu_handle_exit(c))
			break;
	}
	return NULL;
}
