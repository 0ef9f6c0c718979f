import Foundation
import XCTest

/// The kernel's UAPI headers of one CPU, as Debian installs them:
/// linux-libc-dev for x86, and linux-libc-dev-<arch>-cross for the others.
struct KernelHeaders {
    /// The ABI name, as `remainroot syscalls --arch` takes it.
    let abi: String
    /// The header that defines `__NR_*` for the ABI.
    let unistdPath: String
    /// The name of the `AUDIT_ARCH_*` constant in <linux/audit.h>.
    let auditArchName: String

    static let all: [KernelHeaders] = [
        KernelHeaders(abi: "x86_64", unistdPath: "/usr/include/x86_64-linux-gnu/asm/unistd_64.h", auditArchName: "AUDIT_ARCH_X86_64"),
        KernelHeaders(abi: "i386", unistdPath: "/usr/include/x86_64-linux-gnu/asm/unistd_32.h", auditArchName: "AUDIT_ARCH_I386"),
        KernelHeaders(abi: "aarch64", unistdPath: "/usr/aarch64-linux-gnu/include/asm-generic/unistd.h", auditArchName: "AUDIT_ARCH_AARCH64"),
        KernelHeaders(abi: "ppc64le", unistdPath: "/usr/powerpc64le-linux-gnu/include/asm/unistd_64.h", auditArchName: "AUDIT_ARCH_PPC64LE"),
        KernelHeaders(abi: "riscv64", unistdPath: "/usr/riscv64-linux-gnu/include/asm-generic/unistd.h", auditArchName: "AUDIT_ARCH_RISCV64"),
    ]

    /// `__NR_<name>` by name, from the unistd header.
    func syscallNumbers() throws -> [String: Int64] {
        guard FileManager.default.fileExists(atPath: unistdPath) else {
            throw XCTSkip("\(unistdPath) is missing; Scripts/setup installs the kernel headers of every CPU")
        }
        var numbers: [String: Int64] = [:]
        let defines = try Self.defines(inHeader: unistdPath)
        for (name, value) in defines where name.hasPrefix("__NR_") {
            // The generic table names some calls through an alias, such as
            // `#define __NR_fstat __NR3264_fstat`, defined only where the
            // CPU has the call.
            if let number = Int64(value) ?? defines[value].flatMap({ Int64($0) }) {
                numbers[String(name.dropFirst(5))] = number
            }
        }
        return numbers
    }

    /// The audit arch value, evaluated from <linux/audit.h> and
    /// <linux/elf-em.h>.
    func auditArch() throws -> UInt32 {
        var known = try Self.defines(inHeader: "/usr/include/linux/audit.h")
        known.merge(try Self.defines(inHeader: "/usr/include/linux/elf-em.h")) { first, _ in first }
        let definition = try XCTUnwrap(known[auditArchName], "\(auditArchName) is not in <linux/audit.h>")
        return try Self.evaluate(definition, defines: known)
    }

    /// Reads the `#define NAME VALUE` lines of a header, with VALUE as
    /// written up to a trailing comment. A name defined twice (under
    /// different `#if` branches) keeps its first value.
    static func defines(inHeader path: String) throws -> [String: String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var result: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 3, fields[0] == "#define" else { continue }
            let value = fields[2...].prefix { !$0.hasPrefix("/*") }.joined()
            if result[String(fields[1])] == nil {
                result[String(fields[1])] = value
            }
        }
        return result
    }

    /// Evaluates a value of the form `(A|B|C)` where each part is a number
    /// or another define, as the `AUDIT_ARCH_*` values are written.
    static func evaluate(_ expression: String, defines: [String: String]) throws -> UInt32 {
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
}
