import Engine

/// The PPC64LE system-call numbers remainroot answers, from the kernel's
/// arch/powerpc/kernel/syscalls/syscall.tbl (`__NR_*` in
/// asm/unistd_64.h). All of them take 32-bit ids on a 64-bit task.
enum PPC64LESyscallNumbers {
    static let table: [(Int64, SyscallEntry)] = [
        (14, SyscallEntry(.mknod)),
        (16, SyscallEntry(.lchown)),
        (23, SyscallEntry(.setuid)),
        (24, SyscallEntry(.getuid)),
        (46, SyscallEntry(.setgid)),
        (47, SyscallEntry(.getgid)),
        (49, SyscallEntry(.geteuid)),
        (50, SyscallEntry(.getegid)),
        (61, SyscallEntry(.chroot)),
        (70, SyscallEntry(.setreuid)),
        (71, SyscallEntry(.setregid)),
        (80, SyscallEntry(.getgroups)),
        (81, SyscallEntry(.setgroups)),
        (95, SyscallEntry(.fchown)),
        (106, SyscallEntry(.stat)),
        (107, SyscallEntry(.lstat)),
        (108, SyscallEntry(.fstat)),
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
        (203, SyscallEntry(.pivot_root)),
        (212, SyscallEntry(.getxattr)),
        (213, SyscallEntry(.lgetxattr)),
        (214, SyscallEntry(.fgetxattr)),
        (215, SyscallEntry(.listxattr)),
        (216, SyscallEntry(.llistxattr)),
        (217, SyscallEntry(.flistxattr)),
        (282, SyscallEntry(.unshare)),
        (288, SyscallEntry(.mknodat)),
        (289, SyscallEntry(.fchownat)),
        (291, SyscallEntry(.newfstatat)),
        (350, SyscallEntry(.setns)),
        (383, SyscallEntry(.statx)),
        (26, SyscallEntry(.ptrace)),
        (120, SyscallEntry(.clone)),
        (358, SyscallEntry(.seccomp)),
        (435, SyscallEntry(.clone3)),
        (5, SyscallEntry(.open)),
        (8, SyscallEntry(.creat)),
        (39, SyscallEntry(.mkdir)),
        (83, SyscallEntry(.symlink)),
        (286, SyscallEntry(.openat)),
        (287, SyscallEntry(.mkdirat)),
        (295, SyscallEntry(.symlinkat)),
        (437, SyscallEntry(.openat2)),
        (33, SyscallEntry(.access)),
        (298, SyscallEntry(.faccessat)),
        (439, SyscallEntry(.faccessat2)),
        (11, SyscallEntry(.execve)),
        (362, SyscallEntry(.execveat)),
    ]

    /// `AUDIT_ARCH_PPC64LE` from <linux/audit.h>: EM_PPC64 (21) with the
    /// 64-bit and little-endian flags. 32-bit tasks have `AUDIT_ARCH_PPC`
    /// and are left to the kernel.
    static let auditArch: UInt32 = 0xC000_0015

    /// `struct stat` of arch/powerpc/include/uapi/asm/stat.h for a 64-bit
    /// task: st_dev, st_ino and st_nlink are eight bytes each, then st_mode,
    /// st_uid and st_gid of four and a pad of four, then st_rdev. It is the
    /// x86_64 layout.
    static let statLayout = StatLayout(
        device: .init(offset: 0, width: 8),
        inode: .init(offset: 8, width: 8),
        mode: .init(offset: 24, width: 4),
        uid: .init(offset: 28, width: 4),
        gid: .init(offset: 32, width: 4),
        rdev: .init(offset: 40, width: 8)
    )

    static let abi = SyscallABI(name: "ppc64le", auditArch: auditArch, numbers: table, statLayout: statLayout)
}
