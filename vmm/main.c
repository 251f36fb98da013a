/* husk-vmm: one KVM microVM. Parses the machine description, builds the VM
 * (memory, ACPI, kernel, devices, vCPUs), confines itself, runs one thread
 * per vCPU plus the device thread, and exits 0 when the guest resets or
 * powers off. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/err.h"
#include "vmm/confine.h"
#include "vmm/devices/i8042.h"
#include "vmm/devices/serial.h"
#include "vmm/kvm.h"
#include "vmm/virtio/virtio.h"
#include "vmm/vmm.h"
#include "vmm/x86/acpi.h"
#include "vmm/x86/boot.h"
#include "vmm/x86/cpu.h"

#define MEM_MIN (64ULL << 20)
#define MEM_MAX (256ULL << 30)
#define DEFAULT_MARKER "husk-agent: ready"
/* "_<port>" that the vsock device appends for guest-initiated links */
#define VSOCK_SUFFIX_MAX 11

#if defined(__SANITIZE_ADDRESS__)
#define HUSK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HUSK_ASAN 1
#endif
#endif
#ifdef HUSK_ASAN
/* LeakSanitizer stops the world with ptrace at exit, which the seccomp
 * filter (rightly) kills; address and UB checks stay on. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

struct opts {
	const char *kernel, *initrd, *cmdline, *vsock, *console, *marker;
	uint64_t mem;
	int vcpus;
	uint64_t cid;
	bool verbose, test_forbidden;
};

struct file_map {
	uint8_t *p;
	size_t len;
};

/* Everything main owns; devices point into it. */
struct vmm {
	struct vm vm;
	struct opts o;
	struct serial serial;
	struct i8042 kbd;
	int console_fd;
	pthread_t dev_thread;
	bool dev_started;
	struct bus_dev virtio[VMM_MAX_MMIO];
	int n_virtio;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: husk-vmm --kernel FILE [--initrd FILE] [--cmdline STR]\n"
		"                [--mem SIZE] [--vcpus N] [--vsock-socket PATH]\n"
		"                [--vsock-cid CID] [--console FILE|-] "
		"[--verbose]\n"
		"  SIZE: bytes with K/M/G suffix, MiB without (64M..256G)\n");
}

static int parse_mem(const char *s, uint64_t *out, struct husk_err **err)
{
	char *end;
	unsigned long long v;
	unsigned shift = 20;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (end == s || errno)
		goto bad;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 0: break;
	default: goto bad;
	}
	if (*end || v > (MEM_MAX >> shift))
		goto range;
	v <<= shift;
	if (v < MEM_MIN)
		goto range;
	if (v % (1 << 20))
		return husk_err_set(err, EINVAL,
				    "--mem %s: must be a whole number of MiB",
				    s);
	*out = v;
	return 0;
bad:
	return husk_err_set(err, EINVAL,
			    "--mem %s: not a size (e.g. 128M, 1G)", s);
range:
	return husk_err_set(err, ERANGE, "--mem %s: must be between 64M and "
					 "256G", s);
}

static int parse_args(int argc, char **argv, struct opts *o,
		      struct husk_err **err)
{
	enum { O_KERNEL = 256, O_INITRD, O_CMDLINE, O_MEM, O_VCPUS, O_VSOCK,
	       O_CID, O_CONSOLE, O_BLK, O_FS, O_VERBOSE, O_FORBIDDEN,
	       O_MARKER, O_HELP };
	static const struct option lo[] = {
		{"kernel", required_argument, 0, O_KERNEL},
		{"initrd", required_argument, 0, O_INITRD},
		{"cmdline", required_argument, 0, O_CMDLINE},
		{"mem", required_argument, 0, O_MEM},
		{"vcpus", required_argument, 0, O_VCPUS},
		{"vsock-socket", required_argument, 0, O_VSOCK},
		{"vsock-cid", required_argument, 0, O_CID},
		{"console", required_argument, 0, O_CONSOLE},
		{"blk", required_argument, 0, O_BLK},
		{"fs-socket", required_argument, 0, O_FS},
		{"verbose", no_argument, 0, O_VERBOSE},
		{"ready-marker", required_argument, 0, O_MARKER},
		/* hidden: proves the seccomp filter kills (tests only) */
		{"test-forbidden-syscall", no_argument, 0, O_FORBIDDEN},
		{"help", no_argument, 0, O_HELP},
		{0, 0, 0, 0},
	};
	char *end;
	long long v;
	int c;

	*o = (struct opts){.cmdline = "", .mem = 128ULL << 20, .vcpus = 1,
			   .cid = 3, .marker = DEFAULT_MARKER};
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case O_KERNEL: o->kernel = optarg; break;
		case O_INITRD: o->initrd = optarg; break;
		case O_CMDLINE: o->cmdline = optarg; break;
		case O_VSOCK: o->vsock = optarg; break;
		case O_CONSOLE: o->console = optarg; break;
		case O_MARKER: o->marker = optarg; break;
		case O_VERBOSE: o->verbose = true; break;
		case O_FORBIDDEN: o->test_forbidden = true; break;
		case O_MEM:
			if (parse_mem(optarg, &o->mem, err) < 0)
				return -1;
			break;
		case O_VCPUS:
			errno = 0;
			v = strtoll(optarg, &end, 10);
			if (end == optarg || *end || errno || v < 1 ||
			    v > VMM_MAX_VCPUS)
				return husk_err_set(err, ERANGE,
						    "--vcpus %s: must be 1..%d",
						    optarg, VMM_MAX_VCPUS);
			o->vcpus = (int)v;
			break;
		case O_CID:
			errno = 0;
			v = strtoll(optarg, &end, 10);
			if (end == optarg || *end || errno || v < 3 ||
			    v >= 0xffffffffLL)
				return husk_err_set(err, ERANGE,
						    "--vsock-cid %s: must be "
						    "3..4294967294",
						    optarg);
			o->cid = (uint64_t)v;
			break;
		case O_BLK:
			return husk_err_set(err, ENOTSUP,
					    "--blk %s: not supported yet "
					    "(virtio-blk comes later)",
					    optarg);
		case O_FS:
			return husk_err_set(err, ENOTSUP,
					    "--fs-socket %s: not supported yet "
					    "(virtio-fs comes later)",
					    optarg);
		case O_HELP:
			usage(stdout);
			exit(0);
		default:
			return husk_err_set(err, EINVAL, "%s: %s",
					    argv[optind - 1],
					    c == ':' ? "needs an argument"
						     : "unknown option");
		}
	}
	if (optind < argc)
		return husk_err_set(err, EINVAL, "unexpected argument '%s'",
				    argv[optind]);
	if (!o->kernel)
		return husk_err_set(err, EINVAL, "--kernel is required");
	return 0;
}

static int map_file(const char *opt, const char *path, struct file_map *f,
		    struct husk_err **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return husk_err_sys(err, "%s %s", opt, path);
	if (fstat(fd, &st) < 0)
		return husk_err_sys(err, "%s %s: fstat", opt, path);
	if (!S_ISREG(st.st_mode))
		return husk_err_set(err, EINVAL, "%s %s: not a regular file",
				    opt, path);
	f->len = (size_t)st.st_size;
	if (f->len == 0)
		return husk_err_set(err, EINVAL, "%s %s: empty file", opt,
				    path);
	f->p = mmap(NULL, f->len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd,
		    0);
	if (f->p == MAP_FAILED) {
		f->p = NULL;
		return husk_err_sys(err, "%s %s: mmap", opt, path);
	}
	return 0;
}

static int check_vsock_path(const char *path, struct husk_err **err)
{
	struct sockaddr_un sa;
	struct stat st;

	if (strlen(path) + VSOCK_SUFFIX_MAX >= sizeof(sa.sun_path))
		return husk_err_set(err, ENAMETOOLONG,
				    "--vsock-socket %s: path too long for a "
				    "unix socket (at most %zu bytes, to leave "
				    "room for \"_<port>\")",
				    path,
				    sizeof(sa.sun_path) - VSOCK_SUFFIX_MAX - 1);
	if (lstat(path, &st) == 0)
		return husk_err_set(err, EEXIST,
				    "--vsock-socket %s: already exists (in use "
				    "by another VM, or left behind: remove it)",
				    path);
	return 0;
}

/* ---- device glue ------------------------------------------------------ */

static void serial_irq(void *opaque, int level)
{
	struct vm *vm = opaque;

	kvm_irq_line(vm->vm_fd, VMM_SERIAL_GSI, level);
}

static void on_marker(void *opaque)
{
	struct vm *vm = opaque;

	vm_log(vm, "agent ready (serial marker) at %.1f ms", vm_elapsed_ms(vm));
}

static void on_kbd_reset(void *opaque)
{
	vm_end(opaque, VM_END_RESET, "guest reset (i8042)");
}

static void pm_in(void *opaque, uint16_t off, void *data, uint32_t size)
{
	(void)opaque;
	/* Sleep status: WAK_STS set, so a waiting guest stops polling. */
	if (size)
		((uint8_t *)data)[0] = off == ACPI_SLEEP_STATUS_OFF ? 0x80 : 0;
}

static void pm_out(void *opaque, uint16_t off, const void *data,
		   uint32_t size)
{
	if (!size)
		return;
	switch (acpi_pm_write(off, *(const uint8_t *)data)) {
	case ACPI_PM_POWEROFF:
		vm_end(opaque, VM_END_POWEROFF, "guest powered off (ACPI S5)");
		break;
	case ACPI_PM_RESET:
		vm_end(opaque, VM_END_RESET, "guest reset (ACPI)");
		break;
	default:
		break;
	}
}

static void stdin_event(void *opaque, uint32_t events)
{
	struct vmm *v = opaque;
	uint8_t buf[64];
	ssize_t n = read(0, buf, sizeof(buf));

	if (n > 0)
		serial_input(&v->serial, buf, (size_t)n);
	else if (n == 0 || (errno != EINTR && errno != EAGAIN))
		event_del(v->vm.loop, 0); /* EOF: stop watching */
	(void)events;
}

static int setup_devices(struct vmm *v, struct husk_err **err)
{
	struct vm *vm = &v->vm;
	struct pio_dev com1 = {VMM_SERIAL_PORT, 8, serial_pio_in,
			       serial_pio_out, &v->serial};
	struct pio_dev kbd = {I8042_DATA_PORT, 5, i8042_pio_in, i8042_pio_out,
			      &v->kbd};
	struct pio_dev pm = {ACPI_PM_PORT, ACPI_PM_PORTS, pm_in, pm_out, vm};

	serial_init(&v->serial, v->console_fd, serial_irq, vm);
	v->serial.marker = v->o.marker;
	v->serial.on_marker = on_marker;
	v->serial.marker_opaque = vm;
	i8042_init(&v->kbd, on_kbd_reset, vm);
	vm_add_pio(vm, &com1);
	vm_add_pio(vm, &kbd);
	vm_add_pio(vm, &pm);

	for (int i = 0; i < (v->o.vsock ? 2 : 1); i++) {
		struct virtio_dev_env env = {
			.mem = &vm->mem, .loop = vm->loop, .vm_fd = vm->vm_fd,
			.mmio_base = VMM_MMIO_BASE +
				     (uint64_t)i * VIRTIO_MMIO_WINDOW,
			.gsi = VMM_MMIO_GSI_BASE + (uint32_t)i,
			.irq_eventfd = -1,
		};
		struct bus_dev *bd = &v->virtio[v->n_virtio];
		/* vsock first: it is what the host talks to. */
		int rc = v->o.vsock && i == 0
				 ? virtio_vsock_create(&env, v->o.cid,
						       v->o.vsock, bd, err)
				 : virtio_rng_create(&env, bd, err);
		if (rc < 0)
			return -1;
		v->n_virtio++;
		vm_add_mmio(vm, bd);
	}
	if (v->o.console && strcmp(v->o.console, "-") == 0)
		/* A regular file or /dev/null cannot be polled: no input. */
		(void)event_add(vm->loop, 0, EPOLLIN, stdin_event, v);
	return 0;
}

static int setup_memory_and_boot(struct vmm *v, const struct file_map *k,
				 const struct file_map *initrd,
				 struct husk_err **err)
{
	struct vm *vm = &v->vm;
	struct acpi_mmio_dev devs[VMM_MAX_MMIO];
	int ndevs = v->o.vsock ? 2 : 1;
	struct acpi_config ac = {v->o.vcpus, devs, ndevs};
	struct boot_config bc = {
		.kernel_name = v->o.kernel, .kernel = k->p,
		.kernel_len = k->len, .initrd = initrd->p,
		.initrd_len = initrd->len, .cmdline = v->o.cmdline,
		.rsdp = ACPI_RSDP_ADDR, .reserved_start = ACPI_RSDP_ADDR,
	};
	struct boot_info bi;
	_cleanup_free_ struct kvm_cpuid2 *cpuid = NULL;

	for (int i = 0; i < ndevs; i++)
		devs[i] = (struct acpi_mmio_dev){
			VMM_MMIO_BASE + (uint64_t)i * VIRTIO_MMIO_WINDOW,
			VIRTIO_MMIO_WINDOW, VMM_MMIO_GSI_BASE + (uint32_t)i};
	if (gmem_create(&vm->mem, v->o.mem, err) < 0)
		return -1;
	if (kvm_vm_create(vm, err) < 0 || kvm_vm_map_memory(vm, err) < 0)
		return -1;
	if (acpi_build(&vm->mem, &ac, &bc.reserved_end, err) < 0)
		return -1;
	if (boot_load(&vm->mem, &bc, &bi, err) < 0)
		return -1;
	if (cpuid_get_supported(vm->kvm_fd, &cpuid, err) < 0)
		return -1;
	vm->nvcpus = v->o.vcpus;
	for (int i = 0; i < vm->nvcpus; i++) {
		int fd;
		if (kvm_vcpu_create(vm, i, err) < 0)
			return -1;
		fd = vm->vcpus[i].fd;
		if (cpuid_setup_vcpu(fd, cpuid, i, vm->nvcpus, err) < 0 ||
		    msr_setup_vcpu(fd, err) < 0 || boot_setup_lapic(fd, err) < 0)
			return -1;
		/* APs wait for INIT/SIPI from the BSP in the in-kernel LAPIC. */
		if (i == 0 && boot_setup_vcpu(fd, &bi, err) < 0)
			return -1;
	}
	return 0;
}

static void *dev_thread(void *arg)
{
	struct vmm *v = arg;

	if (event_loop_run(v->vm.loop) < 0)
		vm_end(&v->vm, VM_END_ERROR, "device thread: epoll failed");
	return NULL;
}

static int start_threads(struct vmm *v, struct husk_err **err)
{
	struct vm *vm = &v->vm;
	sigset_t kick;
	int rc;

	rc = pthread_create(&v->dev_thread, NULL, dev_thread, v);
	if (rc) {
		errno = rc;
		return husk_err_sys(err, "pthread_create device thread");
	}
	v->dev_started = true;
	/* vCPU threads inherit the mask: let the kick in for them only. */
	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	for (int i = 0; i < vm->nvcpus; i++) {
		rc = pthread_create(&vm->vcpus[i].thread, NULL,
				    kvm_vcpu_thread, &vm->vcpus[i]);
		if (rc) {
			errno = rc;
			return husk_err_sys(err, "pthread_create vCPU %d", i);
		}
		vm->vcpus[i].started = true;
	}
	pthread_sigmask(SIG_BLOCK, &kick, NULL);
	return 0;
}

/* Wait for the guest to end the VM, or for a signal to husk-vmm. */
static void wait_end(struct vm *vm, const sigset_t *set)
{
	for (;;) {
		siginfo_t si;
		int sig;
		pthread_mutex_lock(&vm->end_lock);
		if (vm->end != VM_RUNNING) {
			pthread_mutex_unlock(&vm->end_lock);
			return;
		}
		pthread_mutex_unlock(&vm->end_lock);
		sig = sigwaitinfo(set, &si);
		if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
			vm_end(vm, VM_END_ERROR, "stopped by signal %d", sig);
	}
}

static void stop_all(struct vmm *v)
{
	struct vm *vm = &v->vm;

	kvm_vcpus_kick(vm);
	for (int i = 0; i < vm->nvcpus; i++)
		if (vm->vcpus[i].started)
			pthread_join(vm->vcpus[i].thread, NULL);
	if (v->dev_started) {
		event_loop_stop(vm->loop);
		pthread_join(v->dev_thread, NULL);
	}
	/* vsock's destroy removes its own socket file. */
	for (int i = 0; i < v->n_virtio; i++)
		virtio_dev_destroy(&v->virtio[i]);
	v->n_virtio = 0;
}

static int open_console(struct vmm *v, struct husk_err **err)
{
	const char *c = v->o.console;
	int null;

	v->console_fd = -1;
	if (c && strcmp(c, "-") == 0) {
		v->console_fd = STDOUT_FILENO;
		return 0;
	}
	if (c) {
		v->console_fd = open(c, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
				     0640);
		if (v->console_fd < 0)
			return husk_err_sys(err, "--console %s", c);
	}
	/* No console on stdio: stdin and stdout go to /dev/null (stderr
	 * stays for errors and the timing lines). */
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		return husk_err_sys(err, "open /dev/null");
	if (dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0) {
		close(null);
		return husk_err_sys(err, "dup2 /dev/null");
	}
	close(null);
	return 0;
}

static int run(struct vmm *v, struct husk_err **err)
{
	struct vm *vm = &v->vm;
	struct file_map kernel = {0}, initrd = {0};
	enum boot_kind kind;
	struct boot_config bc;
	sigset_t set;

	if (map_file("--kernel", v->o.kernel, &kernel, err) < 0)
		return -1;
	if (v->o.initrd && map_file("--initrd", v->o.initrd, &initrd, err) < 0)
		return -1;
	bc = (struct boot_config){.kernel_name = v->o.kernel,
				  .kernel = kernel.p,
				  .kernel_len = kernel.len,
				  .cmdline = v->o.cmdline};
	if (boot_check(&bc, &kind, err) < 0)
		return -1;
	if (v->o.vsock && check_vsock_path(v->o.vsock, err) < 0)
		return -1;
	if (open_console(v, err) < 0)
		return -1;

	/* Signals: the kick is for vCPU threads; the rest are taken by
	 * main's sigwaitinfo, so every thread starts with them blocked. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, VMM_END_SIGNAL);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigdelset(&set, VCPU_KICK_SIGNAL);
	vm->waiter = pthread_self();
	vm->has_waiter = true;
	if (kvm_kick_setup(err) < 0)
		return -1;

	if (event_loop_create(&vm->loop, err) < 0)
		return -1;
	if (setup_memory_and_boot(v, &kernel, &initrd, err) < 0)
		return -1;
	munmap(kernel.p, kernel.len);
	if (initrd.p)
		munmap(initrd.p, initrd.len);
	if (setup_devices(v, err) < 0)
		return -1;
	if (confine_apply(err) < 0)
		return -1;
	if (start_threads(v, err) < 0)
		return -1;
	if (v->o.test_forbidden)
		syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	wait_end(vm, &set);
	return 0;
}

int main(int argc, char **argv)
{
	static struct vmm v;
	struct vm *vm = &v.vm;
	_cleanup_err_ struct husk_err *err = NULL;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &vm->t0);
	/* Nothing inherited stays open (Firecracker's jailer does the same
	 * before exec): every fd from here on is one husk-vmm needs. */
	syscall(SYS_close_range, 3U, ~0U, 0U);
	vm->kvm_fd = vm->vm_fd = -1;
	vm->log_fd = -1;
	pthread_mutex_init(&vm->end_lock, NULL);
	pthread_cond_init(&vm->end_cond, NULL);

	if (parse_args(argc, argv, &v.o, &err) < 0) {
		fprintf(stderr, "husk-vmm: %s\n", err->msg);
		return 1;
	}
	if (v.o.verbose)
		vm->log_fd = STDERR_FILENO;
	rc = run(&v, &err);
	stop_all(&v);
	if (rc < 0) {
		fprintf(stderr, "husk-vmm: %s\n", err->msg);
		return 1;
	}
	vm_log(vm, "%s at %.1f ms", vm->end_msg, vm_elapsed_ms(vm));
	switch (vm->end) {
	case VM_END_RESET:
	case VM_END_POWEROFF:
		return 0;
	case VM_END_CRASH:
		fprintf(stderr, "husk-vmm: %s\n", vm->end_msg);
		return 2;
	default:
		fprintf(stderr, "husk-vmm: %s\n", vm->end_msg);
		return 1;
	}
}
