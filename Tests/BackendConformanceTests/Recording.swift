import Engine
import Foundation
import XCTest

/// The output of Tests/Fixtures/RegisterProbe/register-probe.c for one CPU:
/// the register sets a tracer read and wrote at the stops of a few answered
/// calls on a real kernel, and what the traced program got back.
struct Recording {
    /// One call the probe made, with the arguments it passed (nil where
    /// the value is an address that changes from run to run).
    struct Call {
        let name: String
        let number: Int64
        let arguments: [UInt64?]
    }

    /// The return value and errno the traced program saw.
    struct Observed: Equatable {
        let returnValue: Int64
        let errno: Int32

        var result: SyscallResult {
            returnValue == -1 ? .failure(Errno(errno)) : .success(UInt64(bitPattern: returnValue))
        }
    }

    /// The scenarios of the probe: the kernel ran the call, or the tracer
    /// skipped it and wrote EPERM at the seccomp stop or at the exit stop.
    enum Scenario: String, CaseIterable {
        case run, entry, exit
    }

    /// The points at which the probe printed a register set.
    enum Stage: String {
        /// As read at the seccomp stop.
        case seccomp
        /// As written at the seccomp stop (entry and exit scenarios).
        case written
        /// As read at the exit stop.
        case exit
        /// As written at the exit stop (exit scenario).
        case exitWritten = "exit-written"
    }

    var kernel = ""
    var machine = ""
    var calls: [Call] = []
    var images: [String: [UInt8]] = [:]
    var observed: [String: Observed] = [:]

    func image(_ call: Call, _ scenario: Scenario, _ stage: Stage) -> [UInt8]? {
        images["\(call.name) \(scenario.rawValue) \(stage.rawValue)"]
    }

    func observed(_ call: Call, _ scenario: Scenario) -> Observed? {
        observed["\(call.name) \(scenario.rawValue)"]
    }

    /// Tests/Fixtures/RegisterImages.
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/RegisterImages")

    /// Loads the recording of a CPU, or nil when none was made.
    static func load(_ name: String) throws -> Recording? {
        let url = directory.appendingPathComponent("\(name).txt")
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try parse(String(contentsOf: url, encoding: .utf8))
    }

    static func parse(_ text: String) throws -> Recording {
        var recording = Recording()
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            switch fields.first {
            case "kernel":
                recording.kernel = fields.dropFirst().joined(separator: " ")
            case "machine":
                recording.machine = fields.dropFirst().joined(separator: " ")
            case "call":
                XCTAssertEqual(fields.count, 9, "call line '\(line)'")
                let arguments = fields[3...].map { UInt64($0, radix: 16) }
                recording.calls.append(Call(name: fields[1], number: try XCTUnwrap(Int64(fields[2])), arguments: arguments))
            case "image":
                XCTAssertEqual(fields.count, 5, "image line '\(line.prefix(60))'")
                recording.images[fields[1...3].joined(separator: " ")] = try bytes(fromHex: fields[4])
            case "observed":
                XCTAssertEqual(fields.count, 5, "observed line '\(line)'")
                let observed = Observed(returnValue: try XCTUnwrap(Int64(fields[3])), errno: try XCTUnwrap(Int32(fields[4])))
                recording.observed[fields[1...2].joined(separator: " ")] = observed
            default:
                continue
            }
        }
        return recording
    }

    static func bytes(fromHex hex: String) throws -> [UInt8] {
        let digits = Array(hex.utf8)
        XCTAssertEqual(digits.count % 2, 0, "odd number of hex digits")
        return try stride(from: 0, to: digits.count - 1, by: 2).map { index in
            let pair = String(decoding: digits[index...index + 1], as: UTF8.self)
            return try XCTUnwrap(UInt8(pair, radix: 16), "invalid hex '\(pair)'")
        }
    }
}
