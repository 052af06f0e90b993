/* The Todo application's command line: `todo run`, `todo db create`, ... */
#include "todo.h"

PH_MAIN("todo", todo_setup)
