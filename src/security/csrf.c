/*
 * CSRF tokens as Flask-WTF makes them: a random secret kept in the signed
 * session, and a token that is the issue time plus an HMAC-SHA256 of that
 * secret and time under the CSRF key derived from SECRET_KEY:
 *   base64url(time, 8 bytes big-endian) "." base64url(tag, 32 bytes)
 * A token is therefore bound to one session (another session has another
 * secret), expires after WTF_CSRF_TIME_LIMIT seconds, and survives a key
 * rotation (fallback keys are tried).
 */
#include "phial/security.h"

#include <string.h>

#include <sodium.h>

#include "internal.h"

#define TIME_B64 11 /* 8 bytes */
#define TAG_B64 43  /* 32 bytes */

/* The last token a thread verified, with its session's secret: a form's
 * token comes back with request after request (an API client's, a page's
 * forms), and the same pair then skips the HMAC (three SHA-256 blocks).
 * Taken only when both are the same, byte for byte, compared in constant
 * time, under the same ph_security; the token's age is checked again. */
#define SECRET_MAX 64
typedef struct verified {
    uint64_t sec_id; /* 0: empty */
    size_t slen;
    char secret[SECRET_MAX];
    char token[TIME_B64 + 1 + TAG_B64];
} verified;

static _Thread_local verified last_verified;

static void token_tag(const crypto_auth_hmacsha256_state *keyed, const char *secret,
                      const unsigned char when[8], unsigned char tag[32])
{
    crypto_auth_hmacsha256_state st = *keyed;
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, when, 8);
    crypto_auth_hmacsha256_final(&st, tag);
}

int ph_csrf_token_new(const ph_security *sec, ph_usersession *s, ph_arena *a, time_t now,
                      char **out)
{
    *out = NULL;
    const char *secret = ph_usersession_lookup(s, PH__CSRF_KEY);
    if (!secret) {
        char hex[65];
        ph_random_hex(hex, 32);
        int rc = ph_usersession_put(s, PH__CSRF_KEY, hex);
        if (rc < 0)
            return rc;
        secret = ph_usersession_lookup(s, PH__CSRF_KEY);
    }
    unsigned char when[8], tag[32];
    uint64_t t = (uint64_t)now;
    for (int i = 7; i >= 0; i--, t >>= 8)
        when[i] = (unsigned char)(t & 0xff);
    token_tag(&sec->csrf_macs[0], secret, when, tag);
    char *tok = ph_arena_alloc(a, TIME_B64 + 1 + TAG_B64 + 1);
    if (!tok)
        return PH_ENOMEM;
    sodium_bin2base64(tok, TIME_B64 + 1, when, 8, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    tok[TIME_B64] = '.';
    sodium_bin2base64(tok + TIME_B64 + 1, TAG_B64 + 1, tag, 32,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    *out = tok;
    return 0;
}

int ph_csrf_check(const ph_security *sec, const ph_usersession *s, const char *token, time_t now,
                  const char **why)
{
    if (!token || !*token) {
        *why = "The CSRF token is missing.";
        return PH_ENOTFOUND;
    }
    const char *secret = s ? ph_usersession_lookup(s, PH__CSRF_KEY) : NULL;
    if (!secret) {
        *why = "The CSRF session token is missing.";
        return PH_EDENIED;
    }
    *why = "The CSRF token is invalid.";
    unsigned char when[8], tag[32], want[32];
    size_t n;
    if (strlen(token) != TIME_B64 + 1 + TAG_B64 || token[TIME_B64] != '.' ||
        strspn(token, PH__B64URL ".") != TIME_B64 + 1 + TAG_B64 ||
        ph__b64url_decode(token, TIME_B64, when, sizeof(when), &n) != 0 || n != 8)
        return PH_EINVAL;
    verified *v = &last_verified;
    size_t slen = strlen(secret);
    bool ok = v->sec_id == sec->id && v->slen == slen &&
              (sodium_memcmp(v->token, token, sizeof(v->token)) |
               sodium_memcmp(v->secret, secret, slen)) == 0;
    if (!ok) {
        if (ph__b64url_decode(token + TIME_B64 + 1, TAG_B64, tag, sizeof(tag), &n) != 0 || n != 32)
            return PH_EINVAL;
        for (int k = 0; k < sec->nkeys && !ok; k++) {
            token_tag(&sec->csrf_macs[k], secret, when, want);
            ok = sodium_memcmp(tag, want, 32) == 0;
        }
        if (!ok)
            return PH_EINVAL;
        if (slen <= SECRET_MAX) {
            memcpy(v->token, token, sizeof(v->token));
            memcpy(v->secret, secret, slen);
            v->slen = slen;
            v->sec_id = sec->id;
        }
    }
    uint64_t t = 0;
    for (int i = 0; i < 8; i++)
        t = (t << 8) | when[i];
    int64_t issued = (int64_t)t;
    /* a token from the future (clock skew between machines) is allowed a minute */
    if (issued > (int64_t)now + 60 ||
        (sec->cfg.csrf_time_limit_s > 0 && (int64_t)now - issued > sec->cfg.csrf_time_limit_s)) {
        *why = "The CSRF token has expired.";
        return PH_ETIMEDOUT;
    }
    *why = NULL;
    return 0;
}
