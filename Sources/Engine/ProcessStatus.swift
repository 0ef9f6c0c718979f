/// The `Name:<tab>value` lines of /proc/PID/status (proc(5)), read once.
public struct ProcessStatus {
    private let text: String

    /// Reads the status of `process`: a pid, or `self`. Nil when the
    /// process is gone or /proc is not mounted.
    public init?(of process: String) {
        guard case .success(let text) = SystemCalls.readFile("/proc/\(process)/status") else { return nil }
        self.text = text
    }

    /// Returns the value of the line named `name` (without the colon),
    /// without its blanks; nil when there is no such line.
    public func value(_ name: String) -> String? {
        let prefix = name + ":"
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return nil }
        return String(line.dropFirst(prefix.count).filter { $0 != "\t" && $0 != " " })
    }

    /// Returns the value of the line named `name` as a decimal number.
    public func integer(_ name: String) -> Int? {
        value(name).flatMap { Int($0) }
    }
}
