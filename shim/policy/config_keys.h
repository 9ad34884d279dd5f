/* The table of every INI key, in the manner of nginx's ngx_command_t: one
 * entry per key says its section, how its value is parsed and checked,
 * where the value goes, its default and what it is for. The loader, the
 * "did you mean" hints and enact keys all read it. */
#ifndef ENACT_CONFIG_KEYS_H
#define ENACT_CONFIG_KEYS_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>

/* Each section's values go into one struct: [enact] into enact_config,
 * [tool.NAME] into tool, [agent] and [agent.NAME] into a quota_spec,
 * [impact] into the impact_table. */
enum config_section { SECTION_ENACT, SECTION_TOOL, SECTION_AGENT, SECTION_IMPACT, SECTION_COUNT };

enum key_verdict {
    KEY_OK,
    KEY_BAD_VALUE, /* the caller says "KEY must be EXPECTED, not 'VALUE'" */
    KEY_REPORTED,  /* the parser said what is wrong */
};

/* How the slot at offset is typed, for the defaults the table holds. */
enum key_field { FIELD_NONE, FIELD_INT, FIELD_DOUBLE, FIELD_STRING, FIELD_BYTES };

struct loader;
struct key_def;
/* Parses v into the section's struct at base. */
typedef enum key_verdict key_parser(struct loader *ld, const struct key_def *k, void *base,
                                    const char *v);

/* The parsers a key can name (config_values.h), by index: the table holds
 * no pointer, so the loader has nothing of it to relocate at a governed
 * process's start (it lies in read-only data, not in RELRO pages every
 * process writes; bench/NOTES.md, B6). */
enum key_parse {
    KEY_PARSE_NONE, /* never in the table: a key without a parser is a mistake */
    KEY_PARSE_BOOL,
    KEY_PARSE_CHOICE,
    KEY_PARSE_COUNT,
    KEY_PARSE_NUMBER,
    KEY_PARSE_PATH,
    KEY_PARSE_QUOTA_WARN,
    KEY_PARSE_AUDIT_LOG,
    KEY_PARSE_AGENT_NAME,
    KEY_PARSE_BACKEND,
    KEY_PARSE_KEY_PREFIX,
    KEY_PARSE_ENV_NAME,
    KEY_PARSE_ERRNO,
    KEY_PARSE_BYTES,
    KEY_PARSE_CONNECT,
    KEY_PARSE_EXEC,
    KEY_PARSE_IMPACT_EXEC,
    KEY_PARSE_IMPACT_VERB,
    KEY_PARSE_KINDS
};

/* The sizes of the table's texts, each with its NUL (a longer initializer
 * does not compile; test_config checks each is terminated). */
#define KEY_NAME_MAX 28
#define KEY_CHOICES_MAX 6 /* the words of a choice, then "" */
#define KEY_CHOICE_MAX 12
#define KEY_EXPECTED_MAX 96
#define KEY_HELP_MAX 152

struct key_def {
    char name[KEY_NAME_MAX];
    enum config_section section;
    enum key_parse parse;
    size_t offset, size; /* the value's slot in the section's struct */
    enum key_field field;
    double min, max; /* a count's or a number's bounds */
    bool open_min;   /* min itself is refused */
    /* In the order of the enum the slot holds, ended by "". */
    char choices[KEY_CHOICES_MAX][KEY_CHOICE_MAX];
    int arg;                            /* the parser's own: an impact level */
    double dflt;                        /* what a key not written stands for, where one does */
    bool repeatable;                    /* a rule: one more per line, never "set twice" */
    unsigned hint_edits;                /* a misspelling within this many edits is hinted */
    char expected[KEY_EXPECTED_MAX];    /* "KEY must be EXPECTED, not 'VALUE'" */
    char help[KEY_HELP_MAX];
};

extern const struct key_def CONFIG_KEYS[CONFIG_KEY_COUNT];

/* "[enact]", "[tool.NAME]", "[agent]", "[impact]" ([agent] also stands for
 * [agent.NAME]). */
const char *config_section_title(enum config_section s);

static inline const char *config_key_name(enum config_key k)
{
    return CONFIG_KEYS[k].name;
}

struct loader; /* config_loader.h */

/* One "name = v" line of a section whose values go into base; kind and
 * label name the section in messages ("tool." "api", "" "enact"), put
 * together only when there is something to say: this runs for every line
 * at every governed program's start. src is NULL for a section of
 * repeatable keys only. Reports its own problems. */
void config_key_apply(struct loader *ld, enum config_section section, const char *kind,
                      const char *label, void *base, struct section_source *src,
                      const char *name, const char *v);

/* k's value as it stands in the section's struct at base (a tool, the
 * enact_config, a quota_spec), written as the INI would write it: "60",
 * "request", "ECONNREFUSED", "true", a response with its escapes. */
void config_key_format(enum config_key k, const void *base, char *out, size_t cap);

/* Stores the table's default of k into the section's struct at base. */
void config_key_default(enum config_key k, void *base);

/* Whether k was written (and its value kept). */
static inline bool key_set(const struct section_source *src, enum config_key k)
{
    return src->key_line[k] && !(src->refused >> k & 1);
}

#endif
