#include "redis_tls.h"

#include "clock.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
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

static bool fail(char *why, size_t cap, const char *what)
{
    snprintf(why, cap, "%s", what);
    return false;
}

/* The last OpenSSL error, after what. */
static void say_error(struct redis_tls *t, const char *what, char *why, size_t cap)
{
    char text[160] = "";
    unsigned long e = t->api.err_get();
    if (e)
        t->api.err_string(e, text, sizeof text);
    snprintf(why, cap, "%s%s%s", what, text[0] ? ": " : "", text);
}

#define RESOLVE(field, name)                                                                     \
    do {                                                                                         \
        *(void **)&t->api.field = dlsym(t->lib, name);                                           \
        if (!t->api.field) {                                                                     \
            snprintf(t->why, sizeof t->why, "libssl.so.3 has no %s", name);                      \
            return false;                                                                        \
        }                                                                                        \
    } while (0)

static bool load(struct redis_tls *t)
{
    t->lib = dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL);
    if (!t->lib) {
        snprintf(t->why, sizeof t->why,
                 "a rediss:// backend needs OpenSSL 3 (libssl3): cannot load libssl.so.3");
        return false;
    }
    RESOLVE(client_method, "TLS_client_method");
    RESOLVE(ctx_new, "SSL_CTX_new");
    RESOLVE(ctx_default_paths, "SSL_CTX_set_default_verify_paths");
    RESOLVE(ctx_load_ca, "SSL_CTX_load_verify_locations");
    RESOLVE(ctx_set_verify, "SSL_CTX_set_verify");
    RESOLVE(ssl_new, "SSL_new");
    RESOLVE(set_fd, "SSL_set_fd");
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
    return true;
}

bool redis_tls_start(struct redis_tls *t, const char *ca_file, char *why, size_t cap)
{
    int untried = 0;
    if (__atomic_compare_exchange_n(&t->ready, &untried, 2, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        int done = -1;
        if (load(t)) {
            t->ctx = t->api.ctx_new(t->api.client_method());
            bool trusted = t->ctx && (ca_file && *ca_file
                                          ? t->api.ctx_load_ca(t->ctx, ca_file, NULL) == 1
                                          : t->api.ctx_default_paths(t->ctx) == 1);
            if (!trusted)
                say_error(t,
                          ca_file && *ca_file ? "cannot load backend.tls_ca_file"
                                              : "cannot load the system's CA certificates",
                          t->why, sizeof t->why);
            else {
                t->api.ctx_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
                done = 1;
            }
        }
        __atomic_store_n(&t->ready, done, __ATOMIC_RELEASE);
    }
    while (__atomic_load_n(&t->ready, __ATOMIC_ACQUIRE) == 2)
        sched_yield(); /* another thread is loading it */
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

void *redis_tls_session(struct redis_tls *t, int fd, const char *host, uint64_t deadline_ns,
                        char *why, size_t cap)
{
    void *ssl = t->api.ssl_new(t->ctx);
    if (!ssl) {
        say_error(t, "cannot start a TLS session", why, cap);
        return NULL;
    }
    unsigned char ip[16];
    bool numeric = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
    bool named = numeric ? t->api.param_set1_ip_asc(t->api.get0_param(ssl), host) == 1
                         : t->api.set1_host(ssl, host) == 1 &&
                               t->api.ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME,
                                           TLSEXT_NAMETYPE_host_name, (void *)host) == 1;
    if (!named || t->api.set_fd(ssl, fd) != 1) {
        say_error(t, "cannot set up the TLS session", why, cap);
        t->api.ssl_free(ssl);
        return NULL;
    }
    for (;;) {
        int rc = t->api.connect(ssl);
        if (rc == 1)
            return ssl;
        int e = t->api.get_error(ssl, rc);
        if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
            wait_until(fd, e == SSL_ERROR_WANT_WRITE, deadline_ns))
            continue;
        long verdict = t->api.get_verify_result(ssl);
        if (verdict != X509_V_OK)
            snprintf(why, cap, "the server's certificate is not trusted: %s",
                     t->api.verify_string(verdict));
        else if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            snprintf(why, cap, "no TLS handshake within backend.timeout_ms");
        else
            say_error(t, "the TLS handshake failed", why, cap);
        t->api.ssl_free(ssl);
        return NULL;
    }
}

static ssize_t outcome(struct redis_tls *t, void *ssl, int rc, bool *want_write)
{
    if (rc > 0)
        return rc;
    int e = t->api.get_error(ssl, rc);
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

ssize_t redis_tls_read(struct redis_tls *t, void *ssl, void *buf, size_t n, bool *want_write)
{
    return outcome(t, ssl, t->api.read(ssl, buf, n > 1u << 30 ? 1 << 30 : (int)n), want_write);
}

/* OpenSSL writes with write(2), which raises SIGPIPE on a connection the
 * server closed: that signal would kill the agent. It is blocked for the
 * call and, if one came, taken before it is unblocked. */
ssize_t redis_tls_write(struct redis_tls *t, void *ssl, const void *buf, size_t n,
                        bool *want_write)
{
    sigset_t pipe, old;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &old);
    ssize_t rc = outcome(t, ssl, t->api.write(ssl, buf, n > 1u << 30 ? 1 << 30 : (int)n),
                         want_write);
    int err = errno;
    if (!sigismember(&old, SIGPIPE)) {
        sigset_t pending;
        if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
            (void)sigtimedwait(&pipe, NULL, &(struct timespec){0});
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    errno = err;
    return rc;
}

void redis_tls_end(struct redis_tls *t, void *ssl, bool notify)
{
    if (!ssl)
        return;
    if (notify)
        (void)t->api.shutdown(ssl);
    t->api.ssl_free(ssl);
}
