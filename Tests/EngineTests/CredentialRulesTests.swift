import Engine
import Glibc
import XCTest

// Table-driven tests of the credential rules. Every expected state below
// was worked out from the kernel's own code (Linux 6.x sources), not from
// Credentials.swift:
// - kernel/sys.c: __sys_setuid, __sys_setreuid, __sys_setresuid,
//   __sys_setfsuid and their gid twins;
// - kernel/groups.c: setgroups, groups_from_user, groups_sort, in_group_p;
// - security/commoncap.c: cap_emulate_setxuid, the LSM_SETID_FS case of
//   cap_task_fix_setuid, and cap_bprm_creds_from_file with
//   handle_privileged_root for a program without set-id bits or file
//   capabilities.

// MARK: - Capability numbers and sets

/// Capability numbers from <linux/capability.h>.
private enum Capability {
    static let chown = 0
    static let dacOverride = 1
    static let dacReadSearch = 2
    static let fileOwner = 3
    static let fileSetID = 4
    static let setGID = 6
    static let setUID = 7
    static let linuxImmutable = 9
    static let netBindService = 10
    static let sysModule = 16
    static let makeNode = 27
    static let macOverride = 32
}

/// The value of /proc/sys/kernel/cap_last_cap on Linux 6.18 (CAP_CHECKPOINT_RESTORE).
private let lastCapability = 40

private func capabilities(_ numbers: [Int]) -> CapabilitySet {
    CapabilitySet(rawValue: numbers.reduce(UInt64(0)) { $0 | (UInt64(1) << UInt64($1)) })
}

private let allCapabilities = capabilities(Array(0...lastCapability))

/// `CAP_FS_SET` of include/linux/capability.h: `CAP_FS_MASK` and
/// CAP_LINUX_IMMUTABLE. These follow fsuid in and out of 0.
private let filesystemCapabilities = capabilities([
    Capability.chown, Capability.makeNode, Capability.dacOverride, Capability.dacReadSearch,
    Capability.fileOwner, Capability.fileSetID, Capability.macOverride, Capability.linuxImmutable,
])

private let allButFilesystem = allCapabilities.subtracting(filesystemCapabilities)

/// Securebits from <linux/securebits.h>.
private let secureNoRoot: UInt32 = 1 << 0
private let secureNoSetUIDFixup: UInt32 = 1 << 2
private let secureKeepCapabilities: UInt32 = 1 << 4

/// `(uid_t)-1`
private let minusOne = UInt32.max

// MARK: - States

/// Builds a task's credentials with every field given. The id tuples are
/// (real, effective, saved, filesystem).
private func task(
    uids: (UInt32, UInt32, UInt32, UInt32),
    gids: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0),
    groups: [UInt32] = [],
    permitted: CapabilitySet = .empty,
    effective: CapabilitySet = .empty,
    inheritable: CapabilitySet = .empty,
    bounding: CapabilitySet = allCapabilities,
    ambient: CapabilitySet = .empty,
    securebits: UInt32 = 0
) -> Credentials {
    Credentials(
        uid: uids.0, euid: uids.1, suid: uids.2, fsuid: uids.3,
        gid: gids.0, egid: gids.1, sgid: gids.2, fsgid: gids.3,
        groups: groups,
        permitted: permitted, effective: effective, inheritable: inheritable,
        bounding: bounding, ambient: ambient, securebits: SecureBits(rawValue: securebits)
    )
}

/// Root as a login shell has it: every id 0, every capability.
private let root = task(uids: (0, 0, 0, 0), permitted: allCapabilities, effective: allCapabilities)

/// An unprivileged task whose three uids and three gids all differ, so that
/// each rule's choice among them shows.
private let user = task(uids: (1000, 2000, 3000, 2000), gids: (100, 200, 300, 200))

// MARK: - Table machinery

private enum Call {
    case setuid(UInt32)
    case setreuid(UInt32, UInt32)
    case setresuid(UInt32, UInt32, UInt32)
    case setfsuid(UInt32)
    case setgid(UInt32)
    case setregid(UInt32, UInt32)
    case setresgid(UInt32, UInt32, UInt32)
    case setfsgid(UInt32)
    case setgroups([UInt32])
    case execve
    /// execve under no_new_privs of a program whose set-user-ID and
    /// set-group-ID bits the kernel ignores there.
    case execveWithoutNewPrivileges
}

private enum Outcome {
    /// The call returns 0 and leaves this state.
    case succeeds(Credentials)
    /// The call returns this value (setfsuid, setfsgid) and leaves this state.
    case returns(UInt32, Credentials)
    /// The call fails with this errno and changes nothing.
    case fails(Int32)
}

private struct Case {
    let name: String
    let before: Credentials
    let call: Call
    let outcome: Outcome
    let line: UInt

    init(_ name: String, _ before: Credentials, _ call: Call, _ outcome: Outcome, line: UInt = #line) {
        self.name = name
        self.before = before
        self.call = call
        self.outcome = outcome
        self.line = line
    }
}

/// Runs `call` on `credentials`: nil for a call that returns 0, the value
/// for setfsuid and setfsgid.
private func apply(_ call: Call, on credentials: inout Credentials) -> Result<UInt32?, Errno> {
    do throws(Errno) {
        switch call {
        case .setuid(let id): try credentials.setUID(id)
        case .setreuid(let real, let effective): try credentials.setREUID(real: real, effective: effective)
        case .setresuid(let real, let effective, let saved): try credentials.setRESUID(real: real, effective: effective, saved: saved)
        case .setfsuid(let id): return .success(credentials.setFSUID(id))
        case .setgid(let id): try credentials.setGID(id)
        case .setregid(let real, let effective): try credentials.setREGID(real: real, effective: effective)
        case .setresgid(let real, let effective, let saved): try credentials.setRESGID(real: real, effective: effective, saved: saved)
        case .setfsgid(let id): return .success(credentials.setFSGID(id))
        case .setgroups(let groups): try credentials.setGroups(groups)
        case .execve: credentials.execute()
        case .execveWithoutNewPrivileges: credentials.execute(noNewPrivileges: true)
        }
        return .success(nil)
    } catch {
        return .failure(error)
    }
}

private func check(_ cases: [Case], file: StaticString = #filePath) {
    for testCase in cases {
        var credentials = testCase.before
        let result = apply(testCase.call, on: &credentials)

        switch testCase.outcome {
        case .succeeds(let expected):
            XCTAssertEqual(result, .success(nil), "\(testCase.name): result", file: file, line: testCase.line)
            XCTAssertEqual(credentials, expected, "\(testCase.name): state", file: file, line: testCase.line)
        case .returns(let value, let expected):
            XCTAssertEqual(result, .success(value), "\(testCase.name): result", file: file, line: testCase.line)
            XCTAssertEqual(credentials, expected, "\(testCase.name): state", file: file, line: testCase.line)
        case .fails(let errno):
            XCTAssertEqual(result, .failure(Errno(errno)), "\(testCase.name): result", file: file, line: testCase.line)
            XCTAssertEqual(credentials, testCase.before, "\(testCase.name): a failed call changed the state", file: file, line: testCase.line)
        }
    }
}

// MARK: - Tests

final class CredentialRulesTests: XCTestCase {
    func testSetUID() {
        check([
            Case("root to a user drops every uid and every capability", root, .setuid(1000),
                 .succeeds(task(uids: (1000, 1000, 1000, 1000)))),
            Case("root to 0 changes nothing", root, .setuid(0),
                 .succeeds(root)),
            Case("(uid_t)-1 is invalid for a privileged caller", root, .setuid(minusOne),
                 .fails(EINVAL)),
            Case("(uid_t)-1 is EINVAL before the EPERM check", user, .setuid(minusOne),
                 .fails(EINVAL)),
            Case("unprivileged to the saved uid sets effective and fs only", user, .setuid(3000),
                 .succeeds(task(uids: (1000, 3000, 3000, 3000), gids: (100, 200, 300, 200)))),
            Case("unprivileged to the real uid sets effective and fs only", user, .setuid(1000),
                 .succeeds(task(uids: (1000, 1000, 3000, 1000), gids: (100, 200, 300, 200)))),
            Case("unprivileged to the effective uid is not allowed", user, .setuid(2000),
                 .fails(EPERM)),
            Case("unprivileged to a new uid", user, .setuid(4000),
                 .fails(EPERM)),
            Case("SECURE_KEEP_CAPS keeps permitted but clears effective and ambient",
                 task(uids: (0, 0, 0, 0), permitted: allCapabilities, effective: allCapabilities,
                      inheritable: capabilities([Capability.netBindService]),
                      ambient: capabilities([Capability.netBindService]), securebits: secureKeepCapabilities),
                 .setuid(1000),
                 .succeeds(task(uids: (1000, 1000, 1000, 1000), permitted: allCapabilities,
                                inheritable: capabilities([Capability.netBindService]),
                                securebits: secureKeepCapabilities))),
            Case("without SECURE_KEEP_CAPS the ambient set goes too",
                 task(uids: (0, 0, 0, 0), permitted: allCapabilities, effective: allCapabilities,
                      inheritable: capabilities([Capability.netBindService]),
                      ambient: capabilities([Capability.netBindService])),
                 .setuid(1000),
                 .succeeds(task(uids: (1000, 1000, 1000, 1000),
                                inheritable: capabilities([Capability.netBindService])))),
            Case("SECURE_NO_SETUID_FIXUP leaves every set alone",
                 task(uids: (0, 0, 0, 0), permitted: allCapabilities, effective: allCapabilities, securebits: secureNoSetUIDFixup),
                 .setuid(1000),
                 .succeeds(task(uids: (1000, 1000, 1000, 1000), permitted: allCapabilities, effective: allCapabilities,
                                securebits: secureNoSetUIDFixup))),
            Case("set-user-ID root program drops to its real uid",
                 task(uids: (1000, 0, 0, 0), permitted: allCapabilities, effective: allCapabilities),
                 .setuid(1000),
                 .succeeds(task(uids: (1000, 1000, 1000, 1000)))),
            Case("after seteuid, setuid(0) is unprivileged but 0 is the real uid",
                 task(uids: (0, 1000, 0, 1000), permitted: allCapabilities),
                 .setuid(0),
                 .succeeds(task(uids: (0, 0, 0, 0), permitted: allCapabilities, effective: allCapabilities))),
            Case("after seteuid, setuid to the effective uid is refused",
                 task(uids: (0, 1000, 0, 1000), permitted: allCapabilities),
                 .setuid(1000),
                 .fails(EPERM)),
            Case("CAP_SETUID only in the permitted set does not count",
                 task(uids: (0, 0, 0, 0), permitted: allCapabilities,
                      effective: allCapabilities.subtracting(capabilities([Capability.setUID]))),
                 .setuid(1000),
                 .fails(EPERM)),
        ])
    }

    func testSetREUID() {
        check([
            Case("root seteuid-style keeps the real uid and permitted set", root, .setreuid(minusOne, 1000),
                 .succeeds(task(uids: (0, 1000, 1000, 1000), permitted: allCapabilities))),
            Case("back to 0 from the real uid restores effective, saved stays",
                 task(uids: (0, 1000, 1000, 1000), permitted: allCapabilities),
                 .setreuid(minusOne, 0),
                 .succeeds(task(uids: (0, 0, 1000, 0), permitted: allCapabilities, effective: allCapabilities))),
            Case("root setting both drops all capabilities", root, .setreuid(1000, 1000),
                 .succeeds(task(uids: (1000, 1000, 1000, 1000)))),
            Case("a new real uid copies the effective uid to saved", root, .setreuid(1000, minusOne),
                 .succeeds(task(uids: (1000, 0, 0, 0), permitted: allCapabilities, effective: allCapabilities))),
            Case("(-1, -1) still sets fsuid to euid and leaves capabilities",
                 task(uids: (0, 0, 0, 1000), permitted: allCapabilities, effective: allButFilesystem),
                 .setreuid(minusOne, minusOne),
                 .succeeds(task(uids: (0, 0, 0, 0), permitted: allCapabilities, effective: allButFilesystem))),
            Case("unprivileged real uid to the saved uid", user, .setreuid(3000, minusOne),
                 .fails(EPERM)),
            Case("unprivileged real uid to the effective uid", user, .setreuid(2000, minusOne),
                 .succeeds(task(uids: (2000, 2000, 2000, 2000), gids: (100, 200, 300, 200)))),
            Case("unprivileged effective uid to the saved uid", user, .setreuid(minusOne, 3000),
                 .succeeds(task(uids: (1000, 3000, 3000, 3000), gids: (100, 200, 300, 200)))),
            Case("effective uid back to the old real uid keeps saved", user, .setreuid(minusOne, 1000),
                 .succeeds(task(uids: (1000, 1000, 3000, 1000), gids: (100, 200, 300, 200)))),
            Case("unprivileged effective uid to a new uid", user, .setreuid(minusOne, 4000),
                 .fails(EPERM)),
            Case("swapping real and effective sets saved to the new effective", user, .setreuid(2000, 1000),
                 .succeeds(task(uids: (2000, 1000, 1000, 1000), gids: (100, 200, 300, 200)))),
            Case("a refused real uid fails even when the effective uid is allowed", user, .setreuid(4000, 1000),
                 .fails(EPERM)),
            Case("SECURE_NO_SETUID_FIXUP keeps effective when euid leaves 0",
                 task(uids: (0, 0, 0, 0), permitted: allCapabilities, effective: allCapabilities, securebits: secureNoSetUIDFixup),
                 .setreuid(minusOne, 1000),
                 .succeeds(task(uids: (0, 1000, 1000, 1000), permitted: allCapabilities, effective: allCapabilities,
                                securebits: secureNoSetUIDFixup))),
        ])
    }

    func testSetRESUID() {
        let dropped = task(uids: (0, 1000, 0, 1000), permitted: allCapabilities)
        check([
            Case("root to a user in all three drops all capabilities", root, .setresuid(1000, 1000, 1000),
                 .succeeds(task(uids: (1000, 1000, 1000, 1000)))),
            Case("seteuid keeps real and saved 0 and the permitted set", root, .setresuid(minusOne, 1000, minusOne),
                 .succeeds(dropped)),
            Case("seteuid back to 0 is allowed from the real uid and restores effective", dropped, .setresuid(minusOne, 0, minusOne),
                 .succeeds(root)),
            Case("the capability check reads the effective set, not permitted", dropped, .setresuid(minusOne, 2000, minusOne),
                 .fails(EPERM)),
            Case("a saved uid of 0 keeps the permitted set", root, .setresuid(1000, 1000, 0),
                 .succeeds(task(uids: (1000, 1000, 0, 1000), permitted: allCapabilities))),
            Case("(-1, -1, -1) is a no-op that leaves a differing fsuid",
                 task(uids: (0, 0, 0, 1000), permitted: allCapabilities, effective: allButFilesystem),
                 .setresuid(minusOne, minusOne, minusOne),
                 .succeeds(task(uids: (0, 0, 0, 1000), permitted: allCapabilities, effective: allButFilesystem))),
            Case("the current euid with a differing fsuid is not a no-op",
                 task(uids: (0, 0, 0, 1000), permitted: allCapabilities, effective: allButFilesystem),
                 .setresuid(minusOne, 0, minusOne),
                 .succeeds(task(uids: (0, 0, 0, 0), permitted: allCapabilities, effective: allButFilesystem))),
            Case("unprivileged permutation of the three uids", user, .setresuid(3000, 1000, 2000),
                 .succeeds(task(uids: (3000, 1000, 2000, 1000), gids: (100, 200, 300, 200)))),
            Case("unprivileged new saved uid", user, .setresuid(minusOne, minusOne, 4000),
                 .fails(EPERM)),
            Case("unprivileged no-op", user, .setresuid(1000, minusOne, 3000),
                 .succeeds(user)),
            Case("SECURE_KEEP_CAPS keeps permitted, clears effective and ambient",
                 task(uids: (0, 0, 0, 0), permitted: allCapabilities, effective: allCapabilities,
                      inheritable: capabilities([Capability.netBindService]),
                      ambient: capabilities([Capability.netBindService]), securebits: secureKeepCapabilities),
                 .setresuid(1000, 1000, 1000),
                 .succeeds(task(uids: (1000, 1000, 1000, 1000), permitted: allCapabilities,
                                inheritable: capabilities([Capability.netBindService]),
                                securebits: secureKeepCapabilities))),
            Case("kept capabilities return to effective when euid goes back to 0",
                 task(uids: (1000, 1000, 0, 1000), permitted: allCapabilities),
                 .setresuid(minusOne, 0, minusOne),
                 .succeeds(task(uids: (1000, 0, 0, 0), permitted: allCapabilities, effective: allCapabilities))),
            Case("SECURE_NO_SETUID_FIXUP applies to setresuid too",
                 task(uids: (0, 0, 0, 0), permitted: allCapabilities, effective: allCapabilities, securebits: secureNoSetUIDFixup),
                 .setresuid(1000, 1000, 1000),
                 .succeeds(task(uids: (1000, 1000, 1000, 1000), permitted: allCapabilities, effective: allCapabilities,
                                securebits: secureNoSetUIDFixup))),
        ])
    }

    func testSetFSUID() {
        let rootWithFSUID1000 = task(uids: (0, 0, 0, 1000), permitted: allCapabilities, effective: allButFilesystem)
        let noChown = allCapabilities.subtracting(capabilities([Capability.chown]))
        check([
            Case("root leaving fsuid 0 drops the filesystem capabilities", root, .setfsuid(1000),
                 .returns(0, rootWithFSUID1000)),
            Case("fsuid back to 0 raises them again", rootWithFSUID1000, .setfsuid(0),
                 .returns(1000, root)),
            Case("raised filesystem capabilities are limited to the permitted set",
                 task(uids: (0, 0, 0, 1000), permitted: noChown, effective: noChown.subtracting(filesystemCapabilities)),
                 .setfsuid(0),
                 .returns(1000, task(uids: (0, 0, 0, 0), permitted: noChown, effective: noChown))),
            Case("(uid_t)-1 returns the current fsuid and changes nothing", rootWithFSUID1000, .setfsuid(minusOne),
                 .returns(1000, rootWithFSUID1000)),
            Case("the current fsuid changes nothing", root, .setfsuid(0),
                 .returns(0, root)),
            Case("unprivileged to the saved uid", user, .setfsuid(3000),
                 .returns(2000, task(uids: (1000, 2000, 3000, 3000), gids: (100, 200, 300, 200)))),
            Case("unprivileged to the real uid", user, .setfsuid(1000),
                 .returns(2000, task(uids: (1000, 2000, 3000, 1000), gids: (100, 200, 300, 200)))),
            Case("unprivileged to a new uid is silently ignored", user, .setfsuid(4000),
                 .returns(2000, user)),
            Case("SECURE_NO_SETUID_FIXUP keeps the filesystem capabilities",
                 task(uids: (0, 0, 0, 0), permitted: allCapabilities, effective: allCapabilities, securebits: secureNoSetUIDFixup),
                 .setfsuid(1000),
                 .returns(0, task(uids: (0, 0, 0, 1000), permitted: allCapabilities, effective: allCapabilities,
                                  securebits: secureNoSetUIDFixup))),
            Case("CAP_SETUID lets a non-root task take fsuid 0 and its capabilities",
                 task(uids: (1000, 1000, 1000, 1000), permitted: allCapabilities, effective: capabilities([Capability.setUID])),
                 .setfsuid(0),
                 .returns(1000, task(uids: (1000, 1000, 1000, 0), permitted: allCapabilities,
                                     effective: capabilities([Capability.setUID]).union(filesystemCapabilities)))),
            Case("kept permitted capabilities alone do not allow fsuid 0",
                 task(uids: (1000, 1000, 1000, 1000), permitted: allCapabilities),
                 .setfsuid(0),
                 .returns(1000, task(uids: (1000, 1000, 1000, 1000), permitted: allCapabilities))),
        ])
    }

    func testSetGID() {
        let noSetGID = allCapabilities.subtracting(capabilities([Capability.setGID]))
        check([
            Case("privileged sets all four gids", root, .setgid(100),
                 .succeeds(task(uids: (0, 0, 0, 0), gids: (100, 100, 100, 100), permitted: allCapabilities, effective: allCapabilities))),
            Case("(gid_t)-1 is invalid", root, .setgid(minusOne),
                 .fails(EINVAL)),
            Case("(gid_t)-1 is EINVAL before the EPERM check", user, .setgid(minusOne),
                 .fails(EINVAL)),
            Case("unprivileged to the saved gid", user, .setgid(300),
                 .succeeds(task(uids: (1000, 2000, 3000, 2000), gids: (100, 300, 300, 300)))),
            Case("unprivileged to the real gid", user, .setgid(100),
                 .succeeds(task(uids: (1000, 2000, 3000, 2000), gids: (100, 100, 300, 100)))),
            Case("unprivileged to the effective gid is not allowed", user, .setgid(200),
                 .fails(EPERM)),
            Case("CAP_SETUID does not stand in for CAP_SETGID",
                 task(uids: (0, 0, 0, 0), permitted: allCapabilities, effective: noSetGID),
                 .setgid(100),
                 .fails(EPERM)),
            Case("a supplementary group does not allow setgid",
                 task(uids: (1000, 1000, 1000, 1000), gids: (100, 100, 100, 100), groups: [500]),
                 .setgid(500),
                 .fails(EPERM)),
        ])
    }

    func testSetREGID() {
        check([
            Case("privileged effective gid sets saved too", root, .setregid(minusOne, 5),
                 .succeeds(task(uids: (0, 0, 0, 0), gids: (0, 5, 5, 5), permitted: allCapabilities, effective: allCapabilities))),
            Case("gid changes leave the capabilities alone", root, .setregid(5, 5),
                 .succeeds(task(uids: (0, 0, 0, 0), gids: (5, 5, 5, 5), permitted: allCapabilities, effective: allCapabilities))),
            Case("unprivileged real gid to the saved gid", user, .setregid(300, minusOne),
                 .fails(EPERM)),
            Case("unprivileged real gid to the effective gid", user, .setregid(200, minusOne),
                 .succeeds(task(uids: (1000, 2000, 3000, 2000), gids: (200, 200, 200, 200)))),
            Case("unprivileged effective gid to the saved gid", user, .setregid(minusOne, 300),
                 .succeeds(task(uids: (1000, 2000, 3000, 2000), gids: (100, 300, 300, 300)))),
            Case("effective gid back to the old real gid keeps saved", user, .setregid(minusOne, 100),
                 .succeeds(task(uids: (1000, 2000, 3000, 2000), gids: (100, 100, 300, 100)))),
            Case("swapping real and effective", user, .setregid(200, 100),
                 .succeeds(task(uids: (1000, 2000, 3000, 2000), gids: (200, 100, 100, 100)))),
            Case("unprivileged effective gid to a new gid", user, .setregid(minusOne, 400),
                 .fails(EPERM)),
            Case("(-1, -1) sets fsgid to egid",
                 task(uids: (1000, 1000, 1000, 1000), gids: (100, 200, 300, 300)),
                 .setregid(minusOne, minusOne),
                 .succeeds(task(uids: (1000, 1000, 1000, 1000), gids: (100, 200, 300, 200)))),
        ])
    }

    func testSetRESGID() {
        check([
            Case("privileged sets each gid", root, .setresgid(1, 2, 3),
                 .succeeds(task(uids: (0, 0, 0, 0), gids: (1, 2, 3, 2), permitted: allCapabilities, effective: allCapabilities))),
            Case("unprivileged permutation", user, .setresgid(300, 100, 200),
                 .succeeds(task(uids: (1000, 2000, 3000, 2000), gids: (300, 100, 200, 100)))),
            Case("unprivileged new saved gid", user, .setresgid(minusOne, minusOne, 400),
                 .fails(EPERM)),
            Case("(-1, -1, -1) leaves a differing fsgid",
                 task(uids: (1000, 1000, 1000, 1000), gids: (100, 200, 300, 100)),
                 .setresgid(minusOne, minusOne, minusOne),
                 .succeeds(task(uids: (1000, 1000, 1000, 1000), gids: (100, 200, 300, 100)))),
            Case("the current egid with a differing fsgid resets fsgid",
                 task(uids: (1000, 1000, 1000, 1000), gids: (100, 200, 300, 100)),
                 .setresgid(minusOne, 200, minusOne),
                 .succeeds(task(uids: (1000, 1000, 1000, 1000), gids: (100, 200, 300, 200)))),
        ])
    }

    func testSetFSGID() {
        check([
            Case("privileged to any gid", root, .setfsgid(7),
                 .returns(0, task(uids: (0, 0, 0, 0), gids: (0, 0, 0, 7), permitted: allCapabilities, effective: allCapabilities))),
            Case("unprivileged to the saved gid", user, .setfsgid(300),
                 .returns(200, task(uids: (1000, 2000, 3000, 2000), gids: (100, 200, 300, 300)))),
            Case("unprivileged to a new gid is silently ignored", user, .setfsgid(400),
                 .returns(200, user)),
            Case("(gid_t)-1 returns the current fsgid", user, .setfsgid(minusOne),
                 .returns(200, user)),
            Case("fsgid changes leave the capabilities alone", root, .setfsgid(1000),
                 .returns(0, task(uids: (0, 0, 0, 0), gids: (0, 0, 0, 1000), permitted: allCapabilities, effective: allCapabilities))),
        ])
    }

    func testCheckSetGroupsOrder() {
        let privileged = root
        let unprivileged = task(uids: (0, 0, 0, 0), permitted: allCapabilities,
                                effective: allCapabilities.subtracting(capabilities([Capability.setGID])))
        // (name, credentials, size, expected errno or nil, line)
        let cases: [(String, Credentials, Int32, Int32?, UInt)] = [
            ("empty list", privileged, 0, nil, #line),
            ("NGROUPS_MAX entries", privileged, 65536, nil, #line),
            ("one more than NGROUPS_MAX", privileged, 65537, EINVAL, #line),
            ("size -1", privileged, -1, EINVAL, #line),
            ("size INT_MIN", privileged, Int32.min, EINVAL, #line),
            ("no CAP_SETGID, valid size", unprivileged, 1, EPERM, #line),
            ("no CAP_SETGID is EPERM before a size over NGROUPS_MAX", unprivileged, 65537, EPERM, #line),
            ("no CAP_SETGID is EPERM before a negative size", unprivileged, -1, EPERM, #line),
            ("no CAP_SETGID, empty list", unprivileged, 0, EPERM, #line),
        ]
        for (name, credentials, size, expected, line) in cases {
            var result: Errno?
            do throws(Errno) {
                try credentials.checkSetGroups(count: size)
            } catch {
                result = error
            }
            XCTAssertEqual(result, expected.map { Errno($0) }, name, line: line)
        }
    }

    func testSetGroups() {
        let noSetGID = task(uids: (0, 0, 0, 0), permitted: allCapabilities,
                            effective: allCapabilities.subtracting(capabilities([Capability.setGID])))
        func rootWith(groups: [UInt32]) -> Credentials {
            task(uids: (0, 0, 0, 0), groups: groups, permitted: allCapabilities, effective: allCapabilities)
        }
        let maximum = (0..<65536).map { UInt32($0) }
        check([
            Case("groups are stored sorted, duplicates kept", root, .setgroups([300, 5, 100, 5]),
                 .succeeds(rootWith(groups: [5, 5, 100, 300]))),
            Case("an empty list clears the groups", rootWith(groups: [1, 2]), .setgroups([]),
                 .succeeds(root)),
            Case("(gid_t)-1 in the list is invalid", root, .setgroups([1, minusOne]),
                 .fails(EINVAL)),
            Case("no CAP_SETGID", noSetGID, .setgroups([1]),
                 .fails(EPERM)),
            Case("no CAP_SETGID is EPERM before an invalid gid", noSetGID, .setgroups([minusOne]),
                 .fails(EPERM)),
            Case("NGROUPS_MAX groups", root, .setgroups(maximum.reversed()),
                 .succeeds(rootWith(groups: maximum))),
            Case("more than NGROUPS_MAX groups", root, .setgroups(maximum + [70000]),
                 .fails(EINVAL)),
            Case("CAP_SETGID without uid 0 is enough and changes only the groups",
                 task(uids: (1000, 1000, 1000, 1000), gids: (100, 100, 100, 100), effective: capabilities([Capability.setGID])),
                 .setgroups([9]),
                 .succeeds(task(uids: (1000, 1000, 1000, 1000), gids: (100, 100, 100, 100), groups: [9],
                                effective: capabilities([Capability.setGID])))),
        ])
    }

    func testExecute() {
        let bindService = capabilities([Capability.netBindService])
        let noModule = allCapabilities.subtracting(capabilities([Capability.sysModule]))
        check([
            Case("root keeps every capability", root, .execve,
                 .succeeds(root)),
            Case("root's new permitted set is the bounding set",
                 task(uids: (0, 0, 0, 0), permitted: allCapabilities, effective: allCapabilities, bounding: noModule),
                 .execve,
                 .succeeds(task(uids: (0, 0, 0, 0), permitted: noModule, effective: noModule, bounding: noModule))),
            Case("root's inheritable set is added even outside the bounding set",
                 task(uids: (0, 0, 0, 0), permitted: noModule, effective: noModule,
                      inheritable: capabilities([Capability.sysModule]), bounding: noModule),
                 .execve,
                 .succeeds(task(uids: (0, 0, 0, 0), permitted: allCapabilities, effective: allCapabilities,
                                inheritable: capabilities([Capability.sysModule]), bounding: noModule))),
            Case("root regains capabilities it dropped with capset",
                 task(uids: (0, 0, 0, 0)),
                 .execve,
                 .succeeds(root)),
            Case("real uid 0 alone gives permitted but not effective",
                 task(uids: (0, 1000, 0, 1000), permitted: allCapabilities),
                 .execve,
                 .succeeds(task(uids: (0, 1000, 1000, 1000), permitted: allCapabilities))),
            Case("effective uid 0 alone gives both",
                 task(uids: (1000, 0, 1000, 0), permitted: allCapabilities),
                 .execve,
                 .succeeds(task(uids: (1000, 0, 0, 0), permitted: allCapabilities, effective: allCapabilities))),
            Case("a user keeps only the ambient set",
                 task(uids: (1000, 1000, 1000, 1000), gids: (100, 100, 100, 100),
                      permitted: bindService.union(capabilities([Capability.chown])), effective: .empty,
                      inheritable: bindService, ambient: bindService),
                 .execve,
                 .succeeds(task(uids: (1000, 1000, 1000, 1000), gids: (100, 100, 100, 100),
                                permitted: bindService, effective: bindService, inheritable: bindService, ambient: bindService))),
            Case("a user's kept permitted set is lost",
                 task(uids: (1000, 1000, 1000, 1000), permitted: allCapabilities, securebits: secureKeepCapabilities),
                 .execve,
                 .succeeds(task(uids: (1000, 1000, 1000, 1000)))),
            Case("SECURE_NOROOT gives root only its ambient set",
                 task(uids: (0, 0, 0, 0), permitted: allCapabilities, effective: allCapabilities,
                      inheritable: bindService, ambient: bindService, securebits: secureNoRoot),
                 .execve,
                 .succeeds(task(uids: (0, 0, 0, 0), permitted: bindService, effective: bindService,
                                inheritable: bindService, ambient: bindService, securebits: secureNoRoot))),
            Case("SECURE_KEEP_CAPS is cleared, other securebits stay",
                 task(uids: (0, 0, 0, 0), permitted: allCapabilities, effective: allCapabilities,
                      securebits: secureKeepCapabilities | secureNoSetUIDFixup),
                 .execve,
                 .succeeds(task(uids: (0, 0, 0, 0), permitted: allCapabilities, effective: allCapabilities,
                                securebits: secureNoSetUIDFixup))),
            Case("saved and filesystem ids take the effective ones",
                 task(uids: (1000, 2000, 3000, 4000), gids: (100, 200, 300, 400), groups: [200]),
                 .execve,
                 .succeeds(task(uids: (1000, 2000, 2000, 2000), gids: (100, 200, 200, 200), groups: [200]))),
            // in_group_p(egid) reads the old fsgid and the supplementary
            // groups. An egid in neither counts as an id change in
            // cap_bprm_creds_from_file, which clears the ambient set.
            // Checked on Linux 6.18 with a C program that raises an
            // ambient capability and execs.
            Case("an egid that is neither fsgid nor a group clears the ambient set",
                 task(uids: (1000, 1000, 1000, 1000), gids: (100, 200, 300, 300),
                      permitted: bindService, effective: bindService, inheritable: bindService, ambient: bindService),
                 .execve,
                 .succeeds(task(uids: (1000, 1000, 1000, 1000), gids: (100, 200, 200, 200),
                                inheritable: bindService))),
            Case("an egid among the groups keeps the ambient set",
                 task(uids: (1000, 1000, 1000, 1000), gids: (100, 200, 300, 300), groups: [200],
                      permitted: bindService, effective: bindService, inheritable: bindService, ambient: bindService),
                 .execve,
                 .succeeds(task(uids: (1000, 1000, 1000, 1000), gids: (100, 200, 200, 200), groups: [200],
                                permitted: bindService, effective: bindService, inheritable: bindService, ambient: bindService))),
        ])
    }

    /// cap_bprm_creds_from_file under no_new_privs: an exec that would
    /// change the effective uid, bring in an egid outside the caller's
    /// groups, or add to the permitted set falls back to the real ids and
    /// the old permitted set. The first case was found by the differential
    /// test against Linux 6.18.
    func testExecuteUnderNoNewPrivileges() {
        let noSetUID = allCapabilities.subtracting(capabilities([Capability.setUID]))
        check([
            Case("root keeps a capability it dropped from permitted",
                 task(uids: (0, 0, 0, 0), permitted: noSetUID, effective: noSetUID),
                 .execveWithoutNewPrivileges,
                 .succeeds(task(uids: (0, 0, 0, 0), permitted: noSetUID, effective: noSetUID))),
            Case("root with every capability is unaffected",
                 root, .execveWithoutNewPrivileges,
                 .succeeds(root)),
            Case("an egid outside the groups falls back to the real gid",
                 task(uids: (0, 0, 0, 0), gids: (0, 1000, 0, 0), groups: [0],
                      permitted: allCapabilities, effective: allCapabilities),
                 .execveWithoutNewPrivileges,
                 .succeeds(task(uids: (0, 0, 0, 0), gids: (0, 0, 0, 0), groups: [0],
                                permitted: allCapabilities, effective: allCapabilities))),
            Case("an egid equal to the fsgid stays",
                 task(uids: (0, 0, 0, 0), gids: (0, 1000, 0, 1000), groups: [0],
                      permitted: allCapabilities, effective: allCapabilities),
                 .execveWithoutNewPrivileges,
                 .succeeds(task(uids: (0, 0, 0, 0), gids: (0, 1000, 1000, 1000), groups: [0],
                                permitted: allCapabilities, effective: allCapabilities))),
            // The downgrade resets the effective uid to the real one even
            // when only the permitted set would grow, which here gives an
            // effective uid 0 without capabilities (checked on Linux 6.18).
            Case("a permitted set that would grow resets the effective uid",
                 task(uids: (0, 1000, 0, 1000)),
                 .execveWithoutNewPrivileges,
                 .succeeds(task(uids: (0, 0, 0, 0)))),
            Case("without the flag the same exec regains the permitted set",
                 task(uids: (0, 1000, 0, 1000)),
                 .execve,
                 .succeeds(task(uids: (0, 1000, 1000, 1000), permitted: allCapabilities))),
        ])
    }

    /// A set-user-ID program owned by 1000 run by root under no_new_privs:
    /// the tracer passes no set-user-ID owner there (bprm_fill_uid ignores
    /// the bit), and nothing changes.
    func testSetUserIDIgnoredUnderNoNewPrivileges() {
        var credentials = root
        let isSecure = credentials.execute(setUserID: nil, setGroupID: nil, noNewPrivileges: true)
        XCTAssertEqual(credentials, root)
        XCTAssertFalse(isSecure)

        var withBit = root
        XCTAssertTrue(withBit.execute(setUserID: 1000, setGroupID: nil))
        XCTAssertEqual(withBit, task(uids: (0, 1000, 1000, 1000), permitted: allCapabilities))
    }

    /// A sequence, as OpenSSH checks it: after root drops with setuid, no
    /// way back to 0 remains.
    func testDroppedRootCannotBeRegained() {
        var credentials = root
        XCTAssertEqual(apply(.setuid(1000), on: &credentials), .success(nil))

        XCTAssertEqual(apply(.setuid(0), on: &credentials), .failure(Errno(EPERM)))
        XCTAssertEqual(apply(.setreuid(0, 0), on: &credentials), .failure(Errno(EPERM)))
        XCTAssertEqual(apply(.setresuid(minusOne, 0, minusOne), on: &credentials), .failure(Errno(EPERM)))
        XCTAssertEqual(apply(.setfsuid(0), on: &credentials), .success(1000))
        XCTAssertEqual(credentials, task(uids: (1000, 1000, 1000, 1000)))
    }

    /// seteuid(1000) then seteuid(0), as a daemon does around a file
    /// access: the effective set is cleared and then restored from
    /// permitted.
    func testTemporaryDropRoundTrip() {
        var credentials = root
        XCTAssertEqual(apply(.setresuid(minusOne, 1000, minusOne), on: &credentials), .success(nil))
        XCTAssertEqual(credentials.effective, .empty)
        XCTAssertEqual(credentials.permitted, allCapabilities)

        XCTAssertEqual(apply(.setresuid(minusOne, 0, minusOne), on: &credentials), .success(nil))
        XCTAssertEqual(credentials, root)
    }
}
