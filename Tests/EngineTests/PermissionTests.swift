import Engine
import XCTest

// Table-driven tests of the discretionary access checks. Each expected
// answer was worked out from fs/namei.c (generic_permission,
// acl_permission_check, may_open) and fs/open.c (build_open_flags,
// access_override_creds) of Linux 6.x, not from Permission.swift.

private let everyCapability = CapabilitySet.full(lastCapability: 40)

/// A task with these ids, its groups, and an effective set of `capabilities`.
private func task(fsuid: UInt32, fsgid: UInt32, groups: [UInt32] = [], capabilities: [Int] = []) -> Credentials {
    var credentials = Credentials.loggedIn(uid: fsuid, gid: fsgid, groups: groups, lastCapability: 40)
    credentials.effective = CapabilitySet(bits: capabilities)
    credentials.permitted = CapabilitySet(bits: capabilities)
    return credentials
}

private func file(_ mode: UInt32, uid: UInt32 = 0, gid: UInt32 = 0) -> Permission.Inode {
    Permission.Inode(uid: uid, gid: gid, mode: 0o100000 | mode)
}

private func directory(_ mode: UInt32, uid: UInt32 = 0, gid: UInt32 = 0) -> Permission.Inode {
    Permission.Inode(uid: uid, gid: gid, mode: 0o040000 | mode)
}

final class PermissionTests: XCTestCase {
    private let nobody = task(fsuid: 65534, fsgid: 65534)

    func testModeBitClasses() {
        let cases: [(String, Permission.Mask, Permission.Inode, Credentials, Errno?)] = [
            ("owner reads 0600", .read, file(0o600, uid: 65534), nobody, nil),
            ("owner writes 0400", .write, file(0o400, uid: 65534), nobody, .permissionDenied),
            // The owner class decides alone, even when others may write.
            ("owner of 0077 reads", .read, file(0o077, uid: 65534), nobody, .permissionDenied),
            ("group member reads 0640", .read, file(0o640, gid: 65534), nobody, nil),
            ("group member writes 0640", .write, file(0o640, gid: 65534), nobody, .permissionDenied),
            ("supplementary group reads 0640", .read, file(0o640, gid: 100), task(fsuid: 65534, fsgid: 65534, groups: [100]), nil),
            ("other reads 0644", .read, file(0o644), nobody, nil),
            ("other writes 0644", [.read, .write], file(0o644), nobody, .permissionDenied),
            // The group class stops others even where other bits allow.
            ("group member of 0604 reads", .read, file(0o604, gid: 65534), nobody, .permissionDenied),
            ("other of 0604 reads", .read, file(0o604, gid: 7), nobody, nil),
            ("other searches 0755 directory", .execute, directory(0o755), nobody, nil),
            ("other searches 0700 directory", .execute, directory(0o700), nobody, .permissionDenied),
        ]
        for (name, mask, inode, credentials, expected) in cases {
            XCTAssertEqual(Permission.check(mask, inode: inode, credentials: credentials), expected, name)
        }
    }

    func testCapabilityOverrides() {
        let override = task(fsuid: 65534, fsgid: 65534, capabilities: [CapabilitySet.dacOverride])
        let readSearch = task(fsuid: 65534, fsgid: 65534, capabilities: [CapabilitySet.dacReadSearch])
        let cases: [(String, Permission.Mask, Permission.Inode, Credentials, Errno?)] = [
            ("DAC_OVERRIDE writes 0000 file", .write, file(0o000), override, nil),
            ("DAC_OVERRIDE executes 0644 file", .execute, file(0o644), override, .permissionDenied),
            ("DAC_OVERRIDE executes 0100 file", .execute, file(0o100), override, nil),
            ("DAC_OVERRIDE writes 0000 directory", [.write, .execute], directory(0o000), override, nil),
            ("DAC_READ_SEARCH reads 0000 file", .read, file(0o000), readSearch, nil),
            ("DAC_READ_SEARCH writes 0000 file", .write, file(0o000), readSearch, .permissionDenied),
            ("DAC_READ_SEARCH reads and writes", [.read, .write], file(0o000), readSearch, .permissionDenied),
            ("DAC_READ_SEARCH searches 0000 directory", .execute, directory(0o000), readSearch, nil),
            ("DAC_READ_SEARCH writes 0000 directory", [.write, .execute], directory(0o000), readSearch, .permissionDenied),
            ("uid 0 without capabilities writes 0644 of another", .write, file(0o644, uid: 1), task(fsuid: 0, fsgid: 0), .permissionDenied),
        ]
        for (name, mask, inode, credentials, expected) in cases {
            XCTAssertEqual(Permission.check(mask, inode: inode, credentials: credentials), expected, name)
        }
    }

    func testOpenMaskFromFlags() {
        let readWrite: Permission.Mask = [.read, .write]
        XCTAssertEqual(Permission.openMask(flags: 0), .read, "O_RDONLY")
        XCTAssertEqual(Permission.openMask(flags: 0o1), .write, "O_WRONLY")
        XCTAssertEqual(Permission.openMask(flags: 0o2), readWrite, "O_RDWR")
        XCTAssertEqual(Permission.openMask(flags: 0o3), readWrite, "access mode 3")
        XCTAssertEqual(Permission.openMask(flags: 0o1000), readWrite, "O_RDONLY|O_TRUNC")
        XCTAssertEqual(Permission.openMask(flags: 0o10000002), [], "O_PATH|O_RDWR")
    }

    func testOpenChecks() {
        let cases: [(String, UInt32, Permission.Inode, Credentials, Errno?)] = [
            ("nobody opens root's 0644 read-write", 0o2, file(0o644), nobody, .permissionDenied),
            ("nobody opens root's 0644 read-only", 0o0, file(0o644), nobody, nil),
            ("nobody opens root's 0600 with O_PATH", 0o10000000, file(0o600), nobody, nil),
            ("nobody truncates root's 0644", 0o1000, file(0o644), nobody, .permissionDenied),
            ("nobody opens root's 0644 with O_NOATIME", 0o1000000, file(0o644), nobody, .notPermitted),
            ("owner opens with O_NOATIME", 0o1000000, file(0o644, uid: 65534), nobody, nil),
            ("FOWNER opens with O_NOATIME", 0o1000000, file(0o644), task(fsuid: 65534, fsgid: 65534, capabilities: [CapabilitySet.fileOwner]), nil),
            // EACCES comes before the O_NOATIME check.
            ("nobody opens root's 0600 with O_NOATIME", 0o1000000, file(0o600), nobody, .permissionDenied),
        ]
        for (name, flags, inode, credentials, expected) in cases {
            XCTAssertEqual(Permission.checkOpen(flags: flags, inode: inode, credentials: credentials), expected, name)
        }
    }

    func testLookupAndCreate() {
        XCTAssertNil(Permission.checkLookup(in: directory(0o711), credentials: nobody))
        XCTAssertEqual(Permission.checkLookup(in: directory(0o744), credentials: nobody), .permissionDenied)
        XCTAssertEqual(Permission.checkCreate(in: directory(0o500, uid: 65534), credentials: nobody), .permissionDenied)
        XCTAssertEqual(Permission.checkCreate(in: directory(0o777 & ~0o001), credentials: nobody), .permissionDenied)
        XCTAssertNil(Permission.checkCreate(in: directory(0o1777), credentials: nobody))
    }

    func testAccessCredentials() {
        var switched = Credentials.loggedIn(uid: 0, gid: 0, groups: [], lastCapability: 40)
        try! switched.setRESUID(real: Credentials.unchanged, effective: 65534, saved: Credentials.unchanged)
        XCTAssertEqual(switched.effective, .empty, "euid 65534 has no effective capabilities")

        let real = Permission.accessCredentials(switched, effectiveIDs: false)
        XCTAssertEqual(real.fsuid, 0, "access(2) checks the real uid")
        XCTAssertEqual(real.effective, everyCapability, "a real uid of 0 checks with the permitted set")
        let effective = Permission.accessCredentials(switched, effectiveIDs: true)
        XCTAssertEqual(effective.fsuid, 65534, "AT_EACCESS checks the effective ids")
        XCTAssertEqual(effective.effective, .empty)

        var plain = Credentials.loggedIn(uid: 1000, gid: 1000, groups: [], lastCapability: 40)
        plain.effective = everyCapability
        XCTAssertEqual(Permission.accessCredentials(plain, effectiveIDs: false).effective, .empty,
                       "a real uid other than 0 checks with no capabilities")
        plain.securebits = SecureBits(rawValue: SecureBits.noSetUIDFixup.rawValue)
        XCTAssertEqual(Permission.accessCredentials(plain, effectiveIDs: false).effective, everyCapability,
                       "SECURE_NO_SETUID_FIXUP keeps the effective set")
    }

    func testBypassDecision() {
        let root = Credentials.loggedIn(uid: 0, gid: 0, groups: [], lastCapability: 40)
        XCTAssertTrue(Permission.bypassesChecks(root))
        XCTAssertTrue(Permission.bypassesSearch(root))

        var droppedEffective = root
        try! droppedEffective.setRESUID(real: Credentials.unchanged, effective: 65534, saved: Credentials.unchanged)
        XCTAssertFalse(Permission.bypassesChecks(droppedEffective))
        XCTAssertFalse(Permission.bypassesSearch(droppedEffective))

        var fsuidOnly = root
        _ = fsuidOnly.setFSUID(65534)
        XCTAssertFalse(Permission.bypassesChecks(fsuidOnly), "setfsuid drops CAP_DAC_OVERRIDE")

        var realUserOnly = root
        try! realUserOnly.setREUID(real: 1000, effective: Credentials.unchanged)
        XCTAssertTrue(realUserOnly.effective.contains(CapabilitySet.dacOverride))
        XCTAssertFalse(Permission.bypassesChecks(realUserOnly), "access(2) checks a real uid of 1000 without capabilities")

        let readSearchOnly = task(fsuid: 0, fsgid: 0, capabilities: [CapabilitySet.dacReadSearch])
        XCTAssertTrue(Permission.bypassesSearch(readSearchOnly))
        XCTAssertFalse(Permission.bypassesChecks(readSearchOnly))
    }
}
