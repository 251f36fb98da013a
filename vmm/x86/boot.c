/* The Linux x86 boot protocols: bzImage 64-bit entry with a zero page
 * (Documentation/arch/x86/boot.rst, zero-page.rst) and PVH entry for an ELF
 * vmlinux carrying XEN_ELFNOTE_PHYS32_ENTRY. */
#include "vmm/x86/boot.h"

#include <elf.h>
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

/* Setup header offsets (boot.rst "THE REAL-MODE KERNEL HEADER"). */
#define HDR_SETUP_SECTS 0x1f1
#define HDR_VID_MODE 0x1fa
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_RELOCATABLE 0x234
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
#define HDR_MIN_LEN 0x268 /* through init_size and handover_offset */

/* Zero page offsets outside the setup header (zero-page.rst). */
#define ZP_ACPI_RSDP_ADDR 0x070
#define ZP_EXT_RAMDISK_IMAGE 0x0c0
#define ZP_EXT_RAMDISK_SIZE 0x0c4
#define ZP_EXT_CMD_LINE_PTR 0x0c8
#define ZP_E820_ENTRIES 0x1e8
#define ZP_E820_TABLE 0x2d0
#define ZP_SIZE 0x1000

#define LOADFLAG_LOADED_HIGH 0x01
#define LOADFLAG_CAN_USE_HEAP 0x80
#define XLF_KERNEL_64 0x01

/* hvm_start_info (start_info.h). */
#define PVH_MAGIC 0x336ec578
#define PVH_MODLIST_OFF 0x40
#define PVH_MEMMAP_OFF 0x80
#define XEN_ELFNOTE_PHYS32_ENTRY 18
/* x86 COMMAND_LINE_SIZE: what a PVH kernel keeps, NUL included. */
#define PVH_CMDLINE_SIZE 2048

/* Flat descriptors: 64-bit code, 32-bit code, data, busy TSS. */
#define GDT_CODE64 0x00af9b000000ffffULL
#define GDT_CODE32 0x00cf9b000000ffffULL
#define GDT_DATA 0x00cf93000000ffffULL
#define GDT_TSS 0x008f8b000000ffffULL
#define SEL_CODE 0x10
#define SEL_DATA 0x18
#define SEL_TSS 0x20

#define CR0_PE 0x1ULL
#define CR0_ET 0x10ULL
#define CR0_PG 0x80000000ULL
#define CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}
static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}
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

int boot_e820_build(const struct guest_mem *m, uint64_t reserved_start,
		    uint64_t reserved_end, struct boot_e820 *out, int max)
{
	int n = 0;

#define E820_ADD(a, s, t)                                                      \
	do {                                                                   \
		if (n < max && (s) > 0)                                        \
			out[n++] = (struct boot_e820){(a), (s), (t)};          \
	} while (0)
	/* Regions are in address order; the legacy hole splits the first. */
	for (int i = 0; i < m->n_regions; i++) {
		uint64_t a = m->regions[i].gpa, e = a + m->regions[i].size;
		if (a < BOOT_EBDA_START)
			E820_ADD(a, (e < BOOT_EBDA_START ? e : BOOT_EBDA_START) - a,
				 E820_RAM);
	}
	E820_ADD(BOOT_EBDA_START, 0xa0000 - BOOT_EBDA_START, E820_RESERVED);
	if (reserved_end > reserved_start)
		E820_ADD(reserved_start, reserved_end - reserved_start,
			 E820_RESERVED);
	for (int i = 0; i < m->n_regions; i++) {
		uint64_t a = m->regions[i].gpa, e = a + m->regions[i].size;
		if (a < BOOT_HIMEM_START)
			a = BOOT_HIMEM_START;
		if (e > a)
			E820_ADD(a, e - a, E820_RAM);
	}
#undef E820_ADD
	return n;
}

/* ---- format checks ---------------------------------------------------- */

static bool is_elf(const uint8_t *img, size_t len)
{
	return len >= 4 && memcmp(img, ELFMAG, SELFMAG) == 0;
}

/* Walk the ELF program headers: PT_NOTE for the PVH entry, PT_LOAD bounds.
 * Every offset and size is checked against the file. */
static int elf_parse(const struct boot_config *cfg, uint64_t *entry,
		     struct husk_err **err)
{
	const uint8_t *img = cfg->kernel;
	size_t len = cfg->kernel_len;
	const char *name = cfg->kernel_name;
	Elf64_Ehdr eh;

	*entry = 0;
	if (len < sizeof(eh))
		return husk_err_set(err, ENOEXEC, "%s: truncated ELF header",
				    name);
	memcpy(&eh, img, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64)
		return husk_err_set(err, ENOEXEC,
				    "%s: not a 64-bit x86 ELF vmlinux", name);
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
	    eh.e_phoff > len ||
	    (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff)
		return husk_err_set(err, ENOEXEC,
				    "%s: ELF program headers out of the file",
				    name);
	for (int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, img + eh.e_phoff + (size_t)i * sizeof(ph),
		       sizeof(ph));
		if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
			return husk_err_set(
				err, ENOEXEC,
				"%s: ELF segment %d extends past the file",
				name, i);
		if (ph.p_type == PT_LOAD && ph.p_filesz > ph.p_memsz)
			return husk_err_set(err, ENOEXEC,
					    "%s: ELF segment %d: filesz > memsz",
					    name, i);
		if (ph.p_type != PT_NOTE)
			continue;
		for (uint64_t off = 0; off + 12 <= ph.p_filesz;) {
			const uint8_t *n = img + ph.p_offset + off;
			uint64_t namesz = get32(n), descsz = get32(n + 4);
			uint32_t type = get32(n + 8);
			uint64_t nsz = (namesz + 3) & ~3ULL,
				 dsz = (descsz + 3) & ~3ULL;
			if (nsz > ph.p_filesz - off - 12 ||
			    dsz > ph.p_filesz - off - 12 - nsz)
				break;
			if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
			    memcmp(n + 12, "Xen", 4) == 0 && descsz >= 4)
				*entry = descsz >= 8 ? get64(n + 12 + nsz)
						     : get32(n + 12 + nsz);
			off += 12 + nsz + dsz;
		}
	}
	if (*entry == 0 || *entry >= 0x100000000ULL)
		return husk_err_set(err, ENOEXEC,
				    "%s: ELF vmlinux has no PVH entry note "
				    "(XEN_ELFNOTE_PHYS32_ENTRY)",
				    name);
	return 0;
}

static size_t bz_setup_size(const uint8_t *img)
{
	unsigned sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
	return ((size_t)sects + 1) * 512;
}

static int bz_check(const struct boot_config *cfg, struct husk_err **err)
{
	const uint8_t *img = cfg->kernel;
	size_t len = cfg->kernel_len, setup, cmdlen;
	const char *name = cfg->kernel_name;
	uint16_t ver;
	uint32_t cmdmax;

	if (len < HDR_MAGIC + 4 || memcmp(img + HDR_MAGIC, "HdrS", 4) != 0)
		return husk_err_set(err, ENOEXEC,
				    "%s: not a bzImage (no \"HdrS\" setup "
				    "header) nor an ELF vmlinux",
				    name);
	if (len < HDR_MIN_LEN)
		return husk_err_set(err, ENOEXEC,
				    "%s: truncated bzImage (%zu bytes)", name,
				    len);
	ver = get16(img + HDR_VERSION);
	if (ver < 0x206)
		return husk_err_set(err, ENOEXEC,
				    "%s: boot protocol %u.%02u is too old "
				    "(need 2.06)",
				    name, ver >> 8, ver & 0xff);
	if (ver < 0x20c || !(get16(img + HDR_XLOADFLAGS) & XLF_KERNEL_64))
		return husk_err_set(err, ENOEXEC,
				    "%s: bzImage has no 64-bit entry point "
				    "(boot protocol %u.%02u)",
				    name, ver >> 8, ver & 0xff);
	setup = bz_setup_size(img);
	if (len <= setup || HDR_JUMP + 2 + (size_t)img[HDR_JUMP + 1] > setup)
		return husk_err_set(err, ENOEXEC,
				    "%s: truncated bzImage: %zu bytes, setup "
				    "alone is %zu",
				    name, len, setup);
	cmdmax = get32(img + HDR_CMDLINE_SIZE);
	cmdlen = strlen(cfg->cmdline);
	if (cmdlen > cmdmax || cmdlen >= BOOT_CMDLINE_MAX)
		return husk_err_set(err, E2BIG,
				    "kernel command line is %zu bytes, %s "
				    "accepts at most %u",
				    cmdlen, name, cmdmax);
	return 0;
}

int boot_check(const struct boot_config *cfg, enum boot_kind *kind,
	       struct husk_err **err)
{
	if (is_elf(cfg->kernel, cfg->kernel_len)) {
		uint64_t entry;
		size_t cmdlen = strlen(cfg->cmdline);
		if (elf_parse(cfg, &entry, err) < 0)
			return -1;
		if (cmdlen >= PVH_CMDLINE_SIZE)
			return husk_err_set(err, E2BIG,
					    "kernel command line is %zu bytes, "
					    "%s accepts at most %d",
					    cmdlen, cfg->kernel_name,
					    PVH_CMDLINE_SIZE - 1);
		*kind = BOOT_PVH;
		return 0;
	}
	if (bz_check(cfg, err) < 0)
		return -1;
	*kind = BOOT_BZIMAGE;
	return 0;
}

/* ---- loading ---------------------------------------------------------- */

static int copy_in(struct guest_mem *m, uint64_t gpa, const void *src,
		   uint64_t len, const char *what, struct husk_err **err)
{
	if (gmem_write(m, gpa, src, len) < 0)
		return husk_err_set(err, ENOMEM,
				    "%s (0x%llx bytes at 0x%llx) does not fit "
				    "in guest memory (%llu MiB)",
				    what, (unsigned long long)len,
				    (unsigned long long)gpa,
				    (unsigned long long)(m->size >> 20));
	return 0;
}

/* 4 GiB identity map with 2 MiB pages: enough for everything the 64-bit
 * entry needs mapped (kernel, zero page, command line, initrd). */
static int write_page_tables(struct guest_mem *m, struct husk_err **err)
{
	uint8_t *pml4 = gmem_ptr(m, BOOT_PML4_ADDR, 0x1000);
	uint8_t *pdpt = gmem_ptr(m, BOOT_PDPT_ADDR, 0x1000);
	uint8_t *pd = gmem_ptr(m, BOOT_PD_ADDR, 4 * 0x1000);

	if (!pml4 || !pdpt || !pd)
		return husk_err_set(err, ENOMEM, "page tables: no guest RAM");
	memset(pml4, 0, 0x1000);
	memset(pdpt, 0, 0x1000);
	put64(pml4, BOOT_PDPT_ADDR | 0x3);
	for (int i = 0; i < 4; i++)
		put64(pdpt + i * 8, (BOOT_PD_ADDR + (uint64_t)i * 0x1000) | 0x3);
	for (uint64_t i = 0; i < 4 * 512; i++)
		put64(pd + i * 8, (i << 21) | 0x83); /* present, rw, 2M */
	return 0;
}

static int write_gdt(struct guest_mem *m, enum boot_kind kind,
		     struct husk_err **err)
{
	uint8_t *g = gmem_ptr(m, BOOT_GDT_ADDR, 5 * 8);
	uint8_t *idt = gmem_ptr(m, BOOT_IDT_ADDR, 8);

	if (!g || !idt)
		return husk_err_set(err, ENOMEM, "GDT: no guest RAM");
	memset(g, 0, 5 * 8);
	put64(g + SEL_CODE, kind == BOOT_PVH ? GDT_CODE32 : GDT_CODE64);
	put64(g + SEL_DATA, GDT_DATA);
	put64(g + SEL_TSS, GDT_TSS);
	memset(idt, 0, 8);
	return 0;
}

/* The initrd goes as high as allowed, page aligned, above the kernel. */
static int place_initrd(struct guest_mem *m, const struct boot_config *cfg,
			uint64_t max_addr, struct boot_info *bi,
			struct husk_err **err)
{
	uint64_t top = m->regions[0].gpa + m->regions[0].size, addr;

	if (cfg->initrd == NULL || cfg->initrd_len == 0)
		return 0;
	if (top > max_addr + 1)
		top = max_addr + 1;
	if (cfg->initrd_len > top)
		goto toobig;
	addr = (top - cfg->initrd_len) & ~0xfffULL;
	if (addr < bi->kernel_end)
		goto toobig;
	bi->initrd_addr = addr;
	bi->initrd_size = cfg->initrd_len;
	return copy_in(m, addr, cfg->initrd, cfg->initrd_len, "initrd", err);
toobig:
	return husk_err_set(err, ENOMEM,
			    "initrd (%zu bytes) does not fit in guest memory "
			    "(%llu MiB) above the kernel (which needs up to "
			    "0x%llx)",
			    cfg->initrd_len,
			    (unsigned long long)(m->size >> 20),
			    (unsigned long long)bi->kernel_end);
}

static int write_cmdline(struct guest_mem *m, const char *cmdline,
			 struct husk_err **err)
{
	return copy_in(m, BOOT_CMDLINE_ADDR, cmdline, strlen(cmdline) + 1,
		       "command line", err);
}

static int bz_load(struct guest_mem *m, const struct boot_config *cfg,
		   struct boot_info *bi, struct husk_err **err)
{
	const uint8_t *img = cfg->kernel;
	size_t setup = bz_setup_size(img), hdr_end;
	uint64_t load = BOOT_HIMEM_START, run_base, init_size, pm_len;
	struct boot_e820 e820[BOOT_E820_MAX];
	uint8_t *zp;
	int n;

	pm_len = cfg->kernel_len - setup;
	if (img[HDR_RELOCATABLE] && get64(img + HDR_PREF_ADDRESS) >= load)
		load = get64(img + HDR_PREF_ADDRESS);
	init_size = get32(img + HDR_INIT_SIZE);
	if (init_size < pm_len)
		init_size = pm_len;
	/* A relocatable kernel decompresses to max(load, LOAD_PHYSICAL_ADDR)
	 * and needs init_size bytes there. */
	run_base = load > BOOT_KERNEL_MIN_RUN ? load : BOOT_KERNEL_MIN_RUN;
	bi->kernel_start = load;
	bi->kernel_end = run_base + init_size;
	if (!gmem_ptr(m, run_base, init_size) ||
	    bi->kernel_end > m->regions[0].gpa + m->regions[0].size)
		return husk_err_set(err, ENOMEM,
				    "guest memory (%llu MiB) is too small for "
				    "%s: it needs RAM up to %llu MiB",
				    (unsigned long long)(m->size >> 20),
				    cfg->kernel_name,
				    (unsigned long long)((bi->kernel_end +
							  (1 << 20) - 1) >>
							 20));
	if (copy_in(m, load, img + setup, pm_len, "kernel", err) < 0)
		return -1;
	if (place_initrd(m, cfg, get32(img + HDR_INITRD_ADDR_MAX), bi, err) < 0)
		return -1;
	if (write_cmdline(m, cfg->cmdline, err) < 0)
		return -1;

	zp = gmem_ptr(m, BOOT_ZERO_PAGE_ADDR, ZP_SIZE);
	if (!zp)
		return husk_err_set(err, ENOMEM, "zero page: no guest RAM");
	memset(zp, 0, ZP_SIZE);
	/* The setup header runs from 0x1f1 to the end the jump at 0x200
	 * points to; bz_check made sure it lies within the setup sectors. */
	hdr_end = HDR_JUMP + 2 + img[HDR_JUMP + 1];
	memcpy(zp + HDR_SETUP_SECTS, img + HDR_SETUP_SECTS,
	       hdr_end - HDR_SETUP_SECTS);
	put16(zp + HDR_VID_MODE, 0xffff); /* "normal" */
	zp[HDR_TYPE_OF_LOADER] = 0xff;	  /* undefined loader */
	zp[HDR_LOADFLAGS] |= LOADFLAG_LOADED_HIGH | LOADFLAG_CAN_USE_HEAP;
	put16(zp + HDR_HEAP_END_PTR, 0xfe00);
	put32(zp + HDR_CMD_LINE_PTR, (uint32_t)BOOT_CMDLINE_ADDR);
	put32(zp + ZP_EXT_CMD_LINE_PTR, (uint32_t)(BOOT_CMDLINE_ADDR >> 32));
	put32(zp + HDR_RAMDISK_IMAGE, (uint32_t)bi->initrd_addr);
	put32(zp + HDR_RAMDISK_SIZE, (uint32_t)bi->initrd_size);
	put32(zp + ZP_EXT_RAMDISK_IMAGE, (uint32_t)(bi->initrd_addr >> 32));
	put32(zp + ZP_EXT_RAMDISK_SIZE, (uint32_t)(bi->initrd_size >> 32));
	put64(zp + ZP_ACPI_RSDP_ADDR, cfg->rsdp);
	n = boot_e820_build(m, cfg->reserved_start, cfg->reserved_end, e820,
			    BOOT_E820_MAX);
	zp[ZP_E820_ENTRIES] = (uint8_t)n;
	for (int i = 0; i < n; i++) {
		uint8_t *e = zp + ZP_E820_TABLE + i * 20;
		put64(e, e820[i].addr);
		put64(e + 8, e820[i].size);
		put32(e + 16, e820[i].type);
	}
	bi->kind = BOOT_BZIMAGE;
	/* boot.rst "64-bit BOOT PROTOCOL": entry at load address + 0x200 */
	bi->entry = load + 0x200;
	bi->params = BOOT_ZERO_PAGE_ADDR;
	bi->cmdline_max = get32(img + HDR_CMDLINE_SIZE);
	return 0;
}

static int pvh_load(struct guest_mem *m, const struct boot_config *cfg,
		    struct boot_info *bi, struct husk_err **err)
{
	const uint8_t *img = cfg->kernel;
	struct boot_e820 e820[BOOT_E820_MAX];
	Elf64_Ehdr eh;
	uint64_t entry, end = 0, start = UINT64_MAX;
	uint8_t *si;
	int n;

	if (elf_parse(cfg, &entry, err) < 0)
		return -1;
	memcpy(&eh, img, sizeof(eh));
	for (int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		uint8_t *dst;
		memcpy(&ph, img + eh.e_phoff + (size_t)i * sizeof(ph),
		       sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		dst = gmem_ptr(m, ph.p_paddr, ph.p_memsz);
		if (!dst || ph.p_paddr < BOOT_HIMEM_START)
			return husk_err_set(err, ENOMEM,
					    "%s: ELF segment %d (0x%llx bytes "
					    "at 0x%llx) does not fit in guest "
					    "memory (%llu MiB)",
					    cfg->kernel_name, i,
					    (unsigned long long)ph.p_memsz,
					    (unsigned long long)ph.p_paddr,
					    (unsigned long long)(m->size >> 20));
		memcpy(dst, img + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		if (ph.p_paddr < start)
			start = ph.p_paddr;
		if (ph.p_paddr + ph.p_memsz > end)
			end = ph.p_paddr + ph.p_memsz;
	}
	if (end == 0)
		return husk_err_set(err, ENOEXEC, "%s: no loadable segment",
				    cfg->kernel_name);
	bi->kernel_start = start;
	bi->kernel_end = end;
	if (place_initrd(m, cfg, 0xffffffffULL, bi, err) < 0)
		return -1;
	if (write_cmdline(m, cfg->cmdline, err) < 0)
		return -1;

	si = gmem_ptr(m, BOOT_PVH_INFO_ADDR, 0x1000);
	if (!si)
		return husk_err_set(err, ENOMEM, "start_info: no guest RAM");
	memset(si, 0, 0x1000);
	n = boot_e820_build(m, cfg->reserved_start, cfg->reserved_end, e820,
			    (0x1000 - PVH_MEMMAP_OFF) / 24);
	put32(si, PVH_MAGIC);
	put32(si + 4, 1); /* version 1: has the memmap (v0 hits a BUG()) */
	put32(si + 12, bi->initrd_size ? 1 : 0);
	put64(si + 16, BOOT_PVH_INFO_ADDR + PVH_MODLIST_OFF);
	put64(si + 24, BOOT_CMDLINE_ADDR);
	put64(si + 32, cfg->rsdp);
	put64(si + 40, BOOT_PVH_INFO_ADDR + PVH_MEMMAP_OFF);
	put32(si + 48, (uint32_t)n);
	put64(si + PVH_MODLIST_OFF, bi->initrd_addr);
	put64(si + PVH_MODLIST_OFF + 8, bi->initrd_size);
	for (int i = 0; i < n; i++) {
		uint8_t *e = si + PVH_MEMMAP_OFF + i * 24;
		put64(e, e820[i].addr);
		put64(e + 8, e820[i].size);
		put32(e + 16, e820[i].type);
	}
	bi->kind = BOOT_PVH;
	bi->entry = entry;
	bi->params = BOOT_PVH_INFO_ADDR;
	bi->cmdline_max = PVH_CMDLINE_SIZE - 1;
	return 0;
}

int boot_load(struct guest_mem *m, const struct boot_config *cfg,
	      struct boot_info *out, struct husk_err **err)
{
	enum boot_kind kind;

	memset(out, 0, sizeof(*out));
	if (m->n_regions < 1 || m->regions[0].gpa != 0)
		return husk_err_set(err, EINVAL,
				    "guest memory must start at address 0");
	if (boot_check(cfg, &kind, err) < 0)
		return -1;
	if (write_gdt(m, kind, err) < 0)
		return -1;
	if (kind == BOOT_PVH)
		return pvh_load(m, cfg, out, err);
	if (write_page_tables(m, err) < 0)
		return -1;
	return bz_load(m, cfg, out, err);
}

/* ---- vCPU state ------------------------------------------------------- */

static struct kvm_segment seg_from_gdt(uint64_t d, uint16_t sel)
{
	struct kvm_segment s = {
		.base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24),
		.limit = (uint32_t)((d & 0xffff) | (((d >> 48) & 0xf) << 16)),
		.selector = sel,
		.type = (uint8_t)((d >> 40) & 0xf),
		.s = (uint8_t)((d >> 44) & 1),
		.dpl = (uint8_t)((d >> 45) & 3),
		.present = (uint8_t)((d >> 47) & 1),
		.avl = (uint8_t)((d >> 52) & 1),
		.l = (uint8_t)((d >> 53) & 1),
		.db = (uint8_t)((d >> 54) & 1),
		.g = (uint8_t)((d >> 55) & 1),
	};
	if (s.g)
		s.limit = (s.limit << 12) | 0xfff;
	s.unusable = !s.present;
	return s;
}

int boot_setup_vcpu(int vcpu_fd, const struct boot_info *bi,
		    struct husk_err **err)
{
	struct kvm_sregs sr;
	struct kvm_regs r = {.rflags = 0x2, .rip = bi->entry};
	struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
	bool pvh = bi->kind == BOOT_PVH;
	struct kvm_segment data = seg_from_gdt(GDT_DATA, SEL_DATA);

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sr) < 0)
		return husk_err_sys(err, "ioctl KVM_GET_SREGS");
	sr.cs = seg_from_gdt(pvh ? GDT_CODE32 : GDT_CODE64, SEL_CODE);
	sr.ds = sr.es = sr.fs = sr.gs = sr.ss = data;
	sr.tr = seg_from_gdt(GDT_TSS, SEL_TSS);
	sr.gdt.base = BOOT_GDT_ADDR;
	sr.gdt.limit = 5 * 8 - 1;
	sr.idt.base = BOOT_IDT_ADDR;
	sr.idt.limit = 7;
	if (pvh) {
		/* PVH: 32-bit protected mode, paging off (start_info.h). */
		sr.cr0 = CR0_PE | CR0_ET;
		sr.cr4 = 0;
		sr.efer = 0;
		r.rbx = bi->params;
	} else {
		sr.cr0 = CR0_PE | CR0_ET | CR0_PG;
		sr.cr3 = BOOT_PML4_ADDR;
		sr.cr4 = CR4_PAE;
		sr.efer = EFER_LME | EFER_LMA;
		r.rsi = bi->params;
		r.rsp = r.rbp = BOOT_STACK_TOP;
	}
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sr) < 0)
		return husk_err_sys(err, "ioctl KVM_SET_SREGS");
	if (ioctl(vcpu_fd, KVM_SET_REGS, &r) < 0)
		return husk_err_sys(err, "ioctl KVM_SET_REGS");
	if (ioctl(vcpu_fd, KVM_SET_FPU, &fpu) < 0)
		return husk_err_sys(err, "ioctl KVM_SET_FPU");
	return 0;
}

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

static void lvt_set_mode(struct kvm_lapic_state *l, int reg, uint32_t mode)
{
	uint8_t *p = (uint8_t *)l->regs + reg;
	uint32_t v = get32(p);

	v = (v & ~0x700u) | (mode << 8);
	put32(p, v);
}

int boot_setup_lapic(int vcpu_fd, struct husk_err **err)
{
	struct kvm_lapic_state l;

	if (ioctl(vcpu_fd, KVM_GET_LAPIC, &l) < 0)
		return husk_err_sys(err, "ioctl KVM_GET_LAPIC");
	lvt_set_mode(&l, APIC_LVT0, APIC_MODE_EXTINT);
	lvt_set_mode(&l, APIC_LVT1, APIC_MODE_NMI);
	if (ioctl(vcpu_fd, KVM_SET_LAPIC, &l) < 0)
		return husk_err_sys(err, "ioctl KVM_SET_LAPIC");
	return 0;
}
