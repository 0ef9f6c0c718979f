import Engine

/// The x86_64 system-call numbers remainroot answers, from the kernel's
/// arch/x86/entry/syscalls/syscall_64.tbl (`__NR_*` in asm/unistd_64.h).
enum X86_64SyscallNumbers {
    static let table: [(Int64, SyscallEntry)] = [
        (2, SyscallEntry(.open)),
        (4, SyscallEntry(.stat)),
        (5, SyscallEntry(.fstat)),
        (6, SyscallEntry(.lstat)),
        (56, SyscallEntry(.clone)),
        (83, SyscallEntry(.mkdir)),
        (85, SyscallEntry(.creat)),
        (88, SyscallEntry(.symlink)),
        (92, SyscallEntry(.chown)),
        (93, SyscallEntry(.fchown)),
        (94, SyscallEntry(.lchown)),
        (101, SyscallEntry(.ptrace)),
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
        (155, SyscallEntry(.pivot_root)),
        (157, SyscallEntry(.prctl)),
        (161, SyscallEntry(.chroot)),
        (191, SyscallEntry(.getxattr)),
        (192, SyscallEntry(.lgetxattr)),
        (193, SyscallEntry(.fgetxattr)),
        (194, SyscallEntry(.listxattr)),
        (195, SyscallEntry(.llistxattr)),
        (196, SyscallEntry(.flistxattr)),
        (257, SyscallEntry(.openat)),
        (258, SyscallEntry(.mkdirat)),
        (259, SyscallEntry(.mknodat)),
        (260, SyscallEntry(.fchownat)),
        (262, SyscallEntry(.newfstatat)),
        (266, SyscallEntry(.symlinkat)),
        (272, SyscallEntry(.unshare)),
        (308, SyscallEntry(.setns)),
        (317, SyscallEntry(.seccomp)),
        (332, SyscallEntry(.statx)),
        (435, SyscallEntry(.clone3)),
        (437, SyscallEntry(.openat2)),
        (21, SyscallEntry(.access)),
        (269, SyscallEntry(.faccessat)),
        (439, SyscallEntry(.faccessat2)),
        (59, SyscallEntry(.execve)),
        (322, SyscallEntry(.execveat)),
    ]

    /// `AUDIT_ARCH_X86_64` from <linux/audit.h>: EM_X86_64 (62) with the
    /// 64-bit and little-endian flags.
    static let auditArch: UInt32 = 0xC000_003E

    /// `__X32_SYSCALL_BIT`: an x32 call has the x86_64 audit arch and its
    /// number with bit 30 set. x32 calls are left to the kernel: most
    /// kernels are built without x32 (`CONFIG_X86_X32_ABI`), Debian's turn
    /// it off unless booted with `syscall.x32=y`, and no Debian release
    /// ships x32 programs.
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

/// The i386 system-call numbers remainroot answers, from the kernel's
/// arch/x86/entry/syscalls/syscall_32.tbl (`__NR_*` in asm/unistd_32.h).
///
/// i386 has two of most id calls. The original ones take the 16-bit
/// `old_uid_t` of Linux 2.2 (kernel/uid16.c: `sys_setuid16` and friends);
/// the ones ending in 32 (`setuid32`) take 32-bit ids. glibc calls the
/// 32-bit ones, old or hand-written programs the 16-bit ones.
enum I386SyscallNumbers {
    static let table: [(Int64, SyscallEntry)] = [
        (16, SyscallEntry(.lchown, idWidth: .bits16)),
        (23, SyscallEntry(.setuid, idWidth: .bits16)),
        (24, SyscallEntry(.getuid, idWidth: .bits16)),
        (46, SyscallEntry(.setgid, idWidth: .bits16)),
        (47, SyscallEntry(.getgid, idWidth: .bits16)),
        (49, SyscallEntry(.geteuid, idWidth: .bits16)),
        (50, SyscallEntry(.getegid, idWidth: .bits16)),
        (70, SyscallEntry(.setreuid, idWidth: .bits16)),
        (71, SyscallEntry(.setregid, idWidth: .bits16)),
        (80, SyscallEntry(.getgroups, idWidth: .bits16)),
        (81, SyscallEntry(.setgroups, idWidth: .bits16)),
        (95, SyscallEntry(.fchown, idWidth: .bits16)),
        (138, SyscallEntry(.setfsuid, idWidth: .bits16)),
        (139, SyscallEntry(.setfsgid, idWidth: .bits16)),
        (164, SyscallEntry(.setresuid, idWidth: .bits16)),
        (165, SyscallEntry(.getresuid, idWidth: .bits16)),
        (170, SyscallEntry(.setresgid, idWidth: .bits16)),
        (171, SyscallEntry(.getresgid, idWidth: .bits16)),
        (172, SyscallEntry(.prctl)),
        (182, SyscallEntry(.chown, idWidth: .bits16)),
        (184, SyscallEntry(.capget)),
        (185, SyscallEntry(.capset)),
        (198, SyscallEntry(.lchown)),
        (199, SyscallEntry(.getuid)),
        (200, SyscallEntry(.getgid)),
        (201, SyscallEntry(.geteuid)),
        (202, SyscallEntry(.getegid)),
        (203, SyscallEntry(.setreuid)),
        (204, SyscallEntry(.setregid)),
        (205, SyscallEntry(.getgroups)),
        (206, SyscallEntry(.setgroups)),
        (207, SyscallEntry(.fchown)),
        (208, SyscallEntry(.setresuid)),
        (209, SyscallEntry(.getresuid)),
        (210, SyscallEntry(.setresgid)),
        (211, SyscallEntry(.getresgid)),
        (212, SyscallEntry(.chown)),
        (213, SyscallEntry(.setuid)),
        (214, SyscallEntry(.setgid)),
        (215, SyscallEntry(.setfsuid)),
        (216, SyscallEntry(.setfsgid)),
        (298, SyscallEntry(.fchownat)),
        (26, SyscallEntry(.ptrace)),
        (354, SyscallEntry(.seccomp)),
        // File calls whose numbers no x86_64 call in the table above uses.
        // Debian 12's glibc (2.36) makes stat, lstat and fstat with statx
        // on i386 too, and struct statx is the same on every CPU.
        (383, SyscallEntry(.statx)),
        (14, SyscallEntry(.mknod)),
        (297, SyscallEntry(.mknodat)),
        (229, SyscallEntry(.getxattr)),
        (230, SyscallEntry(.lgetxattr)),
        (231, SyscallEntry(.fgetxattr)),
        (232, SyscallEntry(.listxattr)),
        (233, SyscallEntry(.llistxattr)),
        (234, SyscallEntry(.flistxattr)),
        (8, SyscallEntry(.creat)),
        (295, SyscallEntry(.openat)),
        (39, SyscallEntry(.mkdir)),
        (296, SyscallEntry(.mkdirat)),
        (304, SyscallEntry(.symlinkat)),
        (33, SyscallEntry(.access)),
        (307, SyscallEntry(.faccessat)),
        (11, SyscallEntry(.execve)),
        (358, SyscallEntry(.execveat)),
    ]

    /// `AUDIT_ARCH_I386` from <linux/audit.h>: EM_386 (3) with the
    /// little-endian flag. The kernel reports it for every call made
    /// through the 32-bit entry points (`int $0x80`, `sysenter`, and
    /// `syscall` from 32-bit code).
    static let auditArch: UInt32 = 0x4000_0003

    /// NOTE: i386 clone (120) and clone3 (435) are not trapped. A 64-bit
    /// program can make an i386 call with `int $0x80`, which the tracer
    /// sees with cs 0x33 and reads as x86_64, where 120 is getresgid; so no
    /// i386 number may be an x86_64 one. An i386 child made with
    /// CLONE_UNTRACED therefore runs untraced.
    /// NOTE: stat64, lstat64, fstat64 and fstatat64 are not in the table,
    /// because they need the i386 `struct stat64` layout. So an i386
    /// program that calls them (an older glibc, or by hand) gets a file's
    /// real owner.
    /// open (5), symlink (83), openat2 (437) and faccessat2 (439) are
    /// missing too: their numbers are x86_64 calls of the table.
    /// i386 pointers and initial-stack words are four bytes, which the
    /// auxiliary-vector rewrite after execve needs.
    static let abi = SyscallABI(name: "i386", auditArch: auditArch, numbers: table, wordSize: 4)
}
