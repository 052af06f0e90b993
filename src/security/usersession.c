/*
 * The signed cookie session (Flask's `session`): key/value strings and the
 * flashed messages, serialized as JSON {"x": expiry, "d": {...}, "f":
 * [[category, message], ...]} and carried in a cookie as
 *   base64url(json) "." base64url(HMAC-SHA256(session key, base64url(json)))
 * The tag is checked (in constant time) against the current key, then each
 * fallback key, before the JSON is parsed; base64 is decoded strictly, so
 * every change of a byte of the cookie changes the bytes checked.  A
 * cookie that is malformed, forged or expired reads as an empty session.
 */
#include "phial/security.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "internal.h"

#define TAG_B64 43 /* 32 bytes in unpadded base64url */

/* The last cookie a thread verified, and its JSON: a client sends the
 * same cookie with request after request, and its next one then skips the
 * HMAC (four SHA-256 blocks for a session holding a CSRF secret, a fifth
 * of a small POST's instructions) and the base64.  A cookie is taken from
 * here only when it is the same, byte for byte (compared in constant time,
 * so a forged cookie learns nothing of the cached one from the time taken),
 * and was verified under the same ph_security; its JSON is parsed again,
 * so the expiry in it is checked again.  Longer cookies are not kept. */
#define VERIFIED_MAX 640
typedef struct verified {
    uint64_t sec_id; /* 0: empty */
    size_t n, jlen;
    char cookie[VERIFIED_MAX];
    char json[VERIFIED_MAX];
} verified;

static _Thread_local verified last_verified;

static ph_usersession *session_new(ph_arena *a)
{
    ph_usersession *s = PH_ARENA_NEW(a, ph_usersession);
    if (s)
        s->arena = a;
    return s;
}

static void sign(const crypto_auth_hmacsha256_state *keyed, const char *msg, size_t n,
                 unsigned char tag[crypto_auth_hmacsha256_BYTES])
{
    crypto_auth_hmacsha256_state st = *keyed;
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, n);
    crypto_auth_hmacsha256_final(&st, tag);
}

static int put_item(ph_usersession *s, const char *key, size_t klen, const char *value,
                    size_t vlen)
{
    for (size_t i = 0; i < s->len; i++) {
        if (strlen(s->items[i].key) == klen && memcmp(s->items[i].key, key, klen) == 0) {
            char *v = ph_arena_strndup(s->arena, value, vlen);
            if (!v)
                return PH_ENOMEM;
            s->items[i].value = v;
            return 0;
        }
    }
    if (s->len == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        ph__kv *items = ph_arena_calloc(s->arena, cap, sizeof(*items));
        if (!items)
            return PH_ENOMEM;
        if (s->len)
            memcpy(items, s->items, s->len * sizeof(*items));
        s->items = items;
        s->cap = cap;
    }
    char *k = ph_arena_strndup(s->arena, key, klen), *v = ph_arena_strndup(s->arena, value, vlen);
    if (!k || !v)
        return PH_ENOMEM;
    s->items[s->len++] = (ph__kv){k, v};
    return 0;
}

static int add_flash(ph_usersession *s, const char *cat, size_t clen, const char *msg,
                     size_t mlen)
{
    if (s->nflashes == s->capflashes) {
        size_t cap = s->capflashes ? s->capflashes * 2 : 4;
        ph_flash_msg *f = ph_arena_calloc(s->arena, cap, sizeof(*f));
        if (!f)
            return PH_ENOMEM;
        if (s->nflashes)
            memcpy(f, s->flashes, s->nflashes * sizeof(*f));
        s->flashes = f;
        s->capflashes = cap;
    }
    const char *c = ph_arena_strndup(s->arena, cat, clen),
               *m = ph_arena_strndup(s->arena, msg, mlen);
    if (!c || !m)
        return PH_ENOMEM;
    s->flashes[s->nflashes++] = (ph_flash_msg){c, m};
    return 0;
}

/* A JSON string at *p of printable ASCII without escapes: its bytes
 * (borrowed) and the position after it; false for anything else. */
static bool plain_string(const char **p, const char *end, const char **str, size_t *len)
{
    const char *q = *p;
    if (q == end || *q != '"')
        return false;
    const char *b = ++q;
    while (q < end && *q != '"') {
        if (*q < 0x20 || *q > 0x7e || *q == '\\')
            return false;
        q++;
    }
    if (q == end)
        return false;
    *str = b;
    *len = (size_t)(q - b);
    *p = q + 1;
    return true;
}

static bool literal(const char **p, const char *end, const char *lit, size_t n)
{
    if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
        return false;
    *p += n;
    return true;
}

/* The payload exactly as ph_usersession_encode writes it for a session
 * without flashes and with plain ASCII text -- {"x":N,"d":{"k":"v",...},"f":[]}
 * -- read without building a JSON tree.  1: read into s (0 and
 * PH_ETIMEDOUT as load_json); 0: another shape, for load_json (s untouched). */
static int load_compact(ph_usersession *s, const char *json, size_t n, time_t now)
{
    const char *p = json, *end = json + n;
    if (!literal(&p, end, "{\"x\":", 5) || p == end || *p < '1' || *p > '9')
        return 0;
    int64_t x = 0;
    for (int digits = 0; p < end && *p >= '0' && *p <= '9'; p++) {
        if (++digits > 18)
            return 0;
        x = x * 10 + (*p - '0');
    }
    if (!literal(&p, end, ",\"d\":{", 6))
        return 0;
    struct {
        const char *k, *v;
        size_t kl, vl;
    } kv[16];
    size_t nkv = 0;
    while (p < end && *p != '}') {
        if (nkv == PH_COUNTOF(kv) || (nkv && !literal(&p, end, ",", 1)) ||
            !plain_string(&p, end, &kv[nkv].k, &kv[nkv].kl) || !literal(&p, end, ":", 1) ||
            !plain_string(&p, end, &kv[nkv].v, &kv[nkv].vl))
            return 0;
        for (size_t i = 0; i < nkv; i++)
            if (kv[i].kl == kv[nkv].kl && memcmp(kv[i].k, kv[nkv].k, kv[i].kl) == 0)
                return 0; /* a duplicate: load_json refuses it */
        nkv++;
    }
    if (!literal(&p, end, "},\"f\":[]}", 9) || p != end)
        return 0;
    if (x <= (int64_t)now)
        return PH_ETIMEDOUT;
    for (size_t i = 0; i < nkv; i++)
        if (put_item(s, kv[i].k, kv[i].kl, kv[i].v, kv[i].vl) < 0)
            return PH_ENOMEM;
    return 1;
}

/* Fills s from the JSON payload; PH_EPARSE when its shape is wrong,
 * PH_ETIMEDOUT when expired. */
static int load_json(ph_usersession *s, const char *json, size_t n, time_t now)
{
    int fast = load_compact(s, json, n, now);
    if (fast != 0)
        return fast < 0 ? fast : 0;
    json_error_t e;
    json_t *root = json_loadb(json, n, JSON_REJECT_DUPLICATES, &e);
    if (!root)
        return PH_EPARSE;
    int rc = PH_EPARSE;
    json_t *x = json_object_get(root, "x"), *d = json_object_get(root, "d"),
           *f = json_object_get(root, "f");
    if (!json_is_object(root) || json_object_size(root) != 3 || !json_is_integer(x) ||
        !json_is_object(d) || !json_is_array(f))
        goto out;
    if (json_integer_value(x) <= (json_int_t)now) {
        rc = PH_ETIMEDOUT;
        goto out;
    }
    const char *k;
    json_t *v;
    json_object_foreach(d, k, v)
    {
        if (!json_is_string(v) ||
            put_item(s, k, strlen(k), json_string_value(v), json_string_length(v)) < 0)
            goto out;
    }
    size_t i;
    json_array_foreach(f, i, v)
    {
        json_t *c = json_array_get(v, 0), *m = json_array_get(v, 1);
        if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_string(c) ||
            !json_is_string(m) ||
            add_flash(s, json_string_value(c), json_string_length(c), json_string_value(m),
                      json_string_length(m)) < 0)
            goto out;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

ph_usersession *ph_usersession_decode(const ph_security *sec, ph_arena *a, const char *cookie,
                                      time_t now, ph_usersession_status *status)
{
    ph_usersession_status st = PH_USERSESSION_ABSENT;
    ph_usersession *s = session_new(a);
    if (!s)
        return NULL;
    if (!cookie || !*cookie)
        goto done;
    st = PH_USERSESSION_TAMPERED;
    size_t n = strlen(cookie);
    unsigned char *json;
    size_t jlen;
    verified *v = &last_verified;
    if (n <= VERIFIED_MAX && v->sec_id == sec->id && v->n == n &&
        sodium_memcmp(v->cookie, cookie, n) == 0) {
        if (!(json = ph_arena_memdup(a, v->json, v->jlen + 1)))
            goto done;
        jlen = v->jlen;
        goto parse;
    }
    /* the alphabet is checked here: libsodium's decoder maps some bytes
     * >= 0x80 (sign-extended chars) onto valid digits */
    if (n > PH_USERSESSION_MAX || n < TAG_B64 + 2 || strspn(cookie, PH__B64URL ".") != n)
        goto done;
    const char *dot = cookie + n - TAG_B64 - 1;
    if (*dot != '.')
        goto done;
    size_t plen = (size_t)(dot - cookie);
    unsigned char tag[crypto_auth_hmacsha256_BYTES], want[crypto_auth_hmacsha256_BYTES];
    size_t tlen;
    if (ph__b64url_decode(dot + 1, TAG_B64, tag, sizeof(tag), &tlen) != 0 || tlen != sizeof(tag))
        goto done;
    bool ok = false;
    for (int k = 0; k < sec->nkeys && !ok; k++) {
        sign(&sec->session_macs[k], cookie, plen, want);
        ok = sodium_memcmp(tag, want, sizeof(tag)) == 0;
    }
    if (!ok)
        goto done;
    /* signed by us: decode the payload */
    json = ph_arena_alloc(a, plen + 1);
    if (!json || ph__b64url_decode(cookie, plen, json, plen + 1, &jlen) != 0)
        goto done;
    json[jlen] = '\0';
    if (n <= VERIFIED_MAX && jlen < VERIFIED_MAX) {
        memcpy(v->cookie, cookie, n);
        memcpy(v->json, json, jlen + 1);
        v->n = n;
        v->jlen = jlen;
        v->sec_id = sec->id;
    }
parse:;
    int rc = load_json(s, (const char *)json, jlen, now);
    if (rc < 0) {
        ph_usersession_reset(s);
        s->modified = false;
        st = rc == PH_ETIMEDOUT ? PH_USERSESSION_EXPIRED : PH_USERSESSION_TAMPERED;
        goto done;
    }
    st = PH_USERSESSION_OK;
done:
    if (status)
        *status = st;
    return s;
}

int ph_usersession_encode(const ph_security *sec, const ph_usersession *s, ph_arena *a, time_t now,
                          char **out)
{
    *out = NULL;
    json_t *root = json_object(), *d = json_object(), *f = json_array();
    int rc = PH_ENOMEM;
    char *json = NULL;
    if (!root || !d || !f)
        goto out;
    for (size_t i = 0; i < s->len; i++)
        if (json_object_set_new(d, s->items[i].key, json_string(s->items[i].value)) != 0)
            goto out;
    for (size_t i = 0; i < s->nflashes; i++) {
        json_t *pair = json_pack("[ss]", s->flashes[i].category, s->flashes[i].message);
        if (!pair || json_array_append_new(f, pair) != 0)
            goto out;
    }
    if (json_object_set_new(root, "x", json_integer((json_int_t)now + sec->cfg.lifetime_s)) != 0 ||
        json_object_set(root, "d", d) != 0 || json_object_set(root, "f", f) != 0)
        goto out;
    json = json_dumps(root, JSON_COMPACT);
    if (!json)
        goto out;
    size_t jlen = strlen(json);
    size_t b64 = sodium_base64_ENCODED_LEN(jlen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    if (b64 + TAG_B64 + 1 > PH_USERSESSION_MAX) {
        rc = PH_ETOOLONG;
        goto out;
    }
    char *v = ph_arena_alloc(a, b64 + TAG_B64 + 2);
    if (!v)
        goto out;
    sodium_bin2base64(v, b64, (const unsigned char *)json, jlen,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    size_t plen = strlen(v);
    unsigned char tag[crypto_auth_hmacsha256_BYTES];
    sign(&sec->session_macs[0], v, plen, tag);
    v[plen] = '.';
    sodium_bin2base64(v + plen + 1, TAG_B64 + 1, tag, sizeof(tag),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    *out = v;
    rc = 0;
out:
    free(json);
    json_decref(d);
    json_decref(f);
    json_decref(root);
    return rc;
}

const char *ph_usersession_lookup(const ph_usersession *s, const char *key)
{
    for (size_t i = 0; i < s->len; i++)
        if (strcmp(s->items[i].key, key) == 0)
            return s->items[i].value;
    return NULL;
}

int ph_usersession_put(ph_usersession *s, const char *key, const char *value)
{
    if (!key || !value || !*key || !ph_text_valid(key, strlen(key)) ||
        !ph_text_valid(value, strlen(value)))
        return PH_EINVAL;
    int rc = put_item(s, key, strlen(key), value, strlen(value));
    if (rc == 0)
        s->modified = true;
    return rc;
}

int ph_usersession_del(ph_usersession *s, const char *key)
{
    for (size_t i = 0; i < s->len; i++) {
        if (strcmp(s->items[i].key, key) == 0) {
            memmove(&s->items[i], &s->items[i + 1], (s->len - i - 1) * sizeof(*s->items));
            s->len--;
            s->modified = true;
            return 0;
        }
    }
    return 0;
}

void ph_usersession_reset(ph_usersession *s)
{
    if (s->len || s->nflashes)
        s->modified = true;
    s->len = 0;
    s->nflashes = 0;
}

size_t ph_usersession_len(const ph_usersession *s)
{
    return s->len;
}

const char *ph_usersession_key_at(const ph_usersession *s, size_t i)
{
    return i < s->len ? s->items[i].key : NULL;
}

bool ph_usersession_modified(const ph_usersession *s)
{
    return s->modified;
}

int ph_usersession_flash(ph_usersession *s, const char *category, const char *message)
{
    if (!category || !*category)
        category = "message";
    if (!message || !ph_text_valid(category, strlen(category)) ||
        !ph_text_valid(message, strlen(message)))
        return PH_EINVAL;
    int rc = add_flash(s, category, strlen(category), message, strlen(message));
    if (rc == 0)
        s->modified = true;
    return rc;
}

size_t ph_usersession_take_flashes(ph_usersession *s, const ph_flash_msg **out)
{
    size_t n = s->nflashes;
    *out = s->flashes;
    if (n) {
        /* the array stays valid (arena memory); the session forgets it */
        s->flashes = NULL;
        s->nflashes = s->capflashes = 0;
        s->modified = true;
    }
    return n;
}
