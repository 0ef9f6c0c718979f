import Foundation
import XCTest

/// The tracer's own behaviour: following every kind of child, execve from
/// any thread, signals, job control and the command line. Programs run
/// natively as real root are the oracle where the test needs one.
final class TracerTests: XCTestCase {
    private func traced(_ arguments: [String]) throws -> Harness.Output {
        try Harness.run([Harness.remainroot, "--unshare", "--"] + arguments)
    }

    func testExecFromNonLeaderThreadKeepsItsCredentials() throws {
        try XCTSkipUnless(Harness.isRoot, "the native oracle needs real root")
        let program = try Harness.compile("thread-exec", flags: ["-lpthread"])
        let native = try Harness.run([program])
        let emulated = try traced([program])
        XCTAssertEqual(native.standardOutput, "thread uid 1000\n1000\n")
        XCTAssertEqual(emulated.standardOutput, native.standardOutput, emulated.standardError)
        XCTAssertEqual(emulated.status, native.status)
    }

    func testForkVforkAndClone3InheritCredentials() throws {
        try XCTSkipUnless(Harness.isRoot, "the native oracle needs real root")
        let program = try Harness.compile("fork-variants")
        let native = try Harness.run([program])
        let emulated = try traced([program])
        XCTAssertTrue(native.standardOutput.contains("clone3 uid=1000 euid=1000 gid=1001"), native.standardOutput)
        XCTAssertEqual(emulated.standardOutput, native.standardOutput, emulated.standardError)
    }

    func testAuxiliaryVectorCarriesEmulatedIDs() throws {
        try XCTSkipUnless(Harness.isRoot, "the native oracle needs real root")
        let program = try Harness.compile("auxv-after-exec")
        let cases = [
            ["0", "0", "0", "0", "0", "0"],
            ["1000", "1000", "1000", "1000", "1000", "1000"],
            ["1000", "0", "0", "100", "100", "100"],
            ["0", "1000", "0", "0", "0", "0"],
            ["1000", "1000", "1000", "100", "5", "5"],
        ]
        for ids in cases {
            let native = try Harness.run([program] + ids)
            let emulated = try traced([program] + ids)
            XCTAssertEqual(native.status, 0, native.standardError)
            XCTAssertEqual(emulated.standardOutput, native.standardOutput, "ids \(ids): \(emulated.standardError)")
        }
    }

    func testLoaderSeesTheIDsOfADrop() throws {
        try Harness.require("python3")
        let output = try Harness.shell("""
            $RUN python3 -c '
            import os
            os.setgroups([]); os.setresgid(1000, 1000, 1000); os.setresuid(1000, 1000, 1000)
            os.execvp("env", ["env", "LD_SHOW_AUXV=1", "/bin/true"])' 2>&1 | awk '$1 ~ /^AT_(UID|EUID|GID|EGID):$/ {printf "%s%s ", $1, $2}'
            """)
        XCTAssertEqual(output.standardOutput, "AT_UID:1000 AT_EUID:1000 AT_GID:1000 AT_EGID:1000 ")
    }

    /// Set-user-ID and set-group-ID programs: the same program, owned by
    /// root and by a recorded user 1000, run natively by real root and
    /// under remainroot, including under no_new_privs, where the kernel
    /// ignores the bits.
    func testSetUserIDProgramsMatchRealRoot() throws {
        try XCTSkipUnless(Harness.isRoot, "the native oracle needs real root")
        try Harness.require("setpriv")
        let program = try Harness.compile("show-ids")
        let directory = Harness.temporaryDirectory().path
        let script = """
            set -e
            cp "$PROGRAM" "$DIR/root-owned" && chmod 4755 "$DIR/root-owned"
            cp "$PROGRAM" "$DIR/user-owned" && chown 1000:1000 "$DIR/user-owned" && chmod 6755 "$DIR/user-owned"
            "$DIR/user-owned"
            setpriv --reuid 1000 --regid 1000 --clear-groups "$DIR/root-owned"
            setpriv --no-new-privs "$DIR/user-owned"
            setpriv --reuid 1000 --regid 1000 --clear-groups --no-new-privs "$DIR/root-owned"
            rm "$DIR/root-owned" "$DIR/user-owned"
            """
        let environment = ["PROGRAM": program, "DIR": directory]
        let native = try Harness.run(["sh", "-c", script], environment: environment)
        let emulated = try Harness.run([Harness.remainroot, "--unshare", "--", "sh", "-c", script], environment: environment)
        XCTAssertEqual(native.standardOutput, """
            uid 0 1000 1000 gid 0 1000 1000
            uid 1000 0 0 gid 1000 1000 1000
            uid 0 0 0 gid 0 0 0
            uid 1000 1000 1000 gid 1000 1000 1000

            """, native.standardError)
        XCTAssertEqual(emulated.standardOutput, native.standardOutput, emulated.standardError)
    }

    func testRefusesOutsideUserNamespace() throws {
        try XCTSkipUnless(Harness.isRoot, "only the initial namespace of real root maps every id")
        let output = try Harness.run([Harness.remainroot, "--", "true"])
        XCTAssertEqual(output.status, 125)
        XCTAssertTrue(output.standardError.contains("outside a user namespace"), output.standardError)
        XCTAssertTrue(output.standardError.contains("--unshare"), output.standardError)
        XCTAssertEqual(output.standardError.filter { $0 == "\n" }.count, 1, "one line: \(output.standardError)")
    }

    func testIdentityOption() throws {
        let output = try Harness.run([Harness.remainroot, "--unshare", "--identity", "1000:1001", "--", "sh", "-c", "echo $(id -u) $(id -g) $(id -G)"])
        XCTAssertEqual(output.standardOutput, "1000 1001 1001\n", output.standardError)
    }

    func testIdentityWithoutRootCannotBecomeRoot() throws {
        try Harness.require("python3")
        let output = try Harness.run([Harness.remainroot, "--unshare", "-i", "1000:1000", "--", "python3", "-c",
            "import os\ntry:\n os.setuid(0)\nexcept PermissionError:\n print('EPERM')"])
        XCTAssertEqual(output.standardOutput, "EPERM\n", output.standardError)
    }

    func testCommandLineErrors() throws {
        let notExecutable = Harness.temporaryDirectory().appendingPathComponent("data.txt").path
        try "data\n".write(toFile: notExecutable, atomically: true, encoding: .utf8)
        chmod(notExecutable, 0o644)
        let cases: [([String], Int32, String)] = [
            (["--no-such-option", "true"], 125, "unknown option '--no-such-option'"),
            (["--unshare"], 125, "missing command"),
            (["--identity", "root", "true"], 125, "invalid identity 'root'"),
            (["--identity"], 125, "--identity needs a value"),
            (["syscalls", "--arch", "vax"], 125, "unknown ABI 'vax'"),
            (["--unshare", "--", "/"], 126, "cannot run '/'"),
            (["--unshare", "--", notExecutable], 126, "cannot run '\(notExecutable)'"),
            (["--unshare", "--", "no-such-command-anywhere"], 127, "cannot run 'no-such-command-anywhere'"),
            (["--unshare", "--", ""], 127, "cannot run '': command not found"),
        ]
        for (arguments, status, message) in cases {
            let output = try Harness.run([Harness.remainroot] + arguments)
            XCTAssertEqual(output.status, status, "remainroot \(arguments.joined(separator: " "))")
            XCTAssertTrue(output.standardError.hasPrefix("remainroot: "), output.standardError)
            XCTAssertTrue(output.standardError.contains(message), "expected '\(message)' in: \(output.standardError)")
        }
    }

    func testHelpAndVersion() throws {
        let help = try Harness.run([Harness.remainroot, "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.standardOutput.contains("--unshare"))
        XCTAssertTrue(help.standardOutput.contains("--identity"))
        let version = try Harness.run([Harness.remainroot, "--version"])
        XCTAssertEqual(version.status, 0)
        XCTAssertTrue(version.standardOutput.hasPrefix("remainroot "), version.standardOutput)

        // Among the options, --help prints remainroot's usage; after the
        // command it is the command's own argument.
        let late = try Harness.run([Harness.remainroot, "--unshare", "--workers", "2", "--help"])
        XCTAssertEqual(late.status, 0, late.standardError)
        XCTAssertEqual(late.standardOutput, help.standardOutput)
        let commands = try Harness.run([Harness.remainroot, "--unshare", "--", "sh", "-c", "echo \"$1\"", "sh", "--help"])
        XCTAssertEqual(commands.standardOutput, "--help\n", commands.standardError)

        let syscalls = try Harness.run([Harness.remainroot, "syscalls", "--help"])
        XCTAssertEqual(syscalls.status, 0, syscalls.standardError)
        XCTAssertTrue(syscalls.standardOutput.hasPrefix("Usage: remainroot syscalls"), syscalls.standardOutput)
    }

    func testSyscallsAcceptsArchWithEquals() throws {
        let separate = try Harness.run([Harness.remainroot, "syscalls", "--arch", "i386"])
        let joined = try Harness.run([Harness.remainroot, "syscalls", "--arch=i386"])
        XCTAssertEqual(joined.status, 0, joined.standardError)
        XCTAssertEqual(joined.standardOutput, separate.standardOutput)
        XCTAssertTrue(joined.standardOutput.contains("(16-bit ids)"), joined.standardOutput)
    }

    func testSyscallsListsTheAnsweredCalls() throws {
        let output = try Harness.run([Harness.remainroot, "syscalls", "--arch", "x86_64"])
        XCTAssertEqual(output.status, 0)
        let lines = output.standardOutput.split(separator: "\n")
        let setresuid = lines.first { $0.hasPrefix("setresuid ") }
        XCTAssertNotNil(setresuid)
        XCTAssertEqual(setresuid?.split(separator: " ", omittingEmptySubsequences: true)[1], "117")
        let fchownat = lines.first { $0.hasPrefix("fchownat ") }
        XCTAssertEqual(fchownat?.split(separator: " ", omittingEmptySubsequences: true)[1], "260")
    }

    func testKilledCommandReportsSignal() throws {
        let output = try traced(["sh", "-c", "kill -KILL $$"])
        XCTAssertEqual(output.status, 137)
    }

    /// A SIGTERM sent to remainroot by another process reaches the command,
    /// whose handler decides the exit status.
    func testSignalsToRemainrootReachTheCommand() throws {
        for (signal, name) in [(SIGTERM, "TERM"), (SIGHUP, "HUP"), (SIGINT, "INT")] {
            let child = try Harness.Child([Harness.remainroot, "--unshare", "--", "sh", "-c", "trap 'echo got \(name); exit 3' \(name); echo ready; while :; do sleep 0.05; done"])
            child.finishInput(nil)
            XCTAssertEqual(child.readOutput(timeout: 60), "ready\n")
            kill(child.pid, signal)
            guard Harness.waitForExit(child, until: Date() + 60) else {
                return
            }

            XCTAssertEqual(child.readOutput(timeout: 5), "got \(name)\n")
            XCTAssertEqual(child.status, 3, "after SIG\(name)")
        }
    }

    /// PTRACE_O_EXITKILL: when remainroot dies, even by SIGKILL, every
    /// tracee is killed instead of running on with its answered calls
    /// failing with ENOSYS.
    func testTraceesDieWithRemainroot() throws {
        let child = try Harness.Child([Harness.remainroot, "--unshare", "--", "sh", "-c", "sleep 100 & echo $!; wait"])
        child.finishInput(nil)
        let line = child.readOutput(timeout: 60) ?? ""
        kill(child.pid, SIGKILL)
        Harness.waitForExit(child, until: Date() + 60)
        let sleeper = try XCTUnwrap(pid_t(line.trimmingCharacters(in: .whitespacesAndNewlines)), "pid line: \(line)")

        var state = "running"
        for _ in 0..<100 {
            let status = try? String(contentsOfFile: "/proc/\(sleeper)/status", encoding: .utf8)
            state = status?.split(separator: "\n").first { $0.hasPrefix("State:") }.map(String.init) ?? "gone"
            if state == "gone" || state.contains("zombie") { break }
            usleep(20_000)
        }
        XCTAssertTrue(state == "gone" || state.contains("zombie"), "sleep \(sleeper) is still \(state)")
    }

    /// Ctrl-Z in a traced interactive shell stops the foreground job, the
    /// shell reports it, and fg resumes it (ptrace(2), "Group-stop").
    func testJobControlInTracedShell() throws {
        try Harness.require("tmux", "bash")
        let session = "remainroot-test-\(getpid())"
        defer { _ = try? Harness.run(["tmux", "kill-session", "-t", session]) }

        // The tmux server outlives this command; it must not inherit the
        // pipes the harness reads to their end.
        try Harness.run(["sh", "-c", "tmux new-session -d -s \(session) -x 120 -y 30 '\(Harness.remainroot) --unshare -- bash --norc --noprofile -i' </dev/null >/dev/null 2>&1"])
        func type(_ keys: String...) throws { try Harness.run(["tmux", "send-keys", "-t", session] + keys) }
        func screen() -> String { (try? Harness.run(["tmux", "capture-pane", "-p", "-t", session]).standardOutput) ?? "" }
        func waitFor(_ text: String) throws -> Bool {
            for _ in 0..<100 {
                if screen().contains(text) { return true }
                usleep(50_000)
            }
            return false
        }

        try type("PS1='ready> '", "Enter")
        XCTAssertTrue(try waitFor("ready> "), screen())
        try type("sleep 30", "Enter")
        usleep(300_000)
        try type("C-z")
        XCTAssertTrue(try waitFor("Stopped"), screen())
        try type("jobs -l; echo jobs-listed", "Enter")
        XCTAssertTrue(try waitFor("jobs-listed"), screen())
        try type("fg", "Enter")
        usleep(300_000)
        try type("C-c")
        try type("echo after-fg $?", "Enter")
        XCTAssertTrue(try waitFor("after-fg 130"), screen())
        try type("exit 5", "Enter")
    }
}
