import Engine

/// The x86_64 system-call numbers remainroot answers, from the kernel's
/// arch/x86/entry/syscalls/syscall_64.tbl (`__NR_*` in asm/unistd_64.h).
enum X86_64SyscallNumbers {
    static let table: [(Int64, SyscallEntry)] = [
        (4, SyscallEntry(.stat)),
        (5, SyscallEntry(.fstat)),
        (6, SyscallEntry(.lstat)),
        (92, SyscallEntry(.chown)),
        (93, SyscallEntry(.fchown)),
        (94, SyscallEntry(.lchown)),
        (102, SyscallEntry(.getuid)),
        (104, SyscallEntry(.getgid)),
        (105, SyscallEntry(.setuid)),
        (106, SyscallEntry(.setgid)),
        (107, SyscallEntry(.geteuid)),
        (108, SyscallEntry(.getegid)),
        (113, SyscallEntry(.setreuid)),
        (114, SyscallEntry(.setregid)),
        (115, SyscallEntry(.getgroups)),
        (116, SyscallEntry(.setgroups)),
        (117, SyscallEntry(.setresuid)),
        (118, SyscallEntry(.getresuid)),
        (119, SyscallEntry(.setresgid)),
        (120, SyscallEntry(.getresgid)),
        (122, SyscallEntry(.setfsuid)),
        (123, SyscallEntry(.setfsgid)),
        (125, SyscallEntry(.capget)),
        (126, SyscallEntry(.capset)),
        (133, SyscallEntry(.mknod)),
        (157, SyscallEntry(.prctl)),
        (191, SyscallEntry(.getxattr)),
        (192, SyscallEntry(.lgetxattr)),
        (193, SyscallEntry(.fgetxattr)),
        (194, SyscallEntry(.listxattr)),
        (195, SyscallEntry(.llistxattr)),
        (196, SyscallEntry(.flistxattr)),
        (259, SyscallEntry(.mknodat)),
        (260, SyscallEntry(.fchownat)),
        (262, SyscallEntry(.newfstatat)),
        (332, SyscallEntry(.statx)),
    ]

    /// `AUDIT_ARCH_X86_64` from <linux/audit.h>: EM_X86_64 (62) with the
    /// 64-bit and little-endian flags.
    static let auditArch: UInt32 = 0xC000_003E

    /// `__X32_SYSCALL_BIT`: an x32 call has the x86_64 audit arch and its
    /// number with bit 30 set. x32 calls are left to the kernel.
    static let x32SyscallBit: Int64 = 0x4000_0000

    /// `struct stat` of arch/x86/include/uapi/asm/stat.h for x86_64:
    /// st_dev, st_ino and st_nlink are eight bytes each, then st_mode,
    /// st_uid, st_gid and a pad of four, then st_rdev.
    static let statLayout = StatLayout(
        device: .init(offset: 0, width: 8),
        inode: .init(offset: 8, width: 8),
        mode: .init(offset: 24, width: 4),
        uid: .init(offset: 28, width: 4),
        gid: .init(offset: 32, width: 4),
        rdev: .init(offset: 40, width: 8)
    )

    static let abi = SyscallABI(name: "x86_64", auditArch: auditArch, numbers: table, foreignNumberFloor: x32SyscallBit, statLayout: statLayout)
}
