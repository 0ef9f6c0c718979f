import XCTest

/// Runs Tests/Programs/permission-checks.c as real root and under
/// remainroot, and requires the same outcome for every open, access,
/// chown, mknod, mkdir and symlink after the program drops its rights with
/// setresuid, setfsuid and capset. Real root is the oracle: the kernel
/// applies its own permission checks to the lowered identity.
final class PermissionCheckTests: XCTestCase {
    func testLoweredIdentityMatchesRealRoot() throws {
        try XCTSkipUnless(Harness.isRoot, "the native oracle needs real root")
        let program = try Harness.compile("permission-checks")
        let nativeDirectory = Harness.temporaryDirectory().path
        let emulatedDirectory = Harness.temporaryDirectory().path

        let native = try Harness.run([program, nativeDirectory])
        XCTAssertEqual(native.status, 0, native.standardError)
        // The oracle must show refusals, or the comparison proves nothing.
        XCTAssertTrue(native.standardOutput.contains("euid 65534: open secret read-only: EACCES\n"), native.standardOutput)
        XCTAssertTrue(native.standardOutput.contains("euid 65534: open private/missing: EACCES\n"), native.standardOutput)
        XCTAssertTrue(native.standardOutput.contains("capset: open no-bits: EACCES\n"), native.standardOutput)

        let emulated = try Harness.run(Harness.namespacePrefix + [program, emulatedDirectory])
        XCTAssertEqual(emulated.status, 0, emulated.standardError)
        let nativeLines = native.standardOutput.split(separator: "\n", omittingEmptySubsequences: false)
        let emulatedLines = emulated.standardOutput.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(emulatedLines.count, nativeLines.count, "line count; remainroot printed:\n\(emulated.standardOutput)")
        for (nativeLine, emulatedLine) in zip(nativeLines, emulatedLines) {
            XCTAssertEqual(emulatedLine, nativeLine)
        }
    }
}
