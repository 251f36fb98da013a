/* The part of an i8042 keyboard controller a microVM needs: a status port
 * that never blocks the guest, and the CPU reset line (command 0xfe), which
 * is how Linux reboots with reboot=k and how husk-vmm learns the VM is done. */
#ifndef HUSK_VMM_I8042_H
#define HUSK_VMM_I8042_H

#include <stdint.h>

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64

struct i8042 {
	uint8_t pending_cmd; /* a command waiting for its data byte */
	void (*reset)(void *opaque);
	void *opaque;
};

void i8042_init(struct i8042 *k, void (*reset)(void *opaque), void *opaque);

/* Port handlers for a pio_dev at 0x60 of length 5 (0x60..0x64). */
void i8042_pio_in(void *opaque, uint16_t off, void *data, uint32_t size);
void i8042_pio_out(void *opaque, uint16_t off, const void *data,
		   uint32_t size);

#endif
