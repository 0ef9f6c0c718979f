import Foundation
import XCTest
@testable import Engine
import CShims

final class OwnershipStoreTests: XCTestCase {
    private func temporaryPath(_ name: String) -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("remainroot-unit-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        return directory.appendingPathComponent(name).path
    }

    func testRootlessContainersEncoding() {
        XCTAssertEqual(RootlessContainersAttribute.encode(uid: 1000, gid: 1001), [0x08, 0xe8, 0x07, 0x10, 0xe9, 0x07])
        XCTAssertEqual(RootlessContainersAttribute.encode(uid: 0, gid: nil), [0x08, 0x00, 0x10, 0xff, 0xff, 0xff, 0xff, 0x0f])
    }

    func testRootlessContainersDecoding() {
        let both = RootlessContainersAttribute.decode([0x08, 0xe8, 0x07, 0x10, 0xe9, 0x07])
        XCTAssertEqual(both?.uid, 1000)
        XCTAssertEqual(both?.gid, 1001)

        // protobuf 3 omits zero fields: an empty message is uid 0, gid 0.
        let empty = RootlessContainersAttribute.decode([])
        XCTAssertEqual(empty?.uid, 0)
        XCTAssertEqual(empty?.gid, 0)

        let unchangedGID = RootlessContainersAttribute.decode(RootlessContainersAttribute.encode(uid: 33, gid: nil))
        XCTAssertEqual(unchangedGID?.uid, 33)
        XCTAssertNil(unchangedGID?.gid)

        // An unknown length-delimited field 3 is skipped.
        let withUnknown = RootlessContainersAttribute.decode([0x1a, 0x02, 0x41, 0x42, 0x08, 0x05])
        XCTAssertEqual(withUnknown?.uid, 5)
        XCTAssertNil(RootlessContainersAttribute.decode([0x08]), "a truncated varint is invalid")
    }

    func testDeviceNumbersFollowTheKernelEncoding() {
        let null = FakeDevice(kind: .character, encoded: 0x103)
        XCTAssertEqual(null.major, 1)
        XCTAssertEqual(null.minor, 3)
        XCTAssertEqual(null.encoded, 0x103)

        // A minor above 255 keeps its high bits at bit 20 (new_encode_dev).
        let large = FakeDevice(kind: .block, major: 259, minor: 0x12345)
        XCTAssertEqual(large.encoded, 0x45 | (259 << 8) | (0x12300 << 12))
        XCTAssertEqual(FakeDevice(kind: .block, encoded: UInt32(truncatingIfNeeded: large.encoded)), large)
        XCTAssertEqual(FakeDevice(attributeText: "block 259 74565"), large)
        XCTAssertNil(FakeDevice(attributeText: "pipe 1 2"))
    }

    func testStateFileKeepsRecordsAcrossOpens() throws {
        let path = temporaryPath("state.db")
        let key = FileKey(device: 2049, inode: 12345)
        let record = OwnershipRecord(uid: 1000, gid: nil, device: FakeDevice(kind: .character, major: 1, minor: 3))
        do {
            let store = try SQLiteOwnershipStore(path: path)
            try store.setRecord(record, for: key, birthTime: 777)
        }
        let reopened = try SQLiteOwnershipStore(path: path)
        XCTAssertEqual(reopened.record(for: key, birthTime: 777), record)
    }

    func testStateFileIgnoresReusedInode() throws {
        let store = try SQLiteOwnershipStore(path: temporaryPath("state.db"))
        let key = FileKey(device: 1, inode: 2)
        try store.setRecord(OwnershipRecord(uid: 5), for: key, birthTime: 100)
        XCTAssertNil(store.record(for: key, birthTime: 200), "a file born later must not inherit the record")
        try store.setRecord(nil, for: key, birthTime: 100)
        XCTAssertNil(store.record(for: key, birthTime: 100))
    }

    func testStateFileRejectsOtherDatabases() throws {
        let path = temporaryPath("other.db")
        // An SQLite database with a table of its own, as another program's.
        let made = try Process.run(URL(fileURLWithPath: "/usr/bin/env"), arguments: ["python3", "-c",
            "import sqlite3; c = sqlite3.connect('\(path)'); c.execute('create table t (x)'); c.commit()"])
        made.waitUntilExit()
        let before = FileManager.default.contents(atPath: path)
        XCTAssertThrowsError(try SQLiteOwnershipStore(path: path)) { error in
            XCTAssertTrue((error as? SQLiteOwnershipStore.OpenError)?.message.contains("another program") == true, "\(error)")
        }
        XCTAssertEqual(FileManager.default.contents(atPath: path), before)
    }

    func testMemoryStoreChecksBirthTime() throws {
        let store = MemoryOwnershipStore()
        let key = FileKey(device: 1, inode: 1)
        try store.setRecord(OwnershipRecord(gid: 9), for: key, birthTime: 1)
        XCTAssertEqual(store.record(for: key, birthTime: 1), OwnershipRecord(gid: 9))
        XCTAssertNil(store.record(for: key, birthTime: 2))
        try store.setRecord(OwnershipRecord(), for: key, birthTime: 1)
        XCTAssertNil(store.record(for: key, birthTime: 1), "an empty record removes the entry")
    }

    /// The store caches a file's attribute record until the file's change
    /// time moves. A write by another program moves it and must show at the
    /// next stat, as must the store's own writes.
    func testAttributeRecordFollowsChangesMadeElsewhere() throws {
        let path = temporaryPath("file")
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("x".utf8)))
        let store = OwnershipStore(mode: .xattr, stateStore: nil, logger: Logger(level: .error) { _ in })
        func opened() throws -> OpenedFile {
            let fd = shim_open_path(-100, path, 1, 0)
            XCTAssertGreaterThanOrEqual(fd, 0)
            return try OpenedFile(descriptor: fd)
        }
        // Another program's writes, which pass the store by.
        let writer = try opened()
        let probe = shim_set_attribute(writer.descriptor, "user.remainroot-probe", "1", 1)
        guard probe == 0 else {
            throw XCTSkip("\(path) takes no user.* attributes: \(Errno(-probe))")
        }
        XCTAssertNil(store.record(of: try opened()))
        XCTAssertNil(store.record(of: try opened()), "read again, from the cache")

        let bytes = RootlessContainersAttribute.encode(uid: 1234, gid: 5678)
        XCTAssertEqual(shim_set_attribute(writer.descriptor, RootlessContainersAttribute.name, bytes, bytes.count), 0)
        XCTAssertEqual(store.record(of: try opened()), OwnershipRecord(uid: 1234, gid: 5678))

        try store.setRecord(OwnershipRecord(uid: 42), of: try opened(), pid: ProcessID(getpid()))
        XCTAssertEqual(store.record(of: try opened()), OwnershipRecord(uid: 42))

        XCTAssertEqual(shim_remove_attribute(writer.descriptor, RootlessContainersAttribute.name), 0)
        XCTAssertNil(store.record(of: try opened()))
    }
}

/// TraceePaths.readPath over a tracee memory whose pages are mapped or not,
/// with the faults process_vm_readv reports.
final class TraceePathReadTests: XCTestCase {
    private final class PagedMemory: TraceeMemory {
        static let pageSize: UInt64 = 4096
        var bytes: [UInt64: UInt8] = [:]
        var pages: Set<UInt64> = []
        var reads: [Int] = []

        func map(_ start: UInt64, _ values: [UInt8]) {
            for (offset, value) in values.enumerated() {
                bytes[start + UInt64(offset)] = value
                pages.insert((start + UInt64(offset)) / Self.pageSize)
            }
        }

        func read(at address: UInt64, count: Int) throws(Errno) -> [UInt8] {
            reads.append(count)
            return try (0..<UInt64(count)).map { (offset: UInt64) throws(Errno) -> UInt8 in
                guard pages.contains((address + offset) / Self.pageSize) else { throw Errno(EFAULT) }
                return bytes[address + offset] ?? 0
            }
        }

        func write(_ bytes: [UInt8], at address: UInt64) throws(Errno) {
            throw Errno(EFAULT)
        }
    }

    private func read(_ memory: PagedMemory, at address: UInt64) -> Result<[UInt8], Errno> {
        let paths = TraceePaths(pid: ProcessID(getpid()), memory: memory, sharesTracerRoot: true)
        do throws(Errno) {
            return .success(try paths.readPath(at: address))
        } catch {
            return .failure(error)
        }
    }

    func testShortPathTakesOneSmallRead() {
        let memory = PagedMemory()
        memory.map(0x10000, Array("include/stdio.h".utf8) + [0])
        XCTAssertEqual(try read(memory, at: 0x10000).get(), Array("include/stdio.h".utf8))
        XCTAssertEqual(memory.reads, [TraceePaths.firstReadSize])
    }

    func testLongPathEndingBeforeAnUnmappedPage() {
        // 3,000 bytes and their NUL end exactly at the end of the only
        // mapped page: no read may touch the next one.
        let path = [UInt8](repeating: UInt8(ascii: "a"), count: 3000)
        let start: UInt64 = 0x20000 + 4096 - 3001
        let memory = PagedMemory()
        memory.map(start, path + [0])
        XCTAssertEqual(try read(memory, at: start).get(), path)
    }

    func testPathCrossingIntoTheNextPage() {
        let path = Array("/usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h".utf8)
        let start: UInt64 = 0x30000 + 4096 - 10
        let memory = PagedMemory()
        memory.map(start, path + [0])
        XCTAssertEqual(try read(memory, at: start).get(), path)
    }

    func testLimitsAndFaults() {
        let memory = PagedMemory()
        memory.map(0x40000, [UInt8](repeating: UInt8(ascii: "b"), count: 4095) + [0])
        XCTAssertEqual(try read(memory, at: 0x40000).get().count, 4095, "PATH_MAX counts the NUL")

        memory.map(0x50000, [UInt8](repeating: UInt8(ascii: "c"), count: 8192))
        XCTAssertEqual(read(memory, at: 0x50000), .failure(Errno(ENAMETOOLONG)))

        memory.map(0x60000 + 4096 - 4, Array("abcd".utf8))
        XCTAssertEqual(read(memory, at: 0x60000 + 4096 - 4), .failure(Errno(EFAULT)), "no NUL before an unmapped page")
        XCTAssertEqual(read(memory, at: 0x70000), .failure(Errno(EFAULT)))
    }
}
