/*
 * libFuzzer target for database URLs (DATABASE_URL): the input is parsed
 * as a URL; one that parses has a dialect and, for SQLite, a path, every
 * string decoded and NUL-terminated.  Errors are answers (with a message);
 * any crash, leak or sanitizer report is a bug.
 */
#include "phial/db.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    char *url = malloc(size + 1);
    if (!url)
        return 0;
    memcpy(url, data, size);
    url[size] = '\0';
    ph_db_url u;
    char err[256];
    int rc = ph_db_url_parse(url, &u, err, sizeof(err));
    if (rc == 0) {
        if (u.dialect != PH_DB_SQLITE && u.dialect != PH_DB_POSTGRES)
            abort();
        if (u.dialect == PH_DB_SQLITE && !u.path)
            abort();
        for (size_t i = 0; i < 2 * u.nparams; i++)
            if (!u.params[i])
                abort();
    } else if (rc == PH_EINVAL && err[0] == '\0') {
        abort(); /* a refusal says why */
    }
    ph_db_url_free(&u);
    free(url);
    return 0;
}
