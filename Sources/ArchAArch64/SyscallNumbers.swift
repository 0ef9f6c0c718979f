import Engine

/// The AArch64 system-call numbers remainroot answers. AArch64 uses the
/// generic table of include/uapi/asm-generic/unistd.h, which has no chown,
/// lchown, mknod, stat and lstat: programs call fchownat, mknodat and
/// newfstatat instead.
enum AArch64SyscallNumbers {
    static let table: [(Int64, SyscallEntry)] = [
        (8, SyscallEntry(.getxattr)),
        (9, SyscallEntry(.lgetxattr)),
        (10, SyscallEntry(.fgetxattr)),
        (11, SyscallEntry(.listxattr)),
        (12, SyscallEntry(.llistxattr)),
        (13, SyscallEntry(.flistxattr)),
        (33, SyscallEntry(.mknodat)),
        (41, SyscallEntry(.pivot_root)),
        (51, SyscallEntry(.chroot)),
        (54, SyscallEntry(.fchownat)),
        (55, SyscallEntry(.fchown)),
        (79, SyscallEntry(.newfstatat)),
        (80, SyscallEntry(.fstat)),
        (90, SyscallEntry(.capget)),
        (91, SyscallEntry(.capset)),
        (97, SyscallEntry(.unshare)),
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
        (268, SyscallEntry(.setns)),
        (291, SyscallEntry(.statx)),
        (117, SyscallEntry(.ptrace)),
        (220, SyscallEntry(.clone)),
        (277, SyscallEntry(.seccomp)),
        (435, SyscallEntry(.clone3)),
        (34, SyscallEntry(.mkdirat)),
        (36, SyscallEntry(.symlinkat)),
        (56, SyscallEntry(.openat)),
        (437, SyscallEntry(.openat2)),
        (48, SyscallEntry(.faccessat)),
        (439, SyscallEntry(.faccessat2)),
        (221, SyscallEntry(.execve)),
        (281, SyscallEntry(.execveat)),
    ]

    /// `AUDIT_ARCH_AARCH64` from <linux/audit.h>: EM_AARCH64 (183) with the
    /// 64-bit and little-endian flags. AArch32 tasks have
    /// `AUDIT_ARCH_ARM` and are left to the kernel.
    static let auditArch: UInt32 = 0xC000_00B7

    /// `struct stat` of include/uapi/asm-generic/stat.h: st_dev and st_ino
    /// are eight bytes each, then st_mode, st_nlink, st_uid and st_gid of
    /// four, then st_rdev.
    static let statLayout = StatLayout(
        device: .init(offset: 0, width: 8),
        inode: .init(offset: 8, width: 8),
        mode: .init(offset: 16, width: 4),
        uid: .init(offset: 24, width: 4),
        gid: .init(offset: 28, width: 4),
        rdev: .init(offset: 32, width: 8)
    )

    static let abi = SyscallABI(name: "aarch64", auditArch: auditArch, numbers: table, statLayout: statLayout)
}
