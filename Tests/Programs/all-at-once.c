/*
 * all-at-once: many processes or threads alive at the same moment, each
 * changing its credentials with raw system calls and checking them.
 *
 * Usage: all-at-once processes N
 *        all-at-once threads N
 *
 * processes: the first process forks children, and each child forks its
 * own children, until N processes besides the first exist (a tree two
 * levels deep, about sqrt(N) wide, so that no single parent forks them
 * all). Each one calls setresuid to its own uid (1000 + its number modulo
 * 1000), checks getuid, geteuid and getresuid, reports one byte, and then
 * blocks until the first process has heard from all N. Only then are they
 * released, so all N live at once. Prints "processes N mismatched M".
 *
 * threads: N threads, each calling setresuid (raw, so for its own thread
 * only, as the kernel does) to 2000 + its number, checking getuid, waiting
 * on a barrier until all N have done so, and checking again, so that no
 * thread sees another's change. Prints "threads N mismatched M".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void fail(const char *message)
{
    fprintf(stderr, "all-at-once: %s: %s\n", message, strerror(errno));
    _exit(2);
}

/* 'y' when the calling thread has uid, euid and saved uid `expected`. */
static char check_ids(long expected)
{
    unsigned real = 0, effective = 0, saved = 0;
    if (syscall(SYS_getresuid, &real, &effective, &saved) != 0)
        return 'n';
    int matches = syscall(SYS_getuid) == expected && syscall(SYS_geteuid) == expected
        && real == expected && effective == expected && saved == expected;
    return matches ? 'y' : 'n';
}

static int report_pipe[2];
static int release_pipe[2];

/* Runs in every process but the first: changes and checks the ids,
 * reports, and waits for EOF on the release pipe. */
static void member(long number)
{
    long uid = 1000 + number % 1000;
    char verdict = syscall(SYS_setresuid, uid, uid, uid) == 0 ? check_ids(uid) : 'n';
    if (write(report_pipe[1], &verdict, 1) != 1)
        _exit(3);
    char byte;
    while (read(release_pipe[0], &byte, 1) < 0 && errno == EINTR)
        ;
}

/* Waits for every child of the calling process; returns how many ended
 * with a status other than exit 0. */
static long wait_for_children(void)
{
    long failed = 0;
    int status;
    pid_t pid;
    while ((pid = wait(&status)) > 0 || (pid < 0 && errno == EINTR)) {
        if (pid > 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
            failed++;
    }
    return failed;
}

static int run_processes(long count)
{
    if (pipe(report_pipe) != 0 || pipe(release_pipe) != 0)
        fail("pipe failed");

    long width = (long)ceil(sqrt((double)count));
    long next = 0;
    for (long branch = 0; branch < width && next < count; branch++) {
        long first = next;
        long size = count - next < width ? count - next : width;
        next += size;
        pid_t child = fork();
        if (child < 0)
            fail("fork failed");
        if (child != 0)
            continue;

        /* A branch: this process is member `first`, its children the rest. */
        close(release_pipe[1]);
        close(report_pipe[0]);
        for (long number = first + 1; number < first + size; number++) {
            pid_t leaf = fork();
            if (leaf < 0)
                fail("fork failed");
            if (leaf == 0) {
                member(number);
                _exit(0);
            }
        }
        member(first);
        _exit(wait_for_children() == 0 ? 0 : 4);
    }
    close(release_pipe[0]);
    close(report_pipe[1]);

    long received = 0, mismatched = 0;
    char buffer[4096];
    while (received < count) {
        ssize_t got = read(report_pipe[0], buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        for (ssize_t i = 0; i < got; i++)
            mismatched += buffer[i] != 'y';
        received += got;
    }
    close(release_pipe[1]);
    long failed = wait_for_children();

    printf("processes %ld mismatched %ld\n", received, mismatched);
    if (failed != 0)
        printf("branches failed %ld\n", failed);
    return received == count && mismatched == 0 && failed == 0 ? 0 : 1;
}

static pthread_barrier_t barrier;
static long mismatched_threads;
static pthread_mutex_t mismatch_lock = PTHREAD_MUTEX_INITIALIZER;

static void *thread_main(void *argument)
{
    long uid = 2000 + (long)argument;
    int matches = syscall(SYS_setresuid, uid, uid, uid) == 0 && check_ids(uid) == 'y';
    pthread_barrier_wait(&barrier);
    matches = matches && check_ids(uid) == 'y';
    if (!matches) {
        pthread_mutex_lock(&mismatch_lock);
        mismatched_threads++;
        pthread_mutex_unlock(&mismatch_lock);
    }
    return NULL;
}

static int run_threads(long count)
{
    if (pthread_barrier_init(&barrier, NULL, (unsigned)count) != 0)
        fail("pthread_barrier_init failed");
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setstacksize(&attributes, 64 * 1024);

    pthread_t *threads = calloc((size_t)count, sizeof *threads);
    if (threads == NULL)
        fail("calloc failed");
    for (long i = 0; i < count; i++) {
        int error = pthread_create(&threads[i], &attributes, thread_main, (void *)i);
        if (error != 0) {
            errno = error;
            fail("pthread_create failed");
        }
    }
    for (long i = 0; i < count; i++)
        pthread_join(threads[i], NULL);

    printf("threads %ld mismatched %ld\n", count, mismatched_threads);
    return mismatched_threads == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    long count = argc == 3 ? strtol(argv[2], NULL, 10) : 0;
    if (count <= 0) {
        fprintf(stderr, "usage: all-at-once processes|threads N\n");
        return 2;
    }
    if (strcmp(argv[1], "processes") == 0)
        return run_processes(count);
    if (strcmp(argv[1], "threads") == 0)
        return run_threads(count);
    fprintf(stderr, "all-at-once: unknown mode '%s'; expected processes or threads\n", argv[1]);
    return 2;
}
