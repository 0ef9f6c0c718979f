import ArchAArch64
import Engine
import Foundation
import XCTest

// Layout and AArch64-only behavior of the backend. The numbers, the audit
// arch and the behavior every backend shares are checked for all CPUs by
// BackendConformanceTests.

/// An image in which every register has a distinct value.
private func distinctRegisters(base: UInt64 = 0x1000) -> AArch64Registers {
    var registers = AArch64Registers()
    for index in 0..<31 {
        registers.regs[index] = base + UInt64(index)
    }
    registers.sp = base + 31
    registers.pc = base + 32
    registers.pstate = 0x6000_0000
    return registers
}

private final class RecordingRegisterSets: RegisterSetAccess {
    private(set) var writes: [(type: Int32, bytes: [UInt8])] = []

    func writeRegisterSet(_ type: Int32, bytes: UnsafeRawBufferPointer) throws(TraceError) {
        writes.append((type, Array(bytes)))
    }
}

final class AArch64BackendTests: XCTestCase {
    private let backend = AArch64Backend()

    func testLayoutMatchesUserPtRegs() throws {
        XCTAssertEqual(MemoryLayout<AArch64Registers>.size, 34 * 8)
        XCTAssertEqual(MemoryLayout<AArch64Registers>.offset(of: \.sp), 31 * 8)
        XCTAssertEqual(MemoryLayout<AArch64Registers>.offset(of: \.pc), 32 * 8)
        XCTAssertEqual(MemoryLayout<AArch64Registers>.offset(of: \.pstate), 33 * 8)

        let header = try String(contentsOfFile: "/usr/aarch64-linux-gnu/include/asm/ptrace.h", encoding: .utf8)
        let start = try XCTUnwrap(header.range(of: "struct user_pt_regs {"), "linux-libc-dev-arm64-cross is missing; run Scripts/setup")
        let end = try XCTUnwrap(header.range(of: "};", range: start.upperBound..<header.endIndex))
        let body = header[start.upperBound..<end.lowerBound]
            .split(separator: "\n")
            .map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ") }
        XCTAssertEqual(body, ["__u64 regs[31];", "__u64 sp;", "__u64 pc;", "__u64 pstate;"])
    }

    func testDecodeRejectsOtherLengths() {
        let bytes = [UInt8](repeating: 0, count: 18 * 4)
        bytes.withUnsafeBytes { XCTAssertNil(backend.decodeRegisters($0), "an AArch32 task's 72-byte set") }
        XCTAssertEqual(backend.registerSetSize, 272)
    }

    func testNumberIsLowWordOfX8() {
        var registers = distinctRegisters()
        registers.regs[8] = 0xFFFF_FFFF_0000_0092
        XCTAssertEqual(backend.syscallNumber(of: registers), 146)
        registers.regs[8] = 0x0000_0000_FFFF_FFFF
        XCTAssertEqual(backend.syscallNumber(of: registers), -1)
    }

    func testRestoreArgumentsLeavesX0() {
        let entry = distinctRegisters(base: 0x1000)
        var exit = distinctRegisters(base: 0x2000)
        var expected = exit
        for index in 1..<6 {
            expected.regs[index] = entry.regs[index]
        }

        backend.restoreArguments(from: entry, into: &exit)

        XCTAssertEqual(exit, expected)
        XCTAssertEqual(exit.regs[0], 0x2000, "x0 keeps the result")
    }

    func testCancelWritesSystemCallRegisterSet() throws {
        var registers = distinctRegisters()
        let untouched = registers
        let registerSets = RecordingRegisterSets()

        try backend.cancelSyscall(in: &registers, registerSets: registerSets)

        XCTAssertEqual(registers, untouched, "x8 is not where the kernel reads the number")
        XCTAssertEqual(registerSets.writes.count, 1)
        XCTAssertEqual(registerSets.writes.first?.type, 0x404, "NT_ARM_SYSTEM_CALL")
        XCTAssertEqual(registerSets.writes.first?.bytes, [0xFF, 0xFF, 0xFF, 0xFF], "the int -1")
        XCTAssertEqual(backend.cancelledResultStop, .entry)
    }

    func testAArch32TaskHasNoABI() {
        var registers = distinctRegisters()
        XCTAssertEqual(backend.abiIndex(of: registers), 0)
        registers.pstate |= AArch64Registers.mode32Bit
        XCTAssertNil(backend.abiIndex(of: registers))
    }
}
