/* An agent that starts programs by vfork, as Python's subprocess does, and
 * reuses a descriptor number behind the shim's back. Each step prints what
 * the test checks the audit log against.
 *   vfork_agent SIM_PORT API_PORT PROGRAM
 * SIM_PORT: a dry-run tool; API_PORT: a tool with a burst of 1; PROGRAM:
 * a governed program (exec rule) each child runs. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int connect_to(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        if (s >= 0)
            close(s);
        return -1;
    }
    return s;
}

static void run_in_child(pid_t child)
{
    int status = 0;
    waitpid(child, &status, 0);
    printf("child %d exited %d\n", (int)child, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    int sim = connect_to(atoi(argv[1]));
    if (sim < 0) {
        perror("connect sim");
        return 1;
    }
    /* The vfork child runs on this process's memory: its close and its
     * exec must not pass for ours. */
    pid_t child = vfork();
    if (child == 0) {
        close(sim);
        execl(argv[3], argv[3], (char *)NULL);
        _exit(127);
    }
    run_in_child(child);
    /* Still ours: what it sends now is what the dry run records. */
    if (send(sim, "AFTER", 5, 0) != 5)
        perror("send");
    close(sim);

    child = fork();
    if (child == 0) {
        execl(argv[3], argv[3], (char *)NULL);
        _exit(127);
    }
    run_in_child(child);

    /* A fork past the hooks: no atfork handler runs in its child. */
    child = (pid_t)syscall(SYS_fork);
    if (child == 0) {
        execl(argv[3], argv[3], (char *)NULL);
        _exit(127);
    }
    run_in_child(child);

    /* A descriptor closed past the shim and its number reused: the new
     * socket's connect is a call of its own (the burst of 1 refuses it). */
    int api = connect_to(atoi(argv[2]));
    printf("api first %s\n", api >= 0 ? "connected" : "refused");
    syscall(SYS_close, api);
    int again = connect_to(atoi(argv[2]));
    printf("api again %s\n", again >= 0 ? "connected" : "refused");
    fflush(stdout);
    return 0;
}
