/* The Todo application's models: one line per db.Column of flask/app.py. */
#include "todo.h"

static const ph_column Tag_columns[] = {
    PH_INTEGER(Tag, id, PH_PK),
    PH_STRING(Tag, name, 50, PH_NOT_NULL | PH_UNIQUE),
};
static const ph_relationship Tag_rels[] = {
    PH_MANY_TO_MANY(Tag, todos, Todo, "todo_tag", "tag_id", "todo_id", .backref = "tags"),
};
const ph_model Tag_model = PH_MODEL_RELS(Tag, "tag", Tag_columns, Tag_rels);

static const ph_column Todo_columns[] = {
    PH_INTEGER(Todo, id, PH_PK),
    PH_STRING(Todo, title, 200, PH_NOT_NULL),
    PH_BOOLEAN(Todo, done, PH_NOT_NULL, .default_value = "false"),
    PH_DATETIME(Todo, created, PH_NOT_NULL, .default_value = "now"),
};
static const ph_relationship Todo_rels[] = {
    PH_MANY_TO_MANY(Todo, tags, Tag, "todo_tag", "todo_id", "tag_id", .backref = "todos"),
};
const ph_model Todo_model = PH_MODEL_RELS(Todo, "todo", Todo_columns, Todo_rels);

const ph_model TodoTag_model = PH_ASSOCIATION("todo_tag", "todo_id", "todo.id", "tag_id", "tag.id");
const ph_model *const todo_models[3] = {&Tag_model, &Todo_model, &TodoTag_model};
