/* 16550A UART (register model as in the PC16550D datasheet; the THRE
 * interrupt rules are what Linux's serial8250_startup() tests for). */
#include "vmm/devices/serial.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define REG_RBR_THR 0
#define REG_IER 1
#define REG_IIR_FCR 2
#define REG_LCR 3
#define REG_MCR 4
#define REG_LSR 5
#define REG_MSR 6
#define REG_SCR 7

#define IER_RDI 0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI 0x08

#define IIR_NO_INT 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_FIFO_ON 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_ERRORS 0x1e
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

void serial_init(struct serial *s, int out_fd,
		 void (*set_irq)(void *opaque, int level), void *irq_opaque)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->out_fd = out_fd;
	s->set_irq = set_irq;
	s->irq_opaque = irq_opaque;
	s->lsr = LSR_THRE | LSR_TEMT;
	s->msr = MSR_DCD | MSR_DSR | MSR_CTS;
	s->mcr = MCR_OUT2;
}

void serial_destroy(struct serial *s)
{
	pthread_mutex_destroy(&s->lock);
}

static uint8_t iir_id(const struct serial *s)
{
	if ((s->ier & IER_RLSI) && (s->lsr & LSR_ERRORS))
		return IIR_RLSI;
	if ((s->ier & IER_RDI) && (s->lsr & LSR_DR))
		return IIR_RDI;
	if ((s->ier & IER_THRI) && s->thr_ipending)
		return IIR_THRI;
	if ((s->ier & IER_MSI) && (s->msr & 0x0f))
		return IIR_MSI;
	return IIR_NO_INT;
}

static void update_irq(struct serial *s)
{
	int level = iir_id(s) != IIR_NO_INT;

	if (level != s->irq_level) {
		s->irq_level = level;
		if (s->set_irq)
			s->set_irq(s->irq_opaque, level);
	}
}

static void rx_push(struct serial *s, uint8_t b)
{
	if (s->rx_count == SERIAL_RX_FIFO) {
		s->lsr |= LSR_OE;
		return;
	}
	s->rx[(s->rx_head + s->rx_count++) % SERIAL_RX_FIFO] = b;
	s->lsr |= LSR_DR;
}

static uint8_t rx_pop(struct serial *s)
{
	uint8_t b = 0;

	if (s->rx_count) {
		b = s->rx[s->rx_head];
		s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO;
		s->rx_count--;
	}
	if (!s->rx_count)
		s->lsr &= (uint8_t)~LSR_DR;
	return b;
}

static void out_write(struct serial *s, uint8_t b)
{
	if (s->out_fd >= 0) {
		ssize_t n;
		do
			n = write(s->out_fd, &b, 1);
		while (n < 0 && errno == EINTR);
	}
	if (!s->marker || s->marker_seen)
		return;
	if (b == '\n' || s->line_len == SERIAL_LINE_MAX - 1) {
		s->line[s->line_len] = 0;
		if (strstr(s->line, s->marker)) {
			s->marker_seen = true;
			if (s->on_marker)
				s->on_marker(s->marker_opaque);
		}
		s->line_len = 0;
	}
	if (b != '\n' && b != '\r')
		s->line[s->line_len++] = (char)b;
}

static uint8_t reg_read(struct serial *s, uint16_t off)
{
	uint8_t v;

	switch (off) {
	case REG_RBR_THR:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		return rx_pop(s);
	case REG_IER:
		if (s->lcr & LCR_DLAB)
			return s->dlm;
		return s->ier;
	case REG_IIR_FCR:
		v = iir_id(s);
		/* Reading IIR acknowledges a THR-empty interrupt. */
		if (v == IIR_THRI)
			s->thr_ipending = false;
		return v | ((s->fcr & FCR_ENABLE) ? IIR_FIFO_ON : 0);
	case REG_LCR:
		return s->lcr;
	case REG_MCR:
		return s->mcr;
	case REG_LSR:
		v = s->lsr;
		s->lsr &= (uint8_t)~LSR_ERRORS;
		return v;
	case REG_MSR:
		if (s->mcr & MCR_LOOP)
			return (uint8_t)(((s->mcr & MCR_DTR) ? MSR_DSR : 0) |
					 ((s->mcr & MCR_RTS) ? MSR_CTS : 0) |
					 ((s->mcr & MCR_OUT1) ? MSR_RI : 0) |
					 ((s->mcr & MCR_OUT2) ? MSR_DCD : 0));
		return s->msr;
	default:
		return s->scr;
	}
}

static void reg_write(struct serial *s, uint16_t off, uint8_t v)
{
	switch (off) {
	case REG_RBR_THR:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			return;
		}
		if (s->mcr & MCR_LOOP)
			rx_push(s, v);
		else
			out_write(s, v);
		/* The byte leaves at once: THR is empty again. */
		s->lsr |= LSR_THRE | LSR_TEMT;
		s->thr_ipending = true;
		return;
	case REG_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			return;
		}
		if ((v & IER_THRI) && !(s->ier & IER_THRI) &&
		    (s->lsr & LSR_THRE))
			s->thr_ipending = true;
		if (!(v & IER_THRI))
			s->thr_ipending = false;
		s->ier = v & 0x0f;
		return;
	case REG_IIR_FCR:
		if (v & FCR_CLEAR_RX) {
			s->rx_count = 0;
			s->lsr &= (uint8_t)~LSR_DR;
		}
		s->fcr = v & 0xc9;
		return;
	case REG_LCR:
		s->lcr = v;
		return;
	case REG_MCR:
		s->mcr = v & 0x1f;
		return;
	case REG_LSR:
	case REG_MSR:
		return; /* read-only */
	default:
		s->scr = v;
	}
}

void serial_pio_in(void *opaque, uint16_t off, void *data, uint32_t size)
{
	struct serial *s = opaque;
	uint8_t *d = data;

	if (size == 0 || off > REG_SCR)
		return;
	pthread_mutex_lock(&s->lock);
	d[0] = reg_read(s, off);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

void serial_pio_out(void *opaque, uint16_t off, const void *data,
		    uint32_t size)
{
	struct serial *s = opaque;

	if (size == 0 || off > REG_SCR)
		return;
	pthread_mutex_lock(&s->lock);
	reg_write(s, off, *(const uint8_t *)data);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

void serial_input(struct serial *s, const uint8_t *buf, size_t n)
{
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < n; i++)
		rx_push(s, buf[i]);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}
