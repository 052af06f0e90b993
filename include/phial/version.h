/*
 * Phial's version and the export markers of its public API.
 *
 * The version macros are compile-time (what the headers say); ph_version()
 * is run-time (what the linked library says), so an application can check
 * that the two agree.  The library is built with -fvisibility=hidden:
 * every declaration between PH_API_BEGIN and PH_API_END in a public
 * header is exported from libphial.so, everything else (the ph__ internals
 * of src/) stays inside it.  A public header wraps its declarations in
 * the pair; PH_API marks a single declaration.
 */
#ifndef PHIAL_VERSION_H
#define PHIAL_VERSION_H

#define PHIAL_VERSION_MAJOR 0
#define PHIAL_VERSION_MINOR 1
#define PHIAL_VERSION_PATCH 0
#define PHIAL_VERSION_STRING "0.1.0"
/* One number that compares in order: 0.1.0 is 100, 1.2.3 is 10203. */
#define PHIAL_VERSION_NUMBER                                                                       \
    (PHIAL_VERSION_MAJOR * 10000 + PHIAL_VERSION_MINOR * 100 + PHIAL_VERSION_PATCH)

#if defined(__GNUC__) || defined(__clang__)
#define PH_API __attribute__((visibility("default")))
#define PH_API_BEGIN _Pragma("GCC visibility push(default)")
#define PH_API_END _Pragma("GCC visibility pop")
#else
#define PH_API
#define PH_API_BEGIN
#define PH_API_END
#endif

PH_API_BEGIN

/* The version of the linked library, "MAJOR.MINOR.PATCH"; static storage. */
const char *ph_version(void);

PH_API_END

#endif
