/* SPDX-License-Identifier: MIT */
/*
 * asyncbridge-sim: plays a fleet of devices from an AsyncAPI document.
 * Parses the command line, loads the spec, builds the fleet, then either
 * prints payloads (--dry-run, --print-schemas) or publishes them over MQTT
 * at a paced rate, and ends with a one-line JSON summary on stdout.
 * Design notes: docs/sim.md.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "asyncapi/asyncapi.h"
#include "sim_fleet.h"
#include "sim_gen.h"
#include "sim_mqtt.h"

#ifndef ASYNCBRIDGE_VERSION
#define ASYNCBRIDGE_VERSION "0.0.0"
#endif

#define SIM_MAX_DEVICES 1000000
#define SIM_MAX_CLIENTS 1000
#define SIM_DEFAULT_LWT_CLIENTS 256 /* one client per device up to this many */
#define SIM_DEFAULT_CLIENTS 4       /* without a last will: a few multiplexing clients */
#define SIM_WINDOW 4096             /* publishes in flight before the loop waits */

/* Command line options. */
typedef struct sim_opts {
    const char *spec;     /* --spec */
    const char *broker;   /* --broker as given */
    char uri[512];        /* broker as Paho wants it: tcp://host:port */
    size_t devices;       /* --devices */
    size_t clients;       /* --clients, 0 = automatic */
    double rate;          /* total msgs/s, 0 = as fast as possible */
    uint64_t count;       /* data messages to send, 0 = no limit */
    double duration;      /* seconds, 0 = no limit */
    int qos;              /* -1 = per channel from the spec */
    uint64_t seed;        /* --seed */
    const char *prefix;   /* --client-prefix */
    double invalid;       /* fraction 0..1 */
    int examples;         /* --examples */
    int dry_run;          /* --dry-run */
    int print_schemas;    /* --print-schemas */
    double epoch;         /* --epoch: virtual clock start, < 0 = real time */
    double flap;          /* --flap seconds, 0 = off */
    int keepalive;        /* --keepalive seconds */
} sim_opts;

/* Run state and counters. */
typedef struct sim_run {
    sim_opts *o;
    sim_fleet fleet;
    sim_mqtt *mqtt;              /* NULL in dry-run */
    sim_rng rng;                 /* channel choice */
    uint64_t data;               /* data messages made */
    uint64_t status;             /* status messages made */
    uint64_t invalid[SIM_INVALID_KINDS]; /* per kind, as actually sent */
    uint64_t invalid_made;       /* invalid messages made (all kinds) */
    uint64_t unverified;         /* generated payloads not proven valid */
    uint64_t dry_sent;           /* lines printed (dry-run) */
    uint64_t gen_errors;         /* out of memory while generating */
    size_t rr;                   /* round robin over devices */
    double t0;                   /* monotonic start */
} sim_run;

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    struct timespec ts;
    if (s <= 0)
        return;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}

static void usage(FILE *f)
{
    fprintf(f,
"usage: asyncbridge-sim --spec FILE [options]\n"
"\n"
"Plays a fleet of devices described by an AsyncAPI document: every device\n"
"publishes on every channel the application receives on (its RECEIVE\n"
"operations), topic parameters filled per device, payloads generated from\n"
"the message payload schemas (numbers drift, counters count, timestamps are\n"
"now). With a status channel (a payload member status/online/state, or\n"
"x-asyncbridge-status) each client sets a retained last will \"offline\" on its\n"
"first device's status topic and every device publishes \"online\" (retained)\n"
"on connect and \"offline\" when the sim stops cleanly.\n"
"\n"
"Connection model: devices are multiplexed over --clients MQTT clients\n"
"(device d uses client d %% clients). Default: one client per device when the\n"
"spec has a status channel (so each device has its own last will), up to %d\n"
"clients; otherwise %d clients. Fewer clients than devices with a status\n"
"channel means only each client's first device has a last will.\n"
"\n"
"options:\n"
"  --spec FILE           AsyncAPI 2.x/3.0 document (YAML or JSON), required\n"
"  --broker URL          mqtt://host:port or tcp://host:port (default mqtt://127.0.0.1:1883)\n"
"  --devices N           devices to play (default 10)\n"
"  --clients N           MQTT clients to multiplex them over (default: see above)\n"
"  --rate R              total data messages per second (0 = as fast as possible)\n"
"  --interval MS         per device interval instead of --rate (default 1000)\n"
"  --count N             stop after N data messages\n"
"  --duration S          stop after S seconds\n"
"  --qos 0|1|2           publish QoS (default: the spec's mqtt binding, else 1)\n"
"  --seed N              random seed; same seed, same payloads (default 1)\n"
"  --client-prefix P     MQTT client id prefix (default asyncbridge-sim-<pid>)\n"
"  --invalid F           fraction 0..1 of data messages made invalid, cycling\n"
"                        wrong_type, missing_required, out_of_range, bad_json\n"
"  --examples            send the messages' examples where the spec has them\n"
"  --flap S              every S seconds one client goes offline for S/2 s\n"
"                        (publishes offline, disconnects, reconnects, online)\n"
"  --keepalive S         MQTT keep-alive (default 30)\n"
"  --dry-run             no broker: print JSON lines {topic, channel, message,\n"
"                        device, kind, invalid, payload | payload_text}\n"
"                        (default --count 10)\n"
"  --print-schemas       print {channel, message, schema} per device-sent\n"
"                        message (the resolved payload schema) and exit\n"
"  --epoch T             virtual clock: timestamps start at T (Unix seconds)\n"
"                        and advance 1/rate per message (reproducible output)\n"
"  --help, --version\n"
"\n"
"Output: progress on stderr once a second when it is a terminal; a final\n"
"JSON line on stdout: {sent, acked, errors, data, status, invalid:{...},\n"
"unverified, devices, clients, elapsed_s, rate}. Exit 0 when done, 1 on a\n"
"runtime failure (spec, broker), 2 on a usage error.\n",
            SIM_DEFAULT_LWT_CLIENTS, SIM_DEFAULT_CLIENTS);
}

static int parse_u64(const char *flag, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (!s || !*s || *s == '-' || *s == '+')
        goto bad;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        goto bad;
    *out = v;
    return 0;
bad:
    fprintf(stderr, "asyncbridge-sim: %s wants an integer from %llu to %llu, got '%s'\n", flag,
            (unsigned long long)lo, (unsigned long long)hi, s ? s : "");
    return -1;
}

static int parse_double(const char *flag, const char *s, double lo, double hi, double *out)
{
    char *end;
    double v;
    if (!s || !*s)
        goto bad;
    errno = 0;
    v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < lo || v > hi)
        goto bad;
    *out = v;
    return 0;
bad:
    fprintf(stderr, "asyncbridge-sim: %s wants a number from %g to %g, got '%s'\n", flag, lo, hi,
            s ? s : "");
    return -1;
}

static int parse_broker(sim_opts *o)
{
    const char *b = o->broker, *rest;
    int n;
    if (strncmp(b, "mqtt://", 7) == 0)
        rest = b + 7;
    else if (strncmp(b, "tcp://", 6) == 0)
        rest = b + 6;
    else {
        fprintf(stderr, "asyncbridge-sim: --broker '%s' must be mqtt://host:port or tcp://host:port (no TLS)\n", b);
        return -1;
    }
    if (!*rest || strchr(rest, '/') || strchr(rest, ' ')) {
        fprintf(stderr, "asyncbridge-sim: --broker '%s' has no usable host:port\n", b);
        return -1;
    }
    const char *colon = strrchr(rest, ':');
    if (colon && rest[0] != '[') {
        uint64_t port;
        if (parse_u64("--broker port", colon + 1, 1, 65535, &port) != 0)
            return -1;
        n = snprintf(o->uri, sizeof(o->uri), "tcp://%s", rest);
    } else if (rest[0] == '[' && strstr(rest, "]:")) {
        n = snprintf(o->uri, sizeof(o->uri), "tcp://%s", rest);
    } else {
        n = snprintf(o->uri, sizeof(o->uri), "tcp://%s:1883", rest);
    }
    if (n < 0 || (size_t)n >= sizeof(o->uri)) {
        fprintf(stderr, "asyncbridge-sim: --broker '%s' is too long\n", b);
        return -1;
    }
    return 0;
}

/* Returns 0 to run, 1 to exit 0 (help/version), 2 on a usage error. */
static int parse_args(int argc, char **argv, sim_opts *o, char *prefix_buf, size_t prefix_size)
{
    int have_rate = 0, have_interval = 0;
    double interval = 1000;
    uint64_t u;
    *o = (sim_opts){.broker = "mqtt://127.0.0.1:1883", .devices = 10, .qos = -1, .seed = 1,
                    .epoch = -1, .keepalive = 30};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                                   \
    do {                                                                               \
        if (!v) {                                                                      \
            fprintf(stderr, "asyncbridge-sim: %s needs a value (see --help)\n", a);    \
            return 2;                                                                  \
        }                                                                              \
        i++;                                                                           \
    } while (0)
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        } else if (strcmp(a, "--version") == 0) {
            printf("asyncbridge-sim %s\n", ASYNCBRIDGE_VERSION);
            return 1;
        } else if (strcmp(a, "--spec") == 0) {
            NEED_VALUE();
            o->spec = v;
        } else if (strcmp(a, "--broker") == 0) {
            NEED_VALUE();
            o->broker = v;
        } else if (strcmp(a, "--devices") == 0) {
            NEED_VALUE();
            if (parse_u64(a, v, 1, SIM_MAX_DEVICES, &u))
                return 2;
            o->devices = (size_t)u;
        } else if (strcmp(a, "--clients") == 0) {
            NEED_VALUE();
            if (parse_u64(a, v, 1, SIM_MAX_CLIENTS, &u))
                return 2;
            o->clients = (size_t)u;
        } else if (strcmp(a, "--rate") == 0) {
            NEED_VALUE();
            if (parse_double(a, v, 0, 1e7, &o->rate))
                return 2;
            have_rate = 1;
        } else if (strcmp(a, "--interval") == 0) {
            NEED_VALUE();
            if (parse_double(a, v, 0.001, 86400000, &interval))
                return 2;
            have_interval = 1;
        } else if (strcmp(a, "--count") == 0) {
            NEED_VALUE();
            if (parse_u64(a, v, 1, UINT64_C(1) << 53, &o->count))
                return 2;
        } else if (strcmp(a, "--duration") == 0) {
            NEED_VALUE();
            if (parse_double(a, v, 0.001, 1e9, &o->duration))
                return 2;
        } else if (strcmp(a, "--qos") == 0) {
            NEED_VALUE();
            if (parse_u64(a, v, 0, 2, &u))
                return 2;
            o->qos = (int)u;
        } else if (strcmp(a, "--seed") == 0) {
            NEED_VALUE();
            if (parse_u64(a, v, 0, UINT64_MAX, &o->seed))
                return 2;
        } else if (strcmp(a, "--client-prefix") == 0) {
            NEED_VALUE();
            if (!*v || strlen(v) > 100) {
                fprintf(stderr, "asyncbridge-sim: --client-prefix wants 1 to 100 characters\n");
                return 2;
            }
            o->prefix = v;
        } else if (strcmp(a, "--invalid") == 0) {
            NEED_VALUE();
            if (parse_double(a, v, 0, 1, &o->invalid))
                return 2;
        } else if (strcmp(a, "--flap") == 0) {
            NEED_VALUE();
            if (parse_double(a, v, 0.1, 86400, &o->flap))
                return 2;
        } else if (strcmp(a, "--keepalive") == 0) {
            NEED_VALUE();
            if (parse_u64(a, v, 2, 65535, &u))
                return 2;
            o->keepalive = (int)u;
        } else if (strcmp(a, "--epoch") == 0) {
            NEED_VALUE();
            if (parse_double(a, v, 0, 1e11, &o->epoch))
                return 2;
        } else if (strcmp(a, "--examples") == 0) {
            o->examples = 1;
        } else if (strcmp(a, "--dry-run") == 0) {
            o->dry_run = 1;
        } else if (strcmp(a, "--print-schemas") == 0) {
            o->print_schemas = 1;
        } else {
            fprintf(stderr, "asyncbridge-sim: unknown option '%s' (see --help)\n", a);
            return 2;
        }
#undef NEED_VALUE
    }
    if (!o->spec) {
        fprintf(stderr, "asyncbridge-sim: --spec FILE is required (see --help)\n");
        return 2;
    }
    if (have_rate && have_interval) {
        fprintf(stderr, "asyncbridge-sim: give --rate or --interval, not both\n");
        return 2;
    }
    if (!have_rate)
        o->rate = (double)o->devices * 1000.0 / interval;
    if (o->dry_run && !o->count && !o->duration)
        o->count = 10;
    if (o->clients > o->devices) {
        fprintf(stderr, "asyncbridge-sim: --clients %zu is more than --devices %zu\n", o->clients,
                o->devices);
        return 2;
    }
    if (!o->prefix) {
        int n = snprintf(prefix_buf, prefix_size, "asyncbridge-sim-%ld", (long)getpid());
        if (n < 0 || (size_t)n >= prefix_size)
            return 2;
        o->prefix = prefix_buf;
    }
    if (!o->dry_run && !o->print_schemas && parse_broker(o) != 0)
        return 2;
    return 0;
}

/* The timestamp clock: virtual (--epoch) or real. */
static double clock_for(const sim_run *r, uint64_t index)
{
    if (r->o->epoch >= 0)
        return r->o->epoch + (double)index / (r->o->rate > 0 ? r->o->rate : 1000.0);
    return wall_now();
}

static size_t client_of(const sim_run *r, size_t d)
{
    size_t n = r->o->clients;
    return d % n;
}

/* Emits one message: a dry-run line or an MQTT publish. kind: "data"/"status". */
static int emit(sim_run *r, size_t d, size_t c, const asyncapi_message *m, const char *kind,
                int invalid, cJSON *payload, const char *text, int retained)
{
    const sim_device *dev = &r->fleet.devs[d];
    const char *topic = dev->topics[c];
    int qos = r->o->qos >= 0 ? r->o->qos : r->fleet.chans[c].qos;
    if (!r->mqtt) {
        cJSON *line = cJSON_CreateObject();
        char *out;
        if (!line)
            return SIM_ENOMEM;
        cJSON_AddStringToObject(line, "topic", topic);
        cJSON_AddStringToObject(line, "channel", r->fleet.chans[c].ch->id);
        cJSON_AddStringToObject(line, "message", m ? m->id : "");
        cJSON_AddStringToObject(line, "device", dev->id);
        cJSON_AddStringToObject(line, "kind", kind);
        if (invalid >= 0)
            cJSON_AddStringToObject(line, "invalid", sim_invalid_name((sim_invalid_kind)invalid));
        else
            cJSON_AddNullToObject(line, "invalid");
        if (invalid == SIM_INVALID_BAD_JSON) {
            cJSON_AddStringToObject(line, "payload_text", text);
        } else {
            cJSON *p = cJSON_Parse(text);
            if (p)
                cJSON_AddItemToObject(line, "payload", p);
            else
                cJSON_AddStringToObject(line, "payload_text", text);
        }
        (void)payload;
        out = cJSON_PrintUnformatted(line);
        cJSON_Delete(line);
        if (!out)
            return SIM_ENOMEM;
        fputs(out, stdout);
        fputc('\n', stdout);
        free(out);
        r->dry_sent++;
        return 0;
    }
    return sim_mqtt_publish(r->mqtt, client_of(r, d), topic, text, strlen(text), qos, retained);
}

static int emit_status(sim_run *r, size_t d, int online, uint64_t index)
{
    char *text = NULL;
    int rc;
    size_t c = (size_t)r->fleet.status_chan;
    if (r->fleet.status_chan < 0)
        return 0;
    rc = sim_fleet_status(&r->fleet, d, online, clock_for(r, index), &text);
    if (rc != 0)
        return rc;
    rc = emit(r, d, c, r->fleet.chans[c].msgs[0], "status", -1, NULL, text, 1);
    free(text);
    r->status++;
    return rc == SIM_ENOMEM ? rc : 0;
}

/* Is data message number i one of the invalid ones? Exactly floor(n*F) of n. */
static int is_invalid_index(double f, uint64_t i)
{
    return f > 0 && floor((double)(i + 1) * f) > floor((double)i * f);
}

/* Makes and emits the next data message from device d. */
static int emit_data(sim_run *r, size_t d)
{
    const asyncapi_message *m = NULL;
    cJSON *payload = NULL;
    char *text = NULL;
    int invalid = -1, rc;
    size_t c = sim_fleet_pick_chan(&r->fleet, &r->rng);
    uint64_t index = r->data;

    rc = sim_fleet_payload(&r->fleet, d, c, r->o->examples, clock_for(r, index), &payload, &m);
    if (rc < 0) {
        r->gen_errors++;
        return rc;
    }
    if (rc == 1)
        r->unverified++;
    if (is_invalid_index(r->o->invalid, index)) {
        sim_invalid_kind want = (sim_invalid_kind)(r->invalid_made % SIM_INVALID_KINDS);
        invalid = sim_gen_invalidate(m, payload, want, &r->fleet.devs[d].rng, &text);
        if (invalid < 0) {
            cJSON_Delete(payload);
            r->gen_errors++;
            return invalid;
        }
        r->invalid_made++;
        r->invalid[invalid]++;
    } else {
        text = cJSON_PrintUnformatted(payload);
        if (!text) {
            cJSON_Delete(payload);
            return SIM_ENOMEM;
        }
#ifndef NDEBUG
        /* debug builds: the text as sent must validate too */
        if (rc == 0 && m->payload_schema &&
            asyncapi_schema_validate_json(m->payload_schema, text, strlen(text), NULL, NULL) != 0) {
            r->unverified++;
            fprintf(stderr, "asyncbridge-sim: generated payload for '%s' does not validate: %s\n",
                    m->id, text);
        }
#endif
    }
    rc = emit(r, d, c, m, "data", invalid, payload, text, 0);
    free(text);
    cJSON_Delete(payload);
    r->data++;
    return rc == SIM_ENOMEM ? rc : 0;
}

static int print_schemas(const sim_fleet *f)
{
    for (size_t c = 0; c < f->n_chans; c++) {
        for (size_t i = 0; i < f->chans[c].n_msgs; i++) {
            const asyncapi_message *m = f->chans[c].msgs[i];
            cJSON *line = cJSON_CreateObject();
            char *out;
            if (!line)
                return SIM_ENOMEM;
            cJSON_AddStringToObject(line, "channel", f->chans[c].ch->id);
            cJSON_AddStringToObject(line, "address", f->chans[c].ch->address);
            cJSON_AddStringToObject(line, "message", m->id);
            cJSON_AddBoolToObject(line, "status", f->chans[c].is_status);
            cJSON_AddBoolToObject(line, "compiled", m->payload_schema != NULL);
            if (m->payload)
                cJSON_AddItemReferenceToObject(line, "schema", (cJSON *)m->payload);
            else
                cJSON_AddNullToObject(line, "schema");
            out = cJSON_PrintUnformatted(line);
            cJSON_Delete(line);
            if (!out)
                return SIM_ENOMEM;
            puts(out);
            free(out);
        }
    }
    return 0;
}

static void summary(const sim_run *r, double elapsed)
{
    sim_mqtt_stats st = {0};
    uint64_t sent;
    if (r->mqtt)
        sim_mqtt_get_stats(r->mqtt, &st);
    sent = r->mqtt ? st.sent : r->dry_sent;
    printf("{\"sent\":%llu,\"acked\":%llu,\"errors\":%llu,\"data\":%llu,\"status\":%llu,"
           "\"invalid\":{\"wrong_type\":%llu,\"missing_required\":%llu,\"out_of_range\":%llu,"
           "\"bad_json\":%llu},\"unverified\":%llu,\"devices\":%zu,\"clients\":%zu,"
           "\"reconnects\":%llu,\"elapsed_s\":%.3f,\"rate\":%.1f}\n",
           (unsigned long long)sent, (unsigned long long)st.acked,
           (unsigned long long)(st.failed + r->gen_errors), (unsigned long long)r->data,
           (unsigned long long)r->status, (unsigned long long)r->invalid[0],
           (unsigned long long)r->invalid[1], (unsigned long long)r->invalid[2],
           (unsigned long long)r->invalid[3], (unsigned long long)r->unverified,
           r->fleet.n_devs, r->mqtt ? r->o->clients : (size_t)0,
           (unsigned long long)(st.connects > r->o->clients ? st.connects - r->o->clients : 0),
           elapsed, elapsed > 0 ? (double)sent / elapsed : 0.0);
    fflush(stdout);
}

static void progress(const sim_run *r, double elapsed, int final)
{
    sim_mqtt_stats st = {0};
    if (r->mqtt)
        sim_mqtt_get_stats(r->mqtt, &st);
    fprintf(stderr, "\r%8.1fs  sent %llu  acked %llu  errors %llu  %.0f msg/s   %s", elapsed,
            (unsigned long long)st.sent, (unsigned long long)st.acked,
            (unsigned long long)st.failed, elapsed > 0 ? (double)st.sent / elapsed : 0.0,
            final ? "\n" : "");
}

/* The paced loop; returns 0 or a SIM_E code. */
static int run_loop(sim_run *r)
{
    const sim_opts *o = r->o;
    int tty = !r->o->dry_run && isatty(STDERR_FILENO);
    double last_progress = 0, next_flap = o->flap, reconnect_at = -1;
    size_t flap_client = 0, flapping = (size_t)-1;
    int rc = 0;

    for (;;) {
        double elapsed = mono_now() - r->t0;
        if (stop_flag)
            break;
        if (o->count && r->data >= o->count)
            break;
        if (o->duration && elapsed >= o->duration)
            break;
        if (r->mqtt) {
            /* (re)connected clients announce their devices */
            for (size_t i = 0; i < o->clients; i++) {
                if (!sim_mqtt_take_connect_event(r->mqtt, i))
                    continue;
                for (size_t d = i; d < r->fleet.n_devs; d += o->clients) {
                    r->fleet.devs[d].online = 1;
                    if ((rc = emit_status(r, d, 1, r->data)) < 0)
                        return rc;
                }
            }
            if (o->flap > 0 && flapping == (size_t)-1 && elapsed >= next_flap) {
                flapping = flap_client++ % o->clients;
                for (size_t d = flapping; d < r->fleet.n_devs; d += o->clients) {
                    if ((rc = emit_status(r, d, 0, r->data)) < 0)
                        return rc;
                    r->fleet.devs[d].online = 0;
                }
                sim_mqtt_drain(r->mqtt, 2000);
                sim_mqtt_disconnect(r->mqtt, flapping, 1000);
                reconnect_at = elapsed + o->flap / 2;
                next_flap = elapsed + o->flap;
            }
            if (flapping != (size_t)-1 && elapsed >= reconnect_at) {
                sim_mqtt_connect(r->mqtt, flapping);
                flapping = (size_t)-1;
            }
            if (tty && elapsed - last_progress >= 1.0) {
                progress(r, elapsed, 0);
                last_progress = elapsed;
            }
        }
        /* send what is due now */
        uint64_t due = o->rate > 0 && !o->dry_run ? (uint64_t)(elapsed * o->rate) + 1 : UINT64_MAX;
        int sent_any = 0;
        for (int burst = 0; burst < 1000 && r->data < due; burst++) {
            size_t d;
            if (o->count && r->data >= o->count)
                break;
            if (r->mqtt && sim_mqtt_in_flight(r->mqtt) >= SIM_WINDOW)
                break;
            /* next online device, round robin */
            size_t tries = 0;
            do {
                d = r->rr++ % r->fleet.n_devs;
            } while (r->mqtt && !r->fleet.devs[d].online && ++tries < r->fleet.n_devs);
            if (r->mqtt && !r->fleet.devs[d].online)
                break;
            if ((rc = emit_data(r, d)) == SIM_ENOMEM)
                return rc;
            sent_any = 1;
        }
        if (!sent_any || r->data < due) {
            double wait = o->rate > 0 ? ((double)r->data / o->rate) - (mono_now() - r->t0) : 0.001;
            if (wait > 0.05)
                wait = 0.05;
            if (wait < 0.0005)
                wait = 0.0005;
            if (!o->dry_run)
                sleep_s(wait);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    sim_opts o;
    sim_run r;
    char prefix[128], err[512];
    asyncapi_diag diag;
    asyncapi_doc *doc = NULL;
    int code = 1, rc, aerr = 0;

    memset(&r, 0, sizeof(r));
    rc = parse_args(argc, argv, &o, prefix, sizeof(prefix));
    if (rc == 1)
        return 0;
    if (rc != 0)
        return 2;
    memset(&diag, 0, sizeof(diag));
    doc = asyncapi_load(o.spec, NULL, &aerr, &diag);
    if (!doc) {
        fprintf(stderr, "asyncbridge-sim: cannot load '%s': %s%s%s%s\n", o.spec,
                asyncapi_strerror(aerr), diag.message[0] ? " (" : "", diag.message,
                diag.message[0] ? ")" : "");
        return 1;
    }
    r.o = &o;
    if (sim_fleet_init(&r.fleet, doc, o.devices, o.seed, err, sizeof(err)) != 0) {
        fprintf(stderr, "asyncbridge-sim: '%s': %s\n", o.spec, err);
        goto out_doc;
    }
    if (o.print_schemas) {
        code = print_schemas(&r.fleet) == 0 ? 0 : 1;
        goto out_fleet;
    }
    sim_rng_seed(&r.rng, o.seed ^ 0x5bd1e995ULL);
    if (o.clients == 0) {
        size_t cap = r.fleet.status_chan >= 0 ? SIM_DEFAULT_LWT_CLIENTS : SIM_DEFAULT_CLIENTS;
        o.clients = o.devices < cap ? o.devices : cap;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    r.t0 = mono_now();
    if (o.dry_run) {
        for (size_t d = 0; d < r.fleet.n_devs; d++)
            if (emit_status(&r, d, 1, 0) < 0)
                goto out_fleet;
        if (run_loop(&r) != 0)
            goto out_fleet;
        for (size_t d = 0; d < r.fleet.n_devs; d++)
            if (emit_status(&r, d, 0, r.data) < 0)
                goto out_fleet;
        summary(&r, mono_now() - r.t0);
        code = 0;
        goto out_fleet;
    }

    r.mqtt = sim_mqtt_new(o.uri, o.prefix, o.clients, o.keepalive, err, sizeof(err));
    if (!r.mqtt) {
        fprintf(stderr, "asyncbridge-sim: %s\n", err);
        goto out_fleet;
    }
    if (r.fleet.status_chan >= 0) {
        size_t sc = (size_t)r.fleet.status_chan;
        int qos = o.qos >= 0 ? o.qos : r.fleet.chans[sc].qos;
        for (size_t i = 0; i < o.clients; i++) {
            char *text = NULL;
            if (sim_fleet_status(&r.fleet, i, 0, clock_for(&r, 0), &text) != 0 ||
                sim_mqtt_set_will(r.mqtt, i, r.fleet.devs[i].topics[sc], text, qos) != 0) {
                free(text);
                fprintf(stderr, "asyncbridge-sim: out of memory\n");
                goto out_mqtt;
            }
            free(text);
        }
    }
    for (size_t i = 0; i < o.clients; i++)
        sim_mqtt_connect(r.mqtt, i);
    size_t up = sim_mqtt_wait_connected(r.mqtt, 15000, &stop_flag);
    if (up < o.clients) {
        fprintf(stderr, "asyncbridge-sim: %zu of %zu clients connected to '%s'%s%s\n", up,
                o.clients, o.broker, sim_mqtt_last_error(r.mqtt)[0] ? ": " : "",
                sim_mqtt_last_error(r.mqtt));
        goto out_mqtt;
    }
    r.t0 = mono_now();
    if (run_loop(&r) != 0)
        fprintf(stderr, "asyncbridge-sim: out of memory\n");
    /* clean stop: offline status for connected devices, then wait for acks */
    for (size_t d = 0; d < r.fleet.n_devs; d++)
        if (r.fleet.devs[d].online && sim_mqtt_is_connected(r.mqtt, client_of(&r, d)))
            emit_status(&r, d, 0, r.data);
    uint64_t left = sim_mqtt_drain(r.mqtt, 15000);
    if (left)
        fprintf(stderr, "asyncbridge-sim: %llu publishes still unacknowledged at exit\n",
                (unsigned long long)left);
    double elapsed = mono_now() - r.t0;
    if (isatty(STDERR_FILENO))
        progress(&r, elapsed, 1);
    summary(&r, elapsed);
    code = 0;
out_mqtt:
    sim_mqtt_free(r.mqtt);
out_fleet:
    sim_fleet_release(&r.fleet);
out_doc:
    asyncapi_free(doc);
    return code;
}
