/* SPDX-License-Identifier: MIT */
/*
 * The simulated fleet: which channels devices publish on (the application's
 * RECEIVE operations), which of them is the status/last-will channel, and
 * per device its id, its concrete topics and its series state.
 * Design notes: docs/sim.md.
 */
#ifndef SIM_FLEET_H
#define SIM_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "asyncapi/asyncapi.h"
#include "sim_gen.h"
#include "sim_rng.h"

/* A channel the devices publish on. */
typedef struct sim_chan {
    const asyncapi_channel *ch;     /* borrowed from the document */
    const asyncapi_message **msgs;  /* messages sent on it (owned array, borrowed items) */
    size_t n_msgs;                  /* >= 1 */
    int qos;                        /* from the spec's receive operations (0..2) */
    int is_status;                  /* the status / last-will channel */
    const char *status_field;       /* member holding online/offline, or NULL */
    double weight;                  /* relative share of the regular traffic */
} sim_chan;

/* One simulated device. */
typedef struct sim_device {
    char id[64];          /* device id (the device id parameter's value) */
    char **topics;        /* per channel, owned; NULL when the address can't be filled */
    sim_series **series;  /* per (channel, message) slot, owned, created lazily */
    sim_rng rng;          /* this device's payload randomness */
    size_t next_example;  /* round robin over message examples (--examples) */
    int online;           /* 1 while its client is connected (MQTT mode) */
} sim_device;

typedef struct sim_fleet {
    const asyncapi_doc *doc;  /* borrowed */
    sim_chan *chans;          /* owned */
    size_t n_chans;
    size_t *slot_base;        /* per channel: index of its first message slot */
    size_t n_slots;           /* total (channel, message) slots */
    sim_device *devs;         /* owned */
    size_t n_devs;
    int status_chan;          /* index into chans, or -1 */
    const char *device_param; /* name of the device id parameter, or NULL */
    double total_weight;      /* sum of weights of the regular channels */
} sim_fleet;

/*
 * Builds the fleet for doc with n_devices devices seeded from seed.
 * Returns 0; SIM_EINVAL when the document has no channel devices publish on
 * with a usable address (err says why); SIM_ENOMEM. On failure f is
 * released. err/errsz: message buffer (lowercase, no final period).
 */
int sim_fleet_init(sim_fleet *f, const asyncapi_doc *doc, size_t n_devices, uint64_t seed,
                   char *err, size_t errsz);

/* Frees everything f owns; the document is not touched. */
void sim_fleet_release(sim_fleet *f);

/* Picks a regular channel (weighted; the status channel only if it is the only one). */
size_t sim_fleet_pick_chan(const sim_fleet *f, sim_rng *rng);

/*
 * Makes the next payload of device d on channel c: picks a message of the
 * channel, then either an example (use_examples and the message has one) or
 * a generated payload. now: clock for timestamps.
 * Returns 0 (valid), 1 (best effort, not verified valid), SIM_ENOMEM; *out
 * and *msg set on 0/1.
 */
int sim_fleet_payload(sim_fleet *f, size_t d, size_t c, int use_examples, double now,
                      cJSON **out, const asyncapi_message **msg);

/*
 * The status payload of device d, online or offline, as text (caller frees).
 * Returns 0, SIM_EINVAL without a status channel, SIM_ENOMEM.
 */
int sim_fleet_status(sim_fleet *f, size_t d, int online, double now, char **text);

#endif
