/* SPDX-License-Identifier: MIT */
/*
 * bench_pub: a lean paced QoS 1 publisher for the latency benchmarks
 * (bench_live.py mqtt and ceiling).
 *
 *   bench_pub PORT N RATE [CLIENT_ID]
 *
 * Speaks MQTT 3.1.1 over a plain socket to 127.0.0.1:PORT (TCP_NODELAY):
 * N PUBLISH packets at QoS 1, message i due at start + i / RATE and sent on
 * its own with one send(2), PUBACKs read without blocking in between. The
 * payload is the fleet telemetry of examples/fleet.yaml on topic
 * fleet/n<i % DEVICES>/telemetry (DEVICES 100 unless given), with the wall clock (seconds modulo 100, with
 * microseconds) taken just before the send in "humidity": the receivers
 * (bench_wslat, bench_ceiling --latency) subtract it from theirs.
 *
 * Why not Paho: Paho's asynchronous client queues each message for its send
 * thread; at 10,000 msg/s it used more than a core of this 2-core machine
 * (main, send and receive threads), which left the broker and the receiver
 * short of CPU and made the latency figures those of the publisher.
 * `bench_ingest pubrate` is that Paho publisher, kept for comparison.
 *
 * Prints one line: published count, time, rate, how late the latest send was
 * against its due time, PUBACK window waits, and the process's CPU time.
 * Exit 0 when every message was acknowledged, 1 otherwise, 2 on bad
 * arguments. Prints figures, asserts nothing (never run by ctest).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WINDOW 20000          /* unacknowledged PUBLISHes at most (ids are 16-bit) */
#define ACK_WAIT_MS 30000     /* how long the end waits for the last PUBACKs */
#define USAGE                                                                           \
    "usage: bench_pub PORT(1..65535) N(1..100000000) RATE(1..1000000) [CLIENT_ID "     \
    "[DEVICES(1..1000000), default 100]]"

typedef struct pub {
    int fd;
    long sent, acked;
    unsigned char rx[4096];
    size_t rx_len;
} pub;

static double mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int send_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* MQTT remaining length (variable byte integer); returns its size. */
static size_t put_varint(unsigned char *p, size_t v)
{
    size_t n = 0;

    do {
        unsigned char b = v % 128;

        v /= 128;
        p[n++] = (unsigned char)(b | (v ? 0x80 : 0));
    } while (v);
    return n;
}

/*
 * Reads what has arrived (blocking up to timeout_ms when > 0, else not at
 * all) and counts PUBACKs. Returns 0, or -1 on a closed connection, an
 * error or a packet that is not a PUBACK.
 */
static int read_acks(pub *p, int timeout_ms)
{
    if (timeout_ms > 0) {
        struct pollfd pfd = { .fd = p->fd, .events = POLLIN };

        if (poll(&pfd, 1, timeout_ms) <= 0)
            return 0;
    }
    for (;;) {
        ssize_t r = recv(p->fd, p->rx + p->rx_len, sizeof(p->rx) - p->rx_len, MSG_DONTWAIT);
        size_t off = 0;

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (r <= 0) {
            fprintf(stderr, "bench_pub: connection closed by the broker\n");
            return -1;
        }
        p->rx_len += (size_t)r;
        while (p->rx_len - off >= 4) { /* PUBACK: 0x40 0x02 id id */
            if (p->rx[off] != 0x40 || p->rx[off + 1] != 0x02) {
                fprintf(stderr, "bench_pub: unexpected packet 0x%02x from the broker\n",
                        p->rx[off]);
                return -1;
            }
            p->acked++;
            off += 4;
        }
        memmove(p->rx, p->rx + off, p->rx_len - off);
        p->rx_len -= off;
    }
}

static int mqtt_connect(pub *p, int port, const char *id)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    unsigned char pkt[128], ack[4];
    size_t idlen = strlen(id), n = 0;
    int one = 1;
    size_t got = 0;

    if (idlen > 64)
        return -1;
    p->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (p->fd < 0 || connect(p->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
        fprintf(stderr, "bench_pub: connect to 127.0.0.1:%d: %s\n", port, strerror(errno));
        return -1;
    }
    pkt[n++] = 0x10; /* CONNECT */
    n += put_varint(pkt + n, 10 + 2 + idlen);
    memcpy(pkt + n, "\x00\x04MQTT\x04\x02\x00\x3c", 10); /* 3.1.1, clean, keepalive 60 */
    n += 10;
    pkt[n++] = (unsigned char)(idlen >> 8);
    pkt[n++] = (unsigned char)idlen;
    memcpy(pkt + n, id, idlen);
    n += idlen;
    if (send_all(p->fd, pkt, n) != 0)
        return -1;
    while (got < sizeof(ack)) {
        ssize_t r = recv(p->fd, ack + got, sizeof(ack) - got, 0);

        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    if (ack[0] != 0x20 || ack[1] != 0x02 || ack[3] != 0) {
        fprintf(stderr, "bench_pub: connection refused (CONNACK code %u)\n", ack[3]);
        return -1;
    }
    return 0;
}

static long parse_arg(const char *s, long lo, long hi)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    return v;
}

int main(int argc, char **argv)
{
    pub p = { .fd = -1 };
    long port, n, rate, waits = 0, devices = 100;
    double t0, max_late = 0, elapsed;
    char id[72];
    struct rusage ru;

    if (argc < 4 || argc > 6 || (port = parse_arg(argv[1], 1, 65535)) < 0 ||
        (n = parse_arg(argv[2], 1, 100000000)) < 0 ||
        (rate = parse_arg(argv[3], 1, 1000000)) < 0 || (argc >= 5 && strlen(argv[4]) > 64) ||
        (argc == 6 && (devices = parse_arg(argv[5], 1, 1000000)) < 0)) {
        fprintf(stderr, "%s\n", USAGE);
        return 2;
    }
    snprintf(id, sizeof(id), "%s", argc >= 5 ? argv[4] : "bench-pub");
    if (mqtt_connect(&p, (int)port, id) != 0)
        return 1;
    t0 = mono_s();
    for (long i = 0; i < n; i++) {
        double due = t0 + (double)i / (double)rate, late;
        unsigned char pkt[256];
        char topic[32], payload[160];
        struct timespec wall;
        size_t tl, pl, n_pkt = 0;
        unsigned id16 = (unsigned)(i % 65535) + 1;

        if (read_acks(&p, 0) != 0)
            goto fail;
        while (p.sent - p.acked >= WINDOW) {
            waits++;
            if (read_acks(&p, 100) != 0)
                goto fail;
        }
        late = mono_s() - due;
        if (late < 0) {
            struct timespec ts = { .tv_sec = (time_t)due,
                                   .tv_nsec = (long)((due - (double)(time_t)due) * 1e9) };

            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        } else if (late > max_late) {
            max_late = late;
        }
        tl = (size_t)snprintf(topic, sizeof(topic), "fleet/n%ld/telemetry", i % devices);
        clock_gettime(CLOCK_REALTIME, &wall);
        pl = (size_t)snprintf(payload, sizeof(payload),
                              "{\"seq\":%ld,\"ts\":\"2026-11-23T10:15:00Z\",\"temperature\":21.5,"
                              "\"humidity\":%.6f}",
                              i, (double)(wall.tv_sec % 100) + (double)wall.tv_nsec / 1e9);
        pkt[n_pkt++] = 0x32; /* PUBLISH, QoS 1 */
        n_pkt += put_varint(pkt + n_pkt, 2 + tl + 2 + pl);
        pkt[n_pkt++] = (unsigned char)(tl >> 8);
        pkt[n_pkt++] = (unsigned char)tl;
        memcpy(pkt + n_pkt, topic, tl);
        n_pkt += tl;
        pkt[n_pkt++] = (unsigned char)(id16 >> 8);
        pkt[n_pkt++] = (unsigned char)id16;
        memcpy(pkt + n_pkt, payload, pl);
        n_pkt += pl;
        if (send_all(p.fd, pkt, n_pkt) != 0) {
            fprintf(stderr, "bench_pub: send: %s\n", strerror(errno));
            goto fail;
        }
        p.sent++;
    }
    elapsed = mono_s() - t0;
    {
        double deadline = mono_s() + ACK_WAIT_MS / 1000.0;

        while (p.acked < p.sent && mono_s() < deadline)
            if (read_acks(&p, 100) != 0)
                goto fail;
    }
    (void)send_all(p.fd, (const unsigned char *)"\xe0\x00", 2); /* DISCONNECT */
    close(p.fd);
    getrusage(RUSAGE_SELF, &ru);
    printf("published %ld in %.3f s at %ld msg/s (latest send %.2f ms after its due time, "
           "PUBACK window full %ld times, %ld acknowledged), publisher cpu %.2f s\n",
           p.sent, elapsed, rate, max_late * 1e3, waits, p.acked,
           (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
    return p.acked == n ? 0 : 1;
fail:
    if (p.fd >= 0)
        close(p.fd);
    fprintf(stderr, "bench_pub: stopped after %ld sent, %ld acknowledged\n", p.sent, p.acked);
    return 1;
}
