import XCTest

/// The real-world failures of rootless containers, each a real program run
/// under remainroot in a user namespace with one mapped uid, checked
/// against what a real root sees.
final class CaseTests: XCTestCase {
    func testPrivilegeDropCannotBeUndone() throws {
        try Harness.require("python3")
        let output = try Harness.shell("""
            $RUN python3 -c '
            import os
            os.setgroups([])
            os.setresgid(1000, 1000, 1000)
            os.setresuid(1000, 1000, 1000)
            print(os.getresuid(), os.getresgid(), os.getgroups())
            try:
                os.setuid(0)
                print("regained root")
            except PermissionError:
                print("EPERM")
            ' 2>&1
            """)
        XCTAssertEqual(output.combined, "(1000, 1000, 1000) (1000, 1000, 1000) []\nEPERM\n")
    }

    func testRunuserToNobody() throws {
        try Harness.require("runuser")
        let output = try Harness.shell("$RUN runuser -u nobody -- sh -c 'echo $(id -u) $(id -g) $(id -G)' 2>&1")
        XCTAssertEqual(output.combined, "65534 65534 65534\n")
    }

    func testSetprivChangesRealAndEffectiveIDs() throws {
        try Harness.require("setpriv")
        let output = try Harness.shell("$RUN setpriv --reuid=1000 --regid=1000 --clear-groups sh -c 'echo $(id -u) $(id -g) $(id -ru)' 2>&1")
        XCTAssertEqual(output.combined, "1000 1000 1000\n")
    }

    func testAptGetUpdateDropsToApt() throws {
        try Harness.require("apt-get", "dpkg-deb", "dpkg-scanpackages", "gzip")
        let work = Harness.temporaryDirectory().path
        let output = try Harness.shell("""
            work=\(work)
            mkdir -p "$work/repo" "$work/pkg/DEBIAN" "$work/pkg/usr/share/doc/hello-case" "$work/lists/partial" "$work/cache" "$work/parts"
            printf 'Package: hello-case\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: nobody <nobody@example.invalid>\\nDescription: case package\\n' >"$work/pkg/DEBIAN/control"
            echo hello >"$work/pkg/usr/share/doc/hello-case/README"
            dpkg-deb --root-owner-group -b "$work/pkg" "$work/repo/hello-case_1.0_all.deb" >/dev/null
            (cd "$work/repo" && dpkg-scanpackages -m . /dev/null 2>/dev/null >Packages && gzip -k Packages)
            chmod -R a+rX "$work"
            echo "deb [trusted=yes] file:$work/repo ./" >"$work/sources.list"
            printf 'Dir::Etc::SourceList "%s";\\nDir::Etc::SourceParts "%s";\\nDir::State::Lists "%s";\\nDir::Cache "%s";\\n' "$work/sources.list" "$work/parts" "$work/lists" "$work/cache" >"$work/apt.conf"
            APT_CONFIG="$work/apt.conf" $RUN apt-get update >"$work/log" 2>&1
            echo "status $?"
            echo "lists $(ls "$work/lists" | grep -c Packages)"
            """)
        XCTAssertEqual(output.standardOutput, "status 0\nlists 1\n", output.standardError)
    }

    func testDpkgInstallOfForeignOwnedFiles() throws {
        try Harness.require("dpkg", "dpkg-deb")
        let work = Harness.temporaryDirectory().path
        let output = try Harness.shell("""
            work=\(work)
            mkdir -p "$work/pkg/DEBIAN" "$work/pkg/var/www/site" "$work/root/var/lib/dpkg/info" "$work/root/var/lib/dpkg/updates"
            touch "$work/root/var/lib/dpkg/status"
            printf 'Package: site-case\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: nobody <nobody@example.invalid>\\nDescription: case package\\n' >"$work/pkg/DEBIAN/control"
            echo '<p>hi</p>' >"$work/pkg/var/www/site/index.html"
            chown -R 33:33 "$work/pkg/var/www/site"
            dpkg-deb -b "$work/pkg" "$work/site.deb" >/dev/null
            $RUN dpkg --root="$work/root" --force-not-root -i "$work/site.deb" >"$work/log" 2>&1
            echo "status $?"
            echo "owner $($RUN stat -c %u:%g "$work/root/var/www/site/index.html" 2>&1)"
            """)
        XCTAssertEqual(output.standardOutput, "status 0\nowner 33:33\n", output.standardError)
    }

    func testTarExtractsForeignOwners() throws {
        try Harness.require("tar")
        let work = Harness.temporaryDirectory().path
        let output = try Harness.shell("""
            work=\(work)
            mkdir -p "$work/src/app" "$work/out"
            echo data >"$work/src/app/file"
            tar -C "$work/src" --owner=1000 --group=1000 -czf "$work/app.tgz" app
            $RUN tar -xzf "$work/app.tgz" -C "$work/out" >"$work/log" 2>&1
            echo "status $?"
            cat "$work/log" "$work/out/app/file"
            echo "owner $($RUN stat -c %u:%g "$work/out/app/file" 2>&1)"
            echo "listed $($RUN sh -c "cd '$work/out' && tar -cf - app | tar -tvf - --numeric-owner" 2>&1 | awk 'NR==1 {print $2}')"
            """)
        XCTAssertEqual(output.standardOutput, "status 0\ndata\nowner 1000:1000\nlisted 1000/1000\n", output.standardError)
    }

    func testChownTreeToUnmappedUser() throws {
        let work = Harness.temporaryDirectory().path
        let output = try Harness.shell("""
            work=\(work)
            mkdir -p "$work/home/.cache/a/b"
            touch "$work/home/.cache/a/b/blob"
            $RUN chown -R 1000:1000 "$work/home/.cache" >"$work/log" 2>&1
            echo "status $?"
            cat "$work/log"
            echo "owner $($RUN stat -c %u:%g "$work/home/.cache/a/b/blob" 2>&1)"
            echo "found $($RUN find "$work/home/.cache" -user 1000 2>/dev/null | wc -l)"
            """)
        XCTAssertEqual(output.standardOutput, "status 0\nowner 1000:1000\nfound 4\n", output.standardError)
    }

    func testMknodOfCharacterDevice() throws {
        let work = Harness.temporaryDirectory().path
        let output = try Harness.shell("""
            work=\(work)
            mkdir -p "$work/dev"
            $RUN mknod -m 666 "$work/dev/null" c 1 3 >"$work/log" 2>&1
            echo "status $?"
            $RUN stat -c '%F %t:%T %a' "$work/dev/null" 2>&1
            """)
        XCTAssertEqual(output.standardOutput, "status 0\ncharacter special file 1:3 666\n", output.standardError)
    }

    func testChownStillReportsMissingFile() throws {
        let work = Harness.temporaryDirectory().path
        let output = try Harness.shell("$RUN chown 1000:1000 \(work)/missing 2>&1; echo \"status $?\"")
        XCTAssertTrue(output.standardOutput.contains("No such file or directory"), output.standardOutput)
        XCTAssertTrue(output.standardOutput.hasSuffix("status 1\n"), output.standardOutput)
    }

    func testGroupsClearedAndSet() throws {
        try Harness.require("python3", "setpriv")
        let output = try Harness.shell("""
            setpriv --groups 4,27 -- $RUN python3 -c '
            import os
            os.setgroups([])
            print(os.getgroups())
            os.setgroups([4, 27, 100])
            print(os.getgroups())
            ' 2>&1
            """)
        XCTAssertEqual(output.combined, "[]\n[4, 27, 100]\n")
    }

    func testNginxStartsWorkerAsWwwData() throws {
        try Harness.require("nginx", "timeout")
        let work = Harness.temporaryDirectory().path
        let output = try Harness.shell("""
            work=\(work)
            cat >"$work/nginx.conf" <<CONF
            user www-data;
            worker_processes 1;
            pid $work/nginx.pid;
            error_log stderr notice;
            events { worker_connections 16; }
            CONF
            $RUN timeout 3 nginx -p "$work" -c "$work/nginx.conf" -g 'daemon off;' >"$work/log" 2>&1
            echo "emergencies $(grep -c -E 'emerg|alert' "$work/log")"
            echo "workers $(grep -c 'start worker process [0-9]' "$work/log")"
            """)
        XCTAssertEqual(output.standardOutput, "emergencies 0\nworkers 1\n", output.standardError)
    }

    func testUseraddCreatesHome() throws {
        try Harness.require("useradd")
        let work = Harness.temporaryDirectory().path
        let output = try Harness.shell("""
            work=\(work)
            mkdir -p "$work/root/etc/skel" "$work/root/home"
            for f in passwd group shadow gshadow login.defs; do cp -a "/etc/$f" "$work/root/etc/"; done
            echo 'alias ll="ls -l"' >"$work/root/etc/skel/.bashrc"
            $RUN useradd --root "$work/root" -m -u 1500 -U builder >"$work/log" 2>&1
            echo "status $?"
            grep -c '^builder:x:1500:1500:' "$work/root/etc/passwd"
            echo "owner $($RUN stat -c %u:%g "$work/root/home/builder/.bashrc" 2>&1)"
            """)
        XCTAssertEqual(output.standardOutput, "status 0\n1\nowner 1500:1500\n", output.standardError)
    }

    func testStaticBusyboxChownAndSu() throws {
        try Harness.require("busybox", "file")
        let kind = try Harness.run(["sh", "-c", "file -L \"$(command -v busybox)\""]).standardOutput
        guard kind.contains("static") else { throw XCTSkip("needs a static busybox (Debian: busybox-static)") }
        let work = Harness.temporaryDirectory().path
        let output = try Harness.shell("""
            touch \(work)/f
            $RUN busybox chown 1000:1000 \(work)/f >\(work)/log 2>&1
            echo "status $?"
            $RUN busybox su -s /bin/sh nobody -c 'echo $(id -u) $(id -g)' 2>&1 | tail -1
            """)
        XCTAssertEqual(output.standardOutput, "status 0\n65534 65534\n", output.standardError)
    }

    func testThreadsAgreeAfterSetresuid() throws {
        try Harness.require("python3")
        let output = try Harness.shell("""
            $RUN python3 -c '
            import os, threading
            ready = threading.Event(); done = threading.Event(); seen = []
            def worker():
                ready.set(); done.wait(); seen.append(os.geteuid())
            t = threading.Thread(target=worker); t.start(); ready.wait()
            try:
                os.setgroups([]); os.setresuid(1000, 1000, 0)
            finally:
                done.set(); t.join()
            print(os.geteuid(), seen[0])' 2>&1
            """)
        XCTAssertEqual(output.combined, "1000 1000\n")
    }

    func testExitStatusPassesThrough() throws {
        let output = try Harness.shell("""
            $RUN sh -c 'exit 7'; echo "plain $?"
            $RUN sh -c 'kill -TERM $$'; echo "signal $?"
            $RUN /nonexistent/command 2>/dev/null; echo "missing $?"
            """)
        XCTAssertEqual(output.standardOutput, "plain 7\nsignal 143\nmissing 127\n")
    }
}
