/// The ELF auxiliary vector execve leaves on a new program's stack, above
/// argc, argv and envp (the System V ABI's process initialization). glibc's
/// dynamic loader and getauxval(3) read AT_UID, AT_EUID, AT_GID, AT_EGID and
/// AT_SECURE from it, the latter to decide whether to ignore LD_PRELOAD and
/// similar variables, so remainroot writes the emulated values there at the
/// exec stop. /proc/PID/auxv keeps the kernel's own copy.
enum AuxiliaryVector {
    // Types from <elf.h>.
    static let end: UInt64 = 0           // AT_NULL
    static let uid: UInt64 = 11          // AT_UID
    static let effectiveUID: UInt64 = 12 // AT_EUID
    static let gid: UInt64 = 13          // AT_GID
    static let effectiveGID: UInt64 = 14 // AT_EGID
    static let secure: UInt64 = 23       // AT_SECURE

    /// More words than any real stack holds before its auxv ends (the
    /// kernel limits argv and envp to a quarter of the stack limit).
    static let maximumWords = 1 << 22

    /// Rewrites the credential entries. Call at the exec event stop, with
    /// the new program's stack pointer.
    static func rewrite(memory: TraceeMemory, stackPointer: UInt64, wordSize: Int, credentials: Credentials, isSecure: Bool) throws(Errno) {
        var reader = WordReader(memory: memory, address: stackPointer, wordSize: wordSize)

        let argumentCount = try reader.next()
        guard argumentCount < UInt64(maximumWords) else { throw .invalidArgument }
        reader.skip(Int(argumentCount) + 1)
        while try reader.next() != 0 {
            guard reader.wordsRead < maximumWords else { throw .invalidArgument }
        }

        let values: [UInt64: UInt64] = [
            uid: UInt64(credentials.uid),
            effectiveUID: UInt64(credentials.euid),
            gid: UInt64(credentials.gid),
            effectiveGID: UInt64(credentials.egid),
            secure: isSecure ? 1 : 0,
        ]
        while reader.wordsRead < maximumWords {
            let type = try reader.next()
            if type == end { return }
            let valueAddress = reader.address
            let current = try reader.next()
            if let value = values[type], value != current {
                let bytes = (0..<wordSize).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
                try memory.write(bytes, at: valueAddress)
            }
        }
        throw .invalidArgument
    }

    /// Reads little-endian words one page at a time.
    private struct WordReader {
        let memory: TraceeMemory
        var address: UInt64
        let wordSize: Int
        var wordsRead = 0
        private var buffer: [UInt8] = []
        private var bufferStart: UInt64 = 0

        init(memory: TraceeMemory, address: UInt64, wordSize: Int) {
            self.memory = memory
            self.address = address
            self.wordSize = wordSize
        }

        mutating func skip(_ words: Int) {
            address += UInt64(words * wordSize)
            wordsRead += words
        }

        mutating func next() throws(Errno) -> UInt64 {
            let end = bufferStart + UInt64(buffer.count)
            if address < bufferStart || address + UInt64(wordSize) > end {
                let pageEnd = (address | 0xfff) + 1
                bufferStart = address
                buffer = try memory.read(at: address, count: max(Int(pageEnd - address), wordSize))
            }
            let offset = Int(address - bufferStart)
            let value = buffer[offset..<offset + wordSize].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            address += UInt64(wordSize)
            wordsRead += 1
            return value
        }
    }
}
