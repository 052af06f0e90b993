/*
 * libFuzzer target for configuration files (PHIAL_CONFIG: KEY=VALUE lines,
 * # comments, quoted values): the input is written to an in-memory file
 * and loaded into an app, then read back the way start-up reads it -- the
 * limits, the security settings, the database URL, numbers and strings.
 * Errors are answers; any crash, leak or sanitizer report is a bug.
 */
#include "phial/app.h"
#include "phial/db.h"
#include "phial/security.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *get(void *ud, const char *key)
{
    return ph_app_config_get(ud, key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    ph_log_set_level(PH_LOG_OFF); /* a refused line is logged: not to the fuzzer's output */
    int fd = memfd_create("phial-config", 0);
    if (fd < 0)
        return 0;
    ph_app *app = NULL;
    if (write(fd, data, size) != (ssize_t)size)
        goto done;
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    app = ph_app_new("fuzz");
    if (!app || ph_app_config_load_file(app, path) < 0)
        goto done;
    ph_app_limits limits;
    ph_app_limits_get(app, &limits);
    ph_security_config sc;
    ph_security_config_defaults(&sc);
    char err[256];
    ph_security_config_read(&sc, get, app, err, sizeof(err));
    ph_db_url u;
    if (ph_db_url_parse(ph_db_url_resolve(get, app), &u, err, sizeof(err)) == 0)
        ph_db_url_free(&u);
    int64_t n;
    ph_app_config_int(app, "WORKERS", 1, &n);
    ph_app_config_int(app, "THREADS", 1, &n);
    ph_app_config_get(app, "SECRET_KEY");
done:
    ph_app_free(app);
    close(fd);
    return 0;
}
