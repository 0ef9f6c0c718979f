import CShims
import Glibc
import Synchronization

/// A file the tracer opened with O_PATH on a tracee's behalf, with what
/// statx(2) and statfs(2) said about it. Closed when released.
public final class OpenedFile {
    public let descriptor: Int32
    public let status: shim_file_status

    init(descriptor: Int32) throws(Errno) {
        self.descriptor = descriptor
        var status = shim_file_status()
        let result = shim_file_status(descriptor, &status)
        guard result == 0 else {
            close(descriptor)
            throw Errno(-result)
        }
        self.status = status
    }

    deinit {
        close(descriptor)
    }

    public var key: FileKey {
        FileKey(device: status.device, inode: status.inode)
    }

    public var fileType: UInt32 { status.mode & 0o170000 }
    public var isRegular: Bool { fileType == 0o100000 }
    public var isDirectory: Bool { fileType == 0o040000 }
    public var isSymbolicLink: Bool { fileType == 0o120000 }

    /// Whether the file is on procfs (`PROC_SUPER_MAGIC`), whose files
    /// depend on who reads them. Block-device filesystems have a nonzero
    /// major device number, so only the others need the fstatfs call.
    public var isOnProcfs: Bool {
        guard status.device >> 8 & 0xfff == 0 else { return false }
        if Self.knownNotProcfs.withLock({ $0.contains(status.device) }) {
            return false
        }
        guard let type = filesystem()?.type else { return false }
        if type == Self.procfsMagic {
            return true
        }
        Self.knownNotProcfs.withLock { devices in
            if devices.count >= Self.knownNotProcfsLimit {
                devices.removeAll()
            }
            devices.insert(status.device)
        }
        return false
    }

    /// `PROC_SUPER_MAGIC`
    static let procfsMagic: Int64 = 0x9fa0

    /// Devices with major number 0 (overlayfs, tmpfs, FUSE: the root of a
    /// rootless container) found not to be procfs, so that their files skip
    /// the fstatfs call. A device number names one mounted filesystem until
    /// it is unmounted.
    /// NOTE: a procfs mounted later under a freed number would pass as
    /// another filesystem. Its files carry no records, and magic links are
    /// still refused during resolution (RESOLVE_NO_MAGICLINKS).
    private static let knownNotProcfs = Mutex<Set<UInt64>>([])
    private static let knownNotProcfsLimit = 64

    /// Whether the file's mount is read-only (EROFS for any change).
    public var isOnReadOnlyMount: Bool {
        filesystem()?.readOnly ?? false
    }

    /// Whether the file's mount ignores set-user-ID bits (`nosuid`).
    public var isOnNoSetIDMount: Bool {
        filesystem()?.noSetID ?? false
    }

    private func filesystem() -> (type: Int64, readOnly: Bool, noSetID: Bool)? {
        var type: Int64 = 0
        var flags: Int32 = 0
        guard shim_filesystem_status(descriptor, &type, &flags) == 0 else { return nil }
        return (type, flags & 1 != 0, flags & 2 != 0)
    }

    /// Whether `user.*` attributes can exist on this file: the kernel
    /// allows them only on regular files and directories (xattr(7)).
    public var acceptsUserAttributes: Bool { isRegular || isDirectory }

    func attribute(_ name: String) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 256)
        let length = buffer.withUnsafeMutableBytes { shim_get_attribute(descriptor, name, $0.baseAddress, $0.count) }
        guard length >= 0 else { return nil }
        return Array(buffer[0..<length])
    }

    func setAttribute(_ name: String, _ value: [UInt8]) throws(Errno) {
        let result = value.withUnsafeBytes { shim_set_attribute(descriptor, name, $0.baseAddress, $0.count) }
        guard result == 0 else { throw Errno(-result) }
    }

    func removeAttribute(_ name: String) throws(Errno) {
        let result = shim_remove_attribute(descriptor, name)
        // ENODATA: there was nothing to remove.
        guard result == 0 || result == -ENODATA else { throw Errno(-result) }
    }
}

/// A file's identity within the running system: st_dev and st_ino.
public struct FileKey: Hashable, Sendable {
    public let device: UInt64
    public let inode: UInt64
}
