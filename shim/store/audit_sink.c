#include "audit_sink.h"

#include "sys.h"
#include "../pure/jsonw.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

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
        err = sys_fallocate(fd, FALLOC_FL_KEEP_SIZE, st.st_size,
                            (off_t)(len + AUDIT_RESERVE_BYTES))
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
        sys_close(fd);
        return full;
    }
    ssize_t n;
    do {
        n = sys_write(fd, record, len);
    } while (n < 0 && errno == EINTR);
    int err = n < 0 ? errno : (size_t)n != len ? EIO : 0;
    sys_close(fd);
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
    ssize_t sent = sys_sendto(fd, msg, (size_t)n + len - 1, MSG_DONTWAIT | MSG_NOSIGNAL,
                          (struct sockaddr *)&addr, sizeof addr);
    int err = sent < 0 ? errno : 0;
    sys_close(fd);
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
