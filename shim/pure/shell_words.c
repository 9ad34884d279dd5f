#include "shell_words.h"

#include <string.h>

static bool plain(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("_./-+=:,@%^~", c) != NULL);
}

bool shell_simple_words(const char *cmd, char *buf, size_t cap, char *words[], size_t max)
{
    if (max == 0)
        return false; /* no room even for the terminating NULL */
    size_t n = 0, used = 0;
    const char *p = cmd;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (plain(*p))
            p++;
        if (*p && *p != ' ' && *p != '\t')
            return false;
        size_t len = (size_t)(p - start);
        if (n + 2 > max || used + len + 1 > cap)
            return false;
        /* "~" expands, and a first word with '=' is an assignment. */
        if (start[0] == '~' || (n == 0 && memchr(start, '=', len)))
            return false;
        memcpy(buf + used, start, len);
        buf[used + len] = '\0';
        words[n++] = buf + used;
        used += len + 1;
    }
    words[n] = NULL;
    return n > 0;
}
