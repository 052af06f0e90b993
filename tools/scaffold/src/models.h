/*
 * __NAME__'s models: a C struct per table plus its descriptor (models.c).
 * Add a model here and in models.c, list it in __NAME___models, and
 * `build/__NAME__ db create` makes its table.
 */
#ifndef __NAME___MODELS_H
#define __NAME___MODELS_H

#include <phial/phial.h>

/* A note: the example model (db.Model with id and title). */
typedef struct Note {
    ph_obj _ph; /* the session's bookkeeping, first member */
    int64_t id;
    const char *title;
} Note;

extern const ph_model Note_model;

/* Every model of the application, parents first. */
extern const ph_model *const __NAME___models[];
extern const size_t __NAME___nmodels;

#endif
