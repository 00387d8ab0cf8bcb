/* SPDX-License-Identifier: MIT */
/* The single-port console (--console virtio): virtio-serial without
 * MULTIPORT, and the console's terminal size. */
#include <errno.h>

#include "virtio/serial_priv.h"
#include "virtio/virtio_spec.h"

int vser_create_console(struct vser **out, struct chardev *cd, uint16_t cols,
                        uint16_t rows)
{
    struct vser *s;
    int r = vser_create(&s, 1);
    if (r < 0)
        return r;
    /* What Linux's virtio_console and the tiny guest's vcons see as a
     * plain console: port 0's two queues, SIZE, no control queues. */
    s->ops.name = "console";
    s->ops.nqueues = 2;
    s->ops.features = VIRTIO_BIT(VIRTIO_CONSOLE_F_SIZE);
    s->ops.stats_print = NULL; /* no control queue to count */
    r = vser_add_port(s, 0, NULL, cd, true);
    if (r < 0) {
        vser_destroy(s);
        return r;
    }
    if (cols && rows) {
        s->cfg.cols = cols;
        s->cfg.rows = rows;
    }
    s->win_cols = s->cfg.cols;
    s->win_rows = s->cfg.rows;
    *out = s;
    return 0;
}

void vser_update_size(struct vser *s)
{
    uint16_t cols, rows;
    if (!s->port[0].present || !s->port[0].console ||
        chardev_winsize(s->port[0].cd, &cols, &rows) < 0 || !cols || !rows)
        return;
    /* Compared with our own copy, not cfg, which is under cfg_lock. */
    if (cols == s->win_cols && rows == s->win_rows)
        return;
    s->win_cols = cols;
    s->win_rows = rows;
    vser_resize(s, cols, rows);
}
