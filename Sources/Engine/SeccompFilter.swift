import CShims

/// A classic-BPF seccomp program: it returns `SECCOMP_RET_TRACE` for the
/// calls remainroot emulates, when their arguments call for it (see
/// ``SyscallEntry/stopCondition(in:)``), and `SECCOMP_RET_ALLOW` for
/// everything else, so an ordinary program hardly ever stops. The traced
/// child installs one before execve; ``PermissionFilter`` is the second.
///
/// The program reads `seccomp_data.arch` and `seccomp_data.nr`, and
/// arguments only in the blocks of calls with a ``StopCondition/any(_:)``.
/// So the kernel's per-filter action cache (Linux 5.11,
/// `seccomp_cache_prepare`) proves every other call's action constant, and
/// the allowed calls skip the BPF interpreter altogether.
public struct SeccompFilter: Sendable {
    public let instructions: [shim_bpf_instruction]

    // Opcodes and values from <linux/filter.h> and <linux/seccomp.h>.
    static let loadWordAbsolute: UInt16 = 0x00 | 0x00 | 0x20   // BPF_LD | BPF_W | BPF_ABS
    static let jumpAlways: UInt16 = 0x05 | 0x00                // BPF_JMP | BPF_JA
    static let jumpIfEqual: UInt16 = 0x05 | 0x10               // BPF_JMP | BPF_JEQ | BPF_K
    static let jumpIfGreaterOrEqual: UInt16 = 0x05 | 0x30      // BPF_JMP | BPF_JGE | BPF_K
    static let jumpIfAnyBit: UInt16 = 0x05 | 0x40              // BPF_JMP | BPF_JSET | BPF_K
    static let returnConstant: UInt16 = 0x06                   // BPF_RET | BPF_K
    static let returnAllow: UInt32 = 0x7fff_0000               // SECCOMP_RET_ALLOW
    /// `SECCOMP_RET_TRACE` with remainroot's mark in `SECCOMP_RET_DATA`,
    /// which PTRACE_GETEVENTMSG returns at the stop. A program's own filter
    /// installed later wins among equal actions, so another value at the
    /// stop means that filter asked for a tracer.
    static let returnTrace: UInt32 = 0x7ff0_0000 | UInt32(traceMark)
    public static let traceMark: UInt16 = 0x7272
    static let offsetOfNumber: UInt32 = 0                      // seccomp_data.nr
    static let offsetOfArch: UInt32 = 4                        // seccomp_data.arch
    // seccomp_data.args[0] starts at 16; its low half comes first on the
    // little-endian CPUs remainroot supports.
    // NOTE: a big-endian backend needs offset 20 here.
    static let offsetOfFirstArgumentLowWord: UInt32 = 16

    /// Builds the program for `abis`, whose listed calls stop under the
    /// ``SyscallEntry/stopCondition(in:)`` of `scope`. Each ABI gets
    /// one block that first matches the audit arch, so that a call is never
    /// compared with the numbers of another ABI (an i386 `setuid32` is 213,
    /// which is x86_64's `epoll_create`).
    public init(abis: [SyscallABI], scope: FilterScope) {
        var program: [shim_bpf_instruction] = []
        program.append(Self.statement(Self.loadWordAbsolute, Self.offsetOfArch))

        for abi in abis {
            let block = Self.block(abi: abi, scope: scope)
            // A mismatch jumps over the block with BPF_JA, whose 32-bit
            // offset has no 8-bit limit, keeping the arch in the
            // accumulator; every path through the block returns.
            program.append(Self.jump(Self.jumpIfEqual, abi.auditArch, ifTrue: 1, ifFalse: 0))
            program.append(Self.statement(Self.jumpAlways, UInt32(block.count)))
            program.append(contentsOf: block)
        }

        program.append(Self.statement(Self.returnConstant, Self.returnAllow))
        instructions = program
    }

    /// One ABI's block: load the number, leave foreign numbers alone, then
    /// one test per stopping call, each followed by its own return or by
    /// the sub-block that tests its arguments, and allow the rest.
    private static func block(abi: SyscallABI, scope: FilterScope) -> [shim_bpf_instruction] {
        var block: [shim_bpf_instruction] = [statement(loadWordAbsolute, offsetOfNumber)]
        if let floor = abi.foreignNumberFloor {
            block.append(jump(jumpIfGreaterOrEqual, UInt32(truncatingIfNeeded: floor), ifTrue: 0, ifFalse: 1))
            block.append(statement(returnConstant, returnAllow))
        }

        for number in abi.syscalls.keys.sorted() {
            guard let entry = abi.syscalls[number], let condition = entry.stopCondition(in: scope) else { continue }
            let number = UInt32(truncatingIfNeeded: number)
            switch condition {
            case .always:
                block.append(jump(jumpIfEqual, number, ifTrue: 0, ifFalse: 1))
                block.append(statement(returnConstant, returnTrace))
            case .any(let clauses):
                let subBlock = argumentBlock(clauses)
                block.append(jump(jumpIfEqual, number, ifTrue: 0, ifFalse: jumpDistance(subBlock.count)))
                block.append(contentsOf: subBlock)
            }
        }

        block.append(statement(returnConstant, returnAllow))
        return block
    }

    /// Tests the clauses in order: the first that holds returns TRACE, and
    /// when none does the block returns ALLOW. A failed comparison jumps to
    /// the next clause, which loads its own first argument again because
    /// BPF jumps only forward and the accumulator may then contain any
    /// argument.
    private static func argumentBlock(_ clauses: [[ArgumentComparison]]) -> [shim_bpf_instruction] {
        var block: [shim_bpf_instruction] = []
        for clause in clauses {
            // The jumps that leave the clause on a failed comparison, by
            // position in `code`; their distance is known once it is built.
            var code: [shim_bpf_instruction] = []
            var exits: [(position: Int, onTrue: Bool)] = []
            var loaded: Int?
            for comparison in clause {
                if loaded != comparison.index {
                    code.append(statement(loadWordAbsolute, offsetOfFirstArgumentLowWord + 8 * UInt32(comparison.index)))
                    loaded = comparison.index
                }
                switch comparison.test {
                case .equals(let value):
                    exits.append((code.count, false))
                    code.append(jump(jumpIfEqual, value, ifTrue: 0, ifFalse: 0))
                case .differs(let value):
                    exits.append((code.count, true))
                    code.append(jump(jumpIfEqual, value, ifTrue: 0, ifFalse: 0))
                case .anyBit(let bits):
                    exits.append((code.count, false))
                    code.append(jump(jumpIfAnyBit, bits, ifTrue: 0, ifFalse: 0))
                }
            }
            code.append(statement(returnConstant, returnTrace))
            for exit in exits {
                let distance = jumpDistance(code.count - exit.position - 1)
                if exit.onTrue { code[exit.position].jt = distance } else { code[exit.position].jf = distance }
            }
            block += code
        }
        block.append(statement(returnConstant, returnAllow))
        return block
    }

    private static func jumpDistance(_ distance: Int) -> UInt8 {
        precondition(distance <= 255, "seccomp filter jump of \(distance) does not fit the 8-bit offset")
        return UInt8(distance)
    }

    private static func statement(_ code: UInt16, _ value: UInt32) -> shim_bpf_instruction {
        shim_bpf_instruction(code: code, jt: 0, jf: 0, k: value)
    }

    private static func jump(_ code: UInt16, _ value: UInt32, ifTrue: UInt8, ifFalse: UInt8) -> shim_bpf_instruction {
        shim_bpf_instruction(code: code, jt: ifTrue, jf: ifFalse, k: value)
    }
}
