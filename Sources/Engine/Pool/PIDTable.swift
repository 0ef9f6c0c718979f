import Synchronization

/// A lock-free map from thread id to an entry, shared by the workers of the
/// pool. Lookups take no lock and write nothing shared. Insertion and
/// removal are compare-and-swap operations on one slot.
///
/// Layout: a thread id is below 2^22, PID_MAX_LIMIT on 64-bit Linux
/// (include/linux/threads.h) and the ceiling of `kernel.pid_max`. The id
/// selects one of 16,384 chunk pointers in a directory allocated once
/// (128 KiB), and one of the chunk's 256 slots. Chunks are allocated when a
/// pid in their range is first inserted and reclaimed when their last slot
/// empties, so memory follows the live tracees (about 2 KiB per chunk), not
/// the range of pids a long build cycles through.
///
/// Pid reuse: a pid is reused only after its previous owner was reaped, but
/// the worker that traced it may not have removed its entry yet when the
/// pid comes back in a new child. So ``insert(_:for:by:)`` replaces any
/// entry it finds and returns it, and ``remove(_:ifCurrent:by:)`` removes
/// only the entry the caller names, never a newer one under the same pid.
///
/// Memory reclamation is quiescent-state-based (QSBR, as in userspace RCU):
/// each slot owns one strong reference to its entry. A removed entry is not
/// released at once, because another worker may have just loaded its
/// address. It is retired with the epoch that follows its removal and
/// released once every reader has announced a quiescent state (a point
/// where it holds no address loaded from the table) at or after that epoch,
/// or is offline. Workers go offline while blocked in waitpid(2) and come
/// online after it, so a worker that sleeps for an hour delays nothing.
/// Empty chunks are retired the same way. ``lookup(_:)`` returns a strong
/// reference, which the caller may keep past its next quiescent state.
public final class PIDTable<Entry: AnyObject>: @unchecked Sendable {
    /// One more than the largest thread id Linux hands out.
    public static var pidLimit: Int32 { 1 << 22 }
    static var slotsPerChunk: Int { 256 }
    static var chunkCount: Int { Int(pidLimit) / slotsPerChunk }

    /// The reserved-slot count that marks a reclaimed chunk, whose slots
    /// may not be filled again.
    fileprivate static var deadChunk: Int { Int.min }

    /// Chunk addresses as `Unmanaged<Chunk>` bit patterns, 0 for none.
    private let directory: UnsafeMutablePointer<Atomic<UInt>>
    /// The epoch that stamps the next retirement, starting at 1.
    private let epoch = Atomic<UInt64>(1)
    /// Each reader's last announced epoch, 0 while it is offline.
    private let announced: UnsafeMutablePointer<Atomic<UInt64>>
    public let readerCount: Int
    /// Chunks allocated and not yet reclaimed, for tests and memory checks.
    private let liveChunks = Atomic<Int>(0)

    /// A table for up to `readerCount` threads, each with its own
    /// ``Reader``.
    public init(readerCount: Int) {
        precondition(readerCount > 0, "a PID table needs at least one reader")
        self.readerCount = readerCount
        directory = .allocate(capacity: Self.chunkCount)
        for index in 0..<Self.chunkCount {
            (directory + index).initialize(to: Atomic(0))
        }
        announced = .allocate(capacity: readerCount)
        for index in 0..<readerCount {
            (announced + index).initialize(to: Atomic(0))
        }
    }

    /// Releases every entry still in the table. Call only after every
    /// reader is gone.
    deinit {
        for index in 0..<Self.chunkCount {
            let bits = directory[index].load(ordering: .relaxed)
            guard bits != 0 else { continue }
            let chunk = Self.chunk(bits)
            for slot in 0..<Self.slotsPerChunk {
                let entryBits = chunk.takeUnretainedValue().slots[slot].load(ordering: .relaxed)
                if entryBits != 0 {
                    Self.entry(entryBits).release()
                }
            }
            chunk.release()
        }
        directory.deinitialize(count: Self.chunkCount)
        directory.deallocate()
        announced.deinitialize(count: readerCount)
        announced.deallocate()
    }

    /// The number of chunks currently allocated.
    public var chunksInUse: Int {
        liveChunks.load(ordering: .relaxed)
    }

    // MARK: - Readers

    /// One thread's handle on the table: its announcements and the entries
    /// and chunks it retired. Use it only on the thread that made it.
    public final class Reader {
        let table: PIDTable
        let index: Int
        fileprivate var retired: [(epoch: UInt64, item: Retired)] = []

        fileprivate init(table: PIDTable, index: Int) {
            self.table = table
            self.index = index
        }

        /// Releases what this reader retired. Call only when no other
        /// thread can hold an address loaded from the table.
        deinit {
            for (_, item) in retired {
                item.release()
            }
        }

        /// Announces a quiescent state and stays online: the caller keeps
        /// no address it loaded from the table before this point.
        public func announceQuiescentState() {
            table.announce(index, epoch: table.epoch.load(ordering: .sequentiallyConsistent))
            reclaim()
        }

        /// Leaves the table before blocking. No lookup is allowed until
        /// ``comeOnline()``.
        public func goOffline() {
            table.announced[index].store(0, ordering: .releasing)
        }

        /// Comes back after ``goOffline()``, which is also a quiescent state.
        public func comeOnline() {
            announceQuiescentState()
        }

        /// The number of entries and chunks waiting for a grace period.
        public var retiredCount: Int { retired.count }

        /// Releases every retired item whose grace period is over.
        func reclaim() {
            guard !retired.isEmpty else { return }
            let safeEpoch = table.oldestAnnouncedEpoch()
            var kept: [(epoch: UInt64, item: Retired)] = []
            for record in retired {
                if record.epoch <= safeEpoch {
                    record.item.release()
                } else {
                    kept.append(record)
                }
            }
            retired = kept
        }

        fileprivate func retire(_ item: Retired) {
            // The increment orders the epoch after the unlinking swap that
            // precedes this call.
            let stamp = table.epoch.add(1, ordering: .sequentiallyConsistent).newValue
            retired.append((stamp, item))
        }
    }

    fileprivate enum Retired {
        case entry(Unmanaged<Entry>)
        case chunk(Unmanaged<Chunk>)

        func release() {
            switch self {
            case .entry(let entry): entry.release()
            case .chunk(let chunk): chunk.release()
            }
        }
    }

    /// Makes reader `index` (0..<readerCount), offline until it comes
    /// online. Make each index once.
    public func makeReader(_ index: Int) -> Reader {
        precondition(index >= 0 && index < readerCount, "reader \(index) of a table for \(readerCount)")
        return Reader(table: self, index: index)
    }

    private func announce(_ index: Int, epoch: UInt64) {
        // An exchange rather than a store: loads from the table made after
        // this point must not be ordered before the announcement, or a
        // reclaimer could miss them, and a read-modify-write orders them
        // without a separate fence.
        _ = announced[index].exchange(epoch, ordering: .sequentiallyConsistent)
    }

    /// The newest epoch that every online reader has announced; an item
    /// retired at or before it can no longer be reached.
    private func oldestAnnouncedEpoch() -> UInt64 {
        var oldest = epoch.load(ordering: .sequentiallyConsistent)
        for index in 0..<readerCount {
            let seen = announced[index].load(ordering: .sequentiallyConsistent)
            if seen != 0 && seen < oldest {
                oldest = seen
            }
        }
        return oldest
    }

    // MARK: - Operations

    /// The entry of `pid`, or nil, also for ids no thread can have. Call
    /// only while the reader is online.
    public func lookup(_ pid: ProcessID) -> Entry? {
        guard pid.rawValue > 0 && pid.rawValue < Self.pidLimit else { return nil }
        let (chunkIndex, slot) = Self.position(pid)
        let chunkBits = directory[chunkIndex].load(ordering: .acquiring)
        guard chunkBits != 0 else { return nil }
        let entryBits = Self.chunk(chunkBits).takeUnretainedValue().slots[slot].load(ordering: .acquiring)
        guard entryBits != 0 else { return nil }
        return Self.entry(entryBits).takeUnretainedValue()
    }

    /// Makes `entry` the entry of `pid` and returns the one it replaced,
    /// an entry left behind by an earlier thread with the same id. The
    /// replaced entry is retired here, and its owner finds it gone when it
    /// calls ``remove(_:ifCurrent:by:)``.
    @discardableResult
    public func insert(_ entry: Entry, for pid: ProcessID, by reader: Reader) -> Entry? {
        let (chunkIndex, slot) = Self.position(pid)
        let newBits = UInt(bitPattern: Unmanaged.passRetained(entry).toOpaque())

        while true {
            let chunk = chunkForInsertion(at: chunkIndex, by: reader)
            let chunkObject = chunk.takeUnretainedValue()
            guard chunkObject.reserveSlot() else {
                // Reclaimed between the directory load and the reservation.
                continue
            }

            let oldBits = chunkObject.slots[slot].exchange(newBits, ordering: .sequentiallyConsistent)
            guard oldBits != 0 else { return nil }

            // The slot was full, so it needed no new reservation.
            _ = chunkObject.releaseSlot()
            let old = Self.entry(oldBits)
            let replaced = old.takeUnretainedValue()
            reader.retire(.entry(old))
            return replaced
        }
    }

    /// Removes `entry` if it is still the entry of `pid`, and returns false
    /// when the slot contains another entry or none.
    @discardableResult
    public func remove(_ pid: ProcessID, ifCurrent entry: Entry, by reader: Reader) -> Bool {
        let (chunkIndex, slot) = Self.position(pid)
        let chunkBits = directory[chunkIndex].load(ordering: .acquiring)
        guard chunkBits != 0 else { return false }
        let chunk = Self.chunk(chunkBits)
        let chunkObject = chunk.takeUnretainedValue()

        let expected = UInt(bitPattern: Unmanaged.passUnretained(entry).toOpaque())
        let (exchanged, _) = chunkObject.slots[slot].compareExchange(expected: expected, desired: 0, ordering: .sequentiallyConsistent)
        guard exchanged else { return false }
        reader.retire(.entry(Self.entry(expected)))

        if chunkObject.releaseSlot() {
            // The last slot emptied and the chunk is now dead: unlink it
            // unless an inserter already replaced it.
            let (unlinked, _) = directory[chunkIndex].compareExchange(expected: chunkBits, desired: 0, ordering: .sequentiallyConsistent)
            if unlinked {
                liveChunks.subtract(1, ordering: .relaxed)
                reader.retire(.chunk(chunk))
            }
        }
        return true
    }

    /// The chunk for `chunkIndex`, allocated and published if there is
    /// none or the one there is dead.
    private func chunkForInsertion(at chunkIndex: Int, by reader: Reader) -> Unmanaged<Chunk> {
        while true {
            let bits = directory[chunkIndex].load(ordering: .acquiring)
            if bits != 0 {
                let chunk = Self.chunk(bits)
                guard chunk.takeUnretainedValue().isDead else { return chunk }
                // Help the remover that killed it: whoever unlinks it
                // retires it.
                let (unlinked, _) = directory[chunkIndex].compareExchange(expected: bits, desired: 0, ordering: .sequentiallyConsistent)
                if unlinked {
                    liveChunks.subtract(1, ordering: .relaxed)
                    reader.retire(.chunk(chunk))
                }
                continue
            }

            let fresh = Unmanaged.passRetained(Chunk(slotCount: Self.slotsPerChunk))
            let freshBits = UInt(bitPattern: fresh.toOpaque())
            let (published, _) = directory[chunkIndex].compareExchange(expected: 0, desired: freshBits, ordering: .sequentiallyConsistent)
            if published {
                liveChunks.add(1, ordering: .relaxed)
                return fresh
            }
            // Another inserter published first; nobody saw ours.
            fresh.release()
        }
    }

    private static func position(_ pid: ProcessID) -> (chunk: Int, slot: Int) {
        let value = Int(pid.rawValue)
        precondition(value > 0 && value < Int(pidLimit), "thread id \(value) is outside 1..<\(pidLimit)")
        return (value / slotsPerChunk, value % slotsPerChunk)
    }

    private static func chunk(_ bits: UInt) -> Unmanaged<Chunk> {
        Unmanaged.fromOpaque(UnsafeRawPointer(bitPattern: bits)!)
    }

    private static func entry(_ bits: UInt) -> Unmanaged<Entry> {
        Unmanaged.fromOpaque(UnsafeRawPointer(bitPattern: bits)!)
    }

    /// 256 slots and a count of the ones filled or about to be.
    fileprivate final class Chunk {
        /// Entry addresses as `Unmanaged<Entry>` bit patterns, 0 for none.
        let slots: UnsafeMutablePointer<Atomic<UInt>>
        let slotCount: Int
        /// Filled slots plus reservations in progress, or ``deadChunk``.
        /// A chunk whose count reached zero and was marked dead has only
        /// empty slots and takes no new entry.
        private let reserved = Atomic<Int>(0)

        init(slotCount: Int) {
            self.slotCount = slotCount
            slots = .allocate(capacity: slotCount)
            for index in 0..<slotCount {
                (slots + index).initialize(to: Atomic(0))
            }
        }

        deinit {
            slots.deinitialize(count: slotCount)
            slots.deallocate()
        }

        var isDead: Bool {
            reserved.load(ordering: .acquiring) == PIDTable.deadChunk
        }

        /// Counts one slot about to be filled, or returns false when the
        /// chunk is dead.
        func reserveSlot() -> Bool {
            var count = reserved.load(ordering: .relaxed)
            while true {
                guard count != PIDTable.deadChunk else { return false }
                let (exchanged, original) = reserved.compareExchange(expected: count, desired: count + 1, ordering: .sequentiallyConsistent)
                if exchanged { return true }
                count = original
            }
        }

        /// Uncounts one slot, and returns true when that emptied the chunk
        /// and this call marked it dead.
        func releaseSlot() -> Bool {
            let remaining = reserved.subtract(1, ordering: .sequentiallyConsistent).newValue
            guard remaining == 0 else { return false }
            let (killed, _) = reserved.compareExchange(expected: 0, desired: PIDTable.deadChunk, ordering: .sequentiallyConsistent)
            return killed
        }
    }
}
