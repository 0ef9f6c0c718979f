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
        var suite = BackendConformance(backend: X86_64Backend(), abiName: "x86_64")
        suite.kernelEntry = Self.x86Entry
        suite.syscallInstruction = [0x0F, 0x05]
        try suite.check(recording)
    }

    func testI386() throws {
        let recording = try recording("i386")
        var suite = BackendConformance(backend: X86_64Backend(), abiName: "i386")
        suite.kernelEntry = Self.x86Entry
        suite.syscallInstruction = [0xCD, 0x80]
        try suite.check(recording)
    }

    func testAArch64() throws {
        let recording = try recording("aarch64")
        XCTAssertEqual(recording.machine, "aarch64")
        var suite = BackendConformance(backend: AArch64Backend(), abiName: "aarch64")
        suite.expectedRegisterSetWrites = [(0x404, [0xFF, 0xFF, 0xFF, 0xFF])]
        // The entry code copies x8 into syscallno, which the register set
        // leaves out; the backend reads the number from x8.
        suite.syscallInstruction = [0x01, 0x00, 0x00, 0xD4]
        try suite.check(recording)
    }

    func testPPC64LE() throws {
        let recording = try recording("ppc64le")
        XCTAssertEqual(recording.machine, "ppc64le")
        var suite = BackendConformance(backend: PPC64LEBackend(), abiName: "ppc64le")
        // system_call_exception keeps r3 in orig_gpr3, and do_seccomp puts
        // -ENOSYS in r3 before the stop (arch/powerpc/kernel/ptrace/ptrace.c).
        suite.kernelEntry = { registers in
            var entered = registers
            entered.orig_gpr3 = registers.gpr[3]
            entered.gpr[3] = UInt64(bitPattern: -38)
            return entered
        }
        suite.syscallInstruction = [0x02, 0x00, 0x00, 0x44]
        try suite.check(recording)
    }

    /// The `syscall` and `int $0x80` entries copy rax into orig_rax
    /// (arch/x86/entry/entry_64.S and entry_64_compat.S push it as
    /// `pt_regs->orig_ax`).
    private static func x86Entry(_ registers: X86_64Registers) -> X86_64Registers {
        var entered = registers
        entered.orig_rax = registers.isSixtyFourBitMode ? registers.rax : UInt64(UInt32(truncatingIfNeeded: registers.rax))
        return entered
    }

    /// RISC-V 64 has no backend because its register set does not show the
    /// first argument at a seccomp stop on current kernels. The entry code
    /// puts -ENOSYS in a0 before the filter runs and keeps the argument in
    /// `orig_a0`, which `NT_PRSTATUS` leaves out. This test checks that
    /// fact on the recorded images (Debian 13's 6.12 kernel), so it fails
    /// when a new recording shows otherwise.
    func testRISCV64HidesFirstArgument() throws {
        let recording = try recording("riscv64")
        let minusENOSYS = UInt64(bitPattern: -38)
        for call in recording.calls {
            let bytes = try XCTUnwrap(recording.image(call, .run, .seccomp), call.name)
            XCTAssertEqual(bytes.count, 32 * 8, "\(call.name): user_regs_struct is 32 words")
            let a0 = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 10 * 8, as: UInt64.self) }
            let a7 = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 17 * 8, as: UInt64.self) }
            XCTAssertEqual(Int64(bitPattern: a7), call.number, "\(call.name): the number is in a7")
            XCTAssertEqual(a0, minusENOSYS, "\(call.name): a0 is -ENOSYS, not argument 0")
        }
    }

    func testRecordingsNameTheirKernel() throws {
        for name in ["x86_64", "i386", "aarch64", "ppc64le", "riscv64"] {
            guard let recording = try Recording.load(name) else { continue }
            XCTAssertFalse(recording.kernel.isEmpty, "\(name) recording names no kernel")
        }
    }
}
