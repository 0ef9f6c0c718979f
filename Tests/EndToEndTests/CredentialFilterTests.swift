import Foundation
import XCTest

/// Which credential calls stop. A thread whose emulated credentials equal
/// the real ones lets reads and no-op set*id calls reach the kernel. The
/// first call or set-user-ID execve that makes them differ brings the
/// filter under which every credential call stops.
final class CredentialFilterTests: XCTestCase {
    private static let credentialCalls: Set<String> = [
        "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups",
        "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid",
        "setgroups", "capget", "capset", "prctl",
    ]

    private var work = ""

    override func setUp() {
        work = Harness.temporaryDirectory().path
    }

    /// Runs `arguments` under `remainroot --unshare --trace` and returns
    /// its output and the names of the credential calls that stopped.
    private func traced(_ arguments: [String], options: [String] = []) throws -> (output: Harness.Output, stops: [String]) {
        let log = work + "/trace-\(UUID().uuidString)"
        let output = try Harness.run([Harness.remainroot, "--unshare", "--trace", "--log-file", log] + options + ["--"] + arguments)
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        let names = lines.compactMap { line -> String? in
            guard let start = line.range(of: "] "), let end = line[start.upperBound...].firstIndex(of: "(") else { return nil }
            return String(line[start.upperBound..<end])
        }
        return (output, names.filter(Self.credentialCalls.contains))
    }

    func testRootSpawnLoopMakesNoStops() throws {
        let program = try Harness.compile("spawn-ids")
        let run = try traced([program, "5"], options: ["--ownership=off"])

        XCTAssertEqual(run.output.status, 0, run.output.standardError)
        let lines = run.output.standardOutput.split(separator: "\n")
        XCTAssertEqual(lines.count, 6, run.output.standardOutput)
        for line in lines {
            XCTAssertTrue(line.hasSuffix(" 0 0 0 0 0"), "\(line)")
        }
        XCTAssertEqual(run.stops, [], "credential calls that stopped")
    }

    func testDropBringsTheFilter() throws {
        let program = try Harness.compile("spawn-ids")
        let run = try traced([program, "3", "1000"], options: ["--ownership=off"])

        XCTAssertEqual(run.output.status, 0, run.output.standardError)
        XCTAssertEqual(run.output.standardOutput, """
            child 1000 1000 1000 1000 0
            child 1000 1000 1000 1000 0
            child 1000 1000 1000 1000 0
            parent 1000 1000 1000 1000 0

            """)
        // The drop itself, then the children's reads and POSIX_SPAWN_RESETIDS.
        XCTAssertEqual(run.stops.prefix(2), ["setresgid", "setresuid"])
        XCTAssertEqual(run.stops.filter { $0 == "getuid" }.count, 3 * 2 + 1, "getuid of each child's spawn and report, and the parent's")
    }

    /// Root's own group list, [0], as `su` and `runuser` set it, differs
    /// from the namespace root's only where no permission check can tell.
    /// Credential calls stop, and opens do not.
    func testRootGroupListStopsNoOpen() throws {
        let file = work + "/readable"
        try "contents\n".write(toFile: file, atomically: true, encoding: .utf8)
        let log = work + "/trace"
        let output = try Harness.run([Harness.remainroot, "--unshare", "--identity", "0:0", "--trace", "--log-file", log,
                                      "--", "sh", "-c", "id -G; cat \"$1\"", "sh", file])
        let trace = try String(contentsOfFile: log, encoding: .utf8)

        XCTAssertEqual(output.status, 0, output.standardError)
        XCTAssertEqual(output.standardOutput, "0\ncontents\n")
        XCTAssertTrue(trace.contains("getgroups("), trace)
        XCTAssertFalse(trace.contains(file), "an open stopped:\n\(trace)")
    }

    /// A drop from that list still brings the checks of opens, on top of
    /// the filter that stops only credential calls. Real root refuses the
    /// same read.
    func testDropFromRootGroupListChecksOpens() throws {
        try Harness.require("setpriv", "perl")
        let secret = work + "/secret"
        try "secret\n".write(toFile: secret, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(secret, 0o600), 0)
        XCTAssertEqual(chmod(work, 0o755), 0)
        // setpriv drops and then executes cat; perl drops and opens in the
        // same program.
        let drops = [
            ["setpriv", "--reuid", "1000", "--regid", "1000", "--clear-groups", "cat", secret],
            ["perl", "-e", "$) = \"1000 1000\"; $( = 1000; $< = $> = 1000; open(my $f, \"<\", $ARGV[0]) or die \"open: $!\\n\"", secret],
        ]
        for drop in drops {
            let traced = try Harness.run([Harness.remainroot, "--unshare", "--identity", "0:0", "--"] + drop)
            XCTAssertNotEqual(traced.status, 0, "\(drop[0]): \(traced.standardError)")
            XCTAssertTrue(traced.standardError.contains("Permission denied"), "\(drop[0]): \(traced.standardError)")

            guard getuid() == 0 else { continue }
            let native = try Harness.run(drop)
            XCTAssertEqual(native.status, traced.status, drop[0])
            XCTAssertEqual(native.standardOutput, traced.standardOutput, drop[0])
        }
    }

    func testSetUserIDExecBringsTheFilter() throws {
        let program = try Harness.compile("spawn-ids")
        let copy = work + "/spawn-ids"
        try FileManager.default.copyItem(atPath: program, toPath: copy)
        let script = "chown 1000:1001 \"$1\" && chmod 6755 \"$1\" && \"$1\" child && \"$1\" 1"
        let run = try traced(["sh", "-c", script, "sh", copy])

        XCTAssertEqual(run.output.status, 0, run.output.standardError)
        // The child of the spawn runs the set-user-ID file again.
        XCTAssertEqual(run.output.standardOutput, """
            child 0 1000 0 1001 0
            child 0 1000 0 1001 0
            parent 0 1000 0 1001 0

            """)
        XCTAssertTrue(run.stops.contains("geteuid"), "\(run.stops)")
    }

    func testSetUserIDExecOfI386Program() throws {
        let probe = try Harness.run(["sh", "-c", "printf 'int main(void){return 0;}' | cc -m32 -x c -o /dev/null -"])
        guard probe.status == 0 else {
            throw XCTSkip("cc -m32 does not work; Scripts/setup installs gcc-12-multilib and linux-libc-dev:i386")
        }
        let program = try Harness.compile("spawn-ids", flags: ["-m32"])
        let copy = work + "/spawn-ids-i386"
        try FileManager.default.copyItem(atPath: program, toPath: copy)
        let run = try traced(["sh", "-c", "chown 1000 \"$1\" && chmod 4755 \"$1\" && \"$1\" child", "sh", copy])

        XCTAssertEqual(run.output.status, 0, run.output.standardError)
        XCTAssertEqual(run.output.standardOutput, "child 0 1000 0 0 0\n")
    }

    /// The claim the first filter rests on: for the credentials a command
    /// starts with, the emulated results are the kernel's. After a prctl
    /// pair that changes nothing, every read stops and remainroot returns
    /// its result. Real root in a fresh namespace is the oracle.
    func testRootStartMatchesTheKernel() throws {
        let program = try Harness.compile("credential-reads")
        let native = try Harness.run(["unshare", "--user", "--map-root-user", program, "toggle"])
        XCTAssertEqual(native.status, 0, native.standardError)
        XCTAssertTrue(native.standardOutput.contains("capget 0 "), native.standardOutput)

        let emulated = try traced([program, "toggle"])
        XCTAssertEqual(emulated.output.status, 0, emulated.output.standardError)
        for call in ["getresuid", "getgroups", "capget", "prctl", "setfsuid"] {
            XCTAssertTrue(emulated.stops.contains(call), "\(call) did not stop, so the kernel answered it")
        }
        XCTAssertEqual(emulated.output.standardOutput, native.standardOutput)
    }

    /// --identity 0:0 builds root's credentials from scratch with the gid
    /// as the one supplementary group; all else must equal the kernel's.
    func testIdentityRootDiffersInGroupsOnly() throws {
        let program = try Harness.compile("credential-reads")
        let native = try Harness.run(["unshare", "--user", "--map-root-user", program])
        let emulated = try traced([program], options: ["--identity", "0:0"])
        XCTAssertEqual(emulated.output.status, 0, emulated.output.standardError)

        let nativeLines = native.standardOutput.split(separator: "\n")
        let emulatedLines = emulated.output.standardOutput.split(separator: "\n")
        XCTAssertEqual(emulatedLines.count, nativeLines.count)
        for (nativeLine, emulatedLine) in zip(nativeLines, emulatedLines) where !nativeLine.hasPrefix("groups") {
            XCTAssertEqual(emulatedLine, nativeLine)
        }
        XCTAssertTrue(emulatedLines.contains("groups 1: 0"), emulated.output.standardOutput)
        XCTAssertTrue(emulated.stops.contains("capget"), "\(emulated.stops)")
    }
}
