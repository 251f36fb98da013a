/* A memory-mapped device window as the vCPU threads see it: a KVM_EXIT_MMIO
 * inside [base, base+len) is handed to read/write with the offset. */
#ifndef HUSK_VMM_BUS_H
#define HUSK_VMM_BUS_H

#include <stdint.h>

struct bus_dev {
	uint64_t base, len;
	void (*read)(void *opaque, uint64_t off, void *data, uint32_t len);
	void (*write)(void *opaque, uint64_t off, const void *data,
		      uint32_t len);
	void *opaque;
};

#endif
