/* SPDX-License-Identifier: MIT */
/*
 * Settings of `asyncbridge run` / `rebuild`: defaults, config file (JSON or
 * YAML via asyncapi_parse_file), flags; bounds checks; broker and client id
 * derived from the spec and the db path. See config.h and docs/ingest.md.
 */
/* realpath(3) is XSI; the rest is POSIX 2008 */
#define _XOPEN_SOURCE 700
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

enum opt_type {
    OPT_STR,  /* plain string */
    OPT_PATH, /* string; relative paths in a config file resolve to its folder */
    OPT_INT,  /* integer within [min, max] */
    OPT_SIZE, /* byte count within [min, max]; accepts k/K/m/M suffix (KiB, MiB) */
    OPT_VERSION,
    OPT_UNKNOWN,
    OPT_LEVEL,
    OPT_MODE,
};

/* One setting: flag "--name", config key "name" with '-' -> '_'. */
struct opt {
    const char *name;   /* flag name without "--" */
    enum opt_type type; /* how to parse */
    size_t offset;      /* field in bridge_config */
    long long min, max; /* bounds for OPT_INT / OPT_SIZE */
    int mqtt;           /* 1: only for commands talking MQTT (run) */
};

#define OFF(f) offsetof(bridge_config, f)

static const struct opt opts[] = {
    { "spec", OPT_PATH, OFF(spec), 0, 0, 0 },
    { "db", OPT_PATH, OFF(db), 0, 0, 0 },
    { "log-level", OPT_LEVEL, OFF(log_level), 0, 0, 0 },
    { "broker", OPT_STR, OFF(broker), 0, 0, 1 },
    { "http", OPT_STR, OFF(http), 0, 0, 1 },
    { "username", OPT_STR, OFF(username), 0, 0, 1 },
    { "password", OPT_STR, OFF(password), 0, 0, 1 },
    { "client-id", OPT_STR, OFF(client_id), 0, 0, 1 },
    { "tls-ca", OPT_PATH, OFF(tls_ca), 0, 0, 1 },
    { "tls-cert", OPT_PATH, OFF(tls_cert), 0, 0, 1 },
    { "tls-key", OPT_PATH, OFF(tls_key), 0, 0, 1 },
    { "share-group", OPT_STR, OFF(share_group), 0, 0, 1 },
    { "persist-dir", OPT_PATH, OFF(persist_dir), 0, 0, 1 },
    { "keepalive", OPT_INT, OFF(keepalive), 5, 3600, 1 },
    { "mqtt-version", OPT_VERSION, OFF(mqtt_version), 0, 0, 1 },
    { "session-expiry", OPT_INT, OFF(session_expiry), 0, 4294967295LL, 1 },
    { "max-payload", OPT_SIZE, OFF(max_payload), 1, BRIDGE_MAX_PAYLOAD_LIMIT, 1 },
    { "unknown-topic", OPT_UNKNOWN, OFF(unknown_topic), 0, 0, 1 },
    { "receive-max", OPT_INT, OFF(receive_max), 1, 65535, 1 },
    { "reconnect-min", OPT_INT, OFF(reconnect_min), 1, 3600, 1 },
    { "reconnect-max", OPT_INT, OFF(reconnect_max), 1, 3600, 1 },
    { "ingest-mode", OPT_MODE, OFF(ingest_sync), 0, 0, 1 },
};

#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

static void set_err(char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errsize, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errsize == 0)
        return;
    va_start(ap, fmt);
    /* truncation of an error text is acceptable: it stays NUL-terminated */
    (void)vsnprintf(err, errsize, fmt, ap);
    va_end(ap);
}

int bridge_config_init(bridge_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->keepalive = 30;
    cfg->mqtt_version = BRIDGE_MQTT_AUTO;
    cfg->session_expiry = 604800;
    cfg->max_payload = BRIDGE_MAX_PAYLOAD_DEFAULT;
    cfg->unknown_topic = BRIDGE_UNKNOWN_DEAD_LETTER;
    cfg->receive_max = 1000;
    cfg->reconnect_min = 1;
    cfg->reconnect_max = 30;
    cfg->log_level = BRIDGE_LOG_INFO;
    cfg->db = strdup("asyncbridge.db");
    cfg->http = strdup("127.0.0.1:8080");
    if (cfg->db == NULL || cfg->http == NULL) {
        bridge_config_release(cfg);
        return -1;
    }
    return 0;
}

void bridge_config_release(bridge_config *cfg)
{
    char **strs[] = {
        &cfg->spec, &cfg->broker, &cfg->broker_uri, &cfg->db, &cfg->http,
        &cfg->config, &cfg->username, &cfg->password, &cfg->client_id,
        &cfg->tls_ca, &cfg->tls_cert, &cfg->tls_key, &cfg->share_group,
        &cfg->persist_dir,
    };

    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
}

static const struct opt *find_opt(const char *name, size_t len, int config_key)
{
    for (size_t i = 0; i < N_OPTS; i++) {
        const char *n = opts[i].name;
        size_t j;

        if (strlen(n) != len)
            continue;
        for (j = 0; j < len; j++) {
            char c = name[j];

            if (config_key && c == '_')
                c = '-';
            if (c != n[j])
                break;
        }
        if (j == len)
            return &opts[i];
    }
    return NULL;
}

/* Parses a whole decimal integer; optional k/m suffix when allow_suffix. */
static int parse_int(const char *text, int allow_suffix, long long *out)
{
    char *end;
    long long v;

    if (*text == '\0' || *text == ' ' || *text == '+')
        return -1;
    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno != 0 || end == text)
        return -1;
    if (allow_suffix && (*end == 'k' || *end == 'K' || *end == 'm' || *end == 'M')) {
        long long mul = (*end == 'k' || *end == 'K') ? 1024 : 1024 * 1024;

        if (v > LLONG_MAX / mul || v < 0)
            return -1;
        v *= mul;
        end++;
        if (*end == 'i' && end[1] == 'B')
            end += 2;
        else if (*end == 'B')
            end++;
    }
    if (*end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* Joins dir and a relative path; returns a new string or NULL. */
static char *join_path(const char *dir, const char *path)
{
    size_t n;
    char *s;

    if (dir == NULL || path[0] == '/')
        return strdup(path);
    n = strlen(dir) + strlen(path) + 2;
    s = malloc(n);
    if (s == NULL)
        return NULL;
    if (snprintf(s, n, "%s/%s", dir, path) >= (int)n) {
        free(s);
        return NULL;
    }
    return s;
}

/*
 * Sets one option from text. where names the origin for errors ("--x" or
 * "file: x"). base_dir: folder for relative OPT_PATH values (NULL = as is).
 */
static int apply_opt(bridge_config *cfg, const struct opt *o, const char *text,
                     const char *where, const char *base_dir, char *err,
                     size_t errsize)
{
    char *field = (char *)cfg + o->offset;
    long long v;

    switch (o->type) {
    case OPT_STR:
    case OPT_PATH: {
        char **dst = (char **)(void *)field;
        char *copy;

        if (text[0] == '\0') {
            set_err(err, errsize, "%s: empty value", where);
            return -1;
        }
        if (strlen(text) > 4096) {
            set_err(err, errsize, "%s: value longer than 4096 bytes", where);
            return -1;
        }
        copy = o->type == OPT_PATH ? join_path(base_dir, text) : strdup(text);
        if (copy == NULL) {
            set_err(err, errsize, "%s: out of memory", where);
            return -1;
        }
        free(*dst);
        *dst = copy;
        return 0;
    }
    case OPT_INT:
    case OPT_SIZE:
        if (parse_int(text, o->type == OPT_SIZE, &v) != 0) {
            set_err(err, errsize, "%s: '%s' is not a whole number", where, text);
            return -1;
        }
        if (v < o->min || v > o->max) {
            set_err(err, errsize, "%s: %lld is out of range %lld..%lld", where, v,
                    o->min, o->max);
            return -1;
        }
        if (o->type == OPT_SIZE)
            *(size_t *)(void *)field = (size_t)v;
        else if (o->offset == OFF(session_expiry))
            *(long long *)(void *)field = v;
        else
            *(int *)(void *)field = (int)v;
        return 0;
    case OPT_VERSION:
        if (strcmp(text, "auto") == 0)
            cfg->mqtt_version = BRIDGE_MQTT_AUTO;
        else if (strcmp(text, "5") == 0 || strcmp(text, "5.0") == 0)
            cfg->mqtt_version = BRIDGE_MQTT_5;
        else if (strcmp(text, "3.1.1") == 0 || strcmp(text, "4") == 0)
            cfg->mqtt_version = BRIDGE_MQTT_311;
        else {
            set_err(err, errsize, "%s: '%s' is not one of auto, 5, 3.1.1", where, text);
            return -1;
        }
        return 0;
    case OPT_UNKNOWN:
        if (strcmp(text, "dead-letter") == 0 || strcmp(text, "dead_letter") == 0)
            cfg->unknown_topic = BRIDGE_UNKNOWN_DEAD_LETTER;
        else if (strcmp(text, "drop") == 0)
            cfg->unknown_topic = BRIDGE_UNKNOWN_DROP;
        else {
            set_err(err, errsize, "%s: '%s' is not one of dead-letter, drop", where, text);
            return -1;
        }
        return 0;
    case OPT_MODE:
        if (strcmp(text, "journal") == 0)
            cfg->ingest_sync = 0;
        else if (strcmp(text, "sync") == 0)
            cfg->ingest_sync = 1;
        else {
            set_err(err, errsize, "%s: '%s' is not one of journal, sync", where, text);
            return -1;
        }
        return 0;
    case OPT_LEVEL: {
        enum bridge_log_level lvl;

        if (bridge_log_parse_level(text, &lvl) != 0) {
            set_err(err, errsize, "%s: '%s' is not one of error, warn, info, debug",
                    where, text);
            return -1;
        }
        cfg->log_level = (int)lvl;
        return 0;
    }
    }
    return -1;
}

int bridge_config_load_file(bridge_config *cfg, const char *path, char *err,
                            size_t errsize)
{
    asyncapi_parse_limits limits = { .max_bytes = 1024 * 1024, .max_depth = 16 };
    asyncapi_diag diag;
    cJSON *root = NULL, *item;
    char *dir = NULL, *slash;
    int rc = -1;

    memset(&diag, 0, sizeof(diag));
    root = asyncapi_parse_file(path, &limits, NULL, &diag);
    if (root == NULL) {
        if (diag.line > 0)
            set_err(err, errsize, "%s:%d:%d: %s", path, diag.line, diag.column,
                    diag.message);
        else
            set_err(err, errsize, "%s: %s", path,
                    diag.message[0] ? diag.message : "cannot read config file");
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        set_err(err, errsize, "%s: config must be an object of settings", path);
        goto out;
    }
    dir = strdup(path);
    if (dir == NULL) {
        set_err(err, errsize, "%s: out of memory", path);
        goto out;
    }
    slash = strrchr(dir, '/');
    if (slash == NULL) {
        free(dir);
        dir = NULL;
    } else if (slash == dir) {
        slash[1] = '\0';
    } else {
        *slash = '\0';
    }
    cJSON_ArrayForEach(item, root)
    {
        const struct opt *o = find_opt(item->string, strlen(item->string), 1);
        char where[300];
        char num[64];
        const char *text;

        if (snprintf(where, sizeof(where), "%s: %s", path, item->string) >=
            (int)sizeof(where))
            where[sizeof(where) - 1] = '\0';
        if (o == NULL || strcmp(item->string, "config") == 0) {
            set_err(err, errsize, "%s: unknown setting", where);
            goto out;
        }
        if (cJSON_IsString(item)) {
            text = item->valuestring;
        } else if (cJSON_IsNumber(item) && (o->type == OPT_INT || o->type == OPT_SIZE ||
                                            o->type == OPT_VERSION)) {
            double d = item->valuedouble;

            if (o->type == OPT_VERSION && d == 5)
                text = "5";
            else if (d != (double)(long long)d) {
                set_err(err, errsize, "%s: must be a whole number", where);
                goto out;
            } else {
                if (snprintf(num, sizeof(num), "%lld", (long long)d) >= (int)sizeof(num))
                    goto out;
                text = num;
            }
        } else {
            set_err(err, errsize, "%s: wrong type (expected %s)", where,
                    (o->type == OPT_INT || o->type == OPT_SIZE) ? "a number" : "a string");
            goto out;
        }
        if (apply_opt(cfg, o, text, where, dir, err, errsize) != 0)
            goto out;
    }
    rc = 0;
out:
    free(dir);
    cJSON_Delete(root);
    return rc;
}

int bridge_config_parse_args(bridge_config *cfg, int argc, char **argv,
                             int allow_mqtt, char *err, size_t errsize)
{
    /* pass 1: --help and --config (the file applies before every flag) */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    for (int i = 1; i < argc; i++) {
        const char *val = NULL;

        if (strncmp(argv[i], "--config=", 9) == 0)
            val = argv[i] + 9;
        else if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                set_err(err, errsize, "--config: missing value");
                return -1;
            }
            val = argv[++i];
        }
        if (val == NULL)
            continue;
        if (val[0] == '\0') {
            set_err(err, errsize, "--config: empty value");
            return -1;
        }
        free(cfg->config);
        cfg->config = strdup(val);
        if (cfg->config == NULL) {
            set_err(err, errsize, "out of memory");
            return -1;
        }
    }
    if (cfg->config != NULL &&
        bridge_config_load_file(cfg, cfg->config, err, errsize) != 0)
        return -1;
    if (!allow_mqtt) {
        /* settings a file may hold for `run` are harmless for rebuild */
    }
    /* pass 2: every flag in order */
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *eq, *val;
        const struct opt *o;
        char where[128];
        size_t nlen;

        if (strncmp(arg, "--", 2) != 0) {
            set_err(err, errsize, "unexpected argument '%s'", arg);
            return -1;
        }
        eq = strchr(arg + 2, '=');
        nlen = eq ? (size_t)(eq - (arg + 2)) : strlen(arg + 2);
        if (nlen == 6 && strncmp(arg + 2, "config", 6) == 0) {
            if (eq == NULL)
                i++;
            continue;
        }
        o = find_opt(arg + 2, nlen, 0);
        if (o == NULL || (o->mqtt && !allow_mqtt)) {
            set_err(err, errsize, "unknown option '%.*s'", (int)nlen + 2, arg);
            return -1;
        }
        if (snprintf(where, sizeof(where), "--%s", o->name) >= (int)sizeof(where))
            return -1;
        if (eq != NULL) {
            val = eq + 1;
        } else {
            if (i + 1 >= argc) {
                set_err(err, errsize, "%s: missing value", where);
                return -1;
            }
            val = argv[++i];
        }
        if (apply_opt(cfg, o, val, where, NULL, err, errsize) != 0)
            return -1;
    }
    if (cfg->reconnect_max < cfg->reconnect_min) {
        set_err(err, errsize, "--reconnect-max: %d is less than --reconnect-min %d",
                cfg->reconnect_max, cfg->reconnect_min);
        return -1;
    }
    return 0;
}

/* Replaces every {var} in text by the server variable's default. */
static char *substitute_vars(const char *text, const cJSON *server_node, char *err,
                             size_t errsize)
{
    const cJSON *vars = server_node ? cJSON_GetObjectItemCaseSensitive(server_node, "variables")
                                    : NULL;
    char out[1024];
    size_t o = 0;

    for (const char *p = text; *p != '\0';) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            char name[128];
            const cJSON *var, *def;
            size_t n;

            if (close == NULL || (size_t)(close - p - 1) >= sizeof(name)) {
                set_err(err, errsize, "spec server '%s': unbalanced '{'", text);
                return NULL;
            }
            n = (size_t)(close - p - 1);
            memcpy(name, p + 1, n);
            name[n] = '\0';
            var = vars ? cJSON_GetObjectItemCaseSensitive(vars, name) : NULL;
            def = var ? cJSON_GetObjectItemCaseSensitive(var, "default") : NULL;
            if (!cJSON_IsString(def) && !cJSON_IsNumber(def)) {
                set_err(err, errsize,
                        "spec server '%s': variable '%s' has no default (use --broker)",
                        text, name);
                return NULL;
            }
            if (cJSON_IsString(def)) {
                n = strlen(def->valuestring);
                if (o + n >= sizeof(out))
                    goto too_long;
                memcpy(out + o, def->valuestring, n);
                o += n;
            } else {
                int k = snprintf(out + o, sizeof(out) - o, "%lld",
                                 (long long)def->valuedouble);

                if (k < 0 || (size_t)k >= sizeof(out) - o)
                    goto too_long;
                o += (size_t)k;
            }
            p = close + 1;
            continue;
        }
        if (o + 1 >= sizeof(out))
            goto too_long;
        out[o++] = *p++;
    }
    out[o] = '\0';
    return strdup(out);
too_long:
    set_err(err, errsize, "spec server '%s': url too long", text);
    return NULL;
}

/*
 * Turns a broker URL into Paho's form. Accepts mqtt://, mqtts://, tcp://,
 * ssl://, or host:port (plain). Checks host and port.
 */
static int broker_to_uri(const char *broker, int tls_hint, char **uri, int *tls,
                         char *err, size_t errsize)
{
    const char *rest = broker, *colon, *host_end;
    int is_tls = tls_hint;
    long port = is_tls ? 8883 : 1883;
    char buf[1100];
    size_t hostlen;

    if (strncmp(broker, "mqtt://", 7) == 0 || strncmp(broker, "tcp://", 6) == 0) {
        rest = strchr(broker, '/') + 2;
        is_tls = 0;
        port = 1883;
    } else if (strncmp(broker, "mqtts://", 8) == 0 || strncmp(broker, "ssl://", 6) == 0) {
        rest = strchr(broker, '/') + 2;
        is_tls = 1;
        port = 8883;
    } else if (strstr(broker, "://") != NULL) {
        set_err(err, errsize, "broker '%s': scheme must be mqtt:// or mqtts://", broker);
        return -1;
    }
    if (rest[0] == '[') {
        host_end = strchr(rest, ']');
        if (host_end == NULL) {
            set_err(err, errsize, "broker '%s': unbalanced '['", broker);
            return -1;
        }
        host_end++;
    } else {
        host_end = rest + strcspn(rest, ":/");
    }
    hostlen = (size_t)(host_end - rest);
    if (hostlen == 0 || hostlen > 255) {
        set_err(err, errsize, "broker '%s': missing or too long host", broker);
        return -1;
    }
    colon = host_end;
    if (*colon == ':') {
        char *end;

        errno = 0;
        port = strtol(colon + 1, &end, 10);
        if (errno != 0 || end == colon + 1 || (*end != '\0' && *end != '/') || port < 1 ||
            port > 65535) {
            set_err(err, errsize, "broker '%s': port must be 1..65535", broker);
            return -1;
        }
    } else if (*colon != '\0' && strcmp(colon, "/") != 0) {
        set_err(err, errsize, "broker '%s': unexpected text after the host", broker);
        return -1;
    }
    if (snprintf(buf, sizeof(buf), "%s://%.*s:%ld", is_tls ? "ssl" : "tcp", (int)hostlen,
                 rest, port) >= (int)sizeof(buf)) {
        set_err(err, errsize, "broker '%s': too long", broker);
        return -1;
    }
    *uri = strdup(buf);
    if (*uri == NULL) {
        set_err(err, errsize, "out of memory");
        return -1;
    }
    *tls = is_tls;
    return 0;
}

/* 32-bit FNV-1a: stable across runs and platforms (client id derivation). */
static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

int bridge_config_resolve(bridge_config *cfg, const asyncapi_doc *doc, char *err,
                          size_t errsize)
{
    free(cfg->broker_uri);
    cfg->broker_uri = NULL;
    if (cfg->broker != NULL) {
        if (broker_to_uri(cfg->broker, 0, &cfg->broker_uri, &cfg->broker_tls, err,
                          errsize) != 0)
            return -1;
    } else {
        const asyncapi_server *servers;
        size_t n = 0, i;

        servers = doc ? asyncapi_doc_servers(doc, &n) : NULL;
        for (i = 0; i < n; i++)
            if (servers[i].is_mqtt)
                break;
        if (i == n) {
            set_err(err, errsize, "no --broker given and the spec has no MQTT server");
            return -1;
        }
        {
            const asyncapi_server *s = &servers[i];
            const char *src = s->host ? s->host : s->url;
            int tls = s->protocol && (strcmp(s->protocol, "mqtts") == 0 ||
                                      strcmp(s->protocol, "secure-mqtt") == 0);
            char *url;
            int rc;

            if (src == NULL) {
                set_err(err, errsize, "spec server '%s' has no host", s->id);
                return -1;
            }
            url = substitute_vars(src, s->node, err, errsize);
            if (url == NULL)
                return -1;
            rc = broker_to_uri(url, tls, &cfg->broker_uri, &cfg->broker_tls, err, errsize);
            free(url);
            if (rc != 0)
                return -1;
        }
    }
    if (cfg->password == NULL) {
        /* keeps the password out of argv (/proc/PID/cmdline) and out of files */
        const char *env = getenv("ASYNCBRIDGE_MQTT_PASSWORD");

        if (env != NULL && *env != '\0') {
            if (strlen(env) > 65535) {
                set_err(err, errsize, "ASYNCBRIDGE_MQTT_PASSWORD: longer than MQTT's 65535 bytes");
                return -1;
            }
            cfg->password = strdup(env);
            if (cfg->password == NULL) {
                set_err(err, errsize, "out of memory");
                return -1;
            }
        }
    }
    {
        /* unreadable TLS files: a clear error now, not an opaque handshake failure later */
        const struct {
            const char *name;
            const char *path;
        } tls_files[] = {
            { "tls-ca", cfg->tls_ca },
            { "tls-cert", cfg->tls_cert },
            { "tls-key", cfg->tls_key },
        };

        for (size_t i = 0; i < sizeof(tls_files) / sizeof(tls_files[0]); i++) {
            if (tls_files[i].path != NULL && access(tls_files[i].path, R_OK) != 0) {
                set_err(err, errsize, "--%s: cannot read '%s': %s", tls_files[i].name,
                        tls_files[i].path, strerror(errno));
                return -1;
            }
        }
    }
    if (cfg->client_id == NULL) {
        char abs[PATH_MAX + 2], cwd[PATH_MAX], id[32];

        if (realpath(cfg->db, abs) == NULL) {
            if (cfg->db[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL) {
                if (snprintf(abs, sizeof(abs), "%s", cfg->db) >= (int)sizeof(abs))
                    abs[sizeof(abs) - 1] = '\0';
            } else if (snprintf(abs, sizeof(abs), "%s/%s", cwd, cfg->db) >=
                       (int)sizeof(abs)) {
                abs[sizeof(abs) - 1] = '\0';
            }
        }
        if (snprintf(id, sizeof(id), "asyncbridge-%08x", (unsigned)fnv1a(abs)) >=
            (int)sizeof(id))
            return -1;
        cfg->client_id = strdup(id);
        if (cfg->client_id == NULL) {
            set_err(err, errsize, "out of memory");
            return -1;
        }
    } else if (strlen(cfg->client_id) > 65535) {
        set_err(err, errsize, "client id longer than 65535 bytes");
        return -1;
    }
    if (cfg->persist_dir == NULL) {
        size_t n = strlen(cfg->db) + 6;

        cfg->persist_dir = malloc(n);
        if (cfg->persist_dir == NULL) {
            set_err(err, errsize, "out of memory");
            return -1;
        }
        if (snprintf(cfg->persist_dir, n, "%s.mqtt", cfg->db) >= (int)n)
            return -1;
    }
    return 0;
}

void bridge_config_usage(void *out_file)
{
    FILE *out = out_file;

    fprintf(out,
            "options (a config file takes the same names with '_' for '-'; flags win):\n"
            "  --spec FILE            AsyncAPI document (required)\n"
            "  --broker URL           mqtt://host:port or mqtts://host:port\n"
            "                         (default: the spec's first MQTT server)\n"
            "  --db FILE              SQLite event store (default asyncbridge.db)\n"
            "  --http ADDR:PORT       HTTP listen address (default 127.0.0.1:8080)\n"
            "  --config FILE          settings file, JSON or YAML\n"
            "  --username NAME        MQTT user name\n"
            "  --password TEXT        MQTT password (visible in the process list: prefer\n"
            "                         the config file or ASYNCBRIDGE_MQTT_PASSWORD, which\n"
            "                         is used when neither sets one)\n"
            "  --client-id ID         MQTT client id (default derived from the db path)\n"
            "  --tls-ca FILE          CA bundle (PEM) for mqtts://\n"
            "  --tls-cert FILE        client certificate (PEM)\n"
            "  --tls-key FILE         client private key (PEM)\n"
            "  --keepalive SECONDS    5..3600 (default 30)\n"
            "  --mqtt-version V       auto (5, then 3.1.1), 5 or 3.1.1 (default auto)\n"
            "  --session-expiry S     MQTT 5 session expiry, 0..4294967295 (default 604800)\n"
            "  --share-group NAME     subscribe as $share/NAME/<filter>\n"
            "  --max-payload BYTES    1..64M, suffix k or M (default 256k)\n"
            "  --unknown-topic P      dead-letter or drop (default dead-letter)\n"
            "  --receive-max N        MQTT 5 in-flight messages, 1..65535 (default 1000)\n"
            "  --reconnect-min S      first reconnect delay, 1..3600 (default 1)\n"
            "  --reconnect-max S      longest reconnect delay, 1..3600 (default 30)\n"
            "  --persist-dir DIR      Paho persistence folder (default <db>.mqtt)\n"
            "  --ingest-mode M        journal (group commit, default) or sync (commit per\n"
            "                         message); both are durable before the MQTT ack\n"
            "  --log-level L          error, warn, info or debug (default info)\n");
}
