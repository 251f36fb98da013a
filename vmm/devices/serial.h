/* A 16550A UART as the Linux 8250 driver probes and drives it: output to a
 * file or stdout, input from the device thread, interrupt on THR empty and
 * on received data. */
#ifndef HUSK_VMM_SERIAL_H
#define HUSK_VMM_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERIAL_RX_FIFO 64
#define SERIAL_LINE_MAX 256

struct serial {
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	bool thr_ipending;
	uint8_t rx[SERIAL_RX_FIFO];
	unsigned rx_head, rx_count;
	int irq_level;

	int out_fd; /* -1: output dropped */
	/* Drive the interrupt line (level: 1 asserted). */
	void (*set_irq)(void *opaque, int level);
	void *irq_opaque;

	/* Called once, with the lock held, for the first output line that
	 * contains marker. */
	const char *marker;
	void (*on_marker)(void *opaque);
	void *marker_opaque;
	bool marker_seen;
	char line[SERIAL_LINE_MAX];
	size_t line_len;
};

void serial_init(struct serial *s, int out_fd,
		 void (*set_irq)(void *opaque, int level), void *irq_opaque);
void serial_destroy(struct serial *s);

/* Port I/O at offset off (0..7) from the base; size is 1 (wider accesses
 * touch only the first byte, reads fill the rest with 0xff). */
void serial_pio_in(void *opaque, uint16_t off, void *data, uint32_t size);
void serial_pio_out(void *opaque, uint16_t off, const void *data,
		    uint32_t size);

/* Bytes from the host for the guest to read; what does not fit in the FIFO
 * is dropped with an overrun, as on hardware. */
void serial_input(struct serial *s, const uint8_t *buf, size_t n);

#endif
