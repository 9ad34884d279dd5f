/* fuzz_jsonw: the JSON writer (shim/pure/jsonw.h) on arbitrary bytes.
 *
 * Properties beyond "no crash":
 *  - a record written with every writer call (strings from arbitrary bytes,
 *    numbers, a boolean, a timestamp, an array) is valid JSON (RFC 8259, in
 *    UTF-8), checked by a strict validator written from the RFCs
 *    (json_check.h), not from jsonw.c;
 *  - round trip: what jw_bytes and jw_string write, read back by audit_parse
 *    (the reader behind `enact log`), is the input, with each byte that is
 *    not UTF-8 as U+0080..U+00FF, cut at the first NUL; numbers and the
 *    timestamp come back too;
 *  - max_out: a capped value never has more escaped bytes than the cap, the
 *    return value says whether it was cut, and a cut value is a prefix of
 *    the whole one, cut between two escapes (still valid JSON) and at most
 *    5 bytes short of the cap;
 *  - a buffer of any size, allocated exactly (ASan sees any write past it):
 *    the writer succeeds exactly when the record and its NUL fit, and
 *    otherwise stops with a clean prefix of the whole record.
 *
 * Input: byte 0 picks the buffer size, byte 1 max_out, the rest is the
 * value. */
#include "audit_read.h"
#include "fuzz.h"
#include "json_check.h"
#include "jsonw.h"

#include <inttypes.h>

struct input {
    const uint8_t *v;
    size_t n;
    const char *cstr; /* v up to its first NUL */
    uint64_t num;
    size_t max_out;
};

/* Every writer call, in the order of a record. */
static bool write_record(struct jsonw *w, const struct input *in)
{
    jw_object_begin(w);
    jw_uint(w, "v", in->num);
    jw_timestamp(w, "ts", in->num);
    jw_int(w, "pid", (int64_t)in->num);
    bool complete = jw_bytes(w, "detail", in->v, in->n, in->max_out);
    jw_string(w, "agent", in->cstr, in->max_out);
    jw_string(w, "host", NULL, 0);
    jw_array_begin(w, "argv");
    jw_string(w, NULL, in->cstr, 0);
    jw_bytes(w, NULL, in->v, in->n, in->max_out);
    jw_array_end(w);
    jw_array_begin(w, "empty");
    jw_array_end(w);
    jw_bool(w, "truncated", !complete);
    jw_object_end(w);
    jw_raw(w, "\n", 1);
    return complete;
}

static void check_roundtrip(const struct input *in)
{
    if (in->n > 1800)
        return; /* audit_read holds 8 KiB of unescaped values */
    static char buf[65536], want[4096], want_argv[8192];
    static struct audit_fields f;
    struct jsonw w;

    jw_init(&w, buf, sizeof buf);
    jw_object_begin(&w);
    jw_timestamp(&w, "ts", in->num);
    jw_int(&w, "pid", (int64_t)in->num);
    jw_uint(&w, "retry_after_ms", in->num);
    jw_bytes(&w, "detail", in->v, in->n, 0);
    jw_object_end(&w);
    FUZZ_CHECK(jw_ok(&w), "a record of %zu bytes did not fit 64 KiB", in->n);
    FUZZ_CHECK(audit_parse(buf, w.len, &f), "audit_parse refused what jsonw wrote: %s", buf);
    fz_json_roundtrip_expect(in->v, in->n, want);
    FUZZ_CHECK(f.v[AF_DETAIL] && strcmp(f.v[AF_DETAIL], want) == 0,
               "detail did not survive: wrote %s, read '%s'", buf, f.v[AF_DETAIL]);
    char num[32];
    snprintf(num, sizeof num, "%" PRId64, (int64_t)in->num);
    FUZZ_CHECK(f.v[AF_PID] && strcmp(f.v[AF_PID], num) == 0, "pid: wrote %s, read '%s'", num,
               f.v[AF_PID]);
    snprintf(num, sizeof num, "%" PRIu64, in->num);
    FUZZ_CHECK(f.v[AF_RETRY_AFTER_MS] && strcmp(f.v[AF_RETRY_AFTER_MS], num) == 0,
               "retry_after_ms: wrote %s, read '%s'", num, f.v[AF_RETRY_AFTER_MS]);
    uint64_t ms = in->num >= FZ_TIME_LIMIT_NS ? 0 : in->num - in->num % 1000000u;
    FUZZ_CHECK(audit_time_ns(&f) == ms, "ts %s read back as %" PRIu64 ", not %" PRIu64,
               f.v[AF_TS], audit_time_ns(&f), ms);

    jw_init(&w, buf, sizeof buf);
    jw_object_begin(&w);
    jw_array_begin(&w, "argv");
    jw_string(&w, NULL, in->cstr, 0);
    jw_bytes(&w, NULL, in->v, in->n, 0);
    jw_array_end(&w);
    jw_string(&w, "agent", in->cstr, 0);
    jw_object_end(&w);
    FUZZ_CHECK(audit_parse(buf, w.len, &f), "audit_parse refused what jsonw wrote: %s", buf);
    size_t k = fz_json_roundtrip_expect((const uint8_t *)in->cstr, strlen(in->cstr), want_argv);
    want_argv[k++] = ' ';
    fz_json_roundtrip_expect(in->v, in->n, want_argv + k);
    FUZZ_CHECK(f.v[AF_ARGV] && strcmp(f.v[AF_ARGV], want_argv) == 0,
               "argv did not survive: wrote %s, read '%s'", buf, f.v[AF_ARGV]);
    FUZZ_CHECK(f.v[AF_AGENT] && strncmp(f.v[AF_AGENT], want_argv, k - 1) == 0 &&
                   f.v[AF_AGENT][k - 1] == '\0',
               "agent did not survive: wrote %s, read '%s'", buf, f.v[AF_AGENT]);
}

/* One string value alone: "..." with and without max_out. */
static void check_max_out(const struct input *in)
{
    size_t cap = 6 * in->n + 3;
    char *full = malloc(cap), *cut = malloc(cap);
    struct jsonw w;
    jw_init(&w, full, cap);
    FUZZ_CHECK(jw_bytes(&w, NULL, in->v, in->n, 0), "jw_bytes without max_out said it cut");
    FUZZ_CHECK(jw_ok(&w), "%zu bytes escaped to more than 6 bytes each", in->n);
    FUZZ_CHECK(fz_json_valid(full, w.len), "not a valid JSON string: %s", full);
    size_t flen = w.len - 2;

    jw_init(&w, cut, cap);
    bool complete = jw_bytes(&w, NULL, in->v, in->n, in->max_out);
    FUZZ_CHECK(jw_ok(&w), "a capped value overflowed a buffer that holds the whole one");
    FUZZ_CHECK(fz_json_valid(cut, w.len), "a value cut at %zu is not valid JSON: %s", in->max_out,
               cut);
    size_t clen = w.len - 2;
    FUZZ_CHECK(memcmp(cut + 1, full + 1, clen) == 0 && clen <= flen,
               "the cut value is not a prefix of the whole: %s vs %s", cut, full);
    FUZZ_CHECK(complete == (clen == flen), "returned %d for %zu of %zu bytes", complete, clen,
               flen);
    if (in->max_out) {
        FUZZ_CHECK(clen <= in->max_out, "%zu escaped bytes for max_out %zu", clen, in->max_out);
        FUZZ_CHECK(complete == (flen <= in->max_out), "cut at %zu though %zu bytes fit %zu",
                   clen, flen, in->max_out);
        FUZZ_CHECK(complete || clen + 6 > in->max_out,
                   "cut at %zu bytes, more than one escape short of max_out %zu", clen,
                   in->max_out);
    }
    free(full);
    free(cut);
}

/* The record into a buffer of every size: all or a clean prefix. */
static void check_bounded(const struct input *in, uint8_t size_pick)
{
    static char big[65536];
    struct jsonw w;
    jw_init(&w, big, sizeof big);
    write_record(&w, in);
    FUZZ_CHECK(jw_ok(&w), "the record did not fit 64 KiB");
    FUZZ_CHECK(w.len > 0 && big[w.len - 1] == '\n' && fz_json_valid(big, w.len - 1),
               "the record is not valid JSON: %s", big);
    size_t full = w.len;

    size_t cap = (size_t)size_pick * (full + 2) / 255;
    char *buf = malloc(cap ? cap : 1);
    jw_init(&w, buf, cap);
    write_record(&w, in);
    FUZZ_CHECK(jw_ok(&w) == (full < cap), "jw_ok %d for %zu bytes in a buffer of %zu", jw_ok(&w),
               full, cap);
    FUZZ_CHECK(w.len <= full && (cap == 0 || w.len < cap), "len %zu, cap %zu", w.len, cap);
    FUZZ_CHECK(memcmp(buf, big, w.len) == 0, "what was written is not a prefix of the record");
    if (w.len > 0)
        FUZZ_CHECK(buf[w.len] == '\0', "the output is not NUL-terminated");
    if (jw_ok(&w))
        FUZZ_CHECK(w.len == full, "%zu of %zu bytes written", w.len, full);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cursor c = {data, size};
    uint8_t size_pick = take_u8(&c), max_pick = take_u8(&c);
    struct input in = {.v = c.p, .n = c.n, .max_out = max_pick};
    char *cstr = dup_cstr(c.p, c.n);
    in.cstr = cstr;
    memcpy(&in.num, c.n >= 8 ? c.p : (const uint8_t *)"\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    /* An exact copy: ASan sees a read past the value. */
    uint8_t *v = malloc(c.n ? c.n : 1);
    if (c.n)
        memcpy(v, c.p, c.n);
    in.v = v;

    check_max_out(&in);
    check_bounded(&in, size_pick);
    check_roundtrip(&in);

    free(v);
    free(cstr);
    return 0;
}
