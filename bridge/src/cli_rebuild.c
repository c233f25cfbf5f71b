/* SPDX-License-Identifier: MIT */
/*
 * `asyncbridge rebuild --db FILE --spec SPEC`: drop every projection and
 * fold the whole event log again, with the same projector options `run`
 * uses (status channels from the spec), so the result equals the
 * incrementally built read models. See docs/ingest.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncapi/asyncapi.h"
#include "cli.h"
#include "config.h"
#include "ingest.h"
#include "store/store.h"

static void rebuild_usage(FILE *out)
{
    fprintf(out,
            "usage: asyncbridge rebuild --db FILE --spec SPEC [--config FILE]\n"
            "\n"
            "Drops the projections (devices, device_state, rollups) and replays the\n"
            "event log into them in one transaction. Run it with the daemon stopped.\n"
            "\n"
            "options:\n"
            "  --db FILE      the SQLite event store (default asyncbridge.db)\n"
            "  --spec FILE    the AsyncAPI document the store was filled with\n"
            "  --config FILE  settings file (its MQTT settings are ignored)\n"
            "  --log-level L  error, warn, info or debug\n");
}

int bridge_cmd_rebuild(int argc, char **argv)
{
    bridge_config cfg;
    asyncapi_doc *doc = NULL;
    asyncapi_diag diag;
    const char **status_ids = NULL;
    size_t n_status = 0;
    char err[1024];
    int rc, exit_code = 2;

    if (bridge_config_init(&cfg) != 0) {
        bridge_errorf("rebuild: out of memory");
        return 2;
    }
    rc = bridge_config_parse_args(&cfg, argc, argv, 0, err, sizeof(err));
    if (rc == 1) {
        rebuild_usage(stdout);
        exit_code = 0;
        goto out;
    }
    if (rc != 0) {
        bridge_errorf("rebuild: %s", err);
        goto out;
    }
    if (cfg.spec == NULL) {
        bridge_errorf("rebuild: --spec is required (status channels come from it)");
        goto out;
    }
    memset(&diag, 0, sizeof(diag));
    doc = asyncapi_load(cfg.spec, NULL, &rc, &diag);
    if (doc == NULL) {
        bridge_errorf("rebuild: %s: %s", diag.file[0] ? diag.file : cfg.spec,
                      diag.message[0] ? diag.message : asyncapi_strerror(rc));
        goto out;
    }
    if (bridge_status_channels(doc, &status_ids, &n_status) != 0) {
        bridge_errorf("rebuild: out of memory");
        goto out;
    }
    {
        store_projector_options popt = {
            .status_channels = status_ids,
            .n_status_channels = n_status,
            .open_flags = STORE_OPEN_NO_CREATE,
        };

        err[0] = '\0';
        rc = store_rebuild(cfg.db, &popt, err, sizeof(err));
        if (rc != 0) {
            bridge_errorf("rebuild: '%s': %s%s%s", cfg.db, store_strerror(rc),
                          err[0] ? ": " : "", err);
            exit_code = 1;
            goto out;
        }
    }
    printf("rebuilt the projections of '%s'\n", cfg.db);
    exit_code = 0;
out:
    free(status_ids);
    asyncapi_free(doc);
    bridge_config_release(&cfg);
    return exit_code;
}
