/* comfy_pool_int.h — what the two files of the ComfyUI pool share:
 * comfy_pool.c (registry, health, leases, admin operations) and
 * comfy_place.c (placement and the catalogue's choices).  Not for other
 * modules: they use comfy_pool.h.  Every field below is guarded by cpool.mu
 * unless marked otherwise. */
#ifndef BB_COMFY_POOL_INT_H
#define BB_COMFY_POOL_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "service/comfy_pool.h"

/* Health threads: a server that does not answer holds one for up to the
 * check's timeout, so the others are still checked on time. */
#define COMFY_HEALTH_THREADS 4

/* One server of the pool. */
struct srv {
    struct srv *next;
    char id[65];
    char url[512];
    int slots;
    char **labels;          /* owned, nlabels of them */
    size_t nlabels;
    bool enabled, from_config;
    bool removed;           /* left the list; freed at its last lease's release */
    bool checked, up, check_now;
    int checking;           /* probes under way (health threads, /refresh) */
    bool sweep_due;         /* came up: take off it the prompts left there */
    int64_t checked_at, last_seen_at, catalogue_at;   /* ms since the epoch */
    char last_error[256];
    char version[64];
    int queue_remaining;    /* -1 unknown */
    struct cJSON *devices;  /* owned: [{name, type, vramTotal, vramFree}] */
    struct cJSON *models;   /* owned: {FOLDER: [names]}, NULL until read */
    comfy_ws *ws;           /* owned; NULL while disabled */
    int leases, running;    /* attempts holding it */
    int64_t done, failed, busy_ms;
};

struct comfy_pool_state {
    pthread_mutex_t mu;
    pthread_cond_t cond;        /* the health threads' wake-up */
    struct db *db;              /* borrowed; set at start */
    struct pool *workers;       /* borrowed; woken when a server comes up */
    struct srv *list;           /* by id */
    struct srv *gone;           /* removed, still leased */
    int interval_sec, timeout_ms;
    bool started, stop;
    pthread_t health[COMFY_HEALTH_THREADS];
    int nhealth;                /* health threads started */
};
extern struct comfy_pool_state cpool;

/* The entry of id in the list (cpool.mu held), or NULL. */
struct srv *comfy_srv_find(const char *id);
/* Frees what placement cached (graphs, models per job); at stop. */
void comfy_place_cache_clear(void);

#endif
