import CSQLite
import Synchronization

/// The state file: records keyed by (st_dev, st_ino) in an SQLite database.
///
/// Each change is its own transaction in WAL mode with synchronous=NORMAL,
/// committed before the tracee's call returns. A commit then reaches the
/// operating system before the program sees its result, so a remainroot
/// killed at any moment loses no record that a program was told about
/// (a power failure may lose the last commits; SQLite's synchronous=FULL
/// would cover that at the cost of an fsync per chown).
public final class SQLiteOwnershipStore: KeyedOwnershipStore {
    /// `PRAGMA application_id` of remainroot's state files: "rrst".
    static let applicationID: Int32 = 0x7272_7374
    static let formatVersion: Int32 = 1

    public struct OpenError: Error {
        public let message: String
    }

    private struct Connection: @unchecked Sendable {
        let database: OpaquePointer
    }

    private let connection: Mutex<Connection>

    /// Opens or creates the state file. A file that is not SQLite, or an
    /// SQLite database of another program, is rejected untouched.
    public init(path: String) throws(OpenError) {
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX
        guard sqlite3_open_v2(path, &handle, flags, nil) == SQLITE_OK, let database = handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(handle)
            throw OpenError(message: message)
        }
        sqlite3_busy_timeout(database, 10_000)

        do {
            try Self.checkOwner(database)
            try Self.checkIntegrity(database)
            try Self.execute(database, """
                PRAGMA journal_mode = WAL;
                PRAGMA synchronous = NORMAL;
                PRAGMA application_id = \(Self.applicationID);
                PRAGMA user_version = \(Self.formatVersion);
                CREATE TABLE IF NOT EXISTS records (
                    device INTEGER NOT NULL,
                    inode INTEGER NOT NULL,
                    birth INTEGER NOT NULL,
                    uid INTEGER,
                    gid INTEGER,
                    device_kind INTEGER,
                    device_major INTEGER,
                    device_minor INTEGER,
                    PRIMARY KEY (device, inode)
                ) WITHOUT ROWID;
                """)
        } catch {
            sqlite3_close(database)
            throw error
        }
        connection = Mutex(Connection(database: database))
    }

    deinit {
        connection.withLock { _ = sqlite3_close($0.database) }
    }

    /// Accepts an empty database or one of remainroot's own format.
    private static func checkOwner(_ database: OpaquePointer) throws(OpenError) {
        let application = try integer(database, "PRAGMA application_id")
        let tables = try integer(database, "SELECT count(*) FROM sqlite_master")
        if application == applicationID {
            let version = try integer(database, "PRAGMA user_version")
            guard version == formatVersion else {
                throw OpenError(message: "it has state format \(version); this remainroot reads format \(formatVersion)")
            }
        } else if application != 0 || tables != 0 {
            throw OpenError(message: "it is an SQLite database of another program; name a new file or one remainroot wrote")
        }
    }

    public func record(for key: FileKey, birthTime: Int64) -> OwnershipRecord? {
        connection.withLock { connection -> OwnershipRecord? in
            let database = connection.database
            var statement: OpaquePointer?
            guard sqlite3_prepare_v2(database, "SELECT birth, uid, gid, device_kind, device_major, device_minor FROM records WHERE device = ? AND inode = ?", -1, &statement, nil) == SQLITE_OK else { return nil }
            defer { sqlite3_finalize(statement) }
            sqlite3_bind_int64(statement, 1, Int64(bitPattern: key.device))
            sqlite3_bind_int64(statement, 2, Int64(bitPattern: key.inode))
            guard sqlite3_step(statement) == SQLITE_ROW, sqlite3_column_int64(statement, 0) == birthTime else { return nil }

            func optionalID(_ column: Int32) -> UInt32? {
                sqlite3_column_type(statement, column) == SQLITE_NULL ? nil : UInt32(truncatingIfNeeded: sqlite3_column_int64(statement, column))
            }
            var record = OwnershipRecord(uid: optionalID(1), gid: optionalID(2))
            if let kind = optionalID(3), let major = optionalID(4), let minor = optionalID(5) {
                record.device = FakeDevice(kind: kind == 2 ? .block : .character, major: major, minor: minor)
            }
            return record
        }
    }

    public func setRecord(_ record: OwnershipRecord?, for key: FileKey, birthTime: Int64) throws(Errno) {
        let failed = connection.withLock { connection -> Bool in
            let database = connection.database
            var statement: OpaquePointer?
            let sql = record == nil
                ? "DELETE FROM records WHERE device = ?1 AND inode = ?2"
                : "INSERT OR REPLACE INTO records VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            guard sqlite3_prepare_v2(database, sql, -1, &statement, nil) == SQLITE_OK else { return true }
            defer { sqlite3_finalize(statement) }

            sqlite3_bind_int64(statement, 1, Int64(bitPattern: key.device))
            sqlite3_bind_int64(statement, 2, Int64(bitPattern: key.inode))
            if let record {
                sqlite3_bind_int64(statement, 3, birthTime)
                func bind(_ index: Int32, _ value: UInt32?) {
                    if let value { sqlite3_bind_int64(statement, index, Int64(value)) } else { sqlite3_bind_null(statement, index) }
                }
                bind(4, record.uid)
                bind(5, record.gid)
                bind(6, record.device.map { $0.kind == .block ? 2 : 1 })
                bind(7, record.device?.major)
                bind(8, record.device?.minor)
            }
            return sqlite3_step(statement) != SQLITE_DONE
        }
        // SQLITE_FULL and I/O errors reach the program as EIO, the errno a
        // failing write-back would give.
        if failed { throw Errno(5) }
    }

    private static func execute(_ database: OpaquePointer, _ sql: String) throws(OpenError) {
        var error: UnsafeMutablePointer<CChar>?
        guard sqlite3_exec(database, sql, nil, nil, &error) == SQLITE_OK else {
            let message = error.map { String(cString: $0) } ?? "unknown SQLite error"
            sqlite3_free(error)
            throw OpenError(message: message)
        }
    }

    /// Rejects a damaged file before any record is read from it. SQLite
    /// reads a page only when a query needs it, so without this check a
    /// damaged page would hide its records as if they did not exist.
    /// `PRAGMA quick_check` reads every page once: O(size of the file).
    private static func checkIntegrity(_ database: OpaquePointer) throws(OpenError) {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(database, "PRAGMA quick_check(1)", -1, &statement, nil) == SQLITE_OK else {
            throw OpenError(message: String(cString: sqlite3_errmsg(database)))
        }
        defer { sqlite3_finalize(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW, let text = sqlite3_column_text(statement, 0) else {
            throw OpenError(message: String(cString: sqlite3_errmsg(database)))
        }
        let result = String(cString: text).split(separator: "\n").joined(separator: "; ")
        guard result == "ok" else {
            throw OpenError(message: "database disk image is malformed (\(result))")
        }
    }

    private static func integer(_ database: OpaquePointer, _ sql: String) throws(OpenError) -> Int32 {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(database, sql, -1, &statement, nil) == SQLITE_OK else {
            throw OpenError(message: String(cString: sqlite3_errmsg(database)))
        }
        defer { sqlite3_finalize(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW else {
            throw OpenError(message: String(cString: sqlite3_errmsg(database)))
        }
        return sqlite3_column_int(statement, 0)
    }
}
