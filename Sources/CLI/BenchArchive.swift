/// The archive of the tar benchmark: 100 directories of 200 small files
/// each (20,000 files), in the POSIX ustar format that `tar -x` reads.
/// Every entry carries a numeric uid and gid and no user or group name, so
/// that GNU tar restores the ids without looking names up.
struct BenchArchive {
    static let directoryCount = 100
    static let filesPerDirectory = 200
    static var fileCount: Int { directoryCount * filesPerDirectory }

    /// The owners the entries cycle through: root, a build user, www-data,
    /// nobody and a user of group `users`. A namespace that maps only root
    /// maps none of the others.
    static let severalOwners: [(uid: UInt32, gid: UInt32)] = [(0, 0), (1000, 1000), (33, 33), (65534, 65534), (1001, 100)]

    /// Returns the archive's bytes, with the entries given to `owners` in
    /// turn.
    static func bytes(owners: [(uid: UInt32, gid: UInt32)]) -> [UInt8] {
        var archive: [UInt8] = []
        archive.reserveCapacity(fileCount * 1024)
        var entry = 0
        func nextOwner() -> (uid: UInt32, gid: UInt32) {
            defer { entry += 1 }
            return owners[entry % owners.count]
        }

        for directory in 0..<directoryCount {
            let directoryName = "tree/d\(directory)/"
            archive += header(name: directoryName, mode: 0o755, owner: nextOwner(), size: 0, type: UInt8(ascii: "5"))
            for file in 0..<filesPerDirectory {
                let index = directory * filesPerDirectory + file
                // 0 to 1020 bytes, so that most files fill one block.
                let size = (index * 37) % 1021
                archive += header(name: "\(directoryName)f\(file).txt", mode: 0o644, owner: nextOwner(), size: size, type: UInt8(ascii: "0"))
                archive += content(index: index, size: size)
            }
        }
        // Two zero blocks end the archive.
        archive += [UInt8](repeating: 0, count: 1024)
        return archive
    }

    /// Returns one 512-byte ustar header block.
    static func header(name: String, mode: Int, owner: (uid: UInt32, gid: UInt32), size: Int, type: UInt8) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int) {
            for (index, byte) in text.utf8.enumerated() {
                block[offset + index] = byte
            }
        }
        // Numbers are zero-padded octal, ending in a NUL.
        func putOctal(_ value: Int, at offset: Int, width: Int) {
            let digits = String(value, radix: 8)
            put(String(repeating: "0", count: width - 1 - digits.count) + digits, at: offset)
        }

        precondition(name.utf8.count < 100, "tar entry name '\(name)' needs the ustar prefix field")
        put(name, at: 0)
        putOctal(mode, at: 100, width: 8)
        putOctal(Int(owner.uid), at: 108, width: 8)
        putOctal(Int(owner.gid), at: 116, width: 8)
        putOctal(size, at: 124, width: 12)
        putOctal(1_700_000_000, at: 136, width: 12)
        block[156] = type
        put("ustar", at: 257)
        put("00", at: 263)

        // The checksum is the sum of the header's bytes with its own field
        // read as eight spaces, written as six octal digits, NUL, space.
        put("        ", at: 148)
        let sum = block.reduce(0) { $0 + Int($1) }
        putOctal(sum, at: 148, width: 7)
        block[155] = UInt8(ascii: " ")
        return block
    }

    /// Returns a file's text padded to whole blocks: lines that name the
    /// file, so that no two files are alike.
    static func content(index: Int, size: Int) -> [UInt8] {
        let line = Array("file \(index) of the remainroot tar benchmark\n".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity((size + 511) / 512 * 512)
        while bytes.count < size {
            bytes += line.prefix(size - bytes.count)
        }
        bytes += [UInt8](repeating: 0, count: (512 - size % 512) % 512)
        return bytes
    }
}
