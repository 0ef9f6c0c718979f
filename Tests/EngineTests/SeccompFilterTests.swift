import CShims
import Engine
import Foundation
import XCTest

// Runs the filter SeccompFilter builds in a small classic-BPF interpreter
// over seccomp_data images, as the kernel would run it at each system call.

/// `SECCOMP_RET_TRACE` with remainroot's mark 0x7272 in its
/// `SECCOMP_RET_DATA` half, and `SECCOMP_RET_ALLOW`, from
/// <linux/seccomp.h>.
private let returnTrace: UInt32 = 0x7ff0_0000 | 0x7272
private let returnAllow: UInt32 = 0x7fff_0000

/// `AUDIT_ARCH_X86_64`, `AUDIT_ARCH_I386` and `AUDIT_ARCH_AARCH64` from
/// <linux/audit.h>.
private let auditArchX86_64: UInt32 = 0xC000_003E
private let auditArchI386: UInt32 = 0x4000_0003
private let auditArchAArch64: UInt32 = 0xC000_00B7

/// `__X32_SYSCALL_BIT` from <asm/unistd.h>.
private let x32SyscallBit: UInt32 = 0x4000_0000

/// `BPF_MAXINSNS` from <linux/bpf_common.h>.
private let maximumInstructionCount = 4096

/// `struct seccomp_data` from <linux/seccomp.h>, laid out as the kernel
/// hands it to the filter on a little-endian CPU: nr at 0, arch at 4,
/// instruction_pointer at 8, args[6] at 16, eight bytes each.
private struct SeccompData {
    var number: UInt32
    var arch: UInt32
    var instructionPointer: UInt64 = 0x4010_2030
    var arguments: [UInt64] = [0, 0, 0, 0, 0, 0]

    var bytes: [UInt8] {
        var image: [UInt8] = []
        func append<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { image.append(contentsOf: $0) }
        }
        append(number)
        append(arch)
        append(instructionPointer)
        arguments.forEach(append)
        return image
    }
}

private enum InterpreterError: Error, Equatable {
    case unknownOpcode(pc: Int, code: UInt16)
    case loadOutOfBounds(pc: Int, offset: UInt32)
    case ranPastEnd(pc: Int)
}

/// Runs a classic-BPF program with the only opcodes the filter may use:
/// BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, BPF_JMP|BPF_JGE|BPF_K,
/// BPF_JMP|BPF_JSET|BPF_K and BPF_RET|BPF_K (<linux/filter.h>). Anything else is an error, as is a
/// jump past the last instruction.
private func evaluate(_ program: [shim_bpf_instruction], on data: SeccompData) throws(InterpreterError) -> UInt32 {
    let image = data.bytes
    var accumulator: UInt32 = 0
    var pc = 0

    while true {
        guard pc < program.count else { throw .ranPastEnd(pc: pc) }
        let instruction = program[pc]

        switch instruction.code {
        case 0x20:
            let offset = Int(instruction.k)
            guard offset % 4 == 0, offset + 4 <= image.count else {
                throw .loadOutOfBounds(pc: pc, offset: instruction.k)
            }
            accumulator = image[offset..<offset + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) }
            pc += 1
        case 0x15:
            pc += 1 + Int(accumulator == instruction.k ? instruction.jt : instruction.jf)
        case 0x35:
            pc += 1 + Int(accumulator >= instruction.k ? instruction.jt : instruction.jf)
        case 0x45:
            pc += 1 + Int(accumulator & instruction.k != 0 ? instruction.jt : instruction.jf)
        case 0x06:
            return instruction.k
        default:
            throw .unknownOpcode(pc: pc, code: instruction.code)
        }
    }
}

/// Reads the `__NR_*` numbers of <asm/unistd_64.h>, which Debian's
/// linux-libc-dev installs.
private func x86_64SyscallNumbers() throws -> [String: Int64] {
    let header = try String(contentsOfFile: "/usr/include/x86_64-linux-gnu/asm/unistd_64.h", encoding: .utf8)
    var numbers: [String: Int64] = [:]
    for line in header.split(separator: "\n") {
        let fields = line.split(separator: " ")
        guard fields.count == 3, fields[0] == "#define", fields[1].hasPrefix("__NR_"), let number = Int64(fields[2]) else { continue }
        numbers[String(fields[1].dropFirst(5))] = number
    }
    return numbers
}

/// Builds an ABI with the x86_64 audit arch, the x32 floor, and every
/// `Syscall` case at its number in the kernel's header.
private func x86_64ABI() throws -> SyscallABI {
    let numbers = try x86_64SyscallNumbers()
    var table: [(Int64, SyscallEntry)] = []
    for syscall in Syscall.allCases {
        let number = try XCTUnwrap(numbers[syscall.rawValue], "__NR_\(syscall.rawValue) is missing from unistd_64.h")
        table.append((number, SyscallEntry(syscall)))
    }
    return SyscallABI(name: "x86_64", auditArch: auditArchX86_64, numbers: table, foreignNumberFloor: Int64(x32SyscallBit))
}

/// A small i386-like ABI: setuid32 (213) and setgid32 (214).
private let i386ABI = SyscallABI(
    name: "i386", auditArch: auditArchI386,
    numbers: [(213, SyscallEntry(.setuid)), (214, SyscallEntry(.setgid))]
)

/// A first argument value that is never a trapped one: prctl's PR_SET_NAME.
private let untrappedFirstArgument: UInt32 = 15

final class SeccompFilterTests: XCTestCase {
    /// Returns argument vectors that an entry traps: one per trapped value
    /// of its tested argument, or a single vector of zeros for a call that
    /// is trapped whatever its arguments.
    private func trappingArguments(for entry: SyscallEntry) -> [[UInt64]] {
        guard let test = entry.argumentFilter else { return [[0, 0, 0, 0, 0, 0]] }
        let values: [UInt32]
        switch test.filter {
        case .oneOf(let listed): values = listed
        case .anyBit(let bits): values = [bits]
        }
        return values.map { value in
            var arguments: [UInt64] = [0, 0, 0, 0, 0, 0]
            arguments[test.index] = UInt64(value)
            return arguments
        }
    }

    func testListedNumbersAreTraced() throws {
        let abi = try x86_64ABI()
        let program = SeccompFilter(abis: [abi]).instructions

        for (number, entry) in abi.syscalls {
            for arguments in trappingArguments(for: entry) {
                let data = SeccompData(number: UInt32(number), arch: auditArchX86_64, arguments: arguments)
                XCTAssertEqual(try evaluate(program, on: data), returnTrace, "\(entry.syscall) (\(number)) with args \(arguments)")
            }
        }
    }

    func testOtherNumbersAreAllowed() throws {
        let abi = try x86_64ABI()
        let program = SeccompFilter(abis: [abi]).instructions

        let unlisted = (0..<1024).filter { abi.syscalls[Int64($0)] == nil }.map(UInt32.init)
            + [0x3FFF_FFFF, 0x7FFF_FFFF, 0x8000_0000, UInt32.max]
        for number in unlisted {
            XCTAssertEqual(try evaluate(program, on: SeccompData(number: number, arch: auditArchX86_64)), returnAllow, "number \(number)")
        }
    }

    func testX32NumbersAreAllowed() throws {
        let abi = try x86_64ABI()
        let program = SeccompFilter(abis: [abi]).instructions

        for (number, entry) in abi.syscalls {
            for arguments in trappingArguments(for: entry) {
                let data = SeccompData(number: UInt32(number) | x32SyscallBit, arch: auditArchX86_64, arguments: arguments)
                XCTAssertEqual(try evaluate(program, on: data), returnAllow, "x32 \(entry.syscall)")
            }
        }
        XCTAssertEqual(try evaluate(program, on: SeccompData(number: x32SyscallBit, arch: auditArchX86_64)), returnAllow)
    }

    func testOtherArchitecturesAreAllowed() throws {
        let abi = try x86_64ABI()
        let program = SeccompFilter(abis: [abi]).instructions

        for (number, entry) in abi.syscalls {
            for arch in [auditArchI386, auditArchAArch64, 0] {
                for arguments in trappingArguments(for: entry) {
                    let data = SeccompData(number: UInt32(number), arch: arch, arguments: arguments)
                    XCTAssertEqual(try evaluate(program, on: data), returnAllow, "\(entry.syscall) with arch 0x\(String(arch, radix: 16))")
                }
            }
        }
    }

    func testFirstArgumentFilter() throws {
        let abi = try x86_64ABI()
        let program = SeccompFilter(abis: [abi]).instructions
        let multiplexed = abi.syscalls.compactMap { number, entry -> (Int64, SyscallEntry, [UInt32])? in
            guard case .oneOf(let values)? = entry.firstArgumentFilter else { return nil }
            return (number, entry, values)
        }
        XCTAssertFalse(multiplexed.isEmpty, "no call with trapped first arguments to test")

        for (number, entry, values) in multiplexed {
            XCTAssertFalse(values.contains(untrappedFirstArgument))

            let other = SeccompData(number: UInt32(number), arch: auditArchX86_64, arguments: [UInt64(untrappedFirstArgument), 0, 0, 0, 0, 0])
            XCTAssertEqual(try evaluate(program, on: other), returnAllow, "\(entry.syscall) with an untrapped option")

            // The option is an int: the register's upper half is ignored.
            for value in values {
                let data = SeccompData(number: UInt32(number), arch: auditArchX86_64,
                                       arguments: [0xFFFF_FFFF_0000_0000 | UInt64(value), 0, 0, 0, 0, 0])
                XCTAssertEqual(try evaluate(program, on: data), returnTrace, "\(entry.syscall) option \(value) with high bits set")
            }
        }
    }

    /// clone stops only when its flags ask for CLONE_UNTRACED (0x00800000).
    func testFirstArgumentBitFilter() throws {
        let abi = try x86_64ABI()
        let program = SeccompFilter(abis: [abi]).instructions
        let clone = try XCTUnwrap(abi.syscalls.first { $0.value.syscall == .clone })
        XCTAssertEqual(clone.value.firstArgumentFilter, .anyBit(0x0080_0000))

        let forkLike = SeccompData(number: UInt32(clone.key), arch: auditArchX86_64, arguments: [0x0120_0011, 0, 0, 0, 0, 0])
        XCTAssertEqual(try evaluate(program, on: forkLike), returnAllow)
        let untraced = SeccompData(number: UInt32(clone.key), arch: auditArchX86_64, arguments: [0x0080_0011, 0, 0, 0, 0, 0])
        XCTAssertEqual(try evaluate(program, on: untraced), returnTrace)
    }

    func testOnlyNumberArchAndFirstArgumentAreRead() throws {
        let abi = try x86_64ABI()
        let program = SeccompFilter(abis: [abi]).instructions

        for (number, entry) in abi.syscalls {
            let tested = entry.argumentFilter?.index
            for arguments in trappingArguments(for: entry) {
                var data = SeccompData(number: UInt32(number), arch: auditArchX86_64, arguments: arguments)
                let plain = try evaluate(program, on: data)
                data.instructionPointer = 0xFFFF_FFFF_FFFF_FFFF
                data.arguments = (0..<6).map { $0 == tested ? arguments[$0] : .max }
                XCTAssertEqual(try evaluate(program, on: data), plain, "\(entry.syscall): an untested argument changed the result")
            }
        }
        // nr, arch, and the low word of args[0], args[1] or args[2].
        let loadOffsets = Set(program.filter { $0.code == 0x20 }.map(\.k))
        XCTAssertTrue(loadOffsets.isSubset(of: [0, 4, 16, 24, 32]), "loads from \(loadOffsets.sorted())")
    }

    func testTwoABIsNeverMixNumbers() throws {
        let x86_64 = try x86_64ABI()
        let program = SeccompFilter(abis: [x86_64, i386ABI]).instructions
        let setuid = try XCTUnwrap(x86_64SyscallNumbers()["setuid"])

        // 213 is i386 setuid32 and x86_64 epoll_create.
        XCTAssertNil(x86_64.syscalls[213])
        XCTAssertEqual(try evaluate(program, on: SeccompData(number: 213, arch: auditArchI386)), returnTrace)
        XCTAssertEqual(try evaluate(program, on: SeccompData(number: 214, arch: auditArchI386)), returnTrace)
        XCTAssertEqual(try evaluate(program, on: SeccompData(number: 213, arch: auditArchX86_64)), returnAllow)
        XCTAssertEqual(try evaluate(program, on: SeccompData(number: UInt32(setuid), arch: auditArchX86_64)), returnTrace)
        XCTAssertEqual(try evaluate(program, on: SeccompData(number: UInt32(setuid), arch: auditArchI386)), returnAllow)
        // The i386 block has no x32 floor: a high i386 number is compared
        // as it is, and allowed because it is not listed.
        XCTAssertEqual(try evaluate(program, on: SeccompData(number: 213 | x32SyscallBit, arch: auditArchI386)), returnAllow)
        XCTAssertEqual(try evaluate(program, on: SeccompData(number: 213, arch: auditArchAArch64)), returnAllow)
    }

    func testEmptyFilterAllowsEverything() throws {
        let program = SeccompFilter(abis: []).instructions
        XCTAssertEqual(try evaluate(program, on: SeccompData(number: 105, arch: auditArchX86_64)), returnAllow)

        let empty = SyscallABI(name: "empty", auditArch: auditArchX86_64, numbers: [])
        let withEmptyABI = SeccompFilter(abis: [empty]).instructions
        for number: UInt32 in [0, 105, 0x4000_0000, .max] {
            XCTAssertEqual(try evaluate(withEmptyABI, on: SeccompData(number: number, arch: auditArchX86_64)), returnAllow)
        }
    }

    func testJumpTargetsStayInsideTheProgram() throws {
        let programs = [
            SeccompFilter(abis: []).instructions,
            SeccompFilter(abis: [try x86_64ABI()]).instructions,
            SeccompFilter(abis: [try x86_64ABI(), i386ABI]).instructions,
            SeccompFilter(abis: [i386ABI, try x86_64ABI()]).instructions,
        ]
        for (index, program) in programs.enumerated() {
            XCTAssertLessThanOrEqual(program.count, maximumInstructionCount, "program \(index)")
            XCTAssertEqual(program.last?.code, 0x06, "program \(index) must end with a return")

            for (pc, instruction) in program.enumerated() {
                switch instruction.code {
                case 0x15, 0x35, 0x45:
                    XCTAssertLessThan(pc + 1 + Int(instruction.jt), program.count, "program \(index): jt of instruction \(pc)")
                    XCTAssertLessThan(pc + 1 + Int(instruction.jf), program.count, "program \(index): jf of instruction \(pc)")
                case 0x06:
                    XCTAssertTrue([returnTrace, returnAllow].contains(instruction.k), "program \(index): return value of instruction \(pc)")
                case 0x20:
                    break
                default:
                    XCTFail("program \(index): unexpected opcode 0x\(String(instruction.code, radix: 16)) at \(pc)")
                }
            }
        }
    }
}

/// The permission filter a thread installs when its emulated identity stops
/// bypassing permission checks, run in the same interpreter.
final class PermissionFilterTests: XCTestCase {
    func testEveryPathPermissionCallStopsWhateverItsFlags() throws {
        let abi = try x86_64ABI()
        let program = PermissionFilter.instructions(abis: [abi, i386ABI])
        var checked = 0
        for (number, entry) in abi.syscalls where entry.syscall.isPathPermissionCall {
            // open(path, O_RDONLY) has no O_CREAT, which the first filter
            // waits for; this one stops it.
            let data = SeccompData(number: UInt32(number), arch: auditArchX86_64)
            XCTAssertEqual(try evaluate(program, on: data), returnTrace, "\(entry.syscall)")
            checked += 1
        }
        XCTAssertEqual(checked, Syscall.allCases.filter(\.isPathPermissionCall).count)
    }

    func testOtherCallsAndABIsAreAllowed() throws {
        let abi = try x86_64ABI()
        let program = PermissionFilter.instructions(abis: [abi, i386ABI])
        for (number, entry) in abi.syscalls where !entry.syscall.isPathPermissionCall {
            let data = SeccompData(number: UInt32(number), arch: auditArchX86_64)
            XCTAssertEqual(try evaluate(program, on: data), returnAllow, "\(entry.syscall)")
        }
        // i386 lists no permission call here, so its block is left out.
        XCTAssertEqual(try evaluate(program, on: SeccompData(number: 213, arch: auditArchI386)), returnAllow)
        XCTAssertEqual(try evaluate(program, on: SeccompData(number: 2, arch: auditArchAArch64)), returnAllow)
    }

    func testMemoryImageOfSixtyFourBitTask() {
        let instructions = [shim_bpf_instruction(code: 0x06, jt: 1, jf: 2, k: 0x7fff_0000),
                            shim_bpf_instruction(code: 0x20, jt: 0, jf: 0, k: 4)]
        let stackPointer: UInt64 = 0x7ffd_0000_1238
        let image = PermissionFilter.memoryImage(instructions, stackPointer: stackPointer, redZoneSize: 128, wordSize: 8)

        XCTAssertEqual(image.address % 16, 0, "sock_fprog alignment")
        XCTAssertEqual(image.programAddress % 16, 0, "program alignment")
        XCTAssertLessThanOrEqual(image.address + UInt64(image.bytes.count), stackPointer - 128, "the red zone stays untouched")
        XCTAssertEqual(Array(image.bytes[0..<2]), [2, 0], "sock_fprog.len")
        let pointer = image.bytes[8..<16].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        XCTAssertEqual(pointer, image.programAddress, "sock_fprog.filter")
        let program = Array(image.bytes[Int(image.programAddress - image.address)...])
        XCTAssertEqual(program, [0x06, 0x00, 1, 2, 0x00, 0x00, 0xff, 0x7f, 0x20, 0x00, 0, 0, 4, 0, 0, 0], "struct sock_filter, little-endian")
    }

    func testMemoryImageOfThirtyTwoBitTask() {
        let instructions = [shim_bpf_instruction(code: 0x06, jt: 0, jf: 0, k: 0x7fff_0000)]
        let image = PermissionFilter.memoryImage(instructions, stackPointer: 0xffd0_1000, redZoneSize: 128, wordSize: 4)

        XCTAssertEqual(Array(image.bytes[0..<2]), [1, 0], "compat_sock_fprog.len")
        let pointer = image.bytes[4..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        XCTAssertEqual(pointer, image.programAddress, "compat_sock_fprog.filter, a 32-bit pointer")
        XCTAssertLessThan(image.programAddress, 0x1_0000_0000)
    }
}
