/* Credentials are copied into every kind of child: fork, vfork followed by
 * execve, and a raw clone3. Each child reports its ids; the parent prints
 * them in order, then its own. */
#define _GNU_SOURCE
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *who) {
    printf("%s uid=%ld euid=%ld gid=%ld\n", who, syscall(SYS_getuid), syscall(SYS_geteuid), syscall(SYS_getgid));
    fflush(stdout);
}

static void wait_for(pid_t pid) {
    int status;
    waitpid(pid, &status, 0);
    printf("status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    fflush(stdout);
}

int main(void) {
    if (syscall(SYS_setresgid, 1001, 1001, 0) != 0 || syscall(SYS_setresuid, 1000, 1000, 0) != 0) {
        perror("setres*id");
        return 2;
    }
    report("parent");

    pid_t pid = fork();
    if (pid == 0) {
        report("fork");
        _exit(11);
    }
    wait_for(pid);

    pid = vfork();
    if (pid == 0) {
        char *argv[] = { "sh", "-c", "echo vfork-exec $(id -u) $(id -g)", NULL };
        execv("/bin/sh", argv);
        _exit(127);
    }
    wait_for(pid);

    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.exit_signal = SIGCHLD;
    pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) {
        report("clone3");
        _exit(13);
    }
    if (pid < 0) {
        perror("clone3");
        return 3;
    }
    wait_for(pid);

    report("parent");
    return 0;
}
