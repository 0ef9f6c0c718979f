import ArchAArch64
import ArchPPC64LE
import ArchX86_64
import Engine
import XCTest

/// Runs the conformance suite for every backend over the images recorded
/// on real kernels by Scripts/record-register-images.
final class ConformanceTests: XCTestCase {
    private func recording(_ name: String) throws -> Recording {
        guard let recording = try Recording.load(name) else {
            throw XCTSkip("no recording for \(name); run Scripts/record-register-images \(name)")
        }
        return recording
    }

    func testX86_64() throws {
        let recording = try recording("x86_64")
        XCTAssertEqual(recording.machine, "x86_64")
        try BackendConformance(backend: X86_64Backend(), abiName: "x86_64").check(recording)
    }

    func testI386() throws {
        let recording = try recording("i386")
        try BackendConformance(backend: X86_64Backend(), abiName: "i386").check(recording)
    }

    func testAArch64() throws {
        let recording = try recording("aarch64")
        XCTAssertEqual(recording.machine, "aarch64")
        var suite = BackendConformance(backend: AArch64Backend(), abiName: "aarch64")
        suite.expectedRegisterSetWrites = [(0x404, [0xFF, 0xFF, 0xFF, 0xFF])]
        try suite.check(recording)
    }

    func testPPC64LE() throws {
        let recording = try recording("ppc64le")
        XCTAssertEqual(recording.machine, "ppc64le")
        try BackendConformance(backend: PPC64LEBackend(), abiName: "ppc64le").check(recording)
    }

    func testRecordingsNameTheirKernel() throws {
        for name in ["x86_64", "i386", "aarch64", "ppc64le"] {
            guard let recording = try Recording.load(name) else { continue }
            XCTAssertFalse(recording.kernel.isEmpty, "\(name) recording names no kernel")
        }
    }
}
