import Synchronization

/// How much the engine reports. The engine never prints: it hands records
/// to the sink the CLI installs.
public enum LogLevel: Int, Comparable, Sendable {
    case error, warning, info, debug

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool {
        lhs.rawValue < rhs.rawValue
    }
}

/// One log record, with the thread it is about when there is one.
public struct LogRecord: Sendable {
    public let level: LogLevel
    public let pid: ProcessID?
    public let message: String
}

/// A leveled logger. A record above the configured level costs one
/// comparison: the message is an autoclosure that is not evaluated.
public final class Logger: Sendable {
    public let level: LogLevel
    private let sink: @Sendable (LogRecord) -> Void
    private let reportedGaps = Mutex<Set<String>>([])

    public init(level: LogLevel, sink: @escaping @Sendable (LogRecord) -> Void) {
        self.level = level
        self.sink = sink
    }

    /// A logger that drops every record, for tests.
    public static let silent = Logger(level: .error) { _ in }

    public func log(_ level: LogLevel, pid: ProcessID? = nil, _ message: @autoclosure () -> String) {
        guard level <= self.level else { return }
        sink(LogRecord(level: level, pid: pid, message: message()))
    }

    /// Reports a known gap in the emulation once per run, at warning level:
    /// the first program to hit it is named, later ones are not.
    public func logGapOnce(_ key: String, pid: ProcessID, _ message: @autoclosure () -> String) {
        let isFirst = reportedGaps.withLock { $0.insert(key).inserted }
        if isFirst {
            log(.warning, pid: pid, message())
        }
    }
}
