/* SPDX-License-Identifier: MIT */
/* The sandbox's gate (vCPUs wait for the main thread's filter) and its
 * spawner (workers are born under a filter that covers their own). */
#define LOG_TAG "seccomp"
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "hw/log.h"
#include "hw/sandbox_priv.h"

struct spawn_req {
    pthread_t *th;
    void *(*fn)(void *);
    void *arg;
    int result;
    bool done;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* any change below */
    bool open;           /* the gate */
    bool running, quit;  /* the spawner */
    int broken;          /* the spawner could not load its filter */
    pthread_t th;
    struct spawn_req *req; /* the one request being served */
} sp = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

void sandbox_gate_open(void)
{
    pthread_mutex_lock(&sp.lock);
    sp.open = true;
    pthread_cond_broadcast(&sp.cond);
    pthread_mutex_unlock(&sp.lock);
}

void sandbox_gate_wait(void)
{
    if (!sandbox_enabled())
        return;
    pthread_mutex_lock(&sp.lock);
    while (!sp.open)
        pthread_cond_wait(&sp.cond, &sp.lock);
    pthread_mutex_unlock(&sp.lock);
}

/* Every signal blocked but SIGSYS (the violation report): process
 * signals belong to the main thread's signalfd. */
static void block_all_but_sigsys(sigset_t *old)
{
    sigset_t s;
    sigfillset(&s);
    sigdelset(&s, SIGSYS);
    pthread_sigmask(SIG_SETMASK, &s, old);
}

static void *spawner_main(void *arg)
{
    (void)arg;
    int r = sandbox_enter("spawner", "spawner");
    pthread_mutex_lock(&sp.lock);
    sp.broken = r;
    for (;;) {
        while (!sp.req && !sp.quit)
            pthread_cond_wait(&sp.cond, &sp.lock);
        if (!sp.req)
            break;
        struct spawn_req *q = sp.req;
        /* Fail closed: a thread born here without the spawner's filter
         * would run unfiltered until its own. */
        q->result =
            sp.broken ? sp.broken : -pthread_create(q->th, NULL, q->fn, q->arg);
        q->done = true;
        sp.req = NULL;
        pthread_cond_broadcast(&sp.cond);
    }
    pthread_mutex_unlock(&sp.lock);
    return NULL;
}

int sandbox_spawner_start(void)
{
    sigset_t old;
    block_all_but_sigsys(&old);
    int r = pthread_create(&sp.th, NULL, spawner_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r)
        return -r;
    sp.running = true;
    return 0;
}

void sandbox_spawner_stop(void)
{
    if (!sp.running)
        return;
    pthread_mutex_lock(&sp.lock);
    sp.quit = true;
    pthread_cond_broadcast(&sp.cond);
    pthread_mutex_unlock(&sp.lock);
    pthread_join(sp.th, NULL);
    sp.running = false;
    sp.quit = false;
}

int sandbox_thread_create(pthread_t *th, void *(*fn)(void *), void *arg)
{
    if (!sp.running)
        return -pthread_create(th, NULL, fn, arg);
    struct spawn_req q = {.th = th, .fn = fn, .arg = arg};
    pthread_mutex_lock(&sp.lock);
    while (sp.req)
        pthread_cond_wait(&sp.cond, &sp.lock);
    sp.req = &q;
    pthread_cond_broadcast(&sp.cond);
    while (!q.done)
        pthread_cond_wait(&sp.cond, &sp.lock);
    pthread_mutex_unlock(&sp.lock);
    return q.result;
}
