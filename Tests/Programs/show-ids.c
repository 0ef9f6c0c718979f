/* Prints the real, effective and saved ids, for set-user-ID tests. */
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    unsigned int ruid, euid, suid, rgid, egid, sgid;
    syscall(SYS_getresuid, &ruid, &euid, &suid);
    syscall(SYS_getresgid, &rgid, &egid, &sgid);
    printf("uid %u %u %u gid %u %u %u\n", ruid, euid, suid, rgid, egid, sgid);
    return 0;
}
