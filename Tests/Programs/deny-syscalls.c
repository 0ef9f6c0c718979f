/*
 * deny-syscalls: runs a command confined by a seccomp filter that fails the
 * named system calls with EPERM, as a container's seccomp profile may.
 *
 * Usage: deny-syscalls NAME[,NAME...] COMMAND [ARG...]
 * NAME is one of ptrace, unshare, seccomp.
 *
 * The filter is inherited by the command and everything it starts. Calls
 * of another ABI than the host's are allowed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define HOST_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define HOST_AUDIT_ARCH AUDIT_ARCH_AARCH64
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_AUDIT_ARCH AUDIT_ARCH_PPC64LE
#else
#error "deny-syscalls knows the audit architecture of x86_64, aarch64 and ppc64le only"
#endif

static int syscall_number(const char *name)
{
    if (strcmp(name, "ptrace") == 0) return SYS_ptrace;
    if (strcmp(name, "unshare") == 0) return SYS_unshare;
    if (strcmp(name, "seccomp") == 0) return SYS_seccomp;
    return -1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: deny-syscalls NAME[,NAME...] COMMAND [ARG...]\n");
        return 2;
    }

    /* Load the architecture; allow other ABIs; then one compare and one
     * return per denied call, then allow. */
    struct sock_filter program[64];
    int length = 0;
    program[length++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    program[length++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, HOST_AUDIT_ARCH, 1, 0);
    program[length++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    program[length++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));

    char names[256];
    snprintf(names, sizeof names, "%s", argv[1]);
    for (char *name = strtok(names, ","); name != NULL; name = strtok(NULL, ",")) {
        int number = syscall_number(name);
        if (number < 0) {
            fprintf(stderr, "deny-syscalls: unknown system call '%s'; expected ptrace, unshare or seccomp\n", name);
            return 2;
        }
        if (length > 60) {
            fprintf(stderr, "deny-syscalls: too many system calls\n");
            return 2;
        }
        program[length++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)number, 0, 1);
        program[length++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
    }
    program[length++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);

    struct sock_fprog filter = {.len = (unsigned short)length, .filter = program};
    /* Without CAP_SYS_ADMIN a filter needs no_new_privs; as root it does
     * not, and leaving it unset keeps set-user-ID programs working. */
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0L, &filter) != 0) {
        if (errno != EACCES || prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) != 0
            || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0L, &filter) != 0) {
            fprintf(stderr, "deny-syscalls: cannot install the filter: %s\n", strerror(errno));
            return 2;
        }
    }

    execvp(argv[2], argv + 2);
    fprintf(stderr, "deny-syscalls: cannot run %s: %s\n", argv[2], strerror(errno));
    return 127;
}
