/* repo_claim_res.h — the resource-aware pick of the claim cycle (see the
 * comment at the top of repo_claim_res.c).  Internal to infra/db: called
 * by repo_claim.c inside the worker cycle's writer operation. */
#ifndef BB_REPO_CLAIM_RES_H
#define BB_REPO_CLAIM_RES_H

#include <stdint.h>

#include "infra/db/db.h"
#include "infra/db/repo_claim.h"

/* Picks the next job whose needs fit the free units of r->pools, writing
 * waitingFor of the candidates it passes over.  BB_OK with *id (0 when
 * none fits) and *held: the units given to it as JSON text (caller frees;
 * NULL when it needs nothing), or an error. */
int repo_claim_pick_res(db_conn *c, const struct claim_req *r, db_outbox *out, int64_t *id,
                        char **held);

#endif
