/*
 * Tests of relationships on SQLite and PostgreSQL, with the pet management
 * models of app/models.c: one-to-many with backref, one-to-one,
 * many-to-many; lazy loading (identity-map hits for many-to-one), selectin
 * and joined eager loading giving the lazy results, raise mode, query
 * counts (51 lazy vs 2 selectin), the N+1 warning in debug mode; the unit
 * of work across relationships (save-update, delete, delete-orphan, NULLed
 * or refused orphans, association rows), failures that leave nothing
 * written; descriptor checks; and a database written by Flask-SQLAlchemy
 * read with its relationships navigable.
 */
#include "fixture.h"
#include "test.h"

#include "../../app/models.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* A nullable foreign key without delete cascade: orphans get NULL. */
typedef struct Team Team;
typedef struct Member Member;
struct Team {
    ph_obj _ph;
    int64_t id;
    const char *name;
    ph_list members;
};
struct Member {
    ph_obj _ph;
    int64_t id;
    const char *name;
    ph_int64_opt team_id;
    Team *team;
};
PH_MODEL_EXTERN(Team);
PH_MODEL_EXTERN(Member);

static const ph_column Team_columns[] = {
    PH_INTEGER(Team, id, PH_PK),
    PH_STRING(Team, name, 50, PH_NOT_NULL),
};
static const ph_relationship Team_rels[] = {
    PH_ONE_TO_MANY(Team, members, Member, "team_id", .backref = "team"),
};
const ph_model Team_model = PH_MODEL_RELS(Team, "team", Team_columns, Team_rels);

static const ph_column Member_columns[] = {
    PH_INTEGER(Member, id, PH_PK),
    PH_STRING(Member, name, 50, PH_NOT_NULL),
    PH_INTEGER(Member, team_id, 0, .foreign_key = "team.id"),
};
static const ph_relationship Member_rels[] = {
    PH_MANY_TO_ONE(Member, team, Team, "team_id", .backref = "members"),
};
const ph_model Member_model = PH_MODEL_RELS(Member, "member", Member_columns, Member_rels);

/* The same table with its list loaded eagerly by default (lazy="selectin"). */
static const ph_relationship TeamEager_rels[] = {
    PH_ONE_TO_MANY(Team, members, Member, "team_id", .backref = "team", .lazy = PH_LAZY_SELECTIN),
};
static const ph_model TeamEager_model = PH_MODEL_RELS(Team, "team", Team_columns, TeamEager_rels);

/* Both sides eager by default: loads chain, and end. */
static const ph_model *team2_ref(void);
static const ph_model *member2_ref(void);
static const ph_relationship Team2_rels[] = {
    {.name = "members",
     .kind = PH_REL_ONE_TO_MANY,
     .offset = offsetof(Team, members),
     .target = member2_ref,
     .remote_column = "team_id",
     .lazy = PH_LAZY_SELECTIN},
};
static const ph_model Team2_model = PH_MODEL_RELS(Team, "team", Team_columns, Team2_rels);
static const ph_relationship Member2_rels[] = {
    {.name = "team",
     .kind = PH_REL_MANY_TO_ONE,
     .offset = offsetof(Member, team),
     .target = team2_ref,
     .local_column = "team_id",
     .lazy = PH_LAZY_JOINED},
};
static const ph_model Member2_model = PH_MODEL_RELS(Member, "member", Member_columns, Member2_rels);
static const ph_model *team2_ref(void)
{
    return &Team2_model;
}
static const ph_model *member2_ref(void)
{
    return &Member2_model;
}

static const ph_model *const rel_models[] = {
    &PetHandler_model, &PetCategory_model, &PetComment_model, &HandlerProfile_model,
    &Tag_model,        &PetTag_model,      &Team_model,       &Member_model};

static fx F;

static int open_db(ph_dialect d)
{
    int rc = fx_open(&F, d, false);
    if (rc)
        return rc;
    if (ph_orm_drop_all(F.c, rel_models, PH_COUNTOF(rel_models)) != 0 ||
        ph_orm_create_all(F.c, rel_models, PH_COUNTOF(rel_models)) != 0) {
        fprintf(stderr, "open_db: %s\n", ph_db_errmsg(F.c));
        fx_close(&F);
        return -1;
    }
    return 0;
}

static void close_db(void)
{
    ph_arena_free(F.a); /* the session first: it may hold a transaction */
    F.a = NULL;
    ph_orm_drop_all(F.c, rel_models, PH_COUNTOF(rel_models));
    fx_close(&F);
}

#define RUN_ON(d, fn)                                                                              \
    do {                                                                                           \
        int fx_rc_ = open_db(d);                                                                   \
        if (fx_rc_ == 1) {                                                                         \
            SKIP(fn, "PHIAL_TEST_PG_URL is not set");                                              \
        } else if (fx_rc_ < 0) {                                                                   \
            ph_t_failed++;                                                                         \
            printf("FAIL %s (cannot open the database)\n", #fn);                                   \
        } else {                                                                                   \
            RUN(fn);                                                                               \
            close_db();                                                                            \
        }                                                                                          \
    } while (0)

static PetHandler *new_handler(const char *name)
{
    PetHandler *h = PH_ARENA_NEW(F.a, PetHandler);
    h->handler_name = ph_arena_strdup(F.a, name);
    return h;
}

static PetCategory *new_pet(const char *name, const char *kind)
{
    PetCategory *p = PH_ARENA_NEW(F.a, PetCategory);
    p->pet_name = ph_arena_strdup(F.a, name);
    p->pet_category = ph_arena_strdup(F.a, kind);
    return p;
}

static PetComment *new_comment(const char *text)
{
    PetComment *c = PH_ARENA_NEW(F.a, PetComment);
    c->comment_content = ph_arena_strdup(F.a, text);
    return c;
}

static Tag *new_tag(const char *name)
{
    Tag *t = PH_ARENA_NEW(F.a, Tag);
    t->tag_name = ph_arena_strdup(F.a, name);
    return t;
}

static int64_t count_where(const char *sql, int64_t v)
{
    int64_t n = -1;
    ph_val p = PH_INT(v);
    if (ph_db_query_int(F.c, sql, &p, 1, &n) != 0)
        n = -1;
    return n;
}

/* A handler "ann" with pets rex and tom, committed; returns its id. */
static int64_t seed_handler(void)
{
    PetHandler *h = new_handler("ann");
    CHECK_INT(ph_session_add(F.s, &PetHandler_model, h), 0);
    CHECK_INT(ph_list_append(F.s, h, "pet_category", new_pet("rex", "dog")), 0);
    CHECK_INT(ph_list_append(F.s, h, "pet_category", new_pet("tom", "cat")), 0);
    CHECK_INT(ph_session_commit(F.s), 0);
    return h->handler_id;
}

/* ---- descriptors ----------------------------------------------------------------- */

static const ph_relationship BadBackref_rels[] = {
    PH_ONE_TO_MANY(Team, members, Member, "team_id", .backref = "nope"),
};
static const ph_model BadBackref_model = PH_MODEL_RELS(Team, "team", Team_columns, BadBackref_rels);
static const ph_relationship BadColumn_rels[] = {
    PH_ONE_TO_MANY(Team, members, Member, "name"),
};
static const ph_model BadColumn_model = PH_MODEL_RELS(Team, "team", Team_columns, BadColumn_rels);
static const ph_relationship BadInverse_rels[] = {
    PH_ONE_TO_MANY(PetCategory, comments, PetComment, "pet_id", .backref = "pet_handler"),
};
static const ph_model BadInverse_model = PH_MODEL_RELS(Team, "team", Team_columns, BadColumn_rels);

static void test_descriptors_checked(void)
{
    char err[300];
    for (size_t i = 0; i < PH_COUNTOF(rel_models); i++) {
        int rc = ph_model_check(rel_models[i], err, sizeof(err));
        CHECK_INT(rc, 0);
        if (rc)
            fprintf(stderr, "  %s\n", err);
    }
    CHECK_INT(ph_model_check(&BadBackref_model, err, sizeof(err)), PH_EINVAL);
    CHECK_CONTAINS(err, "Team.members: backref nope is not a relationship of the target");
    CHECK_INT(ph_model_check(&BadColumn_model, err, sizeof(err)), PH_EINVAL);
    CHECK_CONTAINS(err, "Member.name must be a column with a foreign key");
    (void)BadInverse_model;
    (void)BadInverse_rels;
    /* the many-to-many's association table: a composite key, no session use */
    CHECK_INT(ph_model_npk(&PetTag_model), 2);
    PetTag *pt = PH_ARENA_NEW(F.a, PetTag);
    CHECK_INT(ph_session_add(F.s, &PetTag_model, pt), PH_EMISUSE);
    const ph_relationship *r = ph_model_relationship(&PetHandler_model, "pet_category");
    CHECK(r && r->kind == PH_REL_ONE_TO_MANY && r->target() == &PetCategory_model);
    CHECK(r && r->lazy == PH_LAZY_SELECT && strcmp(r->backref, "pet_handler") == 0);
}

/* ---- one-to-many ------------------------------------------------------------------ */

static void test_one_to_many_save_update(void)
{
    PetHandler *h = new_handler("ann");
    PetCategory *rex = new_pet("rex", "dog"), *tom = new_pet("tom", "cat");
    CHECK_INT(ph_session_add(F.s, &PetHandler_model, h), 0);
    CHECK_INT(ph_list_append(F.s, h, "pet_category", rex), 0);
    CHECK_INT(ph_list_append(F.s, h, "pet_category", tom), 0);
    CHECK_INT(ph_list_append(F.s, h, "pet_category", tom), 0); /* again: no-op */
    CHECK_INT(h->pet_category.len, 2);
    CHECK(rex->pet_handler == h && tom->pet_handler == h); /* backref synced */
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK(h->handler_id > 0);
    CHECK(rex->pet_id > 0 && tom->pet_id > 0);
    CHECK_INT(rex->handler_id, h->handler_id);
    CHECK_INT(tom->handler_id, h->handler_id);
    CHECK_INT(count_where("SELECT count(*) FROM petcategory WHERE handler_id = ?", h->handler_id),
              2);
    /* a transient child put straight into a list: the save-update cascade */
    PetCategory *kit = new_pet("kit", "cat");
    CHECK_INT(ph_list_append(F.s, h, "pet_category", kit), 0);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(kit->handler_id, h->handler_id);
    CHECK_INT(fx_count(&F, "petcategory"), 3);
}

static void test_lazy_load_backref_identity_map(void)
{
    int64_t id = seed_handler();
    fx_new_session(&F);
    PetHandler *h;
    CHECK_INT(ph_session_get(F.s, &PetHandler_model, id, &h), 0);
    CHECK(!h->pet_category.loaded && h->pet_category.len == 0);
    uint64_t q0 = ph_session_query_count(F.s);
    CHECK_INT(ph_session_load(F.s, h, "pet_category"), 0);
    CHECK_INT(ph_session_query_count(F.s) - q0, 1);
    CHECK(h->pet_category.loaded);
    CHECK_INT(h->pet_category.len, 2);
    PetCategory *p0 = h->pet_category.items[0], *p1 = h->pet_category.items[1];
    CHECK_STR(p0->pet_name, "rex");
    CHECK_STR(p1->pet_name, "tom");
    /* loaded again: nothing to do; the backref pointer is already there */
    CHECK_INT(ph_session_load(F.s, h, "pet_category"), 0);
    CHECK_INT(ph_session_load(F.s, p0, "pet_handler"), 0);
    CHECK(p0->pet_handler == h);
    CHECK_INT(ph_session_query_count(F.s) - q0, 1);
    CHECK_INT(ph_session_load(F.s, h, "nope"), PH_EUNDEFINED);

    /* many-to-one from the child side: the identity map first */
    fx_new_session(&F);
    PetCategory **pets;
    size_t n;
    q0 = ph_session_query_count(F.s);
    CHECK_INT(
        ph_query_all(ph_query_order_by(ph_query_new(F.s, &PetCategory_model), "pet_id", PH_ASC),
                     &pets, &n),
        0);
    CHECK_INT(n, 2);
    CHECK_INT(ph_session_load(F.s, pets[0], "pet_handler"), 0);
    CHECK_INT(ph_session_query_count(F.s) - q0, 2); /* the query and one load */
    CHECK(pets[0]->pet_handler && pets[0]->pet_handler->handler_id == id);
    CHECK_INT(ph_session_load(F.s, pets[1], "pet_handler"), 0);
    CHECK_INT(ph_session_query_count(F.s) - q0, 2); /* found in the identity map */
    CHECK(pets[1]->pet_handler == pets[0]->pet_handler);
    /* and get() of a loaded handler runs nothing */
    PetHandler *same;
    CHECK_INT(ph_session_get(F.s, &PetHandler_model, id, &same), 0);
    CHECK(same == pets[0]->pet_handler);
    CHECK_INT(ph_session_query_count(F.s) - q0, 2);
}

static void test_many_to_one_pointer_sets_fk(void)
{
    int64_t id = seed_handler();
    fx_new_session(&F);
    PetCategory *rex;
    CHECK_INT(ph_query_first(ph_query_filter_by(ph_query_new(F.s, &PetCategory_model), "pet_name",
                                                PH_STR("rex")),
                             &rex),
              0);
    if (!rex)
        return;
    PetHandler *bob = new_handler("bob"); /* new: inserted first, key given to rex */
    rex->pet_handler = bob;
    CHECK(ph_session_is_dirty(F.s, rex)); /* its relationship changed */
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK(bob->handler_id > id);
    CHECK_INT(rex->handler_id, bob->handler_id);
    CHECK_INT(count_where("SELECT count(*) FROM petcategory WHERE handler_id = ?", bob->handler_id),
              1);
    /* to an existing parent */
    fx_new_session(&F);
    PetHandler *ann;
    CHECK_INT(ph_session_get(F.s, &PetHandler_model, id, &ann), 0);
    CHECK_INT(ph_query_first(ph_query_filter_by(ph_query_new(F.s, &PetCategory_model), "pet_name",
                                                PH_STR("rex")),
                             &rex),
              0);
    rex->pet_handler = ann;
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(count_where("SELECT count(*) FROM petcategory WHERE handler_id = ?", id), 2);
}

static void test_move_child_between_parents(void)
{
    int64_t id = seed_handler();
    fx_new_session(&F);
    PetHandler *ann, *bob = new_handler("bob");
    CHECK_INT(ph_session_get(F.s, &PetHandler_model, id, &ann), 0);
    CHECK_INT(ph_session_add(F.s, &PetHandler_model, bob), 0);
    CHECK_INT(ph_session_load(F.s, ann, "pet_category"), 0);
    PetCategory *rex = ann->pet_category.items[0];
    CHECK_INT(ph_list_append(F.s, bob, "pet_category", rex), 0);
    CHECK_INT(ann->pet_category.len, 1); /* it left ann's loaded list */
    CHECK(rex->pet_handler == bob);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(rex->handler_id, bob->handler_id);
    CHECK_INT(count_where("SELECT count(*) FROM petcategory WHERE handler_id = ?", id), 1);
}

/* ---- one-to-one -------------------------------------------------------------------- */

static void test_one_to_one(void)
{
    int64_t id = seed_handler();
    fx_new_session(&F);
    PetHandler *h;
    CHECK_INT(ph_session_get(F.s, &PetHandler_model, id, &h), 0);
    HandlerProfile *p = PH_ARENA_NEW(F.a, HandlerProfile);
    p->bio = "Walks dogs since 2009";
    h->profile = p; /* plain assignment; the profile joins by save-update */
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK(p->profile_id > 0);
    CHECK_INT(p->handler_id, id);
    fx_new_session(&F);
    CHECK_INT(ph_session_get(F.s, &PetHandler_model, id, &h), 0);
    uint64_t q0 = ph_session_query_count(F.s);
    CHECK_INT(ph_session_load(F.s, h, "profile"), 0);
    CHECK(h->profile != NULL);
    CHECK_STR(h->profile ? h->profile->bio : NULL, "Walks dogs since 2009");
    CHECK(h->profile && h->profile->phone == NULL);
    CHECK(h->profile && h->profile->handler == h); /* backref filled by the load */
    CHECK_INT(ph_session_query_count(F.s) - q0, 1);
    /* a second profile for the same handler: UNIQUE refuses it */
    HandlerProfile *dup = PH_ARENA_NEW(F.a, HandlerProfile);
    dup->handler = h;
    CHECK_INT(ph_session_add(F.s, &HandlerProfile_model, dup), 0);
    CHECK_INT(ph_session_commit(F.s), PH_ECONSTRAINT);
    CHECK_INT(fx_count(&F, "handlerprofile"), 1);
}

/* ---- many-to-many ------------------------------------------------------------------ */

static void test_many_to_many(void)
{
    int64_t id = seed_handler();
    fx_new_session(&F);
    PetHandler *h;
    CHECK_INT(ph_session_get(F.s, &PetHandler_model, id, &h), 0);
    CHECK_INT(ph_session_load(F.s, h, "pet_category"), 0);
    PetCategory *rex = h->pet_category.items[0], *tom = h->pet_category.items[1];
    Tag *senior = new_tag("senior"), *meds = new_tag("needs meds");
    CHECK_INT(ph_list_append(F.s, rex, "tags", senior), 0);
    CHECK_INT(ph_list_append(F.s, rex, "tags", meds), 0);
    CHECK_INT(ph_list_append(F.s, tom, "tags", senior), 0);
    CHECK_INT(senior->pets.len, 2); /* backref synced: senior is new, its list is known */
    CHECK(senior->pets.items[0] == rex && senior->pets.items[1] == tom);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(fx_count(&F, "pet_tag"), 3);
    CHECK_INT(count_where("SELECT count(*) FROM pet_tag WHERE tag_id = ?", senior->tag_id), 2);
    int64_t rex_id = rex->pet_id;

    fx_new_session(&F);
    PetCategory *r2;
    CHECK_INT(ph_session_get(F.s, &PetCategory_model, rex_id, &r2), 0);
    CHECK_INT(ph_session_load(F.s, r2, "tags"), 0);
    CHECK_INT(r2->tags.len, 2);
    Tag *t0 = r2->tags.items[0];
    CHECK_STR(t0->tag_name, "senior");
    CHECK_INT(ph_session_load(F.s, t0, "pets"), 0);
    CHECK_INT(t0->pets.len, 2);
    CHECK(t0->pets.items[0] == r2);
    /* remove from one side: the row goes, the other side follows in memory */
    CHECK_INT(ph_list_remove(F.s, r2, "tags", t0), 0);
    CHECK_INT(t0->pets.len, 1);
    CHECK_INT(ph_list_remove(F.s, r2, "tags", t0), PH_ENOTFOUND);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(fx_count(&F, "pet_tag"), 2);
    CHECK_INT(count_where("SELECT count(*) FROM pet_tag WHERE pet_id = ?", rex_id), 1);
    /* from the other side, with both lists loaded: one row */
    CHECK_INT(ph_list_append(F.s, t0, "pets", r2), 0);
    CHECK_INT(r2->tags.len, 2);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(fx_count(&F, "pet_tag"), 3);
}

/* ---- cascades ---------------------------------------------------------------------- */

static void test_cascade_delete_and_orphan(void)
{
    int64_t id = seed_handler();
    fx_new_session(&F);
    PetHandler *h;
    CHECK_INT(ph_session_get(F.s, &PetHandler_model, id, &h), 0);
    CHECK_INT(ph_session_load(F.s, h, "pet_category"), 0);
    PetCategory *rex = h->pet_category.items[0];
    PetComment *c1 = new_comment("good boy"), *c2 = new_comment("ate a sock"),
               *c3 = new_comment("vet on friday");
    CHECK_INT(ph_list_append(F.s, rex, "comments", c1), 0);
    CHECK_INT(ph_list_append(F.s, rex, "comments", c2), 0);
    CHECK_INT(ph_list_append(F.s, rex, "comments", c3), 0);
    CHECK(c1->pet == rex);
    Tag *t = new_tag("loud");
    CHECK_INT(ph_list_append(F.s, rex, "tags", t), 0);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(fx_count(&F, "petcomment"), 3);
    CHECK_INT(c2->pet_id, rex->pet_id);

    /* delete-orphan: removed from the collection, the comment is deleted */
    CHECK_INT(ph_list_remove(F.s, rex, "comments", c2), 0);
    CHECK(c2->pet == NULL);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(fx_count(&F, "petcomment"), 2);

    /* delete: the pet's comments go with it (loaded first), and its tag rows */
    int64_t rex_id = rex->pet_id;
    fx_new_session(&F);
    PetCategory *p;
    CHECK_INT(ph_session_get(F.s, &PetCategory_model, rex_id, &p), 0);
    CHECK_INT(ph_session_delete(F.s, p), 0);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(fx_count(&F, "petcomment"), 0);
    CHECK_INT(fx_count(&F, "pet_tag"), 0);
    CHECK_INT(fx_count(&F, "tag"), 1); /* many-to-many: the tag itself stays */
    CHECK_INT(fx_count(&F, "petcategory"), 1);
}

static void test_delete_parent_not_null_refused(void)
{
    int64_t id = seed_handler();
    fx_new_session(&F);
    PetHandler *h;
    CHECK_INT(ph_session_get(F.s, &PetHandler_model, id, &h), 0);
    CHECK_INT(ph_session_delete(F.s, h), 0);
    CHECK_INT(ph_session_commit(F.s), PH_ECONSTRAINT);
    CHECK_CONTAINS(ph_session_errmsg(F.s), "petcategory.handler_id is NOT NULL");
    CHECK_CONTAINS(ph_session_errmsg(F.s), "PetHandler.pet_category");
    CHECK_INT(fx_count(&F, "pethandler"), 1);
    CHECK_INT(fx_count(&F, "petcategory"), 2);
    CHECK(!ph_db_in_transaction(F.c));
    /* removing a pet from the list (no delete-orphan, NOT NULL key): refused too */
    fx_new_session(&F);
    CHECK_INT(ph_session_get(F.s, &PetHandler_model, id, &h), 0);
    CHECK_INT(ph_session_load(F.s, h, "pet_category"), 0);
    CHECK_INT(ph_list_remove(F.s, h, "pet_category", h->pet_category.items[0]), 0);
    CHECK_INT(ph_session_commit(F.s), PH_ECONSTRAINT);
    CHECK_INT(h->pet_category.len, 2); /* the rollback gave the list back */
    CHECK_INT(fx_count(&F, "petcategory"), 2);
}

static void test_delete_parent_nullable_sets_null(void)
{
    Team *t = PH_ARENA_NEW(F.a, Team);
    t->name = "red";
    Member *a = PH_ARENA_NEW(F.a, Member), *b = PH_ARENA_NEW(F.a, Member);
    a->name = "a";
    b->name = "b";
    CHECK_INT(ph_session_add(F.s, &Team_model, t), 0);
    CHECK_INT(ph_list_append(F.s, t, "members", a), 0);
    CHECK_INT(ph_list_append(F.s, t, "members", b), 0);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK(a->team_id.set && a->team_id.v == t->id);
    /* removed from the list: NULL */
    CHECK_INT(ph_list_remove(F.s, t, "members", a), 0);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK(!a->team_id.set);
    CHECK_INT(count_where("SELECT count(*) FROM member WHERE team_id = ?", t->id), 1);
    /* the parent deleted: its children stay, with NULL */
    int64_t tid = t->id;
    fx_new_session(&F);
    Team *t2;
    CHECK_INT(ph_session_get(F.s, &Team_model, tid, &t2), 0);
    CHECK_INT(ph_session_delete(F.s, t2), 0);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(fx_count(&F, "team"), 0);
    CHECK_INT(fx_count(&F, "member"), 2);
    int64_t nulls = -1;
    CHECK_INT(
        ph_db_query_int(F.c, "SELECT count(*) FROM member WHERE team_id IS NULL", NULL, 0, &nulls),
        0);
    CHECK_INT(nulls, 2);
}

static void test_descriptor_default_eager(void)
{
    Team *t = PH_ARENA_NEW(F.a, Team);
    t->name = "blue";
    CHECK_INT(ph_session_add(F.s, &Team_model, t), 0);
    for (int i = 0; i < 3; i++) {
        Member *m = PH_ARENA_NEW(F.a, Member);
        m->name = "m";
        CHECK_INT(ph_list_append(F.s, t, "members", m), 0);
    }
    CHECK_INT(ph_session_commit(F.s), 0);
    fx_new_session(&F);
    Team **ts;
    size_t n;
    CHECK_INT(ph_query_all(ph_query_new(F.s, &TeamEager_model), &ts, &n), 0);
    CHECK_INT(n, 1);
    CHECK_INT(ph_session_query_count(F.s), 2);
    CHECK(n && ts[0]->members.loaded && ts[0]->members.len == 3);
    /* the query overrides the descriptor */
    fx_new_session(&F);
    ph_query *q = ph_query_new(F.s, &TeamEager_model);
    CHECK_INT(ph_query_all(ph_query_options(q, "members", PH_LAZY_SELECT), &ts, &n), 0);
    CHECK_INT(ph_session_query_count(F.s), 1);
    CHECK(n && !ts[0]->members.loaded);
    /* chained: members join their team, whose members load by selectin */
    fx_new_session(&F);
    Member **ms;
    CHECK_INT(ph_query_all(ph_query_new(F.s, &Member2_model), &ms, &n), 0);
    CHECK_INT(n, 3);
    CHECK_INT(ph_session_query_count(F.s), 2);
    CHECK(n && ms[0]->team && ms[0]->team == ms[2]->team);
    CHECK(n && ms[0]->team && ms[0]->team->members.loaded && ms[0]->team->members.len == 3);
    CHECK(n && ms[0]->team && ms[0]->team->members.items[0] == ms[0]);
}

/* ---- failures ---------------------------------------------------------------------- */

static void test_fk_violation_writes_nothing(void)
{
    PetCategory *p = new_pet("ghost", "cat");
    p->handler_id = 999; /* no such handler */
    CHECK_INT(ph_session_add(F.s, &PetCategory_model, p), 0);
    CHECK_INT(ph_session_commit(F.s), PH_ECONSTRAINT);
    CHECK_INT(p->pet_id, 0);
    CHECK_INT(fx_count(&F, "petcategory"), 0);
    CHECK(!ph_db_in_transaction(F.c));
}

static void test_failed_commit_parent_children(void)
{
    seed_handler(); /* ann, with a profile below */
    fx_new_session(&F);
    PetHandler *ann;
    CHECK_INT(ph_query_first(ph_query_new(F.s, &PetHandler_model), &ann), 0);
    HandlerProfile *p = PH_ARENA_NEW(F.a, HandlerProfile);
    ann->profile = p;
    CHECK_INT(ph_session_commit(F.s), 0);
    /* a new handler with two pets, and a profile that steals ann's (UNIQUE):
       the handler and the pets are inserted, then the profile fails */
    PetHandler *h = new_handler("zed");
    CHECK_INT(ph_session_add(F.s, &PetHandler_model, h), 0);
    PetCategory *a = new_pet("a", "dog"), *b = new_pet("b", "dog");
    CHECK_INT(ph_list_append(F.s, h, "pet_category", a), 0);
    CHECK_INT(ph_list_append(F.s, h, "pet_category", b), 0);
    HandlerProfile *dup = PH_ARENA_NEW(F.a, HandlerProfile);
    dup->handler = ann;
    CHECK_INT(ph_session_add(F.s, &HandlerProfile_model, dup), 0);
    uint64_t q0 = ph_session_query_count(F.s);
    CHECK_INT(ph_session_commit(F.s), PH_ECONSTRAINT);
    CHECK(ph_session_query_count(F.s) - q0 >= 2); /* something was sent, then undone */
    CHECK_INT(fx_count(&F, "pethandler"), 1);
    CHECK_INT(fx_count(&F, "petcategory"), 2);
    CHECK_INT(fx_count(&F, "handlerprofile"), 1);
    CHECK_INT(h->handler_id, 0); /* keys reset by the rollback */
    CHECK_INT(a->pet_id, 0);
}

/* ---- loading strategies and query counts -------------------------------------------- */

/* 50 handlers with 2 pets each. */
static void seed_50(void)
{
    char name[32];
    for (int i = 0; i < 50; i++) {
        snprintf(name, sizeof(name), "h%02d", i);
        PetHandler *h = new_handler(name);
        ph_session_add(F.s, &PetHandler_model, h);
        for (int k = 0; k < 2; k++) {
            snprintf(name, sizeof(name), "p%02d-%d", i, k);
            ph_list_append(F.s, h, "pet_category", new_pet(name, k ? "cat" : "dog"));
        }
    }
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(fx_count(&F, "petcategory"), 100);
}

/* "h00:p00-0,p00-1;h01:..." for the handlers and their loaded pets. */
static void describe(PetHandler **hs, size_t n, ph_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        ph_buf_printf(out, "%s:", hs[i]->handler_name);
        for (size_t k = 0; k < hs[i]->pet_category.len; k++) {
            PetCategory *p = hs[i]->pet_category.items[k];
            ph_buf_printf(out, "%s%s", k ? "," : "", p->pet_name);
            if (p->pet_handler != hs[i])
                ph_buf_puts(out, "(bad backref)");
        }
        ph_buf_putc(out, ';');
    }
}

static void list_handlers(ph_lazy how, ph_buf *out, uint64_t *queries)
{
    fx_new_session(&F);
    uint64_t q0 = ph_session_query_count(F.s);
    ph_query *q = ph_query_order_by(ph_query_new(F.s, &PetHandler_model), "handler_name", PH_ASC);
    if (how != PH_LAZY_SELECT)
        ph_query_options(q, "pet_category", how);
    PetHandler **hs;
    size_t n;
    CHECK_INT(ph_query_all(q, &hs, &n), 0);
    CHECK_INT(n, 50);
    for (size_t i = 0; i < n; i++)
        CHECK_INT(ph_session_load(F.s, hs[i], "pet_category"), 0);
    *queries = ph_session_query_count(F.s) - q0;
    describe(hs, n, out);
}

static void test_lazy_selectin_joined_agree(void)
{
    seed_50();
    ph_buf lazy, sel, join; /* on the heap: each listing has a new session arena */
    ph_buf_init(&lazy, NULL);
    ph_buf_init(&sel, NULL);
    ph_buf_init(&join, NULL);
    uint64_t ql, qs, qj;
    list_handlers(PH_LAZY_SELECT, &lazy, &ql);
    list_handlers(PH_LAZY_SELECTIN, &sel, &qs);
    list_handlers(PH_LAZY_JOINED, &join, &qj);
    CHECK_INT(ql, 51);
    CHECK_INT(qs, 2);
    CHECK_INT(qj, 1);
    CHECK_CONTAINS(lazy.ptr, "h00:p00-0,p00-1;h01:p01-0,p01-1;");
    CHECK_CONTAINS(lazy.ptr, "h49:p49-0,p49-1;");
    CHECK_STR(sel.ptr, lazy.ptr);
    CHECK_STR(join.ptr, lazy.ptr);
    ph_buf_free(&lazy);
    ph_buf_free(&sel);
    ph_buf_free(&join);

    /* joined with a limit: the limit counts handlers, not rows */
    fx_new_session(&F);
    ph_query *q = ph_query_new(F.s, &PetHandler_model);
    ph_query_order_by(q, "handler_name", PH_DESC);
    ph_query_limit(ph_query_options(q, "pet_category", PH_LAZY_JOINED), 3);
    PetHandler **hs;
    size_t n;
    CHECK_INT(ph_query_all(q, &hs, &n), 0);
    CHECK_INT(n, 3);
    ph_buf lim;
    ph_buf_init(&lim, F.a);
    describe(hs, n, &lim);
    CHECK_STR(lim.ptr, "h49:p49-0,p49-1;h48:p48-0,p48-1;h47:p47-0,p47-1;");
    CHECK_INT(ph_session_query_count(F.s), 1);

    /* many-to-one the other way round, and many-to-many, eagerly */
    fx_new_session(&F);
    PetCategory **pets;
    q = ph_query_options(ph_query_new(F.s, &PetCategory_model), "pet_handler", PH_LAZY_SELECTIN);
    CHECK_INT(ph_query_all(ph_query_order_by(q, "pet_id", PH_ASC), &pets, &n), 0);
    CHECK_INT(n, 100);
    CHECK_INT(ph_session_query_count(F.s), 2);
    CHECK(pets[99]->pet_handler && strcmp(pets[99]->pet_handler->handler_name, "h49") == 0);
    CHECK(pets[0]->pet_handler == pets[1]->pet_handler);
    fx_new_session(&F);
    q = ph_query_options(ph_query_new(F.s, &PetCategory_model), "pet_handler", PH_LAZY_JOINED);
    CHECK_INT(ph_query_all(ph_query_order_by(q, "pet_id", PH_ASC), &pets, &n), 0);
    CHECK_INT(n, 100);
    CHECK_INT(ph_session_query_count(F.s), 1);
    CHECK(pets[99]->pet_handler && strcmp(pets[99]->pet_handler->handler_name, "h49") == 0);
    CHECK(pets[0]->pet_handler == pets[1]->pet_handler);
}

static void test_many_to_many_eager(void)
{
    int64_t id = seed_handler();
    fx_new_session(&F);
    PetHandler *h;
    CHECK_INT(ph_session_get(F.s, &PetHandler_model, id, &h), 0);
    CHECK_INT(ph_session_load(F.s, h, "pet_category"), 0);
    PetCategory *rex = h->pet_category.items[0], *tom = h->pet_category.items[1];
    Tag *a = new_tag("a"), *b = new_tag("b");
    ph_list_append(F.s, rex, "tags", a);
    ph_list_append(F.s, rex, "tags", b);
    ph_list_append(F.s, tom, "tags", b);
    CHECK_INT(ph_session_commit(F.s), 0);
    for (int how = PH_LAZY_SELECT; how <= PH_LAZY_JOINED; how++) {
        fx_new_session(&F);
        ph_query *q = ph_query_order_by(ph_query_new(F.s, &PetCategory_model), "pet_id", PH_ASC);
        ph_query_options(q, "tags", (ph_lazy)how);
        PetCategory **pets;
        size_t n;
        CHECK_INT(ph_query_all(q, &pets, &n), 0);
        CHECK_INT(n, 2);
        for (size_t i = 0; i < n; i++)
            CHECK_INT(ph_session_load(F.s, pets[i], "tags"), 0);
        CHECK_INT(ph_session_query_count(F.s), how == PH_LAZY_SELECT     ? 3
                                               : how == PH_LAZY_SELECTIN ? 2
                                                                         : 1);
        CHECK_INT(pets[0]->tags.len, 2);
        CHECK_INT(pets[1]->tags.len, 1);
        CHECK_STR(((Tag *)pets[0]->tags.items[1])->tag_name, "b");
        CHECK(pets[0]->tags.items[1] == pets[1]->tags.items[0]);
    }
}

static void test_raise_mode(void)
{
    int64_t id = seed_handler();
    fx_new_session(&F);
    PetHandler *h;
    ph_query *q = ph_query_new(F.s, &PetHandler_model);
    CHECK_INT(ph_query_first(ph_query_options(q, "pet_category", PH_LAZY_RAISE), &h), 0);
    CHECK_INT(ph_session_load(F.s, h, "pet_category"), PH_EMISUSE);
    CHECK_CONTAINS(ph_session_errmsg(F.s), "PetHandler.pet_category");
    CHECK_CONTAINS(ph_session_errmsg(F.s), "raise");
    const ph_relationship *r = ph_model_relationship(&PetHandler_model, "pet_category");
    CHECK_INT(ph_orm_load_relationship(F.s, &PetHandler_model, h, r), PH_EMISUSE);
    CHECK(!h->pet_category.loaded);
    /* the other relationship of the same row still loads */
    CHECK_INT(ph_session_load(F.s, h, "profile"), 0);
    /* eager loading is the way out */
    fx_new_session(&F);
    q = ph_query_options(ph_query_new(F.s, &PetHandler_model), "pet_category", PH_LAZY_SELECTIN);
    CHECK_INT(ph_query_first(q, &h), 0);
    CHECK(h && h->pet_category.loaded && h->pet_category.len == 2);
    CHECK(h && h->handler_id == id);
    CHECK_INT(ph_query_options(ph_query_new(F.s, &PetHandler_model), "nope", PH_LAZY_RAISE) != NULL,
              1);
}

static void test_load_relationship_callback(void)
{
    int64_t id = seed_handler();
    fx_new_session(&F);
    PetHandler *h;
    CHECK_INT(ph_session_get(F.s, &PetHandler_model, id, &h), 0);
    const ph_relationship *r = ph_model_relationship(&PetHandler_model, "pet_category");
    /* the template module's call: userdata is the session */
    int (*load)(void *, const ph_model *, void *, const ph_relationship *) =
        ph_orm_load_relationship;
    CHECK_INT(load(F.s, &PetHandler_model, h, r), 0);
    CHECK(h->pet_category.loaded && h->pet_category.len == 2);
    PetCategory *p = h->pet_category.items[0];
    const ph_relationship *back = ph_model_relationship(&PetCategory_model, "pet_handler");
    CHECK_INT(load(F.s, &PetCategory_model, p, back), 0);
    CHECK(p->pet_handler == h);
    CHECK_INT(load(F.s, &PetCategory_model, h, back), PH_EMISUSE); /* wrong model */
    CHECK_INT(ph_session_load_rel(F.s, h, back), PH_EMISUSE);      /* not h's */
    /* a transient object: nothing to load */
    PetHandler *t = new_handler("nobody");
    CHECK_INT(load(F.s, &PetHandler_model, t, r), 0);
}

/* Runs fn with fd 2 going to a temp file; returns what was written there. */
static char *capture_stderr(void (*fn)(bool), bool arg)
{
    char path[512];
    fx_temp_path(path, sizeof(path), "stderr.txt");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return NULL;
    int saved = dup(2);
    dup2(fd, 2);
    fn(arg);
    dup2(saved, 2);
    close(saved);
    off_t len = lseek(fd, 0, SEEK_END);
    char *out = calloc(1, (size_t)len + 1); /* the caller frees */
    if (out && len > 0 && pread(fd, out, (size_t)len, 0) != len)
        out[0] = '\0';
    close(fd);
    unlink(path);
    return out;
}

static void list_lazily(bool debug)
{
    fx_new_session(&F);
    ph_session_set_debug(F.s, debug, "GET /handlers");
    PetHandler **hs;
    size_t n;
    CHECK_INT(ph_query_all(ph_query_new(F.s, &PetHandler_model), &hs, &n), 0);
    for (size_t i = 0; i < n; i++)
        CHECK_INT(ph_session_load(F.s, hs[i], "pet_category"), 0);
}

static void test_n_plus_one_warning(void)
{
    seed_50();
    ph_log_level was = ph_log_get_level();
    ph_log_set_level(PH_LOG_INFO);
    char *on = capture_stderr(list_lazily, true);
    char *off = capture_stderr(list_lazily, false);
    ph_log_set_level(was);
    CHECK_CONTAINS(on, "PetHandler.pet_category");
    CHECK_CONTAINS(on, "GET /handlers");
    CHECK_CONTAINS(on, "N+1");
    /* once, not once per load */
    const char *first = on ? strstr(on, "N+1") : NULL;
    CHECK(first && !strstr(first + 1, "N+1"));
    CHECK(off && strstr(off, "N+1") == NULL);
    free(on);
    free(off);
}

static void test_rollback_restores_lists(void)
{
    int64_t id = seed_handler();
    fx_new_session(&F);
    PetHandler *h;
    CHECK_INT(ph_session_get(F.s, &PetHandler_model, id, &h), 0);
    CHECK_INT(ph_session_load(F.s, h, "pet_category"), 0);
    CHECK_INT(ph_list_append(F.s, h, "pet_category", new_pet("kit", "cat")), 0);
    CHECK_INT(h->pet_category.len, 3);
    ph_session_rollback(F.s);
    CHECK_INT(h->pet_category.len, 2);
    CHECK_INT(ph_session_commit(F.s), 0);
    CHECK_INT(fx_count(&F, "petcategory"), 2);
}

/* ---- a database written by Flask-SQLAlchemy ------------------------------------------ */

static void test_flask_database_navigable(void)
{
    char db[512], script[600];
    fx_temp_path(db, sizeof(db), "flask-pets.db");
    snprintf(script, sizeof(script), "%s.py", db);
    FILE *f = fopen(script, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fprintf(f, "import sys\n"
               "from flask import Flask\n"
               "from flask_sqlalchemy import SQLAlchemy\n"
               "app = Flask(__name__)\n"
               "app.config['SQLALCHEMY_DATABASE_URI'] = 'sqlite:///' + sys.argv[1]\n"
               "app.config['SQLALCHEMY_TRACK_MODIFICATIONS'] = False\n"
               "db = SQLAlchemy(app)\n"
               "class PetHandler(db.Model):\n"
               "    __tablename__ = 'pethandler'\n"
               "    handler_id = db.Column(db.Integer, primary_key=True)\n"
               "    handler_name = db.Column(db.String(150), nullable=False)\n"
               "    pet_category = db.relationship('PetCategory', backref='pet_handler', "
               "lazy=True)\n"
               "class PetCategory(db.Model):\n"
               "    __tablename__ = 'petcategory'\n"
               "    pet_id = db.Column(db.Integer, primary_key=True)\n"
               "    pet_name = db.Column(db.String(100), nullable=False)\n"
               "    pet_category = db.Column(db.String(50), nullable=False)\n"
               "    handler_id = db.Column(db.Integer, db.ForeignKey('pethandler.handler_id'), "
               "nullable=False)\n"
               "class PetComment(db.Model):\n"
               "    __tablename__ = 'petcomment'\n"
               "    comment_id = db.Column(db.Integer, primary_key=True)\n"
               "    comment_content = db.Column(db.String(200), nullable=False)\n"
               "    pet_id = db.Column(db.Integer, db.ForeignKey('petcategory.pet_id'), "
               "nullable=False)\n"
               "with app.app_context():\n"
               "    db.create_all()\n"
               "    h = PetHandler(handler_name='Alice')\n"
               "    h.pet_category.append(PetCategory(pet_name='Rex', pet_category='Dog'))\n"
               "    h.pet_category.append(PetCategory(pet_name='Tom', pet_category='Cat'))\n"
               "    db.session.add(h)\n"
               "    db.session.commit()\n");
    fclose(f);
    char cmd[1400];
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s", script, db);
    CHECK_INT(system(cmd), 0);
    unlink(script);

    char url[600];
    snprintf(url, sizeof(url), "sqlite:///%s", db);
    ph_db_config cfg = {.url = url};
    ph_db *pdb;
    char err[200];
    CHECK_INT(ph_db_open(&cfg, &pdb, err, sizeof(err)), 0);
    ph_db_conn *c = ph_db_conn_new(pdb);
    ph_arena *a = ph_arena_new(0);
    ph_session *s = ph_session_new(a, c);
    /* the peer's tables exist; the new ones are added next to them */
    CHECK_INT(ph_orm_create_all(c, app_models, app_nmodels), 0);
    PetHandler *h = NULL;
    CHECK_INT(ph_query_first(ph_query_new(s, &PetHandler_model), &h), 0);
    CHECK_STR(h ? h->handler_name : NULL, "Alice");
    if (h) {
        CHECK_INT(ph_session_load(s, h, "pet_category"), 0);
        CHECK_INT(h->pet_category.len, 2);
        PetCategory *p = h->pet_category.len ? h->pet_category.items[1] : NULL;
        CHECK_STR(p ? p->pet_name : NULL, "Tom");
        CHECK(p && p->pet_handler == h);
        /* and a write the Flask side will read */
        PetComment *cm = PH_ARENA_NEW(a, PetComment);
        cm->comment_content = "from C";
        if (p)
            CHECK_INT(ph_list_append(s, p, "comments", cm), 0);
        CHECK_INT(ph_session_commit(s), 0);
        CHECK_INT(cm->pet_id, p ? p->pet_id : -1);
    }
    ph_arena_free(a);
    ph_db_conn_free(c);
    ph_db_close(pdb);
    unlink(db);
}

int main(void)
{
    RUN_ON(PH_DB_SQLITE, test_descriptors_checked);
    ph_dialect ds[] = {PH_DB_SQLITE, PH_DB_POSTGRES};
    for (size_t i = 0; i < PH_COUNTOF(ds); i++) {
        ph_dialect d = ds[i];
        printf("-- %s\n", d == PH_DB_SQLITE ? "sqlite" : "postgresql");
        RUN_ON(d, test_one_to_many_save_update);
        RUN_ON(d, test_lazy_load_backref_identity_map);
        RUN_ON(d, test_many_to_one_pointer_sets_fk);
        RUN_ON(d, test_move_child_between_parents);
        RUN_ON(d, test_one_to_one);
        RUN_ON(d, test_many_to_many);
        RUN_ON(d, test_cascade_delete_and_orphan);
        RUN_ON(d, test_delete_parent_not_null_refused);
        RUN_ON(d, test_delete_parent_nullable_sets_null);
        RUN_ON(d, test_descriptor_default_eager);
        RUN_ON(d, test_fk_violation_writes_nothing);
        RUN_ON(d, test_failed_commit_parent_children);
        RUN_ON(d, test_lazy_selectin_joined_agree);
        RUN_ON(d, test_many_to_many_eager);
        RUN_ON(d, test_raise_mode);
        RUN_ON(d, test_load_relationship_callback);
        RUN_ON(d, test_n_plus_one_warning);
        RUN_ON(d, test_rollback_restores_lists);
    }
    RUN(test_flask_database_navigable);
    TEST_END();
}
