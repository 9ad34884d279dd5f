/* Limits shared by many processes and threads stay exact (issue: shared
 * state): 16 processes x 4 threads on one quota and on one bucket; a
 * process killed while it holds a quota's lock does not stop the others. */
#include "helpers.h"

#include "config.h"
#include "config_match.h"
#include "gate.h"
#include "local_store.h"
#include "pidlock.h"
#include "state.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define SEC UINT64_C(1000000000)
#define MONO0 (UINT64_C(5000) * SEC)
#define REAL0 (UINT64_C(1800000000) * SEC)
#define PROCESSES 16
#define THREADS 4
#define TRIES 60 /* per thread: 3840 in all, well above either limit */

struct fixture {
    char *dir;
    char ini[PATH_MAX];
    char state[PATH_MAX];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->dir = th_mkdtemp();
    th_path(f->ini, sizeof f->ini, f->dir, "enact.ini");
    th_path(f->state, sizeof f->state, f->dir, "enact.state");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    th_rmtree(f->dir);
    free(f);
    return 0;
}

static struct enact_config *load(struct fixture *f, const char *text)
{
    th_write_file(f->ini, text);
    struct config_diag diag;
    struct enact_config *cfg = config_load(f->ini, &diag);
    for (size_t i = 0; i < diag.n; i++)
        print_message("%s\n", diag.lines[i]);
    config_diag_free(&diag);
    assert_non_null(cfg);
    return cfg;
}

/* What every thread of every process does: TRIES decisions, counting the
 * admitted ones into a counter shared by all processes. */
struct worker {
    const struct enact_config *cfg;
    struct state_map *m;
    uint64_t *admitted; /* in a MAP_SHARED page */
};

static void *work(void *arg)
{
    struct worker *w = arg;
    struct gate_call call = {.tool = &w->cfg->tools[0],
                             .agent_quota = config_agent_quota(w->cfg, "agent"),
                             .agent_id = gate_agent_id("agent"),
                             .owner = gettid(),
                             .mono_ns = MONO0,
                             .real_ns = REAL0};
    for (int i = 0; i < TRIES; i++) {
        struct gate_result g = gate_decide(w->cfg, local_store(w->m), &call);
        if (g.action == GATE_PROCEED)
            __atomic_fetch_add(w->admitted, 1, __ATOMIC_RELAXED);
        else if (g.action != GATE_REFUSE || strcmp(g.verdict, "deny") != 0)
            abort(); /* state_error or worse: the test fails through the exit status */
    }
    return NULL;
}

/* Runs PROCESSES x THREADS workers against cfg; returns the total admitted. */
static uint64_t hammer(struct fixture *f, const struct enact_config *cfg)
{
    uint64_t *admitted = mmap(NULL, sizeof *admitted, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(admitted != MAP_FAILED);
    *admitted = 0;
    pid_t kids[PROCESSES];
    for (int p = 0; p < PROCESSES; p++) {
        kids[p] = fork();
        assert_true(kids[p] >= 0);
        if (kids[p] == 0) {
            struct state_map m;
            char msg[512];
            if (state_open(f->state, NULL, &m, msg, sizeof msg) == STATE_FAILED)
                _exit(2);
            struct worker w = {.cfg = cfg, .m = &m, .admitted = admitted};
            pthread_t t[THREADS];
            for (int i = 0; i < THREADS; i++)
                pthread_create(&t[i], NULL, work, &w);
            for (int i = 0; i < THREADS; i++)
                pthread_join(t[i], NULL);
            _exit(0);
        }
    }
    for (int p = 0; p < PROCESSES; p++) {
        int status;
        assert_int_equal(waitpid(kids[p], &status, 0), kids[p]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    uint64_t total = *admitted;
    munmap(admitted, sizeof *admitted);
    return total;
}

static void test_one_quota_of_1000_admits_exactly_1000(void **state)
{
    struct fixture *f = *state;
    struct enact_config *cfg =
        load(f, "[tool.api]\nconnect = 127.0.0.1:80\nquota.max_actions = 1000\n");
    assert_int_equal(hammer(f, cfg), 1000);
    config_free(cfg);
}

static void test_one_agent_quota_of_1000_admits_exactly_1000(void **state)
{
    struct fixture *f = *state;
    struct enact_config *cfg =
        load(f, "[tool.api]\nconnect = 127.0.0.1:80\n[agent]\nquota.max_actions = 1000\n");
    assert_int_equal(hammer(f, cfg), 1000);
    config_free(cfg);
}

static void test_one_bucket_of_500_admits_exactly_500(void **state)
{
    struct fixture *f = *state;
    struct enact_config *cfg = load(f, "[tool.api]\nconnect = 127.0.0.1:80\n"
                                       "rate.max_calls_per_minute = 0.01\n"
                                       "rate.burst_size = 500\n");
    assert_int_equal(hammer(f, cfg), 500);
    config_free(cfg);
}

static void test_bucket_and_quota_together_admit_the_smaller(void **state)
{
    struct fixture *f = *state;
    struct enact_config *cfg = load(f, "[tool.api]\nconnect = 127.0.0.1:80\n"
                                       "rate.max_calls_per_minute = 0.01\n"
                                       "rate.burst_size = 700\nquota.max_actions = 600\n");
    assert_int_equal(hammer(f, cfg), 600);
    /* Refused calls consumed nothing: the bucket kept 700 - 600 tokens. */
    struct state_map m;
    char msg[512];
    assert_int_equal(state_open(f->state, NULL, &m, msg, sizeof msg), STATE_OPENED);
    uint64_t *word = state_find_bucket(&m, gate_bucket_key(gate_agent_id("agent"),
                                                           &cfg->tools[0]));
    assert_non_null(word);
    assert_int_equal(bucket_remaining(*word, &cfg->tools[0].rate, MONO0), 100);
    state_close(&m);
    config_free(cfg);
}

static void test_holder_killed_inside_the_lock(void **state)
{
    struct fixture *f = *state;
    struct enact_config *cfg =
        load(f, "[tool.api]\nconnect = 127.0.0.1:80\nquota.max_actions = 5\n");
    struct state_map m;
    char msg[512];
    assert_int_equal(state_open(f->state, NULL, &m, msg, sizeof msg), STATE_OPENED);
    struct gate_call call = {.tool = &cfg->tools[0], .agent_id = gate_agent_id("agent"),
                             .owner = gettid(), .mono_ns = MONO0, .real_ns = REAL0};
    for (int i = 0; i < 2; i++)
        assert_int_equal(gate_decide(cfg, local_store(&m), &call).action, GATE_PROCEED);

    /* A process parks inside the quota's lock, as if killed mid-update. */
    struct quota_slot *q =
        state_find_quota(&m, gate_tool_quota_key(call.agent_id, &cfg->tools[0]));
    assert_non_null(q);
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t holder = fork();
    if (holder == 0) {
        pidlock_acquire(&q->lock, gettid(), pidlock_clock_ms, pidlock_pid_alive);
        (void)!write(ready[1], "x", 1);
        pause();
        _exit(0);
    }
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    assert_int_equal((int32_t)(q->lock >> 32), holder);
    kill(holder, SIGKILL);
    assert_int_equal(waitpid(holder, NULL, 0), holder);

    uint32_t start = pidlock_clock_ms();
    for (int i = 0; i < 3; i++)
        assert_int_equal(gate_decide(cfg, local_store(&m), &call).action, GATE_PROCEED);
    assert_true(pidlock_clock_ms() - start < 1000);
    /* Exact: 5 admitted in all, the 6th refused. */
    struct gate_result g = gate_decide(cfg, local_store(&m), &call);
    assert_int_equal(g.action, GATE_REFUSE);
    assert_string_equal(g.reason, "quota_exceeded");
    close(ready[0]);
    close(ready[1]);
    state_close(&m);
    config_free(cfg);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_one_quota_of_1000_admits_exactly_1000),
        T(test_one_agent_quota_of_1000_admits_exactly_1000),
        T(test_one_bucket_of_500_admits_exactly_500),
        T(test_bucket_and_quota_together_admit_the_smaller),
        T(test_holder_killed_inside_the_lock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
