/* TLS for a rediss:// backend, through the system's OpenSSL (libssl.so.3),
 * loaded with dlopen only when a config names such a backend: a governed
 * program that keeps its limits locally, or on plain Redis, never maps it.
 *
 * A context per store (the CA to trust: backend.tls_ca_file, else the
 * system's); one session per link. OpenSSL's bytes go through a BIO of
 * Enact's own over sys.h (never the shim's read and write hooks, and
 * MSG_NOSIGNAL: a server that hangs up raises no SIGPIPE in the agent).
 * The server's certificate must name the host the URL names (its DNS name
 * or IP address). OpenSSL allocates, so a
 * vfork child never starts a session (redis_store.h says what it does). */
#ifndef ENACT_REDIS_TLS_H
#define ENACT_REDIS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The OpenSSL functions Enact calls, resolved from the library
 * (redis_tls.c keeps the one table). */
struct redis_tls_api {
    const void *(*client_method)(void);
    void *(*ctx_new)(const void *method);
    int (*ctx_default_paths)(void *ctx);
    int (*ctx_load_ca)(void *ctx, const char *file, const char *dir);
    void (*ctx_set_verify)(void *ctx, int mode, void *callback);
    void *(*ssl_new)(void *ctx);
    long (*ctrl)(void *ssl, int cmd, long larg, void *parg);
    int (*set1_host)(void *ssl, const char *host);
    void *(*get0_param)(void *ssl);
    int (*param_set1_ip_asc)(void *param, const char *ip);
    int (*connect)(void *ssl);
    int (*read)(void *ssl, void *buf, int n);
    int (*write)(void *ssl, const void *buf, int n);
    int (*get_error)(const void *ssl, int ret);
    long (*get_verify_result)(const void *ssl);
    const char *(*verify_string)(long result);
    unsigned long (*err_get)(void);
    void (*err_string)(unsigned long e, char *buf, size_t len);
    int (*shutdown)(void *ssl);
    void (*ssl_free)(void *ssl);
    int (*bio_new_index)(void);
    void *(*bio_meth_new)(int type, const char *name);
    int (*bio_meth_set_write)(void *m, int (*write)(void *bio, const char *buf, int n));
    int (*bio_meth_set_read)(void *m, int (*read)(void *bio, char *buf, int n));
    int (*bio_meth_set_ctrl)(void *m, long (*ctrl)(void *bio, int cmd, long n, void *p));
    int (*bio_meth_set_create)(void *m, int (*create)(void *bio));
    void *(*bio_new)(const void *method);
    void (*bio_set_data)(void *bio, void *data);
    void *(*bio_get_data)(void *bio);
    void (*bio_set_init)(void *bio, int init);
    void (*bio_set_flags)(void *bio, int flags);
    void (*bio_clear_flags)(void *bio, int flags);
    void (*set_bio)(void *ssl, void *rbio, void *wbio);
};

/* What a session's BIO reads and writes: the link's socket. Kept by the
 * link, at the same place for the session's life. */
struct redis_tls_io {
    int fd;
};

/* A context: the CA it trusts. The library and its function table are the
 * process's, loaded once (as real.h's libc functions are resolved once)
 * and read-only afterwards. */
struct redis_tls {
    int ready; /* 0 not tried, 2 starting, 1 ready, -1 failed (why says why) */
    void *ctx;
    char why[160];
};

/* Loads OpenSSL and makes the context, once; false with why. */
bool redis_tls_start(struct redis_tls *t, const char *ca_file, char *why, size_t cap);

/* A session over io->fd (connected, non-blocking) with the server named
 * host, handshaken by deadline_ns; NULL with why. io must stay where it
 * is until the session ends. */
void *redis_tls_session(struct redis_tls *t, struct redis_tls_io *io, const char *host,
                        uint64_t deadline_ns, char *why, size_t cap);

/* Reads or writes like read(2) and write(2): -1 with errno EAGAIN when the
 * socket must become readable (*want_write false) or writable (true). */
ssize_t redis_tls_read(void *ssl, void *buf, size_t n, bool *want_write);
ssize_t redis_tls_write(void *ssl, const void *buf, size_t n, bool *want_write);

/* Ends a session: close_notify when the connection is this process's own,
 * never in a forked child (the parent may still use it). */
void redis_tls_end(void *ssl, bool notify);

#endif
