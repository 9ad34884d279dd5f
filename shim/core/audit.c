#include "audit.h"

#include "jsonw.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Output budgets in bytes, chosen so that the worst case fits
 * AUDIT_RECORD_MAX: keys, numbers and punctuation ~350, host 512 (connect
 * records, which have no argv), names x 128
 * (agent, exe, op, tool, verdict, reason, errno; or from, to, impact,
 * impact_reason in their own records), target 512, argv 1536 + one argument
 * of overshoot + separators, would_execute 512 (dry-run records, whose argv
 * it replaces), detail 256: under 4,000. */
#define NAME_MAX_OUT 128
#define TARGET_MAX_OUT 512
#define ARG_MAX_OUT 256
#define ARGV_MAX_OUT 1536
#define ARGV_MAX_ITEMS 64
#define DETAIL_MAX_OUT 256

static void optional_string(struct jsonw *w, const char *key, const char *v, size_t max_out)
{
    if (v)
        jw_string(w, key, v, max_out);
}

size_t audit_format(const struct audit_event *ev, char *buf, size_t cap)
{
    struct jsonw w;
    jw_init(&w, buf, cap);
    jw_object_begin(&w);
    jw_uint(&w, "v", 1);
    jw_timestamp(&w, "ts", ev->unix_ns);
    jw_int(&w, "pid", ev->pid);
    optional_string(&w, "agent", ev->agent, NAME_MAX_OUT);
    optional_string(&w, "exe", ev->exe, NAME_MAX_OUT);
    optional_string(&w, "op", ev->op, NAME_MAX_OUT);
    optional_string(&w, "tool", ev->tool, NAME_MAX_OUT);
    bool truncated = false;
    if (ev->target && !jw_string(&w, "target", ev->target, TARGET_MAX_OUT))
        truncated = true;
    optional_string(&w, "host", ev->host, TARGET_MAX_OUT);
    if (ev->argv && !ev->would_execute) {
        size_t used = 0, i = 0;
        jw_array_begin(&w, "argv");
        for (; ev->argv[i] && i < ARGV_MAX_ITEMS; i++) {
            size_t before = w.len;
            if (!jw_string(&w, NULL, ev->argv[i], ARG_MAX_OUT))
                truncated = true;
            used += w.len - before;
            if (used > ARGV_MAX_OUT) {
                i++;
                break;
            }
        }
        if (ev->argv[i])
            truncated = true;
        jw_array_end(&w);
    }
    optional_string(&w, "verdict", ev->verdict, NAME_MAX_OUT);
    optional_string(&w, "reason", ev->reason, NAME_MAX_OUT);
    optional_string(&w, "errno", ev->errno_name, NAME_MAX_OUT);
    if (ev->has_retry_after)
        jw_uint(&w, "retry_after_ms", ev->retry_after_ms);
    optional_string(&w, "from", ev->from, NAME_MAX_OUT);
    optional_string(&w, "to", ev->to, NAME_MAX_OUT);
    if (ev->would_execute &&
        !jw_bytes(&w, "would_execute", ev->would_execute,
                  ev->would_execute_len ? ev->would_execute_len : strlen(ev->would_execute),
                  TARGET_MAX_OUT))
        truncated = true;
    optional_string(&w, "impact", ev->impact, NAME_MAX_OUT);
    optional_string(&w, "impact_reason", ev->impact_reason, NAME_MAX_OUT);
    optional_string(&w, "detail", ev->detail, DETAIL_MAX_OUT);
    if (truncated)
        jw_bool(&w, "truncated", true);
    jw_object_end(&w);
    jw_raw(&w, "\n", 1);
    return jw_ok(&w) ? w.len : 0;
}

/* Bytes reserved past the end of a log file before each record. */
#define AUDIT_RESERVE_BYTES (64u * 1024u)

/* Space for the record, reserved before it is written: on a nearly full
 * disk a record is then written whole or not at all (an errno), never
 * torn, so the next record does not run into a half line. The reserve
 * beyond the record keeps this true while other processes append too. */
static int reserve_room(int fd, size_t len)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return 0; /* a FIFO or a device: nothing to reserve */
    int err;
    do {
        err = fallocate(fd, FALLOC_FL_KEEP_SIZE, st.st_size, (off_t)(len + AUDIT_RESERVE_BYTES))
                  ? errno
                  : 0;
    } while (err == EINTR);
    return err == ENOSPC || err == EDQUOT || err == EFBIG ? err : 0;
}

int audit_append(const char *path, const char *record, size_t len)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0600);
    if (fd < 0)
        return errno;
    int full = reserve_room(fd, len);
    if (full) {
        close(fd);
        return full;
    }
    ssize_t n;
    do {
        n = write(fd, record, len);
    } while (n < 0 && errno == EINTR);
    int err = n < 0 ? errno : (size_t)n != len ? EIO : 0;
    close(fd);
    return err;
}

/* RFC 5424: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG, with
 * facility user and severity notice (13); the record (without its
 * newline) is the message. A datagram on a non-blocking socket: a full or
 * absent syslog loses the record (an errno) rather than stall the call. */
static int send_syslog(const struct audit_event *ev, const char *record, size_t len)
{
    char msg[AUDIT_RECORD_MAX + 400], ts[32], host[256] = "-";
    format_utc_ms(ts, ev->unix_ns);
    if (gethostname(host, sizeof host) != 0 || !host[0])
        memcpy(host, "-", 2);
    host[sizeof host - 1] = '\0';
    int n = snprintf(msg, sizeof msg, "<13>1 %s %s enact %ld - - ", ts, host, ev->pid);
    if (n < 0 || (size_t)n + len > sizeof msg)
        return EMSGSIZE;
    memcpy(msg + n, record, len - 1); /* without the newline */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return errno;
    struct sockaddr_un addr = {.sun_family = AF_UNIX, .sun_path = "/dev/log"};
    ssize_t sent = sendto(fd, msg, (size_t)n + len - 1, MSG_DONTWAIT | MSG_NOSIGNAL,
                          (struct sockaddr *)&addr, sizeof addr);
    int err = sent < 0 ? errno : 0;
    close(fd);
    return err;
}

int audit_log(const char *path, const struct audit_event *ev)
{
    char buf[AUDIT_RECORD_MAX];
    size_t len = audit_format(ev, buf, sizeof buf);
    if (len == 0)
        return EMSGSIZE;
    if (strcmp(path, AUDIT_SYSLOG) == 0)
        return send_syslog(ev, buf, len);
    return audit_append(path, buf, len);
}
