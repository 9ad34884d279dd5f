/* The argument loop every subcommand with options shares (cli.h). */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool named(const struct cli_option *o, const char *arg)
{
    return strcmp(arg, o->name) == 0 || (o->alias && strcmp(arg, o->alias) == 0);
}

static int usage(const struct cli_command *cmd, const char *what, const char *arg)
{
    fprintf(stderr, "enact %s: %s '%s'\n\n%s", cmd->name, what, arg, cmd->help);
    return EXIT_USAGE;
}

/* The option arg names, or NULL; one with a value counts only when a
 * value follows. */
static const struct cli_option *option_of(const struct cli_command *cmd, const char *arg,
                                          bool has_value)
{
    for (const struct cli_option *o = cmd->options; o && o->name; o++)
        if (named(o, arg) && (!o->value || has_value))
            return o;
    return NULL;
}

static bool is_word(const struct cli_command *cmd, const char *arg)
{
    if (!cmd->words || *cmd->word)
        return false;
    for (const char *const *w = cmd->words; *w; w++)
        if (strcmp(arg, *w) == 0 || (strcmp(*w, "*") == 0 && arg[0] != '-'))
            return true;
    return false;
}

int cli_parse(const struct cli_command *cmd, int argc, char **argv, int *next)
{
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (cmd->until_command && strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (cli_wants_help(a)) {
            fputs(cmd->help, stdout);
            return 0;
        }
        const struct cli_option *o = option_of(cmd, a, i + 1 < argc);
        if (o && o->value) {
            *o->value = argv[++i];
            if (o->valid && !o->valid(argv[i]))
                return usage(cmd, o->invalid, argv[i]);
        } else if (o) {
            *o->flag = o->to;
        } else if (is_word(cmd, a)) {
            *cmd->word = a;
        } else if (!cmd->until_command) {
            return usage(cmd, "unknown argument", a);
        } else if (a[0] == '-') {
            return usage(cmd, "unknown option", a);
        } else {
            break;
        }
    }
    if (next)
        *next = i;
    return -1;
}

bool cli_wants_help(const char *arg)
{
    return arg && (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0);
}

uint64_t cli_duration_ns(const char *s)
{
    char *end;
    errno = 0;
    double n = strtod(s, &end);
    static const struct {
        char unit;
        double seconds;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
    if (errno || end == s || n <= 0 || end[0] == '\0' || end[1] != '\0')
        return 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (*end == units[i].unit && n * units[i].seconds < 1e10)
            return (uint64_t)(n * units[i].seconds * 1e9);
    return 0;
}

const char *cli_duration_text(uint64_t ns, char *buf, size_t cap)
{
    uint64_t s = (ns + 999999999u) / 1000000000u;
    if (ns == 0)
        snprintf(buf, cap, "-");
    else if (s < 120)
        snprintf(buf, cap, "%llus", (unsigned long long)s);
    else if (s < 7200)
        snprintf(buf, cap, "%llum%02llus", (unsigned long long)(s / 60),
                 (unsigned long long)(s % 60));
    else
        snprintf(buf, cap, "%lluh%02llum", (unsigned long long)(s / 3600),
                 (unsigned long long)(s / 60 % 60));
    return buf;
}
