/* user.h — the user record and its JSON DTO.  Pure: no I/O. */
#ifndef BB_USER_H
#define BB_USER_H

#include <stdbool.h>
#include <stdint.h>

struct cJSON;

typedef struct user {
    int64_t id;
    char *email;          /* stored lower-case; unique */
    char *name;           /* NULL = none */
    char *role;           /* "admin" | "user" */
    char *password_hash;  /* crypto_pwhash_str output; never leaves the server */
    bool disabled;
    int64_t created_at, updated_at;
} user;

/* Frees the strings and zeroes the record. */
void user_clear(user *u);
/* {"id","email","name","role","disabled","createdAt","updatedAt"}; never
 * the hash.  Caller frees (cJSON_Delete); NULL on OOM. */
struct cJSON *user_to_dto(const user *u);
bool user_role_valid(const char *role);

#endif
