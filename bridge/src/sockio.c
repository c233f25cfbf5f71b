/* SPDX-License-Identifier: MIT */
/*
 * Batched socket I/O for Paho's receive thread: see sockio.h for why and
 * what. The receive side (rx) is touched by the receive thread only; the
 * output side (tx) and the socket's identity are shared with the threads
 * that write to, shut down or close the socket, under `mu` (taken once per
 * refill, per buffered write and per flush, never per served recv).
 */
#define _GNU_SOURCE
#undef _FORTIFY_SOURCE /* we define recv() and poll() themselves */
#include "sockio.h"

#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define RX_CAP (64 * 1024) /* read-ahead: ~250 PUBLISHes of 250 bytes */
#define TX_CAP (16 * 1024) /* output kept while the kernel refuses it */
#define TX_SMALL 64        /* writes up to this size are buffered */
#define TX_FLUSH 256       /* buffered output is sent at this size (64 PUBACKs) */
#define RCV_THREAD "MQTTAsync_rcv"

static struct {
    ssize_t (*recv)(int, void *, size_t, int);
    int (*poll)(struct pollfd *, nfds_t, int);
    ssize_t (*writev)(int, const struct iovec *, int);
    int (*shutdown)(int, int);
    int (*close)(int);
} real;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

static atomic_int enabled;
static atomic_int sock_fd = -1;  /* the socket being batched, -1 none (writes under mu) */
static atomic_uint_fast64_t gen; /* bumped (under mu) whenever that socket is dropped */

static struct { /* the receive thread's read-ahead */
    int fd;
    uint64_t gen; /* `gen` when filled: the bytes are valid while it is unchanged */
    size_t off, len;
    unsigned char buf[RX_CAP];
} rx = { .fd = -1 };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct { /* buffered output of sock_fd, under mu */
    size_t len;
    unsigned char buf[TX_CAP];
} tx;

static struct {
    atomic_uint_fast64_t reads, bytes_ahead, served, polls_saved, writes, sends, dropped;
} st;

static _Thread_local signed char t_role; /* 0 unknown, 1 Paho's receive thread, -1 other */

static void resolve_one(void *slot, size_t size, const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);

    if (p == NULL) { /* cannot happen with glibc: nothing to forward to */
        fprintf(stderr, "asyncbridge: sockio: dlsym(%s): %s\n", name, dlerror());
        abort();
    }
    memcpy(slot, &p, size);
}

static void resolve(void)
{
    resolve_one(&real.recv, sizeof real.recv, "recv");
    resolve_one(&real.poll, sizeof real.poll, "poll");
    resolve_one(&real.writev, sizeof real.writev, "writev");
    resolve_one(&real.shutdown, sizeof real.shutdown, "shutdown");
    resolve_one(&real.close, sizeof real.close, "close");
}

/*
 * Resolved before main, while the process has one thread, so dlsym (which
 * takes the dynamic loader's lock) never runs while another thread holds
 * that lock and waits in one of these functions for real_once.
 */
__attribute__((constructor)) static void resolve_at_start(void)
{
    pthread_once(&real_once, resolve);
}

static int on_rcv_thread(void)
{
    if (t_role == 0) {
        char name[17] = "";

        t_role = prctl(PR_GET_NAME, name, 0, 0, 0) == 0 && strcmp(name, RCV_THREAD) == 0 ? 1 : -1;
    }
    return t_role > 0;
}

static int batching(void)
{
    return atomic_load_explicit(&enabled, memory_order_relaxed) && on_rcv_thread();
}

static void count(atomic_uint_fast64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* Input is buffered for fd and still belongs to the same connection. */
static int rx_ready(int fd)
{
    return rx.fd == fd && rx.off < rx.len &&
           rx.gen == atomic_load_explicit(&gen, memory_order_acquire);
}

/*
 * Sends buffered output (mu held). 0 when it is all sent; -1 with errno:
 * EAGAIN keeps the rest, any other error drops it (the connection is
 * broken; Paho sees that on its next read or write).
 */
static int flush_locked(void)
{
    int fd = atomic_load(&sock_fd);

    while (tx.len > 0) {
        ssize_t r = send(fd, tx.buf, tx.len, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                tx.len = 0;
            return -1;
        }
        count(&st.sends, 1);
        memmove(tx.buf, tx.buf + r, tx.len - (size_t)r);
        tx.len -= (size_t)r;
    }
    return 0;
}

/* The socket fd ends (shutdown, close, reset): output goes first, input is dropped. */
static void drop_socket(int fd)
{
    int e = errno;

    pthread_mutex_lock(&mu);
    if (fd >= 0 && atomic_load(&sock_fd) == fd) {
        flush_locked();
        tx.len = 0;
        atomic_store(&sock_fd, -1);
        atomic_fetch_add_explicit(&gen, 1, memory_order_release);
        count(&st.dropped, 1);
    }
    pthread_mutex_unlock(&mu);
    errno = e;
}

/* Nothing buffered for fd: read what the caller asked for and more, in one call. */
static ssize_t refill(int fd, void *buf, size_t n)
{
    struct iovec iov[2] = { { buf, n }, { rx.buf, sizeof rx.buf } };
    struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
    ssize_t r;

    if (rx.fd != fd && rx_ready(rx.fd)) /* another socket's bytes wait: not this one */
        return real.recv(fd, buf, n, 0);
    rx.off = rx.len = 0;
    pthread_mutex_lock(&mu);
    if (atomic_load(&sock_fd) != fd) { /* batching moves to fd: the old output goes first */
        flush_locked();
        tx.len = 0;
        atomic_store(&sock_fd, fd);
    }
    rx.gen = atomic_load(&gen);
    pthread_mutex_unlock(&mu);
    rx.fd = fd;
    r = recvmsg(fd, &mh, 0);
    if (r > 0)
        count(&st.reads, 1);
    if (r <= (ssize_t)n)
        return r; /* errors (errno kept), end of stream, or no more than asked */
    rx.len = (size_t)r - n;
    count(&st.bytes_ahead, rx.len);
    return (ssize_t)n;
}

ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    pthread_once(&real_once, resolve);
    if (n == 0 || flags != 0 || !batching())
        return real.recv(fd, buf, n, flags);
    if (rx_ready(fd)) {
        size_t k = rx.len - rx.off < n ? rx.len - rx.off : n;

        memcpy(buf, rx.buf + rx.off, k);
        rx.off += k;
        count(&st.served, 1);
        return (ssize_t)k;
    }
    return refill(fd, buf, n);
}

/* poll() for POLLOUT alone, answered from the output buffer: it holds output
 * of this socket (so the kernel took the previous flush) and has room. */
static int tx_room(int fd)
{
    int yes;

    pthread_mutex_lock(&mu);
    yes = atomic_load(&sock_fd) == fd && tx.len > 0 && tx.len + TX_SMALL <= sizeof tx.buf;
    pthread_mutex_unlock(&mu);
    return yes;
}

int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    nfds_t i = 0;

    pthread_once(&real_once, resolve);
    if (!batching() || rx.fd < 0)
        return real.poll(fds, n, timeout);
    while (i < n && fds[i].fd != rx.fd)
        i++;
    if (i < n && (fds[i].events & POLLIN) && rx_ready(rx.fd)) {
        int r;

        if (n == 1 && !(fds[0].events & POLLOUT)) {
            fds[0].revents = POLLIN;
            count(&st.polls_saved, 1);
            return 1;
        }
        r = real.poll(fds, n, 0); /* the others' state, without waiting */
        if (r < 0)
            return r;
        if (fds[i].revents == 0)
            r++;
        fds[i].revents |= POLLIN;
        return r;
    }
    if (i < n && n == 1 && fds[0].events == POLLOUT && tx_room(rx.fd)) {
        fds[0].revents = POLLOUT;
        count(&st.polls_saved, 1);
        return 1;
    }
    /* the kernel is asked, and the thread may wait: buffered output goes first */
    bridge_sockio_flush();
    return real.poll(fds, n, timeout);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    size_t total = 0;
    ssize_t r;
    int e;

    pthread_once(&real_once, resolve);
    if (fd < 0 || atomic_load_explicit(&sock_fd, memory_order_relaxed) != fd)
        return real.writev(fd, iov, cnt);
    for (int i = 0; i < cnt; i++)
        total += iov[i].iov_len;
    pthread_mutex_lock(&mu);
    if (atomic_load(&sock_fd) != fd) { /* dropped meanwhile */
        pthread_mutex_unlock(&mu);
        return real.writev(fd, iov, cnt);
    }
    if (total <= TX_SMALL && cnt >= 0 && on_rcv_thread()) {
        if (tx.len + total > sizeof tx.buf && flush_locked() != 0 &&
            tx.len + total > sizeof tx.buf) {
            e = errno;
            pthread_mutex_unlock(&mu);
            errno = e;
            return -1;
        }
        for (int i = 0; i < cnt; i++) {
            if (iov[i].iov_len == 0) /* Paho passes empty ones with NULL bases */
                continue;
            memcpy(tx.buf + tx.len, iov[i].iov_base, iov[i].iov_len);
            tx.len += iov[i].iov_len;
        }
        count(&st.writes, 1);
        if (tx.len >= TX_FLUSH)
            flush_locked(); /* an error shows on the next read or write */
        pthread_mutex_unlock(&mu);
        return (ssize_t)total;
    }
    /* another thread, or a large write: after the buffered bytes, in order */
    if (tx.len > 0 && flush_locked() != 0 && tx.len > 0) {
        e = errno;
        pthread_mutex_unlock(&mu);
        errno = e;
        return -1;
    }
    r = real.writev(fd, iov, cnt);
    e = errno;
    pthread_mutex_unlock(&mu);
    errno = e;
    return r;
}

int shutdown(int fd, int how)
{
    pthread_once(&real_once, resolve);
    if (fd >= 0 && atomic_load_explicit(&sock_fd, memory_order_relaxed) == fd)
        drop_socket(fd);
    return real.shutdown(fd, how);
}

int close(int fd)
{
    pthread_once(&real_once, resolve);
    if (fd >= 0 && atomic_load_explicit(&sock_fd, memory_order_relaxed) == fd)
        drop_socket(fd);
    return real.close(fd);
}

void bridge_sockio_enable(void)
{
    pthread_once(&real_once, resolve);
    atomic_store(&enabled, 1);
}

int bridge_sockio_flush(void)
{
    int rc, e;

    pthread_mutex_lock(&mu);
    rc = tx.len > 0 ? flush_locked() : 0;
    e = errno;
    pthread_mutex_unlock(&mu);
    errno = e;
    return rc;
}

void bridge_sockio_reset(void)
{
    drop_socket(atomic_load(&sock_fd));
}

void bridge_sockio_get_stats(bridge_sockio_stats *out)
{
    out->reads = atomic_load(&st.reads);
    out->bytes_ahead = atomic_load(&st.bytes_ahead);
    out->served = atomic_load(&st.served);
    out->polls_saved = atomic_load(&st.polls_saved);
    out->writes = atomic_load(&st.writes);
    out->sends = atomic_load(&st.sends);
    out->dropped = atomic_load(&st.dropped);
}
