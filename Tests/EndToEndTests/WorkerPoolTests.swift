import Foundation
import XCTest

/// The worker pool seen from outside: `--workers`, thread names, where new
/// processes land, exit statuses, and SIGKILL of remainroot while processes
/// move between workers.
final class WorkerPoolTests: XCTestCase {
    private func traced(workers: Int, _ arguments: [String]) throws -> Harness.Output {
        try Harness.run([Harness.remainroot, "--unshare", "--workers", String(workers), "--"] + arguments)
    }

    func testWorkersOptionRejectsBadCounts() throws {
        let cases: [([String], String)] = [
            (["--workers", "0", "true"], "invalid --workers '0'"),
            (["--workers", "1025", "true"], "invalid --workers '1025'"),
            (["--workers=-2", "true"], "invalid --workers '-2'"),
            (["--workers", "two", "true"], "invalid --workers 'two'"),
            (["--workers"], "--workers needs a value"),
        ]
        for (arguments, message) in cases {
            let output = try Harness.run([Harness.remainroot, "--unshare"] + arguments)
            XCTAssertEqual(output.status, 125, "remainroot \(arguments.joined(separator: " "))")
            XCTAssertTrue(output.standardError.contains(message), "expected '\(message)' in: \(output.standardError)")
            XCTAssertEqual(output.standardError.filter { $0 == "\n" }.count, 1, "one line: \(output.standardError)")
            XCTAssertEqual(output.standardOutput, "")
        }
    }

    func testWorkersOptionAcceptsBothForms() throws {
        let separate = try Harness.run([Harness.remainroot, "--unshare", "--workers", "3", "--", "sh", "-c", "exit 4"])
        XCTAssertEqual(separate.status, 4, separate.standardError)
        let joined = try Harness.run([Harness.remainroot, "--unshare", "--workers=1", "--", "sh", "-c", "exit 5"])
        XCTAssertEqual(joined.status, 5, joined.standardError)
    }

    /// The command's parent is remainroot, so /proc/$PPID/task lists its
    /// threads as ps -L does.
    func testWorkerThreadsAreNamed() throws {
        let output = try traced(workers: 3, ["sh", "-c", "cat /proc/$PPID/task/*/comm | sort"])
        XCTAssertEqual(output.status, 0, output.standardError)
        let names = output.standardOutput.split(separator: "\n").map(String.init)
        XCTAssertEqual(names.filter { $0.hasPrefix("rr-worker-") }, ["rr-worker-0", "rr-worker-1", "rr-worker-2"])
        XCTAssertTrue(names.contains("rr-signals"), "\(names)")
        XCTAssertTrue(names.allSatisfy { $0.utf8.count <= 15 }, "\(names)")
    }

    /// Four children of one shell: the placement rule moves every other one
    /// to the second worker, which /proc/PID/status shows as TracerPid.
    func testNewProcessesSpreadOverWorkers() throws {
        let script = """
            for i in 1 2 3 4; do sleep 3 & pids="$pids $!"; done
            sleep 0.5
            for p in $pids; do
              tracer=$(awk '/^TracerPid:/ {print $2}' /proc/$p/status)
              cat /proc/$PPID/task/$tracer/comm
            done
            kill $pids
            """
        let output = try traced(workers: 2, ["sh", "-c", script])
        let tracers = Set(output.standardOutput.split(separator: "\n").map(String.init))
        XCTAssertEqual(tracers, ["rr-worker-0", "rr-worker-1"], output.standardError)
    }

    func testOneWorkerKeepsEveryProcess() throws {
        let script = """
            sleep 3 & a=$!; sleep 3 & b=$!
            sleep 0.3
            for p in $a $b; do cat /proc/$PPID/task/$(awk '/^TracerPid:/ {print $2}' /proc/$p/status)/comm; done
            kill $a $b
            """
        let output = try traced(workers: 1, ["sh", "-c", script])
        XCTAssertEqual(output.standardOutput, "rr-worker-0\nrr-worker-0\n", output.standardError)
    }

    func testExitStatusUnderEachWorkerCount() throws {
        for workers in [1, 2, 4] {
            let exited = try traced(workers: workers, ["sh", "-c", "(exit 3) & wait; exit 7"])
            XCTAssertEqual(exited.status, 7, "workers \(workers): \(exited.standardError)")
            let killed = try traced(workers: workers, ["sh", "-c", "sh -c 'exit 1' & kill -KILL $$"])
            XCTAssertEqual(killed.status, 137, "workers \(workers): \(killed.standardError)")
        }
    }

    /// A background process that outlives the command keeps the pool
    /// running; remainroot returns after it ends, with the command's status.
    func testPoolWaitsForProcessesThatOutliveTheCommand() throws {
        let marker = Harness.temporaryDirectory().appendingPathComponent("late").path
        let output = try traced(workers: 2, ["sh", "-c", "(sleep 0.5; echo late > \(marker)) & exit 6"])
        XCTAssertEqual(output.status, 6, output.standardError)
        XCTAssertEqual(try String(contentsOfFile: marker, encoding: .utf8), "late\n")
    }

    /// SIGKILL of remainroot while a shell forks as fast as it can: some
    /// children are between two workers at that moment, and they must die
    /// with the rest. Every process of the command carries a marker in its
    /// environment, so the survivors can be found after remainroot is gone.
    /// The command writes to files, not to the harness's pipes, which a
    /// survivor would keep open.
    func testKillDuringHandOversLeavesNoProcess() throws {
        let directory = Harness.temporaryDirectory().path
        let script = """
            ready="$DIR/ready.$ROUND"
            "$REMAINROOT" --unshare --workers "$WORKERS" -- sh -c 'echo > "$1"; while :; do sleep 30 & done' sh "$ready" </dev/null >/dev/null 2>&1 &
            traced=$!
            while [ ! -e "$ready" ]; do sleep 0.01; done
            sleep "$DELAY"
            kill -KILL $traced
            wait $traced
            echo "status $?"
            """
        for workers in [2, 4] {
            for round in 0..<5 {
                let value = UUID().uuidString
                let environment = [
                    "DIR": directory, "ROUND": "\(workers).\(round)", "WORKERS": String(workers),
                    "DELAY": String(format: "0.%02d", 5 + round * 4), "REMAINROOT": Harness.remainroot,
                    "REMAINROOT_POOL_TEST": value,
                ]
                let output = try Harness.run(["bash", "-c", script], environment: environment, timeout: 30)
                XCTAssertEqual(output.standardOutput, "status 137\n", output.standardError)

                let marker = "REMAINROOT_POOL_TEST=\(value)"
                var survivors: [pid_t] = []
                for _ in 0..<100 {
                    survivors = Self.livingProcesses(withEnvironment: marker)
                    if survivors.isEmpty { break }
                    usleep(20_000)
                }
                for pid in survivors {
                    kill(pid, SIGKILL)
                }
                XCTAssertEqual(survivors, [], "workers \(workers), round \(round): processes outlived remainroot")
            }
        }
    }

    /// Processes, zombies excluded, whose environment contains `entry`.
    private static func livingProcesses(withEnvironment entry: String) -> [pid_t] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap { pid_t($0) }.filter { pid in
            guard let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ"),
                  let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            else { return false }
            let isZombie = status.split(separator: "\n").contains { $0.hasPrefix("State:") && $0.contains("Z") }
            return !isZombie && environment.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == entry }
        }.sorted()
    }
}
