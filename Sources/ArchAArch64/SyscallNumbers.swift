import Engine

/// The AArch64 system-call numbers remainroot answers. AArch64 uses the
/// generic table of include/uapi/asm-generic/unistd.h, which has no chown
/// and lchown: programs call fchownat instead.
enum AArch64SyscallNumbers {
    static let table: [(Int64, SyscallEntry)] = [
        (54, SyscallEntry(.fchownat)),
        (55, SyscallEntry(.fchown)),
        (90, SyscallEntry(.capget)),
        (91, SyscallEntry(.capset)),
        (143, SyscallEntry(.setregid)),
        (144, SyscallEntry(.setgid)),
        (145, SyscallEntry(.setreuid)),
        (146, SyscallEntry(.setuid)),
        (147, SyscallEntry(.setresuid)),
        (148, SyscallEntry(.getresuid)),
        (149, SyscallEntry(.setresgid)),
        (150, SyscallEntry(.getresgid)),
        (151, SyscallEntry(.setfsuid)),
        (152, SyscallEntry(.setfsgid)),
        (158, SyscallEntry(.getgroups)),
        (159, SyscallEntry(.setgroups)),
        (167, SyscallEntry(.prctl)),
        (174, SyscallEntry(.getuid)),
        (175, SyscallEntry(.geteuid)),
        (176, SyscallEntry(.getgid)),
        (177, SyscallEntry(.getegid)),
    ]

    /// `AUDIT_ARCH_AARCH64` from <linux/audit.h>: EM_AARCH64 (183) with the
    /// 64-bit and little-endian flags. AArch32 tasks have
    /// `AUDIT_ARCH_ARM` and are left to the kernel.
    static let auditArch: UInt32 = 0xC000_00B7

    static let abi = SyscallABI(name: "aarch64", auditArch: auditArch, numbers: table)
}
