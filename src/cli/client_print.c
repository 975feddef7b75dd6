/* client_print.c — the client verbs' output helpers: reading fields of
 * the server's JSON, printing server text safely (control characters
 * replaced), times, sizes, and the job-id argument check.  See client.h. */
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"

/* Writes s to f with control characters (but tab) shown as '?'. */
void cl_put_clean(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        fputc((*p < 0x20 && *p != '\t') || *p == 0x7f ? '?' : *p, f);
}

/* One control byte c escaped into f. */
static int put_escaped(FILE *f, unsigned char c)
{
    switch (c) {
    case '\r':
        return fputs("\\r", f) < 0 ? -1 : 0;
    case '\b':
        return fputs("\\b", f) < 0 ? -1 : 0;
    default:
        return fprintf(f, "\\x%02x", c) < 0 ? -1 : 0;
    }
}

int cl_log_write(struct cl_log_writer *w, FILE *f, const char *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = p[i];
        if (w->pending_c2) {
            w->pending_c2 = false;
            if (c >= 0x80 && c <= 0x9f) {          /* a C1 control, UTF-8 encoded */
                if (fprintf(f, "\\u00%02x", c) < 0)
                    return -1;
                continue;
            }
            if (fputc(0xc2, f) == EOF)
                return -1;
        }
        if (c == 0xc2) {
            w->pending_c2 = true;
            continue;
        }
        bool control = (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f;
        if (control ? put_escaped(f, c) != 0 : fputc(c, f) == EOF)
            return -1;
    }
    return 0;
}

/* Accepts a job id argument: digits only. */
bool cl_valid_job_id(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 19)
        return false;
    for (size_t k = 0; k < n; k++)
        if (s[k] < '0' || s[k] > '9')
            return false;
    return true;
}

/* ------------------------------------------------------ JSON helpers */

const char *cl_jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* True for a whole number a long long holds (the cast is then defined). */
bool cl_whole_number(double d)
{
    return d > -9.2e18 && d < 9.2e18 && d == (double)(long long)d;
}

/* A value as text: strings as they are, integral numbers without
 * decimals; NULL for null/absent.  out holds numbers. */
const char *cl_jtext(const cJSON *o, const char *key, char *out,
                     size_t outlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (cJSON_IsString(v))
        return v->valuestring;
    if (cJSON_IsNumber(v)) {
        if (cl_whole_number(v->valuedouble))
            snprintf(out, outlen, "%lld", (long long)v->valuedouble);
        else
            snprintf(out, outlen, "%g", v->valuedouble);
        return out;
    }
    return NULL;
}

int cl_jint(const cJSON *o, const char *key, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < INT_MIN ||
        v->valuedouble > INT_MAX)
        return dflt;
    return (int)v->valuedouble;
}

/* progress (0..1) as a whole percentage, or -1 when absent. */
int cl_jpercent(const cJSON *o)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "progress");
    if (!cJSON_IsNumber(v))
        return -1;
    double p = v->valuedouble;
    if (p < 0)
        p = 0;
    if (p > 1)
        p = 1;
    return (int)(p * 100.0 + 0.5);
}

void cl_print_json(const cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);

    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
    }
    fflush(stdout);
}

/* Prints a 2xx body verbatim, ending in a newline. */
void cl_print_raw(const struct http_response *resp)
{
    fwrite(resp->body, 1, resp->body_len, stdout);
    if (resp->body_len == 0 || resp->body[resp->body_len - 1] != '\n')
        fputc('\n', stdout);
    fflush(stdout);
}

bool cl_state_terminal(const char *state)
{
    return state && (strcmp(state, "succeeded") == 0 ||
                     strcmp(state, "failed") == 0 ||
                     strcmp(state, "canceled") == 0);
}

/* "2026-11-22T05:00:00.123Z" → "2026-11-22 05:00:00" (UTC). */
const char *cl_short_time(const char *iso, char out[24])
{
    if (!iso)
        return "-";
    if (strlen(iso) >= 19 && iso[10] == 'T') {
        snprintf(out, 24, "%.10s %.8s", iso, iso + 11);
        return out;
    }
    return iso;
}

const char *cl_base_name(const char *path)
{
    const char *slash;

    if (!path)
        return "-";
    slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

void cl_human_size(double bytes, char *out, size_t outlen)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    int u = -1;

    if (bytes < 1024) {
        snprintf(out, outlen, "%.0f B", bytes);
        return;
    }
    while (bytes >= 1024 && u < 3) {
        bytes /= 1024;
        u++;
    }
    snprintf(out, outlen, "%.1f %s", bytes, units[u]);
}

const char *cl_job_id_arg(const struct ctx *c)
{
    const char *id = cli_pos(c->call, 0);

    if (!id || !cl_valid_job_id(id)) {
        usage_error(c, "'%s' is not a job id (a decimal number)",
                    id ? id : "");
        return NULL;
    }
    return id;
}
