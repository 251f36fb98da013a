/* Minimal i8042: empty buffers, and the reset pulse (command 0xfe, or bit 0
 * cleared through "write output port" 0xd1). Accesses are serialised by the
 * caller holding no state that two vCPUs could tear: one byte of state. */
#include "vmm/devices/i8042.h"

#include <string.h>

#define CMD_WRITE_OUTPUT 0xd1
#define CMD_PULSE_RESET 0xfe
#define OUTPUT_NOT_RESET 0x01

void i8042_init(struct i8042 *k, void (*reset)(void *opaque), void *opaque)
{
	memset(k, 0, sizeof(*k));
	k->reset = reset;
	k->opaque = opaque;
}

void i8042_pio_in(void *opaque, uint16_t off, void *data, uint32_t size)
{
	(void)opaque;
	/* Status 0 on 0x64: output buffer empty, input buffer free, so
	 * Linux's kb_wait() never spins; no data on 0x60. */
	if (size && (off == 0 || off == 4))
		((uint8_t *)data)[0] = 0;
}

void i8042_pio_out(void *opaque, uint16_t off, const void *data,
		   uint32_t size)
{
	struct i8042 *k = opaque;
	uint8_t v;

	if (!size)
		return;
	v = *(const uint8_t *)data;
	if (off == 4) {
		__atomic_store_n(&k->pending_cmd, v, __ATOMIC_RELAXED);
		if (v == CMD_PULSE_RESET && k->reset)
			k->reset(k->opaque);
	} else if (off == 0) {
		uint8_t cmd = __atomic_exchange_n(&k->pending_cmd, 0,
						  __ATOMIC_RELAXED);
		if (cmd == CMD_WRITE_OUTPUT && !(v & OUTPUT_NOT_RESET) &&
		    k->reset)
			k->reset(k->opaque);
	}
}
