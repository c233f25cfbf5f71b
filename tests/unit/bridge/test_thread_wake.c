/* SPDX-License-Identifier: MIT */
/*
 * thread_wake: a named thread sleeping in nanosleep is woken (its sleep
 * returns EINTR); threads with another name, or blocked elsewhere, are
 * left alone; a signal that still reaches a blocked read restarts it.
 */
#define _GNU_SOURCE
#include "test.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "thread_wake.h"

typedef struct sleeper {
    const char *name;
    long ms;        /* how long to sleep */
    int rc;         /* nanosleep's result */
    int err;        /* its errno */
    int fd;         /* reader: the pipe to read */
    ssize_t got;    /* reader: read's result */
} sleeper;

static void *sleep_main(void *arg)
{
    sleeper *s = arg;
    struct timespec ts = { .tv_sec = s->ms / 1000, .tv_nsec = (s->ms % 1000) * 1000000L };

    prctl(PR_SET_NAME, s->name, 0, 0, 0);
    errno = 0;
    s->rc = nanosleep(&ts, NULL);
    s->err = errno;
    return NULL;
}

static void *read_main(void *arg)
{
    sleeper *s = arg;
    char c;

    prctl(PR_SET_NAME, s->name, 0, 0, 0);
    errno = 0;
    s->got = read(s->fd, &c, 1);
    s->err = errno;
    return NULL;
}

static void pause_ms(long ms)
{
    struct timespec ts = { .tv_sec = 0, .tv_nsec = ms * 1000000L };

    nanosleep(&ts, NULL);
}

/* Calls bridge_thread_wake(name) every ms until it signals a thread (<= 2 s). */
static int wake_until_signalled(const char *name)
{
    int n = 0;

    for (int i = 0; i < 2000 && n == 0; i++) {
        n = bridge_thread_wake(name);
        if (n == 0)
            pause_ms(1);
    }
    return n;
}

TEST(thread_wake, wakes_a_sleeping_thread_by_name)
{
    sleeper s = { .name = "tw-sleeper", .ms = 30000 };
    pthread_t t;

    ASSERT_EQ(bridge_thread_wake_init(), 0);
    ASSERT_EQ(bridge_thread_wake_init(), 0); /* idempotent */
    ASSERT_EQ(pthread_create(&t, NULL, sleep_main, &s), 0);
    ASSERT_EQ(wake_until_signalled("tw-sleeper"), 1);
    pthread_join(t, NULL);
    ASSERT_EQ(s.rc, -1); /* the 30 s sleep was cut short */
    ASSERT_EQ(s.err, EINTR);
}

TEST(thread_wake, leaves_other_names_and_other_calls_alone)
{
    sleeper other = { .name = "tw-other", .ms = 300 };
    sleeper reader = { .name = "tw-reader" };
    pthread_t to, tr;
    int p[2];

    ASSERT_EQ(bridge_thread_wake_init(), 0);
    ASSERT_EQ(pipe(p), 0);
    reader.fd = p[0];
    ASSERT_EQ(pthread_create(&to, NULL, sleep_main, &other), 0);
    ASSERT_EQ(pthread_create(&tr, NULL, read_main, &reader), 0);
    pause_ms(50); /* both blocked by now */
    /* no thread of that name sleeps: the reader is in read(), not a sleep */
    ASSERT_EQ(bridge_thread_wake("tw-reader"), 0);
    ASSERT_EQ(bridge_thread_wake("tw-nobody"), 0);
    ASSERT_EQ(write(p[1], "x", 1), 1);
    pthread_join(tr, NULL);
    pthread_join(to, NULL);
    ASSERT_EQ(reader.got, 1);
    ASSERT_EQ(other.rc, 0); /* slept its full 300 ms */
    close(p[0]);
    close(p[1]);
}

TEST(thread_wake, a_stray_signal_restarts_a_blocked_read)
{
    sleeper reader = { .name = "tw-reader2" };
    pthread_t tr;
    int p[2];

    /* the race the header describes: the thread left its sleep and blocks elsewhere */
    ASSERT_EQ(bridge_thread_wake_init(), 0);
    ASSERT_EQ(pipe(p), 0);
    reader.fd = p[0];
    ASSERT_EQ(pthread_create(&tr, NULL, read_main, &reader), 0);
    pause_ms(50);
    ASSERT_EQ(pthread_kill(tr, SIGURG), 0);
    pause_ms(50);
    ASSERT_EQ(write(p[1], "y", 1), 1);
    pthread_join(tr, NULL);
    ASSERT_EQ(reader.got, 1); /* SA_RESTART: read went on, no EINTR */
    close(p[0]);
    close(p[1]);
}
