/*
 * What the files of the security layer share: the security object's
 * layout (keys derived per secret, settings, the password-hash slots) and
 * the session's.
 */
#ifndef PHIAL_SECURITY_INTERNAL_H
#define PHIAL_SECURITY_INTERNAL_H

#include "phial/security.h"

#include <pthread.h>

#include <sodium.h>

#define PH__KEY_BYTES 32
#define PH__MAX_KEYS 8 /* SECRET_KEY plus up to 7 fallbacks */

struct ph_security {
    ph_security_config cfg;
    unsigned char session_keys[PH__MAX_KEYS][PH__KEY_BYTES]; /* [0] signs */
    unsigned char csrf_keys[PH__MAX_KEYS][PH__KEY_BYTES];
    /* HMAC states with each key already absorbed: a tag copies one and
     * hashes only its message (keying costs two SHA-256 blocks a call) */
    crypto_auth_hmacsha256_state session_macs[PH__MAX_KEYS];
    crypto_auth_hmacsha256_state csrf_macs[PH__MAX_KEYS];
    int nkeys;
    /* unique for the process's life (addresses are reused): what a
       thread's cache of the last cookie and token it verified is tied to */
    uint64_t id;
    pthread_mutex_t lock; /* password-hash slots */
    pthread_cond_t cond;
    bool lock_made, cond_made;
    unsigned hashing, waiting;
};

typedef struct ph__kv {
    char *key;
    char *value;
} ph__kv;

struct ph_usersession {
    ph_arena *arena;
    ph__kv *items;
    size_t len, cap;
    ph_flash_msg *flashes;
    size_t nflashes, capflashes;
    bool modified;
};

/* The digits of unpadded base64url. */
#define PH__B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/* Decodes unpadded base64url strictly (as libsodium does: a bad digit, a
 * length of 4k+1 or non-zero bits left over fail) into out (room for cap
 * bytes); 0, or -1 with *outlen undefined.  Not constant-time: for bytes
 * that are not secret (a cookie's payload and the tags it brings). */
int ph__b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap, size_t *outlen);

/* The key under which the session keeps its CSRF secret. */
#define PH__CSRF_KEY "_csrf"

#endif
