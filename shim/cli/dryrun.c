/* enact dry-run list|clear: the simulated calls of the audit log, as the
 * guide's DryRunProxy get_executions / clear_executions.
 *
 * clear never touches the audit log: it remembers, next to it
 * (FILE.dry-run-cleared), which file it read and how far; list starts
 * there. A log rotated since is a new file: all of it is later. */
#include "cli.h"
#include "records.h"
#include "../pure/impact.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char HELP[] =
    "usage: enact dry-run [-c FILE] list [--impact HIGH|MEDIUM|LOW|UNKNOWN] (any case)\n"
    "       enact dry-run [-c FILE] clear\n"
    "\n"
    "list prints each simulated call of the config's audit log: time, agent,\n"
    "tool, impact, and what would have run or been sent; then the count per\n"
    "impact level. clear hides everything listed so far from later lists; the\n"
    "audit log itself keeps every record.\n";

/* Levels count from UNKNOWN (0) up to HIGH: one counter each. */
#define NLEVELS (IMPACT_HIGH + 1)

/* Where clear keeps its mark: the audit log's path + ".dry-run-cleared". */
static void mark_path(const struct enact_config *cfg, char *out, size_t cap)
{
    snprintf(out, cap, "%s.dry-run-cleared", cfg->audit_path);
}

/* The mark: the log file (inode) and the offset up to which its records
 * are hidden. */
struct mark {
    unsigned long long ino, offset;
};

static struct mark read_mark(const char *path)
{
    struct mark m = {0, 0};
    FILE *f = fopen(path, "re");
    if (f && fscanf(f, "%llu %llu", &m.ino, &m.offset) != 2)
        m = (struct mark){0, 0};
    if (f)
        fclose(f);
    return m;
}

/* Opens the log at the first record after the mark. */
static bool open_after(struct records *r, const struct enact_config *cfg, struct mark m)
{
    if (!records_open(r, cfg->audit_path))
        return false;
    if (m.ino && (unsigned long long)r->ino == m.ino)
        fseeko(r->file, (off_t)m.offset, SEEK_SET);
    return true;
}

static bool simulated(const struct audit_fields *f)
{
    return f->v[AF_VERDICT] && strcmp(f->v[AF_VERDICT], "dry_run") == 0 && f->v[AF_TS];
}

/* A record's impact; UNKNOWN when it names none this build knows. */
static enum impact_level level_of(const char *impact)
{
    enum impact_level level;
    return impact && impact_level_parse(impact, &level) ? level : IMPACT_UNKNOWN;
}

/* only: the level to list, or NULL for all. */
static int list(const struct enact_config *cfg, const enum impact_level *only)
{
    char mark_file[4200];
    mark_path(cfg, mark_file, sizeof mark_file);
    struct mark mark = read_mark(mark_file);
    struct records r;
    unsigned long counts[NLEVELS] = {0}, shown = 0;
    if (open_after(&r, cfg, mark)) {
        struct audit_fields f;
        while (records_next(&r, &f)) {
            if (!simulated(&f))
                continue;
            enum impact_level level = level_of(f.v[AF_IMPACT]);
            if (only && level != *only)
                continue;
            counts[level]++;
            if (shown++ == 0)
                printf("%-19s %-14s %-14s %-7s %s\n", "TIME (UTC)", "AGENT", "TOOL", "IMPACT",
                       "WOULD EXECUTE");
            const char *ts = f.v[AF_TS];
            printf("%.10s %.8s %-14.14s %-14.14s %-7s ", ts, ts + 11,
                   f.v[AF_AGENT] ? f.v[AF_AGENT] : "-", f.v[AF_TOOL] ? f.v[AF_TOOL] : "-",
                   impact_level_name(level));
            for (const char *p = f.v[AF_WOULD_EXECUTE] ? f.v[AF_WOULD_EXECUTE] : ""; *p; p++)
                fputs(*p == '\r' ? "\\r" : *p == '\n' ? "\\n" : (char[2]){*p, 0}, stdout);
            if (f.v[AF_IMPACT_REASON])
                printf("  (%s)", f.v[AF_IMPACT_REASON]);
            putchar('\n');
        }
        records_close(&r);
    } else if (errno != ENOENT) {
        fprintf(stderr, "enact dry-run: cannot read %s: %s\n", cfg->audit_path, strerror(errno));
        return EXIT_CONFIG;
    }
    if (shown == 0)
        printf("no simulated calls%s\n", mark.ino ? " since the last clear" : "");
    else
        printf("\n%lu simulated: %lu HIGH, %lu MEDIUM, %lu LOW, %lu UNKNOWN\n", shown,
               counts[IMPACT_HIGH], counts[IMPACT_MEDIUM], counts[IMPACT_LOW],
               counts[IMPACT_UNKNOWN]);
    return 0;
}

static int clear(const struct enact_config *cfg)
{
    char mark_file[4200];
    mark_path(cfg, mark_file, sizeof mark_file);
    struct records r;
    unsigned long hidden = 0;
    struct mark now = {0, 0};
    if (open_after(&r, cfg, read_mark(mark_file))) {
        struct audit_fields f;
        while (records_next(&r, &f))
            hidden += simulated(&f);
        now = (struct mark){(unsigned long long)r.ino, (unsigned long long)ftello(r.file)};
        records_close(&r);
    }
    if (hidden == 0) {
        printf("nothing to clear\n");
        return 0;
    }
    FILE *out = fopen(mark_file, "we");
    if (!out || fprintf(out, "%llu %llu\n", now.ino, now.offset) < 0 || fclose(out) != 0) {
        fprintf(stderr, "enact dry-run: cannot write %s: %s\n", mark_file, strerror(errno));
        return EXIT_CONFIG;
    }
    printf("cleared %lu simulated call%s (the audit log keeps them)\n", hidden,
           hidden == 1 ? "" : "s");
    return 0;
}

int cmd_dry_run(int argc, char **argv)
{
    const char *config = NULL, *action = NULL, *only = NULL;
    static const char *const actions[] = {"list", "clear", NULL};
    const struct cli_option options[] = {
        {.name = "-c", .value = &config},
        {.name = "--impact", .value = &only},
        {0},
    };
    int rc = cli_parse(&(struct cli_command){.name = "dry-run", .help = HELP, .options = options,
                                             .words = actions, .word = &action},
                       argc, argv, NULL);
    if (rc >= 0)
        return rc;
    enum impact_level level;
    bool known = !only || impact_level_parse(only, &level);
    if (!action || !known || (only && strcmp(action, "list") != 0)) {
        fprintf(stderr, "enact dry-run: %s\n\n%s",
                !action ? "say list or clear"
                        : "--impact is HIGH, MEDIUM, LOW or UNKNOWN (any case), with list",
                HELP);
        return EXIT_USAGE;
    }
    int failed;
    struct enact_config *cfg = cli_config(config, &failed, NULL);
    if (!cfg)
        return failed;
    rc = strcmp(action, "list") == 0 ? list(cfg, only ? &level : NULL) : clear(cfg);
    config_free(cfg);
    return rc;
}
