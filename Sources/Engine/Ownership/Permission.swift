/// The kernel's discretionary access checks, applied to an emulated
/// identity and a file's emulated owner and mode. Pure functions over
/// values, after fs/namei.c and fs/open.c of Linux 6.x without POSIX ACLs.
///
/// The emulated task is root of the initial user namespace, where every id
/// is mapped, so `capable_wrt_inode_uidgid` reduces to the effective set.
/// NOTE: a file with a POSIX ACL is checked by its mode bits alone.
public enum Permission {
    /// The bits of the kernel's `MAY_*` mask that these checks read, from
    /// include/linux/fs.h.
    public struct Mask: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32

        public init(rawValue: UInt32) {
            self.rawValue = rawValue
        }

        /// `MAY_EXEC`: execute a file or search a directory.
        public static let execute = Mask(rawValue: 0x1)
        /// `MAY_WRITE`
        public static let write = Mask(rawValue: 0x2)
        /// `MAY_READ`
        public static let read = Mask(rawValue: 0x4)
    }

    /// The file attributes a check reads: the emulated owner and the mode,
    /// file type bits included.
    public struct Inode: Sendable, Hashable {
        public var uid: UInt32
        public var gid: UInt32
        public var mode: UInt32

        public init(uid: UInt32, gid: UInt32, mode: UInt32) {
            self.uid = uid
            self.gid = gid
            self.mode = mode
        }

        public var isDirectory: Bool { mode & 0o170000 == 0o040000 }
        /// Whether any of the three execute bits is set (`S_IXUGO`).
        public var hasExecuteBit: Bool { mode & 0o111 != 0 }
    }

    /// `generic_permission`: the owner, group or other bits, whichever class
    /// the task falls in, and then the capabilities that override them.
    /// A directory may be read or searched with CAP_DAC_READ_SEARCH and
    /// anything with CAP_DAC_OVERRIDE. A file may be read with
    /// CAP_DAC_READ_SEARCH, and read or written with CAP_DAC_OVERRIDE, which
    /// grants execution only when some execute bit is set. Returns nil when
    /// the access is allowed, else EACCES.
    public static func check(_ mask: Mask, inode: Inode, credentials: Credentials) -> Errno? {
        if modeBitsAllow(mask, inode: inode, credentials: credentials) {
            return nil
        }

        if inode.isDirectory {
            if !mask.contains(.write) && credentials.isCapable(CapabilitySet.dacReadSearch) {
                return nil
            }
            return credentials.isCapable(CapabilitySet.dacOverride) ? nil : .permissionDenied
        }

        if mask == .read && credentials.isCapable(CapabilitySet.dacReadSearch) {
            return nil
        }
        if !mask.contains(.execute) || inode.hasExecuteBit {
            if credentials.isCapable(CapabilitySet.dacOverride) {
                return nil
            }
        }
        return .permissionDenied
    }

    /// `acl_permission_check` without ACLs: the owner class for the file's
    /// owner, else the group class when the task is in the file's group,
    /// else the other class. As in the kernel, group membership is looked
    /// up only when the group and other bits differ in the requested bits.
    static func modeBitsAllow(_ mask: Mask, inode: Inode, credentials: Credentials) -> Bool {
        let requested = mask.rawValue & 0o7
        var mode = inode.mode
        if credentials.fsuid == inode.uid {
            mode >>= 6
        } else if requested & (mode ^ (mode >> 3)) != 0 && isInGroup(inode.gid, credentials: credentials) {
            mode >>= 3
        }
        return requested & ~mode == 0
    }

    /// `in_group_p`: the fsgid or one of the supplementary groups.
    public static func isInGroup(_ gid: UInt32, credentials: Credentials) -> Bool {
        credentials.fsgid == gid || credentials.groups.contains(gid)
    }

    /// `inode_owner_or_capable`: the file's owner, or a task with
    /// CAP_FOWNER. Decides O_NOATIME, among others.
    public static func isOwnerOrCapable(inode: Inode, credentials: Credentials) -> Bool {
        credentials.fsuid == inode.uid || credentials.isCapable(CapabilitySet.fileOwner)
    }

    /// `may_lookup`: looking a name up in a directory needs search
    /// permission on it.
    public static func checkLookup(in directory: Inode, credentials: Credentials) -> Errno? {
        check(.execute, inode: directory, credentials: credentials)
    }

    /// Checks the permission part of `may_create`: making a name in a
    /// directory needs write and search permission on it.
    public static func checkCreate(in directory: Inode, credentials: Credentials) -> Errno? {
        check([.write, .execute], inode: directory, credentials: credentials)
    }

    /// Computes the mask an open checks from its flags (`build_open_flags` in
    /// fs/open.c): read, write or both by the access mode, write too for
    /// O_TRUNC, and nothing for O_PATH.
    public static func openMask(flags: UInt32) -> Mask {
        if flags & OpenFlags.path != 0 {
            return []
        }
        var mask: Mask
        switch flags & OpenFlags.accessModeMask {
        case OpenFlags.readOnly: mask = .read
        case OpenFlags.writeOnly: mask = .write
        default: mask = [.read, .write]
        }
        if flags & OpenFlags.truncate != 0 {
            mask.insert(.write)
        }
        return mask
    }

    /// Checks what `may_open` checks of a file that exists: first
    /// `generic_permission` with the open's mask (EACCES), then O_NOATIME,
    /// which only the owner or a task with CAP_FOWNER may ask for (EPERM).
    /// The caller leaves symbolic links and directories opened for writing
    /// to the kernel, which refuses them with ELOOP and EISDIR first.
    public static func checkOpen(flags: UInt32, inode: Inode, credentials: Credentials) -> Errno? {
        let mask = openMask(flags: flags)
        if !mask.isEmpty, let denied = check(mask, inode: inode, credentials: credentials) {
            return denied
        }
        if flags & OpenFlags.path == 0 && flags & OpenFlags.noAccessTime != 0
            && !isOwnerOrCapable(inode: inode, credentials: credentials) {
            return .notPermitted
        }
        return nil
    }

    /// Computes the credentials access(2) and faccessat(2) check with, as
    /// `access_override_creds` in fs/open.c does. Without AT_EACCESS the real
    /// uid and gid stand in for the filesystem ones, and unless
    /// SECURE_NO_SETUID_FIXUP is set the effective capabilities become
    /// the permitted set for a real uid of 0 and none otherwise.
    public static func accessCredentials(_ credentials: Credentials, effectiveIDs: Bool) -> Credentials {
        guard !effectiveIDs else { return credentials }
        var checked = credentials
        checked.fsuid = credentials.uid
        checked.fsgid = credentials.gid
        if !credentials.securebits.contains(.noSetUIDFixup) {
            checked.effective = credentials.uid == 0 ? credentials.permitted : .empty
        }
        return checked
    }

    /// Returns whether no open, access or path search of this task can be
    /// refused by the checks above, so that its opens need not stop: it has
    /// CAP_DAC_OVERRIDE and CAP_FOWNER, and access(2) checks it as root
    /// with CAP_DAC_OVERRIDE too. Execute requests on files without any
    /// execute bit are refused even then, but the kernel refuses those
    /// for real root as well.
    public static func bypassesChecks(_ credentials: Credentials) -> Bool {
        let effective = credentials.effective
        guard effective.contains(CapabilitySet.dacOverride) && effective.contains(CapabilitySet.fileOwner) else {
            return false
        }
        let access = accessCredentials(credentials, effectiveIDs: false)
        return access.effective.contains(CapabilitySet.dacOverride)
    }

    /// Returns whether path searches of this task cannot be refused: it has
    /// CAP_DAC_OVERRIDE or CAP_DAC_READ_SEARCH.
    public static func bypassesSearch(_ credentials: Credentials) -> Bool {
        credentials.isCapable(CapabilitySet.dacOverride) || credentials.isCapable(CapabilitySet.dacReadSearch)
    }
}
