/*
 * The application's command line, like `flask`: the database commands
 * (the counterpart of the tutorial's interpreter session).  The app's main
 * calls these with its own configuration and models.
 */
#ifndef PHIAL_CLI_H
#define PHIAL_CLI_H

#include "phial/model.h"

#include <stddef.h>

/* `app db SUBCOMMAND ...`, with argv[0] the subcommand:
 *   create                      create missing tables (create_all)
 *   drop [--yes]                drop the tables (asks on a terminal; refuses
 *                               without one unless --yes)
 *   add MODEL col=value ...     insert a row, print its new id
 *   list MODEL [--columns a,b]  print [<User 1>, ...] or the columns of each
 *                               row, tab-separated, one row a line
 *   models                      list models, tables, columns and types
 * Prints to stdout / stderr and returns the exit status: 0, 1 for errors
 * (database, constraint, too-long value), 2 for usage (unknown subcommand,
 * model or column, malformed value). */
int ph_cli_db(const char *database_url, const ph_model *const *models, size_t nmodels, int argc,
              char **argv);

#endif
