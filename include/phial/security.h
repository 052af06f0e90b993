/*
 * Phial security: the signed cookie session (Flask's `session`), CSRF
 * tokens, flash messages stored in that session, Argon2id password hashes
 * with a cap on how many are computed at once, the security headers, and
 * constant-time comparisons.  Cryptography is libsodium's (HMAC-SHA256,
 * Argon2id, the random generator); nothing here knows about HTTP.  The app
 * layer plugs these into each request (see "request context" in app.h).
 *
 * Ownership: a ph_security is made once at start-up from the app's config
 * and is read-only afterwards except for the password-hash counter, which
 * has its own lock.  A ph_usersession lives in an arena (the request's).
 *
 *     ph_security *sec;
 *     ph_security_config cfg;
 *     ph_security_config_defaults(&cfg);
 *     cfg.secret_key = "...";                 // SECRET_KEY
 *     if (ph_security_new(&cfg, &sec, err, sizeof err) < 0) ...
 *     ph_usersession *s = ph_usersession_decode(sec, arena, cookie, now, NULL);
 *     ph_usersession_put(s, "user_id", "42");
 *     char *cookie_value;
 *     ph_usersession_encode(sec, s, arena, now, &cookie_value);
 */
#ifndef PHIAL_SECURITY_H
#define PHIAL_SECURITY_H

#include "phial/core.h"

#include <time.h>
#include "phial/version.h"

PH_API_BEGIN

/* ---- configuration ----------------------------------------------------- */

/* Flask's names where Flask has one. */
typedef struct ph_security_config {
    const char *secret_key;     /* SECRET_KEY: signs (required, >= 16 bytes) */
    const char *key_fallbacks;  /* SECRET_KEY_FALLBACKS: comma-separated old
                                   keys still accepted when reading (rotation) */
    const char *cookie_name;    /* SESSION_COOKIE_NAME, default "session" */
    int64_t lifetime_s;         /* PERMANENT_SESSION_LIFETIME, default 31 days */
    bool cookie_secure;         /* SESSION_COOKIE_SECURE, default false */
    bool cookie_httponly;       /* SESSION_COOKIE_HTTPONLY, default true */
    int cookie_samesite;        /* SESSION_COOKIE_SAMESITE: ph_samesite, default Lax */
    int64_t csrf_time_limit_s;  /* WTF_CSRF_TIME_LIMIT, default 3600; 0: none */
    unsigned hash_concurrency;  /* PASSWORD_HASH_CONCURRENCY, default 2 */
    unsigned hash_wait_ms;      /* PASSWORD_HASH_WAIT_MS, default 1000 */
    unsigned hash_memory_kib;   /* PASSWORD_HASH_MEMORY_KIB, >= 19456 (19 MiB) */
    unsigned hash_ops;          /* PASSWORD_HASH_OPS (Argon2 t), >= 2 */
    const char *frame_options;  /* X_FRAME_OPTIONS, default "DENY"; "" omits */
    const char *referrer_policy;/* REFERRER_POLICY, default
                                   "strict-origin-when-cross-origin"; "" omits */
    const char *csp;            /* CONTENT_SECURITY_POLICY, default none */
    bool nosniff;               /* X_CONTENT_TYPE_OPTIONS, default true */
} ph_security_config;

/* OWASP's minimum for Argon2id: 19 MiB, t=2, p=1. */
#define PH_ARGON2_MIN_MEMORY_KIB 19456u
#define PH_ARGON2_MIN_OPS 2u
/* Room for an encoded Argon2id hash ("$argon2id$v=19$m=...") plus NUL. */
#define PH_PASSWORD_HASH_MAX 128
/* The largest encoded session cookie value (browsers keep 4096-byte
 * cookies, name and attributes included). */
#define PH_USERSESSION_MAX 3800

typedef struct ph_security ph_security;

/* Fills c with the defaults above (secret_key NULL). */
void ph_security_config_defaults(ph_security_config *c);
/* Reads the config keys named above through get(ud, key) over the
 * defaults.  Strings are borrowed from what get returns.  0 or PH_EINVAL
 * with the key and value in err. */
int ph_security_config_read(ph_security_config *c, const char *(*get)(void *ud, const char *key),
                            void *ud, char *err, size_t errlen);
/* Makes the security object: derives the session and CSRF keys of
 * SECRET_KEY and of every fallback.  0, PH_EINVAL (no or short key,
 * settings under the minimum; message in err) or PH_ENOMEM. */
int ph_security_new(const ph_security_config *c, ph_security **out, char *err, size_t errlen);
void ph_security_free(ph_security *sec);
/* The settings the object was made with (strings borrowed as given;
 * secret_key and key_fallbacks are NULL: only derived keys are kept). */
const ph_security_config *ph_security_settings(const ph_security *sec);

/* Reads the secret key kept in path, making it first when the file does
 * not exist: 32 random bytes as 64 hex characters, written to a new file
 * created with mode 0600 (O_EXCL, so two processes starting together end
 * up with the same key).  A file readable by group or others is refused.
 * out gets the key (>= 65 bytes).  0, PH_EIO or PH_EDENIED with err. */
int ph_security_instance_key(const char *path, char out[65], char *err, size_t errlen);

/* ---- constant-time helpers and random tokens --------------------------- */

/* Whether a and b hold the same bytes, in time that depends only on the
 * lengths (never on where they differ). */
bool ph_secure_equal(const void *a, size_t alen, const void *b, size_t blen);
/* Zeroes n bytes in a way the compiler keeps (secrets on the stack). */
void ph_secure_wipe(void *p, size_t n);
/* n random bytes as 2n lowercase hex characters plus NUL into out. */
void ph_random_hex(char *out, size_t n);

/* ---- the signed cookie session ----------------------------------------- */

/* Key/value strings plus the flashed messages, with an expiry.  Values
 * are UTF-8 text. */
typedef struct ph_usersession ph_usersession;

/* Why a cookie was not accepted (the session then reads as empty). */
typedef enum ph_usersession_status {
    PH_USERSESSION_OK,
    PH_USERSESSION_ABSENT,   /* no cookie */
    PH_USERSESSION_TAMPERED, /* bad format or signature */
    PH_USERSESSION_EXPIRED
} ph_usersession_status;

/* Decodes a cookie value (NULL: no cookie) signed by the current key or a
 * fallback and not expired at now; anything else gives an empty session
 * (never an error), with the reason in *status if non-NULL.  NULL only when
 * out of memory. */
ph_usersession *ph_usersession_decode(const ph_security *sec, ph_arena *a, const char *cookie,
                                      time_t now, ph_usersession_status *status);
/* The cookie value for s, signed with the current key, expiring
 * lifetime_s after now.  PH_ETOOLONG past PH_USERSESSION_MAX, PH_ENOMEM. */
int ph_usersession_encode(const ph_security *sec, const ph_usersession *s, ph_arena *a, time_t now,
                          char **out);
/* A value, or NULL.  Borrowed from the session's arena. */
const char *ph_usersession_lookup(const ph_usersession *s, const char *key);
/* Sets key to value (both copied; value must be valid UTF-8 without NUL:
 * PH_EINVAL otherwise).  0, PH_EINVAL, PH_ENOMEM. */
int ph_usersession_put(ph_usersession *s, const char *key, const char *value);
/* Removes key (0 even when absent). */
int ph_usersession_del(ph_usersession *s, const char *key);
/* Removes every key and message. */
void ph_usersession_reset(ph_usersession *s);
/* Number of keys; the i-th key and value. */
size_t ph_usersession_len(const ph_usersession *s);
const char *ph_usersession_key_at(const ph_usersession *s, size_t i);
/* Whether it changed since decoding (then the cookie is sent again). */
bool ph_usersession_modified(const ph_usersession *s);

/* Flash messages kept in the session until read. */
typedef struct ph_flash_msg {
    const char *category; /* "message" by default, as Flask */
    const char *message;
} ph_flash_msg;
/* Appends a message (copied; UTF-8 checked like values).  0 or a code. */
int ph_usersession_flash(ph_usersession *s, const char *category, const char *message);
/* Takes every message out of the session (they are shown once): *out
 * borrowed from the session's arena.  Returns how many. */
size_t ph_usersession_take_flashes(ph_usersession *s, const ph_flash_msg **out);

/* ---- CSRF -------------------------------------------------------------- */

/* A CSRF token for the session s (a random per-session secret is added to
 * s first when it has none): the issue time and an HMAC-SHA256 of that
 * secret and time under the CSRF key.  In arena a.  0 or PH_ENOMEM. */
int ph_csrf_token_new(const ph_security *sec, ph_usersession *s, ph_arena *a, time_t now,
                      char **out);
/* Checks a submitted token against session s at now.  0 when valid; else
 * a negative code with *why set to the message to show:
 *   PH_ENOTFOUND "The CSRF token is missing." (token NULL or empty)
 *   PH_EDENIED   "The CSRF session token is missing." (s has no secret)
 *   PH_EINVAL    "The CSRF token is invalid." (bad format or signature,
 *                 including a token of another session)
 *   PH_ETIMEDOUT "The CSRF token has expired." */
int ph_csrf_check(const ph_security *sec, const ph_usersession *s, const char *token, time_t now,
                  const char **why);

/* ---- passwords ----------------------------------------------------------- */

/* Hashes password (len bytes) with Argon2id at the configured cost into
 * out ("$argon2id$v=19$m=19456,t=2,p=1$...").  At most hash_concurrency
 * hashes run at once in this process; a caller beyond that waits up to
 * hash_wait_ms, and gets PH_ELIMIT (answer 503 with Retry-After) when no
 * slot came free, or at once when 4 x hash_concurrency callers already
 * wait.  0, PH_ELIMIT, PH_ENOMEM. */
int ph_password_hash(ph_security *sec, const char *password, size_t len,
                     char out[PH_PASSWORD_HASH_MAX]);
/* Whether password matches an encoded hash (any Argon2 cost; under the
 * same cap as hashing).  0 match, PH_EDENIED no match (or not a hash we
 * know), PH_ELIMIT capped. */
int ph_password_verify(ph_security *sec, const char *hash, const char *password, size_t len);
/* Seconds a client refused with PH_ELIMIT should wait (Retry-After). */
unsigned ph_password_retry_after(const ph_security *sec);

/* ---- text checks --------------------------------------------------------- */

/* Whether n bytes of s are valid UTF-8 (no overlongs, surrogates or code
 * points past U+10FFFF) without a NUL byte. */
bool ph_text_valid(const char *s, size_t n);
/* Number of characters (code points) in valid UTF-8 s of n bytes. */
size_t ph_utf8_len(const char *s, size_t n);

PH_API_END

#endif
