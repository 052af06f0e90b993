/*
 * Dropping root after binding.  A server started as root (to bind port 80,
 * say) switches to the user named by RUN_AS_USER -- its uid, its primary
 * group and its supplementary groups -- once the listening socket is
 * bound, before any worker starts or any request is read, and checks that
 * root cannot be regained.  Started as root without RUN_AS_USER it refuses
 * to serve, unless ALLOW_ROOT=1 says that is meant (a container whose only
 * user is root, a development machine).  Started as an ordinary user,
 * RUN_AS_USER must name that user or be unset: a switch that cannot happen
 * is an error, not a silent no-op.
 */
#include "internal.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static bool truthy(const char *v)
{
    return v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
                 strcasecmp(v, "on") == 0);
}

int ph__server_drop_privileges(const ph_app *app, int listen_fd)
{
    const char *name = ph_app_config_get(app, "RUN_AS_USER");
    bool allow_root = truthy(ph_app_config_get(app, "ALLOW_ROOT"));
    if (name && !*name)
        name = NULL;
    struct passwd pw, *found = NULL;
    char buf[4096];
    if (name) {
        int rc = getpwnam_r(name, &pw, buf, sizeof(buf), &found);
        if (!found) {
            ph_log_error("RUN_AS_USER=%s: %s", name, rc ? strerror(rc) : "no such user");
            goto fail;
        }
    }
    if (geteuid() != 0) {
        if (found && found->pw_uid != geteuid()) {
            ph_log_error("RUN_AS_USER=%s: only a server started as root can switch users", name);
            goto fail;
        }
        return 0;
    }
    if (!found) {
        if (allow_root) {
            ph_log_warn("serving as root (ALLOW_ROOT=1)");
            return 0;
        }
        ph_log_error("refusing to serve as root: set RUN_AS_USER to the user to serve as "
                     "(or ALLOW_ROOT=1 to serve as root anyway)");
        goto fail;
    }
    if (found->pw_uid == 0) {
        if (allow_root)
            return 0;
        ph_log_error("RUN_AS_USER=%s is root: refusing (ALLOW_ROOT=1 to serve as root)", name);
        goto fail;
    }
    /* groups first: after setuid there is no right left to change them */
    if (initgroups(found->pw_name, found->pw_gid) < 0 || setgid(found->pw_gid) < 0 ||
        setuid(found->pw_uid) < 0) {
        ph_log_error("RUN_AS_USER=%s: cannot switch: %s", name, strerror(errno));
        goto fail;
    }
    if (setuid(0) == 0 || geteuid() == 0 || getegid() == 0) {
        ph_log_error("RUN_AS_USER=%s: root could be regained: refusing to serve", name);
        goto fail;
    }
    ph_log_info("serving as %s (uid %u, gid %u)", found->pw_name, (unsigned)found->pw_uid,
                (unsigned)found->pw_gid);
    return 0;
fail:
    close(listen_fd);
    return PH_EDENIED;
}
