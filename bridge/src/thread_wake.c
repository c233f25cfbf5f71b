/* SPDX-License-Identifier: MIT */
/*
 * Waking a named thread out of a timed sleep: see thread_wake.h.
 */
#define _GNU_SOURCE
#include "thread_wake.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static atomic_int installed; /* 1: our handler owns SIGURG */

static void on_wake(int sig)
{
    (void)sig; /* the interruption is the point */
}

int bridge_thread_wake_init(void)
{
    struct sigaction old, sa;

    if (atomic_load(&installed))
        return 0;
    if (sigaction(SIGURG, NULL, &old) != 0)
        return -1;
    if (old.sa_handler == on_wake) {
        atomic_store(&installed, 1);
        return 0;
    }
    if (old.sa_handler != SIG_DFL || (old.sa_flags & SA_SIGINFO))
        return -1; /* someone else uses SIGURG: leave it alone */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_wake;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGURG, &sa, NULL) != 0)
        return -1;
    atomic_store(&installed, 1);
    return 0;
}

/* Reads /proc/self/task/<tid>/<what> into buf (NUL-terminated); length or -1. */
static ssize_t read_task_file(const char *tid, const char *what, char *buf, size_t size)
{
    char path[64];
    ssize_t n;
    int fd;

    if (snprintf(path, sizeof(path), "/proc/self/task/%s/%s", tid, what) >= (int)sizeof(path))
        return -1;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return n;
}

/* Whether the syscall file says the thread is blocked in a sleep call. */
static int in_sleep(const char *syscall_line)
{
    char *end;
    long nr = strtol(syscall_line, &end, 10);

    if (end == syscall_line) /* "running" */
        return 0;
    return nr == SYS_clock_nanosleep || nr == SYS_nanosleep;
}

int bridge_thread_wake(const char *name)
{
    DIR *dir;
    struct dirent *de;
    int woken = 0;
    pid_t pid = getpid();

    if (!atomic_load(&installed))
        return -1;
    dir = opendir("/proc/self/task");
    if (dir == NULL)
        return -1;
    while ((de = readdir(dir)) != NULL) {
        char buf[128];
        ssize_t n;

        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        n = read_task_file(de->d_name, "comm", buf, sizeof(buf));
        if (n <= 0)
            continue; /* the thread ended meanwhile */
        if (buf[n - 1] == '\n')
            buf[n - 1] = '\0';
        if (strcmp(buf, name) != 0)
            continue;
        if (read_task_file(de->d_name, "syscall", buf, sizeof(buf)) <= 0 || !in_sleep(buf))
            continue;
        if (syscall(SYS_tgkill, pid, (pid_t)atoi(de->d_name), SIGURG) == 0)
            woken++;
    }
    closedir(dir);
    return woken;
}
