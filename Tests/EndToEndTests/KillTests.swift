@preconcurrency import Glibc
import Foundation
import XCTest

/// SIGKILL to remainroot at random moments of a small package build
/// (Tests/Programs/build-workload.sh). After each kill no process of the
/// run may be left running, stopped or unreaped, the state file must open
/// again, and every chown the build saw return must still be recorded.
///
/// remainroot runs under Tests/Programs/subreaper.c, which reaps every
/// orphan, so an orphan that init would leave a zombie is not blamed on
/// remainroot. A process that outlives remainroot keeps the subreaper
/// waiting, and the test reports it.
final class KillTests: XCTestCase {
    /// Trials per run, split between the two ownership modes.
    /// REMAINROOT_KILL_TRIALS sets another count, REMAINROOT_KILL_SEED
    /// another sequence of kill moments.
    static let defaultTrials = 100
    static let defaultSeed: UInt64 = 20_261_209
    /// Source files the build makes; it runs about 0.7 s under remainroot
    /// on a 2-core VM.
    static let fileCount = 150

    /// Trials cycle through these worker counts. With more than one
    /// worker, a kill can land while a new process is handed from one
    /// worker to another.
    static let workerCounts = [1, 2, 4]

    /// The variable that marks every process of one trial, so that the
    /// test finds them in /proc whatever they exec.
    static let markerName = "REMAINROOT_KILL_TRIAL"

    func testKillAtRandomMomentsOfABuild() throws {
        try Harness.require("stdbuf", "tar", "awk", "mknod")
        let environment = ProcessInfo.processInfo.environment
        let trials = environment["REMAINROOT_KILL_TRIALS"].flatMap { Int($0) } ?? Self.defaultTrials
        let seed = environment["REMAINROOT_KILL_SEED"].flatMap { UInt64($0) } ?? Self.defaultSeed
        var random = SplitMix64(seed: seed)

        let reaper = try Harness.compile("subreaper")
        let work = Harness.temporaryDirectory()
        let state = work.appendingPathComponent("state.db").path
        let modes: [(name: String, options: [String])] = [
            ("xattr", ["--ownership=xattr"]),
            ("state", ["--ownership=state", "--state", state]),
        ]

        for (modeIndex, mode) in modes.enumerated() {
            // The shorter of two full runs, because a run slowed down by
            // other work on the machine would put many kills after the end.
            var duration = try (0..<2).map { run in
                try calibrate(mode.options, reaper: reaper, in: work.appendingPathComponent("calibrate-\(mode.name)-\(run)"))
            }.min()!
            var killedMidRun = 0
            let count = trials / modes.count + (modeIndex < trials % modes.count ? 1 : 0)
            for trial in 0..<count {
                let delay = duration * Double(random.below(1000)) / 1000
                let workers = Self.workerCounts[trial % Self.workerCounts.count]
                let options = mode.options + ["--workers", String(workers)]
                let context = "mode \(mode.name), \(workers) workers, trial \(trial), kill after \(Int(delay * 1000)) ms, seed \(seed)"
                let directory = work.appendingPathComponent("\(mode.name)-\(trial)")
                let outcome = try runAndKill(options, reaper: reaper, in: directory, after: delay, context: context)
                guard outcome != .leftProcesses else { return }
                if outcome == .killed {
                    killedMidRun += 1
                } else {
                    // The build ended before the kill, so it is shorter.
                    duration = min(duration, delay)
                }
                try checkRecords(options, in: directory, context: context)
            }
            // Kills after the build ended test nothing; the delays are
            // drawn within its calibrated length, so most must land in it.
            XCTAssertGreaterThanOrEqual(killedMidRun * 4, count * 3,
                "only \(killedMidRun) of \(count) kills in mode \(mode.name) landed before the build ended")
        }
    }

    enum Outcome {
        case killed, finished, leftProcesses
    }

    /// Runs the build once to completion and returns how long it took.
    private func calibrate(_ options: [String], reaper: String, in directory: URL) throws -> TimeInterval {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let start = Date()
        let output = try Harness.run([reaper, Harness.remainroot, "--unshare"] + options + ["--", "sh", Self.workload, directory.path, String(Self.fileCount)], timeout: 60)
        let duration = Date().timeIntervalSince(start)
        let commandLine = output.standardOutput.split(separator: "\n").first { $0.hasPrefix("command ") }
        XCTAssertTrue(commandLine?.hasSuffix(" exit 0") ?? false, "the build failed without a kill: \(output.combined)")
        let logged = (try? String(contentsOf: directory.appendingPathComponent("chown.log"), encoding: .utf8)) ?? ""
        // 150 files and their folders, and the unpacked third again.
        XCTAssertGreaterThan(logged.split(separator: "\n").count, Self.fileCount, "the build logged too few chowns")
        return duration
    }

    /// Starts the build, kills remainroot after `delay` seconds and waits
    /// until every process of the run is gone.
    private func runAndKill(_ options: [String], reaper: String, in directory: URL, after delay: TimeInterval, context: String) throws -> Outcome {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let marker = UUID().uuidString
        let child = try Harness.Child([reaper, Harness.remainroot, "--unshare"] + options + ["--", "sh", Self.workload, directory.path, String(Self.fileCount)],
                                      environment: [Self.markerName: marker])
        child.finishInput(nil)

        guard let started = child.readOutput(timeout: 10), let pid = Self.startedPID(started) else {
            child.killGroup()
            Harness.fail("\(context): the subreaper did not report the remainroot pid")
            return .leftProcesses
        }
        usleep(useconds_t(delay * 1_000_000))
        kill(pid, SIGKILL)

        // Once the subreaper reaped remainroot, the kernel has sent SIGKILL
        // to every attached tracee (PTRACE_O_EXITKILL). A process in the
        // middle of a hand-over between workers, parked in pause(2) with
        // no tracer, is killed by remainroot's guardian process instead,
        // as soon as it detects that remainroot ended. After both, each marked
        // process must be dying: a zombie, exiting, or with SIGKILL
        // pending.
        let deadline = Date().addingTimeInterval(10)
        while !String(decoding: child.standardOutput, as: UTF8.self).contains("command ") && Date() < deadline {
            _ = child.readOutput(timeout: 0.1)
        }
        while Self.processes(marked: marker, except: child.pid).contains(where: { $0.name == "rr-guardian" && !$0.isDying }) && Date() < deadline {
            usleep(1000)
        }
        // A process that looks alive gets a second to die, and must then
        // have died of SIGKILL (checked below from the subreaper's report).
        // NOTE: under CPU load about 1 trial in 100 shows a process with
        // no SIGKILL pending and no PF_EXITING right after remainroot
        // died, which is gone soon after. Whether that is a window of the
        // kernel's exit path or a tracee that escaped is not settled.
        var escaped = Self.processes(marked: marker, except: child.pid).filter { !$0.isDying }
        let lookedAlive = escaped
        let grace = Date().addingTimeInterval(1)
        while !escaped.isEmpty && Date() < grace {
            usleep(1000)
            let running = Set(Self.processes(marked: marker, except: child.pid).filter { !$0.isDying }.map(\.pid))
            escaped = escaped.filter { running.contains($0.pid) }
        }
        guard escaped.isEmpty else {
            Harness.fail("\(context): processes run on after remainroot died: \(Self.describe(escaped))")
            for process in escaped { kill(process.pid, SIGKILL) }
            child.killGroup()
            return .leftProcesses
        }
        if !lookedAlive.isEmpty {
            // Not a failure, but worth seeing in the log if it recurs.
            FileHandle.standardError.write(Data("\(context): still running right after remainroot died, gone within a second: \(Self.describe(lookedAlive))\n".utf8))
        }
        let log = directory.appendingPathComponent("chown.log").path
        let logSizeAfterKill = Self.fileSize(log)

        // The subreaper exits once no descendant is left.
        _ = child.collect(until: deadline)
        let survivors = Self.processes(marked: marker, except: child.pid)
        guard child.status != nil, survivors.isEmpty else {
            Harness.fail("\(context): processes outlived remainroot for 10 s: \(survivors.isEmpty ? "(none marked; see the subreaper)" : Self.describe(survivors))")
            for survivor in survivors { kill(survivor.pid, SIGKILL) }
            child.killGroup()
            return .leftProcesses
        }

        // Processes that died late would have stopped writing; one that
        // escaped would have gone on with the build.
        XCTAssertEqual(Self.fileSize(log), logSizeAfterKill, "\(context): the build went on logging chowns after remainroot died")

        let output = String(decoding: child.standardOutput, as: UTF8.self)
        XCTAssertTrue(output.hasSuffix(" others\n"), "\(context): the subreaper did not finish: \(output)")
        // A process that looked alive after the kill must have died of it;
        // one that exited on its own ran on untraced.
        for process in lookedAlive {
            if let line = output.split(separator: "\n").first(where: { $0.hasPrefix("reaped \(process.pid) ") }) {
                XCTAssertTrue(line.hasSuffix(" signal 9"), "\(context): pid \(process.pid) (\(process.name)) ran on after remainroot died and ended with '\(line)'")
            }
        }
        return output.contains("command \(pid) signal 9\n") ? .killed : .finished
    }

    /// Checks, in a second remainroot run over the same records, that every
    /// chown the build logged shows its owner.
    private func checkRecords(_ options: [String], in directory: URL, context: String) throws {
        let log = (try? String(contentsOf: directory.appendingPathComponent("chown.log"), encoding: .utf8)) ?? ""
        // A kill during a write can leave a partial last line, which stands
        // for no returned chown.
        var expected: [String: String] = [:]
        for line in log.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            let fields = line.split(separator: " ", maxSplits: 1)
            guard fields.count == 2 else {
                Harness.fail("\(context): malformed log line '\(line)'")
                continue
            }
            expected[String(fields[1])] = String(fields[0])
        }
        guard !expected.isEmpty else { return }

        let paths = expected.keys.sorted()
        let list = directory.appendingPathComponent("logged-paths")
        try (paths.joined(separator: "\n") + "\n").write(to: list, atomically: true, encoding: .utf8)
        let check = try Harness.run([Harness.remainroot, "--unshare"] + options + ["--", "sh", "-c", "cd \"$1\" && xargs -d '\\n' stat -c '%u:%g %n' <\"$2\"", "sh", directory.path, list.path], timeout: 60)
        XCTAssertEqual(check.status, 0, "\(context): the check run failed: \(check.standardError)")
        XCTAssertFalse(check.standardError.contains("state file"), "\(context): \(check.standardError)")

        var seen: [String: String] = [:]
        for line in check.standardOutput.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 1)
            if fields.count == 2 { seen[String(fields[1])] = String(fields[0]) }
        }
        let lost = paths.filter { seen[$0] != expected[$0] }
        XCTAssertTrue(lost.isEmpty, "\(context): \(lost.count) of \(paths.count) returned chowns are not recorded, first \(lost.first ?? ""): expected \(lost.first.flatMap { expected[$0] } ?? ""), stat shows \(lost.first.flatMap { seen[$0] } ?? "nothing")")
    }

    static let workload = Harness.programsDirectory.appendingPathComponent("build-workload.sh").path

    private static func fileSize(_ path: String) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }

    private static func startedPID(_ text: String) -> pid_t? {
        guard let line = text.split(separator: "\n").first, line.hasPrefix("started ") else { return nil }
        return pid_t(line.dropFirst("started ".count))
    }

    struct MarkedProcess {
        let pid: pid_t
        /// The state letter of /proc/PID/stat: R, S, D, T, t, X or Z.
        let state: String
        let name: String
        /// The task flags of /proc/PID/stat.
        let flags: UInt64
        /// The pending signals of the thread and of its process, from the
        /// SigPnd and ShdPnd lines of /proc/PID/status.
        let pendingSignals: UInt64

        /// `PF_EXITING` from <linux/sched.h>.
        static let exiting: UInt64 = 0x4
        static let killBit: UInt64 = 1 << (UInt64(SIGKILL) - 1)

        var isDying: Bool {
            state == "Z" || state == "X" || flags & Self.exiting != 0 || pendingSignals & Self.killBit != 0
        }
    }

    private static func describe(_ processes: [MarkedProcess]) -> String {
        processes.map { "pid \($0.pid) state \($0.state) flags 0x\(String($0.flags, radix: 16)) pending 0x\(String($0.pendingSignals, radix: 16)) \($0.name)" }
            .joined(separator: ", ")
    }

    /// Finds every process but `excluded` whose environment contains the
    /// marker. A zombie's environment cannot be read, but a zombie stays
    /// only while its parent lives, and that parent carries the marker or
    /// is the subreaper.
    static func processes(marked marker: String, except excluded: pid_t) -> [MarkedProcess] {
        let needle = Array("\(markerName)=\(marker)".utf8)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> MarkedProcess? in
            guard let pid = pid_t(entry), pid != excluded,
                  let environment = FileManager.default.contents(atPath: "/proc/\(entry)/environ"),
                  environment.split(separator: 0).contains(where: { Array($0) == needle }),
                  let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
            else { return nil }
            // After the name: state, ppid, pgrp, session, tty_nr, tpgid,
            // flags (proc_pid_stat(5)).
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 6 else { return nil }
            let status = (try? String(contentsOfFile: "/proc/\(entry)/status", encoding: .utf8)) ?? ""
            var pending: UInt64 = 0
            for line in status.split(separator: "\n") where line.hasPrefix("SigPnd:") || line.hasPrefix("ShdPnd:") {
                pending |= UInt64(line.split(separator: "\t").last ?? "", radix: 16) ?? 0
            }
            return MarkedProcess(pid: pid, state: String(fields[0]), name: String(stat[stat.index(after: open)..<close]),
                                 flags: UInt64(fields[6]) ?? 0, pendingSignals: pending)
        }
    }
}
