import Foundation
import XCTest
@testable import Engine

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
}
