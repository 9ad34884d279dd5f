#include "env.h"

#include "layout.h"
#include "real.h"
#include "../pure/hash.h"
#include "../pure/text.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHIM_FILE "libenact_shim.so"

#define PRELOAD_MAX 4096 /* an LD_PRELOAD value kept, its NUL included */

/* Set once by env_init, read-only afterwards. */
static bool ready;
static const char *shim_path = "";
static char *config_entry, *agent_entry, *mode_entry; /* mode_entry NULL: no mode */
/* LD_PRELOAD as the program was started with it, and what is left of it
 * once the shim's entry is taken out: a child whose environment still has
 * the latter gets the former back, in its order (a sanitizer runtime that
 * must come first stays first). Empty when too long to keep. */
static const char *started_preload = "", *scrubbed_preload = "";
/* "LD_PRELOAD=" and what is left of it for the program (put in environ
 * in place of the entry it was started with). */
static char *preload_entry;

/* Where the strings above are: end to end, each taking its length and
 * not the most it may have, so that the few bytes written at start are on
 * one page and not on four (a page written is a page of private memory in
 * every governed process). Room for each at its largest, and for one more
 * LD_PRELOAD entry of the environment. */
static char pool[PATH_MAX + (PATH_MAX + 16) + 96 + 32 + 2 * (3 * PRELOAD_MAX + 16)] BIG_TABLE;
static size_t pool_used;

static bool pool_room(size_t cap)
{
    return cap <= sizeof pool - pool_used;
}

/* A text of at most cap bytes (its NUL included, pool_room(cap)) where
 * the pool's strings end; pool_keep() then keeps what was written. */
static struct text pool_text(size_t cap)
{
    return text_at(pool + pool_used, cap);
}

static char *pool_keep(const struct text *t)
{
    pool_used += t->len + 1;
    return t->out;
}

static uint64_t admitted; /* hash of the argv this process may exec undecided; 0: none */

static bool is_shim_var(const char *entry)
{
    /* Every entry of the environment is asked: most fail at the first byte. */
    if (entry[0] != 'E' || !text_starts(entry, "ENACT_"))
        return false;
    const char *rest = entry + 6;
    return text_starts(rest, "CONFIG=") || text_starts(rest, "AGENT=") ||
           text_starts(rest, "MODE=") || text_starts(rest, "ADMITTED=");
}

void env_start_read(struct env_start *out)
{
    /* secure_getenv says whether the process is setuid or setgid: the
     * shim calls it anyway later (for XDG_RUNTIME_DIR), and getauxval
     * would be one more first call for the loader to bind. */
    *out = (struct env_start){.config = real.secure_getenv("ENACT_CONFIG")};
    if (!out->config)
        return;
    for (char **e = environ; *e; e++) {
        const char *entry = *e;
        if (entry[0] != 'E' || !text_starts(entry, "ENACT_"))
            continue;
        /* The first of a name, as getenv has it. */
        const char *rest = entry + 6;
        if (text_starts(rest, "AGENT=") && !out->agent)
            out->agent = rest + 6;
        else if (text_starts(rest, "MODE=") && !out->mode)
            out->mode = rest + 5;
    }
}

static uint64_t argv_hash(char *const argv[])
{
    uint64_t h = FNV64_OFFSET;
    for (size_t i = 0; argv && argv[i]; i++)
        h = fnv64_str(h, argv[i]);
    return h | 1; /* never 0 */
}

void env_admission_entry(char *const argv[], char out[ENV_ADMISSION_MAX])
{
    static const char hex[] = "0123456789abcdef";
    uint64_t h = argv_hash(argv);
    memcpy(out, "ENACT_ADMITTED=", 15);
    for (int i = 0; i < 16; i++)
        out[15 + i] = hex[(h >> (60 - 4 * i)) & 15];
    out[31] = '\0';
}

bool env_take_admission(char *const argv[])
{
    uint64_t want = __atomic_load_n(&admitted, __ATOMIC_ACQUIRE);
    return want != 0 && want == argv_hash(argv) &&
           __atomic_compare_exchange_n(&admitted, &want, 0, false, __ATOMIC_ACQ_REL,
                                       __ATOMIC_RELAXED);
}

/* Whether the LD_PRELOAD word w (n bytes) names this shim. */
static bool names_shim(const char *w, size_t n)
{
    size_t len = strlen(shim_path), base = sizeof SHIM_FILE - 1;
    if (n == len && memcmp(w, shim_path, n) == 0)
        return true;
    return n >= base && memcmp(w + n - base, SHIM_FILE, base) == 0 &&
           (n == base || w[n - base - 1] == '/');
}

static bool is_separator(char c)
{
    return c == ' ' || c == ':';
}

/* Copies the words of an LD_PRELOAD value that are not the shim into out
 * (space-separated, as ld.so reads them); returns the length. *exact: a
 * word is the shim's own path (NULL: not asked). The separators are
 * looked for by hand: strspn and strcspn would be two more first calls
 * for the loader to bind at every start. */
static size_t other_preloads(const char *value, char *out, bool *exact)
{
    size_t n = 0, self = exact ? strlen(shim_path) : 0;
    for (const char *p = value; *p;) {
        while (is_separator(*p))
            p++;
        size_t w = 0;
        while (p[w] && !is_separator(p[w]))
            w++;
        if (exact && self && w == self && memcmp(p, shim_path, w) == 0)
            *exact = true;
        if (w > 0 && !names_shim(p, w)) {
            if (n)
                out[n++] = ' ';
            memcpy(out + n, p, w);
            n += w;
        }
        p += w;
    }
    out[n] = '\0';
    return n;
}

/* The shim's variables out of environ, and the shim out of LD_PRELOAD, in
 * one pass over the entries: the program sees neither. One unsetenv each
 * walked the whole environment four times over (about 8,000 instructions
 * at every start, bench/NOTES.md). */
static void scrub_environ(void)
{
    size_t kept_entries = 0;
    for (char **e = environ; e && *e; e++) {
        char *entry = *e;
        if (is_shim_var(entry)) {
            if (text_starts(entry, "ENACT_ADMITTED="))
                admitted = strtoull(entry + 15, NULL, 16);
            continue;
        }
        if (entry[0] == 'L' && text_starts(entry, "LD_PRELOAD=")) {
            const char *preload = entry + 11;
            size_t len = strlen(preload);
            char rest[len + 1];
            bool exact = false;
            size_t kept = other_preloads(preload, rest, &exact);
            /* Kept only when it names the shim by the absolute path
             * children need. */
            if (len < PRELOAD_MAX && exact && pool_room(len + kept + 2)) {
                struct text t = pool_text(len + 1);
                text_bytes(&t, preload, len);
                started_preload = pool_keep(&t);
                t = pool_text(kept + 1);
                text_bytes(&t, rest, kept);
                scrubbed_preload = pool_keep(&t);
            }
            if (kept == 0)
                continue;
            if (kept < PRELOAD_MAX && pool_room(sizeof "LD_PRELOAD=" + kept)) {
                struct text t = pool_text(sizeof "LD_PRELOAD=" + kept);
                text_str(&t, "LD_PRELOAD=");
                text_bytes(&t, rest, kept);
                entry = preload_entry = pool_keep(&t);
            } else {
                memcpy(entry + 11, rest, kept + 1); /* shorter than it was: in place */
            }
        }
        environ[kept_entries++] = entry;
    }
    if (environ)
        environ[kept_entries] = NULL;
}

void env_init(const char *config_path, const char *agent, const char *mode)
{
    char resolved[PATH_MAX];
    /* The loader's name for the shim, found when libc's functions were
     * (real.h). An absolute path (enact run always gives one) is used as it
     * is: a realpath() costs a readlink per component at every start. */
    const char *file = real.shim_file ? real.shim_file : "";
    /* The pool's first strings: each fits. */
    struct text t = pool_text(PATH_MAX);
    if (file[0] == '/')
        text_str(&t, file);
    else if (file[0] && realpath(file, resolved))
        text_str(&t, resolved);
    shim_path = pool_keep(&t);
    /* Without stdio: each snprintf cost about 700 instructions here. */
    char cwd[PATH_MAX];
    t = pool_text(PATH_MAX + 16);
    text_str(&t, "ENACT_CONFIG=");
    if (config_path[0] != '/' && getcwd(cwd, sizeof cwd)) {
        text_str(&t, cwd);
        text_str(&t, "/");
    }
    text_str(&t, config_path);
    config_entry = pool_keep(&t);
    t = pool_text(96);
    text_str(&t, "ENACT_AGENT=");
    text_str(&t, agent);
    agent_entry = pool_keep(&t);
    if (mode && *mode) {
        t = pool_text(32);
        text_str(&t, "ENACT_MODE=");
        text_str(&t, mode);
        mode_entry = pool_keep(&t);
    }
    scrub_environ();
    /* Only a library of the shim's name is preloaded into children: linked
     * into a program (tests/linked), the hooks have no library to give. */
    size_t len = strlen(shim_path), base = sizeof SHIM_FILE - 1;
    ready = len >= base && strcmp(shim_path + len - base, SHIM_FILE) == 0;
}

size_t env_entries(char *const envp[])
{
    char *const *e = envp;
    size_t n = 0;
    while (e && e[n])
        n++;
    return n;
}

static const char *preload_value(char *const envp[])
{
    for (char *const *e = envp; e && *e; e++)
        if (strncmp(*e, "LD_PRELOAD=", 11) == 0)
            return *e + 11;
    return NULL;
}

size_t env_preload_size(char *const envp[])
{
    const char *old = preload_value(envp);
    return sizeof "LD_PRELOAD=" + strlen(shim_path) + 1 + (old ? strlen(old) : 0) +
           strlen(started_preload);
}

#ifdef __SANITIZE_ADDRESS__
/* make asan only: a shim built with ASan needs the ASan runtime first in
 * every process it is loaded into, also in children given an environment
 * of their own. preload ("LD_PRELOAD=...") has room for it: its size
 * counts the whole started_preload. */
static void keep_runtime_first(char *preload)
{
    size_t len = strcspn(started_preload, " :");
    if (len == 0 || !memmem(started_preload, len, "libasan.so", 10) ||
        strncmp(preload + 11, started_preload, len) == 0)
        return;
    size_t rest = strlen(preload + 11);
    memmove(preload + 11 + len + 1, preload + 11, rest + 1);
    memcpy(preload + 11, started_preload, len);
    preload[11 + len] = ' ';
}
#endif

char *const *env_for_child(char *const envp[], char **out, char *preload, const char *extra)
{
    char *const *in = envp;
    if (!ready)
        return envp;
    size_t n = 0;
    for (char *const *e = in; e && *e; e++)
        if (!is_shim_var(*e) && strncmp(*e, "LD_PRELOAD=", 11) != 0)
            out[n++] = *e;
    size_t len = strlen(shim_path);
    memcpy(preload, "LD_PRELOAD=", 11);
    memcpy(preload + 11, shim_path, len + 1);
    len += 11;
    const char *old = preload_value(in);
    if (old && started_preload[0] && strcmp(old, scrubbed_preload) == 0) {
        memcpy(preload + 11, started_preload, strlen(started_preload) + 1);
    } else if (old) {
        preload[len] = ' ';
        if (other_preloads(old, preload + len + 1, NULL) == 0)
            preload[len] = '\0';
    }
#ifdef __SANITIZE_ADDRESS__
    keep_runtime_first(preload);
#endif
    out[n++] = preload;
    out[n++] = config_entry;
    out[n++] = agent_entry;
    if (mode_entry)
        out[n++] = mode_entry;
    if (extra)
        out[n++] = (char *)extra;
    out[n] = NULL;
    return out;
}
