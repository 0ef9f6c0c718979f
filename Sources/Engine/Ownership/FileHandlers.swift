import CShims

/// The file calls answered while ownership is recorded: the chown family,
/// mknod, the stat family and the attribute calls that must not show
/// remainroot's own attributes. Made per trapped call, on the worker that
/// owns the tracee.
struct FileCallContext {
    let pid: ProcessID
    let memory: TraceeMemory
    let credentials: Credentials
    let store: OwnershipStore
    let handlers: SyscallHandlers

    // Flags from <linux/fcntl.h>.
    static let symlinkNoFollow: UInt64 = 0x100      // AT_SYMLINK_NOFOLLOW
    static let noAutomount: UInt64 = 0x800          // AT_NO_AUTOMOUNT
    static let emptyPath: UInt64 = 0x1000           // AT_EMPTY_PATH
    static let statxSyncMask: UInt64 = 0x6000       // AT_STATX_SYNC_TYPE
    static let openPath = 0o10000000                // O_PATH

    static let fileTypeMask: UInt32 = 0o170000      // S_IFMT
    static let characterDevice: UInt32 = 0o020000   // S_IFCHR
    static let blockDevice: UInt32 = 0o060000       // S_IFBLK
    static let regularFile: UInt32 = 0o100000       // S_IFREG

    var paths: TraceePaths { TraceePaths(pid: pid, memory: memory, sharesTracerRoot: !store.rootsMayDiffer) }
    var permissions: PathPermissions { PathPermissions(paths: paths, store: store, credentials: credentials) }

    /// The owner a program sees: the recorded one over the real one.
    func visibleOwner(of file: OpenedFile, record: OwnershipRecord?) -> (uid: UInt32, gid: UInt32) {
        (record?.uid ?? file.status.uid, record?.gid ?? file.status.gid)
    }

    // MARK: - chown

    /// Performs the chown family on the tracee's behalf. The file is
    /// resolved as the kernel would resolve it, and the kernel's permission
    /// rules (`chown_ok` and `chgrp_ok` in fs/attr.c) are applied to the
    /// emulated identity. The ids the namespace maps are applied for real,
    /// which also updates ctime and clears set-user-ID bits as the kernel
    /// does, and the rest are recorded.
    func chown(_ entry: SyscallEntry, arguments: [UInt64]) throws(Errno) -> SyscallAction {
        let uidIndex = entry.syscall == .fchownat ? 2 : 1
        let uid = SyscallHandlers.id(fromArgument: arguments[uidIndex], width: entry.idWidth)
        let gid = SyscallHandlers.id(fromArgument: arguments[uidIndex + 1], width: entry.idWidth)

        guard let file = try resolved({ () throws(TraceePaths.Failure) in try openChownTarget(entry.syscall, arguments: arguments) }) else {
            handlers.logger.logGapOnce("chown-unresolved", pid: pid,
                "a chown target could not be resolved from the tracer (a magic link or a chrooted relative path); its owner is not recorded")
            return handlers.chownWithoutRecords(uidIndex: uidIndex, arguments: arguments, width: entry.idWidth, credentials: credentials, pid: pid)
        }

        let record = store.record(of: file)
        let owner = visibleOwner(of: file, record: record)
        if file.isOnReadOnlyMount {
            throw .readOnlyFileSystem
        }
        try checkChownPermission(uid: uid, gid: gid, owner: owner)

        let keep = Credentials.unchanged
        let realUID = uid != keep && handlers.userMapping.maps(uid) ? uid : keep
        let realGID = gid != keep && handlers.groupMapping.maps(gid) ? gid : keep
        let result = shim_chown_descriptor(file.descriptor, realUID, realGID)
        guard result == 0 else { throw Errno(-result) }

        var updated = record ?? OwnershipRecord()
        if uid != keep { updated.uid = realUID == keep ? uid : nil }
        if gid != keep { updated.gid = realGID == keep ? gid : nil }
        if updated != (record ?? OwnershipRecord()) {
            try store.setRecord(updated, of: file, pid: pid)
        }
        return .answer(.success(0))
    }

    /// `chown_ok` and `chgrp_ok`: without CAP_CHOWN, the owner may only
    /// "change" the uid to itself, and the group to its current group or
    /// one it belongs to (its fsgid or a supplementary group).
    private func checkChownPermission(uid: UInt32, gid: UInt32, owner: (uid: UInt32, gid: UInt32)) throws(Errno) {
        guard !credentials.isCapable(CapabilitySet.chown) else { return }
        let isOwner = credentials.fsuid == owner.uid
        if uid != Credentials.unchanged && !(isOwner && uid == owner.uid) {
            throw .notPermitted
        }
        if gid != Credentials.unchanged {
            let belongs = gid == owner.gid || gid == credentials.fsgid || credentials.groups.contains(gid)
            guard isOwner && belongs else { throw .notPermitted }
        }
    }

    private func openChownTarget(_ syscall: Syscall, arguments: [UInt64]) throws(TraceePaths.Failure) -> OpenedFile {
        switch syscall {
        case .fchown:
            // fchown(2) needs a descriptor opened for I/O; an O_PATH one is
            // EBADF.
            let fd = Int32(truncatingIfNeeded: arguments[0])
            if let flags = paths.descriptorFlags(fd), flags & Self.openPath != 0 {
                throw .kernel(.badFileDescriptor)
            }
            return try paths.openDescriptor(fd)
        case .fchownat:
            let flags = arguments[4]
            guard flags & ~(Self.symlinkNoFollow | Self.emptyPath) == 0 else { throw .kernel(.invalidArgument) }
            let path = try readPath(arguments[1])
            return try openPath(directory: Int32(truncatingIfNeeded: arguments[0]), path: path,
                                followLastLink: flags & Self.symlinkNoFollow == 0, allowEmpty: flags & Self.emptyPath != 0)
        default:
            let path = try readPath(arguments[0])
            return try openPath(directory: TraceePaths.currentDirectory, path: path,
                                followLastLink: syscall != .lchown, allowEmpty: false)
        }
    }

    /// Resolves a path the tracer acts on itself. An identity that may be
    /// refused a search walks the path name by name, so that an
    /// unsearchable directory on the way is EACCES as in the kernel.
    private func openPath(directory: Int32, path: [UInt8], followLastLink: Bool, allowEmpty: Bool) throws(TraceePaths.Failure) -> OpenedFile {
        if Permission.bypassesSearch(credentials) {
            return try paths.open(directory: directory, path: path, followLastLink: followLastLink, allowEmpty: allowEmpty)
        }
        return try permissions.resolve(directory: directory, path: path, followLastLink: followLastLink, allowEmpty: allowEmpty)
    }

    /// Runs a resolution: the opened file, nil when only the kernel can
    /// resolve the path, or the kernel's error.
    private func resolved(_ open: () throws(TraceePaths.Failure) -> OpenedFile) throws(Errno) -> OpenedFile? {
        do {
            return try open()
        } catch {
            switch error {
            case .kernel(let errno): throw errno
            case .unreliable: return nil
            }
        }
    }

    private func readPath(_ address: UInt64) throws(TraceePaths.Failure) -> [UInt8] {
        do {
            return try paths.readPath(at: address)
        } catch {
            throw .kernel(error)
        }
    }

    // MARK: - mknod, stat and attributes

    func handle(_ entry: SyscallEntry, arguments: [UInt64], statLayout: StatLayout?) throws(Errno) -> SyscallAction {
        switch entry.syscall {
        case .open:
            return openCreating(directory: TraceePaths.currentDirectory, pathAddress: arguments[0], flags: UInt32(truncatingIfNeeded: arguments[1]))
        case .openat:
            return openCreating(directory: Int32(truncatingIfNeeded: arguments[0]), pathAddress: arguments[1], flags: UInt32(truncatingIfNeeded: arguments[2]))
        case .creat:
            return openCreating(directory: TraceePaths.currentDirectory, pathAddress: arguments[0], flags: OpenFlags.create)
        case .openat2:
            // struct open_how starts with its 64-bit flags.
            guard let bytes = try? memory.read(at: arguments[2], count: 8) else { return .passThrough }
            let flags = UInt32(truncatingIfNeeded: bytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            return openCreating(directory: Int32(truncatingIfNeeded: arguments[0]), pathAddress: arguments[1], flags: flags)
        case .mkdir:
            return try creating(directory: TraceePaths.currentDirectory, pathAddress: arguments[0])
        case .mkdirat:
            return try creating(directory: Int32(truncatingIfNeeded: arguments[0]), pathAddress: arguments[1])
        case .symlink:
            return try creating(directory: TraceePaths.currentDirectory, pathAddress: arguments[1])
        case .symlinkat:
            return try creating(directory: Int32(truncatingIfNeeded: arguments[1]), pathAddress: arguments[2])
        case .mknod:
            return try mknod(directory: TraceePaths.currentDirectory, pathAddress: arguments[0], modeIndex: 1, arguments: arguments)
        case .mknodat:
            return try mknod(directory: Int32(truncatingIfNeeded: arguments[0]), pathAddress: arguments[1], modeIndex: 2, arguments: arguments)
        case .stat, .lstat:
            guard let statLayout else { return .passThrough }
            return inspectStatus(buffer: arguments[1], layout: .stat(statLayout)) { () throws(TraceePaths.Failure) in
                try paths.open(directory: TraceePaths.currentDirectory, path: try readPath(arguments[0]),
                               followLastLink: entry.syscall == .stat, allowEmpty: false)
            }
        case .fstat:
            guard let statLayout else { return .passThrough }
            return inspectStatus(buffer: arguments[1], layout: .stat(statLayout)) { () throws(TraceePaths.Failure) in
                try paths.openDescriptor(Int32(truncatingIfNeeded: arguments[0]))
            }
        case .newfstatat:
            guard let statLayout else { return .passThrough }
            let flags = arguments[3]
            guard flags & ~(Self.symlinkNoFollow | Self.noAutomount | Self.emptyPath) == 0 else { return .passThrough }
            return inspectStatus(buffer: arguments[2], layout: .stat(statLayout)) { () throws(TraceePaths.Failure) in
                try openAt(arguments[0], pathAddress: arguments[1], flags: flags)
            }
        case .statx:
            let flags = arguments[2]
            guard flags & ~(Self.symlinkNoFollow | Self.noAutomount | Self.emptyPath | Self.statxSyncMask) == 0 else { return .passThrough }
            let request = (syncFlags: Int32(flags & Self.statxSyncMask), mask: UInt32(truncatingIfNeeded: arguments[3]))
            return inspectStatus(buffer: arguments[4], layout: .statx, statxRequest: request) { () throws(TraceePaths.Failure) in
                try openAt(arguments[0], pathAddress: arguments[1], flags: flags)
            }
        case .getxattr, .lgetxattr, .fgetxattr:
            return try getAttribute(entry.syscall, arguments: arguments)
        case .listxattr, .llistxattr, .flistxattr:
            return try listAttributes(entry.syscall, arguments: arguments)
        default:
            return .passThrough
        }
    }

    // MARK: - New files

    /// Whether a file this task creates gets another owner than the
    /// kernel gives it: the kernel uses the real fsuid and fsgid, 0 and 0,
    /// where the emulated ones may differ.
    private var createsForeignOwner: Bool {
        credentials.fsuid != 0 || credentials.fsgid != 0
    }

    /// Whether the kernel's owner for a new file at `path` would differ from
    /// the emulated one: when the task's fsuid or fsgid is not 0, or when
    /// the parent directory is set-group-ID with a recorded group, which the
    /// kernel cannot pass on.
    private func needsNewOwner(directory: Int32, path: [UInt8]) -> Bool {
        if createsForeignOwner { return true }
        guard let parent = parentDirectory(directory: directory, path: path), parent.status.mode & 0o2000 != 0 else { return false }
        return store.record(of: parent)?.gid != nil
    }

    /// mkdir, symlink and mknod of a FIFO, socket or regular file: refused
    /// where the emulated identity may not make the name, else recorded
    /// like ``created(directory:pathAddress:)``.
    private func creating(directory: Int32, pathAddress: UInt64) throws(Errno) -> SyscallAction {
        if !credentials.isCapable(CapabilitySet.dacOverride), let path = try? paths.readPath(at: pathAddress) {
            try permissions.checkCreate(directory: directory, path: path)
        }
        return created(directory: directory, pathAddress: pathAddress)
    }

    /// mkdir and symlink: the call creates its path or fails.
    private func created(directory: Int32, pathAddress: UInt64) -> SyscallAction {
        guard let path = try? paths.readPath(at: pathAddress), needsNewOwner(directory: directory, path: path) else { return .passThrough }
        return .inspectResult(.recordNewFile(directory: directory, path: path, resultIsDescriptor: false))
    }

    /// An open that may create a file. Without O_EXCL it may open one that
    /// exists instead, which keeps its owner, so the path is looked up
    /// first.
    /// The permission checks ran before, in ``SyscallHandlers``.
    private func openCreating(directory: Int32, pathAddress: UInt64, flags: UInt32) -> SyscallAction {
        guard flags & OpenFlags.creating != 0 else { return .passThrough }
        guard let path = try? paths.readPath(at: pathAddress), needsNewOwner(directory: directory, path: path) else { return .passThrough }
        let isTemporary = flags & OpenFlags.temporaryFile == OpenFlags.temporaryFile
        if !isTemporary && flags & OpenFlags.exclusive == 0 {
            let existing = try? paths.open(directory: directory, path: path, followLastLink: flags & OpenFlags.noFollow == 0, allowEmpty: false)
            if existing != nil { return .passThrough }
        }
        return .inspectResult(.recordNewFile(directory: directory, path: path, resultIsDescriptor: true))
    }

    /// The owner the kernel's `inode_init_owner` gives a new file of this
    /// task: its fsuid, and the parent directory's group when that has the
    /// set-group-ID bit, else its fsgid.
    private func newOwner(parentDirectory directory: Int32, path: [UInt8]) -> (uid: UInt32, gid: UInt32) {
        if let parent = parentDirectory(directory: directory, path: path), parent.status.mode & 0o2000 != 0 {
            return (credentials.fsuid, visibleOwner(of: parent, record: store.record(of: parent)).gid)
        }
        return (credentials.fsuid, credentials.fsgid)
    }

    /// The directory that holds `path`: its text up to the last slash, or
    /// the starting directory for a bare name.
    private func parentDirectory(directory: Int32, path: [UInt8]) -> OpenedFile? {
        var parentPath = Array(path.reversed().drop { $0 != UInt8(ascii: "/") }.reversed())
        while parentPath.count > 1 && parentPath.last == UInt8(ascii: "/") { parentPath.removeLast() }
        return parentPath.isEmpty
            ? try? paths.openDescriptor(directory)
            : try? paths.open(directory: directory, path: parentPath, followLastLink: true, allowEmpty: false)
    }

    private func recordNewFile(directory: Int32, path: [UInt8], descriptor: Int32?) {
        let file = descriptor.map { try? paths.openDescriptor($0) }
            ?? (try? paths.open(directory: directory, path: path, followLastLink: false, allowEmpty: false))
        guard let file else {
            handlers.logger.logGapOnce("new-file-unresolved", pid: pid,
                "a file created under an emulated identity could not be found again from the tracer; it keeps the namespace root as owner")
            return
        }
        let owner = newOwner(parentDirectory: directory, path: path)
        var record = store.record(of: file) ?? OwnershipRecord()
        record.uid = owner.uid == file.status.uid ? nil : owner.uid
        record.gid = owner.gid == file.status.gid ? nil : owner.gid
        do {
            try store.setRecord(record, of: file, pid: pid)
        } catch {
            handlers.logger.log(.error, pid: pid, "cannot record the owner of a new file: \(error)")
        }
    }

    private func openAt(_ directory: UInt64, pathAddress: UInt64, flags: UInt64) throws(TraceePaths.Failure) -> OpenedFile {
        let allowEmpty = flags & Self.emptyPath != 0
        // Since Linux 6.11 a NULL path with AT_EMPTY_PATH names the
        // descriptor itself.
        let path = allowEmpty && pathAddress == 0 ? [] : try readPath(pathAddress)
        return try paths.open(directory: Int32(truncatingIfNeeded: directory), path: path,
                              followLastLink: flags & Self.symlinkNoFollow == 0, allowEmpty: allowEmpty)
    }

    /// mknod of a character or block device, which a user namespace never
    /// allows: the kernel creates a regular file of the same permissions
    /// instead (honouring the umask, the path and its errors), and the exit
    /// stop records the device. Without the emulated CAP_MKNOD, or for an
    /// overlayfs whiteout (a character device 0:0), the kernel's own answer
    /// stands, and a whiteout gets its creator's owner as other new files
    /// do.
    ///
    /// The refusals come in the kernel's order (`do_mknodat`, then
    /// `vfs_mknod`): an invalid type, the path walk, an existing name or a
    /// read-only mount, write and search permission on the directory
    /// (EACCES), and only then CAP_MKNOD for a device (EPERM).
    private func mknod(directory: Int32, pathAddress: UInt64, modeIndex: Int, arguments: [UInt64]) throws(Errno) -> SyscallAction {
        let mode = UInt32(truncatingIfNeeded: arguments[modeIndex])
        let type = mode & Self.fileTypeMask
        let dev = UInt32(truncatingIfNeeded: arguments[modeIndex + 1])
        // `may_mknod`: a directory is EPERM and an unknown type EINVAL.
        let fifo: UInt32 = 0o010000, socket: UInt32 = 0o140000
        guard [0, Self.regularFile, Self.characterDevice, Self.blockDevice, fifo, socket].contains(type) else { return .passThrough }
        guard type == Self.characterDevice || type == Self.blockDevice else {
            // A FIFO, socket or regular file: the kernel makes it, owned
            // by the namespace root.
            return try creating(directory: directory, pathAddress: pathAddress)
        }
        if !credentials.isCapable(CapabilitySet.dacOverride), let path = try? paths.readPath(at: pathAddress) {
            try permissions.checkCreate(directory: directory, path: path)
        }
        // The kernel makes a whiteout for anyone, owned by the creator's
        // fsuid and fsgid, which here may be emulated ones.
        guard !(type == Self.characterDevice && dev == 0) else { return created(directory: directory, pathAddress: pathAddress) }
        guard credentials.isCapable(CapabilitySet.makeNode) else { return .passThrough }
        guard let path = try? paths.readPath(at: pathAddress) else { return .passThrough }

        let device = FakeDevice(kind: type == Self.characterDevice ? .character : .block, encoded: dev)
        let replaced: [Int: UInt64] = [
            modeIndex: UInt64(Self.regularFile | (mode & 0o7777)),
            modeIndex + 1: 0,
        ]
        return .rewriteArgumentsThenInspect(replaced, .recordDevice(directory: directory, path: path, device: device))
    }

    /// Handles the stat family. The kernel runs the call for a file without
    /// a record. For a file with one, the tracer fills the buffer where it
    /// can, else the exit stop patches the recorded fields into the
    /// kernel's result. A path the tracer cannot resolve goes to the kernel.
    private func inspectStatus(buffer: UInt64, layout: StatusLayout, statxRequest: (syncFlags: Int32, mask: UInt32)? = nil,
                               open: () throws(TraceePaths.Failure) -> OpenedFile) -> SyscallAction {
        guard let file = try? open(), let record = store.record(of: file) else { return .passThrough }
        if let answer = answerStatus(of: file, record: record, buffer: buffer, layout: layout, statxRequest: statxRequest) {
            return answer
        }
        return .inspectResult(.patchStatus(buffer: buffer, layout: layout, file: file.key, record: record))
    }

    // MARK: - Attributes

    private static let hiddenAttributes = [RootlessContainersAttribute.name, DeviceAttribute.name]

    /// `XATTR_NAME_MAX`
    static let maximumAttributeNameLength = 255

    private func openAttributeTarget(_ syscall: Syscall, _ target: UInt64) throws(TraceePaths.Failure) -> OpenedFile {
        switch syscall {
        case .fgetxattr, .flistxattr:
            let fd = Int32(truncatingIfNeeded: target)
            if let flags = paths.descriptorFlags(fd), flags & Self.openPath != 0 {
                throw .kernel(.badFileDescriptor)
            }
            return try paths.openDescriptor(fd)
        default:
            return try paths.open(directory: TraceePaths.currentDirectory, path: try readPath(target),
                                  followLastLink: syscall == .getxattr || syscall == .listxattr, allowEmpty: false)
        }
    }

    /// getxattr of one of remainroot's own attributes is ENODATA, as if it
    /// did not exist; every other name goes to the kernel.
    private func getAttribute(_ syscall: Syscall, arguments: [UInt64]) throws(Errno) -> SyscallAction {
        // The name is read page by page, as a path is, so that a short name
        // just before an unmapped page still reads; an unreadable or
        // foreign name is the kernel's to answer.
        guard let name = try? paths.readPath(at: arguments[1]),
              Self.hiddenAttributes.contains(String(decoding: name, as: UTF8.self))
        else {
            return .passThrough
        }
        guard try resolved({ () throws(TraceePaths.Failure) in try openAttributeTarget(syscall, arguments[0]) }) != nil else {
            return .passThrough
        }
        throw .noData
    }

    /// listxattr without remainroot's own attributes: the tracer lists the
    /// file's attributes itself and returns the rest with the kernel's size
    /// rules (size 0 asks for the length, a smaller buffer is ERANGE).
    private func listAttributes(_ syscall: Syscall, arguments: [UInt64]) throws(Errno) -> SyscallAction {
        guard let file = try resolved({ () throws(TraceePaths.Failure) in try openAttributeTarget(syscall, arguments[0]) }) else {
            return .passThrough
        }

        var names = [UInt8](repeating: 0, count: 65536)
        let length = names.withUnsafeMutableBytes { shim_list_attributes(file.descriptor, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
        guard length >= 0 else { throw Errno(Int32(-length)) }

        var kept: [UInt8] = []
        for name in names[0..<length].split(separator: 0, omittingEmptySubsequences: true)
        where !Self.hiddenAttributes.contains(String(decoding: name, as: UTF8.self)) {
            kept.append(contentsOf: name)
            kept.append(0)
        }
        // The kernel takes the size as a size_t and lowers it to
        // XATTR_LIST_MAX (65536), so -1 or any larger size requests the
        // whole list.
        let size = min(arguments[2], UInt64(names.count))
        if size == 0 {
            return .answer(.success(UInt64(kept.count)))
        }
        guard UInt64(kept.count) <= size else { throw .resultTooLarge }
        try memory.write(kept, at: arguments[1])
        return .answer(.success(UInt64(kept.count)))
    }

    // MARK: - Exit stop

    /// Finishes a task at the call's exit stop; returns a result to put in
    /// place of the kernel's, or nil to leave the kernel's.
    func finish(_ task: ExitTask, result: SyscallResult) -> SyscallResult? {
        guard case .success = result else { return nil }
        switch task {
        case .patchStatus(let buffer, let layout, let file, let record):
            patchStatus(buffer: buffer, layout: layout, file: file, record: record)
            return nil
        case .recordDevice(let directory, let path, let device):
            recordDevice(directory: directory, path: path, device: device)
            return nil
        case .recordNewFile(let directory, let path, let resultIsDescriptor):
            guard case .success(let value) = result else { return nil }
            recordNewFile(directory: directory, path: path, descriptor: resultIsDescriptor ? Int32(truncatingIfNeeded: value) : nil)
            return nil
        }
    }

    private func recordDevice(directory: Int32, path: [UInt8], device: FakeDevice) {
        guard let file = try? paths.open(directory: directory, path: path, followLastLink: false, allowEmpty: false),
              file.isRegular, file.status.size == 0
        else {
            handlers.logger.logGapOnce("mknod-unresolved", pid: pid,
                "a device created by mknod could not be found again from the tracer; it stays a regular file")
            return
        }
        // TODO: patch d_type in getdents64 results too; directory listings
        // still call a faked device a regular file.
        handlers.logger.logGapOnce("device-dtype", pid: pid,
            "directory listings (getdents d_type) show faked device nodes as regular files, so find -type c or -type b misses them; stat shows the device")
        var record = store.record(of: file) ?? OwnershipRecord()
        record.device = device
        // The parent's group may be a recorded one, which the kernel did
        // not see when it made the file, so the owner is always computed.
        let owner = newOwner(parentDirectory: directory, path: path)
        record.uid = owner.uid == file.status.uid ? nil : owner.uid
        record.gid = owner.gid == file.status.gid ? nil : owner.gid
        do {
            try store.setRecord(record, of: file, pid: pid)
        } catch {
            handlers.logger.log(.error, pid: pid, "cannot record device \(device.attributeText): \(error)")
        }
    }

    /// Rewrites the fields of the stat buffer the kernel just filled,
    /// provided it still describes the file found at entry.
    private func patchStatus(buffer: UInt64, layout: StatusLayout, file: FileKey, record: OwnershipRecord) {
        var fields = TraceeStatusFields(memory: memory, address: buffer)
        Self.patch(&fields, layout: layout, file: file, record: record)
    }

    /// Puts the record's owner, and a faked device's type and number, into
    /// a stat or statx buffer that describes `file`.
    private static func patch<Fields: StatusFields>(_ fields: inout Fields, layout: StatusLayout, file: FileKey, record: OwnershipRecord) {
        switch layout {
        case .stat(let layout):
            guard let device = fields.read(layout.device), let inode = fields.read(layout.inode),
                  device == file.device, inode == file.inode,
                  let mode = fields.read(layout.mode)
            else { return }
            if let uid = record.uid { fields.write(layout.uid, UInt64(uid)) }
            if let gid = record.gid { fields.write(layout.gid, UInt64(gid)) }
            if let fake = record.device {
                fields.write(layout.mode, (mode & ~UInt64(Self.fileTypeMask)) | UInt64(fake.kind.modeBits))
                fields.write(layout.rdev, fake.encoded)
            }

        case .statx:
            // struct statx in <linux/stat.h>: stx_mask at 0, stx_uid at 20,
            // stx_gid at 24, stx_mode (16 bits) at 28, stx_ino at 32,
            // stx_rdev_major and _minor at 128, stx_dev_major and _minor at
            // 136.
            guard let mask = fields.read(.init(offset: 0, width: 4)),
                  let inode = fields.read(.init(offset: 32, width: 8)), inode == file.inode,
                  let major = fields.read(.init(offset: 136, width: 4)),
                  let minor = fields.read(.init(offset: 140, width: 4)),
                  FakeDevice(kind: .block, major: UInt32(major), minor: UInt32(minor)).encoded == file.device
            else { return }
            let statxUID: UInt64 = 0x8, statxGID: UInt64 = 0x10, statxType: UInt64 = 0x1
            if let uid = record.uid, mask & statxUID != 0 { fields.write(.init(offset: 20, width: 4), UInt64(uid)) }
            if let gid = record.gid, mask & statxGID != 0 { fields.write(.init(offset: 24, width: 4), UInt64(gid)) }
            if let fake = record.device, mask & statxType != 0,
               let mode = fields.read(.init(offset: 28, width: 2)) {
                fields.write(.init(offset: 28, width: 2), (mode & ~UInt64(Self.fileTypeMask)) | UInt64(fake.kind.modeBits))
                fields.write(.init(offset: 128, width: 4), UInt64(fake.major))
                fields.write(.init(offset: 132, width: 4), UInt64(fake.minor))
            }
        }
    }

    /// The layout and size of the tracer's own `struct stat`, which glibc
    /// passes straight to newfstatat(2) on x86_64. An ABI whose layout
    /// equals it is the tracer's.
    /// NOTE: only x86_64 has run this path. On AArch64 and PPC64LE only
    /// the comparison of these six fields guards it.
    private static let tracerStat: (layout: StatLayout, size: Int) = {
        var fields = shim_stat_fields()
        shim_stat_fields(&fields)
        func field(_ offset: Int, _ width: Int) -> StatLayout.Field { .init(offset: offset, width: width) }
        let layout = StatLayout(device: field(fields.device, fields.device_width), inode: field(fields.inode, fields.inode_width),
                                mode: field(fields.mode, fields.mode_width), uid: field(fields.uid, fields.uid_width),
                                gid: field(fields.gid, fields.gid_width), rdev: field(fields.rdev, fields.rdev_width))
        return (layout, fields.size)
    }()

    /// `sizeof(struct statx)`
    static let statxSize = 256

    /// Fills the program's buffer at the entry stop of a stat-family call
    /// on a file with a record, from the tracer's own statx or fstatat of
    /// the file it opened, with the record patched in. The call then stops
    /// once instead of twice. Returns nil for a buffer the
    /// tracer cannot fill itself (another ABI's struct stat, such as
    /// i386's stat64), which the exit stop patches instead.
    private func answerStatus(of file: OpenedFile, record: OwnershipRecord, buffer: UInt64, layout: StatusLayout, statxRequest: (syncFlags: Int32, mask: UInt32)?) -> SyscallAction? {
        var fields: CopiedStatusFields
        switch layout {
        case .statx:
            guard let statxRequest else { return nil }
            var bytes = [UInt8](repeating: 0, count: Self.statxSize)
            let result = bytes.withUnsafeMutableBytes { shim_statx_descriptor(file.descriptor, statxRequest.syncFlags, statxRequest.mask, $0.baseAddress) }
            guard result == 0 else { return .answer(.failure(Errno(-result))) }
            fields = CopiedStatusFields(bytes: bytes)
        case .stat(let statLayout):
            guard statLayout == Self.tracerStat.layout else { return nil }
            var bytes = [UInt8](repeating: 0, count: Self.tracerStat.size)
            let result = bytes.withUnsafeMutableBytes { shim_stat_descriptor(file.descriptor, $0.baseAddress, $0.count) }
            guard result >= 0 else { return .answer(.failure(Errno(Int32(-result)))) }
            fields = CopiedStatusFields(bytes: bytes)
        }

        Self.patch(&fields, layout: layout, file: file.key, record: record)
        do {
            try memory.write(fields.bytes, at: buffer)
        } catch {
            return .answer(.failure(error))
        }
        return .answer(.success(0))
    }
}

/// Access to the fields of a stat or statx buffer, read and written as
/// little-endian numbers.
private protocol StatusFields {
    func read(_ field: StatLayout.Field) -> UInt64?
    mutating func write(_ field: StatLayout.Field, _ value: UInt64)
}

/// The buffer in the tracee, which the kernel filled.
private struct TraceeStatusFields: StatusFields {
    let memory: TraceeMemory
    let address: UInt64

    func read(_ field: StatLayout.Field) -> UInt64? {
        guard let bytes = try? memory.read(at: address + UInt64(field.offset), count: field.width) else { return nil }
        return bytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    func write(_ field: StatLayout.Field, _ value: UInt64) {
        let bytes = (0..<field.width).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
        try? memory.write(bytes, at: address + UInt64(field.offset))
    }
}

/// The tracer's own copy, before it goes to the tracee.
private struct CopiedStatusFields: StatusFields {
    var bytes: [UInt8]

    func read(_ field: StatLayout.Field) -> UInt64? {
        guard field.offset + field.width <= bytes.count else { return nil }
        return bytes[field.offset..<field.offset + field.width].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    mutating func write(_ field: StatLayout.Field, _ value: UInt64) {
        guard field.offset + field.width <= bytes.count else { return }
        for index in 0..<field.width {
            bytes[field.offset + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))
        }
    }
}
