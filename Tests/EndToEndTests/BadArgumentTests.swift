@preconcurrency import Glibc
import Foundation
import XCTest

/// Every call remainroot handles, made with invalid pointers, sizes, ids,
/// descriptors and flags by Tests/Programs/bad-arguments.c, must fail or
/// succeed exactly as it does for real root. The native run is the oracle:
/// the test process is root of the initial user namespace.
final class BadArgumentTests: XCTestCase {
    func testBadArgumentsWithAttributeRecords() throws {
        try compareWithKernel(options: ["--ownership=xattr"])
    }

    func testBadArgumentsWithStateFileRecords() throws {
        let state = Harness.temporaryDirectory().appendingPathComponent("state.db").path
        try compareWithKernel(options: ["--ownership=state", "--state", state])
    }

    /// The same calls by uid 1000 (gid 1000, groups [1000]): natively
    /// through setpriv, under remainroot with --identity. Most fail with
    /// EPERM, in the kernel's order of checks.
    func testBadArgumentsAsUnprivilegedUser() throws {
        try Harness.require("setpriv")
        try compareWithKernel(options: ["--ownership=xattr", "--identity", "1000:1000"],
                                nativePrefix: ["setpriv", "--reuid", "1000", "--regid", "1000", "--groups", "1000"])
    }

    private func compareWithKernel(options: [String], nativePrefix: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws {
        try XCTSkipUnless(Harness.isRoot, "the native run is the oracle and must be real root")
        let program = try Harness.compile("bad-arguments")
        let work = Harness.temporaryDirectory()
        let nativeDirectory = work.appendingPathComponent("native")
        let emulatedDirectory = work.appendingPathComponent("remainroot")
        for directory in [nativeDirectory, emulatedDirectory] {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
            // Writable by everyone, for the run as uid 1000.
            chmod(directory.path, 0o777)
        }

        let native = try Harness.run(nativePrefix + [program, nativeDirectory.path], timeout: 60)
        XCTAssertEqual(native.status, 0, "native run failed: \(native.standardError)", file: file, line: line)
        XCTAssertEqual(native.standardError, "", file: file, line: line)
        let emulated = try Harness.run([Harness.remainroot, "--unshare"] + options + ["--", program, emulatedDirectory.path], timeout: 60)
        XCTAssertEqual(emulated.status, 0, "remainroot run failed: \(emulated.standardError)", file: file, line: line)

        let nativeLines = native.standardOutput.split(separator: "\n", omittingEmptySubsequences: false)
        let emulatedLines = emulated.standardOutput.split(separator: "\n", omittingEmptySubsequences: false)
        // Fewer lines mean the program stopped early: the table has about 360.
        XCTAssertGreaterThan(nativeLines.count, 300, "the native run printed too few cases", file: file, line: line)
        XCTAssertEqual(emulatedLines.count, nativeLines.count, "the runs printed different numbers of cases", file: file, line: line)
        let differing = zip(nativeLines, emulatedLines).filter { $0 != $1 }
        let report = differing.prefix(10).map { "real root:  \($0.0)\nremainroot: \($0.1)" }.joined(separator: "\n")
        XCTAssertTrue(differing.isEmpty, "\(differing.count) cases differ from real root:\n\(report)", file: file, line: line)
    }
}
