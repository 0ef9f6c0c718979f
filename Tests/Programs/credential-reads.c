// Prints every credential a program can read: ids, supplementary groups,
// capability sets from capget, securebits, keep-caps, the ambient and
// bounding sets by prctl, and the fsuid and fsgid that setfsuid(-1) and
// setfsgid(-1) return.
//
// Usage: credential-reads [toggle]
// With "toggle" it first sets and clears PR_SET_KEEPCAPS, which leaves the
// credentials as they were; under remainroot that makes every later read
// stop and be answered from the emulated credentials.
#define _GNU_SOURCE
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "toggle") == 0) {
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) {
            perror("PR_SET_KEEPCAPS");
            return 1;
        }
    }

    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    getresuid(&ruid, &euid, &suid);
    getresgid(&rgid, &egid, &sgid);
    printf("uids %u %u %u fsuid %d\n", ruid, euid, suid, setfsuid((uid_t)-1));
    printf("gids %u %u %u fsgid %d\n", rgid, egid, sgid, setfsgid((gid_t)-1));
    printf("getuid %u geteuid %u getgid %u getegid %u\n", getuid(), geteuid(), getgid(), getegid());

    gid_t groups[64];
    int count = getgroups(64, groups);
    printf("groups %d:", count);
    for (int i = 0; i < count; i++) {
        printf(" %u", groups[i]);
    }
    printf("\n");

    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    long result = syscall(SYS_capget, &header, data);
    printf("capget %ld effective %08x%08x permitted %08x%08x inheritable %08x%08x\n", result,
           data[1].effective, data[0].effective, data[1].permitted, data[0].permitted,
           data[1].inheritable, data[0].inheritable);

    printf("securebits %d keepcaps %d\n", prctl(PR_GET_SECUREBITS, 0, 0, 0, 0), prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
    printf("ambient");
    for (int capability = 0; capability <= 64; capability++) {
        printf(" %d", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, capability, 0, 0));
    }
    printf("\nbounding");
    for (int capability = 0; capability <= 64; capability++) {
        printf(" %d", prctl(PR_CAPBSET_READ, capability, 0, 0, 0));
    }
    printf("\n");
    return 0;
}
