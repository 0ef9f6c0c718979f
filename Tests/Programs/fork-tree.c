/* A binary tree of processes, 10 levels below the root: 2,047 processes,
 * 2,046 of them forked. Leaves exit as soon as they have checked their ids,
 * while other branches are still forking. Each process checks getuid and
 * geteuid against the expected uid (argv[1]) and writes one byte to a
 * shared pipe: 'y' when the ids match, 'n' when not. The root counts the
 * bytes once every descendant has exited. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum { depth = 10 };

static int report_fd;
static long expected_uid;

static void node(int level) {
    char verdict = (syscall(SYS_getuid) == expected_uid && geteuid() == (uid_t)expected_uid) ? 'y' : 'n';
    if (write(report_fd, &verdict, 1) != 1) {
        _exit(3);
    }
    if (level == depth) {
        return;
    }

    pid_t children[2];
    for (int i = 0; i < 2; i++) {
        children[i] = fork();
        if (children[i] < 0) {
            perror("fork");
            _exit(4);
        }
        if (children[i] == 0) {
            node(level + 1);
            _exit(0);
        }
    }
    for (int i = 0; i < 2; i++) {
        int status;
        if (waitpid(children[i], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            _exit(5);
        }
    }
}

int main(int argc, char **argv) {
    expected_uid = argc > 1 ? atol(argv[1]) : 0;
    int fds[2];
    if (pipe(fds) != 0) {
        perror("pipe");
        return 2;
    }
    report_fd = fds[1];

    node(0);
    close(fds[1]);

    long matched = 0, mismatched = 0;
    char buffer[4096];
    ssize_t got;
    while ((got = read(fds[0], buffer, sizeof buffer)) > 0) {
        for (ssize_t i = 0; i < got; i++) {
            if (buffer[i] == 'y') {
                matched++;
            } else {
                mismatched++;
            }
        }
    }
    printf("processes %ld mismatched %ld\n", matched + mismatched, mismatched);
    return mismatched == 0 && matched == (1L << (depth + 1)) - 1 ? 0 : 1;
}
