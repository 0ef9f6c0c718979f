import Foundation
import XCTest

/// Runs sequences of credential system calls twice, as real root outside any
/// namespace and under remainroot in a new user namespace, and requires the
/// two outputs to be identical line for line.
///
/// Tests/Programs/credential-sequence.c makes every call with syscall(2) and
/// prints the whole credential state after each one. The native run is the
/// oracle: the test process is root of the initial user namespace, so the
/// kernel applies its own rules (kernel/sys.c, security/commoncap.c,
/// fs/exec.c).
///
/// The first sequence that differs is shrunk, by removing operations while
/// it still differs, and reported as a minimal reproduction.
final class DifferentialTests: XCTestCase {
    /// The seed of the regular suite. REMAINROOT_DIFFERENTIAL_SEED and
    /// REMAINROOT_DIFFERENTIAL_COUNT run other sequences.
    static let defaultSeed: UInt64 = 20_261_204
    static let defaultCount = 1_000

    /// The number of sequences with REMAINROOT_DIFFERENTIAL_LONG=1, unless
    /// REMAINROOT_DIFFERENTIAL_COUNT sets another.
    static let longCount = 10_000

    func testHandWrittenSequencesMatchRealRoot() throws {
        let runner = try DifferentialRunner.prepare()
        let report = try runner.runBoth(CredentialSequenceCatalog.handWritten)
        assertIdentical(report, runner: runner, description: "hand-written sequences")
    }

    func testRandomSequencesMatchRealRoot() throws {
        let environment = ProcessInfo.processInfo.environment
        let seed = environment["REMAINROOT_DIFFERENTIAL_SEED"].flatMap { UInt64($0) } ?? Self.defaultSeed
        let isLong = environment["REMAINROOT_DIFFERENTIAL_LONG"].map { !$0.isEmpty && $0 != "0" } ?? false
        let count = environment["REMAINROOT_DIFFERENTIAL_COUNT"].flatMap { Int($0) } ?? (isLong ? Self.longCount : Self.defaultCount)
        let runner = try DifferentialRunner.prepare()

        var generator = CredentialSequenceGenerator(seed: seed)
        let sequences = (0..<count).map { _ in generator.nextSequence() }
        let report = try runner.runBoth(sequences)
        assertIdentical(report, runner: runner, description: "random sequences of seed \(seed)")

        // In the native output, at least half of the sequences must lose
        // root and then fail with EPERM when they try to get it back, and
        // at least one in twenty must gain an effective uid from a
        // set-user-ID program. Fewer means the generator no longer
        // produces the cases that matter most.
        let refusedRegains = report.nativeBlocks.filter(CredentialSequenceOutput.showsRefusedRegain).count
        XCTAssertGreaterThanOrEqual(refusedRegains * 2, count,
            "only \(refusedRegains) of \(count) sequences were refused (EPERM) after losing root; expected at least half")
        let setUserIDExecs = report.nativeBlocks.filter(CredentialSequenceOutput.showsSetUserIDExec).count
        XCTAssertGreaterThanOrEqual(setUserIDExecs * 20, count,
            "only \(setUserIDExecs) of \(count) sequences ran a set-user-ID program that changed the effective uid; expected at least 1 in 20")
    }

    func testGeneratorIsReproducible() {
        var first = CredentialSequenceGenerator(seed: 7)
        var second = CredentialSequenceGenerator(seed: 7)
        var other = CredentialSequenceGenerator(seed: 8)
        let firstSequences = (0..<50).map { _ in first.nextSequence() }
        let secondSequences = (0..<50).map { _ in second.nextSequence() }
        let otherSequences = (0..<50).map { _ in other.nextSequence() }

        XCTAssertEqual(firstSequences, secondSequences)
        XCTAssertNotEqual(firstSequences, otherSequences)
        for sequence in firstSequences {
            XCTAssertTrue((3...CredentialSequenceGenerator.maximumLength).contains(sequence.count), "sequence of \(sequence.count) operations: \(sequence)")
        }
    }

    func testGeneratorCoversEveryOperation() {
        var generator = CredentialSequenceGenerator(seed: Self.defaultSeed)
        var names: Set<String> = []
        for _ in 0..<Self.defaultCount {
            for operation in generator.nextSequence() {
                names.insert(String(operation.prefix { $0 != " " }))
            }
        }
        let expected: Set<String> = [
            "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid",
            "setgroups", "getgroups", "getresuid", "getresgid", "keepcaps", "getkeepcaps",
            "capget", "capget-probe", "capget-fault", "capset", "securebits", "capbset-read",
            "capbset-drop", "ambient", "prctl", "exec", "thread-start", "thread",
            "file", "chown", "fchown", "chmod", "stat", "exec-file", "nonewprivs", "fork",
        ]
        XCTAssertEqual(expected.subtracting(names), [], "operations the generator never produced")
    }

    /// Every exec-file names a file the same sequence created before, and
    /// files are created only at the start, while the sequence is still
    /// root with every capability. A file created later would get the
    /// creator's real ids under remainroot, which does not emulate the
    /// owner of new files.
    func testGeneratorCreatesFilesFirst() {
        var generator = CredentialSequenceGenerator(seed: Self.defaultSeed)
        let fileOperations: Set<String> = ["file", "chown", "fchown", "chmod"]
        for _ in 0..<Self.defaultCount {
            let sequence = generator.nextSequence()
            let names = sequence.map { String($0.prefix { $0 != " " }) }
            let setupEnd = names.firstIndex { !fileOperations.contains($0) && $0 != "stat" } ?? names.count
            XCTAssertFalse(names[setupEnd...].contains { fileOperations.contains($0) }, "file set-up after the start: \(sequence)")

            let created = Set(sequence.filter { $0.hasPrefix("file ") }.map { $0.dropFirst(5) })
            for operation in sequence {
                let words = operation.split(separator: " ")
                if let index = words.firstIndex(of: "exec-file"), index + 1 < words.count {
                    XCTAssertTrue(created.contains(words[index + 1]), "exec-file of a file never created: \(sequence)")
                }
            }
        }
    }

    func testComparisonReportsFirstDifferingLine() {
        let native = "sequence 1: setuid 0\nstart | uid 0\nsetuid 0 = 0 | uid 0\nend exit 0\n"
            + "sequence 2: setuid 1000; setuid 0\nstart | uid 0\nsetuid 1000 = 0 | uid 1000\nsetuid 0 = -1 EPERM | uid 1000\nend exit 0\n"
        let emulated = native.replacingOccurrences(of: "setuid 0 = -1 EPERM", with: "setuid 0 = 0")

        let mismatches = CredentialSequenceOutput.mismatches(native: native, emulated: emulated)

        XCTAssertEqual(mismatches.count, 1)
        XCTAssertEqual(mismatches.first?.index, 1)
        XCTAssertEqual(mismatches.first?.sequence, "setuid 1000; setuid 0")
        XCTAssertEqual(mismatches.first?.native, "setuid 0 = -1 EPERM | uid 1000")
        XCTAssertEqual(mismatches.first?.emulated, "setuid 0 = 0 | uid 1000")
    }

    func testShrinkingKeepsOnlyNeededOperations() {
        // A stand-in for remainroot that gets exactly one thing wrong: it
        // differs whenever both "setuid 1000" and "setuid 0" are present.
        let sequence = ["setgid 5", "setuid 1000", "capget", "setuid 0", "getgroups 64 buf"]
        let minimal = DifferentialRunner.shrink(sequence) { candidates in
            candidates.firstIndex { $0.contains("setuid 1000") && $0.contains("setuid 0") }
        }
        XCTAssertEqual(minimal, ["setuid 1000", "setuid 0"])
    }

    /// Fails once per differing sequence, with its operations and the first
    /// line that differs, up to a limit, then once with the total. The
    /// first one is shrunk to a minimal reproduction.
    private func assertIdentical(_ report: DifferentialReport, runner: DifferentialRunner, description: String, file: StaticString = #filePath, line: UInt = #line) {
        let shown = 10
        for mismatch in report.mismatches.prefix(shown) {
            XCTFail("""
                remainroot differs from real root in \(description):
                  sequence:   \(mismatch.sequence)
                  real root:  \(mismatch.native ?? "(no line)")
                  remainroot: \(mismatch.emulated ?? "(no line)")
                """, file: file, line: line)
        }
        if report.mismatches.count > shown {
            XCTFail("\(report.mismatches.count) of \(report.sequenceCount) \(description) differ; the first \(shown) are shown above", file: file, line: line)
        }

        guard let first = report.mismatches.first else { return }
        do {
            XCTFail(try runner.minimalReproduction(of: report.sequences[first.index]), file: file, line: line)
        } catch {
            XCTFail("shrinking the first differing sequence failed: \(error)", file: file, line: line)
        }
    }
}

// MARK: - Running

/// Runs sequences natively and under remainroot with the compiled
/// credential-sequence program.
struct DifferentialRunner {
    let program: String
    /// The --capability-mask argument, in hexadecimal.
    let mask: String

    /// Sequences per process. Each sequence runs in its own forked child, so
    /// a batch only bounds how much output one failure can hide, and larger
    /// batches start fewer processes.
    static let batchSize = 125

    /// Compiles the program, or skips the test when it cannot run natively
    /// as real root.
    static func prepare() throws -> DifferentialRunner {
        guard Harness.isRoot else {
            throw XCTSkip("the native run is the oracle and must be real root; run the tests as root")
        }
        let program = try Harness.compile("credential-sequence", flags: ["-pthread"])

        // The exec operations run the program or a copy of it after a drop
        // to uid 1000, which needs search permission for everyone on every
        // folder above it. Under remainroot the real kernel checks it as
        // root.
        var folder = URL(fileURLWithPath: program).deletingLastPathComponent()
        while folder.path != "/" {
            let permissions = (try? FileManager.default.attributesOfItem(atPath: folder.path)[.posixPermissions] as? Int) ?? 0
            XCTAssertNotEqual(permissions & 0o001, 0, "\(folder.path) is not searchable by other users, so exec after a drop would fail natively only; set TMPDIR to a folder such as /tmp")
            folder = folder.deletingLastPathComponent()
        }
        return DifferentialRunner(program: program, mask: String(comparableCapabilities(), radix: 16))
    }

    /// Runs every sequence natively and under remainroot, in batches. With
    /// `checked`, a run that fails or prints an incomplete block fails the
    /// test.
    func runBoth(_ sequences: [[String]], checked: Bool = true) throws -> DifferentialReport {
        var report = DifferentialReport(sequences: sequences)

        for start in stride(from: 0, to: sequences.count, by: Self.batchSize) {
            let batch = Array(sequences[start..<min(start + Self.batchSize, sequences.count)])
            let directory = Harness.temporaryDirectory()
            let input = directory.appendingPathComponent("sequences.txt")
            try (batch.map { $0.joined(separator: "; ") }.joined(separator: "\n") + "\n").write(to: input, atomically: true, encoding: .utf8)

            let native = try Harness.run(arguments(input: input, files: filesDirectory(in: directory, named: "native")), timeout: 300)
            let emulated = try Harness.run([Harness.remainroot, "--unshare", "--"] + arguments(input: input, files: filesDirectory(in: directory, named: "remainroot")), timeout: 300)

            let nativeBlocks = CredentialSequenceOutput.blocks(native.standardOutput)
            if checked {
                let batchNumber = start / Self.batchSize
                XCTAssertEqual(native.status, 0, "native run of batch \(batchNumber) failed: \(native.standardError)")
                XCTAssertEqual(emulated.status, 0, "remainroot run of batch \(batchNumber) failed: \(emulated.standardError)")
                XCTAssertEqual(emulated.standardError, "", "remainroot wrote to standard error")
                XCTAssertEqual(nativeBlocks.count, batch.count, "the native run printed fewer sequences than it was given")
                for (block, sequence) in zip(nativeBlocks, batch) {
                    // Header, start, one line per operation, one more for
                    // the parent of each fork, end.
                    let forks = block.lines.filter { $0.hasPrefix("fork (parent) = ") }.count
                    XCTAssertEqual(block.lines.count, sequence.count + 3 + forks, "native output of \(block.sequence) is incomplete:\n\(block.lines.joined(separator: "\n"))")
                    XCTAssertEqual(block.lines.last, "end exit 0", "native child of \(block.sequence) failed")
                }
            }

            report.nativeBlocks += nativeBlocks
            report.mismatches += CredentialSequenceOutput.mismatches(native: native.standardOutput, emulated: emulated.standardOutput)
                .map { $0.offset(by: start) }
            report.sequenceCount += batch.count
        }
        return report
    }

    private func arguments(input: URL, files: URL) -> [String] {
        [program, "--capability-mask", mask, "--files", files.path, input.path]
    }

    /// Creates an empty folder for the copies that the file operations make,
    /// searchable by everyone so that a task that dropped root can run them.
    private func filesDirectory(in directory: URL, named name: String) throws -> URL {
        let folder = directory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        return folder
    }

    /// Shrinks a differing sequence and returns a report that shows the
    /// smallest version found, its first differing line and the commands
    /// that reproduce it.
    func minimalReproduction(of sequence: [String]) throws -> String {
        let minimal = try Self.shrink(sequence) { candidates in
            try runBoth(candidates, checked: false).mismatches.first?.index
        }
        let mismatch = try runBoth([minimal], checked: false).mismatches.first
        let text = minimal.joined(separator: "; ")
        return """
            minimal reproduction (\(minimal.count) of \(sequence.count) operations):
              sequence:   \(text)
              real root:  \(mismatch?.native ?? "(no line)")
              remainroot: \(mismatch?.emulated ?? "(no line)")
            run it with
              cc -O1 -pthread -o /tmp/credential-sequence Tests/Programs/credential-sequence.c
              mkdir -m 755 /tmp/native /tmp/remainroot
              echo '\(text)' > /tmp/sequence.txt
              /tmp/credential-sequence --capability-mask \(mask) --files /tmp/native /tmp/sequence.txt
              remainroot --unshare -- /tmp/credential-sequence --capability-mask \(mask) --files /tmp/remainroot /tmp/sequence.txt
            """
    }

    /// Removes operations from `sequence` one at a time for as long as the
    /// result still differs. `firstDiffering` runs a list of candidates and
    /// returns the index of the first one that differs, or nil. Each round
    /// tries every single removal in one batch, so a sequence of n
    /// operations needs at most n rounds.
    static func shrink(_ sequence: [String], firstDiffering: ([[String]]) throws -> Int?) rethrows -> [String] {
        var current = sequence
        while current.count > 1 {
            let candidates = current.indices.map { index in
                var candidate = current
                candidate.remove(at: index)
                return candidate
            }
            guard let index = try firstDiffering(candidates) else { break }
            current = candidates[index]
        }
        return current
    }

    /// Returns the capability bits both runs can agree on. A new user
    /// namespace gets every capability the kernel supports, but a container
    /// may leave some out of the host's bounding set (CAP_SYS_RESOURCE on
    /// the machine this was written on), so those are masked out of both
    /// outputs. Bits above /proc/sys/kernel/cap_last_cap stay in, because
    /// they must read 0 in both.
    static func comparableCapabilities() -> UInt64 {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("CapBnd:") }
        let hex = line?.split(separator: "\t").last.map(String.init) ?? ""
        let bounding = UInt64(hex.trimmingCharacters(in: .whitespaces), radix: 16) ?? .max

        let lastText = (try? String(contentsOfFile: "/proc/sys/kernel/cap_last_cap", encoding: .utf8)) ?? "63"
        let last = UInt64(lastText.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 63
        let known: UInt64 = last >= 63 ? .max : (1 << (last + 1)) - 1
        return bounding | ~known
    }
}

// MARK: - Output

struct DifferentialReport {
    /// Every sequence run, in order; a mismatch's index points here.
    var sequences: [[String]]
    var nativeBlocks: [CredentialSequenceOutput.Block] = []
    var mismatches: [CredentialSequenceOutput.Mismatch] = []
    var sequenceCount = 0
}

/// Parsing and comparison of credential-sequence's output.
enum CredentialSequenceOutput {
    /// The lines one sequence printed, from its "sequence N: TEXT" header to
    /// its "end" line.
    struct Block {
        let sequence: String
        let lines: [String]
    }

    /// A sequence whose two outputs differ, with its position among the
    /// sequences run and the first differing line of each output. A line is
    /// nil where its output ended earlier.
    struct Mismatch {
        let index: Int
        let sequence: String
        let native: String?
        let emulated: String?

        func offset(by start: Int) -> Mismatch {
            Mismatch(index: index + start, sequence: sequence, native: native, emulated: emulated)
        }
    }

    /// Splits an output at its "sequence N:" headers.
    static func blocks(_ output: String) -> [Block] {
        var blocks: [Block] = []
        var current: [String] = []

        func flush() {
            guard let header = current.first else { return }
            let text = header.split(separator: ":", maxSplits: 1).last.map { String($0.dropFirst()) } ?? header
            blocks.append(Block(sequence: text, lines: current))
            current = []
        }

        for line in output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("sequence ") {
                flush()
            }
            if !line.isEmpty {
                current.append(line)
            }
        }
        flush()
        return blocks
    }

    /// Compares two outputs sequence by sequence, in order.
    static func mismatches(native: String, emulated: String) -> [Mismatch] {
        let nativeBlocks = blocks(native)
        let emulatedBlocks = blocks(emulated)
        var found: [Mismatch] = []

        for index in 0..<max(nativeBlocks.count, emulatedBlocks.count) {
            let nativeLines = index < nativeBlocks.count ? nativeBlocks[index].lines : []
            let emulatedLines = index < emulatedBlocks.count ? emulatedBlocks[index].lines : []
            guard nativeLines != emulatedLines else { continue }

            let sequence = index < nativeBlocks.count ? nativeBlocks[index].sequence : emulatedBlocks[index].sequence
            let differing = (0..<max(nativeLines.count, emulatedLines.count)).first { line in
                line >= nativeLines.count || line >= emulatedLines.count || nativeLines[line] != emulatedLines[line]
            }!
            found.append(Mismatch(
                index: index,
                sequence: sequence,
                native: differing < nativeLines.count ? nativeLines[differing] : nil,
                emulated: differing < emulatedLines.count ? emulatedLines[differing] : nil
            ))
        }
        return found
    }

    /// Returns whether a block shows an EPERM for a call made while none of
    /// the real, effective and saved uids was 0, that is, after root was
    /// lost for good.
    static func showsRefusedRegain(_ block: Block) -> Bool {
        for (previous, line) in zip(block.lines.dropFirst(), block.lines.dropFirst(2)) where line.contains("= -1 EPERM") {
            if let uids = userIDs(inStateOf: previous), !uids.contains(0) {
                return true
            }
        }
        return false
    }

    /// Returns whether a block shows an exec-file after which the
    /// effective uid differs from the one before it.
    static func showsSetUserIDExec(_ block: Block) -> Bool {
        for (previous, line) in zip(block.lines.dropFirst(), block.lines.dropFirst(2)) where line.hasPrefix("exec-file ") && line.contains(" = 0 ") {
            if let before = userIDs(inStateOf: previous), let after = userIDs(inStateOf: line), before[1] != after[1] {
                return true
            }
        }
        return false
    }

    /// Returns the "uid R E S" triple of a state line.
    private static func userIDs(inStateOf line: String) -> [UInt32]? {
        guard let state = line.split(separator: "|", maxSplits: 1).last else { return nil }
        let words = state.split(separator: " ")
        guard let start = words.firstIndex(of: "uid"), start + 3 < words.count else { return nil }
        let ids = words[(start + 1)...(start + 3)].compactMap { UInt32($0) }
        return ids.count == 3 ? ids : nil
    }
}


// MARK: - Sequences

/// Sequences written by hand, so that every operation and every argument
/// check runs whatever the generator produces.
enum CredentialSequenceCatalog {
    static let handWritten: [[String]] = [
        // Full drops, then every way back.
        ["setgroups 2 buf 1000,1001", "setgid 1000", "setuid 1000", "setuid 0", "setresuid 0 0 0", "setreuid 0 0", "setgroups 1 buf 0", "setgid 0"],
        ["setresgid 1000 1000 1000", "setresuid 1000 1000 1000", "setresuid -1 0 -1", "setreuid -1 0", "setfsuid 0", "setfsgid 0", "capget"],
        ["setreuid 1001 1001", "setreuid 1000 -1", "setreuid -1 1001", "setuid 1001", "setregid 0 0"],
        ["setuid 65534", "setuid 4294967294", "setresuid 65534 65534 65534", "setgroups 0 null"],
        ["setuid 4294967294", "setuid 0", "setresuid 4294967294 4294967294 4294967294", "setresuid 0 -1 -1"],

        // Partial drops that keep root somewhere and come back.
        ["setresuid 1000 1000 0", "setuid 0", "getresuid buf buf buf", "capget"],
        ["setreuid -1 1000", "setreuid -1 0", "setresuid 1000 1000 1000", "setreuid -1 0"],
        ["setresuid 0 1000 -1", "setfsuid 0", "setfsuid 1001", "setresuid -1 0 -1", "setuid 1000"],
        ["setfsuid 1000", "capget", "setfsuid 0", "capget", "setfsgid 1000", "setfsgid 0"],
        ["setresuid 1000 1000 1000", "setfsuid 1000", "setfsuid 0", "setfsgid 1001"],

        // Keepcaps keeps the permitted set across the drop.
        ["keepcaps 1", "getkeepcaps", "setresuid 1000 1000 1000", "capget", "setresuid 0 0 0", "getkeepcaps"],
        ["keepcaps 1", "setuid 1000", "keepcaps 0", "getkeepcaps", "setuid 0", "keepcaps 2"],
        ["keepcaps 1", "setresuid 1000 0 1000", "capget", "setresuid 1000 1000 1000", "capget"],
        ["keepcaps 2", "keepcaps -1", "getkeepcaps", "capget-probe", "capget-fault"],

        // Invalid ids, and ids whose upper 32 bits the kernel ignores.
        ["setuid -1", "setuid 4294967295", "setgid -1", "setgid 4294967295", "setresuid -1 -1 -1", "setresgid -1 -1 -1"],
        ["setreuid -1 -1", "setregid 4294967295 -1", "setfsuid -1", "setfsgid 4294967295", "setuid 1000", "setfsuid -1"],
        ["setuid 4294968296", "setresuid -4294966296 4294968296 4294968296", "setfsuid 4294967296"],
        ["setfsuid 4294968296", "setfsgid -4294967296", "setresgid 8589934591 -1 4294968297", "setgid -4294967295"],

        // setgroups: sizes, pointers and invalid gids, privileged and not.
        ["setgroups 0 null", "setgroups 0 unmapped", "setgroups 65536 buf", "setgroups 65537 buf", "setgroups -1 buf"],
        ["setgroups 1 unmapped", "setgroups 1 none", "setgroups 1 null", "setgroups 3 ro", "setgroups 1 edge 1000"],
        ["setgroups 2 buf 1000,-1", "setgroups 1 buf 4294967295", "setgroups 2 edge 1000", "setgroups 2 edge -1"],
        ["setgroups 4 buf 1001,1000,1001,0", "getgroups 0 null", "getgroups 4 buf", "setgroups -2147483648 buf"],
        ["setgroups 4294967297 buf 5", "getgroups 4294967360 buf", "getgroups 4294967296 null", "setgroups -4294967295 buf 7"],
        ["setuid 1000", "setgroups 0 null", "setgroups 65537 buf", "setgroups -1 buf", "setgroups 1 unmapped"],

        // getgroups: counts, sizes and pointers.
        ["setgroups 3 buf 1,2,3", "getgroups 0 null", "getgroups 0 unmapped", "getgroups 2 buf", "getgroups -1 buf", "getgroups 3 buf"],
        ["setgroups 3 buf 1,2,3", "getgroups 64 unmapped", "getgroups 64 ro", "getgroups 64 null", "getgroups 64 edge", "getgroups 1 edge"],
        ["setgroups 0 null", "getgroups 64 unmapped", "getgroups 0 null", "getgroups -1 null"],

        // getresuid and getresgid: each pointer can fault.
        ["getresuid ro buf buf", "getresuid buf unmapped buf", "getresuid buf buf none", "getresuid null null null"],
        ["setresgid 1000 1001 65534", "getresgid buf buf ro", "getresgid buf unmapped buf", "getresgid edge buf buf"],
        ["setuid 1000", "getresuid unmapped buf buf", "getresgid buf buf buf", "capget"],

        // capget and capset: versions, pids and pointers.
        ["capget v1", "capget v2", "capget version=0 data=buf", "capget version=12345678", "capget pid=self", "capget pid=parent"],
        ["capget pid=none", "capget pid=neg", "capget data=null", "capget data=ro", "capget data=unmapped"],
        ["setuid 1000", "capget pid=parent", "capget pid=self", "capget-probe"],
        ["capset v1", "capget", "capset v2 eff-0", "capset pid=self eff-1", "capset pid=parent eff-2", "capset pid=none"],
        ["capset pid=neg", "capset data=null", "capset data=unmapped", "capset version=0", "capset version=0 data=null"],
        ["capset prm-40 eff-40", "capset prm+40", "capset eff+40", "capset inh+40", "capset inh+63", "capset eff+63"],

        // Capabilities decide what a uid 0 may do.
        ["capset eff-7", "setuid 1000", "capset eff+7", "setuid 1000", "capget"],
        ["capset prm-7 eff-7", "capset eff+7", "setresuid 1000 1000 1000", "setresuid 0 0 0"],
        ["capset prm-6 eff-6", "setgid 1000", "setgroups 0 null", "setfsgid 1000", "setresgid 0 0 0"],
        ["capset prm-8 eff-8", "securebits 4", "capbset-drop 0", "capset inh+0"],

        // Securebits, the bounding set and the ambient set.
        ["securebits 4", "setuid 1000", "capget", "setuid 0", "securebits 14"],
        ["securebits 10", "setresuid 1000 1000 1000", "securebits 0"],
        ["securebits 2f", "securebits 0", "securebits 1000", "securebits 20", "keepcaps 1"],
        // Since Linux 6.14 the exec-restrict-file and exec-deny-interactive
        // bits (0x100, 0x400) and their locks need no CAP_SETPCAP, but an
        // unprivileged call must change something.
        ["setuid 1000", "securebits 0", "securebits 100", "securebits 100", "securebits 0", "securebits 300", "securebits 100", "securebits f00", "securebits b00"],
        ["setuid 1000", "securebits 104", "securebits 400", "securebits 410", "securebits 1400"],
        ["capset prm-8 eff-8", "securebits 100", "securebits 0", "securebits 4", "securebits 200", "securebits 0"],
        // SECURE_NO_CAP_AMBIENT_RAISE (0x40) and its lock (0x80).
        ["securebits 40", "capset inh+7", "ambient raise 7", "securebits 0", "securebits c0", "securebits 40", "securebits 0"],
        ["securebits 80", "securebits c0", "capset inh+7", "ambient raise 7", "ambient is-set 7"],
        ["capset inh+7", "ambient raise 7", "securebits 40", "ambient is-set 7", "exec", "ambient is-set 7"],
        ["securebits 15", "keepcaps 0", "keepcaps 1", "securebits 35", "keepcaps 0", "setuid 1000", "capget"],
        ["capbset-read 7", "capbset-read 41", "capbset-read 64", "capbset-drop 7", "capbset-read 7", "capset inh+7"],
        ["capset inh+7", "ambient raise 7", "ambient is-set 7", "setuid 1000", "ambient is-set 7", "capget"],
        ["setuid 1000", "capbset-drop 7", "ambient clear-all 0", "ambient raise 7", "ambient lower 7", "ambient is-set 41", "ambient clear-all 1"],

        // Raw prctl: the option is an int, and extra arguments are checked
        // by some options and ignored by others.
        ["prctl 4294967304 1 0 0 0", "getkeepcaps", "prctl 7 5 5 5 5", "prctl 4294967303 0 0 0 0"],
        ["prctl 47 1 7 1 0", "prctl 47 4 0 0 1", "prctl 47 5 0 0 0", "prctl 47 -1 7 0 0", "prctl 23 -1 0 0 0", "prctl 24 41 0 0 0"],
        ["prctl 28 4294967300 0 0 0", "prctl 27 1 1 1 1", "prctl 28 16 1 0 0", "prctl 8 1 1 0 0", "prctl 8 4294967296 0 0 0"],

        // execve recomputes the capabilities and copies effective ids to
        // saved and filesystem ids.
        ["exec", "capget"],
        ["setresuid 1000 1000 0", "exec", "setuid 0"],
        ["setreuid -1 1000", "exec", "setuid 0", "setresuid -1 0 -1"],
        ["keepcaps 1", "setresuid 1000 1000 1000", "exec", "getkeepcaps"],
        ["capset inh+7", "ambient raise 7", "securebits 4", "setresuid 1000 1000 1000", "exec", "ambient is-set 7", "setuid 0", "setuid 1001"],
        ["securebits 1", "exec", "setuid 1000"],
        ["setresgid 1000 1001 0", "setfsuid 1000", "setfsgid 1000", "exec"],
        ["setuid 1000", "exec", "exec", "setuid 0"],

        // Credentials belong to a thread: a raw set*id call changes only the
        // calling one, and execve from another thread keeps that thread's.
        ["thread-start", "setuid 1000", "thread capget", "thread setuid 0", "thread setresuid 1001 1001 1001", "setuid 0", "capget"],
        ["thread setuid 1000", "capget pid=self", "thread capget pid=self", "thread capget pid=tid", "thread capget pid=parent", "thread capset pid=self eff-1", "thread capset pid=tid eff-1"],
        ["thread-start", "thread setuid 1000", "thread exec", "setuid 0"],
        ["thread-start", "setresuid 1000 1000 0", "thread exec", "capget"],
        ["thread setgroups 1 buf 5", "getgroups 64 buf", "thread getgroups 64 buf", "thread keepcaps 1", "getkeepcaps", "thread setresuid 1000 1000 1000", "thread getkeepcaps"],
        ["thread-start", "thread-start", "thread setfsuid 1000", "setfsuid 1001"],

        // Set-user-ID and set-group-ID programs owned by root and by other
        // users. Under remainroot an owner other than root exists only as
        // the owner remainroot recorded at chown.
        ["file a", "chown a 0 0", "chmod a 4755", "setuid 1000", "exec-file a", "setuid 0", "capget"],
        ["file a", "chown a 1000 0", "chmod a 4755", "stat a", "exec-file a", "setuid 0", "setresuid 0 0 0"],
        ["file a", "chown a 1000 1000", "chmod a 6711", "setresgid 1001 1001 1001", "setuid 1001", "exec-file a",
         "setresuid -1 1001 -1", "setresgid -1 1001 -1", "setresgid -1 1000 -1"],
        ["file a", "chown a 0 0", "chmod a 4755", "setresuid 1000 1000 1000", "exec-file a", "exec", "setuid 0"],
        ["file a", "chown a 1000 0", "chmod a 4711", "setuid 1000", "exec-file a", "setuid 1000", "exec-file a"],
        ["file a", "chown a 65534 65534", "chmod a 6755", "thread-start", "thread exec-file a", "setuid 0"],
        // Set-group-ID without group execute is ignored.
        ["file a", "chown a 0 4242", "chmod a 2745", "setuid 1000", "exec-file a"],
        // chown clears the set-user-ID bit, and the set-group-ID bit of a
        // group-executable file, even when root changes no id.
        ["file a", "chmod a 6755", "chown a 1000 1000", "stat a"],
        ["file a", "chmod a 6711", "fchown a -1 -1", "stat a", "chmod a 2745", "chown a -1 -1", "stat a"],
        // SECURE_NOROOT: a set-user-ID-root program gets the uid but no
        // capabilities.
        ["file a", "chown a 0 0", "chmod a 4755", "securebits 1", "setuid 1000", "exec-file a", "setuid 0"],
        // An id change at exec clears the ambient set, and a plain exec
        // keeps it.
        ["file a", "chown a 1001 0", "chmod a 4755", "capset inh+7", "ambient raise 7", "securebits 4",
         "setresuid 1000 1000 1000", "fork", "exec-file a", "ambient is-set 7", "capget"],
        ["capset inh+7", "ambient raise 7", "securebits 4", "setresuid 1000 1000 1000", "exec", "ambient is-set 7"],

        // no_new_privs: set-id bits are ignored, and an exec that would
        // change an id or grow the permitted set is downgraded.
        ["file a", "chown a 0 0", "chmod a 4755", "setuid 1000", "nonewprivs", "exec-file a"],
        ["capset prm-7 eff-7", "nonewprivs", "exec"],
        ["setresuid 0 1000 0", "capset prm-7", "nonewprivs", "exec", "setuid 1000"],
        ["setresgid 0 1000 0", "setfsgid 0", "nonewprivs", "exec"],

        // fork: the child starts with a copy, and its changes stay its own.
        ["fork", "setuid 1000", "setuid 0"],
        ["setuid 1000", "fork", "setuid 0", "fork", "exec"],
        ["thread-start", "fork", "thread setuid 1000", "capget"],
    ]
}

/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
/// generators", OOPSLA 2014): a seeded generator whose output depends only
/// on the seed, so a failing sequence can be produced again.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Returns a number in `0..<bound`. The modulo bias is far too small to
    /// matter for choosing test cases.
    mutating func below(_ bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }

    mutating func pick<Element>(_ elements: [Element]) -> Element {
        elements[below(elements.count)]
    }

    /// Returns true with the given probability in percent.
    mutating func chance(_ percent: Int) -> Bool {
        below(100) < percent
    }
}

/// Makes random sequences of credential operations in the text form
/// credential-sequence reads: 3 to 12 operations, after up to 8 that create
/// set-user-ID and set-group-ID copies of the program. About 40% drop root
/// entirely and then try to regain it, 15% drop it only partly first, 15%
/// drop capabilities before changing ids, 20% run a set-user-ID or
/// set-group-ID copy, and the rest are random.
struct CredentialSequenceGenerator {
    private var random: SplitMix64
    /// The copies the current sequence created.
    private var files: [String] = []

    /// The maximum number of operations in a sequence: 8 to create two
    /// files, then 12.
    static let maximumLength = 20

    init(seed: UInt64) {
        random = SplitMix64(seed: seed)
    }

    private static let userIDs: [UInt32] = [1000, 1001, 65534, 4_294_967_294]

    /// Owners of the copies: root, the ids the sequences use, and a group
    /// no sequence ever joins.
    private static let fileUserIDs = ["0", "0", "1000", "1001", "65534"]
    private static let fileGroupIDs = ["0", "1000", "1001", "4242"]

    /// Modes that every class of user may execute, so that running a copy
    /// after a drop never depends on permission checks. remainroot leaves
    /// those to the kernel, which checks them against the namespace's root.
    /// 2745 is set-group-ID without group execute, which the kernel
    /// ignores, and it is only given to files of group 4242.
    private static let executableModes = ["4755", "4755", "2755", "6755", "4711", "6711", "2711", "755"]

    /// Capabilities every kernel since Linux 5.9 defines (CAP_CHOWN,
    /// CAP_DAC_OVERRIDE, CAP_SETGID, CAP_SETUID, CAP_SETPCAP, CAP_SYS_ADMIN,
    /// CAP_CHECKPOINT_RESTORE), and 63, which no kernel defines yet.
    /// NOTE: each defined capability here must be in the bounding set of the
    /// machine that runs the tests. Otherwise capbset-read of it differs
    /// because of the host, not because of remainroot.
    private static let capabilities = [0, 1, 6, 7, 8, 21, 40, 63]

    mutating func nextSequence() -> [String] {
        files = []
        let length = 3 + random.below(10)
        let template = random.below(20)
        // The files come first, while the sequence is still root with every
        // capability, because remainroot does not emulate the owner of new
        // files or the permission checks on them.
        let setup = template >= 15 || random.chance(15) ? fileSetup() : []
        var operations: [String]

        switch template {
        case 0..<8:
            operations = dropAndRegain()
        case 8..<11:
            operations = partialDropThenFullDrop()
        case 11..<14:
            operations = capabilityDrop()
        case 14:
            operations = []
        default:
            operations = setIDProgram()
        }

        // A template is never longer than 10 operations, so it is never cut.
        while operations.count < length {
            operations.append(anyOperation())
        }
        return setup + operations
    }

    // MARK: Templates

    /// Optional group changes and keepcaps, a full drop of the uids, then
    /// attempts to come back mixed with other operations.
    private mutating func dropAndRegain() -> [String] {
        var operations: [String] = []
        if random.chance(30) {
            operations.append("keepcaps 1")
        }
        for _ in 0..<random.below(3) {
            operations.append(groupChange())
        }
        operations.append(fullDrop())
        for _ in 0..<(1 + random.below(3)) {
            operations.append(regainAttempt())
            if random.chance(40) {
                operations.append(anyOperation())
            }
        }
        return operations
    }

    /// A drop that keeps uid 0 in one of the ids, a way back, then a full
    /// drop and an attempt to come back that must fail.
    private mutating func partialDropThenFullDrop() -> [String] {
        [partialDrop(), regainAttempt(), fullDrop(), regainAttempt()]
    }

    /// Root without CAP_SETUID or CAP_SETGID, or with securebits that
    /// change what a uid change does, then id changes and perhaps an exec.
    private mutating func capabilityDrop() -> [String] {
        var operations: [String]
        switch random.below(4) {
        case 0: operations = ["capset eff-\(random.pick([6, 7]))"]
        case 1: operations = ["capset prm-\(random.pick([6, 7, 8])) eff-\(random.pick([6, 7, 8]))"]
        case 2: operations = ["securebits \(random.pick(["4", "10", "14", "1"]))"]
        default: operations = ["capset inh+7", "ambient raise 7"]
        }
        operations.append(random.chance(50) ? fullDrop() : partialDrop())
        if random.chance(40) {
            operations.append("exec")
        }
        operations.append(regainAttempt())
        return operations
    }

    /// Returns operations that create one or two copies of the program and
    /// set their owner and mode in either order. chown after chmod clears
    /// the set-user-ID bit and the set-group-ID bit of a group-executable
    /// file, even for root.
    private mutating func fileSetup() -> [String] {
        var operations: [String] = []
        for name in ["a", "b"].prefix(1 + random.below(2)) {
            files.append(name)
            let (uid, gid) = random.chance(10) ? ("-1", "-1") : (random.pick(Self.fileUserIDs), random.pick(Self.fileGroupIDs))
            let mode = gid == "4242" && random.chance(30) ? "2745" : random.pick(Self.executableModes)
            let call = random.pick(["chown", "chown", "fchown"])

            operations.append("file \(name)")
            if random.chance(75) {
                operations += ["\(call) \(name) \(uid) \(gid)", "chmod \(name) \(mode)"]
            } else {
                operations += ["chmod \(name) \(mode)", "\(call) \(name) \(uid) \(gid)"]
            }
            if random.chance(60) {
                operations.append("stat \(name)")
            }
        }
        return operations
    }

    /// Optional id or capability changes, perhaps no_new_privs, then a run
    /// of one of the copies and what may follow it: an attempt to regain
    /// root, a fork, another exec.
    private mutating func setIDProgram() -> [String] {
        var operations: [String] = []
        if random.chance(30) {
            operations.append(groupChange())
        }
        switch random.below(5) {
        case 0, 1: operations.append(fullDrop())
        case 2: operations.append(partialDrop())
        case 3: operations.append(random.pick(["capset prm-7 eff-7", "capset eff-6", "securebits 1", "securebits 4", "keepcaps 1"]))
        default: break
        }
        if random.chance(20) {
            operations.append("nonewprivs")
        }

        let program = random.pick(files)
        operations.append(random.chance(10) ? "thread exec-file \(program)" : "exec-file \(program)")
        operations.append(regainAttempt())
        if random.chance(30) {
            operations += ["fork", random.chance(50) ? fullDrop() : regainAttempt()]
        }
        if random.chance(30) {
            operations.append(random.chance(50) ? "exec" : "exec-file \(random.pick(files))")
        }
        return operations
    }

    // MARK: Operations

    /// Returns an id argument: mostly a valid id, sometimes -1 written
    /// either as -1 or as 4294967295, and rarely one with bits above the
    /// low 32, which the kernel ignores.
    private mutating func anyID() -> String {
        switch random.below(16) {
        case 0, 1: return "0"
        case 2, 3: return random.pick(["-1", "4294967295"])
        case 4: return String(UInt64(random.pick(Self.userIDs)) + (UInt64(1 + random.below(3)) << 32))
        default: return String(random.pick(Self.userIDs))
        }
    }

    private mutating func userID() -> String {
        String(random.pick(Self.userIDs))
    }

    private mutating func groupList(count: Int) -> String {
        (0..<count).map { _ in random.chance(20) ? "0" : userID() }.joined(separator: ",")
    }

    /// Changes all of real, effective and saved uid away from 0.
    private mutating func fullDrop() -> String {
        let first = userID()
        let second = userID()
        switch random.below(5) {
        case 0: return "setuid \(first)"
        case 1: return "setresuid \(first) \(first) \(first)"
        case 2: return "setresuid \(first) \(second) \(userID())"
        case 3: return "setreuid \(first) \(first)"
        default: return "setreuid \(first) \(second)"
        }
    }

    /// Changes some ids away from 0 and keeps 0 in at least one of real,
    /// effective or saved.
    private mutating func partialDrop() -> String {
        let id = userID()
        switch random.below(5) {
        case 0: return "setresuid \(id) \(id) 0"
        case 1: return "setreuid -1 \(id)"
        case 2: return "setresuid -1 \(id) -1"
        case 3: return "setresuid 0 \(id) \(id)"
        default: return "setfsuid \(id)"
        }
    }

    private mutating func regainAttempt() -> String {
        random.pick([
            "setuid 0", "setresuid 0 0 0", "setreuid 0 0", "setreuid -1 0", "setresuid -1 0 -1",
            "setresuid 0 -1 -1", "setfsuid 0", "setgid 0", "setresgid 0 0 0", "setregid 0 0",
            "setfsgid 0", "setgroups 1 buf 0", "setgroups 0 null", "setuid \(userID())",
            "capset eff+7", "capset prm+7", "securebits 0", "capbset-drop 21",
        ])
    }

    private mutating func groupChange() -> String {
        let id = userID()
        switch random.below(6) {
        case 0: return "setgid \(id)"
        case 1: return "setresgid \(id) \(userID()) \(userID())"
        case 2: return "setregid \(id) \(userID())"
        case 3: return "setfsgid \(id)"
        case 4: return "setgroups 0 null"
        default:
            let count = 1 + random.below(4)
            return "setgroups \(count) buf \(groupList(count: count))"
        }
    }

    private mutating func setIDCall() -> String {
        switch random.below(8) {
        case 0: return "setuid \(anyID())"
        case 1: return "setgid \(anyID())"
        case 2: return "setreuid \(anyID()) \(anyID())"
        case 3: return "setregid \(anyID()) \(anyID())"
        case 4: return "setresuid \(anyID()) \(anyID()) \(anyID())"
        case 5: return "setresgid \(anyID()) \(anyID()) \(anyID())"
        case 6: return "setfsuid \(anyID())"
        default: return "setfsgid \(anyID())"
        }
    }

    private mutating func pointer() -> String {
        random.pick(["buf", "buf", "buf", "null", "ro", "none", "unmapped", "edge"])
    }

    /// Returns a call with invalid arguments: -1 ids, sizes out of range,
    /// pointers that fault, invalid gids in a list.
    private mutating func badArgument() -> String {
        switch random.below(13) {
        case 0: return random.pick(["setuid -1", "setgid -1", "setuid 4294967295", "setgid 4294967295"])
        case 1: return random.pick(["setresuid -1 -1 -1", "setresgid -1 -1 -1", "setreuid -1 -1", "setregid -1 -1"])
        case 2: return random.pick(["setgroups 65537 buf", "setgroups -1 buf", "setgroups -2147483648 buf", "setgroups 65536 unmapped"])
        case 3: return "setgroups \(1 + random.below(3)) \(random.pick(["unmapped", "none", "null"]))"
        case 4: return "setgroups 2 buf \(userID()),\(random.pick(["-1", "4294967295"]))"
        case 5: return "setgroups 2 edge \(random.pick(["-1", userID()]))"
        case 6: return random.pick(["getgroups 0 null", "getgroups 0 unmapped", "getgroups -1 buf", "getgroups 1 buf"])
        case 7: return "getgroups 64 \(random.pick(["unmapped", "ro", "null", "edge", "none"]))"
        case 8: return "getresuid \(pointer()) \(pointer()) \(pointer())"
        case 9: return "getresgid \(pointer()) \(pointer()) \(pointer())"
        case 10: return random.pick(["keepcaps 2", "keepcaps -1", "capget-fault", "capbset-read 64", "ambient is-set 41"])
        case 11: return random.pick(["capget pid=none", "capget pid=neg", "capget data=ro", "capset pid=parent", "capset data=null", "capset version=0"])
        default: return random.pick(["setfsuid -1", "setfsgid -1", "setfsuid 4294967295"])
        }
    }

    private mutating func capabilityCall() -> String {
        let capability = random.pick(Self.capabilities)
        switch random.below(10) {
        case 0: return random.pick(["keepcaps 0", "keepcaps 1", "getkeepcaps"])
        case 1: return random.pick(["capget", "capget-probe", "capget v1", "capget pid=parent"])
        case 2, 3: return "capset \(random.pick(["eff", "prm", "inh"]))\(random.pick(["-", "+"]))\(capability)"
        case 4: return "securebits \(random.pick(["0", "1", "4", "5", "10", "14", "15", "20", "2f", "35", "40", "80", "c0", "100", "300", "400", "f00", "1000"]))"
        case 5: return "capbset-\(random.pick(["read", "drop"])) \(capability)"
        case 6: return "ambient \(random.pick(["is-set", "raise", "lower", "clear-all"])) \(random.chance(80) ? capability : 0)"
        case 7: return random.pick(["prctl 4294967304 1 0 0 0", "prctl 47 2 7 1 0", "prctl 28 4294967300 0 0 0", "prctl 7 1 1 1 1"])
        default: return "exec"
        }
    }

    /// Returns an operation for the helper thread, never another "thread"
    /// and never "fork".
    private mutating func threadOperation() -> String {
        switch random.below(8) {
        case 0, 1: return setIDCall()
        case 2: return fullDrop()
        case 3: return regainAttempt()
        case 4: return capabilityCall()
        case 5: return random.pick(["capget pid=self", "capget pid=tid", "capset pid=self eff-1", "capset pid=tid eff-1"])
        case 6 where !files.isEmpty: return "exec-file \(random.pick(files))"
        default: return random.pick(["getgroups 64 buf", "getresuid buf buf buf", "capget", "exec"])
        }
    }

    /// Returns a fork, no_new_privs, or a run or stat of one of the copies.
    private mutating func processOperation() -> String {
        switch random.below(4) {
        case 0: return "fork"
        case 1: return "nonewprivs"
        default:
            guard !files.isEmpty else { return "fork" }
            return random.chance(70) ? "exec-file \(random.pick(files))" : "stat \(random.pick(files))"
        }
    }

    private mutating func anyOperation() -> String {
        switch random.below(12) {
        case 0..<3: return setIDCall()
        case 3: return fullDrop()
        case 4: return regainAttempt()
        case 5: return groupChange()
        case 6, 7: return badArgument()
        case 8: return capabilityCall()
        case 9: return random.chance(20) ? "thread-start" : "thread \(threadOperation())"
        case 10: return processOperation()
        default: return random.pick(["getgroups 64 buf", "getresuid buf buf buf", "getresgid buf buf buf", "capget"])
        }
    }
}
