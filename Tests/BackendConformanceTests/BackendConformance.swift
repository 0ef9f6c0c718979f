import Engine
import XCTest

/// Register sets a backend wrote through ``RegisterSetAccess``.
final class RecordedRegisterSets: RegisterSetAccess {
    private(set) var writes: [(type: Int32, bytes: [UInt8])] = []

    func writeRegisterSet(_ type: Int32, bytes: UnsafeRawBufferPointer) throws(TraceError) {
        writes.append((type, Array(bytes)))
    }
}

/// The checks every backend must pass, written once and run for each CPU
/// over the images of a ``Recording``. Each check replays what the engine
/// does at a stop and compares the outcome with what the kernel did.
struct BackendConformance<Backend: ArchitectureBackend> {
    let backend: Backend
    /// The name of the ABI the recording's calls belong to.
    let abiName: String
    /// Writes a cancellation needs besides `NT_PRSTATUS`, as the kernel
    /// expects them (AArch64's `NT_ARM_SYSTEM_CALL`); empty for most CPUs.
    var expectedRegisterSetWrites: [(type: Int32, bytes: [UInt8])] = []
    /// What the CPU's entry code does to the registers before the seccomp
    /// stop of a call the program makes (x86_64 copies rax into orig_rax),
    /// written from the kernel's sources for each CPU.
    var kernelEntry: (Backend.Registers) -> Backend.Registers = { $0 }
    /// The machine code of the CPU's system-call instruction in this ABI,
    /// from the CPU's manual.
    var syscallInstruction: [UInt8] = []

    func check(_ recording: Recording, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertFalse(recording.calls.isEmpty, "the recording has no calls", file: file, line: line)
        let abiIndex = try XCTUnwrap(backend.abis.firstIndex { $0.name == abiName }, "\(abiName) is not an ABI of the backend", file: file, line: line)

        for call in recording.calls {
            try checkEntry(call, recording, abiIndex: abiIndex, file: file, line: line)
            try checkRun(call, recording, file: file, line: line)
            try checkCancel(call, recording, file: file, line: line)
            try checkNumberChange(call, recording, abiIndex: abiIndex, file: file, line: line)
            try checkInjection(call, recording, abiIndex: abiIndex, file: file, line: line)
        }
    }

    /// Injecting the recorded call at the exit stop of the same call: once
    /// the kernel's entry code has run over the injected registers, the
    /// backend reads the call's number and arguments from them, as from the
    /// recorded seccomp stop, and the thread runs at the written address
    /// on its own stack.
    private func checkInjection(_ call: Recording.Call, _ recording: Recording, abiIndex: Int, file: StaticString, line: UInt) throws {
        let what = "\(call.name) injected at the exit stop"
        let seccompStop = try decode(recording.image(call, .run, .seccomp), what, file: file, line: line)
        let exit = try decode(recording.image(call, .run, .exit), what, file: file, line: line)
        let arguments = (0..<6).map { backend.argument($0, of: seccompStop) }
        let address: UInt64 = 0x7f12_3456_7000

        XCTAssertEqual(backend.syscallInstruction(for: exit), syscallInstruction, "\(what): instruction", file: file, line: line)
        let injected = try XCTUnwrap(backend.injectedSyscallRegisters(exit, number: call.number, arguments: arguments, at: address),
                                     "\(what): no registers", file: file, line: line)
        XCTAssertEqual(backend.instructionPointer(of: injected), address, "\(what): instruction pointer", file: file, line: line)
        XCTAssertEqual(backend.stackPointer(of: injected), backend.stackPointer(of: exit), "\(what): stack pointer", file: file, line: line)

        let entered = kernelEntry(injected)
        XCTAssertEqual(backend.abiIndex(of: entered), abiIndex, "\(what): ABI", file: file, line: line)
        XCTAssertEqual(backend.syscallNumber(of: entered), call.number, "\(what): number", file: file, line: line)
        for index in 0..<6 {
            XCTAssertEqual(backend.argument(index, of: entered), arguments[index], "\(what): argument \(index)", file: file, line: line)
        }
    }

    /// Replacing the call at the seccomp stop, as the engine does to make a
    /// tracee install a seccomp filter: the new number is in the general
    /// registers, or in the one register set the backend writes for it, and
    /// the arguments are left alone.
    private func checkNumberChange(_ call: Recording.Call, _ recording: Recording, abiIndex: Int, file: StaticString, line: UInt) throws {
        let what = "\(call.name) replaced by seccomp at the seccomp stop"
        let original = try decode(recording.image(call, .run, .seccomp), what, file: file, line: line)
        let seccomp = try XCTUnwrap(backend.abis[abiIndex].syscalls.first { $0.value.syscall == .seccomp }?.key,
                                    "\(what): \(abiName) lists no seccomp", file: file, line: line)

        var registers = original
        let registerSets = RecordedRegisterSets()
        try backend.setSyscallNumber(seccomp, in: &registers, registerSets: registerSets)
        if expectedRegisterSetWrites.isEmpty {
            XCTAssertEqual(backend.syscallNumber(of: registers), seccomp, "\(what): number", file: file, line: line)
            XCTAssertTrue(registerSets.writes.isEmpty, "\(what): no other register set", file: file, line: line)
        } else {
            let number = withUnsafeBytes(of: Int32(truncatingIfNeeded: seccomp)) { Array($0) }
            XCTAssertEqual(registerSets.writes.map(\.type), expectedRegisterSetWrites.map(\.type), "\(what): register sets", file: file, line: line)
            XCTAssertEqual(registerSets.writes.map(\.bytes), [number], "\(what): register set contents", file: file, line: line)
        }
        for index in 0..<6 {
            XCTAssertEqual(backend.argument(index, of: registers), backend.argument(index, of: original), "\(what): argument \(index)", file: file, line: line)
        }
        XCTAssertEqual(backend.stackPointer(of: registers), backend.stackPointer(of: original), "\(what): stack pointer", file: file, line: line)
        XCTAssertEqual(backend.redZoneSize % 16, 0, "\(what): the red zone keeps the stack's 16-byte alignment", file: file, line: line)
    }

    private func decode(_ bytes: [UInt8]?, _ what: String, file: StaticString, line: UInt) throws -> Backend.Registers {
        let bytes = try XCTUnwrap(bytes, "\(what): no image", file: file, line: line)
        let registers = try XCTUnwrap(bytes.withUnsafeBytes { backend.decodeRegisters($0) }, "\(what): \(bytes.count) bytes do not decode", file: file, line: line)
        XCTAssertEqual(backend.encodeRegisters(registers), bytes, "\(what): encoding does not give the kernel's bytes back", file: file, line: line)
        return registers
    }

    /// At the seccomp stop the backend finds the ABI, the number and the
    /// arguments the program passed, and changes one argument alone.
    private func checkEntry(_ call: Recording.Call, _ recording: Recording, abiIndex: Int, file: StaticString, line: UInt) throws {
        let what = "\(call.name) at the seccomp stop"
        let registers = try decode(recording.image(call, .run, .seccomp), what, file: file, line: line)

        XCTAssertEqual(backend.abiIndex(of: registers), abiIndex, "\(what): ABI", file: file, line: line)
        XCTAssertEqual(backend.syscallNumber(of: registers), call.number, "\(what): number", file: file, line: line)
        let entry = backend.abis[abiIndex].syscalls[call.number]
        XCTAssertNotNil(entry, "\(what): \(call.number) is not in the \(abiName) table", file: file, line: line)
        for (index, expected) in call.arguments.enumerated() {
            guard let expected else { continue }
            XCTAssertEqual(backend.argument(index, of: registers), expected, "\(what): argument \(index)", file: file, line: line)
        }

        for index in 0..<6 {
            var changed = registers
            backend.setArgument(index, to: 0xFFFF_FFFF, in: &changed)
            for other in 0..<6 {
                let expected = other == index ? 0xFFFF_FFFF : backend.argument(other, of: registers)
                XCTAssertEqual(backend.argument(other, of: changed), expected, "\(what): argument \(other) after setting \(index)", file: file, line: line)
            }
            XCTAssertEqual(backend.syscallNumber(of: changed), call.number, "\(what): number after setting argument \(index)", file: file, line: line)
        }
    }

    /// At the exit stop of a call the kernel ran, the backend reads the
    /// value or error the program saw, and putting the entry arguments back
    /// keeps it.
    private func checkRun(_ call: Recording.Call, _ recording: Recording, file: StaticString, line: UInt) throws {
        let what = "\(call.name) at the exit stop"
        let entry = try decode(recording.image(call, .run, .seccomp), what, file: file, line: line)
        var exit = try decode(recording.image(call, .run, .exit), what, file: file, line: line)
        let observed = try XCTUnwrap(recording.observed(call, .run), "\(what): nothing observed", file: file, line: line)

        XCTAssertEqual(backend.result(of: exit), observed.result, "\(what): result", file: file, line: line)

        backend.restoreArguments(from: entry, into: &exit)
        XCTAssertEqual(backend.result(of: exit), observed.result, "\(what): result after restoring the arguments", file: file, line: line)
        for index in 1..<6 {
            XCTAssertEqual(backend.argument(index, of: exit), backend.argument(index, of: entry), "\(what): argument \(index) restored", file: file, line: line)
        }
    }

    /// A cancelled call: the backend writes, at the stop its protocol names,
    /// the same registers with which the probe made the real kernel skip the
    /// call and return EPERM, and the program saw EPERM.
    private func checkCancel(_ call: Recording.Call, _ recording: Recording, file: StaticString, line: UInt) throws {
        let scenario: Recording.Scenario = backend.cancelledResultStop == .entry ? .entry : .exit
        let what = "\(call.name) cancelled with the result written at \(scenario.rawValue)"
        let observed = try XCTUnwrap(recording.observed(call, scenario), "\(what): nothing observed", file: file, line: line)
        XCTAssertEqual(observed.result, .failure(.notPermitted), "\(what): the program's result", file: file, line: line)

        var registers = try decode(recording.image(call, scenario, .seccomp), what, file: file, line: line)
        let registerSets = RecordedRegisterSets()
        try backend.cancelSyscall(in: &registers, registerSets: registerSets)
        if scenario == .entry {
            backend.setResult(.failure(.notPermitted), in: &registers)
        }
        let written = try XCTUnwrap(recording.image(call, scenario, .written), "\(what): no written image", file: file, line: line)
        XCTAssertEqual(backend.encodeRegisters(registers), written, "\(what): registers written at the seccomp stop", file: file, line: line)
        XCTAssertEqual(registerSets.writes.map(\.type), expectedRegisterSetWrites.map(\.type), "\(what): register sets", file: file, line: line)
        XCTAssertEqual(registerSets.writes.map(\.bytes), expectedRegisterSetWrites.map(\.bytes), "\(what): register set contents", file: file, line: line)

        guard scenario == .exit else { return }
        var exit = try decode(recording.image(call, .exit, .exit), "\(what), exit stop", file: file, line: line)
        backend.setResult(.failure(.notPermitted), in: &exit)
        let exitWritten = try XCTUnwrap(recording.image(call, .exit, .exitWritten), "\(what): no image written at exit", file: file, line: line)
        XCTAssertEqual(backend.encodeRegisters(exit), exitWritten, "\(what): registers written at the exit stop", file: file, line: line)
        XCTAssertEqual(backend.result(of: exit), .failure(.notPermitted), "\(what): result reads back", file: file, line: line)
    }
}
