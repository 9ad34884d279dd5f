#include "argv_text.h"

void argv_text(char *const argv[], char *out, size_t cap)
{
    size_t n = 0;
    if (cap == 0)
        return;
    for (size_t i = 0; argv && argv[i] && n + 1 < cap; i++) {
        if (i > 0)
            out[n++] = ' ';
        for (const char *p = argv[i]; *p && n + 1 < cap; p++)
            out[n++] = *p;
    }
    out[n] = '\0';
}
