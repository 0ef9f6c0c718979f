/* vfork and execve in a loop: each child executes this program again,
 * which checks its uid against the expected one and exits with 42 when it
 * matches. The parent checks every child's status. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
    if (argc > 2 && strcmp(argv[1], "child") == 0) {
        return syscall(SYS_getuid) == atol(argv[2]) ? 42 : 1;
    }
    int iterations = argc > 1 ? atoi(argv[1]) : 300;
    char expected[32];
    snprintf(expected, sizeof expected, "%ld", (long)syscall(SYS_getuid));

    int failures = 0;
    for (int i = 0; i < iterations; i++) {
        char *child_argv[] = { argv[0], "child", expected, NULL };
        pid_t pid = vfork();
        if (pid < 0) {
            perror("vfork");
            return 2;
        }
        if (pid == 0) {
            execve("/proc/self/exe", child_argv, environ);
            _exit(127);
        }
        int status;
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 42) {
            failures++;
        }
    }
    printf("iterations %d failures %d\n", iterations, failures);
    return failures == 0 ? 0 : 1;
}
