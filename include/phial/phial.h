/*
 * Everything of Phial in one include: core, models, HTTP, router, app and
 * server (other modules add their headers here).
 */
#ifndef PHIAL_PHIAL_H
#define PHIAL_PHIAL_H

#include "phial/core.h"
#include "phial/model.h"
#include "phial/http.h"
#include "phial/router.h"
#include "phial/app.h"
#include "phial/server.h"

#endif
