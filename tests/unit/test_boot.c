/* Boot protocol setup against fake guest memory: the real bzImage from
 * /boot (skipped when absent), synthetic bzImage/ELF images for every
 * rejection, the e820 map, and the CPUID topology shaping. No KVM. */
#include <elf.h>
#include <fcntl.h>
#include <glob.h>
#include <stdint.h>

#include "common/util.h"
#include "tests/unit/unit.h"
#include "vmm/mem.h"
#include "vmm/x86/boot.h"
#include "vmm/x86/cpu.h"

#define MEM_SIZE (256ULL << 20)

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}
static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* A minimal bzImage: 4 setup sectors plus header, then 4 KiB of "kernel". */
static uint8_t *fake_bzimage(size_t *len, uint16_t version, uint16_t xlf)
{
	size_t n = 5 * 512 + 4096;
	uint8_t *b = calloc(1, n);

	b[0x1f1] = 4;
	b[0x1fe] = 0x55;
	b[0x1ff] = 0xaa;
	b[0x200] = 0xeb;
	b[0x201] = 0x66; /* header ends at 0x268 */
	memcpy(b + 0x202, "HdrS", 4);
	b[0x206] = (uint8_t)version;
	b[0x207] = (uint8_t)(version >> 8);
	b[0x211] = 0x01;
	b[0x22c] = 0xff; /* initrd_addr_max 0x7fffffff */
	b[0x22d] = 0xff;
	b[0x22e] = 0xff;
	b[0x22f] = 0x7f;
	b[0x234] = 1;
	b[0x236] = (uint8_t)xlf;
	b[0x238] = 64; /* cmdline_size */
	b[0x25b] = 0x01; /* pref_address 0x1000000 */
	b[0x262] = 0x10; /* init_size 0x100000 */
	memset(b + 5 * 512, 0xcc, 4096);
	*len = n;
	return b;
}

struct fake {
	struct guest_mem m;
	uint8_t *host;
};

static void fake_mem(struct fake *f, uint64_t size)
{
	f->host = calloc(1, size);
	gmem_init_fake(&f->m, f->host, 0, size);
}

static int load(struct fake *f, const uint8_t *img, size_t len,
		const char *cmdline, struct boot_info *bi, char **msg)
{
	static const uint8_t initrd[8192] = {1, 2, 3};
	struct boot_config c = {.kernel_name = "K", .kernel = img,
				.kernel_len = len, .initrd = initrd,
				.initrd_len = sizeof(initrd),
				.cmdline = cmdline, .rsdp = 0xe0000,
				.reserved_start = 0xe0000,
				.reserved_end = 0xe1000};
	struct husk_err *err = NULL;
	int rc = boot_load(&f->m, &c, bi, &err);

	*msg = NULL;
	if (rc < 0) {
		*msg = husk_strdup(err->msg);
		husk_err_free(&err);
	}
	return rc;
}

TEST(test_boot_real_bzimage)
{
	glob_t g;
	char *img = NULL, *msg = NULL;
	size_t len = 0;
	struct fake f;
	struct boot_info bi;
	struct husk_err *err = NULL;
	uint8_t *zp, *e;

	CHECK(glob("/boot/vmlinuz-*", 0, NULL, &g) == 0);
	CHECK(husk_read_file_at(AT_FDCWD, g.gl_pathv[0], 256 << 20, &img,
				&len, &err) == 0);
	globfree(&g);
	fake_mem(&f, MEM_SIZE);
	CHECK(load(&f, (uint8_t *)img, len, "console=ttyS0 quiet", &bi,
		   &msg) == 0);
	CHECK(bi.kind == BOOT_BZIMAGE);
	zp = f.host + BOOT_ZERO_PAGE_ADDR;
	/* setup header copied, then the loader's fields */
	CHECK(memcmp(zp + 0x202, "HdrS", 4) == 0);
	CHECK(zp[0x1f1] == (uint8_t)img[0x1f1]);
	CHECK(rd16(zp + 0x206) == rd16((uint8_t *)img + 0x206));
	CHECK(rd32(zp + 0x260) == rd32((uint8_t *)img + 0x260));
	CHECK(zp[0x210] == 0xff);
	CHECK((zp[0x211] & 0x81) == 0x81);
	CHECK(rd32(zp + 0x228) == BOOT_CMDLINE_ADDR);
	CHECK_STR((char *)f.host + BOOT_CMDLINE_ADDR, "console=ttyS0 quiet");
	CHECK(rd64(zp + 0x070) == 0xe0000);
	/* initrd: high, page aligned, above the kernel, contents intact */
	CHECK(rd32(zp + 0x218) == bi.initrd_addr);
	CHECK(rd32(zp + 0x21c) == 8192);
	CHECK(bi.initrd_addr % 4096 == 0);
	CHECK(bi.initrd_addr + 8192 <= MEM_SIZE);
	CHECK(bi.initrd_addr + 8192 > MEM_SIZE - 4096);
	CHECK(bi.initrd_addr >= bi.kernel_end);
	CHECK(f.host[bi.initrd_addr] == 1 && f.host[bi.initrd_addr + 2] == 3);
	/* protected-mode kernel at pref_address, entry 0x200 in */
	CHECK(bi.kernel_start == rd64((uint8_t *)img + 0x258));
	CHECK(bi.entry == bi.kernel_start + 0x200);
	CHECK(memcmp(f.host + bi.kernel_start,
		     img + ((size_t)(uint8_t)img[0x1f1] + 1) * 512, 4096) == 0);
	/* e820 */
	CHECK(zp[0x1e8] == 4);
	e = zp + 0x2d0;
	CHECK(rd64(e) == 0 && rd64(e + 8) == 0x9fc00 && rd32(e + 16) == 1);
	e += 20;
	CHECK(rd64(e) == 0x9fc00 && rd32(e + 16) == 2);
	e += 20;
	CHECK(rd64(e) == 0xe0000 && rd64(e + 8) == 0x1000 && rd32(e + 16) == 2);
	e += 20;
	CHECK(rd64(e) == 0x100000 && rd64(e + 8) == MEM_SIZE - 0x100000 &&
	      rd32(e + 16) == 1);
	/* identity map: first PD entry maps 0 as a 2 MiB page */
	CHECK(rd64(f.host + BOOT_PML4_ADDR) == (BOOT_PDPT_ADDR | 3));
	CHECK(rd64(f.host + BOOT_PD_ADDR + 8) == ((1ULL << 21) | 0x83));
	free(img);
	free(f.host);
}

TEST(test_boot_memory_too_small)
{
	glob_t g;
	char *img = NULL, *msg = NULL;
	size_t len = 0;
	struct fake f;
	struct boot_info bi;
	struct husk_err *err = NULL;

	CHECK(glob("/boot/vmlinuz-*", 0, NULL, &g) == 0);
	CHECK(husk_read_file_at(AT_FDCWD, g.gl_pathv[0], 256 << 20, &img,
				&len, &err) == 0);
	globfree(&g);
	fake_mem(&f, 32 << 20);
	CHECK(load(&f, (uint8_t *)img, len, "", &bi, &msg) < 0);
	CHECK(msg && strstr(msg, "guest memory (32 MiB) is too small for K"));
	free(msg);
	free(img);
	free(f.host);
}

static void reject_case(const char *name, const uint8_t *img, size_t len,
			const char *cmdline, const char *want)
{
	struct fake f;
	struct boot_info bi;
	char *msg = NULL, why[512];
	int rc;

	fake_mem(&f, 64 << 20);
	rc = load(&f, img, len, cmdline, &bi, &msg);
	snprintf(why, sizeof(why), "rc %d, got \"%s\", want \"%s\"", rc,
		 msg ? msg : "(none)", want);
	unit_report(name, rc < 0 && msg && strcmp(msg, want) == 0, why);
	free(msg);
	free(f.host);
}

static void test_boot_rejects(void)
{
	size_t len;
	uint8_t *b = fake_bzimage(&len, 0x20f, 1);
	char text[1024], longcmd[100];

	memset(text, 'x', sizeof(text));
	reject_case("test_boot_reject_text", (uint8_t *)text, sizeof(text), "",
		    "K: not a bzImage (no \"HdrS\" setup header) nor an ELF "
		    "vmlinux");
	reject_case("test_boot_reject_tiny", (uint8_t *)"MZ", 2, "",
		    "K: not a bzImage (no \"HdrS\" setup header) nor an ELF "
		    "vmlinux");
	reject_case("test_boot_reject_truncated_header", b, 0x240, "",
		    "K: truncated bzImage (576 bytes)");
	reject_case("test_boot_reject_truncated", b, 5 * 512, "",
		    "K: truncated bzImage: 2560 bytes, setup alone is 2560");
	memset(longcmd, 'a', sizeof(longcmd) - 1);
	longcmd[sizeof(longcmd) - 1] = 0;
	reject_case("test_boot_reject_cmdline", b, len, longcmd,
		    "kernel command line is 99 bytes, K accepts at most 64");
	b[0x236] = 0;
	reject_case("test_boot_reject_32bit", b, len, "",
		    "K: bzImage has no 64-bit entry point (boot protocol "
		    "2.15)");
	b[0x206] = 0x05;
	b[0x207] = 0x02;
	reject_case("test_boot_reject_old", b, len, "",
		    "K: boot protocol 2.05 is too old (need 2.06)");
	free(b);
}

TEST(test_boot_fake_bzimage)
{
	size_t len;
	uint8_t *b = fake_bzimage(&len, 0x20f, 1);
	struct fake f;
	struct boot_info bi;
	char *msg = NULL;

	fake_mem(&f, 64 << 20);
	CHECK(load(&f, b, len, "x=1", &bi, &msg) == 0);
	CHECK(bi.entry == 0x1000200);
	CHECK(f.host[0x1000000] == 0xcc);
	CHECK(bi.kernel_end == 0x1100000);
	CHECK(bi.cmdline_max == 64);
	free(b);
	free(f.host);
}

/* An ELF vmlinux: one PT_LOAD at 16 MiB, a PT_NOTE with the PVH entry. */
static uint8_t *fake_elf(size_t *len, bool with_note)
{
	size_t n = 0x2000;
	uint8_t *b = calloc(1, n);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)b;
	Elf64_Phdr *ph = (Elf64_Phdr *)(b + sizeof(*eh));
	uint8_t *note = b + 0x200;

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_machine = EM_X86_64;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;
	ph[0] = (Elf64_Phdr){.p_type = PT_LOAD, .p_offset = 0x1000,
			     .p_paddr = 0x1000000, .p_filesz = 0x1000,
			     .p_memsz = 0x3000};
	ph[1] = (Elf64_Phdr){.p_type = PT_NOTE, .p_offset = 0x200,
			     .p_filesz = 20};
	note[0] = 4;  /* namesz */
	note[4] = 4;  /* descsz */
	note[8] = with_note ? 18 : 17;
	memcpy(note + 12, "Xen", 4);
	note[16] = 0x40; /* entry 0x1000040 */
	note[18] = 0x00;
	note[19] = 0x01;
	memset(b + 0x1000, 0x90, 0x1000);
	*len = n;
	return b;
}

TEST(test_boot_pvh)
{
	size_t len;
	uint8_t *b = fake_elf(&len, true), *si;
	struct fake f;
	struct boot_info bi;
	char *msg = NULL;

	fake_mem(&f, 64 << 20);
	memset(f.host + 0x1001000, 0xee, 0x2000); /* must be zeroed (bss) */
	CHECK(load(&f, b, len, "console=ttyS0", &bi, &msg) == 0);
	CHECK(bi.kind == BOOT_PVH);
	CHECK(bi.entry == 0x1000040);
	CHECK(f.host[0x1000000] == 0x90 && f.host[0x1001000] == 0);
	si = f.host + BOOT_PVH_INFO_ADDR;
	CHECK(rd32(si) == 0x336ec578);
	CHECK(rd32(si + 4) == 1);
	CHECK(rd32(si + 12) == 1); /* the initrd as module 0 */
	CHECK(rd64(si + 24) == BOOT_CMDLINE_ADDR);
	CHECK(rd64(si + 32) == 0xe0000);
	CHECK(rd32(si + 48) == 4); /* memmap entries */
	CHECK(rd64(f.host + rd64(si + 16)) == bi.initrd_addr);
	CHECK(rd64(f.host + rd64(si + 40) + 3 * 24) == 0x100000);
	free(b);
	free(f.host);
	b = fake_elf(&len, false);
	reject_case("test_boot_pvh_no_note", b, len, "",
		    "K: ELF vmlinux has no PVH entry note "
		    "(XEN_ELFNOTE_PHYS32_ENTRY)");
	/* a program header table pointing past the end of the file */
	((Elf64_Ehdr *)b)->e_phoff = len - 8;
	reject_case("test_boot_pvh_bad_phdr", b, len, "",
		    "K: ELF program headers out of the file");
	free(b);
}

TEST(test_boot_e820_high)
{
	struct guest_mem m = {.n_regions = 2, .size = 5ULL << 30};
	struct boot_e820 e[8];
	int n;

	m.regions[0] = (struct gmem_region){0, GMEM_LOW_END, 0};
	m.regions[1] = (struct gmem_region){GMEM_HIGH_START, 2ULL << 30,
					    GMEM_LOW_END};
	n = boot_e820_build(&m, 0, 0, e, 8);
	CHECK(n == 4);
	CHECK(e[0].addr == 0 && e[0].size == 0x9fc00 && e[0].type == 1);
	CHECK(e[1].addr == 0x9fc00 && e[1].type == 2);
	CHECK(e[2].addr == 0x100000 && e[2].size == GMEM_LOW_END - 0x100000);
	CHECK(e[3].addr == GMEM_HIGH_START && e[3].size == 2ULL << 30);
	/* a too-small output array is never overrun */
	CHECK(boot_e820_build(&m, 0, 0, e, 2) == 2);
}

TEST(test_cpuid_topology)
{
	struct kvm_cpuid2 *t = calloc(1, sizeof(*t) + 16 * sizeof(t->entries[0]));
	struct kvm_cpuid_entry2 *e = t->entries;

	t->nent = 4;
	e[0] = (struct kvm_cpuid_entry2){.function = 0, .eax = 0xd,
					 .ebx = 0x68747541};
	e[1] = (struct kvm_cpuid_entry2){.function = 1, .ebx = 0xff0800,
					 .edx = 1u << 28};
	e[2] = (struct kvm_cpuid_entry2){.function = 0xb, .index = 0,
					 .flags = 1, .edx = 99};
	e[3] = (struct kvm_cpuid_entry2){.function = 0x8000001e,
					 .eax = 7, .ebx = 0x100};
	cpuid_shape(t, 16, 2, 4);
	CHECK(t->entries[1].ebx >> 24 == 2);
	CHECK(((t->entries[1].ebx >> 16) & 0xff) == 4);
	CHECK(t->entries[1].ecx & (1u << 31));
	CHECK(t->entries[1].edx & (1u << 28));
	/* the old 0xb leaf is replaced by two levels with our APIC id */
	CHECK(t->nent == 5);
	CHECK(t->entries[3].function == 0xb && t->entries[3].edx == 2 &&
	      t->entries[3].ebx == 1);
	CHECK(t->entries[4].function == 0xb && t->entries[4].index == 1 &&
	      t->entries[4].ebx == 4 && t->entries[4].eax == 2);
	CHECK(t->entries[2].function == 0x8000001e &&
	      t->entries[2].eax == 2 && t->entries[2].ebx == 2);
	/* one vCPU: no HTT */
	cpuid_shape(t, 16, 0, 1);
	CHECK(!(t->entries[1].edx & (1u << 28)));
	free(t);
}

int main(void)
{
	glob_t g;

	if (glob("/boot/vmlinuz-*", 0, NULL, &g) == 0) {
		globfree(&g);
		RUN(test_boot_real_bzimage);
		RUN(test_boot_memory_too_small);
	} else {
		printf("SKIP test_boot_real_bzimage: skipped: no "
		       "/boot/vmlinuz-*\n");
	}
	RUN(test_boot_fake_bzimage);
	test_boot_rejects();
	RUN(test_boot_pvh);
	RUN(test_boot_e820_high);
	RUN(test_cpuid_topology);
	UNIT_EXIT();
}
