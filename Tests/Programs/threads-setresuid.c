/* 200 threads wait while the main thread calls setresuid through glibc,
 * which makes every thread of the process make the same system call (the
 * kernel changes one thread's credentials only). Every thread then reads
 * its own ids with the raw getresuid call. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { thread_count = 200, target_uid = 2000 };

static pthread_barrier_t before, after;
static int mismatches;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *run(void *unused) {
    (void)unused;
    pthread_barrier_wait(&before);
    pthread_barrier_wait(&after);
    uid_t real, effective, saved;
    if (syscall(SYS_getresuid, &real, &effective, &saved) != 0 || real != target_uid || effective != target_uid || saved != target_uid) {
        pthread_mutex_lock(&lock);
        mismatches++;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

int main(void) {
    pthread_barrier_init(&before, NULL, thread_count + 1);
    pthread_barrier_init(&after, NULL, thread_count + 1);
    pthread_t threads[thread_count];
    for (int i = 0; i < thread_count; i++) {
        if (pthread_create(&threads[i], NULL, run, NULL) != 0) {
            perror("pthread_create");
            return 2;
        }
    }

    pthread_barrier_wait(&before);
    if (setresuid(target_uid, target_uid, target_uid) != 0) {
        perror("setresuid");
        return 3;
    }
    pthread_barrier_wait(&after);
    for (int i = 0; i < thread_count; i++) {
        pthread_join(threads[i], NULL);
    }
    printf("threads %d mismatched %d uid %ld\n", thread_count, mismatches, syscall(SYS_getuid));
    return mismatches == 0 ? 0 : 1;
}
