/* SPDX-License-Identifier: MIT */
/* What the tiny guest does on named ports: echo, ctl commands, hashing. */
#include "guest/io.h"
#include "guest/lib.h"
#include "guest/tg.h"
#include "guest/user.h"
#include "guest/vport.h"

/* Hashing runs in ring 3: in emulated ring 0 a MiB would take ~25 s. */
struct sha_job {
    struct sha256 *s;
    const uint8_t *p;
    uint64_t n;
    uint8_t digest[32];
    char hex[65];
};

static uint64_t sha_ring3(uint64_t job, uint64_t final)
{
    struct sha_job *j = (struct sha_job *)job;

    if (j->n)
        sha256_update(j->s, j->p, j->n);
    if (final) {
        sha256_final(j->s, j->digest);
        sha256_hex(j->digest, j->hex);
    }
    return 0;
}

static void say(struct vport *p, const char *text)
{
    if (vport_send(p, text, (uint32_t)strlen(text)))
        tg_printf("tg: vport port=%s answer-dropped transmitq-full\n", p->name);
}

/* The data port has all its bytes: the digest goes to the asker. */
static void data_done(struct tg *tg, struct vport *d)
{
    struct sha_job j = {.s = &d->sha};
    uint64_t us = (rdtsc() - d->t0) * 1000 / tg->timer.tsc_khz;

    user_call(sha_ring3, (uint64_t)&j, 1);
    j.hex[64] = '\n';
    if (vport_send(d->asker, j.hex, 65))
        tg_printf("tg: vport port=%s answer-dropped transmitq-full\n",
                  d->asker->name);
    j.hex[64] = 0;
    tg_printf("tg: vport sha256 port=%s bytes=%lu us=%lu hex=%s\n", d->name,
              d->total, us, j.hex);
    d->asker = NULL;
}

/* "sha256 N" on ctl port c: the next N bytes of STEM.data. */
static void cmd_sha256(struct tg *tg, struct vport *c, const char *arg,
                       uint32_t n)
{
    char name[VPORT_NAME_MAX + 8];
    uint32_t stem = (uint32_t)strlen(c->name) - 4; /* without ".ctl" */
    struct vport *d;
    uint64_t want;

    if (parse_u64(arg, n, false, &want)) {
        say(c, "error bad-length\n");
        return;
    }
    memcpy(name, c->name, stem);
    memcpy(name + stem, ".data", 5);
    d = vport_find(tg, name, stem + 5);
    if (!d) {
        say(c, "error no-data-port\n");
        return;
    }
    if (d->asker) {
        say(c, "error busy\n");
        return;
    }
    sha256_init(&d->sha);
    d->asker = c;
    d->want = d->total = want;
    d->t0 = rdtsc();
    if (!want)
        data_done(tg, d);
}

void vportsrv_command(struct tg *tg, struct vport *p, const char *l, uint32_t n)
{
    if (n == 4 && !memcmp(l, "quit", 4)) {
        say(p, "bye\n");
        tg->dev.vport->quit = true;
    } else if (n > 7 && !memcmp(l, "sha256 ", 7)) {
        cmd_sha256(tg, p, l + 7, n - 7);
    } else if (n) {
        say(p, "error unknown-command\n");
    }
}

/* Lines of a ctl port, one command each ("\r\n" or "\n"). */
static int ctl_rx(struct tg *tg, struct vport *p)
{
    int work = 0;

    while (vport_rx_next(p)) {
        const uint8_t *b = p->vd->buf[p->id][p->cur];

        while (p->cur_off < p->cur_len) {
            char c = (char)b[p->cur_off++];

            if (c != '\n') {
                if (p->line_len < VPORT_LINE_MAX)
                    p->line[p->line_len++] = c;
                else
                    p->line_long = true;
                continue;
            }
            if (p->line_len && p->line[p->line_len - 1] == '\r')
                p->line_len--;
            if (p->line_long)
                say(p, "error line-too-long\n");
            else
                vportsrv_command(tg, p, p->line, p->line_len);
            p->line_len = 0;
            p->line_long = false;
        }
        vport_rx_done(p);
        work++;
    }
    return work;
}

/* A data port hashes only while a command waits for it; otherwise its
 * bytes stay in the used ring and the host waits (back-pressure). */
static int data_rx(struct tg *tg, struct vport *p)
{
    int work = 0;

    while (p->asker && vport_rx_next(p)) {
        uint32_t have = p->cur_len - p->cur_off;
        uint32_t k = p->want < have ? (uint32_t)p->want : have;
        struct sha_job j = {
            .s = &p->sha, .p = p->vd->buf[p->id][p->cur] + p->cur_off, .n = k};

        user_call(sha_ring3, (uint64_t)&j, 0);
        p->cur_off += k;
        p->want -= k;
        if (p->cur_off == p->cur_len)
            vport_rx_done(p);
        if (!p->want)
            data_done(tg, p);
        work++;
    }
    return work;
}

int vportsrv_rx(struct tg *tg, struct vport *p)
{
    int work = 0;

    switch (p->role) {
    case VPORT_ECHO:
        while (vport_rx_next(p) && !vport_echo_cur(p))
            work++;
        return work;
    case VPORT_CTL:
        return ctl_rx(tg, p);
    case VPORT_DATA:
        return data_rx(tg, p);
    default: /* read and counted, nothing more */
        while (vport_rx_next(p)) {
            vport_rx_done(p);
            work++;
        }
        return work;
    }
}
