import Engine
import Glibc
import XCTest

// Tests of SyscallHandlers.handle over an in-memory tracee. The expected
// results follow the kernel's code. getresuid (kernel/sys.c) and getgroups
// (kernel/groups.c) store one value at a time with put_user and stop at the
// first fault. setgroups checks may_setgroups, then NGROUPS_MAX, then reads
// and checks one gid at a time in groups_from_user. The 16-bit calls are
// those of kernel/uid16.c. In a user namespace, chown to an unmapped id
// fails with EINVAL, which is why the handler rewrites such an id.

/// A tracee's memory as a few ranges, each readable, writable or both. An
/// access that touches any byte outside a suitable range fails with EFAULT
/// after the bytes before it were written, like put_user.
private final class FakeMemory: TraceeMemory {
    struct Range {
        let start: UInt64
        var bytes: [UInt8]
        let readable: Bool
        let writable: Bool

        func contains(_ address: UInt64) -> Bool {
            address >= start && address - start < UInt64(bytes.count)
        }
    }

    private(set) var ranges: [Range] = []

    /// Adds `count` bytes at `start`, filled with 0xAA so that a write
    /// shows.
    func map(_ start: UInt64, count: Int, readable: Bool = true, writable: Bool = true) {
        ranges.append(Range(start: start, bytes: Array(repeating: 0xAA, count: count), readable: readable, writable: writable))
    }

    /// Adds a readable range holding `bytes`.
    func map(_ start: UInt64, bytes: [UInt8]) {
        ranges.append(Range(start: start, bytes: bytes, readable: true, writable: false))
    }

    func bytes(at address: UInt64, count: Int) -> [UInt8] {
        (0..<UInt64(count)).map { offset in
            let index = ranges.firstIndex { $0.contains(address + offset) }!
            return ranges[index].bytes[Int(address + offset - ranges[index].start)]
        }
    }

    func read(at address: UInt64, count: Int) throws(Errno) -> [UInt8] {
        var result: [UInt8] = []
        for offset in 0..<UInt64(count) {
            guard let range = ranges.first(where: { $0.readable && $0.contains(address + offset) }) else {
                throw Errno(EFAULT)
            }
            result.append(range.bytes[Int(address + offset - range.start)])
        }
        return result
    }

    func write(_ bytes: [UInt8], at address: UInt64) throws(Errno) {
        for (offset, byte) in bytes.enumerated() {
            let target = address + UInt64(offset)
            guard let index = ranges.firstIndex(where: { $0.writable && $0.contains(target) }) else {
                throw Errno(EFAULT)
            }
            ranges[index].bytes[Int(target - ranges[index].start)] = byte
        }
    }
}

private let untouched: [UInt8] = [0xAA, 0xAA, 0xAA, 0xAA]

private func littleEndian32(_ values: [UInt32]) -> [UInt8] {
    values.flatMap { value in (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
}

private func littleEndian16(_ values: [UInt16]) -> [UInt8] {
    values.flatMap { value in [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8)] }
}

private let allCapabilities = CapabilitySet(rawValue: (UInt64(1) << 41) - 1)
private let setGIDCapability = 6

/// Root with every capability, three distinct uids and gids and two
/// supplementary groups.
private let root = Credentials(
    uid: 0, euid: 10, suid: 20, fsuid: 10,
    gid: 0, egid: 30, sgid: 40, fsgid: 30,
    groups: [7, 5],
    permitted: allCapabilities, effective: allCapabilities, inheritable: .empty,
    bounding: allCapabilities, ambient: .empty, securebits: SecureBits(rawValue: 0)
)

private let withoutSetGID = Credentials(
    uid: 0, euid: 0, suid: 0, fsuid: 0, gid: 0, egid: 0, sgid: 0, fsgid: 0, groups: [],
    permitted: allCapabilities,
    effective: allCapabilities.subtracting(CapabilitySet(rawValue: 1 << UInt64(setGIDCapability))),
    inheritable: .empty, bounding: allCapabilities, ambient: .empty, securebits: SecureBits(rawValue: 0)
)

/// A rootless container's mappings: only 0 is mapped, for users and groups.
private let singleIDMapping = IDMapping(parsing: "0 1000 1\n")!

private let handlers = SyscallHandlers(userMapping: singleIDMapping, groupMapping: singleIDMapping, logger: .silent)

private let pid = ProcessID(4242)

private func handle(
    _ syscall: Syscall,
    width: IDWidth = .bits32,
    _ arguments: [UInt64],
    credentials: inout Credentials,
    memory: FakeMemory = FakeMemory(),
    handlers: SyscallHandlers = handlers
) -> SyscallAction {
    handlers.handle(SyscallEntry(syscall, idWidth: width), arguments: arguments + Array(repeating: 0, count: 6 - arguments.count),
                    credentials: &credentials, memory: memory, pid: pid)
}

private func failure(_ errno: Int32) -> SyscallAction {
    .answer(.failure(Errno(errno)))
}

private func success(_ value: UInt64) -> SyscallAction {
    .answer(.success(value))
}

private let minusOne32: UInt64 = 0xFFFF_FFFF
private let minusOne16: UInt64 = 0xFFFF

final class SyscallHandlersTests: XCTestCase {
    // MARK: - getresuid and getresgid

    func testGetRESUIDWritesEachID() {
        let memory = FakeMemory()
        memory.map(0x1000, count: 12)
        var credentials = root

        let action = handle(.getresuid, [0x1000, 0x1004, 0x1008], credentials: &credentials, memory: memory)

        XCTAssertEqual(action, success(0))
        XCTAssertEqual(memory.bytes(at: 0x1000, count: 12), littleEndian32([0, 10, 20]))
        XCTAssertEqual(credentials, root)
    }

    func testGetRESUIDStopsAtSecondFault() {
        let memory = FakeMemory()
        memory.map(0x1000, count: 4)
        memory.map(0x3000, count: 4)
        var credentials = root

        let action = handle(.getresuid, [0x1000, 0x2000, 0x3000], credentials: &credentials, memory: memory)

        XCTAssertEqual(action, failure(EFAULT))
        XCTAssertEqual(memory.bytes(at: 0x1000, count: 4), littleEndian32([0]), "the real uid is stored before the fault")
        XCTAssertEqual(memory.bytes(at: 0x3000, count: 4), untouched, "the saved uid is not stored after the fault")
    }

    func testGetRESUIDStopsAtFirstFault() {
        let memory = FakeMemory()
        memory.map(0x2000, count: 4)
        memory.map(0x3000, count: 4)
        var credentials = root

        let action = handle(.getresuid, [0x1000, 0x2000, 0x3000], credentials: &credentials, memory: memory)

        XCTAssertEqual(action, failure(EFAULT))
        XCTAssertEqual(memory.bytes(at: 0x2000, count: 4), untouched)
        XCTAssertEqual(memory.bytes(at: 0x3000, count: 4), untouched)
    }

    func testGetRESGIDWritesEachID() {
        let memory = FakeMemory()
        memory.map(0x1000, count: 12)
        var credentials = root

        let action = handle(.getresgid, [0x1008, 0x1000, 0x1004], credentials: &credentials, memory: memory)

        XCTAssertEqual(action, success(0))
        XCTAssertEqual(memory.bytes(at: 0x1000, count: 12), littleEndian32([30, 40, 0]))
    }

    func testGetIDsReturnValues() {
        var credentials = root
        XCTAssertEqual(handle(.getuid, [], credentials: &credentials), success(0))
        XCTAssertEqual(handle(.geteuid, [], credentials: &credentials), success(10))
        XCTAssertEqual(handle(.getgid, [], credentials: &credentials), success(0))
        XCTAssertEqual(handle(.getegid, [], credentials: &credentials), success(30))
    }

    // MARK: - getgroups

    func testGetGroupsSizeRules() {
        // (name, size argument, list pointer, expected action, expected list bytes, line)
        let cases: [(String, UInt64, UInt64, SyscallAction, [UInt8], UInt)] = [
            ("size 0 returns the count without touching memory", 0, 0, success(2), untouched + untouched, #line),
            ("only the low 32 bits are the int size", 0x1_0000_0000, 0, success(2), untouched + untouched, #line),
            ("a negative size is EINVAL", minusOne32, 0x1000, failure(EINVAL), untouched + untouched, #line),
            ("a size below the count is EINVAL", 1, 0x1000, failure(EINVAL), untouched + untouched, #line),
            ("a size equal to the count", 2, 0x1000, success(2), littleEndian32([5, 7]), #line),
            ("a larger size writes only the count", 3, 0x1000, success(2), littleEndian32([5, 7]), #line),
            ("high bits above the int are ignored", 0xFFFF_FFFF_0000_0002, 0x1000, success(2), littleEndian32([5, 7]), #line),
            ("an unmapped list is EFAULT", 2, 0x9000, failure(EFAULT), untouched + untouched, #line),
        ]
        for (name, size, list, expected, listBytes, line) in cases {
            let memory = FakeMemory()
            memory.map(0x1000, count: 12)
            var credentials = root

            let action = handle(.getgroups, [size, list], credentials: &credentials, memory: memory)

            XCTAssertEqual(action, expected, name, line: line)
            XCTAssertEqual(memory.bytes(at: 0x1000, count: 8), listBytes, name, line: line)
            XCTAssertEqual(memory.bytes(at: 0x1008, count: 4), untouched, "\(name): past the count", line: line)
        }
    }

    func testGetGroupsWithNoGroupsIgnoresThePointer() {
        var credentials = withoutSetGID
        XCTAssertEqual(handle(.getgroups, [4, 0], credentials: &credentials), success(0))
    }

    // MARK: - setgroups

    func testSetGroupsErrorOrder() {
        let readable: UInt64 = 0x1000
        let lastWordBeforeHole: UInt64 = 0x1008 // 0x100C onwards is unmapped
        // (name, credentials, size argument, list pointer, list contents, expected, line)
        let cases: [(String, Credentials, UInt64, UInt64, [UInt32], SyscallAction, UInt)] = [
            ("EPERM without CAP_SETGID, even with a bad pointer", withoutSetGID, 1, 0, [], failure(EPERM), #line),
            ("EPERM comes before a size over NGROUPS_MAX", withoutSetGID, 65537, 0, [], failure(EPERM), #line),
            ("EINVAL for a size over NGROUPS_MAX before reading", root, 65537, 0, [], failure(EINVAL), #line),
            ("EINVAL for a negative size before reading", root, minusOne32, 0, [], failure(EINVAL), #line),
            ("EFAULT for an unreadable list", root, 2, 0x9000, [], failure(EFAULT), #line),
            ("EFAULT when the second gid is unreadable", root, 2, lastWordBeforeHole, [5], failure(EFAULT), #line),
            ("EINVAL for (gid_t)-1 in a readable list", root, 2, readable, [5, UInt32.max], failure(EINVAL), #line),
            // groups_from_user reads and checks one gid at a time, so an
            // invalid first gid is reported before the second one faults.
            // Checked on Linux 6.18 with a list that ends at an unmapped page.
            ("EINVAL for an invalid gid read before a fault", root, 2, lastWordBeforeHole, [UInt32.max], failure(EINVAL), #line),
        ]
        for (name, before, size, list, contents, expected, line) in cases {
            // Three readable gids of 9, with `contents` written at `list`.
            var image = littleEndian32([9, 9, 9])
            let encoded = littleEndian32(contents)
            if !encoded.isEmpty {
                let offset = Int(list - readable)
                image.replaceSubrange(offset..<offset + encoded.count, with: encoded)
            }
            let memory = FakeMemory()
            memory.map(readable, bytes: image)
            var credentials = before

            let action = handle(.setgroups, [size, list], credentials: &credentials, memory: memory)

            XCTAssertEqual(action, expected, name, line: line)
            XCTAssertEqual(credentials, before, "\(name): a failed setgroups changed the credentials", line: line)
        }
    }

    func testSetGroupsStoresSortedList() {
        let memory = FakeMemory()
        memory.map(0x1000, bytes: littleEndian32([300, 7, 7, 0]))
        var credentials = root

        let action = handle(.setgroups, [3, 0x1000], credentials: &credentials, memory: memory)

        XCTAssertEqual(action, success(0))
        XCTAssertEqual(credentials.groups, [7, 7, 300])
        XCTAssertEqual(credentials.uid, root.uid)
        XCTAssertEqual(credentials.effective, root.effective)
    }

    func testSetGroupsEmptyListIgnoresThePointer() {
        var credentials = root
        XCTAssertEqual(handle(.setgroups, [0, 0], credentials: &credentials), success(0))
        XCTAssertEqual(credentials.groups, [])
    }

    // MARK: - set*id through the handler

    func testSetIDCallsUseTheArgumentRegisters() {
        var credentials = root
        XCTAssertEqual(handle(.setresuid, [1, 2, 3], credentials: &credentials), success(0))
        XCTAssertEqual([credentials.uid, credentials.euid, credentials.suid, credentials.fsuid], [1, 2, 3, 2])

        credentials = root
        XCTAssertEqual(handle(.setreuid, [minusOne32, 0x1_0000_0005], credentials: &credentials), success(0))
        XCTAssertEqual([credentials.uid, credentials.euid], [0, 5], "uid_t is the low 32 bits of the register")

        credentials = root
        XCTAssertEqual(handle(.setuid, [minusOne32], credentials: &credentials), failure(EINVAL))

        credentials = root
        XCTAssertEqual(handle(.setfsuid, [99], credentials: &credentials), success(10), "setfsuid returns the old fsuid")
        XCTAssertEqual(credentials.fsuid, 99)

        credentials = root
        XCTAssertEqual(handle(.setfsgid, [98], credentials: &credentials), success(30), "setfsgid returns the old fsgid")
        XCTAssertEqual(credentials.fsgid, 98)
    }

    // MARK: - chown

    func testChownRewritesOnlyUnmappedIDs() {
        // (name, uid argument, gid argument, expected, line)
        let cases: [(String, UInt64, UInt64, SyscallAction, UInt)] = [
            ("mapped ids go to the kernel", 0, 0, .passThrough, #line),
            ("-1 for both goes to the kernel", minusOne32, minusOne32, .passThrough, #line),
            ("an unmapped uid becomes -1", 1000, 0, .rewriteArguments([1: minusOne32]), #line),
            ("an unmapped gid becomes -1", 0, 50, .rewriteArguments([2: minusOne32]), #line),
            ("both unmapped", 1000, 50, .rewriteArguments([1: minusOne32, 2: minusOne32]), #line),
            ("an unmapped uid with the gid unchanged", 1000, minusOne32, .rewriteArguments([1: minusOne32]), #line),
            ("uid_t is the low 32 bits", 0x1_0000_0000, 0x2_0000_0000, .passThrough, #line),
        ]
        for syscall in [Syscall.chown, .lchown, .fchown] {
            for (name, uid, gid, expected, line) in cases {
                var credentials = root
                let action = handle(syscall, [0x1000, uid, gid], credentials: &credentials)
                XCTAssertEqual(action, expected, "\(syscall): \(name)", line: line)
                XCTAssertEqual(credentials, root, "\(syscall): \(name)", line: line)
            }
        }
    }

    func testFchownatUsesArgumentsTwoAndThree() {
        let atFDCWD = UInt64(bitPattern: -100)
        let atSymlinkNoFollow: UInt64 = 0x100
        // The path pointer (argument 1) is a number that is also an
        // unmapped id, so reading ids from arguments 1 and 2 would show.
        let cases: [(String, [UInt64], SyscallAction, UInt)] = [
            ("mapped ids", [atFDCWD, 0x5000, 0, 0, atSymlinkNoFollow], .passThrough, #line),
            ("unmapped uid", [atFDCWD, 0x5000, 1000, 0, 0], .rewriteArguments([2: minusOne32]), #line),
            ("unmapped gid", [atFDCWD, 0x5000, 0, 50, 0], .rewriteArguments([3: minusOne32]), #line),
            ("both unmapped", [3, 0x5000, 1000, 50, 0], .rewriteArguments([2: minusOne32, 3: minusOne32]), #line),
            ("flags are not an id", [atFDCWD, 0x5000, 0, 0, 0x1000], .passThrough, #line),
        ]
        for (name, arguments, expected, line) in cases {
            var credentials = root
            XCTAssertEqual(handle(.fchownat, arguments, credentials: &credentials), expected, name, line: line)
        }
    }

    func testChownRespectsMappedRanges() {
        let mapping = IDMapping(parsing: "0 1000 1\n1 100000 65536\n")!
        let wide = SyscallHandlers(userMapping: mapping, groupMapping: mapping, logger: .silent)
        var credentials = root

        XCTAssertEqual(handle(.chown, [0x1000, 65536, 65536], credentials: &credentials, handlers: wide), .passThrough)
        XCTAssertEqual(handle(.chown, [0x1000, 65537, 1], credentials: &credentials, handlers: wide),
                       .rewriteArguments([1: minusOne32]))
        XCTAssertEqual(handle(.chown, [0x1000, 1, 65537], credentials: &credentials, handlers: wide),
                       .rewriteArguments([2: minusOne32]))
    }

    // MARK: - 16-bit ids

    func testSixteenBitIDArguments() {
        var credentials = root
        XCTAssertEqual(handle(.setuid, width: .bits16, [minusOne16], credentials: &credentials), failure(EINVAL),
                       "0xFFFF widens to (uid_t)-1")

        credentials = root
        XCTAssertEqual(handle(.setuid, width: .bits16, [0x1_0005], credentials: &credentials), success(0))
        XCTAssertEqual(credentials.uid, 5, "old_uid_t is the low 16 bits")

        credentials = root
        XCTAssertEqual(handle(.setreuid, width: .bits16, [minusOne16, 7], credentials: &credentials), success(0))
        XCTAssertEqual([credentials.uid, credentials.euid], [0, 7], "0xFFFF leaves the real uid unchanged")

        credentials = root
        XCTAssertEqual(handle(.setresgid, width: .bits16, [minusOne16, minusOne16, 0xFFFE], credentials: &credentials), success(0))
        XCTAssertEqual([credentials.gid, credentials.egid, credentials.sgid], [0, 30, 0xFFFE])
    }

    func testSixteenBitIDResults() {
        var credentials = root
        credentials.uid = 100_000
        credentials.euid = 0xFFFF
        credentials.gid = 500

        XCTAssertEqual(handle(.getuid, width: .bits16, [], credentials: &credentials), success(65534),
                       "ids above 0xFFFF read as the overflow uid")
        XCTAssertEqual(handle(.geteuid, width: .bits16, [], credentials: &credentials), success(0xFFFF),
                       "0xFFFF itself fits in 16 bits")
        XCTAssertEqual(handle(.getgid, width: .bits16, [], credentials: &credentials), success(500))
    }

    func testSixteenBitGetRESUIDWritesTwoBytesEach() {
        let memory = FakeMemory()
        memory.map(0x1000, count: 8)
        var credentials = root
        credentials.uid = 100_000

        XCTAssertEqual(handle(.getresuid, width: .bits16, [0x1000, 0x1002, 0x1004], credentials: &credentials, memory: memory), success(0))
        XCTAssertEqual(memory.bytes(at: 0x1000, count: 8), littleEndian16([65534, 10, 20]) + [0xAA, 0xAA])
    }

    func testSixteenBitGroupLists() {
        let memory = FakeMemory()
        memory.map(0x1000, count: 8)
        var credentials = root
        credentials.groups = [5, 70000]

        XCTAssertEqual(handle(.getgroups, width: .bits16, [2, 0x1000], credentials: &credentials, memory: memory), success(2))
        XCTAssertEqual(memory.bytes(at: 0x1000, count: 8), littleEndian16([5, 65534]) + untouched)

        let list = FakeMemory()
        list.map(0x2000, bytes: littleEndian16([300, 5, 0xFFFF]))
        credentials = root
        XCTAssertEqual(handle(.setgroups, width: .bits16, [2, 0x2000], credentials: &credentials, memory: list), success(0))
        XCTAssertEqual(credentials.groups, [5, 300])

        credentials = root
        XCTAssertEqual(handle(.setgroups, width: .bits16, [3, 0x2000], credentials: &credentials, memory: list), failure(EINVAL),
                       "0xFFFF in a 16-bit list widens to (gid_t)-1")
    }

    /// setfsuid16 returns __sys_setfsuid's result unconverted
    /// (kernel/uid16.c), so an old fsuid above 0xFFFF comes back whole.
    /// Checked on Linux 6.18 with i386 setfsuid (138) through int 0x80.
    func testSixteenBitSetFSUIDReturnsTheWholeOldID() {
        var credentials = root
        credentials.fsuid = 100_000
        credentials.fsgid = 100_001

        XCTAssertEqual(handle(.setfsuid, width: .bits16, [0], credentials: &credentials), success(100_000))
        XCTAssertEqual(handle(.setfsgid, width: .bits16, [0], credentials: &credentials), success(100_001))
    }

    func testSixteenBitChown() {
        var credentials = root
        XCTAssertEqual(handle(.chown, width: .bits16, [0x1000, minusOne16, minusOne16], credentials: &credentials), .passThrough)
        XCTAssertEqual(handle(.chown, width: .bits16, [0x1000, 1000, 0], credentials: &credentials),
                       .rewriteArguments([1: minusOne16]), "a 16-bit call gets the 16-bit -1")
    }
}
