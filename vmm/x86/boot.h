/* Loading a Linux kernel into guest memory: bzImage through the 64-bit boot
 * protocol (Documentation/arch/x86/boot.rst), or an ELF vmlinux through the
 * PVH entry (xen/include/public/arch-x86/hvm/start_info.h); and the vCPU
 * state each entry expects. */
#ifndef HUSK_VMM_X86_BOOT_H
#define HUSK_VMM_X86_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "vmm/mem.h"

/* Guest-physical layout of what the loader writes below 1 MiB. */
#define BOOT_GDT_ADDR 0x500ULL
#define BOOT_IDT_ADDR 0x540ULL
#define BOOT_PVH_INFO_ADDR 0x6000ULL /* hvm_start_info, modlist, memmap */
#define BOOT_ZERO_PAGE_ADDR 0x7000ULL
#define BOOT_STACK_TOP 0x8ff0ULL
#define BOOT_PML4_ADDR 0x9000ULL
#define BOOT_PDPT_ADDR 0xa000ULL
#define BOOT_PD_ADDR 0xb000ULL /* 4 pages: 4 GiB of 2 MiB pages */
#define BOOT_CMDLINE_ADDR 0x20000ULL
#define BOOT_CMDLINE_MAX 0x10000ULL
#define BOOT_EBDA_START 0x9fc00ULL
#define BOOT_HIMEM_START 0x100000ULL
/* The kernel's own LOAD_PHYSICAL_ADDR: a relocatable bzImage decompresses
 * to at least here whatever address it was loaded at. */
#define BOOT_KERNEL_MIN_RUN 0x1000000ULL

#define E820_RAM 1
#define E820_RESERVED 2
#define BOOT_E820_MAX 128

struct boot_e820 {
	uint64_t addr, size;
	uint32_t type;
};

enum boot_kind {
	BOOT_BZIMAGE = 1,
	BOOT_PVH,
};

struct boot_config {
	const char *kernel_name; /* for messages */
	const uint8_t *kernel;
	size_t kernel_len;
	const uint8_t *initrd; /* may be NULL */
	size_t initrd_len;
	const char *cmdline;
	uint64_t rsdp; /* guest address of the ACPI RSDP, 0: none */
	/* [reserved_start, reserved_end) is e820-reserved (ACPI tables) */
	uint64_t reserved_start, reserved_end;
};

struct boot_info {
	enum boot_kind kind;
	uint64_t entry;	 /* 64-bit RIP (bzImage) or 32-bit EIP (PVH) */
	uint64_t params; /* zero page (RSI) or hvm_start_info (EBX) */
	uint64_t kernel_start, kernel_end;
	uint64_t initrd_addr, initrd_size;
	uint32_t cmdline_max; /* what the kernel accepts, NUL excluded */
};

/* The memory map the guest is told about. Returns the number of entries. */
int boot_e820_build(const struct guest_mem *m, uint64_t reserved_start,
		    uint64_t reserved_end, struct boot_e820 *out, int max);

/* Check the image's format and the command line's length without touching
 * guest memory (so argument errors come before KVM is opened). */
int boot_check(const struct boot_config *cfg, enum boot_kind *kind,
	       struct husk_err **err);

/* Load kernel, initrd, command line, boot parameters and page tables. */
int boot_load(struct guest_mem *m, const struct boot_config *cfg,
	      struct boot_info *out, struct husk_err **err);

/* Registers for the boot vCPU (sregs, regs, FPU) for the entry in bi. */
int boot_setup_vcpu(int vcpu_fd, const struct boot_info *bi,
		    struct husk_err **err);

/* Route LINT0 to ExtINT and LINT1 to NMI, as firmware leaves a local APIC. */
int boot_setup_lapic(int vcpu_fd, struct husk_err **err);

#endif
