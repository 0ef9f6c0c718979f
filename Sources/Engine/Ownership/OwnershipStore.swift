import CShims
import Synchronization

/// Where remainroot keeps what it records, chosen with `--ownership`.
public enum OwnershipMode: String, Sendable, CaseIterable {
    /// In the file's own extended attributes, falling back to the state
    /// file (or memory) for files that take no `user.*` attributes.
    case xattr
    /// In the state file only.
    case state
    /// Nothing is recorded; chown to an unmapped id succeeds without effect.
    case off
}

/// Records keyed by file identity, for files that cannot carry their own
/// attributes. The birth time guards against a reused inode number: a
/// record whose birth time differs from the file's belongs to a file that
/// no longer exists.
public protocol KeyedOwnershipStore: AnyObject, Sendable {
    func record(for key: FileKey, birthTime: Int64) -> OwnershipRecord?
    func setRecord(_ record: OwnershipRecord?, for key: FileKey, birthTime: Int64) throws(Errno)
}

/// Records that last for one run, for when no state file was named.
public final class MemoryOwnershipStore: KeyedOwnershipStore {
    private let records = Mutex<[FileKey: (birthTime: Int64, record: OwnershipRecord)]>([:])

    public init() {}

    public func record(for key: FileKey, birthTime: Int64) -> OwnershipRecord? {
        records.withLock { table in
            guard let entry = table[key], entry.birthTime == birthTime else { return nil }
            return entry.record
        }
    }

    public func setRecord(_ record: OwnershipRecord?, for key: FileKey, birthTime: Int64) throws(Errno) {
        records.withLock { table in
            if let record, !record.isEmpty {
                table[key] = (birthTime, record)
            } else {
                table[key] = nil
            }
        }
    }
}

/// Reads and writes records in the place `mode` chooses for each file.
/// Safe to call from any worker.
public final class OwnershipStore: Sendable {
    public let mode: OwnershipMode
    private let keyed: KeyedOwnershipStore
    private let keyedIsPersistent: Bool
    private let logger: Logger
    private let rootsDiffer = Atomic<Bool>(false)
    /// The tracer's own mount namespace, read once: remainroot never
    /// changes it after it creates the store.
    private let tracerMountNamespace = SystemCalls.readLink("/proc/self/ns/mnt")
    private let attributeCache = AttributeRecordCache()

    /// `keyed` is the state file's store; without one, records that cannot
    /// go into attributes last only for this run.
    public init(mode: OwnershipMode, stateStore: KeyedOwnershipStore?, logger: Logger) {
        self.mode = mode
        self.keyed = stateStore ?? MemoryOwnershipStore()
        self.keyedIsPersistent = stateStore != nil
        self.logger = logger
    }

    /// Whether some tracee may have another root directory or mount
    /// namespace than the tracer, after a chroot, pivot_root, unshare or
    /// setns, or a child created in a new mount namespace. Once set, every
    /// path is resolved through the tracee's own /proc/PID/root.
    public var rootsMayDiffer: Bool {
        rootsDiffer.load(ordering: .relaxed)
    }

    public func noteRootsMayDiffer() {
        rootsDiffer.store(true, ordering: .relaxed)
    }

    /// Notes a new task created in another mount namespace (clone with
    /// CLONE_NEWNS, which the filter cannot see in clone3's arguments).
    public func checkMountNamespace(of pid: ProcessID) {
        guard !rootsMayDiffer else { return }
        let theirs = SystemCalls.readLink("/proc/\(pid.rawValue)/ns/mnt")
        if theirs == nil || theirs != tracerMountNamespace {
            noteRootsMayDiffer()
        }
    }

    private func usesAttributes(_ file: OpenedFile) -> Bool {
        mode == .xattr && file.acceptsUserAttributes
    }

    /// The record of `file`, or nil when it has none.
    public func record(of file: OpenedFile) -> OwnershipRecord? {
        if usesAttributes(file) {
            let record = attributeRecord(of: file)
            if !record.isEmpty { return record }
        }
        return keyed.record(for: file.key, birthTime: file.status.birth_time)
    }

    /// Returns the record in the file's own attributes, from the cache
    /// while the file's change time is the one they were read at.
    private func attributeRecord(of file: OpenedFile) -> OwnershipRecord {
        if let cached = attributeCache.record(of: file) {
            return cached
        }

        var record = OwnershipRecord()
        if let bytes = file.attribute(RootlessContainersAttribute.name),
           let ids = RootlessContainersAttribute.decode(bytes) {
            record.uid = ids.uid
            record.gid = ids.gid
        }
        // A faked device is an empty regular file; only those need the
        // second attribute read.
        if file.isRegular && file.status.size == 0,
           let bytes = file.attribute(DeviceAttribute.name) {
            record.device = FakeDevice(attributeText: String(decoding: bytes, as: UTF8.self))
        }
        attributeCache.store(record, of: file)
        return record
    }

    /// Replaces the record of `file`; an empty record removes it.
    public func setRecord(_ record: OwnershipRecord, of file: OpenedFile, pid: ProcessID) throws(Errno) {
        attributeCache.forget(file)
        if usesAttributes(file) {
            do {
                try writeAttributes(record, of: file)
                return
            } catch let error where error == .notSupported || error == .notPermitted {
                // A filesystem without user attributes: the keyed store
                // takes over below.
            }
        }

        if !keyedIsPersistent && !record.isEmpty {
            logger.logGapOnce("records-in-memory", pid: pid,
                "records for files without user.* attributes (symbolic links, FIFOs, some filesystems) last only for this run; name a state file with --state FILE to keep them")
        }
        try keyed.setRecord(record.isEmpty ? nil : record, for: file.key, birthTime: file.status.birth_time)
    }

    private func writeAttributes(_ record: OwnershipRecord, of file: OpenedFile) throws(Errno) {
        if record.uid == nil && record.gid == nil {
            try file.removeAttribute(RootlessContainersAttribute.name)
        } else {
            try file.setAttribute(RootlessContainersAttribute.name, RootlessContainersAttribute.encode(uid: record.uid, gid: record.gid))
        }
        if let device = record.device {
            try file.setAttribute(DeviceAttribute.name, Array(device.attributeText.utf8))
        } else if file.isRegular && file.status.size == 0 {
            try file.removeAttribute(DeviceAttribute.name)
        }
    }
}

/// The records read from files' own attributes, so that a file stat
/// often (a header a build includes hundreds of times) costs one getxattr
/// call. The getxattr goes through /proc/self/fd/N, because the kernel
/// refuses an O_PATH descriptor to fgetxattr and to getxattrat with
/// AT_EMPTY_PATH (EBADF, Linux 6.18): in a build that lookup took more
/// than a third of the tracer's time per stat.
///
/// An entry is valid while the file's birth and change times are the ones
/// it was read with. A filesystem sets the change time at every setxattr
/// and removexattr (ext4 in ext4_xattr_set_handle; OwnershipStoreTests
/// checks the filesystem of the temporary folder), so another program's
/// change of the attributes shows. remainroot's own writes drop the entry
/// first.
/// NOTE: a filesystem without multigrain timestamps (Linux 6.13) can keep
/// the change time when the attributes change in the same clock tick as
/// the read. Only another program writing user.rootlesscontainers at that
/// moment would go unseen, until the file's next change.
final class AttributeRecordCache: Sendable {
    private struct Entry {
        var birthTime: Int64
        var changeTime: Int64
        var record: OwnershipRecord
    }

    private let entries = Mutex<[FileKey: Entry]>([:])
    /// A bound on the memory: past it the cache starts again empty.
    static let limit = 16_384

    func record(of file: OpenedFile) -> OwnershipRecord? {
        entries.withLock { entries in
            guard let entry = entries[file.key],
                  entry.birthTime == file.status.birth_time,
                  entry.changeTime == file.status.change_time else { return nil }
            return entry.record
        }
    }

    func store(_ record: OwnershipRecord, of file: OpenedFile) {
        let entry = Entry(birthTime: file.status.birth_time, changeTime: file.status.change_time, record: record)
        entries.withLock { entries in
            if entries.count >= Self.limit {
                entries.removeAll(keepingCapacity: true)
            }
            entries[file.key] = entry
        }
    }

    func forget(_ file: OpenedFile) {
        _ = entries.withLock { $0.removeValue(forKey: file.key) }
    }
}

extension OwnershipStore {
    /// The effective ids a new program gets from its set-user-ID and
    /// set-group-ID bits, as the kernel's `bprm_fill_uid` in fs/exec.c
    /// decides, with the owner recorded in `store` in place of the real one. None on a
    /// nosuid mount or under no_new_privs; the group only when the file is
    /// also group-executable. Call at the exec stop.
    public static func setIDs(ofProgramRunBy pid: ProcessID, store: OwnershipStore?) -> (uid: UInt32?, gid: UInt32?) {
        let executable = shim_open_path(-100, "/proc/\(pid.rawValue)/exe", 0, 0)
        guard executable >= 0, let file = try? OpenedFile(descriptor: executable) else { return (nil, nil) }

        let setUserID: UInt32 = 0o4000, setGroupID: UInt32 = 0o2000, groupExecute: UInt32 = 0o010
        let mode = file.status.mode
        guard mode & (setUserID | setGroupID) != 0, !file.isOnNoSetIDMount, !Self.hasNoNewPrivileges(pid) else { return (nil, nil) }

        let record = store?.record(of: file)
        let uid = mode & setUserID != 0 ? record?.uid ?? file.status.uid : nil
        let gid = mode & (setGroupID | groupExecute) == (setGroupID | groupExecute) ? record?.gid ?? file.status.gid : nil
        return (uid, gid)
    }

    /// Whether the task has the no_new_privs flag, from the NoNewPrivs line
    /// of /proc/PID/status.
    static func hasNoNewPrivileges(_ pid: ProcessID) -> Bool {
        ProcessStatus(of: String(pid.rawValue))?.value("NoNewPrivs") == "1"
    }
}
