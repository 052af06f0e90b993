/*
 * Unit tests of the security layer: the signed cookie session (round
 * trip, every single-byte change of a cookie rejected, expiry, key
 * rotation, size limit, text checks), CSRF tokens (valid, missing, wrong,
 * expired, from another session, across a key rotation), flash messages,
 * Argon2id hashes at OWASP's minimum and the cap on concurrent hashes, the
 * instance key file, UTF-8 validation and the config reader.
 */
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/security/internal.h"
#include "phial/security.h"
#include "test.h"

#define KEY_A "first-secret-key-for-the-tests-0001"
#define KEY_B "second-secret-key-for-the-tests-0002"

static ph_security *make(const char *key, const char *fallbacks)
{
    ph_security_config c;
    ph_security_config_defaults(&c);
    c.secret_key = key;
    c.key_fallbacks = fallbacks;
    ph_security *sec = NULL;
    char err[256];
    if (ph_security_new(&c, &sec, err, sizeof(err)) < 0)
        fprintf(stderr, "  ph_security_new: %s\n", err);
    return sec;
}

static void security_requires_a_key(void)
{
    ph_security_config c;
    ph_security_config_defaults(&c);
    ph_security *sec = NULL;
    char err[512];
    CHECK_INT(ph_security_new(&c, &sec, err, sizeof(err)), PH_EINVAL);
    CHECK_CONTAINS(err, "SECRET_KEY is not set");
    CHECK(sec == NULL);
    c.secret_key = "short";
    CHECK_INT(ph_security_new(&c, &sec, err, sizeof(err)), PH_EINVAL);
    CHECK_CONTAINS(err, "too short");
    c.secret_key = KEY_A;
    c.hash_memory_kib = 4096; /* under OWASP's minimum */
    CHECK_INT(ph_security_new(&c, &sec, err, sizeof(err)), PH_EINVAL);
    c.hash_memory_kib = PH_ARGON2_MIN_MEMORY_KIB;
    c.cookie_name = "a;b";
    CHECK_INT(ph_security_new(&c, &sec, err, sizeof(err)), PH_EINVAL);
    c.cookie_name = "session";
    CHECK_INT(ph_security_new(&c, &sec, err, sizeof(err)), 0);
    CHECK(ph_security_settings(sec)->secret_key == NULL); /* not kept */
    ph_security_free(sec);
}

static const char *cfg_get(void *ud, const char *key)
{
    const char *const *kv = ud;
    for (; kv[0]; kv += 2)
        if (strcmp(kv[0], key) == 0)
            return kv[1];
    return NULL;
}

static void security_config_read(void)
{
    ph_security_config c;
    char err[256];
    const char *good[] = {"SESSION_COOKIE_SECURE", "true", "PASSWORD_HASH_CONCURRENCY", "3",
                          "SESSION_COOKIE_SAMESITE", "Strict", "X_FRAME_OPTIONS", "SAMEORIGIN",
                          NULL};
    ph_security_config_defaults(&c);
    CHECK_INT(ph_security_config_read(&c, cfg_get, good, err, sizeof(err)), 0);
    CHECK(c.cookie_secure);
    CHECK_INT(c.hash_concurrency, 3);
    CHECK_INT(c.cookie_samesite, 2);
    CHECK_STR(c.frame_options, "SAMEORIGIN");
    const char *bad[][3] = {{"SESSION_COOKIE_SECURE", "maybe", NULL},
                            {"PASSWORD_HASH_CONCURRENCY", "0", NULL},
                            {"PASSWORD_HASH_MEMORY_KIB", "1024", NULL},
                            {"PASSWORD_HASH_OPS", "1", NULL},
                            {"WTF_CSRF_TIME_LIMIT", "-5", NULL},
                            {"SESSION_COOKIE_SAMESITE", "sometimes", NULL}};
    for (size_t i = 0; i < PH_COUNTOF(bad); i++) {
        ph_security_config_defaults(&c);
        CHECK_INT(ph_security_config_read(&c, cfg_get, bad[i], err, sizeof(err)), PH_EINVAL);
        CHECK_CONTAINS(err, bad[i][0]);
    }
}

static void session_round_trip(void)
{
    ph_security *sec = make(KEY_A, NULL);
    ph_arena *a = ph_arena_new(0);
    ph_usersession_status st;
    ph_usersession *s = ph_usersession_decode(sec, a, NULL, 1000, &st);
    CHECK(s && st == PH_USERSESSION_ABSENT && ph_usersession_len(s) == 0);
    CHECK(!ph_usersession_modified(s));
    CHECK_INT(ph_usersession_put(s, "user_id", "42"), 0);
    CHECK_INT(ph_usersession_put(s, "name", "Zoë \"quoted\" ; = , 😀"), 0);
    CHECK_INT(ph_usersession_put(s, "user_id", "43"), 0); /* replaces */
    CHECK_INT(ph_usersession_put(s, "bad", "\xff"), PH_EINVAL);
    CHECK_INT(ph_usersession_flash(s, NULL, "Saved."), 0);
    CHECK(ph_usersession_modified(s));
    char *cookie;
    CHECK_INT(ph_usersession_encode(sec, s, a, 1000, &cookie), 0);
    /* only cookie-safe characters */
    CHECK(cookie && strspn(cookie, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") ==
                        strlen(cookie));
    ph_usersession *t = ph_usersession_decode(sec, a, cookie, 1001, &st);
    CHECK_INT(st, PH_USERSESSION_OK);
    CHECK_INT(ph_usersession_len(t), 2);
    CHECK_STR(ph_usersession_lookup(t, "user_id"), "43");
    CHECK_STR(ph_usersession_lookup(t, "name"), "Zoë \"quoted\" ; = , 😀");
    const ph_flash_msg *f;
    CHECK_INT(ph_usersession_take_flashes(t, &f), 1);
    CHECK_STR(f[0].category, "message");
    CHECK_STR(f[0].message, "Saved.");
    CHECK_INT(ph_usersession_take_flashes(t, &f), 0); /* once */
    CHECK(ph_usersession_modified(t));
    CHECK_INT(ph_usersession_del(t, "user_id"), 0);
    CHECK(ph_usersession_lookup(t, "user_id") == NULL);
    ph_arena_free(a);
    ph_security_free(sec);
}

/* Every single-byte change of a signed cookie -- each position, every
 * other byte value -- reads as an empty session; so do truncations. */
static void session_every_byte_change_rejected(void)
{
    ph_security *sec = make(KEY_A, NULL);
    ph_arena *a = ph_arena_new(0);
    ph_usersession *s = ph_usersession_decode(sec, a, NULL, 1000, NULL);
    ph_usersession_put(s, "user_id", "1");
    ph_usersession_put(s, "role", "admin");
    char *cookie;
    CHECK_INT(ph_usersession_encode(sec, s, a, 1000, &cookie), 0);
    size_t n = strlen(cookie);
    char *m = malloc(n + 1);
    size_t accepted = 0, tried = 0;
    for (size_t i = 0; i < n; i++) {
        for (int b = 1; b < 256; b++) {
            if (b == (unsigned char)cookie[i])
                continue;
            memcpy(m, cookie, n + 1);
            m[i] = (char)b;
            ph_arena *t = ph_arena_new(0);
            ph_usersession_status st;
            ph_usersession *d = ph_usersession_decode(sec, t, m, 1001, &st);
            tried++;
            if (st != PH_USERSESSION_TAMPERED || ph_usersession_len(d) != 0) {
                if (accepted++ < 5)
                    fprintf(stderr, "  accepted: byte %zu = 0x%02x\n", i, b);
            }
            ph_arena_free(t);
        }
    }
    CHECK_INT(accepted, 0);
    CHECK_INT(tried, n * 254);
    for (size_t len = 0; len < n; len++) {
        memcpy(m, cookie, len);
        m[len] = '\0';
        ph_usersession_status st;
        ph_usersession *d = ph_usersession_decode(sec, a, m, 1001, &st);
        CHECK(ph_usersession_len(d) == 0);
        if (len && st != PH_USERSESSION_TAMPERED)
            CHECK_INT(st, PH_USERSESSION_TAMPERED);
    }
    free(m);
    ph_arena_free(a);
    ph_security_free(sec);
}

static void session_expiry_and_rotation(void)
{
    ph_security *old = make(KEY_A, NULL), *rotated = make(KEY_B, " " KEY_A " "),
                *fresh = make(KEY_B, NULL);
    ph_arena *a = ph_arena_new(0);
    ph_usersession *s = ph_usersession_decode(old, a, NULL, 1000, NULL);
    ph_usersession_put(s, "k", "v");
    char *c_old, *c_new;
    CHECK_INT(ph_usersession_encode(old, s, a, 1000, &c_old), 0);
    int64_t life = ph_security_settings(old)->lifetime_s;
    ph_usersession_status st;
    ph_usersession *d = ph_usersession_decode(old, a, c_old, (time_t)(1000 + life - 1), &st);
    CHECK_INT(st, PH_USERSESSION_OK);
    d = ph_usersession_decode(old, a, c_old, (time_t)(1000 + life), &st);
    CHECK_INT(st, PH_USERSESSION_EXPIRED);
    CHECK_INT(ph_usersession_len(d), 0);
    /* the new key reads the old key's cookie through the fallback... */
    d = ph_usersession_decode(rotated, a, c_old, 1001, &st);
    CHECK_INT(st, PH_USERSESSION_OK);
    CHECK_STR(ph_usersession_lookup(d, "k"), "v");
    /* ...signs with the new key, which the old one cannot read */
    CHECK_INT(ph_usersession_encode(rotated, d, a, 1001, &c_new), 0);
    d = ph_usersession_decode(old, a, c_new, 1002, &st);
    CHECK_INT(st, PH_USERSESSION_TAMPERED);
    d = ph_usersession_decode(fresh, a, c_new, 1002, &st);
    CHECK_INT(st, PH_USERSESSION_OK);
    /* once the fallback is dropped, old cookies are gone */
    d = ph_usersession_decode(fresh, a, c_old, 1002, &st);
    CHECK_INT(st, PH_USERSESSION_TAMPERED);
    ph_arena_free(a);
    ph_security_free(old);
    ph_security_free(rotated);
    ph_security_free(fresh);
}

static void session_too_big_is_refused(void)
{
    ph_security *sec = make(KEY_A, NULL);
    ph_arena *a = ph_arena_new(0);
    ph_usersession *s = ph_usersession_decode(sec, a, NULL, 1000, NULL);
    char big[4000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK_INT(ph_usersession_put(s, "big", big), 0);
    char *c;
    CHECK_INT(ph_usersession_encode(sec, s, a, 1000, &c), PH_ETOOLONG);
    CHECK(c == NULL);
    /* a forged oversized cookie is simply not accepted */
    ph_usersession_status st;
    ph_usersession_decode(sec, a, big, 1000, &st);
    CHECK_INT(st, PH_USERSESSION_TAMPERED);
    ph_arena_free(a);
    ph_security_free(sec);
}

/* Each thread keeps the last cookie and CSRF token it verified, to skip
 * their HMACs when the same ones come back: only the same bytes, under the
 * same keys, and with the expiry checked again. */
static void verified_caches_are_exact(void)
{
    ph_security *sec = make(KEY_A, NULL);
    ph_arena *a = ph_arena_new(0);
    ph_usersession *s = ph_usersession_decode(sec, a, NULL, 1000, NULL);
    char *tok, *cookie;
    CHECK_INT(ph_csrf_token_new(sec, s, a, 1000, &tok), 0);
    ph_usersession_put(s, "user_id", "7");
    CHECK_INT(ph_usersession_encode(sec, s, a, 1000, &cookie), 0);
    ph_usersession_status st;
    ph_usersession *d = ph_usersession_decode(sec, a, cookie, 1001, &st); /* now cached */
    CHECK_INT(st, PH_USERSESSION_OK);
    CHECK_STR(ph_usersession_lookup(d, "user_id"), "7");
    const char *why;
    CHECK_INT(ph_csrf_check(sec, d, tok, 1001, &why), 0); /* now cached */

    /* every single-byte change after the good one, and every prefix */
    size_t n = strlen(cookie);
    char *m = ph_arena_strdup(a, cookie);
    int accepted = 0;
    for (size_t i = 0; i < n; i++)
        for (int b = 1; b < 256; b += 3) {
            if (b == (unsigned char)cookie[i])
                continue;
            m[i] = (char)b;
            d = ph_usersession_decode(sec, a, m, 1001, &st);
            accepted += st != PH_USERSESSION_TAMPERED || ph_usersession_len(d) != 0;
            m[i] = cookie[i];
            d = ph_usersession_decode(sec, a, cookie, 1001, &st); /* cached again */
            accepted += st != PH_USERSESSION_OK;
        }
    for (size_t len = 1; len < n; len++) {
        m[len] = '\0';
        ph_usersession_decode(sec, a, m, 1001, &st);
        accepted += st != PH_USERSESSION_TAMPERED;
        m[len] = cookie[len];
    }
    CHECK_INT(accepted, 0);
    /* the expiry inside is read again */
    ph_usersession_decode(sec, a, cookie, 1000 + ph_security_settings(sec)->lifetime_s + 1, &st);
    CHECK_INT(st, PH_USERSESSION_EXPIRED);
    d = ph_usersession_decode(sec, a, cookie, 1001, &st);
    CHECK_INT(st, PH_USERSESSION_OK);

    /* the token: every single-byte change, another session's secret, its age */
    size_t tn = strlen(tok);
    char *tm = ph_arena_strdup(a, tok);
    for (size_t i = 0; i < tn; i++)
        for (int b = 1; b < 256; b += 3) {
            if (b == (unsigned char)tok[i])
                continue;
            tm[i] = (char)b;
            accepted += ph_csrf_check(sec, d, tm, 1001, &why) == 0;
            tm[i] = tok[i];
            accepted += ph_csrf_check(sec, d, tok, 1001, &why) != 0;
        }
    CHECK_INT(accepted, 0);
    ph_usersession *other = ph_usersession_decode(sec, a, NULL, 1000, NULL);
    ph_usersession_put(other, PH__CSRF_KEY, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdee");
    CHECK_INT(ph_csrf_check(sec, other, tok, 1001, &why), PH_EINVAL);
    CHECK_INT(ph_csrf_check(sec, d, tok, 1001, &why), 0);
    CHECK_INT(ph_csrf_check(sec, d, tok, 1000 + 3601, &why), PH_ETIMEDOUT);

    /* another key, even in a ph_security made where the last one was */
    CHECK_INT(ph_csrf_check(sec, d, tok, 1001, &why), 0);
    ph_security_free(sec);
    ph_security *b = make(KEY_B, NULL);
    ph_usersession_decode(b, a, cookie, 1001, &st);
    CHECK_INT(st, PH_USERSESSION_TAMPERED);
    CHECK_INT(ph_csrf_check(b, d, tok, 1001, &why), PH_EINVAL);
    ph_security_free(b);
    ph_arena_free(a);
}

static void csrf_tokens(void)
{
    ph_security *sec = make(KEY_A, NULL), *rotated = make(KEY_B, KEY_A);
    ph_arena *a = ph_arena_new(0);
    ph_usersession *s1 = ph_usersession_decode(sec, a, NULL, 1000, NULL);
    ph_usersession *s2 = ph_usersession_decode(sec, a, NULL, 1000, NULL);
    const char *why;
    char *t1, *t1b, *t2;
    CHECK_INT(ph_csrf_check(sec, s1, "x", 1000, &why), PH_EDENIED); /* no secret yet */
    CHECK_CONTAINS(why, "session token is missing");
    CHECK_INT(ph_csrf_token_new(sec, s1, a, 1000, &t1), 0);
    CHECK_INT(ph_csrf_token_new(sec, s1, a, 1000, &t1b), 0);
    CHECK_STR(t1, t1b); /* one secret per session */
    CHECK_INT(ph_csrf_token_new(sec, s2, a, 1000, &t2), 0);
    CHECK(strcmp(t1, t2) != 0);
    CHECK_INT(ph_csrf_check(sec, s1, t1, 1010, &why), 0);
    CHECK(why == NULL);
    CHECK_INT(ph_csrf_check(sec, s1, NULL, 1010, &why), PH_ENOTFOUND);
    CHECK_STR(why, "The CSRF token is missing.");
    CHECK_INT(ph_csrf_check(sec, s1, "", 1010, &why), PH_ENOTFOUND);
    CHECK_INT(ph_csrf_check(sec, s1, t2, 1010, &why), PH_EINVAL); /* another session's */
    CHECK_STR(why, "The CSRF token is invalid.");
    CHECK_INT(ph_csrf_check(sec, s1, "garbage", 1010, &why), PH_EINVAL);
    /* each single-byte change of the token */
    size_t n = strlen(t1);
    char *m = ph_arena_strdup(a, t1);
    int accepted = 0;
    for (size_t i = 0; i < n; i++)
        for (int b = 1; b < 256; b++) {
            if (b == (unsigned char)t1[i])
                continue;
            m[i] = (char)b;
            accepted += ph_csrf_check(sec, s1, m, 1010, &why) == 0;
            m[i] = t1[i];
        }
    CHECK_INT(accepted, 0);
    /* expiry: WTF_CSRF_TIME_LIMIT (3600) */
    CHECK_INT(ph_csrf_check(sec, s1, t1, 1000 + 3600, &why), 0);
    CHECK_INT(ph_csrf_check(sec, s1, t1, 1000 + 3601, &why), PH_ETIMEDOUT);
    CHECK_STR(why, "The CSRF token has expired.");
    CHECK_INT(ph_csrf_check(sec, s1, t1, 1000 - 61, &why), PH_ETIMEDOUT); /* from the future */
    /* a rotated key still accepts tokens of the old one */
    CHECK_INT(ph_csrf_check(rotated, s1, t1, 1010, &why), 0);
    /* the secret travels in the cookie: a decoded session checks the same */
    char *cookie;
    CHECK_INT(ph_usersession_encode(sec, s1, a, 1000, &cookie), 0);
    ph_usersession *back = ph_usersession_decode(sec, a, cookie, 1001, NULL);
    CHECK_INT(ph_csrf_check(sec, back, t1, 1010, &why), 0);
    ph_arena_free(a);
    ph_security_free(sec);
    ph_security_free(rotated);
}

/* The tags are plain HMAC-SHA256 under keys derived as
 * HMAC-SHA256(SECRET_KEY, label), whatever shortcut signing takes: a cookie
 * and a token checked here with libsodium's one-shot call. */
static void signatures_are_plain_hmac(void)
{
    ph_security *sec = make(KEY_A, NULL);
    ph_arena *a = ph_arena_new(0);
    unsigned char skey[32], ckey[32], want[32], got[32];
    crypto_auth_hmacsha256_state st;
    const char *labels[] = {"phial.usersession", "phial.csrf"};
    unsigned char *keys[] = {skey, ckey};
    for (int i = 0; i < 2; i++) {
        crypto_auth_hmacsha256_init(&st, (const unsigned char *)KEY_A, strlen(KEY_A));
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)labels[i], strlen(labels[i]));
        crypto_auth_hmacsha256_final(&st, keys[i]);
    }
    ph_usersession *s = ph_usersession_decode(sec, a, NULL, 1000, NULL);
    char *cookie, *token;
    CHECK_INT(ph_csrf_token_new(sec, s, a, 1000, &token), 0);
    CHECK_INT(ph_usersession_encode(sec, s, a, 1000, &cookie), 0);
    /* cookie: payload "." base64url(HMAC(session key, payload)) */
    const char *dot = strrchr(cookie, '.');
    size_t n;
    CHECK(dot && sodium_base642bin(got, sizeof(got), dot + 1, strlen(dot + 1), NULL, &n, NULL,
                                   sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 && n == 32);
    crypto_auth_hmacsha256(want, (const unsigned char *)cookie, (size_t)(dot - cookie), skey);
    CHECK(memcmp(got, want, 32) == 0);
    /* token: base64url(time) "." base64url(HMAC(csrf key, secret || time)) */
    unsigned char when[8];
    const char *secret = ph_usersession_lookup(s, PH__CSRF_KEY);
    CHECK(secret && sodium_base642bin(when, sizeof(when), token, 11, NULL, &n, NULL,
                                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 && n == 8);
    CHECK(sodium_base642bin(got, sizeof(got), token + 12, strlen(token + 12), NULL, &n, NULL,
                            sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 && n == 32);
    size_t sl = secret ? strlen(secret) : 0;
    unsigned char *msg = ph_arena_alloc(a, sl + 8);
    memcpy(msg, secret ? secret : "", sl);
    memcpy(msg + sl, when, 8);
    crypto_auth_hmacsha256(want, msg, sl + 8, ckey);
    CHECK(memcmp(got, want, 32) == 0);
    ph_arena_free(a);
    ph_security_free(sec);
}

/* The fast base64url decoder agrees with libsodium's strict one on every
 * input of the alphabet (random digits and lengths, so every kind of final
 * digit) and refuses every input with a byte outside it. */
static void b64url_decoder_matches_libsodium(void)
{
    static const char digits[] = PH__B64URL "=+/.\xff";
    unsigned char a[64], b[64];
    char in[80] = {0};
    int disagree = 0, ok = 0;
    uint32_t seed = 12345;
    for (int round = 0; round < 20000; round++) {
        size_t n = round % 61;
        in[n] = '\0';
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            /* mostly alphabet digits, sometimes one that is not */
            size_t k = (seed >> 16) % (round % 7 ? 64 : sizeof(digits) - 1);
            in[i] = digits[k];
        }
        size_t la = 0, lb = 0;
        int ra = ph__b64url_decode(in, n, a, sizeof(a), &la);
        /* libsodium maps some bytes >= 0x80 onto digits (its callers check
         * the alphabet first): those inputs must fail here */
        bool alphabet = strspn(in, PH__B64URL) >= n;
        int rb = alphabet ? sodium_base642bin(b, sizeof(b), in, n, NULL, &lb, NULL,
                                              sodium_base64_VARIANT_URLSAFE_NO_PADDING)
                          : -1;
        if ((ra == 0) != (rb == 0) || (ra == 0 && (la != lb || memcmp(a, b, la) != 0))) {
            if (disagree++ < 3)
                printf("  differs on \"%.*s\": %d, libsodium %d\n", (int)n, in, ra, rb);
        }
        ok += ra == 0;
    }
    CHECK_INT(disagree, 0);
    CHECK(ok > 1000); /* the valid cases were exercised too */
    size_t n;
    CHECK_INT(ph__b64url_decode("AAAA", 4, a, 2, &n), -1); /* no room */
    CHECK_INT(ph__b64url_decode("", 0, a, 0, &n), 0);
    CHECK_INT(n, 0);
}

/* A cookie signed with sec's current key around the JSON payload. */
static char *signed_cookie(ph_security *sec, ph_arena *a, const char *json)
{
    size_t jl = strlen(json);
    size_t b64 = sodium_base64_ENCODED_LEN(jl, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *v = ph_arena_alloc(a, b64 + 45);
    sodium_bin2base64(v, b64, (const unsigned char *)json, jl,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    size_t pl = strlen(v);
    unsigned char tag[32];
    crypto_auth_hmacsha256(tag, (const unsigned char *)v, pl, sec->session_keys[0]);
    v[pl] = '.';
    sodium_bin2base64(v + pl + 1, 44, tag, 32, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return v;
}

/* Payloads read by the compact reader and by the JSON parser give the
 * same sessions; what the parser refuses is refused either way. */
static void session_payload_shapes(void)
{
    ph_security *sec = make(KEY_A, NULL);
    ph_arena *a = ph_arena_new(0);
    ph_usersession_status st;
    static const struct {
        const char *json;
        ph_usersession_status want;
        const char *key, *value; /* one item to look up, or NULL */
        size_t len;
    } cases[] = {
        {"{\"x\":2000,\"d\":{},\"f\":[]}", PH_USERSESSION_OK, NULL, NULL, 0},
        {"{\"x\":2000,\"d\":{\"a\":\"1\",\"_csrf\":\"ab\"},\"f\":[]}", PH_USERSESSION_OK, "_csrf",
         "ab", 2},
        /* escapes, non-ASCII text, spaces, flashes, another order: the parser */
        {"{\"x\":2000,\"d\":{\"a\":\"q\\\"\\u00e9\"},\"f\":[]}", PH_USERSESSION_OK, "a",
         "q\"\xc3\xa9", 1},
        {"{\"x\":2000,\"d\":{\"a\":\"\xc3\xa9\"},\"f\":[]}", PH_USERSESSION_OK, "a", "\xc3\xa9", 1},
        {"{ \"x\": 2000, \"d\": {\"a\": \"b\"}, \"f\": [] }", PH_USERSESSION_OK, "a", "b", 1},
        {"{\"x\":2000,\"d\":{\"a\":\"b\"},\"f\":[[\"message\",\"hi\"]]}", PH_USERSESSION_OK, "a",
         "b", 1},
        {"{\"f\":[],\"d\":{\"a\":\"b\"},\"x\":2000}", PH_USERSESSION_OK, "a", "b", 1},
        /* refused */
        {"{\"x\":2000,\"d\":{\"a\":\"1\",\"a\":\"2\"},\"f\":[]}", PH_USERSESSION_TAMPERED, NULL,
         NULL, 0},
        {"{\"x\":2000,\"d\":{\"a\":\"\xff\"},\"f\":[]}", PH_USERSESSION_TAMPERED, NULL, NULL, 0},
        {"{\"x\":02000,\"d\":{},\"f\":[]}", PH_USERSESSION_TAMPERED, NULL, NULL, 0},
        {"{\"x\":2000,\"d\":{\"a\":1},\"f\":[]}", PH_USERSESSION_TAMPERED, NULL, NULL, 0},
        {"{\"x\":2000,\"d\":{},\"f\":[]}x", PH_USERSESSION_TAMPERED, NULL, NULL, 0},
        {"{\"x\":2000,\"d\":{},\"f\":[],\"y\":1}", PH_USERSESSION_TAMPERED, NULL, NULL, 0},
        {"{\"x\":2000,\"d\":{\"a\":\"b\"}", PH_USERSESSION_TAMPERED, NULL, NULL, 0},
        /* expired: the expiry is the first thing read */
        {"{\"x\":1000,\"d\":{\"a\":\"b\"},\"f\":[]}", PH_USERSESSION_EXPIRED, NULL, NULL, 0},
        {"{\"x\":999,\"d\":{\"a\":\"\\u0041\"},\"f\":[]}", PH_USERSESSION_EXPIRED, NULL, NULL, 0},
    };
    for (size_t i = 0; i < PH_COUNTOF(cases); i++) {
        ph_usersession *s = ph_usersession_decode(sec, a, signed_cookie(sec, a, cases[i].json),
                                                  1000, &st);
        if (st != cases[i].want)
            printf("  case %zu: %s\n", i, cases[i].json);
        CHECK_INT(st, cases[i].want);
        CHECK_INT(ph_usersession_len(s), cases[i].len);
        if (cases[i].key)
            CHECK_STR(ph_usersession_lookup(s, cases[i].key), cases[i].value);
    }
    /* 16 items and more: the same */
    ph_buf b;
    ph_buf_init(&b, a);
    ph_buf_puts(&b, "{\"x\":2000,\"d\":{");
    for (int i = 0; i < 20; i++)
        ph_buf_printf(&b, "%s\"k%d\":\"v%d\"", i ? "," : "", i, i);
    ph_buf_puts(&b, "},\"f\":[]}");
    ph_usersession *s = ph_usersession_decode(sec, a, signed_cookie(sec, a, b.ptr), 1000, &st);
    CHECK_INT(st, PH_USERSESSION_OK);
    CHECK_INT(ph_usersession_len(s), 20);
    CHECK_STR(ph_usersession_lookup(s, "k19"), "v19");
    ph_arena_free(a);
    ph_security_free(sec);
}

static void password_hash_and_verify(void)
{
    ph_security *sec = make(KEY_A, NULL);
    char h[PH_PASSWORD_HASH_MAX];
    CHECK_INT(ph_password_hash(sec, "correct horse", 13, h), 0);
    CHECK(strncmp(h, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
    CHECK_INT(ph_password_verify(sec, h, "correct horse", 13), 0);
    CHECK_INT(ph_password_verify(sec, h, "correct horsf", 13), PH_EDENIED);
    CHECK_INT(ph_password_verify(sec, "plain text", "plain text", 10), PH_EDENIED);
    char h2[PH_PASSWORD_HASH_MAX];
    CHECK_INT(ph_password_hash(sec, "correct horse", 13, h2), 0);
    CHECK(strcmp(h, h2) != 0); /* salted */
    ph_security_free(sec);
}

typedef struct releaser {
    ph_security *sec;
    int ms;
} releaser;

static void *release_later(void *p)
{
    releaser *r = p;
    struct timespec ts = {0, (long)r->ms * 1000000L};
    nanosleep(&ts, NULL);
    pthread_mutex_lock(&r->sec->lock);
    r->sec->hashing = 0;
    pthread_cond_broadcast(&r->sec->cond);
    pthread_mutex_unlock(&r->sec->lock);
    return NULL;
}

/* The cap: with every slot taken, a caller waits hash_wait_ms then gets
 * PH_ELIMIT; with the queue of waiters full it gets PH_ELIMIT at once; a
 * slot freed while it waits lets it through. */
static void password_hash_is_capped(void)
{
    ph_security_config c;
    ph_security_config_defaults(&c);
    c.secret_key = KEY_A;
    c.hash_concurrency = 1;
    c.hash_wait_ms = 10000;
    ph_security *sec;
    char err[256], h[PH_PASSWORD_HASH_MAX];
    CHECK_INT(ph_security_new(&c, &sec, err, sizeof(err)), 0);
    /* all slots busy, queue full: refused without waiting (a 10 s wait
     * would show as a hang of the test) */
    sec->hashing = 1;
    sec->waiting = 4;
    CHECK_INT(ph_password_hash(sec, "pw", 2, h), PH_ELIMIT);
    CHECK_INT(ph_password_verify(sec, "$argon2id$x", "pw", 2), PH_ELIMIT);
    sec->waiting = 0;
    /* a slot freed while waiting: served */
    releaser r = {sec, 30};
    pthread_t t;
    CHECK_INT(pthread_create(&t, NULL, release_later, &r), 0);
    CHECK_INT(ph_password_hash(sec, "pw", 2, h), 0);
    pthread_join(t, NULL);
    CHECK_INT(sec->hashing, 0);
    CHECK_INT(sec->waiting, 0);
    ph_security_free(sec);
    /* no slot within hash_wait_ms: refused after waiting */
    c.hash_wait_ms = 20;
    CHECK_INT(ph_security_new(&c, &sec, err, sizeof(err)), 0);
    sec->hashing = 1;
    CHECK_INT(ph_password_hash(sec, "pw", 2, h), PH_ELIMIT);
    CHECK_INT(sec->waiting, 0);
    CHECK_INT(ph_password_retry_after(sec), 1);
    sec->hashing = 0;
    ph_security_free(sec);
}

static void instance_key_file(void)
{
    char dir[] = "/tmp/phial-seckey-XXXXXX", path[128], k1[65], k2[65], err[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/instance/secret_key", dir);
    CHECK_INT(ph_security_instance_key(path, k1, err, sizeof(err)), 0);
    CHECK_INT(strlen(k1), 64);
    struct stat st;
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    CHECK_INT(ph_security_instance_key(path, k2, err, sizeof(err)), 0);
    CHECK_STR(k1, k2); /* made once, then read */
    CHECK_INT(chmod(path, 0644), 0);
    CHECK_INT(ph_security_instance_key(path, k2, err, sizeof(err)), PH_EDENIED);
    CHECK_CONTAINS(err, "chmod 600");
    unlink(path);
    char sub[128];
    snprintf(sub, sizeof(sub), "%s/instance", dir);
    rmdir(sub);
    rmdir(dir);
}

static void text_checks(void)
{
    static const struct {
        const char *s;
        size_t n;
        bool ok;
    } cases[] = {
        {"plain", 5, true},
        {"caf\xc3\xa9", 5, true},
        {"\xf0\x9f\x98\x80", 4, true},   /* U+1F600 */
        {"\xef\xbf\xbd", 3, true},       /* U+FFFD */
        {"a\0b", 3, false},              /* NUL */
        {"\xc3", 1, false},              /* truncated */
        {"\xc0\xaf", 2, false},          /* overlong '/' */
        {"\xe0\x80\xaf", 3, false},      /* overlong */
        {"\xed\xa0\x80", 3, false},      /* surrogate */
        {"\xf4\x90\x80\x80", 4, false},  /* past U+10FFFF */
        {"\xff", 1, false},
        {"\x80", 1, false},              /* lone continuation */
        {"a\xc3\xa9\xe2\x82", 6, false}, /* truncated at the end */
    };
    for (size_t i = 0; i < PH_COUNTOF(cases); i++)
        if (ph_text_valid(cases[i].s, cases[i].n) != cases[i].ok) {
            fprintf(stderr, "  case %zu\n", i);
            CHECK(false);
        }
    CHECK_INT(ph_utf8_len("h\xc3\xa9llo \xf0\x9f\x98\x80", 11), 7);
    CHECK(ph_secure_equal("abc", 3, "abc", 3));
    CHECK(!ph_secure_equal("abc", 3, "abd", 3));
    CHECK(!ph_secure_equal("abc", 3, "abcd", 4));
    char hex[65];
    ph_random_hex(hex, 32);
    CHECK_INT(strlen(hex), 64);
    CHECK_INT(strspn(hex, "0123456789abcdef"), 64);
}

int main(void)
{
    RUN(security_requires_a_key);
    RUN(security_config_read);
    RUN(session_round_trip);
    RUN(session_every_byte_change_rejected);
    RUN(session_expiry_and_rotation);
    RUN(session_too_big_is_refused);
    RUN(csrf_tokens);
    RUN(verified_caches_are_exact);
    RUN(signatures_are_plain_hmac);
    RUN(b64url_decoder_matches_libsodium);
    RUN(session_payload_shapes);
    RUN(password_hash_and_verify);
    RUN(password_hash_is_capped);
    RUN(instance_key_file);
    RUN(text_checks);
    TEST_END();
}
