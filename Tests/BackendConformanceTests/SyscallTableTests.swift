import ArchAArch64
import ArchPPC64LE
import ArchX86_64
import Engine
import Foundation
import XCTest

/// Every backend, with the CPU name its kernel headers are listed under.
let allBackends: [any ArchitectureBackend] = [
    X86_64Backend(),
    AArch64Backend(),
    PPC64LEBackend(),
]

/// Checks every number and audit arch remainroot uses against the kernel's
/// own UAPI headers, and `remainroot syscalls --arch` against both.
final class SyscallTableTests: XCTestCase {
    private var abis: [SyscallABI] {
        allBackends.flatMap(\.abis)
    }

    private func headers(for abi: SyscallABI) throws -> KernelHeaders {
        try XCTUnwrap(KernelHeaders.all.first { $0.abi == abi.name }, "no headers are listed for \(abi.name)")
    }

    func testEveryNumberMatchesUnistdHeader() throws {
        for abi in abis {
            let numbers = try headers(for: abi).syscallNumbers()
            for (number, entry) in abi.syscalls {
                let name = abi.kernelName(of: entry)
                XCTAssertEqual(numbers[name], number, "\(abi.name): __NR_\(name)")
            }
        }
    }

    /// Every answered call the ABI's kernel has is in the table, in each
    /// width the kernel offers. (AArch64 has no chown or lchown, and x86_64
    /// no 16-bit calls.)
    func testNoCallTheKernelHasIsMissing() throws {
        for abi in abis {
            let numbers = try headers(for: abi).syscallNumbers()
            let listed = Set(abi.syscalls.values.map { abi.kernelName(of: $0) })
            // NOTE: i386 leaves the ownership and permission calls to the
            // kernel (see I386SyscallNumbers).
            // NOTE: and i386 clone and clone3, whose numbers x86_64 uses.
            for syscall in Syscall.allCases where !(abi.name == "i386" && (syscall.isOwnershipCall || syscall.isPathPermissionCall || syscall == .clone || syscall == .clone3)) {
                for name in [syscall.rawValue, syscall.rawValue + "32"] where numbers[name] != nil {
                    XCTAssertTrue(listed.contains(name), "\(abi.name): __NR_\(name) (\(numbers[name]!)) is not in the table")
                }
            }
        }
    }

    func testSixteenBitCallsAreThePlainNames() throws {
        for abi in abis {
            for entry in abi.syscalls.values where entry.idWidth == .bits16 {
                XCTAssertEqual(abi.name, "i386", "only i386 has 16-bit id calls: \(entry.syscall)")
                XCTAssertEqual(abi.kernelName(of: entry), entry.syscall.rawValue)
            }
        }
    }

    func testAuditArchMatchesAuditHeader() throws {
        for abi in abis {
            XCTAssertEqual(abi.auditArch, try headers(for: abi).auditArch(), abi.name)
        }
    }

    func testX32FloorMatchesUnistdHeader() throws {
        let header = try KernelHeaders.defines(inHeader: "/usr/include/x86_64-linux-gnu/asm/unistd.h")
        let bit = try XCTUnwrap(header["__X32_SYSCALL_BIT"])
        let x86_64 = try XCTUnwrap(abis.first { $0.name == "x86_64" })
        XCTAssertEqual(x86_64.foreignNumberFloor, try Int64(KernelHeaders.evaluate(bit, defines: header)))
    }

    func testABINamesAreUnique() {
        XCTAssertEqual(Set(abis.map(\.name)).count, abis.count)
    }

    // MARK: - remainroot syscalls

    /// The remainroot binary built beside this test bundle.
    private func remainroot() throws -> String {
        if let path = ProcessInfo.processInfo.environment["REMAINROOT"], !path.isEmpty {
            return path
        }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = directory.appendingPathComponent("remainroot").path
            if FileManager.default.isExecutableFile(atPath: candidate) {
                return candidate
            }
            directory = directory.deletingLastPathComponent()
        }
        throw XCTSkip("the remainroot binary is not built; run swift build first")
    }

    private func listing(_ abi: String) throws -> [(name: String, number: Int64)] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try remainroot())
        process.arguments = ["syscalls", "--arch", abi]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "remainroot syscalls --arch \(abi)")

        return try String(decoding: data, as: UTF8.self).split(separator: "\n").map { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            XCTAssertGreaterThanOrEqual(fields.count, 3, "line '\(line)' has no description")
            return (String(fields[0]), try XCTUnwrap(Int64(fields[1]), "line '\(line)'"))
        }
    }

    func testSyscallsCommandAgreesWithHeaders() throws {
        for abi in abis {
            let numbers = try headers(for: abi).syscallNumbers()
            let lines = try listing(abi.name)
            XCTAssertEqual(lines.count, abi.syscalls.count, "\(abi.name): one line per answered call")
            for (name, number) in lines {
                XCTAssertEqual(numbers[name], number, "\(abi.name): \(name)")
                XCTAssertEqual(abi.syscalls[number].map { abi.kernelName(of: $0) }, name, "\(abi.name): \(number)")
            }
        }
    }
}
