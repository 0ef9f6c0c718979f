// Records the raw general-register sets a tracer sees at the seccomp stops
// of the calls remainroot answers, on the kernel it runs on. For each call
// and each of three ways of handling it, a fresh child installs a seccomp
// filter that traps the call, makes it, and reports what it got back; the
// parent traces the child and prints every register set it reads or writes.
//
// Output, one record a line:
//   kernel RELEASE
//   machine NAME
//   call NAME NUMBER ARG0 ... ARG5 (hexadecimal, ? for an address)
//   image CALL SCENARIO STAGE HEXBYTES
//   observed CALL SCENARIO RETURN ERRNO
// Scenarios: "run" lets the kernel run the call; "entry" skips it and
// writes -EPERM at the seccomp stop; "exit" skips it and writes EPERM at
// the exit stop, in the form the program sees on this CPU.
//
// Built static by Scripts/record-register-images with Debian's gcc for
// each CPU, and run there as /init of an initramfs, or directly on x86.
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__x86_64__)
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_X86_64
#define NUMBER_WORD 15   // orig_rax
#define RESULT_WORD 10   // rax
#elif defined(__i386__)
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_I386
#define NUMBER_WORD 11   // orig_eax
#define RESULT_WORD 6    // eax
#elif defined(__aarch64__)
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_AARCH64
#define NUMBER_WORD 8    // x8, informational: the kernel reads NT_ARM_SYSTEM_CALL
#define RESULT_WORD 0    // x0
#ifndef NT_ARM_SYSTEM_CALL
#define NT_ARM_SYSTEM_CALL 0x404
#endif
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_PPC64LE
#define NUMBER_WORD 0    // r0
#define RESULT_WORD 3    // r3
#define CCR_WORD 38
#define TRAP_WORD 40
#define CR0_SO 0x10000000UL
#elif defined(__riscv) && __riscv_xlen == 64
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_RISCV64
#define NUMBER_WORD 17   // a7
#define RESULT_WORD 10   // a0
#else
#error "register-probe does not know this CPU"
#endif

#if defined(__i386__)
#define NR_GETUID __NR_getuid32
#define NR_SETRESUID __NR_setresuid32
#else
#define NR_GETUID __NR_getuid
#define NR_SETRESUID __NR_setresuid
#endif

typedef unsigned long word;

struct call {
    const char *name;
    long number;
    word args[6];
};

static const char missing_path[] = "/nonexistent/remainroot-probe";

static struct call calls[] = {
    { "getuid", NR_GETUID, { 0 } },
    { "setresuid", NR_SETRESUID, { 70000, 70001, 70002 } },
    { "fchownat", __NR_fchownat, { (word)AT_FDCWD, 0, 1234, 5678, AT_SYMLINK_NOFOLLOW } },
    { "prctl", __NR_prctl, { PR_CAPBSET_READ, 5 } },
};

// How the child enters the kernel. PPC64 has two instructions with two
// error conventions, so both are recorded where the CPU has both.
enum entry_kind { ENTRY_LIBC, ENTRY_SC, ENTRY_SCV };
static const char *entry_names[] = { "", "-sc", "-scv" };

#if defined(__powerpc64__)
static long ppc_call(int vectored, long number, const word *a, int *error) {
    register long r0 __asm__("r0") = number;
    register long r3 __asm__("r3") = a[0];
    register long r4 __asm__("r4") = a[1];
    register long r5 __asm__("r5") = a[2];
    register long r6 __asm__("r6") = a[3];
    register long r7 __asm__("r7") = a[4];
    register long r8 __asm__("r8") = a[5];
    unsigned long cr;
    if (vectored) {
        __asm__ volatile("scv 0\n\tmfcr %0"
                         : "=&r"(cr), "+r"(r0), "+r"(r3), "+r"(r4), "+r"(r5), "+r"(r6), "+r"(r7), "+r"(r8)
                         :
                         : "r9", "r10", "r11", "r12", "ctr", "lr", "xer", "cr0", "cr1", "cr5", "cr6", "cr7", "memory");
        *error = (r3 < 0 && r3 > -4096) ? (int)-r3 : 0;
        return *error ? -1 : r3;
    }
    __asm__ volatile("sc\n\tmfcr %0"
                     : "=&r"(cr), "+r"(r0), "+r"(r3), "+r"(r4), "+r"(r5), "+r"(r6), "+r"(r7), "+r"(r8)
                     :
                     : "r9", "r10", "r11", "r12", "ctr", "xer", "cr0", "memory");
    *error = (cr & CR0_SO) ? (int)r3 : 0;
    return *error ? -1 : r3;
}
#endif

static void print_hex(const unsigned char *bytes, size_t count) {
    for (size_t i = 0; i < count; i++) {
        printf("%02x", bytes[i]);
    }
}

static size_t get_registers(pid_t pid, word *regs, size_t capacity) {
    struct iovec io = { regs, capacity };
    if (ptrace(PTRACE_GETREGSET, pid, (void *)NT_PRSTATUS, &io) != 0) {
        perror("PTRACE_GETREGSET");
        exit(1);
    }
    return io.iov_len;
}

static void set_registers(pid_t pid, word *regs, size_t length) {
    struct iovec io = { regs, length };
    if (ptrace(PTRACE_SETREGSET, pid, (void *)NT_PRSTATUS, &io) != 0) {
        perror("PTRACE_SETREGSET");
        exit(1);
    }
}

static void print_image(const char *call, const char *scenario, const char *stage, const word *regs, size_t length) {
    printf("image %s %s %s ", call, scenario, stage);
    print_hex((const unsigned char *)regs, length);
    printf("\n");
}

// Makes the kernel skip the call at the seccomp stop.
static void cancel(pid_t pid, word *regs) {
#if defined(__aarch64__)
    int number = -1;
    struct iovec io = { &number, sizeof number };
    if (ptrace(PTRACE_SETREGSET, pid, (void *)NT_ARM_SYSTEM_CALL, &io) != 0) {
        perror("PTRACE_SETREGSET NT_ARM_SYSTEM_CALL");
        exit(1);
    }
    (void)regs;
#else
    (void)pid;
    regs[NUMBER_WORD] = (word)-1;
#endif
}

// Writes EPERM as the program must see it, at the exit stop.
static void write_final_error(word *regs) {
#if defined(__powerpc64__)
    if ((regs[TRAP_WORD] & ~0xfUL) == 0x3000) {
        regs[RESULT_WORD] = (word)-EPERM;
    } else {
        regs[RESULT_WORD] = EPERM;
        regs[CCR_WORD] |= CR0_SO;
    }
#else
    regs[RESULT_WORD] = (word)-EPERM;
#endif
}

static int wait_for(pid_t pid) {
    int status;
    if (waitpid(pid, &status, __WALL) != pid) {
        perror("waitpid");
        exit(1);
    }
    return status;
}

static void child(const struct call *call, enum entry_kind kind, int report_fd) {
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_NATIVE, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)call->number, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog program = { sizeof filter / sizeof filter[0], filter };
    word args[6];
    memcpy(args, call->args, sizeof args);
    if (call->number == __NR_fchownat) {
        args[1] = (word)missing_path;
    }

    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
        _exit(2);
    }

    long result[2];
    errno = 0;
#if defined(__powerpc64__)
    if (kind != ENTRY_LIBC) {
        int error = 0;
        result[0] = ppc_call(kind == ENTRY_SCV, call->number, args, &error);
        result[1] = error;
    } else
#endif
    {
        (void)kind;
        result[0] = syscall(call->number, args[0], args[1], args[2], args[3], args[4], args[5]);
        result[1] = result[0] == -1 ? errno : 0;
    }
    if (write(report_fd, result, sizeof result) != sizeof result) {
        _exit(3);
    }
    _exit(0);
}

static void trace(const struct call *call, enum entry_kind kind, const char *scenario) {
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) {
        perror("pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(pipe_fds[0]);
        child(call, kind, pipe_fds[1]);
    }
    close(pipe_fds[1]);

    char name[64];
    snprintf(name, sizeof name, "%s%s", call->name, entry_names[kind]);

    wait_for(pid);
    ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESECCOMP | PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL);
    ptrace(PTRACE_CONT, pid, 0, 0);
    int status = wait_for(pid);
    if (!WIFSTOPPED(status) || status >> 8 != (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8))) {
        fprintf(stderr, "%s: expected a seccomp stop, got status 0x%x\n", name, status);
        exit(1);
    }

    word regs[128];
    size_t length = get_registers(pid, regs, sizeof regs);
    print_image(name, scenario, "seccomp", regs, length);

    if (strcmp(scenario, "entry") == 0) {
        cancel(pid, regs);
        regs[RESULT_WORD] = (word)-EPERM;
        set_registers(pid, regs, length);
        print_image(name, scenario, "written", regs, length);
    } else if (strcmp(scenario, "exit") == 0) {
        cancel(pid, regs);
        set_registers(pid, regs, length);
        print_image(name, scenario, "written", regs, length);
    }

    ptrace(PTRACE_SYSCALL, pid, 0, 0);
    status = wait_for(pid);
    if (!WIFSTOPPED(status) || WSTOPSIG(status) != (SIGTRAP | 0x80)) {
        fprintf(stderr, "%s: expected a syscall-exit stop, got status 0x%x\n", name, status);
        exit(1);
    }
    length = get_registers(pid, regs, sizeof regs);
    print_image(name, scenario, "exit", regs, length);
    if (strcmp(scenario, "exit") == 0) {
        write_final_error(regs);
        set_registers(pid, regs, length);
        print_image(name, scenario, "exit-written", regs, length);
    }
    ptrace(PTRACE_CONT, pid, 0, 0);

    long result[2] = { 0, 0 };
    if (read(pipe_fds[0], result, sizeof result) != sizeof result) {
        fprintf(stderr, "%s: the child reported nothing\n", name);
        exit(1);
    }
    close(pipe_fds[0]);
    wait_for(pid);
    printf("observed %s %s %ld %ld\n", name, scenario, result[0], result[1]);
}

int main(void) {
    int is_init = getpid() == 1;
    if (is_init) {
        mount("proc", "/proc", "proc", 0, NULL);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    struct utsname names;
    uname(&names);
    printf("begin register-probe\n");
    printf("kernel %s\n", names.release);
    printf("machine %s\n", names.machine);

    enum entry_kind kinds[3] = { ENTRY_LIBC };
    int kind_count = 1;
#if defined(__powerpc64__)
    kinds[kind_count++] = ENTRY_SC;
#ifndef PPC_FEATURE2_SCV
#define PPC_FEATURE2_SCV 0x00100000
#endif
    if (getauxval(AT_HWCAP2) & PPC_FEATURE2_SCV) {
        kinds[kind_count++] = ENTRY_SCV;
    }
#endif

    const char *scenarios[] = { "run", "entry", "exit" };
    for (size_t c = 0; c < sizeof calls / sizeof calls[0]; c++) {
        for (int k = 0; k < kind_count; k++) {
            printf("call %s%s %ld", calls[c].name, entry_names[kinds[k]], calls[c].number);
            for (int a = 0; a < 6; a++) {
                // The path's address differs from run to run.
                if (calls[c].number == __NR_fchownat && a == 1) {
                    printf(" ?");
                } else {
                    printf(" %lx", calls[c].args[a]);
                }
            }
            printf("\n");
            for (int s = 0; s < 3; s++) {
                trace(&calls[c], kinds[k], scenarios[s]);
            }
        }
    }
    printf("end register-probe\n");
    fflush(stdout);

    if (is_init) {
        sync();
        reboot(RB_POWER_OFF);
    }
    return 0;
}
