/*
 * subreaper: runs a command as a child subreaper (PR_SET_CHILD_SUBREAPER),
 * so that every process the command leaves behind is reparented to this
 * program instead of to init, and reaps them all.
 *
 * Usage: subreaper COMMAND [ARG...]
 *
 * Prints "started PID" once the command runs, "command PID exit N" or
 * "command PID signal N" when it ends, "reaped PID exit N" or "reaped PID
 * signal N" for every other process it reaps, and "reaped N others" when
 * no child is left, then exits 0. It waits for as long as any descendant lives, so a
 * process that outlives its tracer keeps it waiting; the caller bounds the
 * wait. The kill tests use it because init on some machines (a Firecracker
 * VM's init, for one) never reaps orphans, which would leave every orphan a
 * zombie whatever remainroot did.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: subreaper COMMAND [ARG...]\n");
        return 2;
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L) != 0) {
        fprintf(stderr, "subreaper: prctl(PR_SET_CHILD_SUBREAPER) failed: %s\n", strerror(errno));
        return 2;
    }

    pid_t command = fork();
    if (command < 0) {
        fprintf(stderr, "subreaper: fork failed: %s\n", strerror(errno));
        return 2;
    }
    if (command == 0) {
        execvp(argv[1], argv + 1);
        fprintf(stderr, "subreaper: cannot run %s: %s\n", argv[1], strerror(errno));
        _exit(127);
    }
    printf("started %d\n", (int)command);
    fflush(stdout);

    long others = 0;
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, __WALL);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ECHILD)
                break;
            fprintf(stderr, "subreaper: waitpid failed: %s\n", strerror(errno));
            return 2;
        }
        const char *name = pid == command ? "command" : "reaped";
        if (pid != command)
            others++;
        if (WIFEXITED(status))
            printf("%s %d exit %d\n", name, (int)pid, WEXITSTATUS(status));
        else
            printf("%s %d signal %d\n", name, (int)pid, WTERMSIG(status));
        fflush(stdout);
    }
    printf("reaped %ld others\n", others);
    return 0;
}
