/* SPDX-License-Identifier: MIT */
/*
 * Waking a named thread of this process out of a timed sleep (Linux).
 *
 * Why: Paho MQTT C's receive thread ("MQTTAsync_rcv") sleeps 100 ms
 * (MQTTAsync_cycle: usleep) whenever it finds no socket to poll, which is
 * the case at the moment a connect starts (the send thread creates the
 * socket a little later). So a new connection usually waited ~100 ms before
 * Paho looked at it: a restarted bridge began draining its session 100 ms
 * late. mqtt_in.c calls bridge_thread_wake() while a connect is in progress.
 *
 * How: a thread is signalled (SIGURG, empty handler, SA_RESTART) only if
 * /proc/self/task/<tid>/syscall says it is inside nanosleep or
 * clock_nanosleep at that moment; the sleep returns early (EINTR). If the
 * thread leaves the sleep between that check and the signal, the signal
 * finds it elsewhere: SA_RESTART restarts socket reads, writes and lock
 * waits, and a poll() interrupted with EINTR is taken by Paho as "nothing
 * ready" (it polls again), so nothing breaks.
 */
#ifndef BRIDGE_THREAD_WAKE_H
#define BRIDGE_THREAD_WAKE_H

/*
 * Installs the empty SIGURG handler (SA_RESTART) if SIGURG still has its
 * default disposition (ignored). Idempotent. Returns 0, or -1 if sigaction
 * failed or SIGURG is handled by someone else (then bridge_thread_wake
 * signals nothing).
 */
int bridge_thread_wake_init(void);

/*
 * Signals every thread of this process whose name (comm, at most 15
 * bytes) is `name` and that is sleeping in nanosleep/clock_nanosleep now.
 * Returns how many were signalled (0 if none sleeps), or -1 if /proc/self/task
 * cannot be read or bridge_thread_wake_init has not succeeded.
 */
int bridge_thread_wake(const char *name);

#endif
