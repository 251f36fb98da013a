/* Guest RAM: one memfd, mapped once, split into the regions below the 32-bit
 * MMIO hole and above 4 GiB. Every guest address goes through gmem_ptr(). */
#include "vmm/mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Far above anything a microVM gets; keeps every sum below 2^64. */
#define GMEM_MAX_SIZE (1ULL << 40)

int gmem_create(struct guest_mem *m, uint64_t size, struct husk_err **err)
{
	_cleanup_close_ int fd = -1;
	void *host;

	memset(m, 0, sizeof(*m));
	m->memfd = -1;
	if (size < (1ULL << 20) || size % 4096 != 0 || size > GMEM_MAX_SIZE)
		return husk_err_set(err, EINVAL,
				    "guest memory size %llu: must be a multiple "
				    "of 4 KiB between 1 MiB and 1 TiB",
				    (unsigned long long)size);
	fd = memfd_create("husk-guest-ram", MFD_CLOEXEC);
	if (fd < 0)
		return husk_err_sys(err, "memfd_create husk-guest-ram");
	while (ftruncate(fd, (off_t)size) < 0) {
		if (errno != EINTR)
			return husk_err_sys(err, "ftruncate guest memory to %llu",
					    (unsigned long long)size);
	}
	/* MAP_NORESERVE: pages the guest never touches cost nothing. */
	host = mmap(NULL, size, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (host == MAP_FAILED)
		return husk_err_sys(err, "mmap %llu bytes of guest memory",
				    (unsigned long long)size);
	/* Both are hints: THP for shmem depends on the host's shmem_enabled
	 * setting, and a core dump without guest RAM is smaller and leaks
	 * nothing of the guest. Failure changes nothing that matters. */
	(void)madvise(host, size, MADV_HUGEPAGE);
	(void)madvise(host, size, MADV_DONTDUMP);

	m->memfd = TAKE_FD(fd);
	m->host = host;
	m->size = size;
	m->regions[0].gpa = 0;
	m->regions[0].size = size < GMEM_LOW_END ? size : GMEM_LOW_END;
	m->regions[0].offset = 0;
	m->n_regions = 1;
	if (size > GMEM_LOW_END) {
		m->regions[1].gpa = GMEM_HIGH_START;
		m->regions[1].size = size - GMEM_LOW_END;
		m->regions[1].offset = GMEM_LOW_END;
		m->n_regions = 2;
	}
	return 0;
}

void gmem_destroy(struct guest_mem *m)
{
	if (m->host && m->memfd >= 0)
		munmap(m->host, m->size);
	if (m->memfd >= 0)
		close(m->memfd);
	memset(m, 0, sizeof(*m));
	m->memfd = -1;
}

void gmem_init_fake(struct guest_mem *m, void *host, uint64_t gpa,
		    uint64_t size)
{
	memset(m, 0, sizeof(*m));
	m->memfd = -1;
	m->host = host;
	m->size = size;
	m->regions[0].gpa = gpa;
	/* A region that would wrap around 2^64 is cut short. */
	m->regions[0].size = size <= UINT64_MAX - gpa ? size : UINT64_MAX - gpa;
	m->regions[0].offset = 0;
	m->n_regions = 1;
}

void *gmem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < m->n_regions && i < 2; i++) {
		const struct gmem_region *r = &m->regions[i];
		uint64_t off;

		if (gpa < r->gpa)
			continue;
		off = gpa - r->gpa;
		/* Written so that no sum can wrap: off <= size, then
		 * len <= size - off. */
		if (off > r->size || len > r->size - off)
			continue;
		return m->host + r->offset + off;
	}
	return NULL;
}

int gmem_read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len)
{
	void *p = gmem_ptr(m, gpa, len);

	if (p == NULL)
		return -1;
	memcpy(dst, p, len);
	return 0;
}

int gmem_write(const struct guest_mem *m, uint64_t gpa, const void *src,
	       uint64_t len)
{
	void *p = gmem_ptr(m, gpa, len);

	if (p == NULL)
		return -1;
	memcpy(p, src, len);
	return 0;
}
