/* config_integ.c — the integration settings of a preset: "retention"
 * (how long its finished jobs are kept, docs/operations.md "Retention")
 * and "notify" (webhook targets, docs/integrations.md "Webhooks"), and
 * the lookup of a preset's effective retention.  Parsing runs while a
 * configuration loads (start-up or reload, one thread); the lookup on any
 * thread (the configuration is immutable once published). */
#include "infra/config_int.h"

#include <stdio.h>
#include <string.h>

#define MAX_NOTIFY 16           /* targets per preset (and per job) */
#define MAX_RETENTION_DAYS 36500

int cfg_parse_integrations(load_ctx *x, const cJSON *retention, const cJSON *notify,
                           const char *path, bb_preset *p)
{
    char kp[KEY_PATH_MAX];
    p->retention_sec = -1;
    if (retention != NULL) {
        static const char *const KEYS[] = {"days", "afterSec", NULL};
        const cJSON *f[2] = {NULL, NULL};
        cfg_key_path(kp, sizeof kp, path, "retention");
        if (!cJSON_IsObject(retention))
            return cfg_fail(x, "\"%s\" must be an object {\"days\": N} or {\"afterSec\": N}",
                            kp);
        if (cfg_collect(x, retention, kp, KEYS, f) != 0)
            return -1;
        int64_t v = 0;
        if (f[0] && f[1])
            return cfg_fail(x, "\"%s\": give days or afterSec, not both", kp);
        if (f[0] && !cfg_json_int(f[0], 0, MAX_RETENTION_DAYS, &v))
            return cfg_fail(x, "\"%s.days\" must be an integer between 0 and %d", kp,
                            MAX_RETENTION_DAYS);
        if (f[0])
            p->retention_sec = v * 86400;
        if (f[1] && !cfg_json_int(f[1], 0, (int64_t)MAX_RETENTION_DAYS * 86400, &v))
            return cfg_fail(x, "\"%s.afterSec\" must be an integer between 0 and %lld", kp,
                            (long long)MAX_RETENTION_DAYS * 86400);
        if (f[1])
            p->retention_sec = v;
    }
    if (notify != NULL) {
        char field[KEY_PATH_MAX], msg[200];
        cfg_key_path(kp, sizeof kp, path, "notify");
        if (notify_parse(notify, kp, MAX_NOTIFY, &p->notify, &p->nnotify, field, sizeof field,
                         msg, sizeof msg) != 0)
            return cfg_fail(x, "\"%s\" %s", field, msg);
    }
    return 0;
}

int64_t config_retention_sec(const bb_config *c, const char *preset_id)
{
    const bb_preset *p = config_preset(c, preset_id);
    if (p && p->retention_sec >= 0)
        return p->retention_sec;
    return c->retention.after_sec > 0 ? c->retention.after_sec
                                      : (int64_t)c->retention.days * 86400;
}
