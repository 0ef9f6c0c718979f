@preconcurrency import Glibc
import Foundation
import XCTest

/// Runs real programs, natively or under remainroot in a user namespace,
/// and compiles the C programs in Tests/Programs.
enum Harness {
    /// The remainroot binary under test: $REMAINROOT, or the one built
    /// beside the test bundle.
    static let remainroot: String = {
        if let path = ProcessInfo.processInfo.environment["REMAINROOT"], !path.isEmpty {
            return path
        }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = bundle.deletingLastPathComponent()
        // Linux runs the bundle as an executable at .build/<triple>/debug/*.xctest.
        for _ in 0..<3 {
            let candidate = directory.appendingPathComponent("remainroot").path
            if FileManager.default.isExecutableFile(atPath: candidate) {
                return candidate
            }
            directory = directory.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../.build/debug/remainroot").standardized.path
    }()

    /// Tests/Programs, where the C test programs live.
    static let programsDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Programs")

    /// The prefix the shared case scripts use: a fresh user namespace with
    /// one mapped uid, then remainroot.
    static var namespacePrefix: [String] {
        ["unshare", "--user", "--map-root-user", "--fork", remainroot, "--"]
    }

    struct Output {
        let status: Int32
        let standardOutput: String
        let standardError: String
        /// Standard output and error together, in the order the shell
        /// script wrote them when both went to one pipe.
        var combined: String { standardOutput + standardError }
    }

    /// Runs a program to completion, with a time limit after which it is
    /// killed and the test fails.
    @discardableResult
    static func run(_ arguments: [String], environment: [String: String]? = nil, input: String? = nil, timeout: TimeInterval = 120, file: StaticString = #filePath, line: UInt = #line) throws -> Output {
        flushOutput()
        let child = try Child(arguments, environment: environment)
        child.finishInput(input)

        // Output is read while the program runs, so a full pipe never
        // blocks it.
        let deadline = Date().addingTimeInterval(timeout)
        if !child.collect(until: deadline) {
            if child.reap() {
                fail("output pipes still open after \(timeout) s (a daemon holds them?): \(arguments.joined(separator: " "))", file: file, line: line)
            } else {
                child.killGroup()
                fail("timed out after \(timeout) s, killed its process group: \(arguments.joined(separator: " "))", file: file, line: line)
            }
        }

        return Output(status: child.status ?? 137, standardOutput: String(decoding: child.standardOutput, as: UTF8.self), standardError: String(decoding: child.standardError, as: UTF8.self))
    }

    /// Waits for a child to exit; past the deadline its process group is
    /// killed, the test fails, and the result is false.
    @discardableResult
    static func waitForExit(_ child: Child, until deadline: Date, file: StaticString = #filePath, line: UInt = #line) -> Bool {
        while !child.reap() && Date() < deadline {
            usleep(10_000)
        }
        guard child.status == nil else {
            return true
        }
        child.killGroup()
        fail("timed out, killed the process group of \(child.pid)", file: file, line: line)
        return false
    }

    /// XCTFail, also written at once to standard error: XCTest's own lines
    /// go to a buffered standard output that a killed run never flushes.
    static func fail(_ message: String, file: StaticString = #filePath, line: UInt = #line) {
        FileHandle.standardError.write(Data("\(file):\(line): \(message)\n".utf8))
        XCTFail(message, file: file, line: line)
    }

    /// Flushes the test process's standard output, where XCTest buffers
    /// its lines, so that a CI log cut by a timeout shows the test that was
    /// running.
    static func flushOutput() {
        fflush(stdout)
    }

    /// Runs a shell script with `$RUN` set to the namespace-and-remainroot
    /// prefix and `$REMAINROOT` to the binary, as the case scripts expect.
    @discardableResult
    static func shell(_ script: String, timeout: TimeInterval = 120, file: StaticString = #filePath, line: UInt = #line) throws -> Output {
        let prefix = namespacePrefix.joined(separator: " ")
        return try run(["sh", "-c", script], environment: ["RUN": prefix, "REMAINROOT": remainroot], timeout: timeout, file: file, line: line)
    }

    /// Compiles Tests/Programs/NAME.c into a temporary folder and returns
    /// the executable's path.
    static func compile(_ name: String, flags: [String] = []) throws -> String {
        let source = programsDirectory.appendingPathComponent("\(name).c").path
        let output = temporaryDirectory().appendingPathComponent(name).path
        let result = try run(["cc", "-O1", "-Wall", "-o", output, source] + flags)
        guard result.status == 0 else {
            throw CompileError(message: "cc \(name).c failed: \(result.standardError)")
        }
        return output
    }

    struct CompileError: Error {
        let message: String
    }

    /// A new folder, world-readable, removed when the test process exits.
    static func temporaryDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("remainroot-test-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        cleanup.append(url)
        return url
    }

    nonisolated(unsafe) private static var cleanup: [URL] = {
        atexit {
            for url in Harness.cleanup {
                try? FileManager.default.removeItem(at: url)
            }
        }
        return []
    }()

    /// Whether a program is on PATH.
    static func has(_ program: String) -> Bool {
        (try? run(["sh", "-c", "command -v \(program)"]).status) == 0
    }

    /// Skips the test unless the programs it runs are installed.
    static func require(_ programs: String...) throws {
        for program in programs where !has(program) {
            throw XCTSkip("needs \(program); Scripts/setup installs it")
        }
    }

    static var isRoot: Bool { getuid() == 0 }
}
