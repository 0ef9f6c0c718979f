import ArchX86_64
import Engine
import Foundation
import XCTest

// Tests of the x86_64 backend over register images. Layout and numbers are
// checked against the headers Debian installs: glibc's <sys/user.h>
// (libc6-dev) for the order of user_regs_struct, which is the kernel's
// arch/x86/include/asm/user_64.h order, and linux-libc-dev's
// <asm/unistd_64.h>, <asm/unistd.h>, <linux/audit.h> and <linux/elf-em.h>.

/// Every register field by its kernel name. (A computed list, because key
/// paths are not Sendable and so cannot be a global constant.)
private var fields: [(String, WritableKeyPath<X86_64Registers, UInt64>)] {
    [
        ("r15", \.r15), ("r14", \.r14), ("r13", \.r13), ("r12", \.r12),
        ("rbp", \.rbp), ("rbx", \.rbx), ("r11", \.r11), ("r10", \.r10),
        ("r9", \.r9), ("r8", \.r8), ("rax", \.rax), ("rcx", \.rcx),
        ("rdx", \.rdx), ("rsi", \.rsi), ("rdi", \.rdi), ("orig_rax", \.orig_rax),
        ("rip", \.rip), ("cs", \.cs), ("eflags", \.eflags), ("rsp", \.rsp),
        ("ss", \.ss), ("fs_base", \.fs_base), ("gs_base", \.gs_base), ("ds", \.ds),
        ("es", \.es), ("fs", \.fs), ("gs", \.gs),
    ]
}

/// Builds a register image of a 64-bit task in which every other field has
/// a distinct value, so that writing the wrong field shows. cs is 0x33,
/// because the backend reads the task's mode from it.
private func distinctRegisters(base: UInt64 = 0x1000) -> X86_64Registers {
    var registers = X86_64Registers()
    for (index, (_, keyPath)) in fields.enumerated() {
        registers[keyPath: keyPath] = base + UInt64(index)
    }
    registers.cs = X86_64Registers.userCodeSegment64
    return registers
}

/// Reads the `#define NAME VALUE` lines of a header, with VALUE as written.
private func defines(inHeader path: String) throws -> [String: String] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    var result: [String: String] = [:]
    for line in text.split(separator: "\n") {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count >= 3, fields[0] == "#define" else { continue }
        // Keep the value up to a trailing comment.
        let value = fields[2...].prefix { !$0.hasPrefix("/*") }.joined()
        result[String(fields[1])] = value
    }
    return result
}

/// Evaluates a header value of the form `(A|B|C)` where each part is a
/// number or another define, as AUDIT_ARCH_* values are written.
private func evaluate(_ expression: String, defines: [String: String]) throws -> UInt32 {
    let trimmed = expression.trimmingCharacters(in: CharacterSet(charactersIn: "()"))
    var value: UInt32 = 0
    for part in trimmed.split(separator: "|") {
        let token = part.trimmingCharacters(in: .whitespaces)
        if token.hasPrefix("0x"), let number = UInt32(token.dropFirst(2), radix: 16) {
            value |= number
        } else if let number = UInt32(token) {
            value |= number
        } else {
            let definition = try XCTUnwrap(defines[token], "\(token) is not defined")
            value |= try evaluate(definition, defines: defines)
        }
    }
    return value
}

private final class UnusedRegisterSets: RegisterSetAccess {
    private(set) var writes = 0

    func writeRegisterSet(_ type: Int32, bytes: UnsafeRawBufferPointer) throws(TraceError) {
        writes += 1
    }
}

final class X86_64BackendTests: XCTestCase {
    private let backend = X86_64Backend()

    // MARK: - Layout

    func testRegisterSetIsUserRegsStructSize() {
        XCTAssertEqual(MemoryLayout<X86_64Registers>.size, 27 * 8)
        XCTAssertEqual(MemoryLayout<X86_64Registers>.stride, 27 * 8)
    }

    func testSyscallFieldOffsets() {
        XCTAssertEqual(MemoryLayout<X86_64Registers>.offset(of: \.orig_rax), 15 * 8)
        XCTAssertEqual(MemoryLayout<X86_64Registers>.offset(of: \.rip), 16 * 8)
        XCTAssertEqual(MemoryLayout<X86_64Registers>.offset(of: \.cs), 17 * 8)
        XCTAssertEqual(MemoryLayout<X86_64Registers>.offset(of: \.rax), 10 * 8)
        XCTAssertEqual(MemoryLayout<X86_64Registers>.offset(of: \.rsp), 19 * 8)
    }

    func testFieldOrderMatchesSysUserHeader() throws {
        let header = try String(contentsOfFile: "/usr/include/x86_64-linux-gnu/sys/user.h", encoding: .utf8)
        let start = try XCTUnwrap(header.range(of: "struct user_regs_struct\n{"))
        let end = try XCTUnwrap(header.range(of: "};", range: start.upperBound..<header.endIndex))
        let names = header[start.upperBound..<end.lowerBound]
            .split(separator: "\n")
            .compactMap { line in line.split(separator: " ").last.map { String($0.dropLast()) } }
            .filter { !$0.isEmpty }

        XCTAssertEqual(names, fields.map(\.0))
        for (index, (name, keyPath)) in fields.enumerated() {
            XCTAssertEqual(MemoryLayout<X86_64Registers>.offset(of: keyPath), index * 8, name)
        }
    }

    // MARK: - Arguments

    func testArgumentRegisters() {
        let registers = distinctRegisters()
        let expected = [registers.rdi, registers.rsi, registers.rdx, registers.r10, registers.r8, registers.r9]
        for (index, value) in expected.enumerated() {
            XCTAssertEqual(backend.argument(index, of: registers), value, "argument \(index)")
        }
    }

    func testSetArgumentWritesOneRegister() {
        let argumentFields: [WritableKeyPath<X86_64Registers, UInt64>] = [\.rdi, \.rsi, \.rdx, \.r10, \.r8, \.r9]
        for (index, keyPath) in argumentFields.enumerated() {
            var registers = distinctRegisters()
            var expected = registers
            expected[keyPath: keyPath] = 0xDEAD_BEEF

            backend.setArgument(index, to: 0xDEAD_BEEF, in: &registers)

            XCTAssertEqual(registers, expected, "argument \(index)")
        }
    }

    func testRestoreArgumentsKeepsResult() {
        let entry = distinctRegisters(base: 0x1000)
        var exit = distinctRegisters(base: 0x2000)
        var expected = exit
        for keyPath: WritableKeyPath<X86_64Registers, UInt64> in [\.rdi, \.rsi, \.rdx, \.r10, \.r8, \.r9] {
            expected[keyPath: keyPath] = entry[keyPath: keyPath]
        }

        backend.restoreArguments(from: entry, into: &exit)

        XCTAssertEqual(exit, expected)
        XCTAssertEqual(exit.rax, 0x2000 + 10, "rax keeps the result")
        XCTAssertEqual(exit.orig_rax, 0x2000 + 15)
    }

    // MARK: - Number and ABI

    func testSyscallNumberIsOrigRAX() {
        var registers = distinctRegisters()
        registers.orig_rax = 105
        registers.rax = UInt64(bitPattern: -38)
        XCTAssertEqual(backend.syscallNumber(of: registers), 105)

        registers.orig_rax = UInt64.max
        XCTAssertEqual(backend.syscallNumber(of: registers), -1)
    }

    func testABIIndex() {
        // (name, cs, orig_rax, expected, line)
        let cases: [(String, UInt64, UInt64, Int?, UInt)] = [
            ("64-bit code segment", 0x33, 105, 0, #line),
            ("32-bit code segment", 0x23, 213, 1, #line),
            ("32-bit code segment with an x86_64 number", 0x23, 105, 1, #line),
            ("16-bit or LDT code segment", 0x0F, 23, nil, #line),
            ("x32 call", 0x33, 0x4000_0000 | 105, nil, #line),
            ("x32 bit alone", 0x33, 0x4000_0000, nil, #line),
            ("largest x86_64 number below the x32 bit", 0x33, 0x3FFF_FFFF, 0, #line),
        ]
        for (name, cs, number, expected, line) in cases {
            var registers = distinctRegisters()
            registers.cs = cs
            registers.orig_rax = number
            XCTAssertEqual(backend.abiIndex(of: registers), expected, name, line: line)
        }
    }

    // MARK: - Results

    func testResultDecoding() {
        // (rax, expected, line)
        let cases: [(Int64, SyscallResult, UInt)] = [
            (0, .success(0), #line),
            (42, .success(42), #line),
            (-1, .failure(Errno(1)), #line),
            (-22, .failure(Errno(22)), #line),
            (-4095, .failure(Errno(4095)), #line),
            (-4096, .success(UInt64(bitPattern: -4096)), #line),
            (Int64.min, .success(UInt64(bitPattern: Int64.min)), #line),
            (0x7FFF_F7DD_1000, .success(0x7FFF_F7DD_1000), #line),
            (Int64.max, .success(UInt64(Int64.max)), #line),
        ]
        for (rax, expected, line) in cases {
            var registers = distinctRegisters()
            registers.rax = UInt64(bitPattern: rax)
            XCTAssertEqual(backend.result(of: registers), expected, "rax \(rax)", line: line)
        }
    }

    func testSetResultWritesOnlyRAX() {
        // (result, expected rax, line)
        let cases: [(SyscallResult, UInt64, UInt)] = [
            (.failure(Errno(1)), UInt64(bitPattern: -1), #line),
            (.failure(Errno(22)), UInt64(bitPattern: -22), #line),
            (.failure(Errno(14)), UInt64(bitPattern: -14), #line),
            (.success(0), 0, #line),
            (.success(65534), 65534, #line),
        ]
        for (result, rax, line) in cases {
            var registers = distinctRegisters()
            var expected = registers
            expected.rax = rax

            backend.setResult(result, in: &registers)

            XCTAssertEqual(registers, expected, "\(result)", line: line)
            XCTAssertEqual(backend.result(of: registers), result, "\(result) reads back", line: line)
        }
    }

    // MARK: - Cancelling

    func testCancelSetsOrigRAXToMinusOne() throws {
        var registers = distinctRegisters()
        var expected = registers
        expected.orig_rax = UInt64.max
        let registerSets = UnusedRegisterSets()

        try backend.cancelSyscall(in: &registers, registerSets: registerSets)

        XCTAssertEqual(registers, expected)
        XCTAssertEqual(registerSets.writes, 0, "x86_64 needs no register set besides NT_PRSTATUS")
        XCTAssertEqual(backend.cancelledResultStop, .entry)
    }

    // MARK: - Parking

    /// The image of a fork child's first stop, rewritten so that the
    /// kernel's restart sends it into pause: only orig_rax and rax change.
    func testParkedRegistersRestartIntoPause() throws {
        let cases: [(cs: UInt64, forkNumber: UInt64, pauseNumber: UInt64)] = [
            (X86_64Registers.userCodeSegment64, 57, 34),
            (X86_64Registers.userCodeSegment64, 57 | 0x4000_0000, 34 | 0x4000_0000),
            (X86_64Registers.userCodeSegment32, 2, 29),
        ]
        for (cs, forkNumber, pauseNumber) in cases {
            var registers = distinctRegisters()
            registers.cs = cs
            registers.orig_rax = forkNumber
            registers.rax = 0
            var expected = registers
            expected.orig_rax = pauseNumber
            expected.rax = UInt64(bitPattern: -513)

            let parked = try XCTUnwrap(backend.parkedRegisters(registers), "cs \(cs), orig_rax \(forkNumber)")
            XCTAssertEqual(parked, expected, "cs \(cs), orig_rax \(forkNumber)")
        }
    }

    func testParkedRegistersNeedASystemCallStop() {
        var registers = distinctRegisters()
        registers.cs = X86_64Registers.userCodeSegment64
        registers.orig_rax = UInt64.max
        XCTAssertNil(backend.parkedRegisters(registers), "a stop outside a system call has no syscall instruction before rip")

        registers.orig_rax = 57
        registers.cs = 0x2b
        XCTAssertNil(backend.parkedRegisters(registers), "an unknown code segment")
    }

    func testPauseNumbersMatchUnistdHeaders() throws {
        let native = try defines(inHeader: "/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
        let compat = try defines(inHeader: "/usr/include/x86_64-linux-gnu/asm/unistd_32.h")
        var registers = distinctRegisters()
        registers.orig_rax = 57

        registers.cs = X86_64Registers.userCodeSegment64
        XCTAssertEqual(backend.parkedRegisters(registers).map { String($0.orig_rax) }, native["__NR_pause"])
        registers.cs = X86_64Registers.userCodeSegment32
        XCTAssertEqual(backend.parkedRegisters(registers).map { String($0.orig_rax) }, compat["__NR_pause"])
    }

    func testPointersAndName() {
        let registers = distinctRegisters()
        XCTAssertEqual(backend.instructionPointer(of: registers), registers.rip)
        XCTAssertEqual(backend.stackPointer(of: registers), registers.rsp)
        XCTAssertEqual(backend.machineName, "x86_64")
    }

    // MARK: - Against the kernel's headers

    func testSyscallNumbersMatchUnistdHeader() throws {
        let header = try defines(inHeader: "/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
        XCTAssertEqual(backend.abis.map(\.name), ["x86_64", "i386"])
        let abi = try XCTUnwrap(backend.abis.first)

        for (number, entry) in abi.syscalls {
            let name = "__NR_\(entry.syscall.rawValue)"
            XCTAssertEqual(header[name].flatMap { Int64($0) }, number, name)
            XCTAssertEqual(entry.idWidth, .bits32, "x86_64 has no 16-bit id calls")
        }
        for syscall in Syscall.allCases {
            XCTAssertTrue(abi.syscalls.values.contains { $0.syscall == syscall }, "\(syscall) is missing from the x86_64 table")
        }
    }

    func testAuditArchMatchesAuditHeader() throws {
        var known = try defines(inHeader: "/usr/include/linux/audit.h")
        known.merge(try defines(inHeader: "/usr/include/linux/elf-em.h")) { first, _ in first }
        let definition = try XCTUnwrap(known["AUDIT_ARCH_X86_64"])

        XCTAssertEqual(backend.abis.first?.auditArch, try evaluate(definition, defines: known))
        XCTAssertEqual(try evaluate(definition, defines: known), 0xC000_003E, "EM_X86_64 (62) | 64-bit | little-endian")
    }

    func testX32FloorMatchesUnistdHeader() throws {
        let header = try defines(inHeader: "/usr/include/x86_64-linux-gnu/asm/unistd.h")
        let bit = try XCTUnwrap(header["__X32_SYSCALL_BIT"])
        XCTAssertEqual(backend.abis.first?.foreignNumberFloor, try Int64(evaluate(bit, defines: header)))
    }

    // MARK: - i386 tasks

    /// A 68-byte i386 register set with distinct words, and the image the
    /// backend should widen it to.
    private func i386Image() -> (bytes: [UInt8], registers: X86_64Registers) {
        let words: [UInt32] = [
            0x11, 0x22, 0x33, 0x44, 0x55, 0x66,  // ebx ecx edx esi edi ebp
            0xFFFF_FFDA,                         // eax: -ENOSYS, as at a seccomp stop
            0x2B, 0x2B, 0x00, 0x63,              // ds es fs gs
            213,                                 // orig_eax: setuid32
            0xF7F0_1234, 0x23, 0x246,            // eip cs eflags
            0xFFA0_0000, 0x2B,                   // esp ss
        ]
        var bytes: [UInt8] = []
        for word in words {
            withUnsafeBytes(of: word.littleEndian) { bytes.append(contentsOf: $0) }
        }
        var registers = X86_64Registers()
        registers.rbx = 0x11
        registers.rcx = 0x22
        registers.rdx = 0x33
        registers.rsi = 0x44
        registers.rdi = 0x55
        registers.rbp = 0x66
        registers.rax = UInt64(bitPattern: -38)
        registers.ds = 0x2B
        registers.es = 0x2B
        registers.fs = 0
        registers.gs = 0x63
        registers.orig_rax = 213
        registers.rip = 0xF7F0_1234
        registers.cs = 0x23
        registers.eflags = 0x246
        registers.rsp = 0xFFA0_0000
        registers.ss = 0x2B
        return (bytes, registers)
    }

    func testI386LayoutMatchesSysUserHeader() throws {
        let header = try String(contentsOfFile: "/usr/include/x86_64-linux-gnu/sys/user.h", encoding: .utf8)
        // The second user_regs_struct in the file is the one for __i386__.
        let first = try XCTUnwrap(header.range(of: "struct user_regs_struct\n{"))
        let start = try XCTUnwrap(header.range(of: "struct user_regs_struct\n{", range: first.upperBound..<header.endIndex))
        let end = try XCTUnwrap(header.range(of: "};", range: start.upperBound..<header.endIndex))
        let names = header[start.upperBound..<end.lowerBound]
            .split(separator: "\n")
            .compactMap { line in line.split(separator: " ").last.map { String($0.dropLast()) } }
            .filter { !$0.isEmpty }
        XCTAssertEqual(names, ["ebx", "ecx", "edx", "esi", "edi", "ebp", "eax", "xds", "xes", "xfs", "xgs",
                               "orig_eax", "eip", "xcs", "eflags", "esp", "xss"])
    }

    func testDecodeWidensI386Set() throws {
        let (bytes, expected) = i386Image()
        let decoded = try XCTUnwrap(bytes.withUnsafeBytes { backend.decodeRegisters($0) })
        XCTAssertEqual(decoded, expected)
        XCTAssertEqual(backend.encodeRegisters(decoded), bytes, "encoding gives back the kernel's 68 bytes")
        XCTAssertEqual(backend.abiIndex(of: decoded), 1)
        XCTAssertEqual(backend.syscallNumber(of: decoded), 213)
    }

    func testDecodeRejectsUnknownLengths() {
        for count in [0, 64, 72, 208, 224] {
            let bytes = [UInt8](repeating: 0, count: count)
            bytes.withUnsafeBytes { XCTAssertNil(backend.decodeRegisters($0), "\(count) bytes") }
        }
    }

    func testI386ArgumentRegisters() {
        var registers = i386Image().registers
        registers.rbx = 0xDEAD_0000_0000_0011
        let expected: [UInt64] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66]
        for (index, value) in expected.enumerated() {
            XCTAssertEqual(backend.argument(index, of: registers), value, "argument \(index), low 32 bits")
        }

        backend.setArgument(1, to: 0xFFFF_FFFF_FFFF_FFFF, in: &registers)
        XCTAssertEqual(registers.rcx, 0xFFFF_FFFF)
        XCTAssertEqual(registers.r10, 0, "r10 is no i386 argument")
    }

    func testI386ResultAndCancel() throws {
        var registers = i386Image().registers
        XCTAssertEqual(backend.result(of: registers), .failure(Errno(38)), "eax -ENOSYS is sign-extended")

        try backend.cancelSyscall(in: &registers, registerSets: UnusedRegisterSets())
        backend.setResult(.failure(.notPermitted), in: &registers)
        let bytes = backend.encodeRegisters(registers)

        XCTAssertEqual(bytes.count, 68)
        XCTAssertEqual(Array(bytes[24..<28]), [0xFF, 0xFF, 0xFF, 0xFF], "eax is -EPERM")
        XCTAssertEqual(Array(bytes[44..<48]), [0xFF, 0xFF, 0xFF, 0xFF], "orig_eax is -1")
        XCTAssertEqual(backend.result(of: registers), .failure(.notPermitted))
    }

    func testI386RestoreArgumentsKeepsEAX() {
        let entry = i386Image().registers
        var exit = entry
        exit.rax = 0
        exit.rcx = 0xFFFF
        exit.rdx = 0xFFFF

        backend.restoreArguments(from: entry, into: &exit)

        XCTAssertEqual(exit.rcx, 0x22)
        XCTAssertEqual(exit.rdx, 0x33)
        XCTAssertEqual(exit.rax, 0)
    }

    /// A 64-bit program that makes an i386 call with `int $0x80` has cs
    /// 0x33, so the tracer looks its i386 number up in the x86_64 table.
    /// No number may be in both, or the tracer would answer the wrong call.
    func testNoI386NumberIsAnX86_64Number() throws {
        let native = Set(try XCTUnwrap(backend.abis.first).syscalls.keys)
        let i386 = Set(try XCTUnwrap(backend.abis.last).syscalls.keys)
        XCTAssertEqual(native.intersection(i386), [])
    }
}
