/* Programs that do unusual things to their own process, one per mode. Each
 * prints what it saw; the tests compare the output with real root's. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *what, long result) {
    printf("%s %ld %s\n", what, result, result == -1 ? strerrorname_np(errno) : "-");
    fflush(stdout);
}

/* Installs a filter that fails getuid with EACCES and sends getpid to a
 * tracer, then calls both. */
static int own_filter(void) {
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getuid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getpid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 7),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog program = { sizeof code / sizeof code[0], code };
    report("seccomp", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program));
    report("getuid", syscall(SYS_getuid));
    report("getpid", syscall(SYS_getpid) > 0 ? 1 : -1);
    report("geteuid", syscall(SYS_geteuid));
    return 0;
}

/* clone with CLONE_UNTRACED: the child must still see emulated ids. */
static int untraced_child(void) {
    report("setresuid", syscall(SYS_setresuid, 1000, 1000, 1000));
    pid_t pid = (pid_t)syscall(SYS_clone, CLONE_UNTRACED | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
        report("child getuid", syscall(SYS_getuid));
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    report("child status", WEXITSTATUS(status));
    return 0;
}

/* A child stops itself again and again; the parent sees each stop and
 * continues it, as a job-control shell would. */
static int stop_loop(void) {
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 50; i++) {
            raise(SIGSTOP);
            syscall(SYS_getuid);
        }
        _exit(7);
    }
    int stops = 0, status;
    while (waitpid(pid, &status, WUNTRACED) == pid) {
        if (WIFSTOPPED(status)) {
            stops++;
            kill(pid, SIGCONT);
        } else {
            break;
        }
    }
    report("stops", stops);
    report("exit", WIFEXITED(status) ? WEXITSTATUS(status) : -2);
    return 0;
}

/* A grandchild kills its parent and goes on as an orphan. */
static int kill_parent(void) {
    pid_t child = fork();
    if (child == 0) {
        pid_t grandchild = fork();
        if (grandchild == 0) {
            kill(getppid(), SIGKILL);
            usleep(100000);
            report("orphan getuid", syscall(SYS_getuid));
            _exit(0);
        }
        pause();
        _exit(1);
    }
    int status;
    waitpid(child, &status, 0);
    report("parent killed", WIFSIGNALED(status) ? WTERMSIG(status) : -2);
    usleep(300000);
    return 0;
}

static int trace_me(void) {
    report("PTRACE_TRACEME", ptrace(PTRACE_TRACEME, 0, 0, 0));
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s own-filter|untraced-child|stop-loop|kill-parent|trace-me\n", argv[0]);
        return 2;
    }
    if (!strcmp(argv[1], "own-filter")) return own_filter();
    if (!strcmp(argv[1], "untraced-child")) return untraced_child();
    if (!strcmp(argv[1], "stop-loop")) return stop_loop();
    if (!strcmp(argv[1], "kill-parent")) return kill_parent();
    if (!strcmp(argv[1], "trace-me")) return trace_me();
    return 2;
}
