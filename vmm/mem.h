/* Guest memory: one shared memfd mapped once; every guest address the VMM
 * touches goes through gmem_ptr(), which checks it against the RAM regions. */
#ifndef HUSK_VMM_MEM_H
#define HUSK_VMM_MEM_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

/* RAM below the 32-bit MMIO hole ends here; the rest starts at 4 GiB. */
#define GMEM_LOW_END 0xc0000000ULL
#define GMEM_HIGH_START 0x100000000ULL

struct gmem_region {
	uint64_t gpa;    /* guest physical start */
	uint64_t size;   /* bytes */
	uint64_t offset; /* offset in the memfd and in host mapping */
};

struct guest_mem {
	int memfd;      /* MFD_CLOEXEC; shared so vhost-user backends can map it */
	uint8_t *host;  /* mapping of the whole memfd */
	uint64_t size;  /* total RAM */
	struct gmem_region regions[2];
	int n_regions;
};

/* Allocate size bytes of guest RAM (a multiple of 4 KiB, >= 1 MiB), laid
 * out as [0, min(size, GMEM_LOW_END)) and the rest from GMEM_HIGH_START. */
int gmem_create(struct guest_mem *m, uint64_t size, struct husk_err **err);
void gmem_destroy(struct guest_mem *m);

/* Build a guest_mem over caller-owned host memory (unit tests: fake guest
 * memory). One region [gpa, gpa+size). memfd = -1. */
void gmem_init_fake(struct guest_mem *m, void *host, uint64_t gpa,
		    uint64_t size);

/* Host pointer for [gpa, gpa+len) if the whole range lies inside one RAM
 * region (overflow-safe); NULL otherwise. len 0 is allowed. */
void *gmem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Copy to/from guest memory; -1 if the range is not all RAM. */
int gmem_read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len);
int gmem_write(const struct guest_mem *m, uint64_t gpa, const void *src,
	       uint64_t len);

#endif
