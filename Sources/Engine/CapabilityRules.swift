/// The capability calls: capset(2) and the prctl(2) options that read or
/// change capability state, after `cap_capset` and `cap_task_prctl` in the
/// kernel's security/commoncap.c (Linux 6.x).
extension Credentials {
    /// `CAP_SETPCAP`
    public static let setPCapability = 8

    /// The securebits a task may set: `SECURE_ALL_BITS` of
    /// include/uapi/linux/securebits.h as of Linux 6.14 (noroot,
    /// no-setuid-fixup, keep-caps, no-cap-ambient-raise, exec-restrict-file,
    /// exec-deny-interactive). Each flag's lock is the bit above it.
    /// NOTE: kernels before 6.14 know only the first four flags.
    public static let allSecureBits: UInt32 = 0x555
    public static let allSecureLocks: UInt32 = allSecureBits << 1
    /// `SECURE_ALL_UNPRIVILEGED` and its locks: bits 8 to 11.
    public static let unprivilegedSecureBitsAndLocks: UInt32 = 0xF00

    /// `capset(2)` on the calling thread with already-decoded sets:
    /// inheritable may only gain what the permitted set has (unless
    /// CAP_SETPCAP) and never leave the bounding set, permitted may only
    /// shrink, effective must lie within the new permitted set. The ambient
    /// set keeps only what stays both permitted and inheritable.
    public mutating func setCapabilities(effective newEffective: CapabilitySet, permitted newPermitted: CapabilitySet, inheritable newInheritable: CapabilitySet) throws(Errno) {
        func isSubset(_ set: CapabilitySet, of other: CapabilitySet) -> Bool {
            set.subtracting(other) == .empty
        }

        if !isCapable(Credentials.setPCapability) && !isSubset(newInheritable, of: inheritable.union(permitted)) {
            throw .notPermitted
        }
        guard isSubset(newInheritable, of: inheritable.union(bounding)) else { throw .notPermitted }
        guard isSubset(newPermitted, of: permitted) else { throw .notPermitted }
        guard isSubset(newEffective, of: newPermitted) else { throw .notPermitted }

        effective = newEffective
        inheritable = newInheritable
        permitted = newPermitted
        ambient = ambient.intersection(newPermitted.intersection(newInheritable))
    }

    /// The capability options of `prctl(2)`, with the option's other
    /// arguments as the kernel receives them (`unsigned long`). Returns the
    /// call's value. `lastCapability` bounds `cap_valid`.
    public mutating func prctl(_ option: PrctlOption, _ arg2: UInt64, _ arg3: UInt64, _ arg4: UInt64, _ arg5: UInt64, lastCapability: Int) throws(Errno) -> UInt64 {
        func isValidCapability(_ value: UInt64) -> Bool {
            value <= UInt64(lastCapability)
        }

        switch option {
        case .readBoundingSet:
            guard isValidCapability(arg2) else { throw .invalidArgument }
            return bounding.contains(Int(arg2)) ? 1 : 0

        case .dropFromBoundingSet:
            guard isCapable(Credentials.setPCapability) else { throw .notPermitted }
            guard isValidCapability(arg2) else { throw .invalidArgument }
            bounding = bounding.subtracting(CapabilitySet(bits: [Int(arg2)]))
            return 0

        case .getSecureBits:
            return UInt64(securebits.rawValue)

        case .setSecureBits:
            let old = UInt64(securebits.rawValue)
            let locks = UInt64(Credentials.allSecureLocks)
            let changesLockedBit = ((old & locks) >> 1) & (old ^ arg2) != 0
            let removesLock = old & locks & ~arg2 != 0
            let setsUnknownBit = arg2 & ~UInt64(Credentials.allSecureBits | Credentials.allSecureLocks) != 0
            if changesLockedBit || removesLock || setsUnknownBit {
                throw .notPermitted
            }
            // Without CAP_SETPCAP only the bits user space enforces on
            // itself (SECURE_ALL_UNPRIVILEGED: exec-restrict-file and
            // exec-deny-interactive, with their locks) may change, and
            // leaving everything as it was is still refused.
            if !isCapable(Credentials.setPCapability) {
                let changed = old ^ arg2
                guard changed != 0, changed & ~UInt64(Credentials.unprivilegedSecureBitsAndLocks) == 0 else { throw .notPermitted }
            }
            securebits = SecureBits(rawValue: UInt32(arg2))
            return 0

        case .getKeepCapabilities:
            return securebits.contains(.keepCapabilities) ? 1 : 0

        case .setKeepCapabilities:
            guard arg2 <= 1 else { throw .invalidArgument }
            guard !securebits.contains(.keepCapabilitiesLocked) else { throw .notPermitted }
            if arg2 == 1 {
                securebits.rawValue |= SecureBits.keepCapabilities.rawValue
            } else {
                securebits.rawValue &= ~SecureBits.keepCapabilities.rawValue
            }
            return 0

        case .ambientCapabilities:
            return try ambientPrctl(arg2, arg3, arg4, arg5, isValidCapability: isValidCapability)
        }
    }

    /// `PR_CAP_AMBIENT` and its sub-operations from <linux/prctl.h>.
    private mutating func ambientPrctl(_ operation: UInt64, _ capability: UInt64, _ arg4: UInt64, _ arg5: UInt64, isValidCapability: (UInt64) -> Bool) throws(Errno) -> UInt64 {
        let isSet: UInt64 = 1, raise: UInt64 = 2, lower: UInt64 = 3, clearAll: UInt64 = 4

        if operation == clearAll {
            guard capability | arg4 | arg5 == 0 else { throw .invalidArgument }
            ambient = .empty
            return 0
        }
        guard isValidCapability(capability), arg4 | arg5 == 0 else { throw .invalidArgument }

        let bit = Int(capability)
        switch operation {
        case isSet:
            return ambient.contains(bit) ? 1 : 0
        case raise:
            guard permitted.contains(bit), inheritable.contains(bit), !securebits.contains(.noAmbientRaise) else { throw .notPermitted }
            ambient = ambient.union(CapabilitySet(bits: [bit]))
            return 0
        case lower:
            ambient = ambient.subtracting(CapabilitySet(bits: [bit]))
            return 0
        default:
            throw .invalidArgument
        }
    }
}
