/* ACPI tables in fake guest memory: checksums, the XSDT's entries, the
 * MADT's processors, the FADT's hardware-reduced registers, and the DSDT's
 * AML for one virtio-mmio device byte for byte. */
#include <stdint.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "vmm/mem.h"
#include "vmm/x86/acpi.h"

#define MEM (2u << 20)

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static const struct acpi_mmio_dev devs[] = {
	{0xd0000000, 0x1000, 16},
	{0xd0001000, 0x1000, 17},
};

TEST(test_acpi_tables)
{
	static uint8_t host[MEM];
	struct guest_mem m;
	struct acpi_config c = {3, devs, 2};
	struct husk_err *err = NULL;
	uint64_t end = 0;
	const uint8_t *rsdp, *xsdt, *fadt, *madt, *dsdt, *e;
	int lapics = 0;

	gmem_init_fake(&m, host, 0, MEM);
	CHECK(acpi_build(&m, &c, &end, &err) == 0);
	CHECK(end > ACPI_RSDP_ADDR && end <= ACPI_AREA_END);
	rsdp = host + ACPI_RSDP_ADDR;
	CHECK(memcmp(rsdp, "RSD PTR ", 8) == 0);
	CHECK(rsdp[15] == 2);
	CHECK(sum(rsdp, 20) == 0);
	CHECK(sum(rsdp, 36) == 0);
	CHECK(rd64(rsdp + 24) < end);
	xsdt = host + rd64(rsdp + 24);
	CHECK(memcmp(xsdt, "XSDT", 4) == 0);
	CHECK(rd32(xsdt + 4) == 36 + 16);
	CHECK(sum(xsdt, rd32(xsdt + 4)) == 0);
	fadt = host + rd64(xsdt + 36);
	madt = host + rd64(xsdt + 44);
	CHECK(memcmp(fadt, "FACP", 4) == 0);
	CHECK(memcmp(madt, "APIC", 4) == 0);
	CHECK(sum(fadt, rd32(fadt + 4)) == 0);
	CHECK(sum(madt, rd32(madt + 4)) == 0);
	/* FADT: hardware-reduced, sleep control/status and reset in I/O */
	CHECK(rd32(fadt + 4) == 276 && fadt[8] == 6);
	CHECK(rd32(fadt + 112) & (1u << 20));
	CHECK(fadt[244] == 1 && rd64(fadt + 248) == ACPI_PM_PORT);
	CHECK(fadt[256] == 1 && rd64(fadt + 260) == ACPI_PM_PORT + 1);
	CHECK(fadt[116] == 1 && rd64(fadt + 120) == ACPI_PM_PORT + 2);
	CHECK(rd64(fadt + 140) == rd32(fadt + 40));
	dsdt = host + rd64(fadt + 140);
	CHECK(memcmp(dsdt, "DSDT", 4) == 0);
	CHECK(sum(dsdt, rd32(dsdt + 4)) == 0);
	CHECK(dsdt + rd32(dsdt + 4) <= host + end);
	/* MADT: one enabled local APIC per vCPU with id = index, 1 IOAPIC */
	CHECK(rd32(madt + 36) == ACPI_LAPIC_ADDR);
	for (e = madt + 44; e < madt + rd32(madt + 4); e += e[1]) {
		CHECK(e[1] >= 2);
		if (e[0] == 0) {
			CHECK(e[3] == lapics && (rd32(e + 4) & 1));
			lapics++;
		} else {
			CHECK(e[0] == 1 && rd32(e + 4) == ACPI_IOAPIC_ADDR &&
			      rd32(e + 8) == 0);
		}
	}
	CHECK(lapics == 3);
}

/* Scope (\_SB) { Device (VR00) { Name (_HID, "LNRO0005") Name (_UID, 0)
 *   Name (_CRS, ResourceTemplate () { Memory32Fixed (ReadWrite,
 *   0xd0000000, 0x1000) Interrupt (ResourceConsumer, Edge, ActiveHigh,
 *   Exclusive) {16} }) } }  Name (_S5, Package () {5, 5}) */
static const uint8_t want_aml[] = {
	0x10, 0x43, 0x04, '\\', '_', 'S', 'B', '_',
	0x5b, 0x82, 0x3a, 'V', 'R', '0', '0',
	0x08, '_', 'H', 'I', 'D', 0x0d, 'L', 'N', 'R', 'O', '0', '0', '0',
	'5', 0x00,
	0x08, '_', 'U', 'I', 'D', 0x00,
	0x08, '_', 'C', 'R', 'S', 0x11, 0x1a, 0x0a, 0x17,
	0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xd0, 0x00, 0x10, 0x00,
	0x00,
	0x89, 0x06, 0x00, 0x03, 0x01, 0x10, 0x00, 0x00, 0x00,
	0x79, 0x00,
	0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x0a, 0x05, 0x0a, 0x05,
};

TEST(test_acpi_dsdt_aml)
{
	uint8_t buf[512];
	struct acpi_config c = {1, devs, 1};
	long n = acpi_dsdt_build(buf, sizeof(buf), &c);

	CHECK(n == 36 + (long)sizeof(want_aml));
	CHECK(rd32(buf + 4) == (uint32_t)n);
	CHECK(memcmp(buf + 36, want_aml, sizeof(want_aml)) == 0);
	CHECK(sum(buf, (size_t)n) == 0);
	/* too small a buffer fails instead of overrunning */
	CHECK(acpi_dsdt_build(buf, 60, &c) == -1);
	CHECK(acpi_dsdt_build(buf, 10, &c) == -1);
}

TEST(test_acpi_dsdt_many)
{
	static struct acpi_mmio_dev many[8];
	uint8_t buf[4096];
	struct acpi_config c = {1, many, 8};
	long n;

	for (int i = 0; i < 8; i++)
		many[i] = (struct acpi_mmio_dev){0xd0000000 + i * 0x1000u,
						 0x1000, 16u + (unsigned)i};
	n = acpi_dsdt_build(buf, sizeof(buf), &c);
	CHECK(n > 0);
	/* the scope's 2-byte PkgLength covers everything up to \_S5_ (12
	 * bytes at the end) */
	CHECK(buf[36] == 0x10 && (buf[37] >> 6) == 1);
	CHECK(((size_t)(buf[37] & 0xf) | (size_t)buf[38] << 4) ==
	      (size_t)n - 36 - 1 - 12);
	CHECK(memmem(buf, (size_t)n, "VR07", 4) != NULL);
	CHECK(sum(buf, (size_t)n) == 0);
}

TEST(test_acpi_pm_write)
{
	CHECK(acpi_pm_write(ACPI_SLEEP_CONTROL_OFF, 0x20 | 5 << 2) ==
	      ACPI_PM_POWEROFF);
	CHECK(acpi_pm_write(ACPI_SLEEP_CONTROL_OFF, 5 << 2) == ACPI_PM_NONE);
	CHECK(acpi_pm_write(ACPI_SLEEP_CONTROL_OFF, 0x20 | 3 << 2) ==
	      ACPI_PM_NONE);
	CHECK(acpi_pm_write(ACPI_RESET_OFF, ACPI_RESET_VALUE) ==
	      ACPI_PM_RESET);
	CHECK(acpi_pm_write(ACPI_RESET_OFF, 0) == ACPI_PM_NONE);
	CHECK(acpi_pm_write(ACPI_SLEEP_STATUS_OFF, 0xff) == ACPI_PM_NONE);
}

int main(void)
{
	RUN(test_acpi_tables);
	RUN(test_acpi_dsdt_aml);
	RUN(test_acpi_dsdt_many);
	RUN(test_acpi_pm_write);
	UNIT_EXIT();
}
