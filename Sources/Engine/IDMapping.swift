/// The ids a user namespace maps, read from /proc/PID/uid_map or gid_map:
/// lines of "first-inside first-outside count" (user_namespaces(7)).
public struct IDMapping: Sendable, Equatable {
    public struct Range: Sendable, Equatable {
        public let inside: UInt32
        public let outside: UInt32
        public let count: UInt64
    }

    public let ranges: [Range]

    public init(ranges: [Range]) {
        self.ranges = ranges
    }

    /// Parses the text of a map file; nil when a line is malformed.
    public init?(parsing text: String) {
        var ranges: [Range] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count == 3,
                  let inside = UInt32(fields[0]),
                  let outside = UInt32(fields[1]),
                  let count = UInt64(fields[2])
            else { return nil }
            ranges.append(Range(inside: inside, outside: outside, count: count))
        }
        self.ranges = ranges
    }

    /// Reads the map of the calling process.
    public static func current(_ kind: String) -> Result<IDMapping, Errno> {
        SystemCalls.readFile("/proc/self/\(kind)_map").flatMap { text in
            IDMapping(parsing: text).map { .success($0) } ?? .failure(.invalidArgument)
        }
    }

    /// Whether `id` is an id inside the namespace, one the kernel accepts
    /// in chown(2) or setuid(2).
    public func maps(_ id: UInt32) -> Bool {
        ranges.contains { UInt64(id) >= UInt64($0.inside) && UInt64(id) - UInt64($0.inside) < $0.count }
    }

    /// The initial user namespace maps every id to itself:
    /// "0 0 4294967295".
    public var isInitialNamespace: Bool {
        ranges == [Range(inside: 0, outside: 0, count: 4_294_967_295)]
    }
}
