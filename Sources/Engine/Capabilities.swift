/// A set of capabilities as the kernel keeps it since Linux 6.3: one 64-bit
/// mask, bit N for capability N (`kernel_cap_t` in `linux/capability.h`).
public struct CapabilitySet: Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    public static let empty = CapabilitySet(rawValue: 0)

    /// `CAP_CHOWN`
    public static let chown = 0
    /// `CAP_DAC_OVERRIDE`
    public static let dacOverride = 1
    /// `CAP_DAC_READ_SEARCH`
    public static let dacReadSearch = 2
    /// `CAP_FOWNER`
    public static let fileOwner = 3
    /// `CAP_FSETID`
    public static let fileSetID = 4
    /// `CAP_SETGID`
    public static let setGID = 6
    /// `CAP_SETUID`
    public static let setUID = 7
    /// `CAP_LINUX_IMMUTABLE`
    public static let linuxImmutable = 9
    /// `CAP_MKNOD`
    public static let makeNode = 27
    /// `CAP_MAC_OVERRIDE`
    public static let macOverride = 32

    /// Every capability up to and including `lastCapability`, which the
    /// running kernel publishes in /proc/sys/kernel/cap_last_cap.
    public static func full(lastCapability: Int) -> CapabilitySet {
        CapabilitySet(rawValue: lastCapability >= 63 ? UInt64.max : (UInt64(1) << UInt64(lastCapability + 1)) - 1)
    }

    /// The capabilities that follow the filesystem uid: the kernel drops them
    /// from the effective set when fsuid leaves 0 and raises them (within
    /// the permitted set) when it returns (`CAP_FS_SET` in
    /// include/linux/capability.h).
    public static let filesystem = CapabilitySet(bits: [chown, makeNode, dacOverride, dacReadSearch, fileOwner, fileSetID, macOverride, linuxImmutable])

    public init(bits: [Int]) {
        rawValue = bits.reduce(0) { $0 | (UInt64(1) << UInt64($1)) }
    }

    public func contains(_ capability: Int) -> Bool {
        rawValue & (UInt64(1) << UInt64(capability)) != 0
    }

    public func union(_ other: CapabilitySet) -> CapabilitySet {
        CapabilitySet(rawValue: rawValue | other.rawValue)
    }

    public func intersection(_ other: CapabilitySet) -> CapabilitySet {
        CapabilitySet(rawValue: rawValue & other.rawValue)
    }

    public func subtracting(_ other: CapabilitySet) -> CapabilitySet {
        CapabilitySet(rawValue: rawValue & ~other.rawValue)
    }

    public var description: String {
        "0x" + String(rawValue, radix: 16)
    }
}

/// The securebits of a task (`linux/securebits.h`), of which the credential
/// rules read two.
public struct SecureBits: Hashable, Sendable {
    public var rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// `SECURE_NOROOT`: uid 0 gets no capabilities at execve.
    public static let noRoot = SecureBits(rawValue: 1 << 0)
    /// `SECURE_NO_SETUID_FIXUP`: uid changes leave capabilities alone.
    public static let noSetUIDFixup = SecureBits(rawValue: 1 << 2)
    /// `SECURE_KEEP_CAPS`: leaving uid 0 keeps the permitted set.
    public static let keepCapabilities = SecureBits(rawValue: 1 << 4)
    /// `SECURE_KEEP_CAPS_LOCKED`: keep-caps may no longer change.
    public static let keepCapabilitiesLocked = SecureBits(rawValue: 1 << 5)
    /// `SECURE_NO_CAP_AMBIENT_RAISE`: the ambient set may not grow.
    public static let noAmbientRaise = SecureBits(rawValue: 1 << 6)

    public func contains(_ bit: SecureBits) -> Bool {
        rawValue & bit.rawValue != 0
    }
}
