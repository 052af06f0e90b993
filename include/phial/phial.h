/*
 * Everything of Phial in one include: core, models, database, ORM,
 * templates, HTTP, router, app, server and the CLI helpers.
 */
#ifndef PHIAL_PHIAL_H
#define PHIAL_PHIAL_H

#include "phial/core.h"
#include "phial/model.h"
#include "phial/db.h"
#include "phial/orm.h"
#include "phial/migrate.h"
#include "phial/template.h"
#include "phial/cli.h"
#include "phial/http.h"
#include "phial/router.h"
#include "phial/app.h"
#include "phial/server.h"
#include "phial/security.h"
#include "phial/form.h"
#include "phial/version.h"

PH_API_BEGIN

PH_API_END

#endif
