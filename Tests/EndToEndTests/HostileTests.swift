import Foundation
import XCTest

/// Programs that do unusual things to their own process: each gets what
/// real root would get from the kernel, or, where remainroot cannot give
/// that, a loud failure that leaves nothing broken.
final class HostileTests: XCTestCase {
    private func compareWithRealRoot(_ mode: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try XCTSkipUnless(Harness.isRoot, "the native oracle needs real root")
        let program = try Harness.compile("hostile")
        let native = try Harness.run([program, mode])
        let emulated = try Harness.run([Harness.remainroot, "--unshare", "--", program, mode], timeout: 60)
        XCTAssertEqual(native.status, 0, native.combined, file: file, line: line)
        XCTAssertEqual(emulated.standardOutput, native.standardOutput, emulated.standardError, file: file, line: line)
        XCTAssertEqual(emulated.status, native.status, file: file, line: line)
    }

    /// A stacked filter that returns an errno wins over remainroot's trap,
    /// and one that asks for a tracer gets ENOSYS, as with no tracer.
    func testProgramsOwnSeccompFilter() throws {
        try compareWithRealRoot("own-filter")
    }

    /// A child made with CLONE_UNTRACED would run untraced; remainroot
    /// removes the flag, so the child still sees the emulated uid.
    func testCloneUntracedChildStaysTraced() throws {
        try compareWithRealRoot("untraced-child")
    }

    /// A child that stops itself 50 times is seen stopped by its parent each
    /// time and continued, while it makes emulated calls in between.
    func testChildStoppingItselfInALoop() throws {
        try compareWithRealRoot("stop-loop")
    }

    func testGrandchildKillsItsParent() throws {
        try compareWithRealRoot("kill-parent")
    }

    /// A traced program cannot have a second tracer: PTRACE_TRACEME fails
    /// with EPERM where real root would succeed, and remainroot says why.
    /// A process SIGKILLed inside fork reports no fork event, so its new
    /// child cannot get its credentials that way. remainroot must still
    /// end, with no process of the run left stopped.
    func testParentKilledInsideFork() throws {
        let program = try Harness.compile("kill-in-fork")
        for round in 0..<3 {
            let output = try Harness.run([Harness.remainroot, "--unshare", "--", program, "200"], timeout: 60)
            XCTAssertEqual(output.status, 0, "round \(round): \(output.standardError)")
            XCTAssertEqual(output.standardOutput, "done 200 rounds\n", "round \(round)")
        }
    }

    func testPtraceByATracee() throws {
        let program = try Harness.compile("hostile")
        let output = try Harness.run([Harness.remainroot, "--unshare", "--", program, "trace-me"])
        XCTAssertEqual(output.standardOutput, "PTRACE_TRACEME -1 EPERM\n")
        XCTAssertTrue(output.standardError.contains("a traced program called ptrace"), output.standardError)
    }

    /// chown and stat inside a chroot, by absolute and relative paths and
    /// through a symbolic link with an absolute target, land on the files
    /// inside the chroot.
    func testChownInsideChroot() throws {
        try Harness.require("busybox", "chroot")
        let root = Harness.temporaryDirectory().path
        let prepared = try Harness.run(["sh", "-c", "mkdir -p \"$ROOT/bin\" \"$ROOT/work\" && cp \"$(command -v busybox)\" \"$ROOT/bin/\" && mkdir -p \"$ROOT/work\" && touch \"$ROOT/work/outside\""], environment: ["ROOT": root])
        XCTAssertEqual(prepared.status, 0, prepared.standardError)

        let output = try Harness.run([Harness.remainroot, "--unshare", "--", "chroot", root, "/bin/busybox", "sh", "-c", """
            cd /work && /bin/busybox touch a b c
            /bin/busybox chown 1000:1000 a && /bin/busybox chown 33 /work/b
            /bin/busybox ln -s /work/c link && /bin/busybox chown 7:7 link
            /bin/busybox stat -c '%n %u:%g' a b /work/c ../work/c
            """])
        XCTAssertEqual(output.standardOutput, "a 1000:1000\nb 33:0\n/work/c 7:7\n../work/c 7:7\n", output.standardError)
        XCTAssertFalse(output.standardError.contains("could not be resolved"), output.standardError)

        let outside = try Harness.run([Harness.remainroot, "--unshare", "--", "stat", "-c", "%u:%g", "\(root)/work/outside"])
        XCTAssertEqual(outside.standardOutput, "0:0\n")
    }

    /// In a new mount namespace, a chown lands on the file of the tmpfs the
    /// program mounted, not on the file of the same name beneath it.
    func testChownInNewMountNamespace() throws {
        try Harness.require("unshare", "mount")
        let directory = Harness.temporaryDirectory().path
        FileManager.default.createFile(atPath: "\(directory)/f", contents: Data())
        let output = try Harness.run([Harness.remainroot, "--unshare", "--", "unshare", "-m", "sh", "-c",
            "mount -t tmpfs none \"$0\" && touch \"$0/f\" && chown 1000:1000 \"$0/f\" && stat -c %u:%g \"$0/f\"", directory])
        XCTAssertEqual(output.standardOutput, "1000:1000\n", output.standardError)
        let beneath = try Harness.run([Harness.remainroot, "--unshare", "--", "stat", "-c", "%u:%g", "\(directory)/f"])
        XCTAssertEqual(beneath.standardOutput, "0:0\n")
    }

    /// no_new_privs set by the program: the calls go on working.
    func testNoNewPrivileges() throws {
        try Harness.require("setpriv", "python3")
        let output = try Harness.run([Harness.remainroot, "--unshare", "--", "setpriv", "--no-new-privs", "python3", "-c",
            "import os; os.setresuid(1000, 1000, 1000); print(os.getresuid(), open('/proc/self/status').read().count('NoNewPrivs:\\t1'))"])
        XCTAssertEqual(output.standardOutput, "(1000, 1000, 1000) 1\n", output.standardError)
    }
}
