/*
 * libFuzzer target for the signed session cookie decoder and the CSRF
 * token check: the input is tried as a cookie value as sent (almost always
 * rejected at the signature), then signed with the fuzzer's key so that the
 * base64 and JSON decoding behind the signature is reached too; a session
 * that decodes is encoded again and must decode to the same keys.  Any
 * crash, leak or sanitizer report is a bug.
 */
#include "phial/security.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ph_security *sec;

/* A cookie whose payload is the input, signed as the server signs. */
static char *forge(ph_arena *a, const uint8_t *data, size_t size)
{
    size_t b64 = sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *v = ph_arena_alloc(a, b64 + 48);
    if (!v)
        return NULL;
    sodium_bin2base64(v, b64, data, size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    size_t plen = strlen(v);
    /* the session key is HMAC(secret, "phial.usersession") */
    unsigned char key[32], tag[32];
    crypto_auth_hmacsha256_state st;
    static const char secret[] = "fuzzing-secret-key-0123456789";
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, sizeof(secret) - 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)"phial.usersession", 17);
    crypto_auth_hmacsha256_final(&st, key);
    crypto_auth_hmacsha256_init(&st, key, sizeof(key));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)v, plen);
    crypto_auth_hmacsha256_final(&st, tag);
    v[plen] = '.';
    sodium_bin2base64(v + plen + 1, 44, tag, sizeof(tag), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    if (!sec) {
        ph_security_config c;
        ph_security_config_defaults(&c);
        c.secret_key = "fuzzing-secret-key-0123456789";
        char err[256];
        if (ph_security_new(&c, &sec, err, sizeof(err)) < 0)
            abort();
    }
    ph_arena *a = ph_arena_new(0);
    if (!a)
        return 0;
    char *raw = ph_arena_strndup(a, (const char *)data, size);
    const char *why;
    if (raw) {
        ph_usersession_decode(sec, a, raw, 1000, NULL);
        ph_csrf_check(sec, NULL, raw, 1000, &why);
    }
    char *forged = forge(a, data, size);
    ph_usersession_status st;
    ph_usersession *s = forged ? ph_usersession_decode(sec, a, forged, 1000, &st) : NULL;
    if (s && st == PH_USERSESSION_OK) {
        if (raw)
            ph_csrf_check(sec, s, raw, 1000, &why);
        const ph_flash_msg *f;
        char *again;
        size_t n = ph_usersession_len(s);
        if (ph_usersession_encode(sec, s, a, 1000, &again) == 0) {
            ph_usersession *t = ph_usersession_decode(sec, a, again, 1000, &st);
            if (st != PH_USERSESSION_OK || ph_usersession_len(t) != n)
                abort();
            for (size_t i = 0; i < n; i++)
                if (strcmp(ph_usersession_lookup(t, ph_usersession_key_at(s, i)),
                           ph_usersession_lookup(s, ph_usersession_key_at(s, i))) != 0)
                    abort();
        }
        ph_usersession_take_flashes(s, &f);
    }
    ph_arena_free(a);
    return 0;
}
