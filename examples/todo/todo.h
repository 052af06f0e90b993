/*
 * A small Todo application on Phial's public API, the counterpart of
 * flask/app.py: a Todo with Boolean and DateTime columns, a many-to-many
 * Tag, pages to list, create, toggle and delete, and a JSON API.
 */
#ifndef TODO_H
#define TODO_H

#include <phial/phial.h>

typedef struct Tag {
    ph_obj _ph;
    int64_t id;
    const char *name;
    ph_list todos;
} Tag;

typedef struct Todo {
    ph_obj _ph;
    int64_t id;
    const char *title;
    bool done;
    ph_datetime_opt created; /* unset until the insert gives it "now" */
    ph_list tags;
} Todo;

PH_MODEL_EXTERN(Tag);
PH_MODEL_EXTERN(Todo);
/* Tag, Todo and their association table, parents first. */
extern const ph_model *const todo_models[3];

/* Routes, models and folders of the application (models.c, views.c). */
int todo_setup(ph_app *app);

#endif
