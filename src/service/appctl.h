/* appctl.h — opening and closing the appliance (app.c). */
#ifndef BB_APPCTL_H
#define BB_APPCTL_H

#include "service/app.h"

struct app_options {
    const char *data_dir;       /* required */
    const char *config_path;    /* NULL: DATA/batchbox.json or defaults */
    const char *listen;         /* NULL: from config */
    const char *input_root;     /* NULL: from config */
    int workers;                /* >0 overrides config; 0 = config; <0 = no pool */
    bool relative_urls;         /* `batchbox run`: manifests name artifacts by file
                                   name alone (they end up side by side in --out) */
    bool integrations;          /* start the webhook and retention threads (`serve`) */
    /* optional observer of committed events (writer thread; must not block) */
    void (*on_events)(void *ud, bus_event **evs, size_t n);
    void *on_events_ud;
};

/* Opens config, directories, database (with crash recovery) and starts
 * the workers.  0, or -1 with a message (app is then closed). */
int app_open(bb_app *app, const struct app_options *o, char *err, size_t errlen);
/* Stops workers (grace_ms for running jobs), closes the database and frees
 * everything.  Safe on a partially opened app. */
void app_close(bb_app *app, int grace_ms);

#endif
