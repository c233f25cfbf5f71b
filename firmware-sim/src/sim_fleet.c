/* SPDX-License-Identifier: MIT */
/*
 * Fleet model of asyncbridge-sim: picks the channels devices publish on
 * from the loaded AsyncAPI document, finds the status (last will) channel,
 * fills every channel address per device and keeps per-device state.
 * Design notes: docs/sim.md.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_fleet.h"

static int ieq(const char *a, const char *b)
{
    if (!a || !b)
        return 0;
    while (*a && *b && tolower((unsigned char)*a) == tolower((unsigned char)*b)) {
        a++;
        b++;
    }
    return *a == '\0' && *b == '\0';
}

static int ends_with_id(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 2 && tolower((unsigned char)s[n - 2]) == 'i' && tolower((unsigned char)s[n - 1]) == 'd';
}

static uint64_t hash_str(const char *s, uint64_t h)
{
    h ^= 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static int same_channel(const asyncapi_channel *a, const asyncapi_channel *b)
{
    return a == b || (a && b && a->id && b->id && strcmp(a->id, b->id) == 0);
}

/* The payload member that says online/offline, or NULL. */
static const char *status_field_of(const asyncapi_message *m)
{
    static const char *const names[] = {"status", "online", "state", "connected", "connection"};
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(m->payload, "properties");
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(m->node, "x-asyncbridge-status");
    if (cJSON_IsString(x))
        return x->valuestring;
    if (!cJSON_IsObject(props))
        return NULL;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(props, names[i]);
        if (p)
            return p->string;
    }
    return NULL;
}

static int add_msg(sim_chan *c, const asyncapi_message *m)
{
    const asyncapi_message **n;
    for (size_t i = 0; i < c->n_msgs; i++)
        if (c->msgs[i] == m)
            return 0;
    n = realloc(c->msgs, (c->n_msgs + 1) * sizeof(*n));
    if (!n)
        return SIM_ENOMEM;
    c->msgs = n;
    c->msgs[c->n_msgs++] = m;
    return 0;
}

/* A value for parameter p of device d: same device, same value on every channel. */
static int param_value(const sim_fleet *f, const asyncapi_param *p, size_t d, uint64_t seed,
                       char *buf, size_t size)
{
    const cJSON *schema = p->schema;
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(schema, "enum");
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(schema, "pattern");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(schema, "type");
    int is_dev = f->device_param && strcmp(p->name, f->device_param) == 0;
    int n;
    if (cJSON_IsArray(en) && cJSON_GetArraySize(en) > 0) {
        const cJSON *v = cJSON_GetArrayItem(en, (int)(d % (size_t)cJSON_GetArraySize(en)));
        if (cJSON_IsString(v))
            n = snprintf(buf, size, "%s", v->valuestring);
        else if (cJSON_IsNumber(v))
            n = snprintf(buf, size, "%.17g", v->valuedouble);
        else
            n = snprintf(buf, size, "%zu", d + 1);
    } else if (cJSON_IsString(pat)) {
        sim_rng r;
        sim_rng_seed(&r, hash_str(p->name, seed) ^ (d * 0x9e3779b97f4a7c15ULL));
        n = -1;
        for (int i = 0; i < 16 && n <= 0; i++) {
            n = sim_regex_gen(pat->valuestring, &r, buf, size);
            if (n > 0 && strpbrk(buf, "/+#"))
                n = -1;
        }
        if (n <= 0)
            n = snprintf(buf, size, "%s-%04zu", is_dev ? "dev" : p->name, d + 1);
    } else if (cJSON_IsString(type) &&
               (strcmp(type->valuestring, "integer") == 0 || strcmp(type->valuestring, "number") == 0)) {
        n = snprintf(buf, size, "%zu", is_dev ? d + 1 : d % 4 + 1);
    } else if (is_dev) {
        n = snprintf(buf, size, "dev-%04zu", d + 1);
    } else {
        n = snprintf(buf, size, "%s-%zu", p->name, d % 3 + 1);
    }
    return n > 0 && (size_t)n < size ? 0 : SIM_EINVAL;
}

/* Fills the channel address for device d; NULL when out of memory or unusable. */
static char *make_topic(const sim_fleet *f, const asyncapi_channel *ch, size_t d, uint64_t seed)
{
    const char *a = ch->address;
    size_t cap = strlen(a) + 1, len = 0;
    char *out;
    for (size_t i = 0; i < ch->n_params; i++)
        cap += 64;
    out = malloc(cap);
    if (!out)
        return NULL;
    while (*a) {
        if (*a == '{') {
            const char *close = strchr(a, '}');
            const asyncapi_param *p = NULL;
            char val[64];
            if (!close)
                goto fail;
            for (size_t i = 0; i < ch->n_params; i++)
                if (strlen(ch->params[i].name) == (size_t)(close - a - 1) &&
                    strncmp(ch->params[i].name, a + 1, (size_t)(close - a - 1)) == 0)
                    p = &ch->params[i];
            if (p) {
                if (param_value(f, p, d, seed, val, sizeof(val)) != 0)
                    goto fail;
            } else {
                snprintf(val, sizeof(val), "x%zu", d + 1);
            }
            if (len + strlen(val) + 1 > cap)
                goto fail;
            memcpy(out + len, val, strlen(val));
            len += strlen(val);
            a = close + 1;
        } else {
            if (len + 2 > cap)
                goto fail;
            out[len++] = *a++;
        }
    }
    out[len] = '\0';
    return out;
fail:
    free(out);
    return NULL;
}

void sim_fleet_release(sim_fleet *f)
{
    for (size_t i = 0; i < f->n_chans; i++)
        free(f->chans[i].msgs);
    free(f->chans);
    for (size_t d = 0; f->devs && d < f->n_devs; d++) {
        sim_device *dev = &f->devs[d];
        for (size_t c = 0; dev->topics && c < f->n_chans; c++)
            free(dev->topics[c]);
        free(dev->topics);
        for (size_t s = 0; dev->series && s < f->n_slots; s++)
            sim_series_free(dev->series[s]);
        free(dev->series);
    }
    free(f->devs);
    free(f->slot_base);
    memset(f, 0, sizeof(*f));
}

int sim_fleet_init(sim_fleet *f, const asyncapi_doc *doc, size_t n_devices, uint64_t seed,
                   char *err, size_t errsz)
{
    size_t n_ch = 0, n_ops = 0;
    const asyncapi_channel *chs = asyncapi_doc_channels(doc, &n_ch);
    const asyncapi_operation *ops = asyncapi_doc_operations(doc, &n_ops);
    int rc = SIM_ENOMEM;
    char filter[1024];

    memset(f, 0, sizeof(*f));
    f->doc = doc;
    f->status_chan = -1;
    snprintf(err, errsz, "out of memory");
    f->chans = calloc(n_ch ? n_ch : 1, sizeof(*f->chans));
    if (!f->chans)
        goto fail;
    for (size_t i = 0; i < n_ch; i++) {
        const asyncapi_channel *ch = &chs[i];
        sim_chan *c = &f->chans[f->n_chans];
        if (!asyncapi_channel_receives(doc, ch) || !ch->address)
            continue;
        if (asyncapi_topic_filter(ch->address, filter, sizeof(filter)) < 0)
            continue; /* not an MQTT-able address */
        memset(c, 0, sizeof(*c));
        c->ch = ch;
        c->qos = asyncapi_channel_qos(doc, ch);
        if (c->qos < 0 || c->qos > 2)
            c->qos = 1;
        for (size_t o = 0; o < n_ops; o++) {
            if (ops[o].action != ASYNCAPI_RECEIVE || !same_channel(ops[o].channel, ch))
                continue;
            for (size_t m = 0; m < ops[o].n_messages; m++)
                if (ops[o].messages[m] && add_msg(c, ops[o].messages[m]) != 0)
                    goto fail;
        }
        if (c->n_msgs == 0)
            for (size_t m = 0; m < ch->n_messages; m++)
                if (ch->messages[m] && add_msg(c, ch->messages[m]) != 0)
                    goto fail;
        if (c->n_msgs == 0) {
            free(c->msgs);
            continue;
        }
        c->weight = 1.0;
        if ((ch->id && strstr(ch->id, "alert")) || strstr(ch->address, "alert") ||
            strstr(ch->address, "event"))
            c->weight = 0.1; /* alerts and events are rarer than readings */
        /* the status channel: x-asyncbridge-status, or a status/online member */
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(ch->node, "x-asyncbridge-status");
        c->status_field = status_field_of(c->msgs[0]);
        if (f->status_chan < 0 && (cJSON_IsTrue(x) || cJSON_IsString(x) || c->status_field)) {
            c->is_status = 1;
            if (cJSON_IsString(x))
                c->status_field = x->valuestring;
            f->status_chan = (int)f->n_chans;
        }
        f->n_chans++;
    }
    if (f->n_chans == 0) {
        snprintf(err, errsz, "no channel devices publish on (a receive operation on an MQTT address)");
        rc = SIM_EINVAL;
        goto fail;
    }
    /* a lone channel is regular traffic even if it looks like a status */
    if (f->n_chans == 1 && f->status_chan == 0 && !f->chans[0].status_field)
        f->status_chan = -1;
    for (size_t c = 0; c < f->n_chans; c++)
        if ((int)c != f->status_chan || f->n_chans == 1)
            f->total_weight += f->chans[c].weight;

    /* the device id parameter: deviceId/device_id/device, else the first *Id */
    for (int pass = 0; pass < 2 && !f->device_param; pass++)
        for (size_t c = 0; c < f->n_chans && !f->device_param; c++)
            for (size_t p = 0; p < f->chans[c].ch->n_params; p++) {
                const char *name = f->chans[c].ch->params[p].name;
                if (pass == 0 ? (ieq(name, "deviceId") || ieq(name, "device_id") ||
                                 ieq(name, "device"))
                              : ends_with_id(name)) {
                    f->device_param = name;
                    break;
                }
            }

    f->slot_base = calloc(f->n_chans, sizeof(*f->slot_base));
    if (!f->slot_base)
        goto fail;
    for (size_t c = 0; c < f->n_chans; c++) {
        f->slot_base[c] = f->n_slots;
        f->n_slots += f->chans[c].n_msgs;
    }
    f->devs = calloc(n_devices, sizeof(*f->devs));
    if (!f->devs)
        goto fail;
    f->n_devs = n_devices;
    for (size_t d = 0; d < n_devices; d++) {
        sim_device *dev = &f->devs[d];
        sim_rng_seed(&dev->rng, seed * 0x2545f4914f6cdd1dULL + d + 1);
        dev->topics = calloc(f->n_chans, sizeof(*dev->topics));
        dev->series = calloc(f->n_slots, sizeof(*dev->series));
        if (!dev->topics || !dev->series)
            goto fail;
        dev->id[0] = '\0';
        for (size_t c = 0; c < f->n_chans; c++) {
            dev->topics[c] = make_topic(f, f->chans[c].ch, d, seed);
            if (!dev->topics[c]) {
                snprintf(err, errsz, "cannot fill the address '%s' of channel '%s'",
                         f->chans[c].ch->address, f->chans[c].ch->id);
                rc = SIM_EINVAL;
                goto fail;
            }
        }
        /* the id: the device parameter's value, else a generated one */
        const asyncapi_param *dp = NULL;
        for (size_t c = 0; c < f->n_chans && !dp && f->device_param; c++)
            for (size_t p = 0; p < f->chans[c].ch->n_params; p++)
                if (strcmp(f->chans[c].ch->params[p].name, f->device_param) == 0)
                    dp = &f->chans[c].ch->params[p];
        if (!dp || param_value(f, dp, d, seed, dev->id, sizeof(dev->id)) != 0)
            snprintf(dev->id, sizeof(dev->id), "dev-%04zu", d + 1);
    }
    return 0;
fail:
    sim_fleet_release(f);
    return rc;
}

size_t sim_fleet_pick_chan(const sim_fleet *f, sim_rng *rng)
{
    double x = sim_rng_double(rng) * f->total_weight;
    size_t last = 0;
    for (size_t c = 0; c < f->n_chans; c++) {
        if ((int)c == f->status_chan && f->n_chans > 1)
            continue;
        last = c;
        if (x < f->chans[c].weight)
            return c;
        x -= f->chans[c].weight;
    }
    return last;
}

int sim_fleet_payload(sim_fleet *f, size_t d, size_t c, int use_examples, double now,
                      cJSON **out, const asyncapi_message **msg)
{
    sim_device *dev = &f->devs[d];
    const sim_chan *ch = &f->chans[c];
    size_t mi = ch->n_msgs > 1 ? (size_t)sim_rng_below(&dev->rng, ch->n_msgs) : 0;
    const asyncapi_message *m = ch->msgs[mi];
    size_t slot = f->slot_base[c] + mi;
    *out = NULL;
    *msg = m;
    if (use_examples && cJSON_IsArray(m->examples) && cJSON_GetArraySize(m->examples) > 0) {
        int n = cJSON_GetArraySize(m->examples);
        const cJSON *ex = cJSON_GetArrayItem(m->examples, (int)(dev->next_example++ % (size_t)n));
        const cJSON *p = cJSON_IsObject(ex) ? cJSON_GetObjectItemCaseSensitive(ex, "payload") : NULL;
        /* 2.3+/3.0: {name, summary, headers, payload}; older: the payload itself */
        if (!p && !(cJSON_IsObject(ex) && cJSON_GetObjectItemCaseSensitive(ex, "headers")))
            p = ex;
        if (p) {
            *out = cJSON_Duplicate(p, 1);
            if (!*out)
                return SIM_ENOMEM;
            return m->payload_schema && asyncapi_schema_validate(m->payload_schema, *out, NULL) != 0;
        }
    }
    if (!dev->series[slot]) {
        dev->series[slot] = sim_series_new();
        if (!dev->series[slot])
            return SIM_ENOMEM;
    }
    sim_gen_ctx ctx = {
        .rng = &dev->rng,
        .root = asyncapi_doc_root(f->doc),
        .now = now,
        .series = dev->series[slot],
        .device_id = dev->id,
        .device_param = f->device_param,
    };
    return sim_gen_payload(m, &ctx, out);
}

/* Sets v (the status member) to an online/offline value its schema allows. */
static int set_status(cJSON *obj, const char *field, const cJSON *fschema, int online)
{
    static const char *const on_words[] = {"online", "up", "connected", "ok", "active", "alive", "on", NULL};
    static const char *const off_words[] = {"offline", "down", "disconnected", "lost", "inactive", "dead", "off", NULL};
    const char *const *words = online ? on_words : off_words;
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(fschema, "enum");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(fschema, "type");
    cJSON *nv = NULL;
    if (cJSON_IsArray(en)) {
        for (const char *const *w = words; *w && !nv; w++) {
            const cJSON *e;
            cJSON_ArrayForEach(e, en)
                if (cJSON_IsString(e) && ieq(e->valuestring, *w)) {
                    nv = cJSON_CreateString(e->valuestring);
                    break;
                }
        }
        if (!nv) {
            const cJSON *e;
            cJSON_ArrayForEach(e, en)
                if (cJSON_IsBool(e) && cJSON_IsTrue(e) == (online != 0))
                    nv = cJSON_CreateBool(online);
        }
    } else if (cJSON_IsString(type) && strcmp(type->valuestring, "boolean") == 0) {
        nv = cJSON_CreateBool(online);
    } else if (!type || (cJSON_IsString(type) && strcmp(type->valuestring, "string") == 0)) {
        nv = cJSON_CreateString(online ? "online" : "offline");
    }
    if (!nv)
        return 0; /* leave the generated value */
    if (cJSON_GetObjectItemCaseSensitive(obj, field))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, field, nv);
    else
        cJSON_AddItemToObject(obj, field, nv);
    return 0;
}

int sim_fleet_status(sim_fleet *f, size_t d, int online, double now, char **text)
{
    const asyncapi_message *m;
    cJSON *payload = NULL;
    int rc;
    *text = NULL;
    if (f->status_chan < 0)
        return SIM_EINVAL;
    rc = sim_fleet_payload(f, d, (size_t)f->status_chan, 0, now, &payload, &m);
    if (rc < 0)
        return rc;
    const sim_chan *c = &f->chans[f->status_chan];
    if (c->status_field && cJSON_IsObject(payload)) {
        const cJSON *props = cJSON_GetObjectItemCaseSensitive(m->payload, "properties");
        set_status(payload, c->status_field,
                   cJSON_GetObjectItemCaseSensitive(props, c->status_field), online);
    }
    *text = cJSON_PrintUnformatted(payload);
    cJSON_Delete(payload);
    return *text ? 0 : SIM_ENOMEM;
}
