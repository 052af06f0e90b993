/*
 * Descriptors of the tutorial application's models (see models.h): one line
 * per db.Column of the Flask version, checked against the structs by the
 * compiler.
 */
#include "models.h"

static const ph_column User_columns[] = {
    PH_INTEGER(User, id, PH_PK),
    PH_STRING(User, username, 100, PH_NOT_NULL),
    PH_STRING(User, user_email, 100, PH_NOT_NULL),
    PH_STRING(User, user_password, 150, PH_NOT_NULL),
};
const ph_model User_model = PH_MODEL(User, "user", User_columns);

static const ph_column World_columns[] = {
    PH_INTEGER(World, id, PH_PK),
    PH_INTEGER(World, randomnumber, PH_NOT_NULL, .default_value = "0"),
};
const ph_model World_model = PH_MODEL(World, "world", World_columns);

static const ph_column Fortune_columns[] = {
    PH_INTEGER(Fortune, id, PH_PK),
    PH_STRING(Fortune, message, 2048, PH_NOT_NULL),
};
const ph_model Fortune_model = PH_MODEL(Fortune, "fortune", Fortune_columns);

const ph_model *const app_models[] = {&User_model, &World_model, &Fortune_model};
const size_t app_nmodels = PH_COUNTOF(app_models);
