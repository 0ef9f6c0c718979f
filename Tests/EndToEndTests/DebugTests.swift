import Foundation
import XCTest

/// `--trace`, `--debug` and `--log-file`: the lines and reports they print
/// for real programs in a real user namespace.
final class DebugTests: XCTestCase {
    /// The program of the privilege-drop case: a daemon drops to uid and gid
    /// 1000 and checks that it cannot become root again.
    private static let privilegeDrop = """
        import os
        print(os.getpid(), flush=True)
        os.setgroups([])
        os.setresgid(1000, 1000, 1000)
        os.setresuid(1000, 1000, 1000)
        print(os.getresuid(), os.getresgid(), os.getgroups())
        try:
            os.setuid(0)
            print("regained root")
        except PermissionError:
            print("EPERM")
        """

    private func traced(_ options: [String], _ command: [String], environment: [String: String]? = nil) throws -> Harness.Output {
        try Harness.run([Harness.remainroot, "--unshare"] + options + ["--"] + command, environment: environment)
    }

    /// Skips the test when remainroot was built with
    /// REMAINROOT_DEBUG_SUPPORT=0, which rejects --debug.
    private func requireDebugSupport() throws {
        let probe = try Harness.run([Harness.remainroot, "--unshare", "--debug", "--", "true"])
        if probe.standardError.contains("--debug is not available") {
            throw XCTSkip("remainroot was built without debug support")
        }
        XCTAssertEqual(probe.status, 0, probe.standardError)
    }

    /// Returns the index of the first line that contains each text, in the
    /// order given, or records a failure naming the first missing text.
    private func lineIndices(of texts: [String], in output: String, file: StaticString = #filePath, line: UInt = #line) -> [Int] {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        var indices: [Int] = []
        for text in texts {
            guard let index = lines.firstIndex(where: { $0.contains(text) }) else {
                XCTFail("no line contains '\(text)' in:\n\(output)", file: file, line: line)
                return []
            }
            indices.append(index)
        }
        return indices
    }

    /// Skips the test when this build ignores REMAINROOT_INJECT_FAULT, as a
    /// release build without -DREMAINROOT_FAULT_INJECTION does.
    private func requireFaultInjection() throws {
        try requireDebugSupport()
        let probe = try traced(["--debug"], ["true"], environment: ["REMAINROOT_INJECT_FAULT": "meltdown"])
        if probe.status == 0 {
            throw XCTSkip("this remainroot build ignores REMAINROOT_INJECT_FAULT")
        }
    }

    private func isGone(_ pid: pid_t) -> Bool {
        for _ in 0..<100 {
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return true }
            if status.contains("State:\tZ") { return true }
            usleep(20_000)
        }
        return false
    }

    // MARK: - --trace

    func testTracePrivilegeDrop() throws {
        try Harness.require("python3")
        let output = try traced(["--trace"], ["python3", "-c", Self.privilegeDrop])

        XCTAssertEqual(output.status, 0, output.standardError)
        let lines = output.standardOutput.split(separator: "\n")
        XCTAssertEqual(lines.dropFirst(), ["(1000, 1000, 1000) (1000, 1000, 1000) []", "EPERM"])
        let pid = try XCTUnwrap(lines.first.map(String.init))

        let expected = [
            "[pid \(pid)] setgroups(0, []) = 0 (faked)",
            "[pid \(pid)] setresgid(1000, 1000, 1000) = 0 (faked)",
            "[pid \(pid)] setresuid(1000, 1000, 1000) = 0 (faked)",
            "[pid \(pid)] getresuid([1000], [1000], [1000]) = 0 (faked)",
            "[pid \(pid)] setuid(0) = -1 EPERM (Operation not permitted) (faked)",
        ]
        let traceLines = output.standardError.split(separator: "\n").map(String.init)
        var previous = -1
        for line in expected {
            let index = try XCTUnwrap(traceLines.firstIndex(of: line), "missing '\(line)' in:\n\(output.standardError)")
            XCTAssertGreaterThan(index, previous, "'\(line)' is out of order")
            previous = index
        }
    }

    /// Without ownership records, a chown to an unmapped id reaches the
    /// kernel with -1 in its place, and one to a mapped id reaches it
    /// unchanged. Both lines carry the kernel's own result, read at the exit
    /// stop.
    func testTraceChownShowsWhatTheKernelRan() throws {
        let directory = Harness.temporaryDirectory()
        let file = directory.appendingPathComponent("owned").path
        FileManager.default.createFile(atPath: file, contents: Data())

        let unmapped = try traced(["--ownership=off", "--trace"], ["chown", "1000:1000", file])
        XCTAssertEqual(unmapped.status, 0, unmapped.standardError)
        XCTAssertTrue(unmapped.standardError.contains(
            "fchownat(AT_FDCWD, \"\(file)\", 1000, 1000, 0) = 0 (passed to the kernel as fchownat(AT_FDCWD, \"\(file)\", -1, -1, 0))\n"),
            unmapped.standardError)

        let mapped = try traced(["--ownership=off", "--trace"], ["chown", "0:0", file])
        XCTAssertTrue(mapped.standardError.contains("fchownat(AT_FDCWD, \"\(file)\", 0, 0, 0) = 0 (passed to the kernel)\n"), mapped.standardError)

        // The kernel's failure reaches both the program and the trace.
        let missing = directory.appendingPathComponent("missing").path
        let failed = try traced(["--ownership=off", "--trace"], ["python3", "-c", "import os\ntry:\n os.chown('\(missing)', 0, 0)\nexcept FileNotFoundError:\n print('ENOENT')"])
        XCTAssertEqual(failed.standardOutput, "ENOENT\n", failed.standardError)
        XCTAssertTrue(failed.standardError.contains("chown(\"\(missing)\", 0, 0) = -1 ENOENT (No such file or directory) (passed to the kernel)\n"), failed.standardError)
    }

    /// With ownership records, the tracer answers a stat of a chowned file
    /// itself at the entry stop, and the program sees the recorded owner.
    func testTraceStatOfRecordedFile() throws {
        let file = Harness.temporaryDirectory().appendingPathComponent("owned").path
        FileManager.default.createFile(atPath: file, contents: Data())

        let output = try traced(["--ownership=state", "--state", file + ".db", "--trace"], ["sh", "-c", "chown 1000:1001 \(file) && stat -c %u:%g \(file)"])

        XCTAssertEqual(output.standardOutput, "1000:1001\n", output.standardError)
        // stat(1) makes the last call on the file.
        let statLine = output.standardError.split(separator: "\n").last { $0.contains("\"\(file)\"") }
        XCTAssertNotNil(statLine, output.standardError)
        XCTAssertTrue(statLine?.hasSuffix(" = 0 (faked)") ?? false, output.standardError)
    }

    /// A clone3 that the kernel runs is recorded at the parent's exit stop,
    /// which comes after the fork event, with the child's pid as result.
    func testTraceClone3ShowsChildPid() throws {
        let program = try Harness.compile("fork-variants")
        let output = try traced(["--trace"], [program])

        XCTAssertTrue(output.standardOutput.contains("status 13\n"), output.standardOutput)
        let line = output.standardError.split(separator: "\n").first { $0.contains("] clone3(0x") }
        XCTAssertNotNil(line, output.standardError)
        let result = line?.split(separator: "=").last?.split(separator: " ").first.flatMap { Int32($0) }
        XCTAssertGreaterThan(result ?? 0, 0, String(line ?? ""))
        XCTAssertTrue(line?.hasSuffix(" (passed to the kernel)") ?? false, String(line ?? ""))
    }

    /// remainroot removes CLONE_UNTRACED (0x800000) from clone, and the line
    /// shows the flags the kernel ran the call with.
    func testTraceCloneShowsRemovedFlag() throws {
        let program = try Harness.compile("hostile")
        let output = try traced(["--trace"], [program, "untraced-child"])

        XCTAssertTrue(output.standardOutput.contains("child getuid 1000 -\n"), output.standardOutput)
        let line = output.standardError.split(separator: "\n").first { $0.contains("] clone(0x800011, ") }
        XCTAssertNotNil(line, output.standardError)
        XCTAssertTrue(line?.hasSuffix(" (passed to the kernel as clone(0x11, NULL, NULL, NULL, NULL))") ?? false, String(line ?? ""))
    }

    func testTraceToLogFile() throws {
        let log = Harness.temporaryDirectory().appendingPathComponent("trace.log").path
        // Under --identity every credential call stops, also a read that
        // the real root's first filter leaves to the kernel.
        let output = try traced(["--trace", "--log-file", log, "--identity", "0:0"], ["id", "-u"])

        XCTAssertEqual(output.standardOutput, "0\n")
        XCTAssertEqual(output.standardError, "")
        let contents = try String(contentsOfFile: log, encoding: .utf8)
        XCTAssertTrue(contents.contains("] geteuid() = 0 (faked)\n"), contents)
    }

    func testWithoutTraceNothingIsPrinted() throws {
        let output = try traced([], ["id", "-u"])
        XCTAssertEqual(output.standardOutput, "0\n")
        XCTAssertEqual(output.standardError, "")
    }

    func testLogFileOptionErrors() throws {
        let missing = Harness.temporaryDirectory().appendingPathComponent("missing/trace.log").path
        let cases: [([String], String)] = [
            (["--log-file", "/tmp/unused.log", "true"], "--log-file /tmp/unused.log has nothing to write; add --trace or --debug"),
            (["--trace", "--log-file"], "--log-file needs a value"),
            (["--trace", "--log-file", missing, "true"], "cannot open log file '\(missing)'"),
        ]
        for (arguments, message) in cases {
            let output = try Harness.run([Harness.remainroot] + arguments)
            XCTAssertEqual(output.status, 125, arguments.joined(separator: " "))
            XCTAssertTrue(output.standardError.contains(message), "expected '\(message)' in: \(output.standardError)")
        }
    }

    /// The path calls that stop under an emulated identity show their
    /// paths as strings, as strace does.
    func testTraceShowsPathsOfOpenAndAccess() throws {
        let output = try Harness.run([Harness.remainroot, "--unshare", "--identity", "1000:1000", "--trace", "--",
                                      "sh", "-c", "cat /etc/hostname >/dev/null; test -r /etc/shadow; mkdir /proc/none 2>/dev/null; true"])
        XCTAssertEqual(output.status, 0, output.standardError)
        XCTAssertTrue(output.standardError.contains(#"openat(AT_FDCWD, "/etc/hostname", 0, "#), output.standardError)
        XCTAssertTrue(output.standardError.contains(#"faccessat2(AT_FDCWD, "/etc/shadow", 0x4, "#) || output.standardError.contains(#"access("/etc/shadow", 0x4)"#)
                      || output.standardError.contains(#"faccessat(AT_FDCWD, "/etc/shadow", 0x4)"#), output.standardError)
        XCTAssertTrue(output.standardError.contains(#"mkdir("/proc/none", 0777)"#), output.standardError)
    }

    /// A run that is refused (here: outside a user namespace) leaves an
    /// existing log file as it was; a run that starts replaces it.
    func testRefusedRunKeepsTheLogFile() throws {
        try XCTSkipUnless(Harness.isRoot, "only real root's initial namespace makes remainroot refuse")
        let log = Harness.temporaryDirectory().appendingPathComponent("trace.log").path
        try "an earlier trace\n".write(toFile: log, atomically: true, encoding: .utf8)

        let refused = try Harness.run([Harness.remainroot, "--trace", "--log-file", log, "--", "true"])
        XCTAssertEqual(refused.status, 125, refused.standardError)
        XCTAssertEqual(try String(contentsOfFile: log, encoding: .utf8), "an earlier trace\n")

        let started = try Harness.run([Harness.remainroot, "--unshare", "--trace", "--log-file", log, "--", "true"])
        XCTAssertEqual(started.status, 0, started.standardError)
        XCTAssertFalse(try String(contentsOfFile: log, encoding: .utf8).contains("an earlier trace"))
    }

    // MARK: - --debug: traced programs

    func testDebugPrintsStackOfCrashingProgram() throws {
        try requireDebugSupport()
        let program = try Harness.compile("crash-three-deep", flags: ["-O0"])
        let output = try traced(["--debug"], [program])

        XCTAssertEqual(output.status, 128 + SIGSEGV)
        XCTAssertTrue(output.standardError.contains("received SIGSEGV (SEGV_MAPERR, at address 0x0), which it does not handle"), output.standardError)
        let indices = lineIndices(of: ["(crash_level_three+0x", "(crash_level_two+0x", "(crash_level_one+0x", "(main+0x"], in: output.standardError)
        XCTAssertEqual(indices, indices.sorted(), "frames out of order:\n\(output.standardError)")
        XCTAssertEqual(Set(indices).count, 4, output.standardError)
        XCTAssertTrue(output.standardError.contains(" > \(program)(crash_level_three+0x"), "frames name the program file:\n\(output.standardError)")
    }

    func testDebugIgnoresHandledSignal() throws {
        try requireDebugSupport()
        let program = try Harness.compile("crash-three-deep", flags: ["-O0"])
        let output = try traced(["--debug"], [program, "handled"])

        XCTAssertEqual(output.status, 3)
        XCTAssertEqual(output.standardError, "")
    }

    func testNoStackWithoutDebug() throws {
        let program = try Harness.compile("crash-three-deep", flags: ["-O0"])
        let output = try traced([], [program])

        XCTAssertEqual(output.status, 128 + SIGSEGV)
        XCTAssertEqual(output.standardError, "")
    }

    func testDebugReportsAbort() throws {
        try requireDebugSupport()
        try Harness.require("python3")
        let output = try traced(["--debug"], ["python3", "-c", "import os; os.abort()"])

        XCTAssertEqual(output.status, 128 + SIGABRT)
        XCTAssertTrue(output.standardError.contains("received SIGABRT (SI_TKILL, sent by pid"), output.standardError)
        XCTAssertTrue(output.standardError.contains("libc.so.6(abort+0x"), output.standardError)
    }

    // MARK: - --debug: remainroot itself

    /// remainroot faults while it handles the program's setgroups: the
    /// report names the thread, the call and the faulting Swift function,
    /// and neither the program nor its child outlives remainroot.
    func testOwnCrashIsReported() throws {
        try requireFaultInjection()
        try Harness.require("python3")
        let script = """
            import os, sys, time
            child = os.fork()
            if child == 0:
                os.close(1); os.close(2)
                time.sleep(60)
                os._exit(0)
            print(os.getpid(), child, flush=True)
            os.setgroups([])
            print("survived", flush=True)
            """
        let output = try traced(["--debug"], ["python3", "-c", script], environment: ["REMAINROOT_INJECT_FAULT": "segfault:setgroups"])
        let report = output.standardError

        XCTAssertEqual(output.status, 125, report)
        let pids = output.standardOutput.split(separator: "\n").first?.split(separator: " ").compactMap { pid_t($0) } ?? []
        XCTAssertEqual(pids.count, 2, "pid line: \(output.standardOutput)")
        XCTAssertFalse(output.standardOutput.contains("survived"))

        // The command stays on worker 0, which launched it.
        XCTAssertTrue(report.contains("remainroot: internal error: SIGSEGV (SEGV_MAPERR at address 0x8) in thread 'rr-worker-0'"), report)
        if let pid = pids.first {
            XCTAssertTrue(report.contains("the thread was handling setgroups ("), report)
            XCTAssertTrue(report.contains(") of traced pid \(pid)\n"), report)
        }
        let indices = lineIndices(of: ["FaultInjection.writeThroughInvalidPointer()", "DebugMonitor.willHandleSyscall", "Tracer.dispatch", "Worker.run()"], in: report)
        XCTAssertEqual(indices, indices.sorted(), "frames out of order:\n\(report)")
        XCTAssertTrue(report.contains("#0  0x"), report)
        XCTAssertTrue(report.hasSuffix("remainroot: killing the traced processes and exiting with status 125\n"), report)

        for pid in pids {
            XCTAssertTrue(isGone(pid), "traced pid \(pid) outlived remainroot")
        }
    }

    func testOwnStackOverflowIsReported() throws {
        try requireFaultInjection()
        let output = try traced(["--debug"], ["id", "-u"], environment: ["REMAINROOT_INJECT_FAULT": "stack-overflow"])
        let report = output.standardError

        XCTAssertEqual(output.status, 125, report)
        XCTAssertTrue(report.contains("this is probably a stack overflow"), report)
        let indices = lineIndices(of: ["#0  0x", "FaultInjection.recurseWithoutEnd", "frames not shown", "FaultInjection.trigger", "Worker.run()"], in: report)
        XCTAssertEqual(indices, indices.sorted(), "frames out of order:\n\(report)")
    }

    func testCrashReportAlsoGoesToLogFile() throws {
        try requireFaultInjection()
        let log = Harness.temporaryDirectory().appendingPathComponent("debug.log").path
        let output = try traced(["--debug", "--log-file", log], ["id", "-u"], environment: ["REMAINROOT_INJECT_FAULT": "segfault"])

        XCTAssertEqual(output.status, 125)
        let contents = try String(contentsOfFile: log, encoding: .utf8)
        XCTAssertEqual(contents, output.standardError)
        XCTAssertTrue(contents.contains("FaultInjection.writeThroughInvalidPointer()"), contents)
    }

    func testInvalidFaultRequestIsRejected() throws {
        try requireFaultInjection()
        let output = try traced(["--debug"], ["true"], environment: ["REMAINROOT_INJECT_FAULT": "meltdown"])
        XCTAssertEqual(output.status, 125)
        XCTAssertTrue(output.standardError.contains("invalid REMAINROOT_INJECT_FAULT 'meltdown'"), output.standardError)
    }

    func testHelpNamesTheOptions() throws {
        let help = try Harness.run([Harness.remainroot, "--help"])
        for option in ["--trace", "--debug", "--log-file FILE"] {
            XCTAssertTrue(help.standardOutput.contains(option), "--help lacks \(option)")
        }
    }
}
