/*
 * What the command-line files share.  Not a public header.
 */
#ifndef PHIAL_CLI_INTERNAL_H
#define PHIAL_CLI_INTERNAL_H

#include "phial/cli.h"

/* Whether cmd is one of the migration subcommands of `db` (check,
 * migrate, upgrade, downgrade, current, history, stamp). */
bool ph__cli_is_migrate_command(const char *cmd);
/* Runs one of them; argv[0] is the subcommand.  The exit status. */
int ph__cli_migrate(const ph_cli_db_config *cfg, int argc, char **argv);

/* After `db create` made every table of a database that had none: records
 * the migrations' head as applied (when there are migrations and no
 * revision is recorded), printing what it did; a problem is printed as a
 * warning, never an error. */
void ph__cli_stamp_created(const ph_cli_db_config *cfg, ph_db_conn *c);

#endif
