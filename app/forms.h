/*
 * The tutorial application's forms (Flask-WTF's forms.py): registration
 * and contact, the pet pages' handler, pet and comment forms, and their
 * delete buttons.  Each form that fills a model is derived from it, so a
 * column's constraints are declared once.
 */
#ifndef APP_FORMS_H
#define APP_FORMS_H

#include "phial/phial.h"
#include "models.h"

extern const ph_form_def register_form;       /* username, email, password */
extern const ph_form_def contact_form;        /* the tutorial's ContactForm */
extern const ph_form_def handler_form;        /* handler_name */
extern const ph_form_def pet_form;            /* pet_name, pet_category, tags */
extern const ph_form_def comment_form;        /* comment_content */
extern const ph_form_def delete_pet_form;     /* a button */
extern const ph_form_def delete_handler_form; /* a button, and "confirm" when it has pets */

/* Checks every form above (start-up).  0 or PH_EINVAL with err. */
int app_forms_check(char *err, size_t errlen);

#endif
