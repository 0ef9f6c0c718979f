import Engine
import Glibc
import Synchronization
import XCTest

/// The lock-free PID table: replacement and removal by identity, chunk
/// reclamation, and several threads inserting, replacing, removing and
/// looking up the same few pids at once.
final class PIDTableTests: XCTestCase {
    /// An entry that counts its own lifetime, so that a test can tell an
    /// early release (a lookup finds a dead entry) from a leak.
    final class Entry: @unchecked Sendable {
        static let live = Atomic<Int>(0)
        static let magicValue: UInt64 = 0x7261_6D69_6E72_6F6F

        let pid: ProcessID
        let writer: Int
        /// Cleared by deinit, so a reader that finds it cleared has read
        /// freed memory.
        var magic = Entry.magicValue

        init(pid: ProcessID, writer: Int) {
            self.pid = pid
            self.writer = writer
            Self.live.add(1, ordering: .relaxed)
        }

        deinit {
            magic = 0
            Self.live.subtract(1, ordering: .relaxed)
        }
    }

    override func setUp() {
        XCTAssertEqual(Entry.live.load(ordering: .relaxed), 0, "entries left over from an earlier test")
    }

    func testReplacedEntryIsNotRemovedByItsOldOwner() {
        let table = PIDTable<Entry>(readerCount: 2)
        let first = table.makeReader(0)
        let second = table.makeReader(1)
        first.comeOnline()
        second.comeOnline()
        let pid = ProcessID(4242)

        let old = Entry(pid: pid, writer: 0)
        XCTAssertNil(table.insert(old, for: pid, by: first))
        let new = Entry(pid: pid, writer: 1)
        let replaced = table.insert(new, for: pid, by: second)
        XCTAssertTrue(replaced === old, "insert must return the entry it replaced")

        XCTAssertFalse(table.remove(pid, ifCurrent: old, by: first), "the old owner must not remove the new entry")
        XCTAssertTrue(table.lookup(pid) === new)
        XCTAssertTrue(table.remove(pid, ifCurrent: new, by: second))
        XCTAssertNil(table.lookup(pid))
        XCTAssertFalse(table.remove(pid, ifCurrent: new, by: second), "a second removal finds nothing")
    }

    func testLookupOfImpossiblePidsFindsNothing() {
        let table = PIDTable<Entry>(readerCount: 1)
        let reader = table.makeReader(0)
        reader.comeOnline()
        for pid: Int32 in [0, -1, Int32.min, PIDTable<Entry>.pidLimit, Int32.max] {
            XCTAssertNil(table.lookup(ProcessID(pid)), "pid \(pid)")
        }
    }

    func testRetiredEntryWaitsForOtherReaders() {
        let table = PIDTable<Entry>(readerCount: 2)
        let remover = table.makeReader(0)
        let other = table.makeReader(1)
        remover.comeOnline()
        other.comeOnline()
        let pid = ProcessID(77)

        var entry: Entry? = Entry(pid: pid, writer: 0)
        table.insert(entry!, for: pid, by: remover)
        let found = table.lookup(pid)
        XCTAssertTrue(found === entry)
        XCTAssertTrue(table.remove(pid, ifCurrent: entry!, by: remover))
        entry = nil

        // `other` has announced nothing since the removal, so it may still
        // hold the address: the entry must stay alive.
        remover.announceQuiescentState()
        XCTAssertEqual(remover.retiredCount, 2, "the entry and its emptied chunk wait for the grace period")
        XCTAssertEqual(Entry.live.load(ordering: .relaxed), 1)

        other.announceQuiescentState()
        remover.announceQuiescentState()
        XCTAssertEqual(remover.retiredCount, 0)
        XCTAssertEqual(Entry.live.load(ordering: .relaxed), 1, "the test still holds the entry from its lookup")
        _ = found
    }

    func testOfflineReaderDelaysNothing() {
        let table = PIDTable<Entry>(readerCount: 2)
        let remover = table.makeReader(0)
        let sleeper = table.makeReader(1)
        remover.comeOnline()
        sleeper.comeOnline()
        sleeper.goOffline()

        let pid = ProcessID(1000)
        table.insert(Entry(pid: pid, writer: 0), for: pid, by: remover)
        XCTAssertTrue(table.remove(pid, ifCurrent: table.lookup(pid)!, by: remover))
        remover.announceQuiescentState()
        XCTAssertEqual(remover.retiredCount, 0)
        XCTAssertEqual(Entry.live.load(ordering: .relaxed), 0)
    }

    func testEmptyChunksAreReclaimed() {
        let table = PIDTable<Entry>(readerCount: 1)
        let reader = table.makeReader(0)
        reader.comeOnline()

        // Pids far apart, as a long build leaves them, each in its own
        // chunk of 256.
        let pids = (1...64).map { ProcessID(Int32($0 * 60_000)) }
        for pid in pids {
            table.insert(Entry(pid: pid, writer: 0), for: pid, by: reader)
        }
        XCTAssertEqual(table.chunksInUse, 64)
        for pid in pids {
            XCTAssertTrue(table.remove(pid, ifCurrent: table.lookup(pid)!, by: reader))
        }
        XCTAssertEqual(table.chunksInUse, 0)
        reader.announceQuiescentState()
        XCTAssertEqual(reader.retiredCount, 0)
        XCTAssertEqual(Entry.live.load(ordering: .relaxed), 0)

        table.insert(Entry(pid: pids[0], writer: 0), for: pids[0], by: reader)
        XCTAssertEqual(table.lookup(pids[0])?.pid, pids[0], "a reclaimed chunk's range takes entries again")
    }

    /// Four writers insert, replace and remove entries for the same eight
    /// pids, which sit in two chunks, while every writer also looks up all
    /// eight. Every entry found must be alive and filed under its own pid;
    /// at the end nothing may be left alive and nothing released twice.
    func testContentionWithPidReuse() {
        let threadCount = 4
        let rounds = 20_000
        let pids = (0..<8).map { ProcessID(Int32(250 + $0)) }
        let table = PIDTable<Entry>(readerCount: threadCount)
        // Readers outlive every thread: a reader releases what it retired
        // when it goes away, which is safe only once nobody reads.
        let readers = Readers((0..<threadCount).map { table.makeReader($0) })
        let failures = Mutex<[String]>([])
        let inserted = Atomic<Int>(0)
        let removedByOwner = Atomic<Int>(0)
        let replaced = Atomic<Int>(0)

        runConcurrently(threads: threadCount) { writer in
            let reader = readers.list[writer]
            reader.comeOnline()
            var mine: [ProcessID: Entry] = [:]
            var random = SystemRandomNumberGenerator()

            for round in 0..<rounds {
                let pid = pids[Int.random(in: 0..<pids.count, using: &random)]
                if let entry = mine[pid], Bool.random(using: &random) {
                    // The owner reaps its thread: remove only its own entry.
                    if table.remove(pid, ifCurrent: entry, by: reader) {
                        removedByOwner.add(1, ordering: .relaxed)
                    }
                    mine[pid] = nil
                } else {
                    // A new thread with a reused pid replaces whatever entry
                    // an earlier owner has not removed yet.
                    let entry = Entry(pid: pid, writer: writer)
                    if table.insert(entry, for: pid, by: reader) != nil {
                        replaced.add(1, ordering: .relaxed)
                    }
                    inserted.add(1, ordering: .relaxed)
                    mine[pid] = entry
                }

                for probe in pids {
                    guard let found = table.lookup(probe) else { continue }
                    if found.magic != Entry.magicValue || found.pid != probe {
                        failures.withLock { $0.append("writer \(writer) round \(round): pid \(probe) maps to a dead or foreign entry") }
                    }
                }
                if round % 64 == 0 {
                    reader.goOffline()
                    reader.comeOnline()
                } else {
                    reader.announceQuiescentState()
                }
            }

            for (pid, entry) in mine where table.remove(pid, ifCurrent: entry, by: reader) {
                removedByOwner.add(1, ordering: .relaxed)
            }
            reader.goOffline()
        }

        XCTAssertEqual(failures.withLock { $0 }.prefix(5).joined(separator: "\n"), "")
        XCTAssertEqual(removedByOwner.load(ordering: .relaxed) + replaced.load(ordering: .relaxed), inserted.load(ordering: .relaxed),
                       "every entry leaves the table exactly once, by its owner or by a replacement")
        let checker = readers.list[0]
        checker.comeOnline()
        for pid in pids {
            XCTAssertNil(table.lookup(pid), "pid \(pid) still has an entry")
        }
        XCTAssertEqual(table.chunksInUse, 0)
        checker.goOffline()

        readers.list.removeAll()
        XCTAssertEqual(Entry.live.load(ordering: .relaxed), 0, "entries leaked")
    }
}

/// The readers of one table, handed to the threads of a test; each thread
/// uses only its own.
private final class Readers: @unchecked Sendable {
    var list: [PIDTable<PIDTableTests.Entry>.Reader]
    init(_ list: [PIDTable<PIDTableTests.Entry>.Reader]) {
        self.list = list
    }
}

/// Runs `body(index)` for each index in 0..<threads, each on its own
/// thread, and waits for all of them.
func runConcurrently(threads count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    final class Job: @unchecked Sendable {
        let index: Int
        let body: @Sendable (Int) -> Void
        init(index: Int, body: @escaping @Sendable (Int) -> Void) {
            self.index = index
            self.body = body
        }
    }
    var threads: [pthread_t] = []
    for index in 0..<count {
        var thread = pthread_t()
        let job = Unmanaged.passRetained(Job(index: index, body: body)).toOpaque()
        let result = pthread_create(&thread, nil, { context in
            let job = Unmanaged<Job>.fromOpaque(context!).takeRetainedValue()
            job.body(job.index)
            return nil
        }, job)
        precondition(result == 0, "pthread_create failed: \(result)")
        threads.append(thread)
    }
    for thread in threads {
        pthread_join(thread, nil)
    }
}
