// glibc applies setresuid to every thread of the process by making each
// thread call the kernel itself. Prints the effective uid the main thread
// and a second thread see afterwards, which must agree. The tests build it
// as an i386 program.
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int ready, done;
static uid_t seen;

static void *worker(void *unused) {
    (void)unused;
    pthread_mutex_lock(&lock);
    ready = 1;
    pthread_cond_broadcast(&changed);
    while (!done) {
        pthread_cond_wait(&changed, &lock);
    }
    seen = geteuid();
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(void) {
    pthread_t thread;
    pthread_create(&thread, NULL, worker, NULL);
    pthread_mutex_lock(&lock);
    while (!ready) {
        pthread_cond_wait(&changed, &lock);
    }
    pthread_mutex_unlock(&lock);

    int failed = setgroups(0, NULL) != 0 || setresuid(1000, 1000, 0) != 0;
    int error = errno;

    pthread_mutex_lock(&lock);
    done = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    pthread_join(thread, NULL);

    if (failed) {
        printf("setresuid failed: %s\n", strerror(error));
        return 1;
    }
    printf("%u %u\n", geteuid(), seen);
    return 0;
}
