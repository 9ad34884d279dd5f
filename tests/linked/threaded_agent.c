/* A threaded agent with the shim's hooks linked in, not preloaded: a
 * sanitizer runtime must come first in a process and instrument the code it
 * checks, which a library preloaded into an uninstrumented program cannot
 * give it. Built with ThreadSanitizer (make tsan) and with ASan+UBSan
 * (make asan, make test); run by tests/linked/run.sh.
 *
 *   threaded_agent PORT_OPEN PORT_LIMITED THREADS ROUNDS
 *
 * THREADS threads each make ROUNDS connections to 127.0.0.1:PORT_OPEN (a
 * tool that admits everything, action = request: each send after a
 * receive is decided again), send and read an echo twice on each, dup and
 * dup2 the socket and close every copy; and one connect each round to
 * PORT_LIMITED (a tool of burst 50). Prints "echoes N admitted M refused R":
 * every echo must come back, and across all threads exactly 50 connects to
 * the limited tool may pass. Then it starts `true` 40 times, in turn with
 * posix_spawnp, system() and popen(), under a tool of burst 25, and prints
 * "starts S refused R". The sanitizers report any data race between the
 * hooks' tables (connections, pending connects) and the state file, and
 * any memory error or undefined behaviour on these paths. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int port_open, port_limited, rounds;
static atomic_long echoes, admitted, refused;

static int dial(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

static void *worker(void *arg)
{
    (void)arg;
    for (int r = 0; r < rounds; r++) {
        int fd = dial(port_open);
        if (fd < 0) {
            perror("connect to the open tool");
            exit(2);
        }
        for (int i = 0; i < 2; i++) {
            char buf[8] = "ping";
            if (send(fd, buf, 4, 0) != 4 || recv(fd, buf, 4, MSG_WAITALL) != 4) {
                perror("echo");
                exit(2);
            }
            echoes++;
        }
        int copy = dup(fd), other = socket(AF_INET, SOCK_STREAM, 0);
        if (copy >= 0 && other >= 0)
            dup2(copy, other);
        close(copy);
        close(other);
        close(fd);
        fd = dial(port_limited);
        if (fd >= 0) {
            admitted++;
            close(fd);
        } else if (errno == EPERM) {
            refused++;
        } else {
            perror("connect to the limited tool");
            exit(2);
        }
    }
    return NULL;
}

/* Echoes 4-byte messages on each accepted connection, one thread each. */
static void *echo_conn(void *arg)
{
    int c = (int)(long)arg;
    char buf[4];
    while (recv(c, buf, sizeof buf, MSG_WAITALL) == 4 && send(c, buf, 4, 0) == 4)
        ;
    close(c);
    return NULL;
}

static void *acceptor(void *arg)
{
    int s = (int)(long)arg;
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0)
            continue;
        pthread_t t;
        if (pthread_create(&t, NULL, echo_conn, (void *)(long)c) == 0)
            pthread_detach(t);
        else
            close(c);
    }
    return NULL;
}

static int listen_on(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 512) != 0) {
        perror("listen");
        exit(2);
    }
    return s;
}

/* Starts `true` n times (posix_spawnp, system(), popen() in turn); returns
 * how many ran and exited 0, and counts the refusals. */
static int start_true(int n, int *refused_starts)
{
    int ran = 0;
    *refused_starts = 0;
    for (int i = 0; i < n; i++) {
        int status = -1;
        if (i % 3 == 0) {
            pid_t pid;
            char *argv[] = {"true", NULL};
            if (posix_spawnp(&pid, "true", NULL, NULL, argv, environ) == 0)
                waitpid(pid, &status, 0);
        } else if (i % 3 == 1) {
            status = system("true");
        } else {
            FILE *p = popen("true", "r");
            status = p ? pclose(p) : -1;
            if (!p)
                status = 126 << 8;
        }
        if (status == 0)
            ran++;
        else
            (*refused_starts)++;
    }
    return ran;
}

int main(int argc, char **argv)
{
    int refusals;
    if (argc != 5) {
        fprintf(stderr, "usage: threaded_agent PORT_OPEN PORT_LIMITED THREADS ROUNDS\n");
        return 2;
    }
    port_open = atoi(argv[1]);
    port_limited = atoi(argv[2]);
    int threads = atoi(argv[3]);
    rounds = atoi(argv[4]);
    pthread_t acc[2];
    pthread_create(&acc[0], NULL, acceptor, (void *)(long)listen_on(port_open));
    pthread_create(&acc[1], NULL, acceptor, (void *)(long)listen_on(port_limited));
    pthread_t *t = calloc((size_t)threads, sizeof *t);
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    free(t);
    printf("echoes %ld admitted %ld refused %ld\n", (long)echoes, (long)admitted, (long)refused);
    int ran = start_true(40, &refusals);
    printf("starts %d refused %d\n", ran, refusals);
    return 0;
}
