// A child forks in a loop until the main process SIGKILLs it, round after
// round, so that some fork dies between creating its child and reporting it
// to a tracer.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 50;
    for (int round = 0; round < rounds; round++) {
        pid_t forker = fork();
        if (forker == 0) {
            for (;;) {
                pid_t child = fork();
                if (child == 0) {
                    _exit(0);
                }
                if (child > 0) {
                    waitpid(child, NULL, 0);
                }
            }
        }
        struct timespec pause = {0, (round % 10) * 100000 + 50000};
        nanosleep(&pause, NULL);
        kill(forker, SIGKILL);
        waitpid(forker, NULL, 0);
    }
    printf("done %d rounds\n", rounds);
    return 0;
}
