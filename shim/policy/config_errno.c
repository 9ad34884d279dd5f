#include "config_errno.h"

#include <errno.h>
#include <string.h>

/* The names in the rows, not pointers: each pointer was a relocation at
 * every governed start. */
static const struct {
    char name[13]; /* "ECONNREFUSED" and its NUL */
    int value;
    bool exec_ok;
} ERRNOS[] = {
    {"EPERM", EPERM, true},           {"EACCES", EACCES, true},
    {"ECONNREFUSED", ECONNREFUSED, false}, {"ECONNRESET", ECONNRESET, false},
    {"ENETUNREACH", ENETUNREACH, false},   {"EHOSTUNREACH", EHOSTUNREACH, false},
    {"ETIMEDOUT", ETIMEDOUT, false},
};

#define NERRNOS (sizeof ERRNOS / sizeof ERRNOS[0])

const char *config_errno_name(int value)
{
    for (size_t i = 0; i < NERRNOS; i++)
        if (ERRNOS[i].value == value)
            return ERRNOS[i].name;
    return "EPERM";
}

bool config_errno_value(const char *name, int *value)
{
    for (size_t i = 0; i < NERRNOS; i++)
        if (strcmp(name, ERRNOS[i].name) == 0)
            return *value = ERRNOS[i].value, true;
    return false;
}

bool config_errno_fits_exec(int value)
{
    for (size_t i = 0; i < NERRNOS; i++)
        if (ERRNOS[i].value == value)
            return ERRNOS[i].exec_ok;
    return false;
}
