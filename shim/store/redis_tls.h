/* TLS for a rediss:// backend, through the system's OpenSSL (libssl.so.3),
 * loaded with dlopen only when a config names such a backend: a governed
 * program that keeps its limits locally, or on plain Redis, never maps it.
 *
 * One context per process (the CA to trust: backend.tls_ca_file, else the
 * system's); one session per link. The server's certificate must name the
 * host the URL names (its DNS name or IP address). OpenSSL allocates, so a
 * vfork child never starts a session (redis_store.h says what it does). */
#ifndef ENACT_REDIS_TLS_H
#define ENACT_REDIS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The OpenSSL functions Enact calls, resolved from the library. */
struct redis_tls_api {
    const void *(*client_method)(void);
    void *(*ctx_new)(const void *method);
    int (*ctx_default_paths)(void *ctx);
    int (*ctx_load_ca)(void *ctx, const char *file, const char *dir);
    void (*ctx_set_verify)(void *ctx, int mode, void *callback);
    void *(*ssl_new)(void *ctx);
    int (*set_fd)(void *ssl, int fd);
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
};

struct redis_tls {
    int ready; /* 0 not tried, 2 loading, 1 loaded, -1 failed (why says why) */
    void *lib;
    void *ctx;
    struct redis_tls_api api;
    char why[160];
};

/* Loads OpenSSL and makes the context, once; false with why. */
bool redis_tls_start(struct redis_tls *t, const char *ca_file, char *why, size_t cap);

/* A session over the connected, non-blocking socket fd with the server
 * named host, handshaken by deadline_ns; NULL with why. */
void *redis_tls_session(struct redis_tls *t, int fd, const char *host, uint64_t deadline_ns,
                        char *why, size_t cap);

/* Reads or writes like read(2) and write(2): -1 with errno EAGAIN when the
 * socket must become readable (*want_write false) or writable (true). */
ssize_t redis_tls_read(struct redis_tls *t, void *ssl, void *buf, size_t n, bool *want_write);
ssize_t redis_tls_write(struct redis_tls *t, void *ssl, const void *buf, size_t n,
                        bool *want_write);

/* Ends a session: close_notify when the connection is this process's own,
 * never in a forked child (the parent may still use it). */
void redis_tls_end(struct redis_tls *t, void *ssl, bool notify);

#endif
