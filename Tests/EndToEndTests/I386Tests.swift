import Foundation
import XCTest

/// 32-bit i386 programs on x86_64: the credential cases of the
/// privilege-drop and thread scripts, rewritten in C and built with
/// `gcc -m32`, static and dynamic. Each must print under remainroot what it
/// prints as the real root outside any namespace.
final class I386Tests: XCTestCase {
    override func setUpWithError() throws {
        #if !arch(x86_64)
        throw XCTSkip("i386 programs run only on x86_64")
        #endif
        guard Harness.isRoot else { throw XCTSkip("the comparison with real root needs root") }
        let probe = try Harness.run(["sh", "-c", "printf 'int main(void){return 0;}' | cc -m32 -x c -o /dev/null -"])
        guard probe.status == 0 else {
            throw XCTSkip("cc -m32 does not work; Scripts/setup installs gcc-12-multilib and linux-libc-dev:i386")
        }
    }

    /// Builds NAME.c as an i386 program, checks that it is one, and returns
    /// its path.
    private func buildI386(_ name: String, static linkStatically: Bool) throws -> String {
        var flags = ["-m32", "-pthread"]
        if linkStatically {
            flags.append("-static")
        }
        let path = try Harness.compile(name, flags: flags)
        let header = try XCTUnwrap(FileHandle(forReadingAtPath: path)).readData(ofLength: 5)
        XCTAssertEqual(Array(header), [0x7F, 0x45, 0x4C, 0x46, 1], "\(name) is not a 32-bit ELF file")
        return path
    }

    private func compare(_ name: String, expected: String) throws {
        for linkStatically in [true, false] {
            let variant = "\(name), \(linkStatically ? "static" : "dynamic")"
            let program = try buildI386(name, static: linkStatically)

            let native = try Harness.run([program])
            XCTAssertEqual(native.status, 0, "\(variant) as real root: \(native.combined)")
            XCTAssertEqual(native.standardOutput, expected, "\(variant) as real root")

            let traced = try Harness.run(Harness.namespacePrefix + [program])
            XCTAssertEqual(traced.status, 0, "\(variant) under remainroot: \(traced.combined)")
            XCTAssertEqual(traced.standardOutput, native.standardOutput, "\(variant) under remainroot")
        }
    }

    func testPrivilegeDropCannotBeUndone() throws {
        try compare("privilege-drop", expected: "(1000, 1000, 1000) (1000, 1000, 1000) []\nEPERM\n")
    }

    func testThreadsAgreeAfterSetresuid() throws {
        try compare("threads-agree", expected: "1000 1000\n")
    }

    /// `int $0x80` with the 16-bit calls: 0xFFFF leaves an id unchanged,
    /// ids above 65535 read as the overflow id 65534, and a task without
    /// CAP_SETUID gets EPERM (-1 is -EPERM in eax).
    func testSixteenBitCalls() throws {
        try compare("sixteen-bit-ids", expected: """
            setgroups16 0
            setresuid32 0
            getuid16 65534
            setresuid16 0
            getresuid16 0 65534 1000 0
            setresuid16 -1

            """)
    }

    /// Owners given away, a device made, and both read back by an i386
    /// program, natively in one folder and under remainroot in another.
    func testOwnersAndDevicesOfFiles() throws {
        for linkStatically in [true, false] {
            let variant = linkStatically ? "static" : "dynamic"
            let program = try buildI386("i386-files", static: linkStatically)
            let nativeFolder = Harness.temporaryDirectory().path
            let tracedFolder = Harness.temporaryDirectory().path

            let native = try Harness.run([program, nativeFolder])
            XCTAssertEqual(native.status, 0, "\(variant) as real root: \(native.combined)")
            XCTAssertTrue(native.standardOutput.contains("file: - 644 1000:1001"), native.standardOutput)

            let traced = try Harness.run(Harness.namespacePrefix + [program, tracedFolder])
            XCTAssertEqual(traced.status, 0, "\(variant) under remainroot: \(traced.combined)")
            XCTAssertEqual(traced.standardOutput, native.standardOutput, "\(variant) under remainroot")
        }
    }

    /// Without remainroot, the namespace's kernel rejects the drop to an
    /// unmapped id, so the comparison above shows remainroot's work.
    func testDropFailsWithoutRemainroot() throws {
        let program = try buildI386("privilege-drop", static: true)
        let output = try Harness.run(["unshare", "--user", "--map-root-user", "--fork", program])
        XCTAssertEqual(output.status, 1)
        XCTAssertTrue(output.standardOutput.hasPrefix("drop failed: "), output.standardOutput)
    }
}
