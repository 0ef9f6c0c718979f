// A daemon drops from root to uid and gid 1000 and checks that it cannot
// come back, as OpenSSH does. Prints the ids after the drop, then EPERM when
// setuid(0) is rejected. The tests build it as an i386 program.
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    if (setgroups(0, NULL) != 0 || setresgid(1000, 1000, 1000) != 0 || setresuid(1000, 1000, 1000) != 0) {
        printf("drop failed: %s\n", strerror(errno));
        return 1;
    }

    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    gid_t groups[16];
    getresuid(&ruid, &euid, &suid);
    getresgid(&rgid, &egid, &sgid);
    int count = getgroups(16, groups);
    printf("(%u, %u, %u) (%u, %u, %u) [", ruid, euid, suid, rgid, egid, sgid);
    for (int i = 0; i < count; i++) {
        printf(i ? ", %u" : "%u", groups[i]);
    }
    printf("]\n");

    if (setuid(0) == 0) {
        printf("regained root\n");
    } else {
        printf("%s\n", errno == EPERM ? "EPERM" : strerror(errno));
    }
    return 0;
}
