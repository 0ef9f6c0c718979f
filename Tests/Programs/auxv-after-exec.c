/* Sets the real, effective and saved ids given on the command line with the
 * raw system calls, executes itself, and prints what the new program finds
 * in its auxiliary vector, which the kernel fills at execve. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--print") == 0) {
        printf("uid=%lu euid=%lu gid=%lu egid=%lu secure=%lu\n", getauxval(AT_UID), getauxval(AT_EUID),
               getauxval(AT_GID), getauxval(AT_EGID), getauxval(AT_SECURE));
        return 0;
    }
    if (argc != 7) {
        fprintf(stderr, "usage: %s RUID EUID SUID RGID EGID SGID\n", argv[0]);
        return 2;
    }
    long id[6];
    for (int i = 0; i < 6; i++) {
        id[i] = strtol(argv[i + 1], NULL, 10);
    }
    if (syscall(SYS_setgroups, 0, NULL) != 0 || syscall(SYS_setresgid, id[3], id[4], id[5]) != 0
        || syscall(SYS_setresuid, id[0], id[1], id[2]) != 0) {
        perror("set ids");
        return 3;
    }
    char *again[] = { argv[0], "--print", NULL };
    execv("/proc/self/exe", again);
    perror("execv");
    return 4;
}
