/* fuzz_resp: the Redis protocol as Enact reads and writes it
 * (shim/pure/resp.h), on arbitrary bytes.
 *
 * Properties beyond "no crash":
 *  - resp_parse of any bytes takes at most what it was given, and every
 *    item it returns lies inside the buffer; parsing exactly the bytes it
 *    took gives the same reply, and any shorter prefix is "not complete";
 *  - resp_command of argv made from the input, parsed back by resp_parse,
 *    gives an array of the same arguments, byte for byte (binary-safe);
 *  - resp_redirect of any error text gives a NUL-terminated host that fits
 *    and a port from 1 to 65535.
 *
 * Input: byte 0 is the number of arguments (mod 12) for the round trip,
 * cut from the rest at 0xff bytes; the whole input is also parsed as a
 * reply and read as an error text. */
#include "fuzz.h"
#include "resp.h"

static void check_items(const struct resp_reply *r, const char *buf, size_t took)
{
    const struct resp_item *all[RESP_ITEMS_MAX + 1];
    size_t n = 0;
    all[n++] = &r->value;
    for (size_t i = 0; r->value.type == RESP_ARRAY && i < r->n; i++)
        all[n++] = &r->items[i];
    for (size_t i = 0; i < n; i++) {
        const struct resp_item *it = all[i];
        if (it->type == RESP_STATUS || it->type == RESP_ERROR || it->type == RESP_BULK)
            FUZZ_CHECK(it->text >= buf && it->text + it->len <= buf + took,
                       "item %zu outside the reply", i);
    }
}

static bool same_reply(const struct resp_reply *a, const struct resp_reply *b)
{
    if (a->value.type != b->value.type || a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (a->items[i].type != b->items[i].type || a->items[i].len != b->items[i].len ||
            a->items[i].integer != b->items[i].integer)
            return false;
    return true;
}

static void check_parse(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1); /* exactly size bytes: ASan sees any overread */
    memcpy(buf, data, size);
    struct resp_reply *r = malloc(sizeof *r), *again = malloc(sizeof *again);
    long took = resp_parse(buf, size, r);
    FUZZ_CHECK(took >= -1 && took <= (long)size, "took %ld of %zu", took, size);
    if (took > 0) {
        check_items(r, buf, (size_t)took);
        char *exact = malloc((size_t)took);
        memcpy(exact, buf, (size_t)took);
        FUZZ_CHECK(resp_parse(exact, (size_t)took, again) == took, "the reply alone differs");
        check_items(again, exact, (size_t)took);
        FUZZ_CHECK(same_reply(r, again), "the reply alone parses otherwise");
        for (long cut = 0; cut < took; cut += 1 + cut / 8) {
            long short_ = resp_parse(exact, (size_t)cut, again);
            FUZZ_CHECK(short_ == 0 || short_ == -1, "a prefix of %ld bytes took %ld", cut,
                       short_);
        }
        free(exact);
    }
    free(again);
    free(r);
    free(buf);
}

static void check_round_trip(const uint8_t *data, size_t size)
{
    if (size == 0)
        return;
    int argc = data[0] % 12;
    const char *argv[12];
    size_t lens[12];
    const uint8_t *p = data + 1, *end = data + size;
    for (int i = 0; i < argc; i++) {
        const uint8_t *cut = memchr(p, 0xff, (size_t)(end - p));
        const uint8_t *stop = cut ? cut : end;
        argv[i] = (const char *)p;
        lens[i] = (size_t)(stop - p);
        p = cut ? cut + 1 : end;
    }
    size_t cap = 64 + 32 * 12 + size;
    char *out = malloc(cap);
    size_t n = resp_command(out, cap, argc, argv, lens);
    FUZZ_CHECK(n > 0 && n <= cap, "encoding of %d arguments: %zu", argc, n);
    char *scratch = malloc(n); /* a failed encoding may leave bytes behind */
    for (size_t small = 0; small < n; small += 1 + small / 4)
        FUZZ_CHECK(resp_command(scratch, small, argc, argv, lens) == 0,
                   "encoding fits in %zu bytes of %zu", small, n);
    free(scratch);
    struct resp_reply *r = malloc(sizeof *r);
    long took = resp_parse(out, n, r);
    if (argc == 0) {
        FUZZ_CHECK(took == (long)n && r->value.type == RESP_ARRAY && r->n == 0, "empty array");
    } else {
        FUZZ_CHECK(took == (long)n, "took %ld of %zu", took, n);
        FUZZ_CHECK(r->value.type == RESP_ARRAY && r->n == (size_t)argc, "%zu items of %d", r->n,
                   argc);
        for (int i = 0; i < argc; i++)
            FUZZ_CHECK(r->items[i].type == RESP_BULK && r->items[i].len == lens[i] &&
                           memcmp(r->items[i].text, argv[i], lens[i]) == 0,
                       "argument %d differs", i);
    }
    free(r);
    free(out);
}

static void check_redirect(const uint8_t *data, size_t size)
{
    struct resp_item err = {.type = RESP_ERROR, .text = (const char *)data, .len = size};
    char host[64];
    uint16_t port = 0;
    bool ask;
    if (resp_redirect(&err, &ask, host, sizeof host, &port)) {
        FUZZ_CHECK(memchr(host, '\0', sizeof host) != NULL, "host not terminated");
        FUZZ_CHECK(port >= 1, "port %u", port);
        FUZZ_CHECK(ask == resp_error_is(&err, "ASK"), "ask %d", ask);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_parse(data, size);
    check_round_trip(data, size);
    check_redirect(data, size);
    return 0;
}
