/* A child makes shimmed getuid calls in a loop while its parent stops and
 * continues it with SIGSTOP and SIGCONT, as a shell's job control would.
 * The parent must see each stop and each continue through waitpid, and the
 * child must never see a wrong result, such as ENOSYS from a call made
 * without a tracer. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { rounds = 200 };

static volatile sig_atomic_t done;

static void finish(int signal_number) {
    (void)signal_number;
    done = 1;
}

static void pause_briefly(long microseconds) {
    struct timespec delay = { 0, microseconds * 1000 };
    nanosleep(&delay, NULL);
}

int main(void) {
    long expected = syscall(SYS_getuid);
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return 2;
    }
    if (child == 0) {
        signal(SIGUSR1, finish);
        long calls = 0, wrong = 0;
        while (!done) {
            if (syscall(SYS_getuid) != expected) {
                wrong++;
            }
            calls++;
        }
        return wrong == 0 && calls > 0 ? 0 : 1;
    }

    int stops = 0, continues = 0, status;
    for (int i = 0; i < rounds; i++) {
        pause_briefly(200 + (i % 7) * 100);
        kill(child, SIGSTOP);
        if (waitpid(child, &status, WUNTRACED) == child && WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP) {
            stops++;
        }
        kill(child, SIGCONT);
        if (waitpid(child, &status, WCONTINUED) == child && WIFCONTINUED(status)) {
            continues++;
        }
    }
    kill(child, SIGUSR1);
    waitpid(child, &status, 0);
    int clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    printf("stops %d continues %d child %s\n", stops, continues, clean ? "clean" : "saw wrong results");
    return stops == rounds && continues == rounds && clean ? 0 : 1;
}
