import Engine

/// The PPC64LE system-call numbers remainroot answers, from the kernel's
/// arch/powerpc/kernel/syscalls/syscall.tbl (`__NR_*` in
/// asm/unistd_64.h). All of them take 32-bit ids on a 64-bit task.
enum PPC64LESyscallNumbers {
    static let table: [(Int64, SyscallEntry)] = [
        (16, SyscallEntry(.lchown)),
        (23, SyscallEntry(.setuid)),
        (24, SyscallEntry(.getuid)),
        (46, SyscallEntry(.setgid)),
        (47, SyscallEntry(.getgid)),
        (49, SyscallEntry(.geteuid)),
        (50, SyscallEntry(.getegid)),
        (70, SyscallEntry(.setreuid)),
        (71, SyscallEntry(.setregid)),
        (80, SyscallEntry(.getgroups)),
        (81, SyscallEntry(.setgroups)),
        (95, SyscallEntry(.fchown)),
        (138, SyscallEntry(.setfsuid)),
        (139, SyscallEntry(.setfsgid)),
        (164, SyscallEntry(.setresuid)),
        (165, SyscallEntry(.getresuid)),
        (169, SyscallEntry(.setresgid)),
        (170, SyscallEntry(.getresgid)),
        (171, SyscallEntry(.prctl)),
        (181, SyscallEntry(.chown)),
        (183, SyscallEntry(.capget)),
        (184, SyscallEntry(.capset)),
        (289, SyscallEntry(.fchownat)),
    ]

    /// `AUDIT_ARCH_PPC64LE` from <linux/audit.h>: EM_PPC64 (21) with the
    /// 64-bit and little-endian flags. 32-bit tasks have `AUDIT_ARCH_PPC`
    /// and are left to the kernel.
    static let auditArch: UInt32 = 0xC000_0015

    static let abi = SyscallABI(name: "ppc64le", auditArch: auditArch, numbers: table)
}
