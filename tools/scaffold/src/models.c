/*
 * Descriptors of __NAME__'s models (see models.h): one line per column,
 * checked against the struct by the compiler.
 */
#include "models.h"

static const ph_column Note_columns[] = {
    PH_INTEGER(Note, id, PH_PK),
    PH_STRING(Note, title, 100, PH_NOT_NULL),
};
const ph_model Note_model = PH_MODEL(Note, "note", Note_columns);

const ph_model *const __NAME___models[] = {&Note_model};
const size_t __NAME___nmodels = PH_COUNTOF(__NAME___models);
