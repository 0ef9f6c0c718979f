import ArchPPC64LE
import Engine
import Foundation
import XCTest

// Layout and PPC64-only behavior of the backend. The numbers, the audit
// arch and the behavior every backend shares are checked for all CPUs by
// BackendConformanceTests.

private func distinctRegisters(base: UInt64 = 0x1000, trap: UInt64 = 0xC00) -> PPC64LERegisters {
    var registers = PPC64LERegisters()
    for index in 0..<32 {
        registers.gpr[index] = base + UInt64(index)
    }
    registers.nip = base + 32
    registers.msr = 0x8000_0000_0000_F033
    registers.orig_gpr3 = base + 34
    registers.ctr = base + 35
    registers.link = base + 36
    registers.xer = base + 37
    registers.ccr = 0x2200_0000
    registers.softe = 1
    registers.trap = trap
    return registers
}

private final class UnusedRegisterSets: RegisterSetAccess {
    private(set) var writes = 0

    func writeRegisterSet(_ type: Int32, bytes: UnsafeRawBufferPointer) throws(TraceError) {
        writes += 1
    }
}

final class PPC64LEBackendTests: XCTestCase {
    private let backend = PPC64LEBackend()

    func testLayoutMatchesPtRegsAndElfNGReg() throws {
        let header = try String(contentsOfFile: "/usr/powerpc64le-linux-gnu/include/asm/ptrace.h", encoding: .utf8)
        var offsets: [String: Int] = [:]
        for line in header.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.count >= 3, fields[0] == "#define", fields[1].hasPrefix("PT_"), let value = Int(fields[2]) {
                offsets[String(fields[1])] = value
            }
        }
        XCTAssertFalse(offsets.isEmpty, "linux-libc-dev-ppc64el-cross is missing; run Scripts/setup")

        let fields: [(String, PartialKeyPath<PPC64LERegisters>)] = [
            ("PT_NIP", \.nip), ("PT_MSR", \.msr), ("PT_ORIG_R3", \.orig_gpr3), ("PT_CTR", \.ctr),
            ("PT_LNK", \.link), ("PT_XER", \.xer), ("PT_CCR", \.ccr), ("PT_SOFTE", \.softe),
            ("PT_TRAP", \.trap), ("PT_DAR", \.dar), ("PT_DSISR", \.dsisr), ("PT_RESULT", \.result),
        ]
        for (name, keyPath) in fields {
            XCTAssertEqual(MemoryLayout<PPC64LERegisters>.offset(of: keyPath), offsets[name].map { $0 * 8 }, name)
        }
        XCTAssertEqual(MemoryLayout<PPC64LERegisters>.offset(of: \.padding), offsets["PT_REGS_COUNT"].map { $0 * 8 })

        let elf = try String(contentsOfFile: "/usr/powerpc64le-linux-gnu/include/asm/elf.h", encoding: .utf8)
        let line = try XCTUnwrap(elf.split(separator: "\n").first { $0.hasPrefix("#define ELF_NGREG") })
        let count = try XCTUnwrap(Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" })[2]))
        XCTAssertEqual(MemoryLayout<PPC64LERegisters>.size, count * 8)
    }

    func testFirstArgumentIsOrigGPR3() {
        var registers = distinctRegisters()
        registers.gpr[3] = UInt64(bitPattern: -38)
        XCTAssertEqual(backend.argument(0, of: registers), 0x1000 + 34)
        XCTAssertEqual(backend.argument(1, of: registers), 0x1000 + 4)
        XCTAssertEqual(backend.argument(5, of: registers), 0x1000 + 8)

        backend.setArgument(0, to: 0xFFFF_FFFF, in: &registers)
        XCTAssertEqual(registers.orig_gpr3, 0xFFFF_FFFF)
        XCTAssertEqual(registers.gpr[3], UInt64(bitPattern: -38), "r3 keeps the -ENOSYS the kernel put there")
    }

    func testScErrorSetsSummaryOverflow() {
        var registers = distinctRegisters()
        backend.setResult(.failure(.notPermitted), in: &registers)
        XCTAssertEqual(registers.gpr[3], 1)
        XCTAssertEqual(registers.ccr, 0x3200_0000)
        XCTAssertEqual(backend.result(of: registers), .failure(.notPermitted))

        backend.setResult(.success(5), in: &registers)
        XCTAssertEqual(registers.gpr[3], 5)
        XCTAssertEqual(registers.ccr, 0x2200_0000, "a success clears CR0.SO and nothing else")
        XCTAssertEqual(backend.result(of: registers), .success(5))
    }

    func testScSuccessMayLookNegative() {
        var registers = distinctRegisters()
        registers.gpr[3] = UInt64(bitPattern: -1)
        registers.ccr = 0
        XCTAssertEqual(backend.result(of: registers), .success(UInt64.max), "without CR0.SO r3 is a value")
    }

    func testScvUsesNegatedErrno() {
        var registers = distinctRegisters(trap: 0x3000)
        backend.setResult(.failure(.invalidArgument), in: &registers)
        XCTAssertEqual(registers.gpr[3], UInt64(bitPattern: -22))
        XCTAssertEqual(registers.ccr, 0x2200_0000, "scv leaves ccr alone")
        XCTAssertEqual(backend.result(of: registers), .failure(.invalidArgument))
    }

    func testCancelSetsR0AndWaitsForExit() throws {
        var registers = distinctRegisters()
        var expected = registers
        expected.gpr[0] = UInt64.max
        let registerSets = UnusedRegisterSets()

        try backend.cancelSyscall(in: &registers, registerSets: registerSets)

        XCTAssertEqual(registers, expected)
        XCTAssertEqual(registerSets.writes, 0)
        XCTAssertEqual(backend.cancelledResultStop, .exit)
    }

    func testRestoreArgumentsKeepsResultAndFlags() {
        let entry = distinctRegisters(base: 0x1000)
        var exit = distinctRegisters(base: 0x2000)
        exit.ccr |= 0x1000_0000
        var expected = exit
        expected.orig_gpr3 = entry.orig_gpr3
        for index in 4...8 {
            expected.gpr[index] = entry.gpr[index]
        }

        backend.restoreArguments(from: entry, into: &exit)

        XCTAssertEqual(exit, expected)
    }

    func testThirtyTwoBitTaskHasNoABI() {
        var registers = distinctRegisters()
        XCTAssertEqual(backend.abiIndex(of: registers), 0)
        registers.msr &= ~PPC64LERegisters.sixtyFourBitMode
        XCTAssertNil(backend.abiIndex(of: registers))
    }
}
