/*
 * The security object made at start-up from SECRET_KEY (and its fallbacks
 * for key rotation): the keys derived from each secret for signing
 * sessions and CSRF tokens, the settings read from the config, the
 * instance key file used when no SECRET_KEY is configured in debug mode,
 * constant-time comparison, random tokens and the UTF-8 checks applied to
 * everything a request sends.  Session cookies are in usersession.c, CSRF
 * tokens in csrf.c, password hashes in password.c.
 */
#include "phial/security.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "internal.h"

void ph_security_config_defaults(ph_security_config *c)
{
    *c = (ph_security_config){
        .cookie_name = "session",
        .lifetime_s = 31 * 86400,
        .cookie_httponly = true,
        .cookie_samesite = 1, /* PH_SAMESITE_LAX */
        .csrf_time_limit_s = 3600,
        .hash_concurrency = 2,
        .hash_wait_ms = 1000,
        .hash_memory_kib = PH_ARGON2_MIN_MEMORY_KIB,
        .hash_ops = PH_ARGON2_MIN_OPS,
        .frame_options = "DENY",
        .referrer_policy = "strict-origin-when-cross-origin",
        .nosniff = true,
    };
}

static int read_bool(const char *v, bool *out)
{
    if (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
        strcasecmp(v, "on") == 0)
        *out = true;
    else if (strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 ||
             strcasecmp(v, "off") == 0)
        *out = false;
    else
        return PH_EINVAL;
    return 0;
}

static int read_int(const char *v, int64_t lo, int64_t hi, int64_t *out)
{
    int64_t x;
    if (ph_parse_i64(ph_slice_cstr(v), &x) < 0 || x < lo || x > hi)
        return PH_EINVAL;
    *out = x;
    return 0;
}

int ph_security_config_read(ph_security_config *c, const char *(*get)(void *ud, const char *key),
                            void *ud, char *err, size_t errlen)
{
    static const struct {
        const char *key;
        int kind; /* 0 string, 1 bool, 2 int64, 3 unsigned, 4 samesite */
        size_t off;
        int64_t lo, hi;
    } keys[] = {
        {"SECRET_KEY", 0, offsetof(ph_security_config, secret_key), 0, 0},
        {"SECRET_KEY_FALLBACKS", 0, offsetof(ph_security_config, key_fallbacks), 0, 0},
        {"SESSION_COOKIE_NAME", 0, offsetof(ph_security_config, cookie_name), 0, 0},
        {"PERMANENT_SESSION_LIFETIME", 2, offsetof(ph_security_config, lifetime_s), 1,
         (int64_t)10 * 365 * 86400},
        {"SESSION_COOKIE_SECURE", 1, offsetof(ph_security_config, cookie_secure), 0, 0},
        {"SESSION_COOKIE_HTTPONLY", 1, offsetof(ph_security_config, cookie_httponly), 0, 0},
        {"SESSION_COOKIE_SAMESITE", 4, offsetof(ph_security_config, cookie_samesite), 0, 0},
        {"WTF_CSRF_TIME_LIMIT", 2, offsetof(ph_security_config, csrf_time_limit_s), 0,
         (int64_t)10 * 365 * 86400},
        {"PASSWORD_HASH_CONCURRENCY", 3, offsetof(ph_security_config, hash_concurrency), 1, 1024},
        {"PASSWORD_HASH_WAIT_MS", 3, offsetof(ph_security_config, hash_wait_ms), 0, 60000},
        {"PASSWORD_HASH_MEMORY_KIB", 3, offsetof(ph_security_config, hash_memory_kib),
         PH_ARGON2_MIN_MEMORY_KIB, 4 * 1024 * 1024},
        {"PASSWORD_HASH_OPS", 3, offsetof(ph_security_config, hash_ops), PH_ARGON2_MIN_OPS, 64},
        {"X_FRAME_OPTIONS", 0, offsetof(ph_security_config, frame_options), 0, 0},
        {"REFERRER_POLICY", 0, offsetof(ph_security_config, referrer_policy), 0, 0},
        {"CONTENT_SECURITY_POLICY", 0, offsetof(ph_security_config, csp), 0, 0},
        {"X_CONTENT_TYPE_OPTIONS", 1, offsetof(ph_security_config, nosniff), 0, 0},
    };
    for (size_t i = 0; i < PH_COUNTOF(keys); i++) {
        const char *v = get(ud, keys[i].key);
        if (!v)
            continue;
        char *field = (char *)c + keys[i].off;
        int64_t x = 0;
        int rc = 0;
        switch (keys[i].kind) {
        case 0:
            memcpy(field, &v, sizeof(v));
            break;
        case 1:
            rc = read_bool(v, (bool *)(void *)field);
            break;
        case 2:
            if ((rc = read_int(v, keys[i].lo, keys[i].hi, &x)) == 0)
                memcpy(field, &x, sizeof(x));
            break;
        case 3:
            if ((rc = read_int(v, keys[i].lo, keys[i].hi, &x)) == 0) {
                unsigned u = (unsigned)x;
                memcpy(field, &u, sizeof(u));
            }
            break;
        case 4: {
            int ss = strcasecmp(v, "Lax") == 0      ? 1
                     : strcasecmp(v, "Strict") == 0 ? 2
                     : strcasecmp(v, "None") == 0   ? 3
                                                    : -1;
            if (ss < 0)
                rc = PH_EINVAL;
            else
                memcpy(field, &ss, sizeof(ss));
            break;
        }
        }
        if (rc < 0) {
            if (keys[i].kind == 2 || keys[i].kind == 3)
                snprintf(err, errlen, "%s must be a whole number from %lld to %lld, not \"%s\"",
                         keys[i].key, (long long)keys[i].lo, (long long)keys[i].hi, v);
            else if (keys[i].kind == 1)
                snprintf(err, errlen, "%s must be true or false, not \"%s\"", keys[i].key, v);
            else
                snprintf(err, errlen, "%s must be Lax, Strict or None, not \"%s\"", keys[i].key,
                         v);
            return PH_EINVAL;
        }
    }
    return 0;
}

/* base64url digits: value + 1, 0 for a byte that is not one */
static const unsigned char b64url_table[256] = {
#define D(c, v) [c] = (v) + 1
    D('A', 0),  D('B', 1),  D('C', 2),  D('D', 3),  D('E', 4),  D('F', 5),  D('G', 6),
    D('H', 7),  D('I', 8),  D('J', 9),  D('K', 10), D('L', 11), D('M', 12), D('N', 13),
    D('O', 14), D('P', 15), D('Q', 16), D('R', 17), D('S', 18), D('T', 19), D('U', 20),
    D('V', 21), D('W', 22), D('X', 23), D('Y', 24), D('Z', 25), D('a', 26), D('b', 27),
    D('c', 28), D('d', 29), D('e', 30), D('f', 31), D('g', 32), D('h', 33), D('i', 34),
    D('j', 35), D('k', 36), D('l', 37), D('m', 38), D('n', 39), D('o', 40), D('p', 41),
    D('q', 42), D('r', 43), D('s', 44), D('t', 45), D('u', 46), D('v', 47), D('w', 48),
    D('x', 49), D('y', 50), D('z', 51), D('0', 52), D('1', 53), D('2', 54), D('3', 55),
    D('4', 56), D('5', 57), D('6', 58), D('7', 59), D('8', 60), D('9', 61), D('-', 62),
    D('_', 63),
#undef D
};

int ph__b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap, size_t *outlen)
{
    if (n % 4 == 1 || n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > cap)
        return -1;
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = b64url_table[(unsigned char)in[i]];
        if (d == 0)
            return -1;
        acc = acc << 6 | (d - 1);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0)
        return -1;
    *outlen = o;
    return 0;
}

/* One subkey: HMAC-SHA256(secret, label), so the session and CSRF keys of
 * one secret are independent. */
static void derive(const char *secret, size_t n, const char *label,
                   unsigned char out[PH__KEY_BYTES])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, n);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)label, strlen(label));
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

static int add_key(ph_security *sec, const char *secret, size_t n, char *err, size_t errlen)
{
    if (n < 16) {
        snprintf(err, errlen,
                 "SECRET_KEY%s is too short (%zu bytes): use at least 16 random characters, "
                 "e.g. the output of `head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n'`",
                 sec->nkeys ? "_FALLBACKS has a key that" : "", n);
        return PH_EINVAL;
    }
    if (sec->nkeys == PH__MAX_KEYS) {
        snprintf(err, errlen, "SECRET_KEY_FALLBACKS: at most %d keys", PH__MAX_KEYS - 1);
        return PH_EINVAL;
    }
    derive(secret, n, "phial.usersession", sec->session_keys[sec->nkeys]);
    derive(secret, n, "phial.csrf", sec->csrf_keys[sec->nkeys]);
    crypto_auth_hmacsha256_init(&sec->session_macs[sec->nkeys], sec->session_keys[sec->nkeys],
                                PH__KEY_BYTES);
    crypto_auth_hmacsha256_init(&sec->csrf_macs[sec->nkeys], sec->csrf_keys[sec->nkeys],
                                PH__KEY_BYTES);
    sec->nkeys++;
    return 0;
}

int ph_security_new(const ph_security_config *c, ph_security **out, char *err, size_t errlen)
{
    *out = NULL;
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium could not start");
        return PH_ENOMEM;
    }
    if (!c->secret_key || !*c->secret_key) {
        snprintf(err, errlen,
                 "SECRET_KEY is not set: sessions and CSRF tokens need it (set SECRET_KEY, or "
                 "SECRET_KEY_FILE to a file only this user can read, or DEBUG=1 for a key "
                 "made once in instance/secret_key)");
        return PH_EINVAL;
    }
    if (c->hash_memory_kib < PH_ARGON2_MIN_MEMORY_KIB || c->hash_ops < PH_ARGON2_MIN_OPS ||
        c->hash_concurrency == 0) {
        snprintf(err, errlen, "password hashing below OWASP's minimum (19 MiB, t=2) or no slot");
        return PH_EINVAL;
    }
    if (!c->cookie_name || !*c->cookie_name || strpbrk(c->cookie_name, " ;,=\t\r\n\"")) {
        snprintf(err, errlen, "SESSION_COOKIE_NAME is not a valid cookie name");
        return PH_EINVAL;
    }
    ph_security *sec = calloc(1, sizeof(*sec));
    if (!sec)
        return PH_ENOMEM;
    static _Atomic uint64_t last_id;
    sec->id = atomic_fetch_add(&last_id, 1) + 1;
    sec->cfg = *c;
    sec->cfg.secret_key = NULL; /* only the derived keys are kept */
    sec->cfg.key_fallbacks = NULL;
    int rc = add_key(sec, c->secret_key, strlen(c->secret_key), err, errlen);
    for (const char *p = c->key_fallbacks; rc == 0 && p && *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n && (*p == ' ' || *p == '\t'))
            p++, n--;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n)
            rc = add_key(sec, p, n, err, errlen);
        p = e ? e + 1 : p + n;
        if (!e)
            break;
    }
    if (rc == 0 && (pthread_mutex_init(&sec->lock, NULL) != 0 ||
                    (sec->lock_made = true, pthread_cond_init(&sec->cond, NULL) != 0))) {
        snprintf(err, errlen, "no lock");
        rc = PH_ENOMEM;
    } else if (rc == 0) {
        sec->cond_made = true;
    }
    if (rc < 0) {
        ph_security_free(sec);
        return rc;
    }
    *out = sec;
    return 0;
}

void ph_security_free(ph_security *sec)
{
    if (!sec)
        return;
    if (sec->cond_made)
        pthread_cond_destroy(&sec->cond);
    if (sec->lock_made)
        pthread_mutex_destroy(&sec->lock);
    sodium_memzero(sec, sizeof(*sec));
    free(sec);
}

const ph_security_config *ph_security_settings(const ph_security *sec)
{
    return &sec->cfg;
}

int ph_security_instance_key(const char *path, char out[65], char *err, size_t errlen)
{
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium could not start");
        return PH_ENOMEM;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0) {
            struct stat st;
            if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 ||
                st.st_uid != geteuid()) {
                close(fd);
                snprintf(err, errlen,
                         "%s: the secret key file must be a regular file of this user that no "
                         "one else can read (chmod 600)",
                         path);
                return PH_EDENIED;
            }
            char buf[128];
            ssize_t n = read(fd, buf, sizeof(buf) - 1);
            close(fd);
            while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
                n--;
            if (n < 16 || n > 64) {
                if (n == 0 && attempt == 0) {
                    /* another process is writing it right now */
                    struct timespec ts = {0, 50 * 1000 * 1000};
                    nanosleep(&ts, NULL);
                    continue;
                }
                snprintf(err, errlen, "%s: expected a key of 16 to 64 characters", path);
                return PH_EIO;
            }
            memcpy(out, buf, (size_t)n);
            out[n] = '\0';
            sodium_memzero(buf, sizeof(buf));
            return 0;
        }
        if (errno != ENOENT) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            return PH_EIO;
        }
        /* make the folder (one level) and the file, exclusively */
        char dir[4096];
        const char *slash = strrchr(path, '/');
        if (slash && (size_t)(slash - path) < sizeof(dir)) {
            memcpy(dir, path, (size_t)(slash - path));
            dir[slash - path] = '\0';
            if (*dir && mkdir(dir, 0700) != 0 && errno != EEXIST) {
                snprintf(err, errlen, "%s: %s", dir, strerror(errno));
                return PH_EIO;
            }
        }
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            if (errno == EEXIST)
                continue; /* made by another process meanwhile: read it */
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            return PH_EIO;
        }
        char key[65];
        ph_random_hex(key, 32);
        key[64] = '\n';
        bool ok = write(fd, key, 65) == 65 && fsync(fd) == 0;
        ok = close(fd) == 0 && ok;
        if (!ok) {
            unlink(path);
            snprintf(err, errlen, "%s: could not write the key", path);
            return PH_EIO;
        }
        memcpy(out, key, 64);
        out[64] = '\0';
        sodium_memzero(key, sizeof(key));
        return 0;
    }
    snprintf(err, errlen, "%s: the key file is empty", path);
    return PH_EIO;
}

void ph_secure_wipe(void *p, size_t n)
{
    sodium_memzero(p, n);
}

bool ph_secure_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    if (alen != blen)
        return false;
    return alen == 0 || sodium_memcmp(a, b, alen) == 0;
}

void ph_random_hex(char *out, size_t n)
{
    unsigned char buf[64];
    while (n > 0) {
        size_t k = n < sizeof(buf) ? n : sizeof(buf);
        randombytes_buf(buf, k);
        sodium_bin2hex(out, 2 * k + 1, buf, k);
        out += 2 * k;
        n -= k;
    }
    sodium_memzero(buf, sizeof(buf));
}

bool ph_text_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        unsigned c = *p;
        if (c == 0)
            return false;
        if (c < 0x80) {
            p++;
            continue;
        }
        size_t len;
        unsigned cp, min;
        if (c >= 0xc2 && c <= 0xdf)
            len = 2, cp = c & 0x1f, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
            len = 3, cp = c & 0x0f, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
            len = 4, cp = c & 0x07, min = 0x10000;
        else
            return false;
        if ((size_t)(end - p) < len)
            return false;
        for (size_t i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += len;
    }
    return true;
}

size_t ph_utf8_len(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += ((unsigned char)s[i] & 0xc0) != 0x80;
    return count;
}
