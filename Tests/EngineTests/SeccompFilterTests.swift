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
/// BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JA, BPF_JMP|BPF_JEQ|BPF_K,
/// BPF_JMP|BPF_JGE|BPF_K, BPF_JMP|BPF_JSET|BPF_K and BPF_RET|BPF_K
/// (<linux/filter.h>). Anything else is an error, as is a jump past the
/// last instruction.
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
        case 0x05:
            pc += 1 + Int(instruction.k)
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

/// The scope of a thread whose emulated credentials differ from the real
/// ones, in which every listed call stops whatever its arguments, except
/// the multiplexed prctl and clone.
private let differing = FilterScope.differingCredentials(checksPaths: true)

/// The scope of a thread with the namespace root's real credentials.
private let matchingRoot = FilterScope.matchingCredentials(uid: 0, gid: 0)

/// Returns argument vectors for which `condition` stops the call: one per
/// clause, or a single vector of zeros for a call that always stops.
private func stoppingArguments(_ condition: StopCondition) -> [[UInt64]] {
    guard case .any(let clauses) = condition else { return [[0, 0, 0, 0, 0, 0]] }
    return clauses.map { clause in
        var arguments: [UInt64] = [0, 0, 0, 0, 0, 0]
        // A value that none of the clause's `differs` comparisons names.
        let avoided = Set(clause.compactMap { comparison -> UInt32? in
            if case .differs(let value) = comparison.test { return value }
            return nil
        })
        for comparison in clause {
            switch comparison.test {
            case .equals(let value): arguments[comparison.index] = UInt64(value)
            case .anyBit(let bits): arguments[comparison.index] = UInt64(bits)
            case .differs: arguments[comparison.index] = UInt64((1...).first { !avoided.contains(UInt32($0)) }!)
            }
        }
        return arguments
    }
}

final class SeccompFilterTests: XCTestCase {
    private func trappingArguments(for entry: SyscallEntry) -> [[UInt64]] {
        stoppingArguments(entry.stopCondition(in: differing) ?? .always)
    }

    func testListedNumbersAreTraced() throws {
        let abi = try x86_64ABI()
        let program = SeccompFilter(abis: [abi], scope: differing).instructions

        for (number, entry) in abi.syscalls {
            for arguments in trappingArguments(for: entry) {
                let data = SeccompData(number: UInt32(number), arch: auditArchX86_64, arguments: arguments)
                XCTAssertEqual(try evaluate(program, on: data), returnTrace, "\(entry.syscall) (\(number)) with args \(arguments)")
            }
        }
    }

    func testOtherNumbersAreAllowed() throws {
        let abi = try x86_64ABI()
        let program = SeccompFilter(abis: [abi], scope: differing).instructions

        let unlisted = (0..<1024).filter { abi.syscalls[Int64($0)] == nil }.map(UInt32.init)
            + [0x3FFF_FFFF, 0x7FFF_FFFF, 0x8000_0000, UInt32.max]
        for number in unlisted {
            XCTAssertEqual(try evaluate(program, on: SeccompData(number: number, arch: auditArchX86_64)), returnAllow, "number \(number)")
        }
    }

    func testX32NumbersAreAllowed() throws {
        let abi = try x86_64ABI()
        let program = SeccompFilter(abis: [abi], scope: differing).instructions

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
        let program = SeccompFilter(abis: [abi], scope: differing).instructions

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
        let program = SeccompFilter(abis: [abi], scope: differing).instructions
        let multiplexed = abi.syscalls.compactMap { number, entry -> (Int64, SyscallEntry, [UInt32])? in
            guard case .any(let clauses)? = entry.stopCondition(in: differing) else { return nil }
            let values = clauses.compactMap { clause -> UInt32? in
                guard clause.count == 1, clause[0].index == 0, case .equals(let value) = clause[0].test else { return nil }
                return value
            }
            return values.isEmpty ? nil : (number, entry, values)
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
        let program = SeccompFilter(abis: [abi], scope: differing).instructions
        let clone = try XCTUnwrap(abi.syscalls.first { $0.value.syscall == .clone })
        XCTAssertEqual(clone.value.stopCondition(in: differing), .any([[ArgumentComparison(0, .anyBit(0x0080_0000))]]))

        let forkLike = SeccompData(number: UInt32(clone.key), arch: auditArchX86_64, arguments: [0x0120_0011, 0, 0, 0, 0, 0])
        XCTAssertEqual(try evaluate(program, on: forkLike), returnAllow)
        let untraced = SeccompData(number: UInt32(clone.key), arch: auditArchX86_64, arguments: [0x0080_0011, 0, 0, 0, 0, 0])
        XCTAssertEqual(try evaluate(program, on: untraced), returnTrace)
    }

    func testOnlyNumberArchAndFirstArgumentAreRead() throws {
        let abi = try x86_64ABI()
        let program = SeccompFilter(abis: [abi], scope: differing).instructions

        for (number, entry) in abi.syscalls {
            var tested: Set<Int> = []
            if case .any(let clauses)? = entry.stopCondition(in: differing) {
                tested = Set(clauses.joined().map(\.index))
            }
            for arguments in trappingArguments(for: entry) {
                var data = SeccompData(number: UInt32(number), arch: auditArchX86_64, arguments: arguments)
                let plain = try evaluate(program, on: data)
                data.instructionPointer = 0xFFFF_FFFF_FFFF_FFFF
                data.arguments = (0..<6).map { tested.contains($0) ? arguments[$0] : .max }
                XCTAssertEqual(try evaluate(program, on: data), plain, "\(entry.syscall): an untested argument changed the result")
            }
        }
        // nr, arch, and the low word of args[0], args[1] or args[2].
        let loadOffsets = Set(program.filter { $0.code == 0x20 }.map(\.k))
        XCTAssertTrue(loadOffsets.isSubset(of: [0, 4, 16, 24, 32]), "loads from \(loadOffsets.sorted())")
    }

    func testTwoABIsNeverMixNumbers() throws {
        let x86_64 = try x86_64ABI()
        let program = SeccompFilter(abis: [x86_64, i386ABI], scope: differing).instructions
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
        let program = SeccompFilter(abis: [], scope: differing).instructions
        XCTAssertEqual(try evaluate(program, on: SeccompData(number: 105, arch: auditArchX86_64)), returnAllow)

        let empty = SyscallABI(name: "empty", auditArch: auditArchX86_64, numbers: [])
        let withEmptyABI = SeccompFilter(abis: [empty], scope: differing).instructions
        for number: UInt32 in [0, 105, 0x4000_0000, .max] {
            XCTAssertEqual(try evaluate(withEmptyABI, on: SeccompData(number: number, arch: auditArchX86_64)), returnAllow)
        }
    }

    func testJumpTargetsStayInsideTheProgram() throws {
        let programs = [
            SeccompFilter(abis: [], scope: differing).instructions,
            SeccompFilter(abis: [try x86_64ABI()], scope: matchingRoot).instructions,
            SeccompFilter(abis: [try x86_64ABI(), i386ABI], scope: differing).instructions,
            SeccompFilter(abis: [i386ABI, try x86_64ABI()], scope: matchingRoot).instructions,
        ]
        for (index, program) in programs.enumerated() {
            XCTAssertLessThanOrEqual(program.count, maximumInstructionCount, "program \(index)")
            XCTAssertEqual(program.last?.code, 0x06, "program \(index) must end with a return")

            for (pc, instruction) in program.enumerated() {
                switch instruction.code {
                case 0x15, 0x35, 0x45:
                    XCTAssertLessThan(pc + 1 + Int(instruction.jt), program.count, "program \(index): jt of instruction \(pc)")
                    XCTAssertLessThan(pc + 1 + Int(instruction.jf), program.count, "program \(index): jf of instruction \(pc)")
                case 0x05:
                    XCTAssertLessThan(pc + 1 + Int(instruction.k), program.count, "program \(index): BPF_JA of instruction \(pc)")
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

/// The first filter of a thread whose emulated credentials equal the real
/// ones: reads and set*id calls that name only the real ids or -1 reach the
/// kernel, everything that can change credentials stops.
final class MatchingCredentialsFilterTests: XCTestCase {
    /// i386's 16-bit setuid (23) and setresuid (164) beside setresgid32 (210).
    private let narrowABI = SyscallABI(
        name: "i386", auditArch: auditArchI386,
        numbers: [(23, SyscallEntry(.setuid, idWidth: .bits16)), (164, SyscallEntry(.setresuid, idWidth: .bits16)),
                  (210, SyscallEntry(.setresgid))]
    )

    private func verdict(_ program: [shim_bpf_instruction], _ name: String, _ arguments: [UInt64] = [], arch: UInt32 = auditArchX86_64) throws -> UInt32 {
        let number = try XCTUnwrap(x86_64SyscallNumbers()[name])
        let data = SeccompData(number: UInt32(number), arch: arch, arguments: arguments + Array(repeating: 0, count: 6 - arguments.count))
        return try evaluate(program, on: data)
    }

    func testReadsReachTheKernel() throws {
        let program = SeccompFilter(abis: [try x86_64ABI()], scope: matchingRoot).instructions
        for name in ["getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups", "capget"] {
            XCTAssertEqual(try verdict(program, name, [0x7ffc_0000_1000, 0x7ffc_0000_2000]), returnAllow, name)
        }
    }

    func testSetIDCallsStopOnlyForOtherIDs() throws {
        let program = SeccompFilter(abis: [try x86_64ABI()], scope: matchingRoot).instructions
        let unchanged = UInt64(UInt32.max)
        for name in ["setuid", "setgid", "setfsuid", "setfsgid"] {
            XCTAssertEqual(try verdict(program, name, [0]), returnAllow, "\(name)(0)")
            XCTAssertEqual(try verdict(program, name, [unchanged]), returnAllow, "\(name)(-1)")
            XCTAssertEqual(try verdict(program, name, [1000]), returnTrace, "\(name)(1000)")
            // uid_t is 32 bits wide: the upper half of the register is ignored.
            XCTAssertEqual(try verdict(program, name, [0xFFFF_FFFF_0000_0000]), returnAllow, "\(name) with high bits")
        }
        for name in ["setreuid", "setregid"] {
            XCTAssertEqual(try verdict(program, name, [unchanged, 0]), returnAllow, name)
            XCTAssertEqual(try verdict(program, name, [0, 1000]), returnTrace, name)
            XCTAssertEqual(try verdict(program, name, [1000, unchanged]), returnTrace, name)
        }
        for name in ["setresuid", "setresgid"] {
            XCTAssertEqual(try verdict(program, name, [unchanged, 0, unchanged]), returnAllow, name)
            XCTAssertEqual(try verdict(program, name, [0, 0, 0]), returnAllow, name)
            for position in 0..<3 {
                var arguments: [UInt64] = [0, unchanged, 0]
                arguments[position] = 33
                XCTAssertEqual(try verdict(program, name, arguments), returnTrace, "\(name) \(arguments)")
            }
            // The fourth argument is no id.
            XCTAssertEqual(try verdict(program, name, [0, 0, 0, 5]), returnAllow, name)
        }
    }

    func testOtherRealIDsPassInsteadOfRoot() throws {
        let program = SeccompFilter(abis: [try x86_64ABI()], scope: .matchingCredentials(uid: 1000, gid: nil)).instructions
        XCTAssertEqual(try verdict(program, "setuid", [1000]), returnAllow)
        XCTAssertEqual(try verdict(program, "setuid", [0]), returnTrace)
        XCTAssertEqual(try verdict(program, "setgid", [UInt64(UInt32.max)]), returnAllow)
        XCTAssertEqual(try verdict(program, "setgid", [0]), returnTrace, "no gid passes without a known real gid")
    }

    func testSixteenBitCallsUseTheirOwnUnchangedValue() throws {
        let program = SeccompFilter(abis: [narrowABI], scope: matchingRoot).instructions
        func verdict(_ number: UInt32, _ arguments: [UInt64]) throws -> UInt32 {
            try evaluate(program, on: SeccompData(number: number, arch: auditArchI386, arguments: arguments + [0, 0, 0]))
        }
        XCTAssertEqual(try verdict(23, [0, 0, 0]), returnAllow)
        XCTAssertEqual(try verdict(23, [0xFFFF, 0, 0]), returnAllow)
        XCTAssertEqual(try verdict(23, [0xFFFF_FFFF, 0, 0]), returnTrace, "(uid_t)-1 is no 16-bit value")
        XCTAssertEqual(try verdict(23, [0x1_0000, 0, 0]), returnTrace, "upper bits stop, which is safe")
        XCTAssertEqual(try verdict(164, [0xFFFF, 0, 0xFFFF]), returnAllow)
        XCTAssertEqual(try verdict(164, [0xFFFF, 1000, 0xFFFF]), returnTrace)
        XCTAssertEqual(try verdict(210, [0xFFFF_FFFF, 0, 0xFFFF_FFFF]), returnAllow)
        XCTAssertEqual(try verdict(210, [0xFFFF, 0, 0]), returnTrace, "0xFFFF is an id for a 32-bit call")
    }

    func testWritesKeepStopping() throws {
        let program = SeccompFilter(abis: [try x86_64ABI()], scope: matchingRoot).instructions
        XCTAssertEqual(try verdict(program, "setgroups", [0, 0]), returnTrace)
        XCTAssertEqual(try verdict(program, "capset", [0x7ffc_0000_1000, 0x7ffc_0000_2000]), returnTrace)
        // PR_SET_KEEPCAPS, PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_SET_SECCOMP.
        for option: UInt64 in [8, 24, 28, 22] {
            XCTAssertEqual(try verdict(program, "prctl", [option, 1]), returnTrace, "prctl option \(option)")
        }
        // PR_CAP_AMBIENT with RAISE, LOWER, CLEAR_ALL and an invalid request.
        for request: UInt64 in [2, 3, 4, 0] {
            XCTAssertEqual(try verdict(program, "prctl", [47, request, 5]), returnTrace, "PR_CAP_AMBIENT request \(request)")
        }
        // The filter sees the low half of the request only. The kernel
        // compares all of it and rejects this one with EINVAL, changing
        // nothing, so the kernel may answer it.
        XCTAssertEqual(try verdict(program, "prctl", [47, 0x1_0000_0001, 5]), returnAllow)
    }

    func testPrctlReadsReachTheKernel() throws {
        let program = SeccompFilter(abis: [try x86_64ABI()], scope: matchingRoot).instructions
        // PR_GET_KEEPCAPS, PR_CAPBSET_READ, PR_GET_SECUREBITS, and
        // PR_CAP_AMBIENT with PR_CAP_AMBIENT_IS_SET.
        XCTAssertEqual(try verdict(program, "prctl", [7]), returnAllow)
        XCTAssertEqual(try verdict(program, "prctl", [23, 12]), returnAllow)
        XCTAssertEqual(try verdict(program, "prctl", [27]), returnAllow)
        XCTAssertEqual(try verdict(program, "prctl", [47, 1, 12]), returnAllow)
        XCTAssertEqual(try verdict(program, "prctl", [UInt64(untrappedFirstArgument)]), returnAllow)
    }

    func testEveryConditionReadsArgumentsThatExist() throws {
        let abi = try x86_64ABI()
        for entry in abi.syscalls.values {
            guard case .any(let clauses)? = entry.stopCondition(in: matchingRoot) else { continue }
            XCTAssertFalse(clauses.isEmpty, "\(entry.syscall)")
            for comparison in clauses.joined() {
                XCTAssertTrue((0..<6).contains(comparison.index), "\(entry.syscall) argument \(comparison.index)")
            }
        }
    }

    func testDecisionMatchesStopCondition() throws {
        let abi = try x86_64ABI()
        let program = SeccompFilter(abis: [abi], scope: matchingRoot).instructions
        let samples: [UInt64] = [0, 1, 7, 8, 22, 23, 47, 1000, 0xFFFF, 0xFFFF_FFFF, 0x0080_0000, 0o100, 0x1_0000_0000]
        for (number, entry) in abi.syscalls {
            for first in samples {
                for second in samples.prefix(4) {
                    let arguments: [UInt64] = [first, second, first, 0, 0, 0]
                    let stops = entry.stopCondition(in: matchingRoot)?.stops(arguments) ?? false
                    let data = SeccompData(number: UInt32(number), arch: auditArchX86_64, arguments: arguments)
                    XCTAssertEqual(try evaluate(program, on: data), stops ? returnTrace : returnAllow, "\(entry.syscall) \(arguments)")
                }
            }
        }
    }
}

/// The permission filter a thread installs when its emulated credentials
/// start to differ from the real ones, run in the same interpreter.
final class PermissionFilterTests: XCTestCase {
    func testEveryPathPermissionCallStopsWhateverItsFlags() throws {
        let abi = try x86_64ABI()
        let program = PermissionFilter.instructions(abis: [abi, i386ABI], level: .permissionChecks)
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

    func testEveryCredentialCallStopsWhateverItsArguments() throws {
        let abi = try x86_64ABI()
        let program = PermissionFilter.instructions(abis: [abi, i386ABI], level: .permissionChecks)
        for (number, entry) in abi.syscalls where entry.syscall.isCredentialCall && entry.syscall != .prctl {
            for arguments: [UInt64] in [[0, 0, 0, 0, 0, 0], [UInt64(UInt32.max), 0, UInt64(UInt32.max), 0, 0, 0], [1000, 1000, 1000, 0, 0, 0]] {
                let data = SeccompData(number: UInt32(number), arch: auditArchX86_64, arguments: arguments)
                XCTAssertEqual(try evaluate(program, on: data), returnTrace, "\(entry.syscall) \(arguments)")
            }
        }
        let prctl = try XCTUnwrap(abi.syscalls.first { $0.value.syscall == .prctl }?.key)
        for option: UInt64 in [7, 23, 27] {
            XCTAssertEqual(try evaluate(program, on: SeccompData(number: UInt32(prctl), arch: auditArchX86_64, arguments: [option, 0, 0, 0, 0, 0])), returnTrace)
        }
        XCTAssertEqual(try evaluate(program, on: SeccompData(number: UInt32(prctl), arch: auditArchX86_64, arguments: [47, 1, 0, 0, 0, 0])), returnTrace)
        XCTAssertEqual(try evaluate(program, on: SeccompData(number: UInt32(prctl), arch: auditArchX86_64, arguments: [15, 0, 0, 0, 0, 0])), returnAllow)
        // i386's setuid32 and setgid32.
        XCTAssertEqual(try evaluate(program, on: SeccompData(number: 213, arch: auditArchI386)), returnTrace)
    }

    func testOtherCallsAndABIsAreAllowed() throws {
        let abi = try x86_64ABI()
        let program = PermissionFilter.instructions(abis: [abi, i386ABI], level: .permissionChecks)
        for (number, entry) in abi.syscalls where !entry.syscall.isPathPermissionCall && !entry.syscall.isCredentialCall {
            let data = SeccompData(number: UInt32(number), arch: auditArchX86_64)
            XCTAssertEqual(try evaluate(program, on: data), returnAllow, "\(entry.syscall)")
        }
        XCTAssertEqual(try evaluate(program, on: SeccompData(number: 215, arch: auditArchI386)), returnAllow)
        XCTAssertEqual(try evaluate(program, on: SeccompData(number: 2, arch: auditArchAArch64)), returnAllow)
    }

    /// The lower level stops the same credential calls and lets the path
    /// permission calls run.
    func testCredentialLevelLetsPathCallsRun() throws {
        let abi = try x86_64ABI()
        let program = PermissionFilter.instructions(abis: [abi, i386ABI], level: .credentialCalls)
        for (number, entry) in abi.syscalls where entry.syscall.isCredentialCall && entry.syscall != .prctl {
            let data = SeccompData(number: UInt32(number), arch: auditArchX86_64, arguments: [1000, 1000, 1000, 0, 0, 0])
            XCTAssertEqual(try evaluate(program, on: data), returnTrace, "\(entry.syscall)")
        }
        for (number, entry) in abi.syscalls where entry.syscall.isPathPermissionCall {
            let data = SeccompData(number: UInt32(number), arch: auditArchX86_64)
            XCTAssertEqual(try evaluate(program, on: data), returnAllow, "\(entry.syscall)")
        }
    }

    func testLevelFollowsWhatChecksCanTell() {
        let root = Credentials.loggedIn(uid: 0, gid: 0, groups: [], lastCapability: 40)
        XCTAssertEqual(PermissionFilter.Level.needed(by: root, real: root), PermissionFilter.Level.none)

        let rootWithItsGroup = Credentials.loggedIn(uid: 0, gid: 0, groups: [0], lastCapability: 40)
        XCTAssertEqual(PermissionFilter.Level.needed(by: rootWithItsGroup, real: root), .credentialCalls)

        let rootInDisk = Credentials.loggedIn(uid: 0, gid: 0, groups: [0, 6], lastCapability: 40)
        XCTAssertEqual(PermissionFilter.Level.needed(by: rootInDisk, real: root), .permissionChecks, "group 6 grants access")

        let user = Credentials.loggedIn(uid: 1000, gid: 1000, groups: [1000], lastCapability: 40)
        XCTAssertEqual(PermissionFilter.Level.needed(by: user, real: root), .permissionChecks)

        var withoutCapability = rootWithItsGroup
        withoutCapability.effective = CapabilitySet(rawValue: 0)
        XCTAssertEqual(PermissionFilter.Level.needed(by: withoutCapability, real: root), .permissionChecks)
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
