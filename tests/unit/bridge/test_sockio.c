/* SPDX-License-Identifier: MIT */
/*
 * sockio: Paho's receive thread gets the same bytes, in the same order,
 * with far fewer system calls; its acknowledgements reach the peer in
 * order, before another thread's writes and before a shutdown; a new
 * connection on a reused descriptor never sees the old one's bytes; a
 * kernel that refuses output bounds the buffer; other threads are not
 * touched. Real TCP connections on 127.0.0.1.
 *
 * Steps that must run as Paho's receive thread run in a short-lived
 * thread named "MQTTAsync_rcv" (on_rcv); the main thread plays the other
 * threads and checks what the peer received.
 */
#define _GNU_SOURCE
#include "test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sockio.h"

/* A connected TCP pair on 127.0.0.1: `me` (non-blocking, as Paho's) and `peer`. */
typedef struct conn {
    int me, peer;
} conn;

static int tcp_pair(conn *c)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    int l = socket(AF_INET, SOCK_STREAM, 0);

    c->me = c->peer = -1;
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1) != 0 ||
        getsockname(l, (struct sockaddr *)&a, &al) != 0)
        goto fail;
    c->me = socket(AF_INET, SOCK_STREAM, 0);
    if (c->me < 0 || connect(c->me, (struct sockaddr *)&a, sizeof a) != 0)
        goto fail;
    c->peer = accept(l, NULL, NULL);
    if (c->peer < 0 || fcntl(c->me, F_SETFL, O_NONBLOCK) != 0)
        goto fail;
    close(l);
    return 0;
fail:
    close(l);
    return -1;
}

static void conn_close(conn *c)
{
    if (c->me >= 0)
        close(c->me);
    if (c->peer >= 0)
        close(c->peer);
}

/* Runs fn(arg) in a thread named like Paho's receive thread and waits for it. */
typedef struct rcv_call {
    void (*fn)(void *);
    void *arg;
} rcv_call;

static void *rcv_main(void *p)
{
    rcv_call *c = p;

    prctl(PR_SET_NAME, "MQTTAsync_rcv", 0, 0, 0);
    c->fn(c->arg);
    return NULL;
}

static void on_rcv(void (*fn)(void *), void *arg)
{
    rcv_call c = { fn, arg };
    pthread_t t;

    if (pthread_create(&t, NULL, rcv_main, &c) == 0)
        pthread_join(t, NULL);
}

/* An MQTT-like packet: type byte, remaining length (varint), body of `len` bytes
 * whose bytes are (seq + i) & 0xff. Returns its size. */
static size_t packet(unsigned char *p, unsigned seq, size_t len)
{
    size_t n = 0, rl = len;

    p[n++] = 0x32;
    do {
        p[n] = rl & 0x7f;
        rl >>= 7;
        p[n++] |= rl ? 0x80 : 0;
    } while (rl);
    for (size_t i = 0; i < len; i++)
        p[n++] = (unsigned char)(seq + i);
    return n;
}

static int send_all(int fd, const void *b, size_t n)
{
    const unsigned char *p = b;

    while (n > 0) {
        ssize_t r = send(fd, p, n, MSG_NOSIGNAL);

        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* What the peer can read now, without waiting (up to cap bytes). */
static ssize_t peer_read_now(int fd, unsigned char *b, size_t cap)
{
    ssize_t got = 0;

    while ((size_t)got < cap) {
        ssize_t r = recv(fd, b + got, cap - (size_t)got, MSG_DONTWAIT);

        if (r <= 0)
            break;
        got += r;
    }
    return got;
}

/* Reads exactly n bytes (blocking, 5 s at most), as Paho does: poll, then recv. */
static int rcv_read(int fd, unsigned char *b, size_t n)
{
    size_t got = 0;

    while (got < n) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t r = recv(fd, b + got, n - got, 0);

        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            return -1;
        if (poll(&p, 1, 5000) <= 0)
            return -1;
    }
    return 0;
}

static ssize_t ack(int fd, unsigned seq)
{
    unsigned char h[2] = { 0x40, 0x02 }, id[2] = { (unsigned char)(seq >> 8), (unsigned char)seq };
    struct iovec iov[2] = { { h, 2 }, { id, 2 } };

    return writev(fd, iov, 2);
}

/* ---- a stream of packets read the way Paho reads them ------------------ */

#define N_PACKETS 3000

typedef struct stream {
    conn c;
    int ok, bad_at;
    unsigned got;
} stream;

static void *stream_writer(void *p)
{
    stream *s = p;
    static unsigned char buf[N_PACKETS * 420];
    size_t n = 0, off = 0;
    unsigned r = 12345;

    for (unsigned i = 0; i < N_PACKETS; i++) {
        r = r * 1103515245u + 12345u;
        n += packet(buf + n, i, 1 + (r >> 16) % 400); /* 1- and 2-byte lengths */
    }
    while (off < n) { /* odd chunk sizes, so packets straddle the reads */
        size_t k = 1 + (off * 7919) % 5000;

        if (k > n - off)
            k = n - off;
        if (send_all(s->c.peer, buf + off, k) != 0)
            break;
        off += k;
    }
    return NULL;
}

static void stream_read(void *p)
{
    stream *s = p;
    unsigned char body[512];

    s->ok = 1;
    for (unsigned i = 0; i < N_PACKETS; i++) {
        unsigned char b;
        size_t len = 0;
        int shift = 0;

        if (rcv_read(s->c.me, &b, 1) != 0 || b != 0x32)
            goto bad;
        do { /* one recv per length byte, as Paho */
            if (rcv_read(s->c.me, &b, 1) != 0)
                goto bad;
            len |= (size_t)(b & 0x7f) << shift;
            shift += 7;
        } while (b & 0x80);
        if (len > sizeof body || rcv_read(s->c.me, body, len) != 0)
            goto bad;
        for (size_t k = 0; k < len; k++)
            if (body[k] != (unsigned char)(i + k))
                goto bad;
        if (ack(s->c.me, i) != 4)
            goto bad;
        s->got++;
    }
    {   /* Paho polls again when it runs out of input: the acks go out then */
        struct pollfd pf = { .fd = s->c.me, .events = POLLIN };

        poll(&pf, 1, 50);
    }
    return;
bad:
    s->ok = 0;
    s->bad_at = (int)s->got;
}

TEST(sockio, stream_same_bytes_fewer_calls)
{
    stream s = { .ok = 0 };
    bridge_sockio_stats a, b;
    static unsigned char acks[N_PACKETS * 4];
    pthread_t w;

    bridge_sockio_enable();
    ASSERT_EQ(tcp_pair(&s.c), 0);
    bridge_sockio_get_stats(&a);
    ASSERT_EQ(pthread_create(&w, NULL, stream_writer, &s), 0);
    on_rcv(stream_read, &s);
    pthread_join(w, NULL);
    bridge_sockio_get_stats(&b);
    if (!s.ok)
        test_fail(__FILE__, __LINE__, "packet %d read wrong", s.bad_at);
    ASSERT_EQ(s.got, N_PACKETS);
    /* 5 recv calls per packet; the read-ahead answered most of them */
    ASSERT_GT(b.served - a.served, 3 * N_PACKETS);
    ASSERT_LT(b.reads - a.reads, N_PACKETS / 4);
    ASSERT_EQ(b.writes - a.writes, N_PACKETS);
    ASSERT_LT(b.sends - a.sends, N_PACKETS / 8);
    /* every acknowledgement arrived, in order */
    ASSERT_EQ(peer_read_now(s.c.peer, acks, sizeof acks), (ssize_t)sizeof acks);
    for (unsigned i = 0; i < N_PACKETS; i++)
        if (acks[4 * i] != 0x40 || acks[4 * i + 2] != (unsigned char)(i >> 8) ||
            acks[4 * i + 3] != (unsigned char)i) {
            test_fail(__FILE__, __LINE__, "ack %u is wrong", i);
            break;
        }
    conn_close(&s.c);
}

/* ---- small steps ---------------------------------------------------------- */

typedef struct step {
    conn *c;
    unsigned char buf[64];
    ssize_t r;
    int err;
    struct pollfd pf[2];
    int npf;
} step;

static void step_recv1(void *p) /* reads one byte (the read-ahead takes the rest) */
{
    step *s = p;

    s->r = rcv_read(s->c->me, s->buf, 1) == 0 ? 1 : -1;
}

static void step_recv_now(void *p) /* one recv, no waiting */
{
    step *s = p;

    errno = 0;
    s->r = recv(s->c->me, s->buf, sizeof s->buf, 0);
    s->err = errno;
}

static void step_poll(void *p)
{
    step *s = p;

    s->r = poll(s->pf, (nfds_t)s->npf, 0);
}

static void step_ack3(void *p)
{
    step *s = p;

    s->r = 0;
    for (unsigned i = 1; i <= 3; i++)
        s->r += ack(s->c->me, i);
}

static void step_ack10(void *p)
{
    step *s = p;

    s->r = 0;
    for (unsigned i = 1; i <= 10; i++)
        s->r += ack(s->c->me, i);
}

static void step_ack64(void *p)
{
    step *s = p;

    s->r = 0;
    for (unsigned i = 0; i < 64; i++)
        s->r += ack(s->c->me, 100 + i);
}

static void step_pingreq(void *p) /* as Paho writes it: an empty iovec with a NULL base */
{
    step *s = p;
    unsigned char h[2] = { 0xc0, 0x00 };
    struct iovec iov[2] = { { h, 2 }, { NULL, 0 } };
    struct pollfd pf = { .fd = s->c->me, .events = POLLIN };

    s->r = writev(s->c->me, iov, 2);
    poll(&pf, 1, 0); /* no input: the buffered bytes go out */
}

TEST(sockio, poll_answers_from_buffered_input)
{
    conn c;
    step s = { .c = &c };
    bridge_sockio_stats a, b;
    int pipefd[2];
    struct pollfd kp;

    bridge_sockio_enable();
    ASSERT_EQ(tcp_pair(&c), 0);
    ASSERT_EQ(send_all(c.peer, "abcdef", 6), 0);
    on_rcv(step_recv1, &s); /* "a"; "bcdef" read ahead */
    ASSERT_EQ(s.r, 1);
    ASSERT_EQ(s.buf[0], 'a');
    /* the kernel has nothing left for this socket ... */
    kp = (struct pollfd){ .fd = c.me, .events = POLLIN };
    ASSERT_EQ(poll(&kp, 1, 0), 0); /* main thread: not batched, the kernel answers */
    /* ... but the receive thread is told there is input */
    bridge_sockio_get_stats(&a);
    s.pf[0] = (struct pollfd){ .fd = c.me, .events = POLLIN };
    s.npf = 1;
    on_rcv(step_poll, &s);
    bridge_sockio_get_stats(&b);
    ASSERT_EQ(s.r, 1);
    ASSERT_EQ(s.pf[0].revents, POLLIN);
    ASSERT_EQ(b.polls_saved - a.polls_saved, 1);
    /* with another descriptor too: both reported */
    ASSERT_EQ(pipe(pipefd), 0);
    ASSERT_EQ(write(pipefd[1], "x", 1), 1);
    s.pf[0] = (struct pollfd){ .fd = c.me, .events = POLLIN };
    s.pf[1] = (struct pollfd){ .fd = pipefd[0], .events = POLLIN };
    s.npf = 2;
    on_rcv(step_poll, &s);
    ASSERT_EQ(s.r, 2);
    ASSERT(s.pf[0].revents & POLLIN);
    ASSERT(s.pf[1].revents & POLLIN);
    /* the buffered bytes come next, then the kernel's EAGAIN */
    on_rcv(step_recv_now, &s);
    ASSERT_EQ(s.r, 5);
    ASSERT(memcmp(s.buf, "bcdef", 5) == 0);
    on_rcv(step_recv_now, &s);
    ASSERT_EQ(s.r, -1);
    ASSERT_EQ(s.err, EAGAIN);
    close(pipefd[0]);
    close(pipefd[1]);
    conn_close(&c);
}

TEST(sockio, acks_wait_for_a_poll_or_256_bytes)
{
    conn c;
    step s = { .c = &c };
    unsigned char got[512];

    bridge_sockio_enable();
    ASSERT_EQ(tcp_pair(&c), 0);
    ASSERT_EQ(send_all(c.peer, "p", 1), 0);
    on_rcv(step_recv1, &s); /* the socket is now the batched one */
    ASSERT_EQ(s.r, 1);
    on_rcv(step_ack10, &s);
    ASSERT_EQ(s.r, 40);
    ASSERT_EQ(peer_read_now(c.peer, got, sizeof got), 0); /* held back */
    /* "can I write?" is answered by the buffer; nothing is sent */
    s.pf[0] = (struct pollfd){ .fd = c.me, .events = POLLOUT };
    s.npf = 1;
    on_rcv(step_poll, &s);
    ASSERT_EQ(s.r, 1);
    ASSERT_EQ(s.pf[0].revents, POLLOUT);
    ASSERT_EQ(peer_read_now(c.peer, got, sizeof got), 0);
    /* a poll for input with none buffered asks the kernel: the acks go first */
    s.pf[0] = (struct pollfd){ .fd = c.me, .events = POLLIN };
    on_rcv(step_poll, &s);
    ASSERT_EQ(s.r, 0);
    ASSERT_EQ(peer_read_now(c.peer, got, sizeof got), 40);
    ASSERT_EQ(got[0], 0x40);
    ASSERT_EQ(got[39], 10);
    /* 64 acks reach 256 bytes: sent without a poll */
    on_rcv(step_ack64, &s);
    ASSERT_EQ(s.r, 256);
    ASSERT_EQ(peer_read_now(c.peer, got, sizeof got), 256);
    ASSERT_EQ(got[3], 100);
    ASSERT_EQ(got[255], 163);
    on_rcv(step_pingreq, &s);
    ASSERT_EQ(s.r, 2);
    ASSERT_EQ(peer_read_now(c.peer, got, sizeof got), 2);
    ASSERT_EQ(got[0], 0xc0);
    conn_close(&c);
}

TEST(sockio, other_threads_write_after_the_buffered_acks)
{
    conn c;
    step s = { .c = &c };
    unsigned char got[64];
    struct iovec iov = { "PINGREQ", 7 };
    bridge_sockio_stats a, b;

    bridge_sockio_enable();
    ASSERT_EQ(tcp_pair(&c), 0);
    ASSERT_EQ(send_all(c.peer, "p", 1), 0);
    on_rcv(step_recv1, &s);
    on_rcv(step_ack3, &s);
    ASSERT_EQ(peer_read_now(c.peer, got, sizeof got), 0);
    bridge_sockio_get_stats(&a);
    ASSERT_EQ(writev(c.me, &iov, 1), 7); /* the main thread: Paho's send thread */
    bridge_sockio_get_stats(&b);
    ASSERT_EQ(b.writes, a.writes); /* not buffered */
    ASSERT_EQ(peer_read_now(c.peer, got, sizeof got), 19);
    ASSERT_EQ(got[3], 1);
    ASSERT_EQ(got[11], 3);
    ASSERT(memcmp(got + 12, "PINGREQ", 7) == 0);
    conn_close(&c);
}

/* shutdown (how Paho closes) or a plain close ends the socket: buffered acks
 * are sent first, the read-ahead is dropped, and the next connection on the
 * same descriptor number reads its own bytes. */
static void end_and_reuse(int use_shutdown)
{
    conn c, c2;
    step s = { .c = &c };
    unsigned char got[64];
    bridge_sockio_stats a, b;
    int fd;

    bridge_sockio_enable();
    ASSERT_EQ(tcp_pair(&c), 0);
    ASSERT_EQ(send_all(c.peer, "OLD-BYTES", 9), 0);
    on_rcv(step_recv1, &s); /* "O"; "LD-BYTES" read ahead */
    ASSERT_EQ(s.buf[0], 'O');
    on_rcv(step_ack3, &s);
    fd = c.me;
    bridge_sockio_get_stats(&a);
    if (use_shutdown) {
        ASSERT_EQ(shutdown(fd, SHUT_WR), 0);
        ASSERT_EQ(peer_read_now(c.peer, got, sizeof got), 12); /* acks, then ... */
        ASSERT_EQ(recv(c.peer, got, sizeof got, 0), 0);        /* ... end of stream */
    }
    close(fd);
    if (!use_shutdown)
        ASSERT_EQ(peer_read_now(c.peer, got, sizeof got), 12);
    bridge_sockio_get_stats(&b);
    ASSERT_EQ(b.dropped - a.dropped, 1);
    close(c.peer);
    ASSERT_EQ(tcp_pair(&c2), 0);
    ASSERT_NE(c2.peer, fd);
    if (c2.me != fd) { /* make the new socket take the old number */
        ASSERT_EQ(dup2(c2.me, fd), fd);
        close(c2.me);
        c2.me = fd;
    }
    ASSERT_EQ(send_all(c2.peer, "new", 3), 0);
    s.c = &c2;
    on_rcv(step_recv1, &s);
    ASSERT_EQ(s.r, 1);
    ASSERT_EQ(s.buf[0], 'n');
    on_rcv(step_recv_now, &s);
    ASSERT_EQ(s.r, 2);
    ASSERT(memcmp(s.buf, "ew", 2) == 0);
    conn_close(&c2);
}

TEST(sockio, shutdown_sends_acks_and_drops_input)
{
    end_and_reuse(1);
}

TEST(sockio, close_sends_acks_and_drops_input)
{
    end_and_reuse(0);
}

/* The kernel stops taking output (the peer does not read): the buffer fills
 * to its bound and writes get EAGAIN; once the peer reads, everything
 * arrives, in order. */
typedef struct flood {
    conn *c;
    unsigned accepted;
    int eagain;
    unsigned long long drained;
    int order_ok;
} flood;

static void flood_write(void *p)
{
    flood *f = p;

    for (unsigned i = 0; i < 1000000 && !f->eagain; i++) {
        ssize_t r = ack(f->c->me, i & 0xffff);

        if (r == 4)
            f->accepted++;
        else if (r < 0 && errno == EAGAIN)
            f->eagain = 1;
        else
            break;
    }
}

static void *flood_reader(void *p)
{
    flood *f = p;
    unsigned char b[4096];
    unsigned long long at = 0;
    ssize_t r;

    f->order_ok = 1;
    while ((r = recv(f->c->peer, b, sizeof b, 0)) > 0) {
        for (ssize_t k = 0; k < r; k++, at++)
            if ((at & 3) == 3 && b[k] != (unsigned char)(at / 4))
                f->order_ok = 0;
        f->drained += (unsigned long long)r;
    }
    return NULL;
}

static void flood_flush(void *p)
{
    flood *f = p;

    for (int i = 0; i < 500; i++) { /* poll as Paho would, until all is out */
        struct pollfd pf = { .fd = f->c->me, .events = POLLIN };

        poll(&pf, 1, 10);
        if (bridge_sockio_flush() == 0)
            break;
    }
}

TEST(sockio, refused_output_is_bounded_and_kept_in_order)
{
    conn c;
    step s = { .c = &c };
    flood f = { .c = &c };
    int small = 4096;
    pthread_t r;

    bridge_sockio_enable();
    ASSERT_EQ(tcp_pair(&c), 0);
    setsockopt(c.me, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    setsockopt(c.peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    ASSERT_EQ(send_all(c.peer, "p", 1), 0);
    on_rcv(step_recv1, &s);
    on_rcv(flood_write, &f);
    ASSERT(f.eagain);
    ASSERT_GT(f.accepted, 1000);
    ASSERT_EQ(pthread_create(&r, NULL, flood_reader, &f), 0);
    on_rcv(flood_flush, &f);
    shutdown(c.me, SHUT_WR);
    pthread_join(r, NULL);
    ASSERT_EQ(f.drained, 4ULL * f.accepted);
    ASSERT(f.order_ok);
    conn_close(&c);
}

typedef struct two {
    conn *a, *b;
    unsigned char ga[16], gb[16];
    int ok;
} two;

static void two_read(void *p) /* a's first byte (the rest read ahead), all of b, the rest of a */
{
    two *t = p;

    t->ok = rcv_read(t->a->me, t->ga, 1) == 0 && rcv_read(t->b->me, t->gb, 6) == 0 &&
            rcv_read(t->a->me, t->ga + 1, 5) == 0;
}

TEST(sockio, a_second_socket_waits_for_the_first_ones_buffer)
{
    conn a, b;
    two t = { .a = &a, .b = &b };

    bridge_sockio_enable();
    ASSERT_EQ(tcp_pair(&a), 0);
    ASSERT_EQ(tcp_pair(&b), 0);
    ASSERT_EQ(send_all(a.peer, "AAAAAA", 6), 0);
    ASSERT_EQ(send_all(b.peer, "bbbbbb", 6), 0);
    on_rcv(two_read, &t);
    ASSERT(t.ok);
    ASSERT(memcmp(t.ga, "AAAAAA", 6) == 0);
    ASSERT(memcmp(t.gb, "bbbbbb", 6) == 0);
    conn_close(&a);
    conn_close(&b);
}

TEST(sockio, other_threads_are_not_batched)
{
    conn c;
    unsigned char b[16];
    bridge_sockio_stats a, z;

    bridge_sockio_enable();
    ASSERT_EQ(tcp_pair(&c), 0);
    ASSERT_EQ(send_all(c.peer, "xyz", 3), 0);
    bridge_sockio_get_stats(&a);
    {
        struct pollfd pf = { .fd = c.me, .events = POLLIN };

        ASSERT_EQ(poll(&pf, 1, 5000), 1);
    }
    ASSERT_EQ(recv(c.me, b, 1, 0), 1); /* the main thread reads one byte ... */
    ASSERT_EQ(recv(c.me, b + 1, sizeof b - 1, 0), 2); /* ... the kernel kept the rest */
    ASSERT(memcmp(b, "xyz", 3) == 0);
    ASSERT_EQ(ack(c.me, 7), 4);
    ASSERT_EQ(peer_read_now(c.peer, b, sizeof b), 4); /* sent at once */
    bridge_sockio_get_stats(&z);
    ASSERT_EQ(z.reads, a.reads);
    ASSERT_EQ(z.served, a.served);
    ASSERT_EQ(z.writes, a.writes);
    ASSERT_EQ(z.polls_saved, a.polls_saved);
    conn_close(&c);
}
