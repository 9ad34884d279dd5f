/* Reading an audit log line by line, for enact log, dry-run and report. */
#include "records.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool records_open(struct records *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->file = fopen(path, "re");
    struct stat st;
    if (r->file && fstat(fileno(r->file), &st) == 0)
        r->ino = st.st_ino;
    return r->file != NULL;
}

void records_close(struct records *r)
{
    if (r->file)
        fclose(r->file);
    free(r->line);
    r->file = NULL;
    r->line = NULL;
}

int records_next(struct records *r, struct audit_fields *f)
{
    for (;;) {
        ssize_t n = getline(&r->line, &r->cap, r->file);
        if (n < 0) {
            clearerr(r->file);
            return 0;
        }
        r->len = (size_t)n;
        if (n > 0 && r->line[n - 1] != '\n') {
            /* A record still being written: read it again once whole. */
            fseeko(r->file, -(off_t)n, SEEK_CUR);
            return 0;
        }
        if (audit_parse(r->line, (size_t)n, f))
            return 1;
        r->unreadable++;
    }
}

bool records_rotated(struct records *r)
{
    struct stat st;
    if (stat(r->path, &st) != 0 || st.st_ino == r->ino)
        return false;
    FILE *fresh = fopen(r->path, "re");
    if (!fresh)
        return false;
    fclose(r->file);
    r->file = fresh;
    r->ino = st.st_ino;
    return true;
}

const char *records_call(const struct audit_fields *f, char *buf, size_t cap)
{
    if (f->v[AF_FROM] && f->v[AF_TO]) {
        snprintf(buf, cap, "%s -> %s", f->v[AF_FROM], f->v[AF_TO]);
        return buf;
    }
    if (f->v[AF_WOULD_EXECUTE]) {
        snprintf(buf, cap, "%s [%s]", f->v[AF_WOULD_EXECUTE],
                 f->v[AF_IMPACT] ? f->v[AF_IMPACT] : "?");
        return buf;
    }
    /* A record about no one call (quota_low, kill, resume) says what
     * happened in its detail. */
    return f->v[AF_ARGV] ? f->v[AF_ARGV] : f->v[AF_TARGET] ? f->v[AF_TARGET] : f->v[AF_DETAIL];
}
