import Foundation
import XCTest

/// Programs that create, stop and execute processes and threads quickly,
/// each run under 1, 2 and 4 workers with a time limit. Each program
/// counts its own failures, so its output and status are the same under
/// every worker count.
final class PoolStressTests: XCTestCase {
    private static let workerCounts = [1, 2, 4]
    /// The time limit of each run in seconds, far above the second or less
    /// that each program took on a 2-CPU test machine.
    private static let timeLimit: TimeInterval = 60

    private func traced(workers: Int, identity: String? = nil, _ arguments: [String]) throws -> Harness.Output {
        var command = [Harness.remainroot, "--unshare", "--workers", String(workers)]
        if let identity {
            command += ["--identity", identity]
        }
        return try Harness.run(command + ["--"] + arguments, timeout: Self.timeLimit)
    }

    /// 2,046 forks in a tree 10 levels deep, leaves exiting while other
    /// branches still fork; every process must see the faked uid.
    func testForkTreeOfTwoThousandProcesses() throws {
        let program = try Harness.compile("fork-tree")
        for workers in Self.workerCounts {
            let output = try traced(workers: workers, identity: "1000:1000", [program, "1000"])
            XCTAssertEqual(output.standardOutput, "processes 2047 mismatched 0\n", "workers \(workers): \(output.standardError)")
            XCTAssertEqual(output.status, 0, "workers \(workers)")
        }
    }

    /// glibc's setresuid makes each of 201 threads call setresuid, each
    /// stopping once; the result must match what real root sees.
    func testSetresuidAcrossTwoHundredThreads() throws {
        try XCTSkipUnless(Harness.isRoot, "the native oracle needs real root")
        let program = try Harness.compile("threads-setresuid", flags: ["-lpthread"])
        let native = try Harness.run([program])
        XCTAssertEqual(native.standardOutput, "threads 200 mismatched 0 uid 2000\n", native.standardError)
        for workers in Self.workerCounts {
            let output = try traced(workers: workers, [program])
            XCTAssertEqual(output.standardOutput, native.standardOutput, "workers \(workers): \(output.standardError)")
            XCTAssertEqual(output.status, native.status, "workers \(workers)")
        }
    }

    func testVforkAndExecInALoop() throws {
        let program = try Harness.compile("vfork-exec-loop")
        for workers in Self.workerCounts {
            let output = try traced(workers: workers, identity: "1000:1000", [program, "300"])
            XCTAssertEqual(output.standardOutput, "iterations 300 failures 0\n", "workers \(workers): \(output.standardError)")
            XCTAssertEqual(output.status, 0, "workers \(workers)")
        }
    }

    /// Twenty processes at once each execute `id` from a thread other than
    /// the leader, after that thread alone changed its uid.
    func testExecFromNonLeaderThreads() throws {
        let program = try Harness.compile("thread-exec", flags: ["-lpthread"])
        let script = "for i in $(seq 20); do \"$0\" & done; wait"
        for workers in Self.workerCounts {
            let output = try traced(workers: workers, ["sh", "-c", script, program])
            let lines = output.standardOutput.split(separator: "\n")
            XCTAssertEqual(lines.filter { $0 == "thread uid 1000" }.count, 20, "workers \(workers): \(output.standardOutput) \(output.standardError)")
            XCTAssertEqual(lines.filter { $0 == "1000" }.count, 20, "workers \(workers): the new program's real uid")
            XCTAssertEqual(lines.count, 40, "workers \(workers): \(output.standardOutput)")
            XCTAssertEqual(output.status, 0, "workers \(workers)")
        }
    }

    /// 200 rounds of SIGSTOP and SIGCONT to a child that makes nothing but
    /// shimmed calls: its parent sees every stop and continue, and the
    /// child never sees a wrong result.
    func testStopAndContinueDuringShimmedCalls() throws {
        let program = try Harness.compile("stop-in-shimmed-call")
        for workers in Self.workerCounts {
            let output = try traced(workers: workers, identity: "1000:1000", [program])
            XCTAssertEqual(output.standardOutput, "stops 200 continues 200 child clean\n", "workers \(workers): \(output.standardError)")
            XCTAssertEqual(output.status, 0, "workers \(workers)")
        }
    }
}
