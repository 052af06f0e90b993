/*
 * Password hashes: Argon2id through libsodium at no less than OWASP's
 * minimum (19 MiB, t=2, p=1), and a cap on how many are computed at once
 * in the process, so that a flood of registrations can neither exhaust
 * memory nor hold every handler thread: a caller over the cap waits a
 * short, bounded time for a slot, and is refused (PH_ELIMIT: the app
 * answers 503 with Retry-After) when none came free or when the queue of
 * waiters is already full.
 */
#include "phial/security.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "internal.h"

/* Takes a hashing slot, waiting up to hash_wait_ms.  0 or PH_ELIMIT. */
static int slot_take(ph_security *sec)
{
    pthread_mutex_lock(&sec->lock);
    if (sec->hashing >= sec->cfg.hash_concurrency) {
        if (sec->waiting >= 4 * sec->cfg.hash_concurrency || sec->cfg.hash_wait_ms == 0) {
            pthread_mutex_unlock(&sec->lock);
            return PH_ELIMIT;
        }
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += sec->cfg.hash_wait_ms / 1000;
        dl.tv_nsec += (long)(sec->cfg.hash_wait_ms % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
        sec->waiting++;
        int rc = 0;
        while (sec->hashing >= sec->cfg.hash_concurrency && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&sec->cond, &sec->lock, &dl);
        sec->waiting--;
        if (sec->hashing >= sec->cfg.hash_concurrency) {
            pthread_mutex_unlock(&sec->lock);
            return PH_ELIMIT;
        }
    }
    sec->hashing++;
    pthread_mutex_unlock(&sec->lock);
    return 0;
}

static void slot_give(ph_security *sec)
{
    pthread_mutex_lock(&sec->lock);
    sec->hashing--;
    pthread_cond_signal(&sec->cond);
    pthread_mutex_unlock(&sec->lock);
}

int ph_password_hash(ph_security *sec, const char *password, size_t len,
                     char out[PH_PASSWORD_HASH_MAX])
{
    _Static_assert(crypto_pwhash_STRBYTES <= PH_PASSWORD_HASH_MAX, "hash buffer too small");
    int rc = slot_take(sec);
    if (rc < 0)
        return rc;
    rc = crypto_pwhash_str_alg(out, password, len, sec->cfg.hash_ops,
                               (size_t)sec->cfg.hash_memory_kib * 1024,
                               crypto_pwhash_ALG_ARGON2ID13) == 0
             ? 0
             : PH_ENOMEM;
    slot_give(sec);
    return rc;
}

int ph_password_verify(ph_security *sec, const char *hash, const char *password, size_t len)
{
    if (!hash || strncmp(hash, "$argon2id$", 10) != 0)
        return PH_EDENIED;
    int rc = slot_take(sec);
    if (rc < 0)
        return rc;
    rc = crypto_pwhash_str_verify(hash, password, len) == 0 ? 0 : PH_EDENIED;
    slot_give(sec);
    return rc;
}

unsigned ph_password_retry_after(const ph_security *sec)
{
    unsigned s = (sec->cfg.hash_wait_ms + 999) / 1000;
    return s ? s : 1;
}
