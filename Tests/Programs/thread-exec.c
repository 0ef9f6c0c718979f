/* A thread other than the leader changes its own uids with the raw system
 * call, which changes only that thread because the kernel keeps credentials
 * per thread. It then executes `id -u -r`. The new program runs with the
 * execing thread's credentials, under the leader's pid. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static void *run(void *unused) {
    (void)unused;
    if (syscall(SYS_setresuid, 1000, 1000, 1000) != 0) {
        perror("setresuid");
        _exit(2);
    }
    printf("thread uid %ld\n", syscall(SYS_getuid));
    fflush(stdout);
    char *argv[] = { "id", "-u", "-r", NULL };
    execv("/usr/bin/id", argv);
    perror("execv");
    _exit(3);
}

int main(void) {
    pthread_t thread;
    pthread_create(&thread, NULL, run, NULL);
    pthread_join(thread, NULL);
    return 1;
}
