/*
 * libFuzzer target for the typed values a client's text or JSON becomes:
 * the first byte picks the parser -- DateTime and Date text, Numeric text
 * (precision and scale from the second byte), or a JSON body turned into a
 * model with a column of every type (ph_model_from_json, as POST /api/...
 * does), then checked (ph_orm_validate) and written back as JSON.  A value
 * that parses is formatted and parsed again to the same value.  Errors are
 * answers; any crash, leak, sanitizer report or changed value is a bug.
 */
#include "phial/db.h"
#include "phial/model.h"
#include "phial/orm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct Every {
    ph_obj _ph;
    int64_t id;
    ph_int64_opt big;
    ph_double_opt ratio;
    ph_bool_opt flag;
    ph_datetime_opt at;
    ph_date_opt day;
    ph_decimal_opt price;
    const char *name;
    const char *body;
    const char *doc;
    const char *state;
    ph_bytes blob;
} Every;

static const char *const states[] = {"todo", "doing", "done", NULL};
static const ph_column Every_columns[] = {
    PH_INTEGER(Every, id, PH_PK),
    PH_BIGINTEGER(Every, big, 0),
    PH_FLOAT(Every, ratio, 0),
    PH_BOOLEAN(Every, flag, 0),
    PH_DATETIME(Every, at, 0),
    PH_DATE(Every, day, 0),
    PH_NUMERIC(Every, price, 10, 2, 0),
    PH_STRING(Every, name, 20, PH_NOT_NULL),
    PH_TEXT(Every, body, 0),
    PH_JSON(Every, doc, 0),
    PH_ENUM(Every, state, states, "every_state", 0),
    PH_BINARY(Every, blob, 0),
};
static const ph_model Every_model = PH_MODEL(Every, "every", Every_columns);

static void datetime_round_trip(const char *s, size_t n)
{
    int64_t usec, again;
    char text[64];
    if (ph_datetime_parse(s, n, &usec) != 0)
        return;
    ph_datetime_format(usec, text, sizeof(text));
    if (ph_datetime_parse(text, strlen(text), &again) != 0 || again != usec)
        abort();
}

static void date_round_trip(const char *s, size_t n)
{
    int32_t days, again;
    char text[32];
    if (ph_date_parse(s, n, &days) != 0)
        return;
    ph_date_format(days, text, sizeof(text));
    if (ph_date_parse(text, strlen(text), &again) != 0 || again != days)
        abort();
}

static void decimal_round_trip(const char *s, size_t n, uint8_t shape)
{
    int precision = shape % 18 + 1, scale = (shape / 18) % (precision + 1);
    int64_t units, again;
    char text[48];
    if (ph_decimal_parse(s, n, precision, scale, shape & 0x80, &units) != 0)
        return;
    ph_decimal_format(units, scale, text, sizeof(text));
    if (ph_decimal_parse(text, strlen(text), precision, scale, false, &again) != 0 ||
        again != units)
        abort();
}

static void from_json(const char *s, size_t n)
{
    json_t *o = json_loadb(s, n, 0, NULL);
    if (!o)
        return;
    ph_arena *a = ph_arena_new(0);
    Every *e = a ? ph_arena_alloc(a, sizeof(*e)) : NULL;
    char err[256];
    if (e) {
        memset(e, 0, sizeof(*e));
        if (ph_model_from_json(&Every_model, e, o, a, err, sizeof(err)) == 0) {
            ph_orm_validate(&Every_model, e, ~(uint64_t)0, err, sizeof(err));
            json_decref(ph_model_to_json(&Every_model, e, NULL));
        } else if (err[0] == '\0') {
            abort(); /* a refusal names the field */
        }
    }
    ph_arena_free(a);
    json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 16 * 1024)
        return 0;
    const char *in = (const char *)data + 2;
    size_t n = size - 2;
    switch (data[0] % 4) {
    case 0:
        datetime_round_trip(in, n);
        break;
    case 1:
        date_round_trip(in, n);
        break;
    case 2:
        decimal_round_trip(in, n, data[1]);
        break;
    default:
        from_json(in, n);
        break;
    }
    return 0;
}
