import Foundation
import XCTest

/// Owners, device nodes and modes that programs give files inside
/// remainroot: what later stat calls show, across runs, through archives,
/// and under the kernel's rules for the emulated identity.
final class OwnershipTests: XCTestCase {
    private var work: String = ""

    override func setUp() {
        work = Harness.temporaryDirectory().path
    }

    /// Runs a shell script under `remainroot --unshare` with extra options.
    private func traced(_ script: String, options: [String] = []) throws -> Harness.Output {
        try Harness.run([Harness.remainroot, "--unshare"] + options + ["--", "sh", "-c", script], environment: ["work": work])
    }

    func testOwnersSurviveASecondRun() throws {
        let first = try traced("touch \"$work/f\" && mkdir \"$work/d\" && chown 1000:1001 \"$work/f\" && chown 33 \"$work/d\"")
        XCTAssertEqual(first.status, 0, first.standardError)
        let second = try traced("stat -c '%n %u:%g' \"$work/f\" \"$work/d\"")
        XCTAssertEqual(second.standardOutput, "\(work)/f 1000:1001\n\(work)/d 33:0\n", second.standardError)
    }

    /// The tracer fills the stat and statx buffers of a recorded file at
    /// the entry stop. Every field but the owner must be the kernel's,
    /// which a stat of the same file outside remainroot shows.
    func testRecordedStatAnsweredAtEntry() throws {
        try Harness.require("perl")
        let log = work + "/trace"
        let fields = "%s %a %i %h %b %Y %X %Z %W %d %F"
        let setup = try traced("cd \"$work\" && printf 'some bytes' > f && chmod 640 f && chown 1234:5678 f && ln -s f link && chown -h 77:88 link",
                               options: ["--state", work + "/state.db"])
        XCTAssertEqual(setup.status, 0, setup.standardError)
        let script = """
            cd "$work" && stat -c '%u:%g \(fields)' f
            perl -e '@s = stat("f"); @l = lstat("link"); print "$s[4]:$s[5] $s[7] $s[1]\\n$l[4]:$l[5]\\n"'
            """
        let output = try traced(script, options: ["--state", work + "/state.db", "--trace", "--log-file", log])
        let native = try Harness.run(["stat", "-c", fields, work + "/f"])
        let inode = try Harness.run(["stat", "-c", "%i", work + "/f"]).standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        let trace = try String(contentsOfFile: log, encoding: .utf8)

        XCTAssertEqual(output.status, 0, output.standardError)
        XCTAssertEqual(output.standardOutput, "1234:5678 \(native.standardOutput)1234:5678 10 \(inode)\n77:88\n")
        let recordedCalls = trace.split(separator: "\n")
            .filter { $0.contains("\"f\"") || $0.contains("\"link\"") }
            .filter { $0.contains("statx(") || $0.contains("newfstatat(") }
        XCTAssertEqual(recordedCalls.count, 3, trace)
        for line in recordedCalls {
            XCTAssertTrue(line.hasSuffix("= 0 (faked)"), "not answered at entry: \(line)")
        }
    }

    func testHardLinksRenamesAndChmodKeepRecords() throws {
        let output = try traced("""
            cd "$work" && touch f && chown 1000:1000 f && ln f g && mv f h
            mknod -m 644 tty c 5 0 && chmod 600 tty && chown 0:5 tty
            stat -c '%n %u:%g %F %a %t:%T' g h tty
            """)
        XCTAssertEqual(output.standardOutput, """
            g 1000:1000 regular empty file 644 0:0
            h 1000:1000 regular empty file 644 0:0
            tty 0:5 character special file 600 5:0

            """, output.standardError)
    }

    func testBlockDeviceThroughPython() throws {
        try Harness.require("python3")
        let output = try traced("""
            cd "$work" && mknod sda b 8 0 && chown 6:6 sda
            python3 -c '
            import os, stat
            st = os.stat("sda")
            print(stat.S_ISBLK(st.st_mode), os.major(st.st_rdev), os.minor(st.st_rdev), st.st_uid, st.st_gid)'
            stat -c '%F %t:%T %u' sda
            """)
        XCTAssertEqual(output.standardOutput, "True 8 0 6 6\nblock special file 8:0 6\n", output.standardError)
    }

    func testRecordsAreHiddenFromAttributeCalls() throws {
        try Harness.require("python3")
        let output = try traced("""
            cd "$work" && touch f && chown 1000:1000 f && mknod n c 1 3
            python3 -c '
            import os
            os.setxattr("f", "user.mine", b"1")
            print(sorted(os.listxattr("f")), os.listxattr("n"))
            for name in ("user.rootlesscontainers", "user.remainroot.device"):
                try:
                    os.getxattr("n" if "device" in name else "f", name)
                    print("visible", name)
                except OSError as error:
                    print(error.strerror)'
            """)
        XCTAssertEqual(output.standardOutput, "['user.mine'] []\nNo data available\nNo data available\n", output.standardError)
    }

    func testAttributeIsTheRootlessContainersEncoding() throws {
        try Harness.require("getfattr")
        let output = try traced("touch \"$work/f\" && chown 1000:1001 \"$work/f\"")
        XCTAssertEqual(output.status, 0, output.standardError)
        // Protobuf Resource { uid = 1000, gid = 1001 }: tag 0x08, varint
        // 1000 (e8 07), tag 0x10, varint 1001 (e9 07).
        let attribute = try Harness.run(["getfattr", "--absolute-names", "-e", "hex", "-n", "user.rootlesscontainers", "\(work)/f"])
        let value = attribute.standardOutput.split(separator: "\n").first { $0.hasPrefix("user.rootlesscontainers=") }
        XCTAssertEqual(value, "user.rootlesscontainers=0x08e80710e907", attribute.standardOutput + attribute.standardError)
    }

    func testUnprivilegedIdentityFollowsKernelRules() throws {
        try Harness.require("setpriv")
        let output = try traced("""
            cd "$work" && touch mine theirs && chown 1000:1000 mine
            drop="setpriv --reuid=1000 --regid=1000 --groups=1000,27"
            $drop chown 1001 mine 2>/dev/null; echo "give away $?"
            $drop chown 1000 mine; echo "to itself $?"
            $drop chgrp 27 mine; echo "to a member group $?"
            $drop chgrp 5 mine 2>/dev/null; echo "to another group $?"
            $drop chgrp 1000 theirs 2>/dev/null; echo "a file of root $?"
            $drop chown 1000 "$work/missing" 2>/dev/null; echo "missing $?"
            stat -c '%u:%g' mine theirs
            """)
        XCTAssertEqual(output.standardOutput, """
            give away 1
            to itself 0
            to a member group 0
            to another group 1
            a file of root 1
            missing 1
            1000:27
            0:0

            """, output.standardError)
    }

    func testForeignOwnerCopiesAs65534() throws {
        try XCTSkipUnless(Harness.isRoot, "making a file of an unmapped owner needs real root")
        let source = "\(work)/foreign"
        FileManager.default.createFile(atPath: source, contents: Data("x".utf8))
        XCTAssertEqual(chown(source, 5000, 5000), 0)
        let output = try traced("cp -a \"$work/foreign\" \"$work/copy\"; echo \"status $?\"; stat -c %u:%g \"$work/foreign\" \"$work/copy\"")
        XCTAssertEqual(output.standardOutput, "status 0\n65534:65534\n65534:65534\n", output.standardError)
    }

    func testSymlinkOwnersNeedTheStateFile() throws {
        let state = "\(work)/state.db"
        let first = try traced("cd \"$work\" && ln -s target link && chown -h 1000:1000 link", options: ["--state", state])
        XCTAssertEqual(first.status, 0, first.standardError)
        let second = try traced("stat -c %u:%g \"$work/link\"", options: ["--state", state])
        XCTAssertEqual(second.standardOutput, "1000:1000\n", second.standardError)

        let withoutState = try traced("cd \"$work\" && ln -s target other && chown -h 7:7 other && stat -c %u:%g other")
        XCTAssertEqual(withoutState.standardOutput, "7:7\n")
        XCTAssertTrue(withoutState.standardError.contains("--state FILE"), withoutState.standardError)
        let forgotten = try traced("stat -c %u:%g \"$work/other\"")
        XCTAssertEqual(forgotten.standardOutput, "0:0\n")
    }

    func testStateModeKeepsEverythingInTheFile() throws {
        try Harness.require("getfattr")
        let state = "\(work)/state.db"
        let first = try traced("touch \"$work/f\" && chown 1000:1000 \"$work/f\"", options: ["--ownership=state", "--state", state])
        XCTAssertEqual(first.status, 0, first.standardError)
        let attributes = try Harness.run(["getfattr", "-d", "-m", "-", "\(work)/f"])
        XCTAssertFalse(attributes.standardOutput.contains("rootlesscontainers"), attributes.standardOutput)
        let second = try traced("stat -c %u:%g \"$work/f\"", options: ["--ownership=state", "--state", state])
        XCTAssertEqual(second.standardOutput, "1000:1000\n", second.standardError)
    }

    func testOwnershipOffRecordsNothing() throws {
        let output = try traced("touch \"$work/f\" && chown 1000:1000 \"$work/f\" && stat -c %u:%g \"$work/f\"", options: ["--ownership=off"])
        XCTAssertEqual(output.standardOutput, "0:0\n", output.standardError)
    }

    func testInvalidStateFileIsLeftUntouched() throws {
        let state = "\(work)/not-a-database"
        let garbage = Data("this is not SQLite\n".utf8) + Data(repeating: 0x5a, count: 4096)
        FileManager.default.createFile(atPath: state, contents: garbage)
        let output = try Harness.run([Harness.remainroot, "--unshare", "--state", state, "--", "true"])
        XCTAssertEqual(output.status, 125)
        XCTAssertTrue(output.standardError.hasPrefix("remainroot: cannot open the state file"), output.standardError)
        XCTAssertEqual(output.standardError.filter { $0 == "\n" }.count, 1, output.standardError)
        XCTAssertEqual(FileManager.default.contents(atPath: state), garbage)
    }

    func testStateOptionConflicts() throws {
        let noFile = try Harness.run([Harness.remainroot, "--unshare", "--ownership=state", "--", "true"])
        XCTAssertEqual(noFile.status, 125)
        XCTAssertTrue(noFile.standardError.contains("--state FILE"), noFile.standardError)
        let bad = try Harness.run([Harness.remainroot, "--ownership=maybe", "true"])
        XCTAssertEqual(bad.status, 125)
        XCTAssertTrue(bad.standardError.contains("invalid --ownership 'maybe'"), bad.standardError)
    }

    // MARK: - Archives, persistence and interoperability

    /// Lines of `tar -tv` or `cpio -itv` as (mode, uid, gid, size or
    /// device, name), without the dates the two print differently.
    private func entries(_ listing: String, cpio: Bool) -> [String] {
        listing.split(separator: "\n").map { line -> String in
            var fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            if cpio {
                // mode links uid gid size-or-"major," [minor] month day time name
                let mode = fields[0], uid = fields[2], gid = fields[3]
                var size = fields[4]
                fields.removeFirst(5)
                if size.hasSuffix(",") {
                    size += fields.removeFirst()
                }
                return [mode, uid, gid, size, Self.normalizedName(fields[3...].joined(separator: " "))].joined(separator: " ")
            }
            // mode uid/gid size-or-"major,minor" date time name
            let owner = fields[1].split(separator: "/")
            return [fields[0], String(owner[0]), String(owner[1]), fields[2], Self.normalizedName(fields[5...].joined(separator: " "))].joined(separator: " ")
        }.sorted()
    }

    /// tar writes "./etc/" where cpio writes "etc".
    private static func normalizedName(_ name: String) -> String {
        var name = name
        if name.hasPrefix("./") { name.removeFirst(2) }
        if name.hasSuffix("/") { name.removeLast() }
        return name.isEmpty ? "." : name
    }

    func testArchiveRoundTripThroughTarAndCpio() throws {
        try XCTSkipUnless(Harness.isRoot, "the original archive is made with real owners and devices by real root")
        try Harness.require("tar", "cpio")
        let original = try Harness.run(["sh", "-c", """
            set -e
            mkdir -p "$work/src/etc" "$work/src/dev" "$work/src/srv/www"
            echo config >"$work/src/etc/app.conf"; chown 0:4 "$work/src/etc/app.conf"; chmod 640 "$work/src/etc/app.conf"
            echo page >"$work/src/srv/www/index.html"; chown -R 33:33 "$work/src/srv/www"
            echo tool >"$work/src/srv/tool"; chown 1000:1000 "$work/src/srv/tool"; chmod 4755 "$work/src/srv/tool"
            mknod -m 666 "$work/src/dev/null" c 1 3; mknod -m 660 "$work/src/dev/sda" b 8 0; chown 0:6 "$work/src/dev/sda"
            ln -s ../etc/app.conf "$work/src/srv/link"; chown -h 1000:1000 "$work/src/srv/link"
            cd "$work/src" && tar --numeric-owner -cf "$work/original.tar" .
            tar --numeric-owner -tvf "$work/original.tar"
            """], environment: ["work": work])
        XCTAssertEqual(original.status, 0, original.standardError)

        let state = "\(work)/state.db"
        let rebuilt = try traced("""
            set -e
            mkdir "$work/out" && cd "$work/out"
            tar --numeric-owner -xpf "$work/original.tar"
            tar --numeric-owner -cf "$work/again.tar" .
            find . | cpio --quiet -o -H newc >"$work/again.cpio"
            """, options: ["--state", state])
        XCTAssertEqual(rebuilt.status, 0, rebuilt.standardError)

        let tarListing = try Harness.run(["tar", "--numeric-owner", "-tvf", "\(work)/again.tar"])
        let cpioListing = try Harness.run(["sh", "-c", "cpio --quiet -itv --numeric-uid-gid <\"$work/again.cpio\""], environment: ["work": work])
        let expected = entries(original.standardOutput, cpio: false)
        XCTAssertEqual(expected.count, 11, original.standardOutput)
        XCTAssertEqual(entries(tarListing.standardOutput, cpio: false), expected)

        // cpio lists symbolic links as "name -> target" and sizes them by
        // their target's length, as tar lists them with size 0.
        let cpioEntries = entries(cpioListing.standardOutput, cpio: true).map { line -> String in
            guard line.hasPrefix("l"), let arrow = line.range(of: " -> ") else { return line }
            var fields = line[..<arrow.lowerBound].split(separator: " ").map(String.init)
            fields[3] = "0"
            return fields.joined(separator: " ") + line[arrow.lowerBound...]
        }
        XCTAssertEqual(cpioEntries.count, expected.count, cpioListing.standardOutput)
        for (cpioLine, tarLine) in zip(cpioEntries, expected) {
            XCTAssertEqual(cpioLine, tarLine)
        }
    }

    /// Every chown that returned to the program before remainroot was
    /// killed is still recorded, in attributes and in the state file.
    func testRecordsSurviveKillMidChown() throws {
        for options in [[String](), ["--ownership=state", "--state", "\(work)/state.db"]] {
            let tree = "\(work)/tree-\(options.count)"
            let made = try Harness.run(["sh", "-c", "mkdir -p \"$1\" && cd \"$1\" && seq 10000 | xargs touch", "sh", tree])
            XCTAssertEqual(made.status, 0, made.standardError)

            let log = "\(work)/chown-\(options.count).log"
            let child = try Harness.Child(["sh", "-c", "exec \"$0\" --unshare \"$@\" -- stdbuf -oL chown -v -R 1000:1000 \"$TREE\" >\"$LOG\"", Harness.remainroot] + options,
                                          environment: ["TREE": tree, "LOG": log])
            child.finishInput(nil)

            var lines = 0
            for _ in 0..<400 {
                usleep(10_000)
                lines = (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").count ?? 0
                if lines >= 2000 { break }
            }
            child.killGroup()
            XCTAssertGreaterThanOrEqual(lines, 2000, "chown -R made too little progress to test")

            let reported = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").compactMap { line -> String? in
                guard let start = line.firstIndex(of: "'"), let end = line.lastIndex(of: "'"), start < end else { return nil }
                return String(line[line.index(after: start)..<end])
            }
            XCTAssertLessThan(reported.count, 10001, "the kill came after chown -R finished")
            let check = try Harness.run([Harness.remainroot, "--unshare"] + options + ["--", "sh", "-c", "xargs -d '\\n' stat -c '%u:%g' <\"$LIST\" | sort | uniq -c"],
                                        environment: ["LIST": try listFile(reported)])
            XCTAssertEqual(check.standardOutput.trimmingCharacters(in: .whitespaces), "\(reported.count) 1000:1000\n", "options \(options): \(check.standardError)")
        }
    }

    private func listFile(_ lines: [String]) throws -> String {
        let path = "\(work)/list-\(UUID().uuidString)"
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// umoci unpacks a rootless bundle, remainroot gives a file away, and
    /// umoci repack writes that owner into the new layer's tar headers.
    func testUmociRepackSeesTheOwners() throws {
        try Harness.require("umoci", "python3", "tar")
        let output = try Harness.run(["sh", "-c", """
            set -e
            cd "$work"
            umoci init --layout img
            umoci new --image img:base
            umoci unpack --rootless --image img:base bundle
            mkdir -p bundle/rootfs/srv && echo x >bundle/rootfs/srv/file
            "$REMAINROOT" --unshare -- chown 1000:1001 bundle/rootfs/srv/file
            umoci repack --image img:base bundle
            layer=$(python3 -c '
            import json
            index = json.load(open("img/index.json"))
            manifest = json.load(open("img/blobs/sha256/" + index["manifests"][0]["digest"].split(":")[1]))
            print(manifest["layers"][-1]["digest"].split(":")[1])')
            tar --numeric-owner -tvzf "img/blobs/sha256/$layer" | awk '$NF == "srv/file" {print $2}'
            """], environment: ["work": work, "REMAINROOT": Harness.remainroot])
        XCTAssertEqual(output.standardOutput, "1000/1001\n", output.standardError)
    }

    /// Files made after a drop belong to the creator's fsuid and fsgid, or
    /// to the directory's group when it is set-group-ID, as the kernel's
    /// inode_init_owner decides; real root making the same files is the
    /// oracle.
    func testNewFilesBelongToTheirCreator() throws {
        try XCTSkipUnless(Harness.isRoot, "the native oracle needs real root")
        try Harness.require("setpriv", "mkfifo")
        let script = """
            set -e
            cd "$DIR" && mkdir -m 777 open && mkdir -m 2777 shared && chown 0:50 shared
            as1000="setpriv --reuid 1000 --regid 1001 --clear-groups"
            $as1000 sh -c 'touch open/a; mkdir open/d; ln -s a open/l; echo x >open/b; mkfifo open/p; python3 -c "import os; os.close(os.open(\\"open/t\\", os.O_WRONLY | os.O_CREAT | os.O_EXCL))"'
            $as1000 sh -c 'touch shared/c; mkdir shared/e'
            touch existing && chmod 666 existing && $as1000 sh -c 'echo y >>existing'
            touch open/rootmade
            stat -c '%n %u:%g %A' open/* shared/* existing
            rm -rf "$DIR"/*
            """
        let directory = Harness.temporaryDirectory().path
        let native = try Harness.run(["sh", "-c", script], environment: ["DIR": directory])
        XCTAssertEqual(native.status, 0, native.standardError)
        let emulated = try Harness.run([Harness.remainroot, "--unshare", "--", "sh", "-c", script], environment: ["DIR": directory])
        XCTAssertEqual(emulated.standardOutput, native.standardOutput, emulated.standardError)
        XCTAssertTrue(native.standardOutput.contains("shared/e 1000:50 drwxr-sr-x"), native.standardOutput)
    }
}
