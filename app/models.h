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
    const char *username;      /* String(100), NOT NULL */
    const char *user_email;    /* String(100), NOT NULL */
    const char *user_password; /* String(150), NOT NULL */
} User;

/* The tutorial's practice task: a message sent through the contact page.
 * Table "contact" (a new table: the tutorial's tables are untouched). */
typedef struct Contact {
    ph_obj _ph;
    int64_t id;
    const char *name;   /* String(100), NOT NULL */
    const char *email;  /* String(120), NOT NULL */
    const char *message; /* String(2000), NOT NULL */
} Contact;

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
    const char *message; /* String(2048), NOT NULL */
} Fortune;

/* ---- the pet management system ----------------------------------------------------
 * The tutorial's three tables (same columns as the Flask peer, so its
 * database opens here), plus a one-to-one and a many-to-many in new tables.
 * Relationship fields are caches the session fills (lazily through
 * ph_session_load or eagerly through ph_query_options); their foreign keys
 * are the columns. */
typedef struct PetHandler PetHandler;
typedef struct PetCategory PetCategory;
typedef struct PetComment PetComment;
typedef struct HandlerProfile HandlerProfile;
typedef struct Tag Tag;

/* class PetHandler(db.Model): table "pethandler" */
struct PetHandler {
    ph_obj _ph;
    int64_t handler_id;
    const char *handler_name;      /* String(150), NOT NULL */
    ph_list pet_category;    /* PetCategory *: the handler's pets (lazy, backref pet_handler) */
    HandlerProfile *profile; /* one-to-one (uselist=False), backref handler */
};

/* class PetCategory(db.Model): table "petcategory" -- a pet */
struct PetCategory {
    ph_obj _ph;
    int64_t pet_id;
    const char *pet_name;          /* String(100), NOT NULL */
    const char *pet_category;      /* String(50), NOT NULL: the kind of pet */
    int64_t handler_id;      /* -> pethandler.handler_id, NOT NULL */
    PetHandler *pet_handler; /* many-to-one, backref of PetHandler.pet_category */
    ph_list comments;        /* PetComment *: cascade delete, delete-orphan */
    ph_list tags;            /* Tag *: many-to-many through pet_tag */
};

/* class PetComment(db.Model): table "petcomment" */
struct PetComment {
    ph_obj _ph;
    int64_t comment_id;
    const char *comment_content; /* String(200), NOT NULL */
    int64_t pet_id;        /* -> petcategory.pet_id, NOT NULL */
    PetCategory *pet;      /* many-to-one, backref of PetCategory.comments */
};

/* One-to-one: a handler's contact card, kept apart from the peer's table so
 * the Flask database keeps its exact columns.  Table "handlerprofile". */
struct HandlerProfile {
    ph_obj _ph;
    int64_t profile_id;
    int64_t handler_id;  /* -> pethandler.handler_id, NOT NULL, UNIQUE */
    const char *bio;           /* String(500) */
    const char *phone;         /* String(30) */
    PetHandler *handler; /* many-to-one side of PetHandler.profile */
};

/* Many-to-many: free labels on pets ("senior", "needs meds") that many pets
 * share.  Table "tag"; pets <-> tags through the association table pet_tag. */
struct Tag {
    ph_obj _ph;
    int64_t tag_id;
    const char *tag_name; /* String(50), NOT NULL, UNIQUE */
    ph_list pets;   /* PetCategory * */
};

/* The association table pet_tag (pet_id, tag_id): both columns are its
 * primary key.  Rows are written through PetCategory.tags / Tag.pets. */
typedef struct PetTag {
    ph_obj _ph;
    int64_t pet_id; /* -> petcategory.pet_id */
    int64_t tag_id; /* -> tag.tag_id */
} PetTag;

PH_MODEL_EXTERN(User);
PH_MODEL_EXTERN(Contact);
PH_MODEL_EXTERN(World);
PH_MODEL_EXTERN(Fortune);
PH_MODEL_EXTERN(PetHandler);
PH_MODEL_EXTERN(PetCategory);
PH_MODEL_EXTERN(PetComment);
PH_MODEL_EXTERN(HandlerProfile);
PH_MODEL_EXTERN(Tag);
PH_MODEL_EXTERN(PetTag);

/* Every model of the app, parents before children (create_all sorts anyway). */
extern const ph_model *const app_models[];
extern const size_t app_nmodels;

#endif
