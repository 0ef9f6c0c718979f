/// The C programs `remainroot bench` compiles with the machine's C compiler
/// into its temporary folder.
enum BenchPrograms {
    /// The per-call workload: a loop of one operation, timed inside the
    /// program so that process start-up is not counted.
    static let helperSource = #"""
// The program behind the per-call rows of `remainroot bench`. It runs one
// operation COUNT times, then prints the nanoseconds per operation and the
// result of the last one, so that bench can check what the program saw.
//
// Usage: bench-helper getuid|getpid COUNT
//        bench-helper fork|fork-exec COUNT
//        bench-helper stat COUNT PATH UID GID   (chowns PATH first, untimed)
//        bench-helper exit                      (the program fork-exec runs)
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
    struct timespec time;
    clock_gettime(CLOCK_MONOTONIC, &time);
    return (double)time.tv_sec * 1e9 + (double)time.tv_nsec;
}

static long wait_for(pid_t child) {
    int status;
    if (child == -1 || waitpid(child, &status, 0) != child) {
        perror("bench-helper: fork or waitpid");
        exit(1);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "exit") == 0) {
        return 0;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: bench-helper MODE COUNT [PATH UID GID]\n");
        return 2;
    }
    const char *mode = argv[1];
    long count = atol(argv[2]);
    long result = 0;
    struct stat status;

    if (strcmp(mode, "stat") == 0) {
        if (argc != 6 || chown(argv[3], (uid_t)atol(argv[4]), (gid_t)atol(argv[5])) == -1) {
            perror("bench-helper: chown");
            return 1;
        }
    }

    // Calls go through syscall(2) so that no libc caching can hide one.
    double start = now_ns();
    if (strcmp(mode, "getuid") == 0) {
        for (long i = 0; i < count; i++) {
            result = syscall(SYS_getuid);
        }
    } else if (strcmp(mode, "getpid") == 0) {
        for (long i = 0; i < count; i++) {
            result = syscall(SYS_getpid);
        }
    } else if (strcmp(mode, "fork") == 0) {
        for (long i = 0; i < count; i++) {
            pid_t child = fork();
            if (child == 0) {
                _exit(0);
            }
            result = wait_for(child);
        }
    } else if (strcmp(mode, "fork-exec") == 0) {
        for (long i = 0; i < count; i++) {
            pid_t child = fork();
            if (child == 0) {
                execl(argv[0], argv[0], "exit", (char *)NULL);
                _exit(127);
            }
            result = wait_for(child);
        }
    } else if (strcmp(mode, "stat") == 0) {
        for (long i = 0; i < count; i++) {
            if (stat(argv[3], &status) == -1) {
                perror("bench-helper: stat");
                return 1;
            }
        }
        result = (long)status.st_uid;
    } else {
        fprintf(stderr, "bench-helper: unknown mode '%s'\n", mode);
        return 2;
    }
    double elapsed = now_ns() - start;

    printf("%.3f %ld\n", elapsed / (double)(count > 0 ? count : 1), result);
    return 0;
}

"""#

    /// A copy of Benchmarks/floor-tracer.c, the minimal tracer that returns
    /// its own value for getuid. The end-to-end tests check that the two are
    /// the same.
    static let floorTracerSource = #"""
// floor-tracer: the least a tracer must do to return its own value for
// getuid(2), as a floor for remainroot's cost per shimmed call.
//
// Usage: floor-tracer [-u UID] COMMAND [ARG...]
//
// The child installs a seccomp filter that returns SECCOMP_RET_TRACE for
// getuid and SECCOMP_RET_ALLOW for every other call, then executes COMMAND.
// At each seccomp stop the tracer writes -1 into orig_rax (the kernel skips
// the call) and UID into rax (what the program sees), then resumes the
// child: one waitpid and three ptrace requests per call, and nothing else.
// remainroot makes the same four calls for a shimmed getuid (waitpid,
// PTRACE_GETREGSET, PTRACE_SETREGSET, PTRACE_CONT), so the difference
// between the two is what remainroot itself costs.
//
// It traces COMMAND only, not its children: a child inherits the filter
// but has no tracer, so its getuid fails with ENOSYS. It is meant for a
// single-process loop such as the one `remainroot bench` runs.
//
// x86_64 only. Build: cc -O2 -o floor-tracer floor-tracer.c
// SPDX-License-Identifier: GPL-3.0-or-later

#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#if !defined(__x86_64__)
#error "floor-tracer writes x86_64 registers; it has no code for this CPU"
#endif

static void install_filter(void) {
    struct sock_filter instructions[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getuid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog program = {
        .len = sizeof instructions / sizeof instructions[0],
        .filter = instructions,
    };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
        perror("floor-tracer: prctl(PR_SET_NO_NEW_PRIVS)");
        _exit(125);
    }
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) == -1) {
        perror("floor-tracer: seccomp");
        _exit(125);
    }
}

int main(int argc, char **argv) {
    unsigned long uid = 0;
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "-u") == 0) {
        uid = strtoul(argv[2], NULL, 10);
        first = 3;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: floor-tracer [-u UID] COMMAND [ARG...]\n");
        return 125;
    }

    // The child waits on the pipe until it is seized, so that the filter
    // is never installed without a tracer.
    int start[2];
    if (pipe(start) == -1) {
        perror("floor-tracer: pipe");
        return 125;
    }
    pid_t child = fork();
    if (child == -1) {
        perror("floor-tracer: fork");
        return 125;
    }
    if (child == 0) {
        char byte;
        close(start[1]);
        if (read(start[0], &byte, 1) != 1) {
            _exit(125);
        }
        install_filter();
        execvp(argv[first], &argv[first]);
        fprintf(stderr, "floor-tracer: cannot run %s: %s\n", argv[first], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }

    close(start[0]);
    long options = PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL;
    if (ptrace(PTRACE_SEIZE, child, NULL, (void *)options) == -1) {
        perror("floor-tracer: PTRACE_SEIZE");
        return 125;
    }
    if (write(start[1], "1", 1) != 1) {
        perror("floor-tracer: write");
        return 125;
    }
    close(start[1]);

    const size_t orig_rax = offsetof(struct user_regs_struct, orig_rax);
    const size_t rax = offsetof(struct user_regs_struct, rax);
    for (;;) {
        int status;
        pid_t pid = waitpid(child, &status, __WALL);
        if (pid == -1) {
            if (errno == EINTR) {
                continue;
            }
            perror("floor-tracer: waitpid");
            return 125;
        }
        if (WIFEXITED(status)) {
            return WEXITSTATUS(status);
        }
        if (WIFSIGNALED(status)) {
            return 128 + WTERMSIG(status);
        }

        int signal_number = 0;
        if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8))) {
            ptrace(PTRACE_POKEUSER, child, (void *)orig_rax, (void *)-1L);
            ptrace(PTRACE_POKEUSER, child, (void *)rax, (void *)uid);
        } else if (status >> 16 == 0) {
            // A signal-delivery stop: pass the signal on. Group-stops
            // (PTRACE_EVENT_STOP) are resumed without one.
            signal_number = WSTOPSIG(status);
        }
        ptrace(PTRACE_CONT, child, NULL, (void *)(long)signal_number);
    }
}

"""#
}
