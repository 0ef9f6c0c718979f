/// What remainroot recorded about a file that the kernel could not make
/// real: an owner outside the namespace's map, or a device node. A nil
/// field means the file's real value applies.
public struct OwnershipRecord: Equatable, Sendable {
    public var uid: UInt32?
    public var gid: UInt32?
    public var device: FakeDevice?

    public init(uid: UInt32? = nil, gid: UInt32? = nil, device: FakeDevice? = nil) {
        self.uid = uid
        self.gid = gid
        self.device = device
    }

    public var isEmpty: Bool {
        uid == nil && gid == nil && device == nil
    }
}

/// A character or block device that mknod(2) asked for and remainroot
/// created as an empty regular file.
public struct FakeDevice: Equatable, Sendable {
    public enum Kind: String, Sendable {
        case character = "char"
        case block = "block"

        /// The file-type bits of `st_mode` (`S_IFCHR`, `S_IFBLK`).
        public var modeBits: UInt32 {
            self == .character ? 0o020000 : 0o060000
        }
    }

    public let kind: Kind
    public let major: UInt32
    public let minor: UInt32

    public init(kind: Kind, major: UInt32, minor: UInt32) {
        self.kind = kind
        self.major = major
        self.minor = minor
    }

    /// Decodes the `dev` argument of mknod(2) as the kernel's
    /// `new_decode_dev` does: 12 bits of major, 20 of minor.
    public init(kind: Kind, encoded dev: UInt32) {
        self.init(kind: kind, major: (dev & 0xfff00) >> 8, minor: (dev & 0xff) | ((dev >> 12) & 0xfff00))
    }

    /// `st_rdev` as the kernel's `new_encode_dev` writes it into struct
    /// stat, which is also what glibc's makedev gives for majors below 4096.
    public var encoded: UInt64 {
        UInt64(minor & 0xff) | UInt64(major) << 8 | UInt64(minor & ~0xff) << 12
    }

    /// The text kept in the device attribute, such as "char 1 3".
    public var attributeText: String {
        "\(kind.rawValue) \(major) \(minor)"
    }

    public init?(attributeText: String) {
        let fields = attributeText.split(separator: " ")
        guard fields.count == 3, let kind = Kind(rawValue: String(fields[0])),
              let major = UInt32(fields[1]), let minor = UInt32(fields[2])
        else { return nil }
        self.init(kind: kind, major: major, minor: minor)
    }
}

/// The `user.rootlesscontainers` extended attribute: the protobuf message
/// `Resource { uint32 uid = 1; uint32 gid = 2; }` published by the
/// rootless-containers project (github.com/rootless-containers/proto),
/// which umoci also reads and writes. 0xFFFFFFFF in a field means "leave
/// the real id", and a missing field decodes as 0, as protobuf 3 does.
public enum RootlessContainersAttribute {
    public static let name = "user.rootlesscontainers"
    static let unchanged: UInt32 = 0xFFFF_FFFF

    /// Encodes both fields explicitly, zero included, so that readers that
    /// treat a missing field as "unset" still see uid 0.
    public static func encode(uid: UInt32?, gid: UInt32?) -> [UInt8] {
        var bytes: [UInt8] = []
        appendField(1, uid ?? unchanged, to: &bytes)
        appendField(2, gid ?? unchanged, to: &bytes)
        return bytes
    }

    /// Decodes the message; nil when it is not valid protobuf. Unknown
    /// fields are skipped, as protobuf requires.
    public static func decode(_ bytes: [UInt8]) -> (uid: UInt32?, gid: UInt32?)? {
        var uid: UInt32 = 0
        var gid: UInt32 = 0
        var index = 0
        while index < bytes.count {
            guard let key = readVarint(bytes, &index) else { return nil }
            let field = key >> 3
            switch key & 7 {
            case 0:
                guard let value = readVarint(bytes, &index) else { return nil }
                if field == 1 { uid = UInt32(truncatingIfNeeded: value) }
                if field == 2 { gid = UInt32(truncatingIfNeeded: value) }
            case 1:
                index += 8
            case 2:
                guard let length = readVarint(bytes, &index) else { return nil }
                index += Int(length)
            case 5:
                index += 4
            default:
                return nil
            }
        }
        guard index == bytes.count else { return nil }
        return (uid == unchanged ? nil : uid, gid == unchanged ? nil : gid)
    }

    private static func appendField(_ field: UInt64, _ value: UInt32, to bytes: inout [UInt8]) {
        appendVarint(field << 3, to: &bytes)
        appendVarint(UInt64(value), to: &bytes)
    }

    private static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(rest & 0x7f) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    private static func readVarint(_ bytes: [UInt8], _ index: inout Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while index < bytes.count && shift < 64 {
            let byte = bytes[index]
            index += 1
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }
}

/// The attribute that records a faked device node beside the owner.
public enum DeviceAttribute {
    public static let name = "user.remainroot.device"
}
