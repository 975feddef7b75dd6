/* notify.c — webhook targets: parsing and checking a `notify` list
 * (notify.h, docs/integrations.md "Webhooks").  Pure; any thread. */
#include "domain/notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"

static const char *const EVENT_NAMES[NOTIFY_NEVENTS] = {
    "job.created", "job.running", "job.succeeded", "job.failed", "job.canceled",
};

const char *notify_event_name(size_t i)
{
    return i < NOTIFY_NEVENTS ? EVENT_NAMES[i] : NULL;
}

unsigned notify_event_of_state(const char *state)
{
    static const char *const STATES[NOTIFY_NEVENTS] = {
        "created", "running", "succeeded", "failed", "canceled",
    };
    for (size_t i = 0; state && i < NOTIFY_NEVENTS; i++)
        if (strcmp(state, STATES[i]) == 0)
            return 1u << i;
    return 0;
}

void notify_free_list(bb_notify *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].url);
        free(v[i].secret);
    }
    free(v);
}

/* http:// or https://, a host, printable ASCII without spaces or quotes. */
static bool url_ok(const char *u)
{
    size_t skip = strncmp(u, "http://", 7) == 0 ? 7 : strncmp(u, "https://", 8) == 0 ? 8 : 0;
    size_t n = strlen(u);
    if (skip == 0 || n == skip || n > 2048 || u[skip] == '/' || u[skip] == ':')
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] <= ' ' || (unsigned char)u[i] >= 0x7f || u[i] == '"' ||
            u[i] == '\\')
            return false;
    return true;
}

/* The events member: a non-empty array of known names, or "job.finished"
 * (the three end states).  0 after writing msg. */
static unsigned parse_events(const cJSON *ev, char *msg, size_t mcap)
{
    unsigned bits = 0;
    const cJSON *el;
    if (!cJSON_IsArray(ev) || cJSON_GetArraySize(ev) == 0) {
        snprintf(msg, mcap, "must be a non-empty array of event names (job.created, "
                            "job.running, job.succeeded, job.failed, job.canceled, job.finished)");
        return 0;
    }
    cJSON_ArrayForEach(el, ev) {
        const char *s = cJSON_IsString(el) ? el->valuestring : NULL;
        unsigned b = 0;
        for (size_t i = 0; s && i < NOTIFY_NEVENTS; i++)
            if (strcmp(s, EVENT_NAMES[i]) == 0)
                b = 1u << i;
        if (s && strcmp(s, "job.finished") == 0)
            b = NOTIFY_FINISHED;
        if (b == 0) {
            snprintf(msg, mcap, "unknown event %.64s%s%s (known: job.created, job.running, "
                                "job.succeeded, job.failed, job.canceled, job.finished)",
                     s ? "\"" : "", s ? s : "(not a string)", s ? "\"" : "");
            return 0;
        }
        bits |= b;
    }
    return bits;
}

static int fail(char *field, size_t fcap, const char *path, size_t i, const char *member,
                char *msg, size_t mcap, const char *text)
{
    if (member)
        snprintf(field, fcap, "%s[%zu].%s", path, i, member);
    else
        snprintf(field, fcap, "%s", path);
    if (text)
        snprintf(msg, mcap, "%s", text);
    return -1;
}

static int parse_one(const cJSON *it, const char *path, size_t i, bb_notify *t, char *field,
                     size_t fcap, char *msg, size_t mcap)
{
    if (!cJSON_IsObject(it))
        return fail(field, fcap, path, i, "url", msg, mcap,
                    "each target must be an object {url, events, secret?}");
    for (const cJSON *ch = it->child; ch; ch = ch->next)
        if (strcmp(ch->string, "url") && strcmp(ch->string, "events") &&
            strcmp(ch->string, "secret")) {
            char m[120];
            snprintf(m, sizeof m, "unknown key \"%.40s\" (url, events, secret)", ch->string);
            return fail(field, fcap, path, i, "url", msg, mcap, m);
        }
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(it, "url");
    if (!cJSON_IsString(u) || !url_ok(u->valuestring))
        return fail(field, fcap, path, i, "url", msg, mcap,
                    "must be an http:// or https:// URL (at most 2048 bytes)");
    t->events = parse_events(cJSON_GetObjectItemCaseSensitive(it, "events"), msg, mcap);
    if (t->events == 0)
        return fail(field, fcap, path, i, "events", msg, mcap, NULL);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(it, "secret");
    if (s && !cJSON_IsNull(s) &&
        (!cJSON_IsString(s) || strlen(s->valuestring) < 16 || strlen(s->valuestring) > 256))
        return fail(field, fcap, path, i, "secret", msg, mcap,
                    "must be a string of 16 to 256 bytes");
    t->url = strdup(u->valuestring);
    t->secret = cJSON_IsString(s) ? strdup(s->valuestring) : NULL;
    if (!t->url || (cJSON_IsString(s) && !t->secret))
        return fail(field, fcap, path, i, "url", msg, mcap, "out of memory");
    return 0;
}

int notify_parse(const cJSON *arr, const char *path, size_t max, bb_notify **out, size_t *n,
                 char *field, size_t fcap, char *msg, size_t mcap)
{
    *out = NULL;
    *n = 0;
    int count = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : -1;
    if (count < 0 || (size_t)count > max) {
        char m[100];
        snprintf(m, sizeof m, "must be an array of at most %zu targets {url, events, secret?}",
                 max);
        return fail(field, fcap, path, 0, NULL, msg, mcap, m);
    }
    if (count == 0)
        return 0;
    bb_notify *v = calloc((size_t)count, sizeof *v);
    if (!v)
        return fail(field, fcap, path, 0, NULL, msg, mcap, "out of memory");
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        if (parse_one(it, path, i, &v[i], field, fcap, msg, mcap) != 0) {
            notify_free_list(v, i + 1);
            return -1;
        }
        i++;
    }
    *out = v;
    *n = i;
    return 0;
}

cJSON *notify_to_json(const bb_notify *v, size_t n, bool with_secret)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < n; i++) {
        cJSON *o = cJSON_CreateObject(), *ev = o ? cJSON_AddArrayToObject(o, "events") : NULL;
        if (!ev || !cJSON_AddStringToObject(o, "url", v[i].url) ||
            (with_secret && v[i].secret && !cJSON_AddStringToObject(o, "secret", v[i].secret))) {
            cJSON_Delete(o);
            cJSON_Delete(arr);
            return NULL;
        }
        cJSON_AddItemToArray(arr, o);
        for (size_t k = 0; k < NOTIFY_NEVENTS; k++)
            if ((v[i].events & (1u << k)) &&
                !cJSON_AddItemToArray(ev, cJSON_CreateString(EVENT_NAMES[k]))) {
                cJSON_Delete(arr);
                return NULL;
            }
    }
    return arr;
}
