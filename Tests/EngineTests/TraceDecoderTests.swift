import Engine
import Glibc
import XCTest

// Tests of TraceDecoder, which turns the raw arguments of a handled call into
// the values `remainroot --trace` prints, over an in-memory tracee.

/// A tracee's readable memory. As in a real process, readability is per
/// 4 KiB page: a byte of a page that contains any mapped range reads as its
/// value or 0, and a read that touches any other page fails with EFAULT, as
/// process_vm_readv does.
private final class ReadOnlyMemory: TraceeMemory {
    static let pageSize: UInt64 = 4096

    private var bytes: [UInt64: UInt8] = [:]
    private var pages: Set<UInt64> = []
    private(set) var reads: [(address: UInt64, count: Int)] = []

    func map(_ start: UInt64, bytes values: [UInt8]) {
        for (offset, value) in values.enumerated() {
            let address = start + UInt64(offset)
            bytes[address] = value
            pages.insert(address / Self.pageSize)
        }
    }

    func read(at address: UInt64, count: Int) throws(Errno) -> [UInt8] {
        reads.append((address, count))
        var result: [UInt8] = []
        for offset in 0..<UInt64(count) {
            let target = address + offset
            guard pages.contains(target / Self.pageSize) else { throw Errno(EFAULT) }
            result.append(bytes[target] ?? 0)
        }
        return result
    }

    func write(_ bytes: [UInt8], at address: UInt64) throws(Errno) {
        throw Errno(EFAULT)
    }
}

private func littleEndian32(_ values: [UInt32]) -> [UInt8] {
    values.flatMap { value in (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
}

private func decode(_ syscall: Syscall, width: IDWidth = .bits32, _ arguments: [UInt64], result: SyscallResult = .success(0), memory: TraceeMemory = ReadOnlyMemory()) -> [TraceArgument] {
    TraceDecoder.arguments(of: SyscallEntry(syscall, idWidth: width), arguments + Array(repeating: 0, count: 6 - arguments.count), result: result, memory: memory)
}

final class TraceDecoderTests: XCTestCase {
    func testCallWithoutArguments() {
        XCTAssertEqual(decode(.getuid, []), [])
    }

    func testSetIDsAreNumbers() {
        XCTAssertEqual(decode(.setresuid, [1000, 0xFFFF_FFFF, 0]), [.id(1000), .id(Credentials.unchanged), .id(0)])
    }

    func testSixteenBitMinusOneIsUnchanged() {
        XCTAssertEqual(decode(.setreuid, width: .bits16, [0xFFFF, 0x1_0005]), [.id(Credentials.unchanged), .id(5)])
    }

    func testGetRESUIDReadsIDsAfterSuccess() {
        let memory = ReadOnlyMemory()
        memory.map(0x1000, bytes: littleEndian32([1000, 1001, 1002]))

        let arguments = decode(.getresuid, [0x1000, 0x1004, 0x1008], memory: memory)

        XCTAssertEqual(arguments, [.ids([1000]), .ids([1001]), .ids([1002])])
    }

    func testGetRESUIDFailureShowsPointers() {
        let memory = ReadOnlyMemory()
        memory.map(0x1000, bytes: littleEndian32([1000, 1001, 1002]))

        let arguments = decode(.getresuid, [0x1000, 0x1004, 0x1008], result: .failure(.badAddress), memory: memory)

        XCTAssertEqual(arguments, [.pointer(0x1000), .pointer(0x1004), .pointer(0x1008)])
        XCTAssertTrue(memory.reads.isEmpty, "a failed call wrote nothing worth reading")
    }

    func testSetGroupsReadsTheList() {
        let memory = ReadOnlyMemory()
        memory.map(0x2000, bytes: littleEndian32([4, 27, 100]))

        XCTAssertEqual(decode(.setgroups, [3, 0x2000], memory: memory), [.integer(3), .ids([4, 27, 100])])
    }

    func testSetGroupsEmptyListReadsNothing() {
        let memory = ReadOnlyMemory()

        XCTAssertEqual(decode(.setgroups, [0, 0x5000], memory: memory), [.integer(0), .ids([])])
        XCTAssertTrue(memory.reads.isEmpty)
    }

    func testSetGroupsInvalidSizeShowsPointer() {
        XCTAssertEqual(decode(.setgroups, [0xFFFF_FFFF, 0x2000]), [.integer(-1), .pointer(0x2000)])
        XCTAssertEqual(decode(.setgroups, [70000, 0x2000]), [.integer(70000), .pointer(0x2000)])
    }

    func testSetGroupsUnreadableListShowsPointer() {
        XCTAssertEqual(decode(.setgroups, [2, 0x2000]), [.integer(2), .pointer(0x2000)])
    }

    func testGetGroupsReadsAsManyAsTheResult() {
        let memory = ReadOnlyMemory()
        memory.map(0x3000, bytes: littleEndian32([10, 20, 0xDEAD]))

        XCTAssertEqual(decode(.getgroups, [3, 0x3000], result: .success(2), memory: memory), [.integer(3), .ids([10, 20])])
    }

    func testGetGroupsSizeZeroShowsNull() {
        XCTAssertEqual(decode(.getgroups, [0, 0], result: .success(2)), [.integer(0), .pointer(0)])
    }

    func testChownPathAndIDs() {
        let memory = ReadOnlyMemory()
        memory.map(0x4000, bytes: Array("/tmp/file\0".utf8))

        XCTAssertEqual(decode(.chown, [0x4000, 1000, 0xFFFF_FFFF], memory: memory),
                       [.path(Array("/tmp/file".utf8), truncated: false), .id(1000), .id(Credentials.unchanged)])
    }

    /// A path that ends just before an unmapped page is read whole: the
    /// reads stop at the terminating NUL and never cross a 256-byte block.
    func testPathEndingBeforeUnmappedPage() {
        let memory = ReadOnlyMemory()
        let text = Array("abc".utf8) + [0]
        memory.map(0x4FFC, bytes: text)

        XCTAssertEqual(decode(.lchown, [0x4FFC, 0, 0], memory: memory), [.path(Array("abc".utf8), truncated: false), .id(0), .id(0)])
        for read in memory.reads {
            XCTAssertEqual(read.address / 256, (read.address + UInt64(read.count) - 1) / 256, "read at \(read.address) crosses a block")
        }
    }

    func testPathLongerThanBlock() {
        let memory = ReadOnlyMemory()
        let long = Array(repeating: UInt8(ascii: "x"), count: 700)
        memory.map(0x60F0, bytes: long + [0])

        XCTAssertEqual(decode(.chown, [0x60F0, 0, 0], memory: memory)[0], .path(long, truncated: false))
    }

    func testPathWithoutEndIsTruncated() {
        let memory = ReadOnlyMemory()
        let endless = Array(repeating: UInt8(ascii: "y"), count: TraceDecoder.maximumPathLength + 512)
        memory.map(0x10000, bytes: endless)

        let expected = Array(endless.prefix(TraceDecoder.maximumPathLength))
        XCTAssertEqual(decode(.chown, [0x10000, 0, 0], memory: memory)[0], .path(expected, truncated: true))
    }

    func testPathCutByUnmappedPageIsTruncated() {
        let memory = ReadOnlyMemory()
        memory.map(0x7F00, bytes: Array(repeating: UInt8(ascii: "z"), count: 0x100))

        XCTAssertEqual(decode(.chown, [0x7F00, 0, 0], memory: memory)[0],
                       .path(Array(repeating: UInt8(ascii: "z"), count: 0x100), truncated: true))
    }

    func testUnreadablePathShowsPointer() {
        XCTAssertEqual(decode(.chown, [0x9000, 0, 0])[0], .pointer(0x9000))
        XCTAssertEqual(decode(.chown, [0, 0, 0])[0], .pointer(0))
    }

    func testFchownatArguments() {
        let memory = ReadOnlyMemory()
        memory.map(0x4000, bytes: Array("f\0".utf8))
        let atCurrentDirectory = UInt64(bitPattern: -100)

        XCTAssertEqual(decode(.fchownat, [atCurrentDirectory, 0x4000, 1000, 1000, 0x100], memory: memory),
                       [.fileDescriptor(-100), .path([UInt8(ascii: "f")], truncated: false), .id(1000), .id(1000), .flags(0x100)])
    }

    func testMknodatModeAndDevice() {
        let memory = ReadOnlyMemory()
        memory.map(0x4000, bytes: Array("dev\0".utf8))

        XCTAssertEqual(decode(.mknodat, [3, 0x4000, 0o020666, 0x103], memory: memory),
                       [.fileDescriptor(3), .path(Array("dev".utf8), truncated: false), .mode(0o020666), .flags(0x103)])
    }

    func testStatBufferIsNotRead() {
        let memory = ReadOnlyMemory()
        memory.map(0x4000, bytes: Array("f\0".utf8))

        XCTAssertEqual(decode(.stat, [0x4000, 0x8000], memory: memory), [.path([UInt8(ascii: "f")], truncated: false), .pointer(0x8000)])
        XCTAssertFalse(memory.reads.contains { $0.address == 0x8000 })
    }

    func testCapgetReadsVersionThreeSets() {
        let memory = ReadOnlyMemory()
        memory.map(0x1000, bytes: littleEndian32([0x2008_0522, 0]))
        // Two __user_cap_data_struct: effective, permitted, inheritable of
        // the low words, then of the high words.
        memory.map(0x2000, bytes: littleEndian32([0xFFFF_FFFF, 0xFFFF_FFFF, 0, 0x1FF, 0x1FF, 0]))

        let arguments = decode(.capget, [0x1000, 0x2000], memory: memory)

        let all = CapabilitySet(rawValue: 0x1FF_FFFF_FFFF)
        XCTAssertEqual(arguments, [.capabilityHeader(version: 0x2008_0522, pid: 0),
                                   .capabilitySets(effective: all, permitted: all, inheritable: .empty)])
    }

    func testCapgetVersionOneReadsOneStruct() {
        let memory = ReadOnlyMemory()
        memory.map(0x1000, bytes: littleEndian32([0x1998_0330, 7]))
        memory.map(0x2000, bytes: littleEndian32([1, 2, 4]))

        let arguments = decode(.capget, [0x1000, 0x2000], memory: memory)

        XCTAssertEqual(arguments[0], .capabilityHeader(version: 0x1998_0330, pid: 7))
        XCTAssertEqual(arguments[1], .capabilitySets(effective: CapabilitySet(rawValue: 1), permitted: CapabilitySet(rawValue: 2), inheritable: CapabilitySet(rawValue: 4)))
    }

    func testCapgetUnknownVersionShowsPointer() {
        let memory = ReadOnlyMemory()
        memory.map(0x1000, bytes: littleEndian32([0x1234, 0]))
        memory.map(0x2000, bytes: littleEndian32([1, 2, 4, 0, 0, 0]))

        XCTAssertEqual(decode(.capget, [0x1000, 0x2000], memory: memory)[1], .pointer(0x2000))
    }

    func testFailedCapgetShowsPointer() {
        let memory = ReadOnlyMemory()
        memory.map(0x1000, bytes: littleEndian32([0x2008_0522, 0]))

        XCTAssertEqual(decode(.capget, [0x1000, 0x2000], result: .failure(.invalidArgument), memory: memory)[1], .pointer(0x2000))
    }

    func testPrctlShowsTheArgumentsOfItsOption() {
        XCTAssertEqual(decode(.prctl, [7, 99, 99]), [.prctlOption(.getKeepCapabilities)])
        XCTAssertEqual(decode(.prctl, [23, 12, 99]), [.prctlOption(.readBoundingSet), .integer(12)])
        XCTAssertEqual(decode(.prctl, [28, 0x2F, 99]), [.prctlOption(.setSecureBits), .flags(0x2F)])
        XCTAssertEqual(decode(.prctl, [47, 2, 21, 99]), [.prctlOption(.ambientCapabilities), .integer(2), .integer(21)])
    }
}
