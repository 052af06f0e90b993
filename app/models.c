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

static const ph_column Contact_columns[] = {
    PH_INTEGER(Contact, id, PH_PK),
    PH_STRING(Contact, name, 100, PH_NOT_NULL),
    PH_STRING(Contact, email, 120, PH_NOT_NULL),
    PH_STRING(Contact, message, 2000, PH_NOT_NULL),
};
const ph_model Contact_model = PH_MODEL(Contact, "contact", Contact_columns);

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

/* ---- the pet management system ------------------------------------------------------- */

static const ph_column PetHandler_columns[] = {
    PH_INTEGER(PetHandler, handler_id, PH_PK),
    PH_STRING(PetHandler, handler_name, 150, PH_NOT_NULL),
};
static const ph_relationship PetHandler_rels[] = {
    /* db.relationship('PetCategory', backref='pet_handler', lazy=True) */
    PH_ONE_TO_MANY(PetHandler, pet_category, PetCategory, "handler_id", .backref = "pet_handler"),
    PH_ONE_TO_ONE(PetHandler, profile, HandlerProfile, "handler_id", .backref = "handler"),
};
const ph_model PetHandler_model =
    PH_MODEL_RELS(PetHandler, "pethandler", PetHandler_columns, PetHandler_rels);

static const ph_column PetCategory_columns[] = {
    PH_INTEGER(PetCategory, pet_id, PH_PK),
    PH_STRING(PetCategory, pet_name, 100, PH_NOT_NULL),
    PH_STRING(PetCategory, pet_category, 50, PH_NOT_NULL),
    PH_INTEGER(PetCategory, handler_id, PH_NOT_NULL, .foreign_key = "pethandler.handler_id"),
};
static const ph_relationship PetCategory_rels[] = {
    PH_MANY_TO_ONE(PetCategory, pet_handler, PetHandler, "handler_id", .backref = "pet_category"),
    PH_ONE_TO_MANY(PetCategory, comments, PetComment, "pet_id", .backref = "pet",
                   .cascade = PH_CASCADE_DELETE | PH_CASCADE_DELETE_ORPHAN),
    PH_MANY_TO_MANY(PetCategory, tags, Tag, "pet_tag", "pet_id", "tag_id", .backref = "pets"),
};
const ph_model PetCategory_model =
    PH_MODEL_RELS(PetCategory, "petcategory", PetCategory_columns, PetCategory_rels);

static const ph_column PetComment_columns[] = {
    PH_INTEGER(PetComment, comment_id, PH_PK),
    PH_STRING(PetComment, comment_content, 200, PH_NOT_NULL),
    PH_INTEGER(PetComment, pet_id, PH_NOT_NULL, .foreign_key = "petcategory.pet_id"),
};
static const ph_relationship PetComment_rels[] = {
    PH_MANY_TO_ONE(PetComment, pet, PetCategory, "pet_id", .backref = "comments"),
};
const ph_model PetComment_model =
    PH_MODEL_RELS(PetComment, "petcomment", PetComment_columns, PetComment_rels);

static const ph_column HandlerProfile_columns[] = {
    PH_INTEGER(HandlerProfile, profile_id, PH_PK),
    PH_INTEGER(HandlerProfile, handler_id, PH_NOT_NULL | PH_UNIQUE,
               .foreign_key = "pethandler.handler_id"),
    PH_STRING(HandlerProfile, bio, 500, 0),
    PH_STRING(HandlerProfile, phone, 30, 0),
};
static const ph_relationship HandlerProfile_rels[] = {
    PH_MANY_TO_ONE(HandlerProfile, handler, PetHandler, "handler_id", .backref = "profile"),
};
const ph_model HandlerProfile_model =
    PH_MODEL_RELS(HandlerProfile, "handlerprofile", HandlerProfile_columns, HandlerProfile_rels);

static const ph_column Tag_columns[] = {
    PH_INTEGER(Tag, tag_id, PH_PK),
    PH_STRING(Tag, tag_name, 50, PH_NOT_NULL | PH_UNIQUE),
};
static const ph_relationship Tag_rels[] = {
    PH_MANY_TO_MANY(Tag, pets, PetCategory, "pet_tag", "tag_id", "pet_id", .backref = "tags"),
};
const ph_model Tag_model = PH_MODEL_RELS(Tag, "tag", Tag_columns, Tag_rels);

static const ph_column PetTag_columns[] = {
    PH_INTEGER(PetTag, pet_id, PH_PK, .foreign_key = "petcategory.pet_id"),
    PH_INTEGER(PetTag, tag_id, PH_PK, .foreign_key = "tag.tag_id"),
};
const ph_model PetTag_model = PH_MODEL(PetTag, "pet_tag", PetTag_columns);

const ph_model *const app_models[] = {
    &User_model,       &World_model,          &Fortune_model, &PetHandler_model, &PetCategory_model,
    &PetComment_model, &HandlerProfile_model, &Tag_model,     &PetTag_model,     &Contact_model};
const size_t app_nmodels = PH_COUNTOF(app_models);
