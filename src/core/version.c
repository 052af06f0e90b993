/*
 * The run-time version of the library (see include/phial/version.h).
 */
#include "phial/version.h"

const char *ph_version(void)
{
    return PHIAL_VERSION_STRING;
}
