import Foundation
import XCTest

/// Runs capsh (Debian's libcap2-bin) natively as real root and under
/// remainroot in a new user namespace, after the same credential changes,
/// and requires the same output.
///
/// `capsh --print` in libcap2-bin 1:2.66 reads everything it prints through
/// system calls that remainroot emulates: capget for the current sets,
/// PR_CAPBSET_READ for the bounding set, PR_CAP_AMBIENT_IS_SET for the
/// ambient set, PR_GET_SECUREBITS and PR_GET_NO_NEW_PRIVS, getuid, geteuid,
/// getgid and getgroups. Besides those it reads only
/// /proc/sys/kernel/ngroups_max, /etc/passwd and /etc/group (checked with
/// strace). `getpcaps --iab` is different: it reads the CapInh, CapAmb and
/// CapBnd lines of /proc/PID/status, which show the kernel's own values, so
/// it is not compared here.
final class CapshTests: XCTestCase {
    /// capsh arguments, each run as one case. Every case ends in --print
    /// or runs a shell command that prints.
    static let cases: [[String]] = [
        // A full drop to 1000, then with the permitted set kept.
        ["--gid=1000", "--groups=1000", "--uid=1000", "--print"],
        ["--keep=1", "--gid=1000", "--groups=1000", "--uid=1000", "--print"],
        // getpwnam and initgroups for nobody.
        ["--user=nobody", "--print"],
        // Kept capabilities made inheritable and ambient, and what an exec
        // of capsh itself ("==") then gives user 1000.
        ["--keep=1", "--gid=1000", "--groups=1000", "--uid=1000", "--caps=cap_net_raw+eip", "--addamb=cap_net_raw", "==", "--print"],
        ["--secbits=0x2f", "--uid=1000", "--print"],
        ["--inh=cap_net_raw", "--print"],
        ["--drop=cap_net_raw", "--print"],
        ["--iab=!%cap_net_raw,^cap_sys_admin", "--print"],
        ["--mode=NOPRIV", "--print"],
        ["--mode=PURE1E_INIT", "--print"],
        // A failing check: the permitted set has CAP_SETUID before the drop
        // and not after.
        ["--has-p=cap_setuid", "--uid=1000", "--has-p=cap_setuid"],
    ]

    func testPrintMatchesRealRoot() throws {
        let prefix = try capshPrefix()
        for arguments in Self.cases {
            let command = prefix + arguments
            let native = try Harness.run(command)
            let emulated = try Harness.run([Harness.remainroot, "--unshare", "--"] + command)

            let description = arguments.joined(separator: " ")
            XCTAssertEqual(emulated.status, native.status, "exit status of capsh \(description)")
            XCTAssertEqual(emulated.standardOutput, native.standardOutput, "output of capsh \(description)")
            XCTAssertEqual(emulated.standardError, native.standardError, "standard error of capsh \(description)")
        }
    }

    /// The first case is the one that matters most, so its native output
    /// must show what a drop to 1000 leaves: no capabilities, every id 1000.
    func testDropCaseReallyDrops() throws {
        let prefix = try capshPrefix()
        let native = try Harness.run(prefix + Self.cases[0])
        let lines = native.standardOutput.split(separator: "\n").map(String.init)

        XCTAssertEqual(native.status, 0, native.standardError)
        XCTAssertTrue(lines.contains("Current: ="), "capsh printed:\n\(native.standardOutput)")
        let userLine = lines.first { $0.hasPrefix("uid=") } ?? ""
        XCTAssertTrue(userLine.hasPrefix("uid=1000("), "capsh printed:\n\(native.standardOutput)")
        XCTAssertTrue(userLine.contains(" euid=1000("), "capsh printed:\n\(native.standardOutput)")
        XCTAssertTrue(lines.contains { $0.hasPrefix("gid=1000(") }, "capsh printed:\n\(native.standardOutput)")
    }

    /// getpcaps PID reads another process's sets with capget. Here the
    /// process is the traced shell that capsh started after the drop.
    func testGetpcapsOfTracedShellMatchesRealRoot() throws {
        let prefix = try capshPrefix()
        try Harness.require("getpcaps")
        let cases: [[String]] = [
            ["--uid=1000", "--", "-c", "getpcaps $$"],
            ["--caps=cap_net_raw,cap_setuid+ep cap_chown+p", "--", "-c", "getpcaps --verbose $$"],
            ["--inh=cap_net_raw", "--", "-c", "getpcaps --verbose $$"],
        ]
        for arguments in cases {
            let command = prefix + arguments
            let native = try Harness.run(command)
            let emulated = try Harness.run([Harness.remainroot, "--unshare", "--"] + command)

            let description = arguments.joined(separator: " ")
            XCTAssertEqual(native.status, 0, "capsh \(description) failed natively: \(native.standardError)")
            XCTAssertEqual(emulated.status, native.status, "exit status of capsh \(description)")
            XCTAssertEqual(Self.withoutProcessIDs(emulated.standardOutput), Self.withoutProcessIDs(native.standardOutput),
                           "output of capsh \(description)")
        }
    }

    /// Returns the capsh arguments that every case starts with. When the
    /// host's bounding set lacks capabilities that the kernel defines
    /// (CAP_SYS_RESOURCE on the machine this was written on), real root
    /// lacks them, while a new user namespace has them all. capsh then
    /// drops them from the bounding set and runs itself again ("=="), so
    /// that root's sets under remainroot are rebuilt from the same bounding
    /// set as the host's.
    private func capshPrefix() throws -> [String] {
        guard Harness.isRoot else {
            throw XCTSkip("the native run is the oracle and must be real root; run the tests as root")
        }
        try Harness.require("capsh")

        let comparable = DifferentialRunner.comparableCapabilities()
        let missing = (0..<64).filter { comparable & (UInt64(1) << UInt64($0)) == 0 }
        guard !missing.isEmpty else { return ["capsh"] }
        return ["capsh", "--drop=" + missing.map(String.init).joined(separator: ","), "=="]
    }

    /// Replaces the pid at the start of each getpcaps line ("1234:" or
    /// "Capabilities for '1234':") with "PID", because the two runs have
    /// different pids.
    static func withoutProcessIDs(_ output: String) -> String {
        output.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            var text = String(line)
            if let range = text.range(of: #"^[0-9]+:"#, options: .regularExpression) {
                text.replaceSubrange(range, with: "PID:")
            }
            if let range = text.range(of: #"'[0-9]+'"#, options: .regularExpression) {
                text.replaceSubrange(range, with: "'PID'")
            }
            return text
        }.joined(separator: "\n")
    }
}
