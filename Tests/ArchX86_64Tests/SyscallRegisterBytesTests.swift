import ArchX86_64
import Engine
import XCTest

/// The engine writes back only the first `syscallRegisterByteCount` bytes
/// of a register set at a syscall stop, so every change a syscall stop
/// makes must fall inside them, in both register layouts.
final class SyscallRegisterBytesTests: XCTestCase {
    private let backend = X86_64Backend()

    private struct NoRegisterSets: RegisterSetAccess {
        func writeRegisterSet(_ type: Int32, bytes: UnsafeRawBufferPointer) throws(TraceError) {
            XCTFail("x86_64 writes no other register set")
        }
    }

    /// Returns a register image in which every field differs, in 64-bit or
    /// i386 mode.
    private func image(sixtyFourBit: Bool) -> X86_64Registers {
        var registers = X86_64Registers()
        withUnsafeMutableBytes(of: &registers) { bytes in
            for index in 0..<bytes.count {
                bytes[index] = UInt8(truncatingIfNeeded: index &* 7 &+ 3)
            }
        }
        registers.cs = sixtyFourBit ? X86_64Registers.userCodeSegment64 : X86_64Registers.userCodeSegment32
        return registers
    }

    /// Returns the index of the last byte where the two encodings differ,
    /// or nil.
    private func lastDifference(_ before: X86_64Registers, _ after: X86_64Registers) -> Int? {
        zip(backend.encodeRegisters(before), backend.encodeRegisters(after)).enumerated().reversed().first { $0.element.0 != $0.element.1 }?.offset
    }

    func testSixtyFourBitCountEndsAtOrigRAX() {
        let registers = image(sixtyFourBit: true)
        XCTAssertEqual(backend.syscallRegisterByteCount(of: registers), 16 * 8, "r15 to orig_rax, sixteen 8-byte registers")
    }

    /// An answered call changes orig_rax and rax, which PTRACE_POKEUSER
    /// takes at their offsets in `struct user` (120 and 80). An i386
    /// task's changes go through the regset.
    func testAnsweredCallPokesTwoWords() throws {
        let registers = image(sixtyFourBit: true)
        var answered = registers
        try backend.cancelSyscall(in: &answered, registerSets: NoRegisterSets())
        backend.setResult(.success(1000), in: &answered)

        let words = try XCTUnwrap(backend.changedRegisterWords(from: registers, to: answered))
        XCTAssertEqual(words.map(\.offset), [80, 120])
        XCTAssertEqual(words.map(\.value), [1000, UInt64.max])
        XCTAssertEqual(backend.changedRegisterWords(from: registers, to: registers)?.count, 0)

        let i386 = image(sixtyFourBit: false)
        var i386Answered = i386
        try backend.cancelSyscall(in: &i386Answered, registerSets: NoRegisterSets())
        XCTAssertNil(backend.changedRegisterWords(from: i386, to: i386Answered))
    }

    func testI386CountEndsAtOrigEAX() {
        let registers = image(sixtyFourBit: false)
        XCTAssertEqual(backend.syscallRegisterByteCount(of: registers), 12 * 4, "ebx to orig_eax, twelve 4-byte registers")
        XCTAssertEqual(backend.encodeRegisters(registers).count, 68)
    }

    func testSyscallStopChangesFitTheCount() throws {
        for sixtyFourBit in [true, false] {
            let original = image(sixtyFourBit: sixtyFourBit)
            let count = backend.syscallRegisterByteCount(of: original)
            let mode = sixtyFourBit ? "x86_64" : "i386"

            for index in 0..<6 {
                var changed = original
                backend.setArgument(index, to: 0x0102_0304_0506_0708, in: &changed)
                let last = try XCTUnwrap(lastDifference(original, changed), "\(mode) argument \(index) changed nothing")
                XCTAssertLessThan(last, count, "\(mode) argument \(index)")
            }

            var answered = original
            try backend.cancelSyscall(in: &answered, registerSets: NoRegisterSets())
            backend.setResult(.failure(.notPermitted), in: &answered)
            let last = try XCTUnwrap(lastDifference(original, answered), "\(mode) cancel and result changed nothing")
            XCTAssertLessThan(last, count, "\(mode) cancel and result")

            var rewritten = original
            for index in 0..<6 {
                backend.setArgument(index, to: 0xFFFF_FFFF, in: &rewritten)
            }
            var restored = rewritten
            backend.restoreArguments(from: original, into: &restored)
            let lastRestored = try XCTUnwrap(lastDifference(rewritten, restored), "\(mode) restoring the arguments changed nothing")
            XCTAssertLessThan(lastRestored, count, "\(mode) restored arguments")
        }
    }

    func testCountIsWholeRegisters() {
        XCTAssertEqual(backend.syscallRegisterByteCount(of: image(sixtyFourBit: true)) % 8, 0)
        XCTAssertEqual(backend.syscallRegisterByteCount(of: image(sixtyFourBit: false)) % 4, 0)
    }
}
