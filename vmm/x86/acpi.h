/* Minimal ACPI for a microVM (ACPI 6.x): RSDP -> XSDT -> {FADT, MADT};
 * FADT -> DSDT. Hardware-reduced (no SCI, no PM blocks), with a sleep
 * control register and \_S5 for poweroff and a reset register; the MADT
 * describes the local APICs and the IOAPIC; the DSDT one "LNRO0005"
 * virtio-mmio device per window. */
#ifndef HUSK_VMM_X86_ACPI_H
#define HUSK_VMM_X86_ACPI_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "vmm/mem.h"

/* The RSDP sits where Linux scans for it (0xe0000..0xfffff) even when the
 * zero page's acpi_rsdp_addr is not read; the tables follow it. */
#define ACPI_RSDP_ADDR 0xe0000ULL
#define ACPI_AREA_END 0x100000ULL

#define ACPI_IOAPIC_ADDR 0xfec00000U
#define ACPI_LAPIC_ADDR 0xfee00000U

/* Port I/O registers named by the FADT. */
#define ACPI_PM_PORT 0x3c0
#define ACPI_PM_PORTS 3
#define ACPI_SLEEP_CONTROL_OFF 0
#define ACPI_SLEEP_STATUS_OFF 1
#define ACPI_RESET_OFF 2
#define ACPI_RESET_VALUE 0x1
#define ACPI_S5_SLP_TYP 5
/* hardware-reduced sleep control: SLP_TYP in bits 4:2, SLP_EN bit 5 */
#define ACPI_SLP_TYP_SHIFT 2
#define ACPI_SLP_TYP_MASK 0x1c
#define ACPI_SLP_EN 0x20

struct acpi_mmio_dev {
	uint64_t base;
	uint32_t size;
	uint32_t gsi;
};

struct acpi_config {
	int nvcpus;
	const struct acpi_mmio_dev *devs;
	int ndevs;
};

/* Encode the DSDT (header and AML) into buf; returns its length, or -1
 * if cap is too small. */
long acpi_dsdt_build(uint8_t *buf, size_t cap, const struct acpi_config *c);

/* Write all tables at ACPI_RSDP_ADDR; *end receives the first byte after
 * them (for the e820 reservation). */
int acpi_build(struct guest_mem *m, const struct acpi_config *c,
	       uint64_t *end, struct husk_err **err);

/* The FADT's registers: what a write means. */
enum acpi_pm_action {
	ACPI_PM_NONE = 0,
	ACPI_PM_POWEROFF,
	ACPI_PM_RESET,
};
enum acpi_pm_action acpi_pm_write(uint16_t off, uint8_t value);

#endif
