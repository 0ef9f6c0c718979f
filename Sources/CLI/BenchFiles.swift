import Glibc

/// A benchmark failure: what failed, in one line.
struct BenchError: Error {
    let message: String
}

/// The file operations of `remainroot bench`, each a thin wrapper over
/// the C library that reports failures as ``BenchError``.
enum BenchFiles {
    /// Writes `bytes` to `path`, creating missing directories.
    static func write(_ bytes: [UInt8], to path: String) throws(BenchError) {
        try createDirectories(parentOf: path)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw BenchError(message: "cannot create \(path): \(lastError())") }
        defer { close(fd) }

        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw BenchError(message: "cannot write \(path): \(lastError())") }
            offset += written
        }
    }

    static func write(_ text: String, to path: String) throws(BenchError) {
        try write(Array(text.utf8), to: path)
    }

    /// Reads a small text file, or nil when it cannot be read.
    static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }

        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let got = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { break }
            bytes += chunk[0..<got]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func createDirectories(parentOf path: String) throws(BenchError) {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return }
        try createDirectories(String(path[..<slash]))
    }

    /// `mkdir -p`.
    static func createDirectories(_ path: String) throws(BenchError) {
        var partial = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            partial += "/" + component
            if mkdir(partial, 0o755) != 0 && errno != EEXIST {
                throw BenchError(message: "cannot create directory \(partial): \(lastError())")
            }
        }
    }

    /// Creates a new private directory under `parent`, by default $TMPDIR,
    /// else /tmp.
    static func makeTemporaryDirectory(prefix: String, in parent: String? = nil) throws(BenchError) -> String {
        var base = parent ?? getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        if base.isEmpty { base = "/tmp" }
        var template = Array("\(base)/\(prefix)XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else {
            throw BenchError(message: "cannot create a temporary directory in \(base): \(lastError())")
        }
        return string(fromBuffer: template)
    }

    /// `rm -rf`: removes `path` and everything under it, without following
    /// symbolic links. Entries that cannot be removed are left in place.
    static func removeTree(_ path: String) {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            unlink(path)
            return
        }
        if let directory = opendir(path) {
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                guard name != "." && name != ".." else { continue }
                if entry.pointee.d_type == UInt8(DT_REG) {
                    unlink(path + "/" + name)
                } else {
                    removeTree(path + "/" + name)
                }
            }
            closedir(directory)
        }
        rmdir(path)
    }

    /// /dev/shm when it is a writable tmpfs, as on most Linux systems.
    static func sharedMemoryDirectory() -> String? {
        let mounts = read("/proc/self/mounts") ?? ""
        let isTmpfs = mounts.split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count > 2 && fields[1] == "/dev/shm" && fields[2] == "tmpfs"
        }
        return isTmpfs && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : nil
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Returns the first executable called `name` in PATH, as a shell would
    /// find it.
    static func findExecutable(_ name: String) -> String? {
        if name.contains("/") {
            return access(name, X_OK) == 0 ? name : nil
        }
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (directory.isEmpty ? "." : String(directory)) + "/" + name
            if access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        return nil
    }

    /// Returns the path of the running remainroot binary.
    static func ownExecutable() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        buffer[length] = 0
        return string(fromBuffer: buffer)
    }

    /// Returns the number of CPUs this process may run on, as `nproc`
    /// prints it: the bits set in the Cpus_allowed mask of /proc/self/status.
    static func usableCPUCount() -> Int {
        let count = usableCPUs().count
        return count > 0 ? count : max(sysconf(Int32(_SC_NPROCESSORS_ONLN)), 1)
    }

    /// Returns the numbers of the CPUs this process may run on, from the
    /// Cpus_allowed mask of /proc/self/status, or none when it cannot be
    /// read. The mask is hexadecimal, in groups of 32 bits, the highest
    /// first.
    static func usableCPUs() -> [Int] {
        let status = read("/proc/self/status") ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed:") }
        let digits = (line?.dropFirst("Cpus_allowed:".count) ?? "").filter(\.isHexDigit)
        var cpus: [Int] = []
        for (position, digit) in digits.reversed().enumerated() {
            let value = Int(String(digit), radix: 16) ?? 0
            for bit in 0..<4 where value & (1 << bit) != 0 {
                cpus.append(position * 4 + bit)
            }
        }
        return cpus
    }

    /// Returns the text of a NUL-terminated C buffer.
    static func string(fromBuffer buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func lastError() -> String {
        String(cString: strerror(errno))
    }
}
