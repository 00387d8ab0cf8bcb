/* SPDX-License-Identifier: MIT */
/* 8250/16550A UART emulation for the serial console. */
#include "hw/serial.h"

#include <string.h>

/* Register offsets and bits (PC16550D data sheet). */
#define UART_RBR_THR 0
#define UART_IER 1
#define UART_IIR_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI 0x01
#define IER_THRI 0x02
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO 0xc0
#define FCR_ENABLE 0x01
#define LCR_DLAB 0x80
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

static void serial_update_irq(struct serial *s);
static void serial_rx_fill(struct serial *s);

/* THR to the chardev; false if it is full (the byte must wait). */
static bool serial_send(struct serial *s, uint8_t b)
{
    if (s->cd && chardev_write(s->cd, &b, 1) != 1)
        return false;
    s->tx_bytes++;
    s->thre_pending = true; /* THR and shift register empty again */
    return true;
}

/* Backend thread: room for output, or input for the FIFO. */
static void serial_notify(void *ctx, unsigned ev)
{
    struct serial *s = ctx;
    pthread_mutex_lock(&s->lock);
    if ((ev & CHARDEV_EV_OUT) && s->thr_full && serial_send(s, s->thr))
        s->thr_full = false;
    if (ev & CHARDEV_EV_IN)
        serial_rx_fill(s);
    serial_update_irq(s);
    pthread_mutex_unlock(&s->lock);
}

int serial_init(struct serial *s, struct chardev *cd, bool input,
                struct irq_line *irq)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    s->cd = cd;
    s->input = input && cd;
    s->irq = irq;
    s->mcr = MCR_OUT2;
    s->dll = 12; /* 9600 baud, as a BIOS leaves it */
    s->cl = (struct chardev_client){.notify = serial_notify, .ctx = s};
    int r = cd ? chardev_attach(cd, &s->cl, s->input) : 0;
    if (r < 0) {
        pthread_mutex_destroy(&s->lock);
        return r;
    }
    s->up = true;
    return 0;
}

void serial_destroy(struct serial *s)
{
    if (!s->up)
        return;
    if (s->cd)
        chardev_detach(s->cd, &s->cl);
    s->up = false;
    pthread_mutex_destroy(&s->lock);
}

static uint8_t serial_iir(const struct serial *s)
{
    uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO : 0;
    if ((s->ier & IER_RDI) && s->rx_count)
        return fifo | IIR_RDI;
    if ((s->ier & IER_THRI) && s->thre_pending)
        return fifo | IIR_THRI;
    return fifo | IIR_NONE;
}

/* PCs gate the UART's interrupt with OUT2; the line is level. */
static void serial_update_irq(struct serial *s)
{
    int level = (serial_iir(s) & IIR_NONE) == 0 && (s->mcr & MCR_OUT2);
    if (level == s->irq_level || !s->irq || !s->irq->set_level)
        return;
    s->irq_level = level;
    s->irq->set_level(s->irq, level);
}

static void serial_rx_put(struct serial *s, uint8_t b)
{
    if (s->rx_count == SERIAL_RX_FIFO)
        return; /* only loopback can get here; a real UART overruns too */
    s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_FIFO] = b;
    s->rx_count++;
}

static uint8_t serial_rx_get(struct serial *s)
{
    if (!s->rx_count)
        return 0;
    uint8_t b = s->rx[s->rx_head];
    s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO;
    s->rx_count--;
    s->rx_bytes++;
    serial_rx_fill(s); /* the chardev's input event came only once */
    return b;
}

/* Move host input into the FIFO: only what fits, so nothing is lost
 * even if the guest filled the FIFO itself (loopback). */
static void serial_rx_fill(struct serial *s)
{
    if (!s->input || (s->mcr & MCR_LOOP) || s->rx_count == SERIAL_RX_FIFO)
        return;
    uint8_t b[SERIAL_RX_FIFO];
    size_t n = chardev_read(s->cd, b, SERIAL_RX_FIFO - s->rx_count);
    for (size_t i = 0; i < n; i++)
        serial_rx_put(s, b[i]);
}

static void serial_tx(struct serial *s, uint8_t b)
{
    if (s->mcr & MCR_LOOP) {
        s->thre_pending = true; /* the loop is instant */
        serial_rx_put(s, b);
        return;
    }
    if (s->thr_full) {
        s->tx_overruns++; /* the guest ignored THRE */
        return;
    }
    s->thre_pending = false; /* writing THR clears its interrupt */
    if (!serial_send(s, b)) {
        s->thr = b; /* busy until the chardev has room: back-pressure */
        s->thr_full = true;
    }
}

static uint8_t serial_msr(const struct serial *s)
{
    if (!(s->mcr & MCR_LOOP))
        return MSR_DCD | MSR_DSR | MSR_CTS; /* a modem is always there */
    uint8_t m = 0;
    m |= (s->mcr & MCR_RTS) ? MSR_CTS : 0;
    m |= (s->mcr & MCR_DTR) ? MSR_DSR : 0;
    m |= (s->mcr & MCR_OUT1) ? MSR_RI : 0;
    m |= (s->mcr & MCR_OUT2) ? MSR_DCD : 0;
    return m;
}

static uint8_t serial_read(struct serial *s, unsigned reg)
{
    bool dlab = s->lcr & LCR_DLAB;
    switch (reg) {
    case UART_RBR_THR:
        return dlab ? s->dll : serial_rx_get(s);
    case UART_IER:
        return dlab ? s->dlm : s->ier;
    case UART_IIR_FCR: {
        uint8_t iir = serial_iir(s);
        if ((iir & 0x0f) == IIR_THRI)
            s->thre_pending = false; /* reading IIR acknowledges THRE */
        return iir;
    }
    case UART_LCR:
        return s->lcr;
    case UART_MCR:
        return s->mcr;
    case UART_LSR:
        return (s->thr_full ? 0 : LSR_THRE | LSR_TEMT) |
               (s->rx_count ? LSR_DR : 0);
    case UART_MSR:
        return serial_msr(s);
    default:
        return s->scr;
    }
}

static void serial_write(struct serial *s, unsigned reg, uint8_t v)
{
    bool dlab = s->lcr & LCR_DLAB;
    switch (reg) {
    case UART_RBR_THR:
        if (dlab)
            s->dll = v;
        else
            serial_tx(s, v);
        break;
    case UART_IER:
        if (dlab) {
            s->dlm = v;
            break;
        }
        /* Enabling THRI with an empty THR raises it at once (16550). */
        if ((v & IER_THRI) && !(s->ier & IER_THRI) && !s->thr_full)
            s->thre_pending = true;
        s->ier = v & 0x0f;
        break;
    case UART_IIR_FCR:
        /* Receive-FIFO clear is ignored: what sits in our FIFO is input
         * the host already sent (typed ahead before the driver started),
         * and kvmini never discards it. Drivers clear at start-up. */
        s->fcr = v & (FCR_ENABLE | 0xc0);
        break;
    case UART_LCR:
        s->lcr = v;
        break;
    case UART_MCR:
        s->mcr = v & 0x1f;
        serial_rx_fill(s); /* leaving loopback: host input may wait */
        break;
    case UART_SCR:
        s->scr = v;
        break;
    default:
        break; /* LSR and MSR are read-only */
    }
}

int serial_io(void *opaque, uint64_t off, void *data, uint32_t len, bool write)
{
    struct serial *s = opaque;
    uint8_t *d = data;
    pthread_mutex_lock(&s->lock);
    /* Wider accesses touch consecutive registers, like on the ISA bus. */
    for (uint32_t i = 0; i < len; i++) {
        unsigned reg = (unsigned)(off + i) & 7;
        if (write)
            serial_write(s, reg, d[i]);
        else
            d[i] = serial_read(s, reg);
    }
    serial_update_irq(s);
    pthread_mutex_unlock(&s->lock);
    return 0;
}
