import CShims
import Glibc

/// The user namespace remainroot runs in, and the credentials its caller
/// has there.
public enum UserNamespace {
    /// Creates a user namespace and maps the caller's uid and gid to 0 in
    /// it, as `unshare --user --map-root-user` does. unshare(2) refuses
    /// CLONE_NEWUSER in a multithreaded process, so call this before any
    /// thread starts. Writing "deny" to setgroups first is what lets an
    /// unprivileged caller write gid_map (user_namespaces(7)).
    public static func enterNew() -> Result<Void, TraceError> {
        let uid = getuid()
        let gid = getgid()
        let me = ProcessID(getpid())

        let result = shim_unshare_user_namespace()
        guard result == 0 else {
            return .failure(TraceError("unshare(CLONE_NEWUSER)", pid: me, errno: Errno(-result)))
        }

        let writes = [
            ("/proc/self/uid_map", "0 \(uid) 1\n"),
            ("/proc/self/setgroups", "deny\n"),
            ("/proc/self/gid_map", "0 \(gid) 1\n"),
        ]
        for (path, contents) in writes {
            if case .failure(let errno) = SystemCalls.writeFile(path, contents) {
                return .failure(TraceError("write \(path)", pid: me, errno: errno))
            }
        }
        return .success(())
    }

    /// The credentials of the calling process as the kernel reports them
    /// in its namespace: the starting identity of a traced command.
    public static func callerCredentials() -> Credentials {
        var uids: [UInt32] = [0, 0, 0]
        var gids: [UInt32] = [0, 0, 0]
        _ = shim_get_res_ids(&uids, &gids)

        let count = getgroups(0, nil)
        var groups = [gid_t](repeating: 0, count: Int(max(count, 0)))
        let got = getgroups(count, &groups)
        groups = Array(groups.prefix(Int(max(got, 0))))

        let status = ProcessStatus(of: "self")
        func capabilities(_ field: String) -> CapabilitySet {
            CapabilitySet(rawValue: status?.value(field).flatMap { UInt64($0, radix: 16) } ?? 0)
        }
        let securebits = shim_get_securebits()

        return Credentials(
            uid: uids[0], euid: uids[1], suid: uids[2], fsuid: shim_get_fsuid(),
            gid: gids[0], egid: gids[1], sgid: gids[2], fsgid: shim_get_fsgid(),
            groups: groups,
            permitted: capabilities("CapPrm"), effective: capabilities("CapEff"),
            inheritable: capabilities("CapInh"), bounding: capabilities("CapBnd"),
            ambient: capabilities("CapAmb"),
            securebits: SecureBits(rawValue: UInt32(max(securebits, 0)))
        )
    }

    /// The highest capability number the running kernel knows, from
    /// /proc/sys/kernel/cap_last_cap (40 on Linux 5.9 and later).
    public static func lastCapability() -> Int {
        let text = (try? SystemCalls.readFile("/proc/sys/kernel/cap_last_cap").get()) ?? "40"
        return Int(text.trimmingCharacters()) ?? 40
    }
}

extension String {
    func trimmingCharacters() -> String {
        String(self.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
