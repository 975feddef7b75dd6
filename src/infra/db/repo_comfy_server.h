/* repo_comfy_server.h — SQL for the ComfyUI server pool (docs/comfyui.md,
 * "Servers"): the rows of comfyui_servers (those of the configuration,
 * merged in at start, and those admins added) and the install's
 * WebSocket client id in comfyui_meta.  Writes run on the db writer
 * thread; reads borrow a read connection; safe from any thread. */
#ifndef BB_REPO_COMFY_SERVER_H
#define BB_REPO_COMFY_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infra/config.h"
#include "infra/db/db.h"

/* One server row.  Strings owned by the record (comfy_server_rec_clear). */
typedef struct comfy_server_rec {
    char *id, *url;
    int slots;
    char *labels;                   /* JSON array text */
    bool enabled;
    char *source;                   /* "config" or "api" */
    int64_t created_at, updated_at; /* ms since the epoch */
} comfy_server_rec;

void comfy_server_rec_clear(comfy_server_rec *r);

/* Every server by id (caller clears each record and frees the array). */
int repo_comfy_server_list(db *d, comfy_server_rec **out, size_t *n);
/* One server (caller clears *out); BB_ENOTFOUND. */
int repo_comfy_server_get(db *d, const char *id, comfy_server_rec *out);
/* Inserts r (source, created_at and updated_at filled in here when 0/NULL
 * is given: source "api"); BB_ECONFLICT when the id exists. */
int repo_comfy_server_insert(db *d, comfy_server_rec *r);
/* Sets enabled / slots / labels of server id (each only when its has_ flag
 * is set; labels is JSON array text, borrowed); BB_ENOTFOUND. */
int repo_comfy_server_update(db *d, const char *id, bool has_enabled, bool enabled,
                             bool has_slots, int slots, const char *labels);
/* Deletes server id; BB_ENOTFOUND. */
int repo_comfy_server_delete(db *d, const char *id);
/* The start-up merge of the configured servers (borrowed), one
 * transaction: a new id is inserted with source "config"; an existing one
 * takes the file's url and source "config", keeping its enabled, slots
 * and labels. */
int repo_comfy_server_merge_config(db *d, const bb_comfy_server *s, size_t n);
/* The install's client id (comfyui_meta 'client_id'): the stored one, or
 * `fresh` stored now when there is none, copied into out[37]. */
int repo_comfy_client_id(db *d, const char *fresh, char out[37]);

#endif
