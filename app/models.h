/*
 * The tutorial application's models, declared once: the struct here, the
 * descriptor in models.c.  User is the tutorial's registration table; World
 * and Fortune are the TechEmpower benchmark tables of the Flask peer.
 */
#ifndef APP_MODELS_H
#define APP_MODELS_H

#include "phial/model.h"

/* class User(db.Model): table "user" */
typedef struct User {
    ph_obj _ph;
    int64_t id;
    char *username;      /* String(100), NOT NULL */
    char *user_email;    /* String(100), NOT NULL */
    char *user_password; /* String(150), NOT NULL */
} User;

/* TechEmpower World: table "world" */
typedef struct World {
    ph_obj _ph;
    int64_t id;
    int64_t randomnumber; /* NOT NULL, default 0 */
} World;

/* TechEmpower Fortune: table "fortune" */
typedef struct Fortune {
    ph_obj _ph;
    int64_t id;
    char *message; /* String(2048), NOT NULL */
} Fortune;

extern const ph_model User_model;
extern const ph_model World_model;
extern const ph_model Fortune_model;

/* Every model of the app, parents before children (create_all sorts anyway). */
extern const ph_model *const app_models[];
extern const size_t app_nmodels;

#endif
