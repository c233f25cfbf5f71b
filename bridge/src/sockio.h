/* SPDX-License-Identifier: MIT */
/*
 * Batched socket I/O for Paho MQTT C's receive thread (Linux, plain TCP).
 *
 * Why: Paho 1.3.12 spends 7 system calls on every QoS 1 message it
 * receives (strace of a backlog drain): poll(POLLOUT, 0) and
 * poll(POLLIN) to find a ready socket, recv() of the header byte, of each
 * remaining-length byte (two for a 150-byte PUBLISH) and of the rest, and
 * a writev() of the 4-byte PUBACK. That is most of the receive thread's
 * time per message, and each PUBACK is one more wake-up and read for the
 * broker.
 *
 * How: sockio.c defines recv(), poll(), writev(), shutdown() and close()
 * in the executable. The dynamic linker binds the shared libraries' calls
 * to them (an executable's definitions come first in symbol lookup); each
 * forwards to the C library's function (dlsym RTLD_NEXT) unless batching
 * is enabled and the caller is Paho's receive thread (the thread named
 * "MQTTAsync_rcv"). For that thread, on the socket it reads from:
 *
 * - recv() with nothing buffered reads the caller's bytes and up to
 *   64 KiB more in one recvmsg(); the next recv()s are served from that
 *   buffer, without a system call, until it is empty.
 * - poll() for POLLIN alone while input is buffered returns POLLIN at once
 *   (with other descriptors or events: the kernel is polled with timeout 0
 *   and POLLIN added). poll() for POLLOUT alone while output is buffered
 *   and fits returns POLLOUT.
 * - writev() of at most 64 bytes (a PUBACK is 4) is appended to an output
 *   buffer, sent when it holds 256 bytes, before the thread polls the
 *   kernel (no input is buffered: it may block), before another thread
 *   writes to the socket (so bytes keep their order on the wire), before
 *   shutdown() or close() of it, and on bridge_sockio_flush(). If the
 *   kernel takes only part, the rest stays buffered and writes wait behind
 *   it (EAGAIN, which Paho handles as a socket not ready for writing).
 *
 * One socket is batched at a time (Paho's client holds one): the receive
 * thread's reads of another socket go to the C library while the first
 * one's read-ahead is not used up; once it is, the other becomes the
 * batched one (the first one's buffered output is sent first).
 *
 * Delaying an acknowledgement is safe: Paho writes it only after
 * messageArrived returned (docs/ingest.md, Durability); it goes out a
 * little later, never earlier. The buffered input belongs to one
 * connection: shutdown() or close() of the socket by any thread, and
 * bridge_sockio_reset(), drop it, so a new connection that reuses the
 * descriptor number never sees the old one's bytes. TLS connections are
 * not batched: OpenSSL reads and writes with read()/write(), which this
 * module leaves alone. Everything else in the process (libwebsockets,
 * SQLite, other threads) goes straight to the C library.
 */
#ifndef BRIDGE_SOCKIO_H
#define BRIDGE_SOCKIO_H

#include <stdint.h>

/* Turns batching on for the whole process (off by default). There is no
 * turning it off: input already read ahead must be served from the buffer. */
void bridge_sockio_enable(void);

/* Sends buffered output now (any thread). Returns 0, or -1 with errno if
 * the kernel refused (EAGAIN: the rest stays buffered). */
int bridge_sockio_flush(void);

/* Forgets the socket: buffered output is sent (best effort) and buffered
 * input dropped. mqtt_in.c calls it before every connect. */
void bridge_sockio_reset(void);

typedef struct bridge_sockio_stats {
    uint64_t reads;        /* recvmsg() calls that got bytes (for the caller and ahead) */
    uint64_t bytes_ahead;  /* bytes they read beyond what the caller asked */
    uint64_t served;       /* recv() calls answered from the buffer */
    uint64_t polls_saved;  /* poll() calls answered without the kernel */
    uint64_t writes;       /* writev() calls buffered */
    uint64_t sends;        /* send() calls that emptied (part of) the output */
    uint64_t dropped;      /* times buffered input was dropped (shutdown, close, reset) */
} bridge_sockio_stats;

void bridge_sockio_get_stats(bridge_sockio_stats *out);

#endif
