// Runs a posix_spawn loop whose children report their ids, optionally
// after a drop to another uid and gid, and reports the caller's own ids.
//
// Usage: spawn-ids COUNT [UID]
//        spawn-ids child
// Each line is "parent|child uid euid gid egid groups", where groups is
// the number getgroups returns. POSIX_SPAWN_RESETIDS makes glibc's spawn
// call getuid, getgid, setresuid(-1, uid, -1) and setresgid(-1, gid, -1)
// in the child before its execve.
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void report(const char *who) {
    printf("%s %u %u %u %u %d\n", who, getuid(), geteuid(), getgid(), getegid(), getgroups(0, NULL));
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "child") == 0) {
        report("child");
        return 0;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: spawn-ids COUNT [UID] | spawn-ids child\n");
        return 2;
    }
    int count = atoi(argv[1]);
    if (argc >= 3) {
        unsigned id = (unsigned)strtoul(argv[2], NULL, 10);
        if (setresgid(id, id, id) != 0 || setresuid(id, id, id) != 0) {
            perror("drop");
            return 1;
        }
    }

    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_RESETIDS);
    char *child[] = {argv[0], "child", NULL};
    for (int i = 0; i < count; i++) {
        pid_t pid;
        int error = posix_spawn(&pid, argv[0], NULL, &attributes, child, environ);
        if (error != 0) {
            fprintf(stderr, "posix_spawn: %s\n", strerror(error));
            return 1;
        }
        int status;
        if (waitpid(pid, &status, 0) != pid || status != 0) {
            fprintf(stderr, "child %d ended with status %d\n", pid, status);
            return 1;
        }
    }
    report("parent");
    return 0;
}
