/* fuzz_shell_words: splitting a command that needs no shell into its words
 * (shim/pure/shell_words.h), as system() and popen() get it.
 *
 * Properties beyond "no crash" (buffers are allocated at their exact size,
 * so ASan sees a write past cap bytes or max pointers):
 *  - with room enough, the command is simple exactly when a reference
 *    reading of shell_words.h says so: only words of plain characters
 *    (letters, digits, _ . / - + = : , @ % ^ ~) between blanks, at least
 *    one, no word starting with '~', no '=' in the first;
 *  - its words are then the blank-separated tokens, in order, each in buf,
 *    and words[n] is NULL;
 *  - with less room (cap, max from the input), the answer is the same or
 *    false, never different words.
 *
 * Input: byte 0 picks cap, byte 1 max; the rest is the command. */
#include "fuzz.h"
#include "shell_words.h"

static bool plain(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("_./-+=:,@%^~", c));
}

/* The reference: whether cmd is simple, and its tokens. */
static bool ref_simple(const char *cmd, char **tokens, size_t *ntok)
{
    for (const char *p = cmd; *p; p++)
        if (!plain((unsigned char)*p) && *p != ' ' && *p != '\t')
            return false;
    char *copy = strdup(cmd), *save = NULL;
    size_t n = 0;
    for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
        tokens[n++] = strdup(w);
    free(copy);
    *ntok = n;
    if (n == 0 || (n > 0 && strchr(tokens[0], '=')))
        return false;
    for (size_t i = 0; i < n; i++)
        if (tokens[i][0] == '~')
            return false;
    return true;
}

static void check(const char *cmd, size_t cap, size_t max, bool room, char **tokens,
                  size_t ntok, bool want)
{
    /* exactly cap bytes and max pointers, even 0 */
    char *buf = malloc(cap);
    char **words = malloc(max * sizeof *words);
    bool got = shell_simple_words(cmd, buf, cap, words, max);
    if (room)
        FUZZ_CHECK(got == want, "'%s': simple %d, the reference says %d", cmd, got, want);
    else
        FUZZ_CHECK(!got || want, "'%s' called simple with cap %zu, max %zu", cmd, cap, max);
    if (got) {
        size_t n = 0;
        while (n < max && words[n]) {
            FUZZ_CHECK(words[n] >= buf && words[n] < buf + cap &&
                           memchr(words[n], 0, (size_t)(buf + cap - words[n])),
                       "word %zu outside buf", n);
            FUZZ_CHECK(n < ntok && strcmp(words[n], tokens[n]) == 0,
                       "'%s': word %zu is '%s', token '%s'", cmd, n, words[n],
                       n < ntok ? tokens[n] : "(none)");
            n++;
        }
        FUZZ_CHECK(n < max && words[n] == NULL && n == ntok, "'%s': %zu words of %zu", cmd, n,
                   ntok);
    }
    free(buf);
    free(words);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cursor c = {data, size};
    uint8_t cap_pick = take_u8(&c), max_pick = take_u8(&c);
    char *cmd = dup_cstr(c.p, c.n);
    size_t len = strlen(cmd);
    char **tokens = malloc((len / 2 + 2) * sizeof *tokens);
    size_t ntok = 0;
    bool want = ref_simple(cmd, tokens, &ntok);
    check(cmd, len + 1, len / 2 + 2, true, tokens, ntok, want);
    check(cmd, cap_pick % (len + 2), max_pick % 32, false, tokens, ntok, want);
    for (size_t i = 0; i < ntok; i++)
        free(tokens[i]);
    free(tokens);
    free(cmd);
    return 0;
}
