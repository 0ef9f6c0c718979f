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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        let stdout = Pipe()
        let stderr = Pipe()
        let stdin = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = stdin
        try process.run()

        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
        }
        try stdin.fileHandleForWriting.close()

        // Read both pipes while the process runs, so a full pipe never
        // blocks it.
        let group = DispatchGroup()
        let outData = Collected()
        let errData = Collected()
        DispatchQueue.global().async(group: group) { outData.data = stdout.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) { errData.data = stderr.fileHandleForReading.readDataToEndOfFile() }

        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline {
            usleep(10_000)
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            group.wait()
            XCTFail("timed out after \(timeout) s: \(arguments.joined(separator: " "))", file: file, line: line)
        }
        process.waitUntilExit()
        // A daemon the program started may hold the pipes open forever.
        if group.wait(timeout: .now() + max(1, deadline.timeIntervalSinceNow)) == .timedOut {
            XCTFail("output pipes still open after \(timeout) s: \(arguments.joined(separator: " "))", file: file, line: line)
        }

        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return Output(status: status, standardOutput: String(decoding: outData.data, as: UTF8.self), standardError: String(decoding: errData.data, as: UTF8.self))
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

    /// Bytes one reader thread collects; the group's wait orders the
    /// write before the read.
    private final class Collected: @unchecked Sendable {
        var data = Data()
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
