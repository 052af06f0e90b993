/*
 * The application's command line, like `flask`: the database commands
 * (the counterpart of the tutorial's interpreter session).  The app's main
 * calls these with its own configuration and models.
 */
#ifndef PHIAL_CLI_H
#define PHIAL_CLI_H

#include "phial/migrate.h"
#include "phial/model.h"

#include <stddef.h>
#include "phial/version.h"

PH_API_BEGIN

struct ph_app;

/* The ready command line of an application, Flask's `flask` command:
 *
 *     int main(int argc, char **argv)
 *     {
 *         ph_app *app = ph_app_new("todo");
 *         if (!app || setup(app) < 0)       // routes, models, defaults
 *             return 1;
 *         int rc = ph_app_main(app, argc, argv);
 *         ph_app_free(app);
 *         return rc;
 *     }
 *
 *   app run [--host H] [--port P] [--workers N] [--threads N]
 *   app routes
 *   app db create|drop|add|list|models|check|migrate|upgrade|downgrade|
 *          current|history|stamp ...          (ph_cli_db_run on the app's models
 *                                              and MIGRATIONS_FOLDER, default
 *                                              "migrations")
 *   app help | --help | COMMAND --help
 *
 * It reads the config file named by PHIAL_CONFIG, applies LOG_LEVEL and
 * ACCESS_LOG, opens the database (DATABASE_URL) for `run` and `db`, and
 * for `run` only compiles the templates and serves the static files
 * (ph_app_use_folders: the copies of ph_app_embed, or TEMPLATE_FOLDER and
 * STATIC_FOLDER found next to the binary, if they exist) and refuses to
 * start, naming the command that fixes it, when a table or a column of a
 * registered model is missing (ph_migrate_check_schema).
 * Returns the exit status: 0, 1 for errors, 2 for usage. */
int ph_app_main(struct ph_app *app, int argc, char **argv);

/* The whole main of an application: a new app called name, setup(app)
 * (routes, models, defaults; non-zero stops with status 1), then
 * ph_app_main.  PH_MAIN("todo", todo_setup) defines main() with it. */
int ph_main(const char *name, int (*setup)(struct ph_app *app), int argc, char **argv);
#define PH_MAIN(name, setup)                                                                       \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        return ph_main((name), (setup), argc, argv);                                               \
    }

/* `app db SUBCOMMAND ...`, with argv[0] the subcommand:
 *   create                      create missing tables (create_all); on a
 *                               database that had none, also record the
 *                               migrations' newest revision as applied
 *   drop [--yes]                drop the tables and the recorded revision
 *                               (asks on a terminal; refuses without one
 *                               unless --yes)
 *   add MODEL col=value ...     insert a row, print its new id
 *   list MODEL [--columns a,b]  print [<User 1>, ...] or the columns of each
 *                               row, tab-separated, one row a line
 *   models                      list models, tables, columns and types
 * create and drop print what they did: "created 3 tables: a, b, c",
 * "nothing to create: all 9 tables exist", "dropped ...", "nothing to
 * drop: ...".
 * Prints to stdout / stderr and returns the exit status: 0; 2 for a usage
 * error, anything wrong with the arguments, found before any SQL (unknown
 * subcommand, option, model or column, an empty --columns or an empty name
 * in it, a column given twice, a value that does not fit its column: not a
 * number, beyond a 32-bit Integer, longer than String(n); NOT NULL columns
 * without a default missing from add, all named in one message); 1 for
 * what the database refuses (cannot connect, UNIQUE or foreign-key
 * constraint, missing table). */
int ph_cli_db(const char *database_url, const ph_model *const *models, size_t nmodels, int argc,
              char **argv);

/* What the database commands work on.  Borrowed for the call. */
typedef struct ph_cli_db_config {
    const char *database_url;
    const ph_model *const *models;
    size_t nmodels;
    /* The application's migrations folder: `db migrate` writes there, and
     * the other commands read it unless migrations is set.  NULL:
     * "migrations". */
    const char *migrations_dir;
    /* Migrations compiled into the binary (the embedding tool's table);
     * when set, they are used instead of the folder. */
    const ph_migration_file *migrations;
    size_t nmigrations;
} ph_cli_db_config;

/* ph_cli_db with migrations: the subcommands above, and
 *   check                       print how the database differs from the
 *                               models; exit 1 if it does, 0 if it matches
 *   migrate -m MESSAGE          write the next migration file (upgrade and
 *                               downgrade) from those differences
 *   upgrade [REV]               apply migrations up to REV (default: head)
 *   downgrade REV               revert migrations down to REV (or base)
 *   current                     print the database's revision
 *   history                     list the migrations, newest first
 *   stamp REV                   record REV as applied without running it
 *                               (adopt a database made by Flask or db create)
 * Exit status as ph_cli_db. */
int ph_cli_db_run(const ph_cli_db_config *cfg, int argc, char **argv);

PH_API_END

#endif
