#include "redis_tls.h"

#include "clock.h"
#include "sys.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

/* OpenSSL's numbers, from <openssl/ssl.h> 3.0 (stable ABI). */
#define SSL_VERIFY_PEER 1
#define SSL_ERROR_WANT_READ 2
#define SSL_ERROR_WANT_WRITE 3
#define SSL_ERROR_ZERO_RETURN 6
#define SSL_CTRL_SET_TLSEXT_HOSTNAME 55
#define TLSEXT_NAMETYPE_host_name 0
#define X509_V_OK 0

/* The library, loaded once for the process (pthread_once) and never
 * unloaded: its table and Enact's BIO method are read-only once loaded. */
static struct {
    pthread_once_t once;
    bool ok;
    char why[160];
    struct redis_tls_api api;
    void *bio_method;
} lib = {.once = PTHREAD_ONCE_INIT};

static bool fail(char *why, size_t cap, const char *what)
{
    snprintf(why, cap, "%s", what);
    return false;
}

/* The last OpenSSL error, after what. */
static void say_error(const char *what, char *why, size_t cap)
{
    char text[160] = "";
    unsigned long e = lib.api.err_get();
    if (e)
        lib.api.err_string(e, text, sizeof text);
    snprintf(why, cap, "%s%s%s", what, text[0] ? ": " : "", text);
}

#define RESOLVE(field, name)                                                                     \
    do {                                                                                         \
        *(void **)&lib.api.field = sys_dlsym(handle, name);                                      \
        if (!lib.api.field) {                                                                    \
            snprintf(lib.why, sizeof lib.why, "libssl.so.3 has no %s", name);                    \
            return false;                                                                        \
        }                                                                                        \
    } while (0)

static bool resolve(void)
{
    void *handle = dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        snprintf(lib.why, sizeof lib.why,
                 "a rediss:// backend needs OpenSSL 3 (libssl3): cannot load libssl.so.3");
        return false;
    }
    RESOLVE(client_method, "TLS_client_method");
    RESOLVE(ctx_new, "SSL_CTX_new");
    RESOLVE(ctx_default_paths, "SSL_CTX_set_default_verify_paths");
    RESOLVE(ctx_load_ca, "SSL_CTX_load_verify_locations");
    RESOLVE(ctx_set_verify, "SSL_CTX_set_verify");
    RESOLVE(ssl_new, "SSL_new");
    RESOLVE(ctrl, "SSL_ctrl");
    RESOLVE(set1_host, "SSL_set1_host");
    RESOLVE(get0_param, "SSL_get0_param");
    RESOLVE(param_set1_ip_asc, "X509_VERIFY_PARAM_set1_ip_asc");
    RESOLVE(connect, "SSL_connect");
    RESOLVE(read, "SSL_read");
    RESOLVE(write, "SSL_write");
    RESOLVE(get_error, "SSL_get_error");
    RESOLVE(get_verify_result, "SSL_get_verify_result");
    RESOLVE(verify_string, "X509_verify_cert_error_string");
    RESOLVE(err_get, "ERR_get_error");
    RESOLVE(err_string, "ERR_error_string_n");
    RESOLVE(shutdown, "SSL_shutdown");
    RESOLVE(ssl_free, "SSL_free");
    RESOLVE(bio_new_index, "BIO_get_new_index");
    RESOLVE(bio_meth_new, "BIO_meth_new");
    RESOLVE(bio_meth_set_write, "BIO_meth_set_write");
    RESOLVE(bio_meth_set_read, "BIO_meth_set_read");
    RESOLVE(bio_meth_set_ctrl, "BIO_meth_set_ctrl");
    RESOLVE(bio_meth_set_create, "BIO_meth_set_create");
    RESOLVE(bio_new, "BIO_new");
    RESOLVE(bio_set_data, "BIO_set_data");
    RESOLVE(bio_get_data, "BIO_get_data");
    RESOLVE(bio_set_init, "BIO_set_init");
    RESOLVE(bio_set_flags, "BIO_set_flags");
    RESOLVE(bio_clear_flags, "BIO_clear_flags");
    RESOLVE(set_bio, "SSL_set_bio");
    return true;
}

/* ---- Enact's BIO: the socket through sys.h -------------------------------- */

/* openssl/bio.h's values. */
#define BIO_FLAGS_READ 0x01
#define BIO_FLAGS_WRITE 0x02
#define BIO_FLAGS_SHOULD_RETRY 0x08
#define BIO_FLAGS_RETRY_ALL 0x0f
#define BIO_TYPE_SOURCE_SINK 0x0400
#define BIO_CTRL_FLUSH 11

/* One read or write of the socket; EAGAIN asks OpenSSL to try again. */
static int transfer(void *bio, char *buf, int n, bool write)
{
    struct redis_tls_io *io = lib.api.bio_get_data(bio);
    lib.api.bio_clear_flags(bio, BIO_FLAGS_RETRY_ALL);
    if (n <= 0)
        return 0;
    ssize_t rc = write ? sys_sendto(io->fd, buf, (size_t)n, MSG_NOSIGNAL, NULL, 0)
                       : sys_read(io->fd, buf, (size_t)n);
    if (rc < 0 && (errno == EAGAIN || errno == EINTR))
        lib.api.bio_set_flags(bio, BIO_FLAGS_SHOULD_RETRY |
                                       (write ? BIO_FLAGS_WRITE : BIO_FLAGS_READ));
    return rc < 0 ? -1 : (int)rc;
}

static int bio_write(void *bio, const char *buf, int n)
{
    return transfer(bio, (char *)buf, n, true);
}

static int bio_read(void *bio, char *buf, int n)
{
    return transfer(bio, buf, n, false);
}

static long bio_ctrl(void *bio, int cmd, long n, void *p)
{
    (void)bio;
    (void)n;
    (void)p;
    return cmd == BIO_CTRL_FLUSH; /* nothing is buffered here */
}

static int bio_create(void *bio)
{
    lib.api.bio_set_init(bio, 1);
    return 1;
}

static void load(void)
{
    if (!resolve())
        return;
    void *m = lib.api.bio_meth_new(lib.api.bio_new_index() | BIO_TYPE_SOURCE_SINK, "enact");
    if (!m || lib.api.bio_meth_set_write(m, bio_write) != 1 ||
        lib.api.bio_meth_set_read(m, bio_read) != 1 ||
        lib.api.bio_meth_set_ctrl(m, bio_ctrl) != 1 ||
        lib.api.bio_meth_set_create(m, bio_create) != 1) {
        snprintf(lib.why, sizeof lib.why, "OpenSSL refused Enact's BIO method");
        return;
    }
    lib.bio_method = m;
    lib.ok = true;
}

bool redis_tls_start(struct redis_tls *t, const char *ca_file, char *why, size_t cap)
{
    pthread_once(&lib.once, load);
    if (!lib.ok)
        return fail(why, cap, lib.why);
    int untried = 0;
    if (__atomic_compare_exchange_n(&t->ready, &untried, 2, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        int done = -1;
        t->ctx = lib.api.ctx_new(lib.api.client_method());
        bool trusted = t->ctx && (ca_file && *ca_file
                                      ? lib.api.ctx_load_ca(t->ctx, ca_file, NULL) == 1
                                      : lib.api.ctx_default_paths(t->ctx) == 1);
        if (!trusted) {
            say_error(ca_file && *ca_file ? "cannot load backend.tls_ca_file"
                                          : "cannot load the system's CA certificates",
                      t->why, sizeof t->why);
        } else {
            lib.api.ctx_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
            done = 1;
        }
        __atomic_store_n(&t->ready, done, __ATOMIC_RELEASE);
    }
    while (__atomic_load_n(&t->ready, __ATOMIC_ACQUIRE) == 2)
        sched_yield(); /* another thread is making the context */
    if (__atomic_load_n(&t->ready, __ATOMIC_ACQUIRE) < 0)
        return fail(why, cap, t->why);
    return true;
}

/* Waits until fd is ready for what OpenSSL wants; false at the deadline. */
static bool wait_until(int fd, bool write, uint64_t deadline_ns)
{
    for (;;) {
        uint64_t now = clock_now_ns(CLOCK_MONOTONIC);
        if (now >= deadline_ns)
            return false;
        struct pollfd p = {.fd = fd, .events = write ? POLLOUT : POLLIN};
        int rc = poll(&p, 1, (int)((deadline_ns - now + 999999) / 1000000));
        if (rc > 0)
            return true;
        if (rc < 0 && errno != EINTR)
            return false;
    }
}

void *redis_tls_session(struct redis_tls *t, struct redis_tls_io *io, const char *host,
                        uint64_t deadline_ns, char *why, size_t cap)
{
    int fd = io->fd;
    void *ssl = lib.api.ssl_new(t->ctx);
    if (!ssl) {
        say_error("cannot start a TLS session", why, cap);
        return NULL;
    }
    unsigned char ip[16];
    bool numeric = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
    bool named = numeric ? lib.api.param_set1_ip_asc(lib.api.get0_param(ssl), host) == 1
                         : lib.api.set1_host(ssl, host) == 1 &&
                               lib.api.ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME,
                                           TLSEXT_NAMETYPE_host_name, (void *)host) == 1;
    void *bio = named ? lib.api.bio_new(lib.bio_method) : NULL;
    if (!bio) {
        say_error("cannot set up the TLS session", why, cap);
        lib.api.ssl_free(ssl);
        return NULL;
    }
    lib.api.bio_set_data(bio, io);
    lib.api.set_bio(ssl, bio, bio); /* the session owns it from now on */
    for (;;) {
        int rc = lib.api.connect(ssl);
        if (rc == 1)
            return ssl;
        int e = lib.api.get_error(ssl, rc);
        if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
            wait_until(fd, e == SSL_ERROR_WANT_WRITE, deadline_ns))
            continue;
        long verdict = lib.api.get_verify_result(ssl);
        if (verdict != X509_V_OK)
            snprintf(why, cap, "the server's certificate is not trusted: %s",
                     lib.api.verify_string(verdict));
        else if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            snprintf(why, cap, "no TLS handshake within backend.timeout_ms");
        else
            say_error("the TLS handshake failed", why, cap);
        lib.api.ssl_free(ssl);
        return NULL;
    }
}

static ssize_t outcome(void *ssl, int rc, bool *want_write)
{
    if (rc > 0)
        return rc;
    int e = lib.api.get_error(ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        *want_write = e == SSL_ERROR_WANT_WRITE;
        errno = EAGAIN;
        return -1;
    }
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    errno = EPROTO;
    return -1;
}

ssize_t redis_tls_read(void *ssl, void *buf, size_t n, bool *want_write)
{
    return outcome(ssl, lib.api.read(ssl, buf, n > 1u << 30 ? 1 << 30 : (int)n), want_write);
}

ssize_t redis_tls_write(void *ssl, const void *buf, size_t n, bool *want_write)
{
    return outcome(ssl, lib.api.write(ssl, buf, n > 1u << 30 ? 1 << 30 : (int)n), want_write);
}

void redis_tls_end(void *ssl, bool notify)
{
    if (!ssl)
        return;
    if (notify)
        (void)lib.api.shutdown(ssl);
    lib.api.ssl_free(ssl);
}
