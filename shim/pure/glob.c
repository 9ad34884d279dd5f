#include "glob.h"

#include <stddef.h>

/* Matches one bracket expression at *pp against c; advances *pp past ']'.
 * A malformed class (no closing ']') matches a literal '['. */
static bool match_class(const char **pp, char c)
{
    const char *p = *pp + 1;
    bool negate = (*p == '!' || *p == '^');
    if (negate)
        p++;
    bool hit = false;
    bool first = true;
    while (*p && (first || *p != ']')) {
        char lo = *p;
        if (lo == '\\' && p[1])
            lo = *++p;
        char hi = lo;
        if (p[1] == '-' && p[2] && p[2] != ']') {
            hi = p[2];
            p += 2;
        }
        if ((unsigned char)c >= (unsigned char)lo && (unsigned char)c <= (unsigned char)hi)
            hit = true;
        p++;
        first = false;
    }
    if (*p != ']') {
        *pp += 1;
        return c == '[';
    }
    *pp = p + 1;
    return hit != negate;
}

bool glob_match(const char *pattern, const char *text)
{
    const char *p = pattern, *t = text;
    const char *star_p = NULL, *star_t = NULL;

    while (*t) {
        if (*p == '*') {
            while (*p == '*')
                p++;
            if (!*p)
                return true;
            star_p = p;
            star_t = t;
            continue;
        }
        const char *next = p;
        bool ok;
        if (*p == '?') {
            ok = true;
            next = p + 1;
        } else if (*p == '[') {
            ok = match_class(&next, *t);
        } else if (*p == '\\' && p[1]) {
            ok = (p[1] == *t);
            next = p + 2;
        } else {
            ok = (*p && *p == *t);
            next = p + 1;
        }
        if (ok) {
            p = next;
            t++;
        } else if (star_p) {
            p = star_p;
            t = ++star_t;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

bool glob_is_literal(const char *pattern)
{
    for (const char *p = pattern; *p; p++)
        if (*p == '*' || *p == '?' || *p == '[' || *p == '\\')
            return false;
    return true;
}
