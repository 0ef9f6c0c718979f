/// The credentials of one task (thread), as the kernel keeps them in
/// `struct cred`, and the kernel's rules for changing them.
///
/// Each mutating method follows the function of the same name in the
/// kernel's kernel/sys.c (Linux 6.x), including the order of its checks, so
/// that a refused call fails with the errno the kernel would return. The
/// emulated task is root of the initial user namespace on a real machine,
/// where every id except `(uid_t)-1` is valid and capabilities are checked
/// in the effective set.
public struct Credentials: Hashable, Sendable {
    public var uid: UInt32
    public var euid: UInt32
    public var suid: UInt32
    public var fsuid: UInt32
    public var gid: UInt32
    public var egid: UInt32
    public var sgid: UInt32
    public var fsgid: UInt32
    /// Supplementary groups, sorted as `set_groups` leaves them.
    public var groups: [UInt32]
    public var permitted: CapabilitySet
    public var effective: CapabilitySet
    public var inheritable: CapabilitySet
    public var bounding: CapabilitySet
    public var ambient: CapabilitySet
    public var securebits: SecureBits

    /// `(uid_t)-1`, which the set*id calls read as "leave unchanged" and
    /// which is never a valid id.
    public static let unchanged: UInt32 = .max

    /// `NGROUPS_MAX` from `linux/limits.h`.
    public static let maximumGroupCount = 65536

    public init(
        uid: UInt32, euid: UInt32, suid: UInt32, fsuid: UInt32,
        gid: UInt32, egid: UInt32, sgid: UInt32, fsgid: UInt32,
        groups: [UInt32],
        permitted: CapabilitySet, effective: CapabilitySet, inheritable: CapabilitySet,
        bounding: CapabilitySet, ambient: CapabilitySet, securebits: SecureBits
    ) {
        self.uid = uid
        self.euid = euid
        self.suid = suid
        self.fsuid = fsuid
        self.gid = gid
        self.egid = egid
        self.sgid = sgid
        self.fsgid = fsgid
        self.groups = groups.sorted()
        self.permitted = permitted
        self.effective = effective
        self.inheritable = inheritable
        self.bounding = bounding
        self.ambient = ambient
        self.securebits = securebits
    }

    /// A task logged in as `uid`:`gid` with `groups`: root gets every
    /// capability up to `lastCapability`, anyone else none, as after an
    /// execve by that user.
    public static func loggedIn(uid: UInt32, gid: UInt32, groups: [UInt32], lastCapability: Int) -> Credentials {
        let all = CapabilitySet.full(lastCapability: lastCapability)
        let capabilities = uid == 0 ? all : .empty
        return Credentials(
            uid: uid, euid: uid, suid: uid, fsuid: uid,
            gid: gid, egid: gid, sgid: gid, fsgid: gid,
            groups: groups,
            permitted: capabilities, effective: capabilities, inheritable: .empty,
            bounding: all, ambient: .empty, securebits: SecureBits(rawValue: 0)
        )
    }

    /// `ns_capable_setid()`: the capability is in the effective set.
    public func isCapable(_ capability: Int) -> Bool {
        effective.contains(capability)
    }

    /// Returns whether the credentials differ from `other` in the
    /// supplementary groups alone, and only where no permission check can
    /// tell: `in_group_p` (kernel/groups.c) tests the fsgid before the
    /// groups, so groups that add nothing but the fsgid decide every check
    /// the same. On Debian, `su root` and `runuser -u root` set root's
    /// groups, [0], while the namespace root has no supplementary groups.
    public func differsOnlyInGroupsNamingFsgid(from other: Credentials) -> Bool {
        var ours = self, theirs = other
        ours.groups = []
        theirs.groups = []
        return ours == theirs && Set(groups + [fsgid]) == Set(other.groups + [other.fsgid])
    }

    private static func isValid(_ id: UInt32) -> Bool {
        id != unchanged
    }

    // MARK: - User ids

    /// `setuid(2)`, the kernel's `__sys_setuid`.
    public mutating func setUID(_ newUID: UInt32) throws(Errno) {
        guard Credentials.isValid(newUID) else { throw .invalidArgument }
        let old = self

        if old.isCapable(CapabilitySet.setUID) {
            uid = newUID
            suid = newUID
        } else if newUID != old.uid && newUID != old.suid {
            throw .notPermitted
        }

        euid = newUID
        fsuid = newUID
        fixCapabilitiesAfterUIDChange(from: old)
    }

    /// `setreuid(2)`, the kernel's `__sys_setreuid`.
    public mutating func setREUID(real: UInt32, effective newEUID: UInt32) throws(Errno) {
        if real != Credentials.unchanged && !Credentials.isValid(real) { throw .invalidArgument }
        if newEUID != Credentials.unchanged && !Credentials.isValid(newEUID) { throw .invalidArgument }
        let old = self
        let capable = old.isCapable(CapabilitySet.setUID)

        if real != Credentials.unchanged {
            guard real == old.uid || real == old.euid || capable else { throw .notPermitted }
        }
        if newEUID != Credentials.unchanged {
            guard newEUID == old.uid || newEUID == old.euid || newEUID == old.suid || capable else { throw .notPermitted }
        }

        if real != Credentials.unchanged { uid = real }
        if newEUID != Credentials.unchanged { euid = newEUID }
        if real != Credentials.unchanged || (newEUID != Credentials.unchanged && newEUID != old.uid) {
            suid = euid
        }
        fsuid = euid
        fixCapabilitiesAfterUIDChange(from: old)
    }

    /// `setresuid(2)`, the kernel's `__sys_setresuid`.
    public mutating func setRESUID(real: UInt32, effective newEUID: UInt32, saved: UInt32) throws(Errno) {
        let keep = Credentials.unchanged
        let old = self

        let isNoOp = (real == keep || real == old.uid)
            && (newEUID == keep || (newEUID == old.euid && newEUID == old.fsuid))
            && (saved == keep || saved == old.suid)
        if isNoOp { return }

        func isNew(_ id: UInt32) -> Bool {
            id != keep && id != old.uid && id != old.euid && id != old.suid
        }
        if (isNew(real) || isNew(newEUID) || isNew(saved)) && !old.isCapable(CapabilitySet.setUID) {
            throw .notPermitted
        }

        if real != keep { uid = real }
        if newEUID != keep { euid = newEUID }
        if saved != keep { suid = saved }
        fsuid = euid
        fixCapabilitiesAfterUIDChange(from: old)
    }

    /// `setfsuid(2)`, the kernel's `__sys_setfsuid`: never fails, and
    /// returns the previous fsuid whether or not it changed.
    public mutating func setFSUID(_ newFSUID: UInt32) -> UInt32 {
        let old = self
        guard Credentials.isValid(newFSUID) else { return old.fsuid }

        let allowed = newFSUID == old.uid || newFSUID == old.euid || newFSUID == old.suid
            || newFSUID == old.fsuid || old.isCapable(CapabilitySet.setUID)
        if allowed && newFSUID != old.fsuid {
            fsuid = newFSUID
            fixCapabilitiesAfterFSUIDChange(from: old)
        }
        return old.fsuid
    }

    // MARK: - Group ids

    /// `setgid(2)`, the kernel's `__sys_setgid`.
    public mutating func setGID(_ newGID: UInt32) throws(Errno) {
        guard Credentials.isValid(newGID) else { throw .invalidArgument }

        if isCapable(CapabilitySet.setGID) {
            gid = newGID
            egid = newGID
            sgid = newGID
            fsgid = newGID
        } else if newGID == gid || newGID == sgid {
            egid = newGID
            fsgid = newGID
        } else {
            throw .notPermitted
        }
    }

    /// `setregid(2)`, the kernel's `__sys_setregid`.
    public mutating func setREGID(real: UInt32, effective newEGID: UInt32) throws(Errno) {
        if real != Credentials.unchanged && !Credentials.isValid(real) { throw .invalidArgument }
        if newEGID != Credentials.unchanged && !Credentials.isValid(newEGID) { throw .invalidArgument }
        let old = self
        let capable = old.isCapable(CapabilitySet.setGID)

        if real != Credentials.unchanged {
            guard real == old.gid || real == old.egid || capable else { throw .notPermitted }
        }
        if newEGID != Credentials.unchanged {
            guard newEGID == old.gid || newEGID == old.egid || newEGID == old.sgid || capable else { throw .notPermitted }
        }

        if real != Credentials.unchanged { gid = real }
        if newEGID != Credentials.unchanged { egid = newEGID }
        if real != Credentials.unchanged || (newEGID != Credentials.unchanged && newEGID != old.gid) {
            sgid = egid
        }
        fsgid = egid
    }

    /// `setresgid(2)`, the kernel's `__sys_setresgid`.
    public mutating func setRESGID(real: UInt32, effective newEGID: UInt32, saved: UInt32) throws(Errno) {
        let keep = Credentials.unchanged
        let old = self

        let isNoOp = (real == keep || real == old.gid)
            && (newEGID == keep || (newEGID == old.egid && newEGID == old.fsgid))
            && (saved == keep || saved == old.sgid)
        if isNoOp { return }

        func isNew(_ id: UInt32) -> Bool {
            id != keep && id != old.gid && id != old.egid && id != old.sgid
        }
        if (isNew(real) || isNew(newEGID) || isNew(saved)) && !old.isCapable(CapabilitySet.setGID) {
            throw .notPermitted
        }

        if real != keep { gid = real }
        if newEGID != keep { egid = newEGID }
        if saved != keep { sgid = saved }
        fsgid = egid
    }

    /// `setfsgid(2)`, the kernel's `__sys_setfsgid`: never fails, and
    /// returns the previous fsgid.
    public mutating func setFSGID(_ newFSGID: UInt32) -> UInt32 {
        let previous = fsgid
        guard Credentials.isValid(newFSGID) else { return previous }

        let allowed = newFSGID == gid || newFSGID == egid || newFSGID == sgid
            || newFSGID == fsgid || isCapable(CapabilitySet.setGID)
        if allowed {
            fsgid = newFSGID
        }
        return previous
    }

    /// The permission check `setgroups(2)` makes before it reads its
    /// arguments (`may_setgroups`, then the size check), in the kernel's
    /// order: EPERM first, then EINVAL for a size over `NGROUPS_MAX`. The
    /// size is the C `int` the program passed.
    public func checkSetGroups(count: Int32) throws(Errno) {
        guard isCapable(CapabilitySet.setGID) else { throw .notPermitted }
        guard UInt32(bitPattern: count) <= UInt32(Credentials.maximumGroupCount) else { throw .invalidArgument }
    }

    /// `setgroups(2)` after ``checkSetGroups(count:)`` passed and the list
    /// was read: an invalid gid is EINVAL, and the kernel stores the list
    /// sorted, duplicates included.
    public mutating func setGroups(_ newGroups: [UInt32]) throws(Errno) {
        try checkSetGroups(count: Int32(clamping: newGroups.count))
        guard newGroups.allSatisfy(Credentials.isValid) else { throw .invalidArgument }
        groups = newGroups.sorted()
    }

    // MARK: - Capability fix-ups

    /// Applies `cap_emulate_setxuid` from security/commoncap.c, which runs
    /// after setuid, setreuid and setresuid unless `SECURE_NO_SETUID_FIXUP`
    /// is set. Leaving uid 0 in all of real, effective and saved clears the
    /// permitted and effective sets (unless `SECURE_KEEP_CAPS`) and the
    /// ambient set. An effective uid leaving 0 clears the effective set, and
    /// one returning to 0 restores it from the permitted set.
    private mutating func fixCapabilitiesAfterUIDChange(from old: Credentials) {
        guard !old.securebits.contains(.noSetUIDFixup) else { return }

        let oldHadRoot = old.uid == 0 || old.euid == 0 || old.suid == 0
        let newHasRoot = uid == 0 || euid == 0 || suid == 0
        if oldHadRoot && !newHasRoot {
            if !old.securebits.contains(.keepCapabilities) {
                permitted = .empty
                effective = .empty
            }
            ambient = .empty
        }

        if old.euid == 0 && euid != 0 {
            effective = .empty
        }
        if old.euid != 0 && euid == 0 {
            effective = permitted
        }
    }

    /// The `LSM_SETID_FS` case of `cap_task_fix_setuid`: the filesystem
    /// capabilities follow fsuid in and out of 0.
    private mutating func fixCapabilitiesAfterFSUIDChange(from old: Credentials) {
        guard !old.securebits.contains(.noSetUIDFixup) else { return }

        if old.fsuid == 0 && fsuid != 0 {
            effective = effective.subtracting(.filesystem)
        }
        if old.fsuid != 0 && fsuid == 0 {
            effective = effective.union(permitted.intersection(.filesystem))
        }
    }

    // MARK: - execve

    /// What execve does to the credentials of a program without set-user-ID
    /// or set-group-ID bits and without file capabilities:
    /// `cap_bprm_creds_from_file` in security/commoncap.c. Saved and
    /// filesystem ids take the effective ones; a real or effective uid 0
    /// gets the bounding and inheritable sets as permitted (root's
    /// "file capabilities are all set" rule, unless `SECURE_NOROOT`), an
    /// effective uid 0 makes them effective, and anyone else keeps only the
    /// ambient set. `SECURE_KEEP_CAPS` is cleared. Since Linux 6.15 an
    /// effective gid outside the caller's groups (`!in_group_p(egid)`, the
    /// fsgid or a supplementary group) counts as an id change and clears
    /// the ambient set.
    ///
    /// Returns whether the kernel would mark the new program's execution
    /// secure (`AT_SECURE`, `bprm->secureexec`): after an id change, while
    /// an effective id differs from the real one, or when a task whose real
    /// uid is not 0 gains effective capabilities or more permitted ones
    /// than its ambient set.
    ///
    /// `setUserID` and `setGroupID` are the owner and group of a set-user-ID
    /// or set-group-ID program that the kernel's `bprm_fill_uid` would
    /// honour; they become the effective ids first.
    ///
    /// `noNewPrivileges` is the task's no_new_privs flag
    /// (`PR_SET_NO_NEW_PRIVS`). With it, an exec that would change an id or
    /// add to the permitted set is downgraded: the effective ids fall back
    /// to the real ones and the permitted set keeps only what it had.
    /// NOTE: the kernel downgrades the same way when the task shares its
    /// filesystem information with a process outside its thread group
    /// (`LSM_UNSAFE_SHARE`, clone with CLONE_FS), which is not emulated.
    @discardableResult
    public mutating func execute(setUserID: UInt32? = nil, setGroupID: UInt32? = nil, noNewPrivileges: @autoclosure () -> Bool = false) -> Bool {
        let old = self
        var raisesEffective = false

        if let setUserID { euid = setUserID }
        if let setGroupID { egid = setGroupID }

        permitted = .empty
        if !old.securebits.contains(.noRoot) {
            if euid == 0 || uid == 0 {
                permitted = old.bounding.union(old.inheritable)
            }
            if euid == 0 {
                raisesEffective = true
            }
        }

        let idChanged = euid != old.euid || !(egid == old.fsgid || old.groups.contains(egid))
        let gainsPermitted = permitted.subtracting(old.permitted) != .empty
        // Only such an exec reads the flag, which costs the tracer a read
        // of /proc/PID/status.
        if (idChanged || gainsPermitted) && noNewPrivileges() {
            euid = uid
            egid = gid
            permitted = permitted.intersection(old.permitted)
        }
        if idChanged {
            ambient = .empty
        }

        suid = euid
        fsuid = euid
        sgid = egid
        fsgid = egid

        permitted = permitted.union(ambient)
        effective = raisesEffective ? permitted : ambient
        securebits.rawValue &= ~SecureBits.keepCapabilities.rawValue

        let gainedCapabilities = raisesEffective || permitted.subtracting(ambient) != .empty
        return idChanged || euid != uid || egid != gid || (uid != 0 && gainedCapabilities)
    }
}
