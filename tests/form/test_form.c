/*
 * Unit tests of forms: every validator with good and bad values (including
 * whitespace alone, invalid UTF-8, NUL bytes and multi-byte characters at
 * the length limits), forms derived from a model (NOT NULL, String(n),
 * unique through the ORM on a real SQLite file), values kept and
 * populated, validate-on-submit and CSRF, and the rendering in templates
 * (labels, inputs with attributes, errors, hidden_tag, no `None`).
 */
#include <unistd.h>

#include "phial/phial.h"
#include "test.h"

#include "../../app/models.h"

/* A request for method with an url-encoded body (raw bytes, n of them). */
static ph_request *request(ph_arena *a, ph_app *app, const char *method, const char *body,
                           size_t n)
{
    ph_request *req = ph_req_new(a, app, method, "/form");
    if (!req)
        return NULL;
    ph_req_add_header(req, "Content-Type", "application/x-www-form-urlencoded");
    ph_req_set_body(req, body, n);
    ph_req_parse_body(req, 100);
    return req;
}

/* Validates one field `f` declared by def against the url-encoded value
 * (raw, n bytes); returns the first error or NULL. */
static const char *check_one(const ph_form_def *def, const char *body, size_t n)
{
    static char msg[512];
    ph_arena *a = ph_arena_new(0);
    ph_request *req = request(a, NULL, "POST", body, n);
    ph_form *f = ph_form_bind(req, def);
    bool valid = false;
    int rc = ph_form_validate(f, &valid);
    const char *out = NULL;
    if (rc < 0) {
        snprintf(msg, sizeof(msg), "fault %s", ph_errname(rc));
        out = msg;
    } else if (!valid) {
        size_t ne;
        const char *const *e = ph_form_errors(f, "f", &ne);
        snprintf(msg, sizeof(msg), "%s", ne ? e[0] : "(invalid without a field error)");
        out = msg;
    }
    ph_arena_free(a);
    return out;
}

#define OK(def, body) CHECK(check_one(&(def), (body), strlen(body)) == NULL)
#define BAD(def, body, want)                                                                       \
    do {                                                                                           \
        const char *got_ = check_one(&(def), (body), strlen(body));                                \
        CHECK(got_ != NULL);                                                                       \
        if (got_)                                                                                  \
            CHECK_STR(got_, want);                                                                 \
    } while (0)

static const ph_field required_fields[] = {PH_FORM_FIELD(PH_FIELD_TEXT, "f", "Name", PH_REQUIRED())};
static const ph_form_def required_form = PH_FORM(required_fields);

static void validator_required(void)
{
    OK(required_form, "f=a");
    OK(required_form, "f=+a+");
    BAD(required_form, "", "Name is required.");
    BAD(required_form, "f=", "Name is required.");
    BAD(required_form, "f=+++", "Name is required.");            /* spaces alone */
    BAD(required_form, "f=%09%0A%0D", "Name is required.");      /* tab, newlines */
    BAD(required_form, "f=%C2%A0", "Name is required.");         /* NBSP */
    BAD(required_form, "f=%E3%80%80%E2%80%83", "Name is required."); /* ideographic, em space */
    BAD(required_form, "f=%FF", "Name holds characters that are not text (invalid UTF-8 or a "
                                "NUL byte).");
    BAD(required_form, "f=a%00b", "Name holds characters that are not text (invalid UTF-8 or a "
                                  "NUL byte).");
    BAD(required_form, "f=%C0%AF", "Name holds characters that are not text (invalid UTF-8 or "
                                   "a NUL byte).");
}

static const ph_field length_fields[] = {
    PH_FORM_FIELD(PH_FIELD_TEXT, "f", "Nickname", PH_REQUIRED(), PH_LENGTH(2, 5))};
static const ph_form_def length_form = PH_FORM(length_fields);
static const ph_field max_fields[] = {PH_FORM_FIELD(PH_FIELD_TEXT, "f", "Username", PH_LENGTH(-1, 3))};
static const ph_form_def max_form = PH_FORM(max_fields);
static const ph_field min_fields[] = {PH_FORM_FIELD(PH_FIELD_TEXT, "f", "Password", PH_LENGTH(3, -1))};
static const ph_form_def min_form = PH_FORM(min_fields);

static void validator_length_counts_characters(void)
{
    OK(length_form, "f=ab");
    OK(length_form, "f=%C3%A9%C3%A9");                                 /* 2 chars, 4 bytes */
    OK(length_form, "f=%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9");               /* 5 chars, 10 bytes */
    OK(length_form, "f=%F0%9F%98%80%F0%9F%98%80%F0%9F%98%80%F0%9F%98%80%F0%9F%98%80"); /* 5 emoji */
    BAD(length_form, "f=%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9",
        "Nickname must be between 2 and 5 characters."); /* 6 chars */
    BAD(length_form, "f=%F0%9F%98%80", "Nickname must be between 2 and 5 characters.");
    BAD(length_form, "f=abcdef", "Nickname must be between 2 and 5 characters.");
    OK(max_form, "f=%E6%97%A5%E6%9C%AC%E8%AA%9E"); /* 3 CJK characters, 9 bytes */
    BAD(max_form, "f=%E6%97%A5%E6%9C%AC%E8%AA%9E%E8%AA%9E", "Username must be at most 3 characters.");
    OK(max_form, "f=");                            /* empty and optional */
    OK(max_form, "f=+abc+");                       /* stripped first */
    BAD(min_form, "f=ab", "Password must be at least 3 characters.");
    OK(min_form, "f=abc");
}

static const ph_field email_fields[] = {PH_FORM_FIELD(PH_FIELD_EMAIL, "f", "Email", PH_REQUIRED(), PH_EMAIL())};
static const ph_form_def email_form = PH_FORM(email_fields);

static void validator_email(void)
{
    static const char *const good[] = {"a@b.co", "demo.user%2Btag@gmail.com", "x_y@sub.example.org",
                                       "o'brien@example.ie", "j%C3%BCrgen@m%C3%BCller.de"};
    static const char *const bad[] = {"plain", "@example.org", "a@", "a@b", "a@@b.co",
                                      "a@b..co", ".a@b.co", "a.@b.co", "a..b@c.de", "a@-b.co",
                                      "a@b-.co", "a+b@c.123", "a%20b@c.de", "a@b.c", "a@b_c.de"};
    char body[256];
    for (size_t i = 0; i < PH_COUNTOF(good); i++) {
        snprintf(body, sizeof(body), "f=%s", good[i]);
        OK(email_form, body);
    }
    for (size_t i = 0; i < PH_COUNTOF(bad); i++) {
        snprintf(body, sizeof(body), "f=%s", bad[i]);
        BAD(email_form, body, "Enter a valid email address.");
    }
    CHECK(ph_form_email_valid("demouser@gmail.com"));
    CHECK(!ph_form_email_valid("demo user@gmail.com"));
}

static const ph_field equal_fields[] = {
    PH_FORM_FIELD(PH_FIELD_PASSWORD, "password", "Password", PH_REQUIRED()),
    PH_FORM_FIELD(PH_FIELD_PASSWORD, "f", "Confirm password", PH_EQUAL_TO("password")),
};
static const ph_form_def equal_form = PH_FORM(equal_fields);

static void validator_equal_to(void)
{
    OK(equal_form, "password=abc&f=abc");
    BAD(equal_form, "password=abc&f=abd", "Confirm password must match password.");
    BAD(equal_form, "password=abc&f=", "Confirm password must match password.");
    BAD(equal_form, "password=abc+&f=abc", "Confirm password must match password."); /* not stripped */
}

static const ph_field range_fields[] = {
    PH_FORM_FIELD(PH_FIELD_INTEGER, "f", "Age", PH_REQUIRED(), PH_NUMBER_RANGE(1, 10))};
static const ph_form_def range_form = PH_FORM(range_fields);

static void validator_number_range(void)
{
    OK(range_form, "f=1");
    OK(range_form, "f=10");
    OK(range_form, "f=+7+");
    BAD(range_form, "f=0", "Age must be a number from 1 to 10.");
    BAD(range_form, "f=11", "Age must be a number from 1 to 10.");
    BAD(range_form, "f=-3", "Age must be a number from 1 to 10.");
    BAD(range_form, "f=seven", "Age must be a whole number.");
    BAD(range_form, "f=1.5", "Age must be a whole number.");
    BAD(range_form, "f=99999999999999999999", "Age must be a whole number.");
    BAD(range_form, "f=", "Age is required.");
}

static const ph_field regexp_fields[] = {
    PH_FORM_FIELD(PH_FIELD_TEXT, "f", "Code", PH_REGEXP("[A-Z]{2}[0-9]{3}")),
    PH_FORM_FIELD(PH_FIELD_TEXT, "g", "Zip", PH_REGEXP("[0-9]+", .message = "Digits only, please.")),
};
static const ph_form_def regexp_form = PH_FORM(regexp_fields);

static void validator_regexp(void)
{
    OK(regexp_form, "f=AB123");
    OK(regexp_form, "f=");
    BAD(regexp_form, "f=AB1234", "Code is not in the expected format."); /* anchored */
    BAD(regexp_form, "f=xAB123", "Code is not in the expected format.");
    BAD(regexp_form, "f=ab123", "Code is not in the expected format.");
    ph_arena *a = ph_arena_new(0);
    ph_request *req = request(a, NULL, "POST", "g=12a", 5);
    ph_form *f = ph_form_bind(req, &regexp_form);
    bool valid;
    CHECK_INT(ph_form_validate(f, &valid), 0);
    size_t n;
    const char *const *e = ph_form_errors(f, "g", &n);
    CHECK(!valid && n == 1 && strcmp(e[0], "Digits only, please.") == 0);
    ph_arena_free(a);
}

static const char *const colours[] = {"red", "green", NULL};
static const ph_field anyof_fields[] = {PH_FORM_FIELD(PH_FIELD_TEXT, "f", "Colour", PH_REQUIRED(), PH_ANY_OF(colours))};
static const ph_form_def anyof_form = PH_FORM(anyof_fields);
static const ph_choice sizes[] = {{"s", "Small"}, {"l", "Large"}, {NULL, NULL}};
static const ph_field select_fields[] = {
    {.kind = PH_FIELD_SELECT, .name = "f", .label = "Size", .choices = sizes}};
static const ph_form_def select_form = PH_FORM(select_fields);

static void validator_any_of_and_select(void)
{
    OK(anyof_form, "f=red");
    BAD(anyof_form, "f=blue", "Colour must be one of the choices offered.");
    BAD(anyof_form, "f=Red", "Colour must be one of the choices offered.");
    OK(select_form, "f=l");
    BAD(select_form, "f=xl", "Choose one of the options offered for size.");
}

static int no_admin(ph_form *f, const char *value, void *ud, const char **message)
{
    (void)f;
    (void)ud;
    if (strcmp(value, "admin") == 0) {
        *message = "That name is reserved.";
        return PH_EINVAL;
    }
    return 0;
}

static int db_down(ph_form *f, const char *value, void *ud, const char **message)
{
    (void)f;
    (void)value;
    (void)ud;
    (void)message;
    return PH_ECONNLOST;
}

static const ph_field custom_fields[] = {PH_FORM_FIELD(PH_FIELD_TEXT, "f", "Name", PH_CUSTOM(no_admin, NULL))};
static const ph_form_def custom_form = PH_FORM(custom_fields);
static const ph_field fault_fields[] = {PH_FORM_FIELD(PH_FIELD_TEXT, "f", "Name", PH_CUSTOM(db_down, NULL))};
static const ph_form_def fault_form = PH_FORM(fault_fields);

static void validator_custom(void)
{
    OK(custom_form, "f=alice");
    BAD(custom_form, "f=admin", "That name is reserved.");
    BAD(fault_form, "f=x", "fault PH_ECONNLOST"); /* a fault is returned, not a field error */
}

static void blank_helper(void)
{
    CHECK(ph_form_blank(""));
    CHECK(ph_form_blank(" \t\r\n"));
    CHECK(ph_form_blank("\xc2\xa0\xe2\x80\x80\xe3\x80\x80"));
    CHECK(!ph_form_blank(" a "));
    CHECK(!ph_form_blank("\xc2\xa1")); /* inverted exclamation mark is not a space */
}

/* Every validator against the values no person types: whitespace alone
 * (stripped, so it is empty: required says so, an optional field passes,
 * a password is compared as typed), invalid UTF-8 (a stray byte, a cut
 * sequence, an overlong encoding, a UTF-16 surrogate) and a NUL byte (a
 * field error naming the field, whatever the validator). */
static void every_validator_against_non_text(void)
{
    static const char not_text[] = " holds characters that are not text (invalid UTF-8 or a NUL "
                                    "byte).";
    const struct {
        const ph_form_def *def;
        const char *prefix, *label, *on_blank;
    } cases[] = {
        {&required_form, "", "Name", "Name is required."},
        {&length_form, "", "Nickname", "Nickname is required."},
        {&max_form, "", "Username", NULL},
        {&min_form, "", "Password", NULL},
        {&email_form, "", "Email", "Email is required."},
        {&equal_form, "password=abc&", "Confirm password", "Confirm password must match password."},
        {&range_form, "", "Age", "Age is required."},
        {&regexp_form, "", "Code", NULL},
        {&anyof_form, "", "Colour", "Colour is required."},
        {&select_form, "", "Size", NULL},
        {&custom_form, "", "Name", NULL},
    };
    static const char *const bad[] = {"%FF", "ab%E2%82", "%C0%AF", "%ED%A0%80", "a%00b", "%00"};
    char body[128], want[160];
    for (size_t i = 0; i < PH_COUNTOF(cases); i++) {
        snprintf(want, sizeof(want), "%s%s", cases[i].label, not_text);
        for (size_t k = 0; k < PH_COUNTOF(bad); k++) {
            snprintf(body, sizeof(body), "%sf=%s", cases[i].prefix, bad[k]);
            const char *got = check_one(cases[i].def, body, strlen(body));
            if (!got || strcmp(got, want) != 0) {
                fprintf(stderr, "  %s: %s\n", body, got ? got : "(valid)");
                CHECK(false);
            }
        }
        snprintf(body, sizeof(body), "%sf=+%%09%%C2%%A0+", cases[i].prefix);
        const char *got = check_one(cases[i].def, body, strlen(body));
        if (cases[i].on_blank ? !got || strcmp(got, cases[i].on_blank) != 0 : got != NULL) {
            fprintf(stderr, "  %s: %s\n", body, got ? got : "(valid)");
            CHECK(false);
        }
    }
}

/* ---- forms derived from the model -------------------------------------------- */

static const ph_field user_fields[] = {
    PH_FORM_COLUMN(PH_FIELD_TEXT, "username", "username", "Username",
                   PH_UNIQUE_IN(&User_model, "username")),
    PH_FORM_COLUMN(PH_FIELD_EMAIL, "email", "user_email", "Email", PH_EMAIL()),
    PH_FORM_FIELD(PH_FIELD_PASSWORD, "password", "Password", PH_REQUIRED()),
};
static const ph_form_def user_form = PH_FORM_MODEL(user_fields, &User_model);

static const ph_field name_fields[] = {
    PH_FORM_COLUMN(PH_FIELD_TEXT, "username", "username", "Username"),
};
static const ph_form_def name_form = PH_FORM_MODEL(name_fields, &User_model);

static void derived_form_takes_column_constraints(void)
{
    char err[256];
    CHECK_INT(ph_form_def_check(&user_form, err, sizeof(err)), 0);
    /* no database needed for what the columns say */
    ph_arena *a = ph_arena_new(0);
    char body[2000];
    /* NOT NULL: required */
    ph_request *req = request(a, NULL, "POST", "username=+&email=&password=x", 28);
    ph_form *f = ph_form_bind(req, &user_form);
    bool valid;
    CHECK_INT(ph_form_validate(f, &valid), 0);
    CHECK(!valid);
    size_t n;
    const char *const *e = ph_form_errors(f, "username", &n);
    CHECK(n == 1 && strcmp(e[0], "Username is required.") == 0);
    e = ph_form_errors(f, "email", &n);
    CHECK(n == 1 && strcmp(e[0], "Email is required.") == 0);
    /* String(100): 101 characters refused, 100 two-byte ones accepted */
    size_t k = (size_t)snprintf(body, sizeof(body), "email=a%%40b.co&password=x&username=");
    for (int i = 0; i < 101; i++)
        k += (size_t)snprintf(body + k, sizeof(body) - k, "a");
    req = request(a, NULL, "POST", body, k);
    f = ph_form_bind(req, &user_form);
    CHECK_INT(ph_form_validate(f, &valid), 0);
    e = ph_form_errors(f, "username", &n);
    CHECK(!valid && n == 1 && strcmp(e[0], "Username must be at most 100 characters.") == 0);
    CHECK_STR(ph_form_value(f, "email"), "a@b.co"); /* kept */
    /* 100 characters of two bytes each (200 bytes) fit String(100); 101 do not */
    for (int chars = 100; chars <= 101; chars++) {
        k = (size_t)snprintf(body, sizeof(body), "email=a%%40b.co&password=x&username=");
        for (int i = 0; i < chars; i++)
            k += (size_t)snprintf(body + k, sizeof(body) - k, "%%C3%%A9");
        req = request(a, NULL, "POST", body, k);
        f = ph_form_bind(req, &name_form); /* no uniqueness check: no database here */
        CHECK_INT(ph_form_validate(f, &valid), 0);
        e = ph_form_errors(f, "username", &n);
        CHECK_INT(n, chars == 100 ? 0 : 1);
        CHECK(chars == 100 ? valid : !valid);
        CHECK_INT(strlen(ph_form_value(f, "username")), 2 * chars);
    }
    char wrong[16];
    CHECK(ph_form_def_check(&(ph_form_def){.fields = (const ph_field[]){{.kind = PH_FIELD_TEXT,
                                                                          .name = "x",
                                                                          .column = "nope"}},
                                           .nfields = 1,
                                           .model = &User_model},
                            err, sizeof(err)) == PH_EINVAL);
    CHECK_CONTAINS(err, "no column \"nope\"");
    (void)wrong;
    ph_arena_free(a);
}

static void derived_form_unique_through_the_orm(void)
{
    char path[] = "/tmp/phial-form-XXXXXX", url[128], err[256];
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    unlink(path);
    snprintf(url, sizeof(url), "sqlite:///%s", path);
    ph_app *app = ph_app_new("t");
    ph_app_config_set(app, "DATABASE_URL", url);
    CHECK_INT(ph_app_use_database(app, err, sizeof(err)), 0);
    const ph_model *models[] = {&User_model};
    CHECK_INT(ph_orm_create_all(ph_app_thread_conn(app), models, 1), 0);
    ph_arena *a = ph_arena_new(0);
    const char *body = "username=%C3%A9mile&email=e%40x.org&password=pw";
    /* free: valid, and populates a User */
    ph_request *req = request(a, app, "POST", body, strlen(body));
    ph_form *f = ph_form_bind(req, &user_form);
    bool valid;
    CHECK_INT(ph_form_validate(f, &valid), 0);
    CHECK(valid);
    User *u = PH_ARENA_NEW(a, User);
    CHECK_INT(ph_form_populate(f, u), 0);
    CHECK_STR(u->username, "émile");
    CHECK_STR(u->user_email, "e@x.org");
    CHECK(u->user_password == NULL); /* no column named for it */
    u->user_password = "$argon2id$...";
    ph_session *s = ph_req_db(req);
    CHECK_INT(ph_session_add(s, &User_model, u), 0);
    CHECK_INT(ph_session_commit(s), 0);
    ph_arena_free(a);
    /* taken: the field says so, worded for a person */
    a = ph_arena_new(0);
    req = request(a, app, "POST", body, strlen(body));
    f = ph_form_bind(req, &user_form);
    CHECK_INT(ph_form_validate(f, &valid), 0);
    size_t n;
    const char *const *e = ph_form_errors(f, "username", &n);
    CHECK(!valid && n == 1 && strcmp(e[0], "That username is already taken.") == 0);
    ph_arena_free(a);
    ph_app_free(app);
    char side[160];
    unlink(path);
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
}

/* ---- submission, CSRF and rendering ------------------------------------------ */

static ph_app *secure_app(void)
{
    ph_app *app = ph_app_new("t");
    char err[256];
    ph_app_config_set(app, "SECRET_KEY", "unit-test-secret-key-for-forms");
    if (ph_app_use_security(app, err, sizeof(err)) < 0)
        fprintf(stderr, "  %s\n", err);
    return app;
}

static void validate_on_submit_needs_csrf(void)
{
    ph_app *app = secure_app();
    ph_arena *a = ph_arena_new(0);
    /* GET: not a submission */
    ph_request *req = request(a, app, "GET", "", 0);
    ph_form *f = ph_form_bind(req, &required_form);
    bool valid = true;
    CHECK_INT(ph_form_validate_on_submit(f, &valid), 0);
    CHECK(!valid && !ph_form_is_submitted(f));
    /* POST without a token: invalid, with the reason on the form */
    req = request(a, app, "POST", "f=a", 3);
    f = ph_form_bind(req, &required_form);
    CHECK_INT(ph_form_validate_on_submit(f, &valid), 0);
    CHECK(!valid);
    CHECK_STR(ph_form_csrf_error(f), "The CSRF token is missing.");
    /* with the session's cookie and its token: valid */
    ph_request *page = request(a, app, "GET", "", 0);
    const char *tok = ph_csrf_token(page);
    CHECK(tok != NULL);
    char *cookie;
    CHECK_INT(ph_usersession_encode(ph_app_security(app), ph_req_usersession(page), a, time(NULL),
                                    &cookie),
              0);
    char body[256], hdr[4096];
    snprintf(body, sizeof(body), "f=a&csrf_token=%s", tok);
    snprintf(hdr, sizeof(hdr), "session=%s", cookie);
    req = ph_req_new(a, app, "POST", "/form");
    ph_req_add_header(req, "Cookie", hdr);
    ph_req_add_header(req, "Content-Type", "application/x-www-form-urlencoded");
    ph_req_set_body(req, body, strlen(body));
    ph_req_parse_body(req, 100);
    f = ph_form_bind(req, &required_form);
    CHECK_INT(ph_form_validate_on_submit(f, &valid), 0);
    CHECK(valid);
    CHECK(ph_req_form_bound(req) == f);
    /* the same token without the cookie: another (empty) session */
    req = request(a, app, "POST", body, strlen(body));
    f = ph_form_bind(req, &required_form);
    CHECK_INT(ph_form_validate_on_submit(f, &valid), 0);
    CHECK(!valid);
    ph_arena_free(a);
    ph_app_free(app);
}

static const ph_field render_fields[] = {
    PH_FORM_FIELD(PH_FIELD_TEXT, "name", "Your <name>", PH_REQUIRED(), PH_LENGTH(-1, 20)),
    PH_FORM_FIELD(PH_FIELD_PASSWORD, "password", "Password", PH_REQUIRED()),
    PH_FORM_FIELD(PH_FIELD_TEXTAREA, "message", NULL),
    {.kind = PH_FIELD_HIDDEN, .name = "next", .default_value = "/home"},
    {.kind = PH_FIELD_CHECKBOX, .name = "subscribe", .label = "Subscribe"},
    PH_FORM_FIELD(PH_FIELD_SUBMIT, "submit", "Send"),
};
static const ph_form_def render_form = PH_FORM(render_fields);

static char *render(ph_app *app, ph_arena *a, ph_form *f, const char *src)
{
    ph_tpl_set *set = ph_tpl_set_new();
    char err[256];
    const char *msg = NULL;
    ph_buf out;
    ph_buf_init(&out, a);
    ph_tpl_ctx *ctx = ph_tpl_ctx_new(a);
    char *result = NULL;
    if (ph_tpl_set_add_string(set, "t.html", src, strlen(src), 1, err, sizeof(err)) == 0 &&
        ph_tpl_ctx_set_form(ctx, "form", f) == 0 &&
        ph_tpl_render(set, "t.html", ctx, NULL, a, &out, &msg) == 0)
        result = out.ptr ? out.ptr : "";
    else
        fprintf(stderr, "  render: %s %s\n", err, msg ? msg : "");
    ph_tpl_set_free(set);
    (void)app;
    return result;
}

static void rendering_in_templates(void)
{
    ph_app *app = secure_app();
    ph_arena *a = ph_arena_new(0);
    /* before a submission: empty values, never None */
    ph_request *req = request(a, app, "GET", "", 0);
    ph_form *f = ph_form_bind(req, &render_form);
    char *html = render(app, a, f,
                        "{{ form.name.label }}|{{ form.name.input(class_='form-control', "
                        "data_x=1, autofocus=true, hidden=false) }}|{{ form.message.input() }}|"
                        "{{ form.message.data }}|{{ form.hidden_tag() }}");
    CHECK(html != NULL);
    CHECK_CONTAINS(html, "<label for=\"name\">Your &lt;name&gt;</label>");
    CHECK_CONTAINS(html, "<input type=\"text\" id=\"name\" name=\"name\" value=\"\" "
                         "maxlength=\"20\" required class=\"form-control\" data-x=\"1\" "
                         "autofocus>");
    CHECK_CONTAINS(html, "<textarea id=\"message\" name=\"message\"></textarea>");
    CHECK(html && !strstr(html, "None"));
    CHECK_CONTAINS(html, "<input type=\"hidden\" id=\"csrf_token\" name=\"csrf_token\" value=\"");
    CHECK_CONTAINS(html, "<input type=\"hidden\" id=\"next\" name=\"next\" value=\"/home\">");
    /* after a failed submission: values kept (escaped), never the password,
     * errors beside the field */
    const char *body = "name=%3Cscript%3Exxxxxxxxxxxxxxxxxxxxxx&password=hunter2&subscribe=y";
    req = request(a, app, "POST", body, strlen(body));
    f = ph_form_bind(req, &render_form);
    bool valid;
    CHECK_INT(ph_form_validate(f, &valid), 0);
    CHECK(!valid);
    html = render(app, a, f,
                  "{{ form.name.row() }}|{{ form.password.input() }}|{{ form.subscribe.row() }}|"
                  "{% for e in form.name.errors %}[{{ e }}]{% endfor %}|{{ form.errors|length }}");
    CHECK(html != NULL);
    CHECK_CONTAINS(html, "value=\"&lt;script&gt;xxxxxxxxxxxxxxxxxxxxxx\"");
    CHECK_CONTAINS(html, "aria-invalid=\"true\"");
    CHECK_CONTAINS(html, "<ul class=\"errors\" id=\"name-errors\"><li>Your &lt;name&gt; must be "
                         "at most 20 characters.</li></ul>");
    CHECK_CONTAINS(html, "<input type=\"password\" id=\"password\" name=\"password\" required>");
    CHECK(html && !strstr(html, "hunter2"));
    CHECK_CONTAINS(html, "<input type=\"checkbox\" id=\"subscribe\" name=\"subscribe\" value=\"y\" "
                         "checked>");
    CHECK_CONTAINS(html, "[Your &lt;name&gt; must be at most 20 characters.]|1");
    /* attribute values are escaped like everything else */
    html = render(app, a, f, "{{ form.name.input(title='\"><script>') }}");
    CHECK_CONTAINS(html, "title=\"&#34;&gt;&lt;script&gt;\"");
    ph_arena_free(a);
    ph_app_free(app);
}

int main(void)
{
    RUN(validator_required);
    RUN(validator_length_counts_characters);
    RUN(validator_email);
    RUN(validator_equal_to);
    RUN(validator_number_range);
    RUN(validator_regexp);
    RUN(validator_any_of_and_select);
    RUN(validator_custom);
    RUN(blank_helper);
    RUN(every_validator_against_non_text);
    RUN(derived_form_takes_column_constraints);
    RUN(derived_form_unique_through_the_orm);
    RUN(validate_on_submit_needs_csrf);
    RUN(rendering_in_templates);
    TEST_END();
}
