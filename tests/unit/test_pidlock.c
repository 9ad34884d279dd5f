/* pidlock: mutual exclusion between threads and processes, take-over from
 * dead or overdue holders, no hang. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pidlock.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static bool never_alive(int32_t tid)
{
    (void)tid;
    return false;
}

static bool always_alive(int32_t tid)
{
    (void)tid;
    return true;
}

static void test_try_excludes_and_release_frees(void **state)
{
    (void)state;
    uint64_t word = 0;
    assert_true(pidlock_try(&word, 100, 5000, always_alive));
    assert_int_equal(word >> 32, 100);
    assert_int_equal((uint32_t)word, 5000 + PIDLOCK_HOLD_MS);
    assert_false(pidlock_try(&word, 200, 5001, always_alive));
    pidlock_release(&word, 100);
    assert_int_equal(word, 0);
    assert_true(pidlock_try(&word, 200, 5002, always_alive));
}

static void test_release_by_other_owner_is_ignored(void **state)
{
    (void)state;
    uint64_t word = 0;
    assert_true(pidlock_try(&word, 100, 0, always_alive));
    pidlock_release(&word, 200);
    assert_int_equal(word >> 32, 100);
}

static void test_overdue_holder_is_taken_over(void **state)
{
    (void)state;
    uint64_t word = 0;
    assert_true(pidlock_try(&word, 100, 1000, always_alive));
    assert_false(pidlock_try(&word, 200, 1000 + PIDLOCK_HOLD_MS - 1, always_alive));
    assert_true(pidlock_try(&word, 200, 1000 + PIDLOCK_HOLD_MS, always_alive));
    assert_int_equal(word >> 32, 200);
    /* The old holder's late release leaves the new holder's lock alone. */
    pidlock_release(&word, 100);
    assert_int_equal(word >> 32, 200);
}

static void test_deadline_wraps_around(void **state)
{
    (void)state;
    uint64_t word = 0;
    uint32_t near_wrap = UINT32_MAX - 10;
    assert_true(pidlock_try(&word, 100, near_wrap, always_alive));
    /* The deadline wrapped past zero: 20 ms later is still before it. */
    assert_false(pidlock_try(&word, 200, near_wrap + 20, always_alive));
    assert_true(pidlock_try(&word, 200, near_wrap + PIDLOCK_HOLD_MS, always_alive));
}

static void test_dead_holder_is_taken_over(void **state)
{
    (void)state;
    uint64_t word = 0;
    assert_true(pidlock_try(&word, 100, 0, always_alive));
    assert_false(pidlock_try(&word, 200, 1, NULL));
    assert_true(pidlock_try(&word, 200, 1, never_alive));
}

/* A clock that, each time it is read, lets a busy holder (tid 100) take
 * the lock again, as a live holder looping on it would. */
static uint32_t fake_now;
static uint64_t *contended;
static uint32_t busy_holder_clock(void)
{
    fake_now += 10;
    *contended = (uint64_t)100 << 32 | (fake_now + PIDLOCK_HOLD_MS);
    return fake_now;
}

static void test_acquire_gives_up_instead_of_hanging(void **state)
{
    (void)state;
    uint64_t word = 0;
    fake_now = 0;
    contended = &word;
    assert_false(pidlock_acquire(&word, 200, busy_holder_clock, always_alive));
    assert_int_equal(word >> 32, 100);
    assert_true(fake_now >= PIDLOCK_WAIT_MS);
    assert_true(fake_now <= PIDLOCK_WAIT_MS + 20);
}

static void test_real_pid_alive(void **state)
{
    (void)state;
    assert_true(pidlock_pid_alive(getpid()));
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    assert_int_equal(waitpid(child, NULL, 0), child);
    assert_false(pidlock_pid_alive(child));
    assert_false(pidlock_pid_alive(0));
}

/* Shared between processes and threads: the lock, and a counter updated
 * non-atomically inside it (lost updates would show a wrong total). */
struct shared {
    uint64_t lock;
    volatile uint64_t counter;
};

#define THREADS 4
#define ROUNDS 20000

static void *hammer(void *arg)
{
    struct shared *sh = arg;
    int32_t me = gettid();
    for (int i = 0; i < ROUNDS; i++) {
        assert_true(pidlock_acquire(&sh->lock, me, pidlock_clock_ms, pidlock_pid_alive));
        uint64_t v = sh->counter;
        sh->counter = v + 1;
        pidlock_release(&sh->lock, me);
    }
    return NULL;
}

static void test_processes_and_threads_exclude_each_other(void **state)
{
    (void)state;
    struct shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(sh != MAP_FAILED);
    sh->lock = 0;
    sh->counter = 0;
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            pthread_t t[THREADS];
            for (int i = 0; i < THREADS; i++)
                pthread_create(&t[i], NULL, hammer, sh);
            for (int i = 0; i < THREADS; i++)
                pthread_join(t[i], NULL);
            _exit(0);
        }
    }
    for (int k = 0; k < 2; k++) {
        int status;
        assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_int_equal(sh->counter, 2 * THREADS * ROUNDS);
    assert_int_equal(sh->lock, 0);
    munmap(sh, sizeof *sh);
}

static void test_holder_killed_inside_is_taken_over_within_a_second(void **state)
{
    (void)state;
    struct shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(sh != MAP_FAILED);
    sh->lock = 0;
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t holder = fork();
    if (holder == 0) {
        pidlock_acquire(&sh->lock, gettid(), pidlock_clock_ms, pidlock_pid_alive);
        (void)!write(ready[1], "x", 1);
        pause();
        _exit(0);
    }
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    kill(holder, SIGKILL);
    assert_int_equal(waitpid(holder, NULL, 0), holder);
    uint32_t start = pidlock_clock_ms();
    assert_true(pidlock_acquire(&sh->lock, gettid(), pidlock_clock_ms, pidlock_pid_alive));
    assert_true(pidlock_clock_ms() - start < 1000);
    close(ready[0]);
    close(ready[1]);
    munmap(sh, sizeof *sh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_try_excludes_and_release_frees),
        cmocka_unit_test(test_release_by_other_owner_is_ignored),
        cmocka_unit_test(test_overdue_holder_is_taken_over),
        cmocka_unit_test(test_deadline_wraps_around),
        cmocka_unit_test(test_dead_holder_is_taken_over),
        cmocka_unit_test(test_acquire_gives_up_instead_of_hanging),
        cmocka_unit_test(test_real_pid_alive),
        cmocka_unit_test(test_processes_and_threads_exclude_each_other),
        cmocka_unit_test(test_holder_killed_inside_is_taken_over_within_a_second),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
