/* ACPI tables built byte by byte (ACPI 6.4: 5.2 tables, 20.2 AML encoding,
 * 6.4 resource descriptors). No AML compiler: the DSDT is a handful of
 * Scope/Device/Name objects, encoded below. */
#include "vmm/x86/acpi.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define ACPI_AREA_SIZE (ACPI_AREA_END - ACPI_RSDP_ADDR)

#define HDR_LEN 36
#define FADT_LEN 276
#define FADT_REVISION 6
#define MADT_REVISION 5

/* FADT field offsets (ACPI 6.4 table 5.9). */
#define FADT_DSDT 40
#define FADT_IAPC_BOOT_ARCH 109
#define FADT_FLAGS 112
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_MINOR_VERSION 131
#define FADT_X_DSDT 140
#define FADT_SLEEP_CONTROL 244
#define FADT_SLEEP_STATUS 256
#define FADT_HYPERVISOR_ID 268

#define FADT_PWR_BUTTON (1u << 4)  /* no fixed power button */
#define FADT_SLP_BUTTON (1u << 5)  /* no fixed sleep button */
#define FADT_RESET_REG_SUP (1u << 10)
#define FADT_HW_REDUCED (1u << 20)
/* IAPC_BOOT_ARCH: no VGA, no ASPM control, no CMOS RTC; and no 8042 bit,
 * so Linux does not probe a keyboard (the reset port still works). */
#define BOOT_ARCH_NO_VGA (1u << 2)
#define BOOT_ARCH_NO_ASPM (1u << 4)
#define BOOT_ARCH_NO_CMOS_RTC (1u << 5)

#define MADT_PCAT_COMPAT 1u
#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define MADT_LAPIC_ENABLED 1u

#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1

/* AML opcodes (ACPI 6.4 20.3). */
#define AML_ZERO 0x00
#define AML_ONE 0x01
#define AML_NAME 0x08
#define AML_BYTE 0x0a
#define AML_WORD 0x0b
#define AML_DWORD 0x0c
#define AML_STRING 0x0d
#define AML_QWORD 0x0e
#define AML_SCOPE 0x10
#define AML_BUFFER 0x11
#define AML_PACKAGE 0x12
#define AML_EXT 0x5b
#define AML_DEVICE 0x82
#define AML_ROOT '\\'

/* Resource descriptors (6.4.3). */
#define RES_MEM32_FIXED 0x86
#define RES_EXT_IRQ 0x89
#define RES_END 0x79
#define RES_IRQ_CONSUMER 0x01
#define RES_IRQ_EDGE 0x02

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}
static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static void table_header(uint8_t *p, const char sig[4], uint32_t len,
			 uint8_t rev)
{
	memcpy(p, sig, 4);
	put32(p + 4, len);
	p[8] = rev;
	memcpy(p + 10, "HUSK  ", 6);
	memcpy(p + 16, "HUSKVMM ", 8);
	put32(p + 24, 1);
	memcpy(p + 28, "HUSK", 4);
	put32(p + 32, 1);
}

static void table_checksum(uint8_t *p, uint32_t len)
{
	p[9] = 0;
	p[9] = (uint8_t)-sum(p, len);
}

static void gas_io8(uint8_t *p, uint16_t port)
{
	p[0] = GAS_SYSTEM_IO;
	p[1] = 8;
	p[2] = 0;
	p[3] = GAS_ACCESS_BYTE;
	put64(p + 4, port);
}

/* ---- AML -------------------------------------------------------------- */

struct aml {
	uint8_t *p;
	size_t len, cap;
	bool overflow;
};

static void aml_bytes(struct aml *a, const void *b, size_t n)
{
	if (a->overflow || n > a->cap - a->len) {
		a->overflow = true;
		return;
	}
	memcpy(a->p + a->len, b, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void aml_int(struct aml *a, uint64_t v)
{
	uint8_t b[8];

	put64(b, v);
	if (v == 0 || v == 1) {
		aml_byte(a, v ? AML_ONE : AML_ZERO);
	} else if (v <= 0xff) {
		aml_byte(a, AML_BYTE);
		aml_bytes(a, b, 1);
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORD);
		aml_bytes(a, b, 2);
	} else if (v <= 0xffffffffULL) {
		aml_byte(a, AML_DWORD);
		aml_bytes(a, b, 4);
	} else {
		aml_byte(a, AML_QWORD);
		aml_bytes(a, b, 8);
	}
}

/* A PkgLength is written before its body is known: reserve the longest
 * encoding (4 bytes), then shrink it when the package is closed. */
static size_t aml_pkg_open(struct aml *a)
{
	size_t at = a->len;

	aml_bytes(a, "\0\0\0\0", 4);
	return at;
}

static void aml_pkg_close(struct aml *a, size_t at)
{
	size_t body, total, k;

	if (a->overflow)
		return;
	body = a->len - at - 4;
	k = body + 1 <= 0x3f ? 1 : body + 2 <= 0xfff ? 2
		: body + 3 <= 0xfffff ? 3 : 4;
	total = body + k;
	memmove(a->p + at + k, a->p + at + 4, body);
	if (k == 1) {
		a->p[at] = (uint8_t)total;
	} else {
		a->p[at] = (uint8_t)((k - 1) << 6 | (total & 0xf));
		for (size_t i = 1; i < k; i++)
			a->p[at + i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	a->len -= 4 - k;
}

static void aml_name(struct aml *a, const char seg[4])
{
	aml_byte(a, AML_NAME);
	aml_bytes(a, seg, 4);
}

static void aml_device(struct aml *a, const struct acpi_mmio_dev *d, int i)
{
	static const char hex[] = "0123456789ABCDEF";
	char seg[4] = {'V', 'R', hex[(i >> 4) & 0xf], hex[i & 0xf]};
	uint8_t res[12 + 9 + 2];
	size_t dev, buf;

	/* Memory32Fixed(ReadWrite, base, size) */
	res[0] = RES_MEM32_FIXED;
	put16(res + 1, 9);
	res[3] = 1; /* read-write */
	put32(res + 4, (uint32_t)d->base);
	put32(res + 8, d->size);
	/* Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive) {gsi}:
	 * edge because the transport signals through an irqfd. */
	res[12] = RES_EXT_IRQ;
	put16(res + 13, 6);
	res[15] = RES_IRQ_CONSUMER | RES_IRQ_EDGE;
	res[16] = 1;
	put32(res + 17, d->gsi);
	res[21] = RES_END;
	res[22] = 0; /* checksum 0: "treat as summed" */

	aml_byte(a, AML_EXT);
	aml_byte(a, AML_DEVICE);
	dev = aml_pkg_open(a);
	aml_bytes(a, seg, 4);
	aml_name(a, "_HID");
	aml_byte(a, AML_STRING);
	aml_bytes(a, "LNRO0005", 9);
	aml_name(a, "_UID");
	aml_int(a, (uint64_t)i);
	aml_name(a, "_CRS");
	aml_byte(a, AML_BUFFER);
	buf = aml_pkg_open(a);
	aml_int(a, sizeof(res));
	aml_bytes(a, res, sizeof(res));
	aml_pkg_close(a, buf);
	aml_pkg_close(a, dev);
}

long acpi_dsdt_build(uint8_t *out, size_t cap, const struct acpi_config *c)
{
	struct aml a = {.p = out, .cap = cap};
	size_t scope, pkg;

	if (cap < HDR_LEN)
		return -1;
	a.len = HDR_LEN;
	aml_byte(&a, AML_SCOPE);
	scope = aml_pkg_open(&a);
	aml_bytes(&a, "\\_SB_", 5);
	for (int i = 0; i < c->ndevs; i++)
		aml_device(&a, &c->devs[i], i);
	aml_pkg_close(&a, scope);
	/* Name(\_S5_, Package() {SLP_TYPa, SLP_TYPb}): what Linux writes to
	 * the sleep control register to power off. */
	aml_name(&a, "_S5_");
	aml_byte(&a, AML_PACKAGE);
	pkg = aml_pkg_open(&a);
	aml_byte(&a, 2);
	aml_int(&a, ACPI_S5_SLP_TYP);
	aml_int(&a, ACPI_S5_SLP_TYP);
	aml_pkg_close(&a, pkg);
	if (a.overflow)
		return -1;
	table_header(out, "DSDT", (uint32_t)a.len, 2);
	table_checksum(out, (uint32_t)a.len);
	return (long)a.len;
}

/* ---- the other tables ------------------------------------------------- */

static uint32_t fadt_build(uint8_t *p, uint64_t dsdt)
{
	memset(p, 0, FADT_LEN);
	table_header(p, "FACP", FADT_LEN, FADT_REVISION);
	put32(p + FADT_DSDT, (uint32_t)dsdt);
	put16(p + FADT_IAPC_BOOT_ARCH,
	      BOOT_ARCH_NO_VGA | BOOT_ARCH_NO_ASPM | BOOT_ARCH_NO_CMOS_RTC);
	put32(p + FADT_FLAGS, FADT_HW_REDUCED | FADT_RESET_REG_SUP |
				      FADT_PWR_BUTTON | FADT_SLP_BUTTON);
	gas_io8(p + FADT_RESET_REG, ACPI_PM_PORT + ACPI_RESET_OFF);
	p[FADT_RESET_VALUE] = ACPI_RESET_VALUE;
	p[FADT_MINOR_VERSION] = 0;
	put64(p + FADT_X_DSDT, dsdt);
	gas_io8(p + FADT_SLEEP_CONTROL, ACPI_PM_PORT + ACPI_SLEEP_CONTROL_OFF);
	gas_io8(p + FADT_SLEEP_STATUS, ACPI_PM_PORT + ACPI_SLEEP_STATUS_OFF);
	memcpy(p + FADT_HYPERVISOR_ID, "HUSKVMM", 8);
	table_checksum(p, FADT_LEN);
	return FADT_LEN;
}

static uint32_t madt_build(uint8_t *p, int nvcpus)
{
	uint32_t len = HDR_LEN + 8 + 8 * (uint32_t)nvcpus + 12;
	uint8_t *e = p + HDR_LEN + 8;

	memset(p, 0, len);
	table_header(p, "APIC", len, MADT_REVISION);
	put32(p + HDR_LEN, ACPI_LAPIC_ADDR);
	put32(p + HDR_LEN + 4, MADT_PCAT_COMPAT);
	for (int i = 0; i < nvcpus; i++, e += 8) {
		e[0] = MADT_LAPIC;
		e[1] = 8;
		e[2] = (uint8_t)i; /* ACPI processor UID */
		e[3] = (uint8_t)i; /* APIC id, as CPUID says */
		put32(e + 4, MADT_LAPIC_ENABLED);
	}
	/* One IOAPIC with GSIs from 0; no interrupt source overrides: KVM
	 * wires ISA IRQ n to pin n, and ISA defaults are edge/high. */
	e[0] = MADT_IOAPIC;
	e[1] = 12;
	e[2] = 0; /* IOAPIC id (after no LAPIC id clash: ids are per type) */
	put32(e + 4, ACPI_IOAPIC_ADDR);
	put32(e + 8, 0);
	table_checksum(p, len);
	return len;
}

static uint32_t xsdt_build(uint8_t *p, uint64_t fadt, uint64_t madt)
{
	uint32_t len = HDR_LEN + 16;

	memset(p, 0, len);
	table_header(p, "XSDT", len, 1);
	put64(p + HDR_LEN, fadt);
	put64(p + HDR_LEN + 8, madt);
	table_checksum(p, len);
	return len;
}

static void rsdp_build(uint8_t *p, uint64_t xsdt)
{
	memset(p, 0, 36);
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, "HUSK  ", 6);
	p[15] = 2; /* ACPI 2.0+: XSDT */
	put32(p + 20, 36);
	put64(p + 24, xsdt);
	p[8] = (uint8_t)-sum(p, 20);
	p[32] = (uint8_t)-sum(p, 36);
}

static size_t align16(size_t v)
{
	return (v + 15) & ~(size_t)15;
}

int acpi_build(struct guest_mem *m, const struct acpi_config *c,
	       uint64_t *end, struct husk_err **err)
{
	uint8_t *area = gmem_ptr(m, ACPI_RSDP_ADDR, ACPI_AREA_SIZE);
	size_t xsdt = 0x40, fadt, madt, dsdt, off;
	long dlen;

	if (!area)
		return husk_err_set(err, ENOMEM,
				    "ACPI tables: 0x%llx is not guest RAM",
				    ACPI_RSDP_ADDR);
	if (c->nvcpus < 1 || c->nvcpus > 255)
		return husk_err_set(err, EINVAL, "ACPI MADT: %d vCPUs",
				    c->nvcpus);
	memset(area, 0, ACPI_AREA_SIZE);
	fadt = align16(xsdt + HDR_LEN + 16);
	madt = align16(fadt + FADT_LEN);
	dsdt = align16(madt + HDR_LEN + 8 + 8 * (size_t)c->nvcpus + 12);
	dlen = acpi_dsdt_build(area + dsdt, ACPI_AREA_SIZE - dsdt, c);
	if (dlen < 0)
		return husk_err_set(err, E2BIG, "ACPI DSDT: too many devices");
	off = dsdt + (size_t)dlen;
	fadt_build(area + fadt, ACPI_RSDP_ADDR + dsdt);
	madt_build(area + madt, c->nvcpus);
	xsdt_build(area + xsdt, ACPI_RSDP_ADDR + fadt, ACPI_RSDP_ADDR + madt);
	rsdp_build(area, ACPI_RSDP_ADDR + xsdt);
	*end = ACPI_RSDP_ADDR + align16(off);
	return 0;
}

enum acpi_pm_action acpi_pm_write(uint16_t off, uint8_t v)
{
	if (off == ACPI_SLEEP_CONTROL_OFF && (v & ACPI_SLP_EN) &&
	    ((v & ACPI_SLP_TYP_MASK) >> ACPI_SLP_TYP_SHIFT) == ACPI_S5_SLP_TYP)
		return ACPI_PM_POWEROFF;
	if (off == ACPI_RESET_OFF && v == ACPI_RESET_VALUE)
		return ACPI_PM_RESET;
	return ACPI_PM_NONE;
}
