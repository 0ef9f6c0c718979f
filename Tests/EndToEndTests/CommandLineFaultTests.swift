@preconcurrency import Glibc
import Foundation
import XCTest

/// Bad command lines, bad state files and environments that forbid what
/// remainroot needs: each must end within seconds with one line on
/// standard error that names the problem, and exit status 125.
final class CommandLineFaultTests: XCTestCase {
    private func assertOneLineFailure(_ output: Harness.Output, containing message: String, _ description: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(output.status, 125, "\(description): \(output.standardError)", file: file, line: line)
        XCTAssertTrue(output.standardError.hasPrefix("remainroot: "), "\(description): \(output.standardError)", file: file, line: line)
        XCTAssertEqual(output.standardError.filter { $0 == "\n" }.count, 1, "\(description): not one line: \(output.standardError)", file: file, line: line)
        XCTAssertTrue(output.standardError.contains(message), "\(description): expected '\(message)' in: \(output.standardError)", file: file, line: line)
        XCTAssertEqual(output.standardOutput, "", "\(description): the command must not run", file: file, line: line)
    }

    func testInvalidWorkerCounts() throws {
        let cases: [([String], String)] = [
            (["--workers", "0"], "invalid --workers '0': expected a number from 1 to"),
            (["--workers", "99999999"], "invalid --workers '99999999'"),
            (["--workers=-1"], "invalid --workers '-1'"),
            (["--workers", "two"], "invalid --workers 'two'"),
            (["--workers=+3"], "invalid --workers '+3'"),
            (["--workers", "18446744073709551617"], "invalid --workers '18446744073709551617'"),
            (["--workers"], "--workers needs a value"),
            (["--workers", "--"], "--workers needs a value"),
            (["--identity", "--"], "--identity needs a value"),
            (["--ownership", "--"], "--ownership needs a value"),
            (["--state", ""], "--state needs a file name"),
            (["--state="], "--state needs a file name"),
        ]
        for (options, message) in cases {
            let bare = options == ["--workers"] || options.last == "--"
            let output = try Harness.run([Harness.remainroot, "--unshare"] + options + (bare ? [] : ["--", "echo", "ran"]), timeout: 30)
            assertOneLineFailure(output, containing: message, options.joined(separator: " "))
        }
    }

    func testLargestWorkerCountRuns() throws {
        let help = try Harness.run([Harness.remainroot, "--help"])
        guard let range = help.standardOutput.range(of: #"1 to (\d+)"#, options: .regularExpression),
              let maximum = Int(help.standardOutput[range].split(separator: " ").last ?? "")
        else {
            return XCTFail("--help states no range for --workers: \(help.standardOutput)")
        }
        let output = try Harness.run([Harness.remainroot, "--unshare", "--workers", String(maximum), "--", "sh", "-c", "id -u; sh -c 'id -u'"], timeout: 60)
        XCTAssertEqual(output.standardOutput, "0\n0\n", output.standardError)
        XCTAssertEqual(output.status, 0)
    }

    func testStateFileProblems() throws {
        let work = Harness.temporaryDirectory().path
        let damaged = "\(work)/damaged.db"
        // A real state file with everything after SQLite's 100-byte header
        // overwritten.
        let made = try Harness.run([Harness.remainroot, "--unshare", "--ownership=state", "--state", damaged, "--", "sh", "-c", "touch \"$0\" && chown 5:5 \"$0\"", "\(work)/f"])
        XCTAssertEqual(made.status, 0, made.standardError)
        var bytes = try XCTUnwrap(FileManager.default.contents(atPath: damaged))
        XCTAssertGreaterThan(bytes.count, 100)
        bytes.replaceSubrange(100..., with: Data(repeating: 0xA5, count: bytes.count - 100))
        FileManager.default.createFile(atPath: damaged, contents: bytes)
        let truncated = "\(work)/truncated.db"
        FileManager.default.createFile(atPath: truncated, contents: bytes.prefix(50))

        // A state file whose header is sound and whose records page is
        // not: SQLite finds that only when a query reads the page, and a
        // lookup would then find no record.
        let fifo = "\(work)/state.fifo"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let pageDamaged = "\(work)/page-damaged.db"
        let recorded = try Harness.run([Harness.remainroot, "--unshare", "--ownership=state", "--state", pageDamaged, "--", "sh", "-c", "touch \"$0\" && chown 5:5 \"$0\"", "\(work)/g"])
        XCTAssertEqual(recorded.status, 0, recorded.standardError)
        var pages = try XCTUnwrap(FileManager.default.contents(atPath: pageDamaged))
        XCTAssertGreaterThanOrEqual(pages.count, 8192, "the state file has no second page")
        pages.replaceSubrange(4096..<4104, with: Data(repeating: 0xFF, count: 8))
        FileManager.default.createFile(atPath: pageDamaged, contents: pages)

        let cases: [(String, String)] = [
            (work, "it is a directory; name a file in it"),
            ("\(work)/missing/state.db", "its folder '\(work)/missing' does not exist"),
            (damaged, "malformed; the file was left as it is"),
            (truncated, "the file was left as it is"),
            (pageDamaged, "malformed"),
            ("/dev/null", "it is a character device, not a regular file"),
            (fifo, "it is a FIFO, not a regular file"),
        ]
        for (path, message) in cases {
            let before = FileManager.default.contents(atPath: path)
            let output = try Harness.run([Harness.remainroot, "--unshare", "--state", path, "--", "echo", "ran"], timeout: 30)
            assertOneLineFailure(output, containing: message, "--state \(path)")
            XCTAssertEqual(FileManager.default.contents(atPath: path), before, "\(path) was changed")
            XCTAssertFalse(FileManager.default.fileExists(atPath: path + "-wal"), "a journal was left beside \(path)")
        }
    }

    /// A container whose seccomp profile denies ptrace: remainroot cannot
    /// attach to its command, and must neither hang nor run it untraced.
    func testPtraceDeniedBySeccomp() throws {
        let confine = try Harness.compile("deny-syscalls")
        let output = try Harness.run([confine, "ptrace", Harness.remainroot, "--unshare", "--", "echo", "ran"], timeout: 30)
        assertOneLineFailure(output, containing: "ptrace is not permitted here", "ptrace denied")
        XCTAssertTrue(output.standardError.contains("PTRACE_SEIZE"), output.standardError)
    }

    /// Inside an existing namespace too, and with several workers.
    func testPtraceDeniedInsideNamespace() throws {
        let confine = try Harness.compile("deny-syscalls")
        let output = try Harness.run([confine, "ptrace", "unshare", "--user", "--map-root-user", Harness.remainroot, "--workers", "2", "--", "echo", "ran"], timeout: 30)
        assertOneLineFailure(output, containing: "ptrace is not permitted here", "ptrace denied in a namespace")
    }

    func testSeccompDeniedBySeccomp() throws {
        let confine = try Harness.compile("deny-syscalls")
        let output = try Harness.run([confine, "seccomp", Harness.remainroot, "--unshare", "--", "echo", "ran"], timeout: 30)
        assertOneLineFailure(output, containing: "cannot install the seccomp filter: EPERM", "seccomp denied")
    }

    func testUserNamespaceDeniedBySeccomp() throws {
        let confine = try Harness.compile("deny-syscalls")
        let output = try Harness.run([confine, "unshare", Harness.remainroot, "--unshare", "--", "echo", "ran"], timeout: 30)
        assertOneLineFailure(output, containing: "cannot create a user namespace", "unshare denied")
    }

    /// Yama's ptrace_scope 3 forbids every attach. Lower scopes let a
    /// process trace its own child, which is all remainroot does, so there
    /// the command runs.
    /// NOTE: scope 2 also needs CAP_SYS_PTRACE, which remainroot should have
    /// as root of the child's namespace; the machines this was written on
    /// have no Yama, so neither branch has run.
    func testYamaPtraceScope() throws {
        guard let text = try? String(contentsOfFile: "/proc/sys/kernel/yama/ptrace_scope", encoding: .utf8),
              let scope = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            throw XCTSkip("this kernel has no Yama (/proc/sys/kernel/yama/ptrace_scope is missing)")
        }
        let output = try Harness.run([Harness.remainroot, "--unshare", "--", "echo", "ran"], timeout: 30)
        if scope >= 3 {
            assertOneLineFailure(output, containing: "ptrace is not permitted here", "Yama scope \(scope)")
        } else {
            XCTAssertEqual(output.standardOutput, "ran\n", "Yama scope \(scope): \(output.standardError)")
        }
    }
}
