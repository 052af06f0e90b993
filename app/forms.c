/*
 * The application's forms, each derived from its model: a field naming a
 * column gets that column's constraints (NOT NULL: required; String(n): at
 * most n characters); what the table does not say is added here -- the
 * email syntax, the password's length, and that a username is not taken
 * (a check in the form: the tutorial's user table has no unique index).
 */
#include "forms.h"

#include <stdio.h>

static const ph_field register_fields[] = {
    PH_FORM_COLUMN(PH_FIELD_TEXT, "username", "username", "Username",
                   PH_UNIQUE_IN(&User_model, "username")),
    PH_FORM_COLUMN(PH_FIELD_EMAIL, "email", "user_email", "Email", PH_EMAIL()),
    /* the column holds the hash; the password itself is checked here */
    PH_FORM_FIELD(PH_FIELD_PASSWORD, "password", "Password", PH_REQUIRED(), PH_LENGTH(8, 1024)),
    PH_FORM_FIELD(PH_FIELD_SUBMIT, "submit", "Register"),
};
const ph_form_def register_form = PH_FORM_MODEL(register_fields, &User_model);

static const ph_field contact_fields[] = {
    PH_FORM_COLUMN(PH_FIELD_TEXT, "name", "name", "Name"),
    PH_FORM_COLUMN(PH_FIELD_EMAIL, "email", "email", "Email", PH_EMAIL()),
    PH_FORM_COLUMN(PH_FIELD_TEXTAREA, "message", "message", "Message"),
    PH_FORM_FIELD(PH_FIELD_SUBMIT, "submit", "Send"),
};
const ph_form_def contact_form = PH_FORM_MODEL(contact_fields, &Contact_model);

static const ph_field handler_fields[] = {
    PH_FORM_COLUMN(PH_FIELD_TEXT, "handler_name", "handler_name", "New handler"),
    PH_FORM_FIELD(PH_FIELD_SUBMIT, "submit", "Add handler"),
};
const ph_form_def handler_form = PH_FORM_MODEL(handler_fields, &PetHandler_model);

static const ph_field pet_fields[] = {
    PH_FORM_COLUMN(PH_FIELD_TEXT, "pet_name", "pet_name", "Name"),
    PH_FORM_COLUMN(PH_FIELD_TEXT, "pet_category", "pet_category", "Kind"),
    PH_FORM_FIELD(PH_FIELD_TEXT, "tags", "Tags", PH_OPTIONAL(), PH_LENGTH(-1, 500)),
    PH_FORM_FIELD(PH_FIELD_SUBMIT, "submit", "Add pet"),
};
const ph_form_def pet_form = PH_FORM_MODEL(pet_fields, &PetCategory_model);

static const ph_field comment_fields[] = {
    PH_FORM_COLUMN(PH_FIELD_TEXTAREA, "comment_content", "comment_content", "Comment"),
    PH_FORM_FIELD(PH_FIELD_SUBMIT, "submit", "Add comment"),
};
const ph_form_def comment_form = PH_FORM_MODEL(comment_fields, &PetComment_model);

/* The delete buttons: nothing to fill, but posted with a CSRF token.  A
 * handler with pets is deleted only through "confirm", the button of the
 * confirmation page. */
static const ph_field delete_pet_fields[] = {
    PH_FORM_FIELD(PH_FIELD_SUBMIT, "submit", "Delete this pet"),
};
const ph_form_def delete_pet_form = PH_FORM(delete_pet_fields);

static const ph_field delete_handler_fields[] = {
    PH_FORM_FIELD(PH_FIELD_SUBMIT, "submit", "Delete this handler"),
    PH_FORM_FIELD(PH_FIELD_SUBMIT, "confirm", "Delete the handler and its pets"),
};
const ph_form_def delete_handler_form = PH_FORM(delete_handler_fields);

int app_forms_check(char *err, size_t errlen)
{
    static const struct {
        const char *name;
        const ph_form_def *def;
    } forms[] = {{"register", &register_form},
                 {"contact", &contact_form},
                 {"handler", &handler_form},
                 {"pet", &pet_form},
                 {"comment", &comment_form},
                 {"delete_pet", &delete_pet_form},
                 {"delete_handler", &delete_handler_form}};
    for (size_t i = 0; i < PH_COUNTOF(forms); i++) {
        char msg[256];
        if (ph_form_def_check(forms[i].def, msg, sizeof(msg)) < 0) {
            snprintf(err, errlen, "form %s: %s", forms[i].name, msg);
            return PH_EINVAL;
        }
    }
    return 0;
}
