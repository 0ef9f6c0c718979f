import Foundation
import XCTest

/// `remainroot bench`: its command line, what it generates, and one short
/// real measurement.
final class BenchTests: XCTestCase {
    private static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private func bench(_ arguments: [String], environment: [String: String]? = nil, timeout: TimeInterval = 120) throws -> Harness.Output {
        try Harness.run([Harness.remainroot, "bench"] + arguments, environment: environment, timeout: timeout)
    }

    /// Runs `bench --generate` once into a fresh folder.
    private func generated() throws -> URL {
        let directory = Harness.temporaryDirectory().appendingPathComponent("generated")
        let result = try bench(["--generate", directory.path])
        XCTAssertEqual(result.status, 0, result.standardError)
        return directory
    }

    private func files(under root: URL) throws -> [String: Data] {
        var contents: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = enumerator?.nextObject() as? URL {
            guard try url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile == true else { continue }
            let relative = String(url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1))
            contents[relative] = try Data(contentsOf: url)
        }
        return contents
    }

    func testGeneratedProjectMatchesPythonGenerator() throws {
        try Harness.require("python3")
        let directory = try generated()
        let reference = Harness.temporaryDirectory().appendingPathComponent("reference")
        let generator = Self.repository.appendingPathComponent("Benchmarks/generate-c-project").path
        let result = try Harness.run(["python3", generator, reference.path])
        XCTAssertEqual(result.status, 0, result.standardError)

        let expected = try files(under: reference)
        let actual = try files(under: directory.appendingPathComponent("project"))
        XCTAssertEqual(expected.count, 115, "61 C files, 52 headers, the Makefile and the README")
        XCTAssertEqual(Set(actual.keys), Set(expected.keys))
        for (path, data) in expected {
            XCTAssertEqual(actual[path], data, "\(path) differs from the Python generator's")
        }
    }

    func testEmbeddedFloorTracerMatchesBenchmarksCopy() throws {
        let directory = try generated()
        let embedded = try String(contentsOf: directory.appendingPathComponent("floor-tracer.c"), encoding: .utf8)
        let original = try String(contentsOf: Self.repository.appendingPathComponent("Benchmarks/floor-tracer.c"), encoding: .utf8)
        XCTAssertEqual(embedded, original, "Sources/CLI/BenchPrograms.swift must hold Benchmarks/floor-tracer.c unchanged")
    }

    func testArchivesHoldTwentyThousandFilesAndTheirOwners() throws {
        try Harness.require("tar")
        let directory = try generated()

        let owners = try Harness.run(["tar", "--numeric-owner", "-tvf", directory.appendingPathComponent("owners.tar").path])
        XCTAssertEqual(owners.status, 0, owners.standardError)
        let ownerLines = owners.standardOutput.split(separator: "\n")
        XCTAssertEqual(ownerLines.filter { $0.hasPrefix("-") }.count, 20_000)
        XCTAssertEqual(ownerLines.filter { $0.hasPrefix("d") }.count, 100)
        let distinctOwners = Set(ownerLines.map { $0.split(separator: " ", omittingEmptySubsequences: true)[1] })
        XCTAssertEqual(distinctOwners, ["0/0", "1000/1000", "33/33", "65534/65534", "1001/100"])

        let root = try Harness.run(["tar", "--numeric-owner", "-tvf", directory.appendingPathComponent("root.tar").path])
        let rootOwners = Set(root.standardOutput.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true)[1] })
        XCTAssertEqual(rootOwners, ["0/0"])
    }

    func testGeneratedHelperCompiles() throws {
        try Harness.require("cc")
        let directory = try generated()
        let binary = directory.appendingPathComponent("bench-helper").path
        let compiled = try Harness.run(["cc", "-O2", "-Wall", "-Werror", "-o", binary, directory.appendingPathComponent("bench-helper.c").path])
        XCTAssertEqual(compiled.status, 0, compiled.standardError)

        let result = try Harness.run([binary, "fork-exec", "3"])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertTrue(result.standardOutput.hasSuffix(" 0\n"), result.standardOutput)
    }

    func testQuickRunMeasuresShimmedAndUnshimmedCalls() throws {
        try Harness.require("cc")
        let temporary = Harness.temporaryDirectory()
        let result = try bench(["--quick", "--json", "--only", "getuid,getpid"], environment: ["TMPDIR": temporary.path])
        XCTAssertEqual(result.status, 0, result.standardError)

        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any], result.standardOutput)
        let rows = try XCTUnwrap(object["benchmarks"] as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["name"] as? String }, ["getuid", "getpid"])

        let getuid = rows[0]
        let native = try XCTUnwrap((getuid["native"] as? [String: Any])?["median"] as? Double)
        let traced = try XCTUnwrap((getuid["traced"] as? [String: Any])?["median"] as? Double)
        XCTAssertGreaterThan(traced, native * 5, "a shimmed getuid stops in the tracer, so it must cost far more than a native one")
        XCTAssertNotNil(getuid["floor"], "the floor tracer row is missing although cc exists")
        XCTAssertGreaterThanOrEqual(getuid["rounds"] as? Int ?? 0, 1)

        let leftovers = try FileManager.default.contentsOfDirectory(atPath: temporary.path)
        XCTAssertEqual(leftovers, [], "bench left files in its temporary folder")
    }

    func testStatRowFollowsTheTrappedCalls() throws {
        try Harness.require("cc")
        let syscalls = try Harness.run([Harness.remainroot, "syscalls"]).standardOutput
        let trapsStat = syscalls.split(separator: "\n").contains { line in
            ["stat", "lstat", "fstat", "newfstatat", "statx"].contains(String(line.split(separator: " ").first ?? ""))
        }

        let result = try bench(["--quick", "--json", "--only", "stat"])
        XCTAssertEqual(result.status, 0, result.standardError)
        if trapsStat {
            // The helper checks that stat under remainroot shows the
            // recorded owner 1000, so a successful run proves it.
            XCTAssertTrue(result.standardOutput.contains(#""name": "stat", "available": true"#), result.standardOutput)
        } else {
            XCTAssertTrue(result.standardOutput.contains(#""name": "stat", "available": false"#), result.standardOutput)
            XCTAssertTrue(result.standardOutput.contains("not available"), result.standardOutput)
        }
    }

    func testWorkersReachTracedRuns() throws {
        try Harness.require("cc")
        for arguments in [["--workers", "2"], ["--workers=2"]] {
            let result = try bench(["--quick", "--json", "--only=getuid"] + arguments)
            XCTAssertEqual(result.status, 0, result.standardError)
            XCTAssertTrue(result.standardOutput.contains("Traced runs use --workers 2."), result.standardOutput)
        }

        let zero = try bench(["--workers", "0"])
        XCTAssertEqual(zero.status, 125)
        XCTAssertTrue(zero.standardError.contains("invalid --workers value '0'"), zero.standardError)

        let huge = try bench(["--workers", "99999"])
        XCTAssertEqual(huge.status, 125)
        XCTAssertTrue(huge.standardError.contains("invalid --workers value '99999'"), huge.standardError)

        let flagWithValue = try bench(["--json=yes"])
        XCTAssertEqual(flagWithValue.status, 125)
        XCTAssertTrue(flagWithValue.standardError.contains("--json takes no value"), flagWithValue.standardError)
    }

    func testInvalidArgumentsAreRejected() throws {
        let unknown = try bench(["--only", "getuid,nosuch"])
        XCTAssertEqual(unknown.status, 125)
        XCTAssertTrue(unknown.standardError.contains("unknown benchmark 'nosuch'"), unknown.standardError)

        let both = try bench(["--quick", "--full"])
        XCTAssertEqual(both.status, 125)
        XCTAssertTrue(both.standardError.contains("cannot be combined"), both.standardError)

        let jobs = try bench(["--jobs", "x"])
        XCTAssertEqual(jobs.status, 125)
        XCTAssertTrue(jobs.standardError.contains("invalid --jobs value 'x'"), jobs.standardError)
    }
}
