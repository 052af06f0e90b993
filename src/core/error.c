/* The error-code table: names and messages for every PH_E* code. */
#include "phial/core.h"

static const char *const ph_err_messages[] = {
#define PH__ERR_MSG(name, msg) msg,
    PH_ERRNO_MAP(PH__ERR_MSG)
#undef PH__ERR_MSG
};

static const char *const ph_err_names[] = {
#define PH__ERR_NAME(name, msg) "PH_E" #name,
    PH_ERRNO_MAP(PH__ERR_NAME)
#undef PH__ERR_NAME
};

const char *ph_strerror(int err)
{
    if (err == 0)
        return "success";
    if (err < 0 && -err <= PH__EIDX_COUNT)
        return ph_err_messages[-err - 1];
    return "unknown error";
}

const char *ph_errname(int err)
{
    if (err == 0)
        return "PH_OK";
    if (err < 0 && -err <= PH__EIDX_COUNT)
        return ph_err_names[-err - 1];
    return "PH_E?";
}
