import CShims
import Engine
import Glibc

/// `remainroot [OPTIONS] [--] COMMAND [ARG...]`: runs a command that
/// believes it may change its credentials and give files away.
struct RunCommand {
    static let usage = """
        Usage: remainroot [OPTIONS] [--] COMMAND [ARG...]
               remainroot syscalls [--arch NAME]
               remainroot bench [--quick | --full] [--json] [--only NAME[,NAME...]]

        Runs COMMAND under ptrace inside a user namespace and answers its
        credential system calls with the kernel's own rules, so that it can
        drop to other users and chown files to ids the namespace does not map.
        Credential reads stop only once a thread's emulated credentials
        differ from its real ones. Once a process drops CAP_DAC_OVERRIDE
        this way, its opens, access calls, execve, and the paths of chown,
        mknod, mkdir and symlink are checked against the lowered identity,
        and each of those calls stops.

        Options:
          --unshare             Create a user namespace that maps the caller to
                                root first, as `unshare --user --map-root-user`.
          -i, --identity UID:GID
                                Start COMMAND with this uid and gid (and GID as its
                                only supplementary group) instead of the caller's.
                                Credentials other than the caller's make every
                                credential call stop, and every open and access
                                call unless only GID among the groups differs.
          --ownership=MODE      Where owners given by chown and devices made by
                                mknod are recorded, so that stat shows them:
                                xattr (default) keeps them in each file's
                                user.rootlesscontainers attribute, which umoci
                                reads too, and uses the state file only for
                                files that take no user attributes (symbolic
                                links); state keeps everything in the state
                                file; off records nothing and traps no stat
                                call, the cheapest. Recording makes every
                                stat-family call stop once.
          --state FILE          The SQLite state file for records that do not
                                fit in attributes, kept across runs (as
                                fakeroot's -s and -i). Without it such records
                                last only for the run. An empty file is taken
                                as a new state file; --ownership=off rejects it.
          --workers N           Trace with N threads, each owning a share of
                                the processes; a new process goes to the
                                least loaded one. Default: the number of
                                CPUs remainroot may run on, as nproc counts
                                them. 1 to 1024.
          -v, --verbose         Log more to standard error; twice logs every
                                answered system call.
          --trace               Print one line per system call remainroot
                                handled, as strace does: pid, decoded arguments,
                                result, and whether it was faked or passed to
                                the kernel.
          --debug               Print the stack of a traced program before a
                                signal that dumps core kills it. If remainroot
                                itself crashes, print the faulting thread's
                                stack, kill the command and exit with 125.
          --log-file FILE       Write what --trace and --debug print to FILE
                                instead of standard error.
          -h, --help            Print this help and exit.
          --version             Print the version and exit.

        Subcommands:
          syscalls [--arch NAME]
                                List the system calls remainroot answers for an
                                ABI: x86_64, i386, aarch64 or ppc64le.
          bench                 Measure what tracing costs on this machine; see
                                remainroot bench --help.

        Exit status: COMMAND's own; 128+N when signal N killed it; 126 when it
        could not be executed; 127 when it was not found; 125 when remainroot
        itself failed or its command line is invalid.

        remainroot refuses to run outside a user namespace, where faking root
        would only hide real permission errors.

        """

    var unshare = false
    /// Whether `-h` or `--help` came among the options: print the usage
    /// and run nothing.
    var showHelp = false
    var identity: (uid: UInt32, gid: UInt32)?
    var verbosity = 0
    var ownership = OwnershipMode.xattr
    var statePath: String?
    /// nil for the default, one per CPU remainroot may run on.
    var workerCount: Int?
    var trace = false
    var debug = false
    var logFile: String?
    var command: [String] = []

    /// Parses options up to the first argument that is not one, so that
    /// the command's own options are never read as remainroot's.
    init(arguments: [String]) throws(UsageError) {
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" {
                index += 1
                break
            }
            guard argument.hasPrefix("-"), argument != "-" else { break }

            switch argument {
            case "--unshare":
                unshare = true
            case "-i", "--identity":
                index += 1
                guard index < arguments.count, arguments[index] != "--" else { throw UsageError(message: "\(argument) needs a value, UID:GID") }
                identity = try Self.parseIdentity(arguments[index])
            case _ where argument.hasPrefix("--identity="):
                identity = try Self.parseIdentity(String(argument.dropFirst("--identity=".count)))
            case "--ownership":
                index += 1
                guard index < arguments.count, arguments[index] != "--" else { throw UsageError(message: "--ownership needs a value: xattr, state or off") }
                ownership = try Self.parseOwnership(arguments[index])
            case _ where argument.hasPrefix("--ownership="):
                ownership = try Self.parseOwnership(String(argument.dropFirst("--ownership=".count)))
            case "--state":
                index += 1
                guard index < arguments.count, arguments[index] != "--" else { throw UsageError(message: "--state needs a file name") }
                statePath = arguments[index]
            case _ where argument.hasPrefix("--state="):
                statePath = String(argument.dropFirst("--state=".count))
            case "--workers":
                index += 1
                guard index < arguments.count, arguments[index] != "--" else { throw UsageError(message: "--workers needs a value, a number from 1 to \(Self.maximumWorkerCount)") }
                workerCount = try Self.parseWorkerCount(arguments[index])
            case _ where argument.hasPrefix("--workers="):
                workerCount = try Self.parseWorkerCount(String(argument.dropFirst("--workers=".count)))
            case "-v", "--verbose":
                verbosity += 1
            case _ where argument.count > 2 && argument.hasPrefix("-v") && argument.dropFirst().allSatisfy({ $0 == "v" }):
                // -vv, -vvv: as many levels as letters, like -v -v.
                verbosity += argument.count - 1
            case "--trace":
                trace = true
            case "--debug":
                debug = true
            case "--log-file":
                index += 1
                guard index < arguments.count, arguments[index] != "--" else { throw UsageError(message: "--log-file needs a value, FILE") }
                logFile = arguments[index]
            case _ where argument.hasPrefix("--log-file="):
                logFile = String(argument.dropFirst("--log-file=".count))
            case "-h", "--help":
                // Among remainroot's options, as in `remainroot --unshare
                // --help`; after them it belongs to the command.
                showHelp = true
                return
            default:
                throw UsageError(message: "unknown option '\(argument)'; see remainroot --help")
            }
            index += 1
        }

        command = Array(arguments[index...])
        guard !command.isEmpty else {
            throw UsageError(message: "missing command; usage: remainroot [OPTIONS] [--] COMMAND [ARG...]")
        }
        if ownership == .state && statePath == nil {
            throw UsageError(message: "--ownership=state needs a state file; add --state FILE")
        }
        if statePath == "" {
            // SQLite would open a private temporary database for an empty
            // name, and the records would be lost at exit.
            throw UsageError(message: "--state needs a file name")
        }
        if ownership == .off && statePath != nil {
            throw UsageError(message: "--state has no use with --ownership=off; drop one of them")
        }
        if let logFile {
            guard trace || debug else {
                throw UsageError(message: "--log-file \(logFile) has nothing to write; add --trace or --debug")
            }
            guard !logFile.isEmpty else { throw UsageError(message: "--log-file needs a value, FILE") }
        }
        #if !DEBUG_SUPPORT
        if debug {
            throw UsageError(message: "--debug is not available: this remainroot was built without libunwind (REMAINROOT_DEBUG_SUPPORT=0)")
        }
        #endif
    }

    static func parseOwnership(_ text: String) throws(UsageError) -> OwnershipMode {
        guard let mode = OwnershipMode(rawValue: text) else {
            throw UsageError(message: "invalid --ownership '\(text)': expected xattr, state or off")
        }
        return mode
    }

    /// Replaces SQLite's "unable to open database file" and "disk I/O
    /// error", which name no cause, with the cause and what to do, and
    /// states that a damaged file was left as it is.
    static func explainStateFileFailure(_ path: String, sqliteMessage: String) -> String {
        var status = stat()
        let exists = stat(path, &status) == 0
        // SQLite calls a device, FIFO or socket a "disk I/O error".
        if exists, let kind = Self.fileKinds[status.st_mode & S_IFMT] {
            return "it is \(kind), not a regular file; name a new or existing state file, such as ./remainroot.db"
        }
        if sqliteMessage.contains("malformed") || sqliteMessage.contains("not a database") {
            return "\(sqliteMessage); the file was left as it is, so restore it from a copy or name a new file"
        }
        guard sqliteMessage == "unable to open database file" else { return sqliteMessage }

        if exists {
            if status.st_mode & S_IFMT == S_IFDIR {
                return "it is a directory; name a file in it, such as \(path.hasSuffix("/") ? path : path + "/")remainroot.db"
            }
            return "\(sqliteMessage); check that it and its folder are writable, because SQLite writes a journal beside it"
        }
        var folder = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        if folder.isEmpty {
            folder = "/"
        }
        if stat(folder, &status) != 0 {
            return "its folder '\(folder)' does not exist; create it first"
        }
        return "\(sqliteMessage); check that its folder '\(folder)' is writable"
    }

    /// The file types a state file cannot be, as `stat(2)` names them.
    static let fileKinds: [mode_t: String] = [
        S_IFCHR: "a character device", S_IFBLK: "a block device", S_IFIFO: "a FIFO", S_IFSOCK: "a socket",
    ]

    static var maximumWorkerCount: Int { Tracer<HostBackend>.maximumWorkerCount }

    static func parseWorkerCount(_ text: String) throws(UsageError) -> Int {
        guard text.allSatisfy(\.isASCIIDigitCharacter), let count = Int(text), count >= 1, count <= maximumWorkerCount else {
            throw UsageError(message: "invalid --workers '\(text)': expected a number from 1 to \(maximumWorkerCount)")
        }
        return count
    }

    /// One worker per CPU that remainroot may run on, within the accepted
    /// range. A CPU set (taskset, a container's cpuset) can leave fewer
    /// than the online CPUs.
    static var defaultWorkerCount: Int {
        var count = Int(shim_available_cpu_count())
        if count <= 0 {
            count = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        }
        return min(max(count, 1), maximumWorkerCount)
    }

    static func parseIdentity(_ text: String) throws(UsageError) -> (uid: UInt32, gid: UInt32) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let uid = UInt32(parts[0]), let gid = UInt32(parts[1]),
              uid != UInt32.max, gid != UInt32.max
        else {
            throw UsageError(message: "invalid identity '\(text)': expected UID:GID, two numbers below 4294967295")
        }
        return (uid, gid)
    }

    /// Runs the command and returns the status remainroot exits with.
    func run() -> Int32 {
        if showHelp {
            printOutput(Self.usage)
            return 0
        }

        // The shells report an empty command name as not found, with 127.
        if command[0].isEmpty {
            printError("cannot run '': command not found")
            return ExitStatus.notFound
        }

        // Opened before --unshare, so that the file belongs to the caller.
        var diagnostics = DiagnosticOutput.standardError
        if let logFile {
            do {
                diagnostics = try DiagnosticOutput.open(logFile)
            } catch {
                printError(error.message)
                return ExitStatus.ownFailure
            }
        }

        if unshare, case .failure(let error) = UserNamespace.enterNew() {
            printError("cannot create a user namespace: \(error). Check that unprivileged user namespaces are enabled (sysctl user.max_user_namespaces).")
            return ExitStatus.ownFailure
        }

        guard case .success(let userMapping) = IDMapping.current("uid"),
              case .success(let groupMapping) = IDMapping.current("gid")
        else {
            printError("cannot read /proc/self/uid_map or gid_map; is /proc mounted?")
            return ExitStatus.ownFailure
        }
        if userMapping.isInitialNamespace {
            printError("refusing to run outside a user namespace, where faking root would only hide real permission errors; run inside a rootless container, or add --unshare to create a user namespace")
            return ExitStatus.ownFailure
        }

        let credentials: Credentials
        if let identity {
            credentials = .loggedIn(uid: identity.uid, gid: identity.gid, groups: [identity.gid], lastCapability: UserNamespace.lastCapability())
        } else {
            credentials = UserNamespace.callerCredentials()
        }

        let level: LogLevel
        switch verbosity {
        case 0: level = .warning
        case 1: level = .info
        default: level = .debug
        }
        let logger = Logger(level: level) { record in
            let pid = record.pid.map { "[pid \($0)] " } ?? ""
            printError("\(pid)\(record.message)")
        }

        let originalMask = SignalForwarder.blockForwardedSignals()
        let request = LaunchRequest(arguments: command, environment: currentEnvironment(), signalMask: originalMask, credentials: credentials)
        var store: OwnershipStore?
        if ownership != .off {
            var stateStore: KeyedOwnershipStore?
            if let statePath {
                do {
                    stateStore = try SQLiteOwnershipStore(path: statePath)
                } catch {
                    printError("cannot open the state file '\(statePath)': \(Self.explainStateFileFailure(statePath, sqliteMessage: error.message))")
                    return ExitStatus.ownFailure
                }
            }
            store = OwnershipStore(mode: ownership, stateStore: stateStore, logger: logger)
        }
        let handlers = SyscallHandlers(userMapping: userMapping, groupMapping: groupMapping, logger: logger, lastCapability: UserNamespace.lastCapability(), ownership: store)
        let tracer = Tracer(backend: HostBackend(), handlers: handlers, logger: logger, workerCount: workerCount ?? Self.defaultWorkerCount)
        if trace {
            tracer.traceSink = TraceWriter(output: diagnostics)
        }
        #if DEBUG_SUPPORT
        // Installed before SignalForwarder starts its thread, because the
        // installation forks.
        var debugMonitor: DebugMonitor?
        if debug {
            do {
                debugMonitor = try DebugMonitor(output: diagnostics)
            } catch {
                printError(error.message)
                return ExitStatus.ownFailure
            }
            tracer.debugObserver = debugMonitor
        }
        #endif
        diagnostics.startOver()
        SignalForwarder.start()

        let outcome: TraceOutcome
        do {
            outcome = try tracer.run(request) { pid in
                SignalForwarder.setTarget(pid)
                #if DEBUG_SUPPORT
                debugMonitor?.commandStarted(pid)
                #endif
            }
        } catch {
            if error.errno == .notPermitted, let tracer = Self.ownTracer() {
                printError("cannot trace '\(command[0])': \(error); remainroot is itself traced by pid \(tracer), which refused its ptrace calls (remainroot under remainroot cannot work)")
            } else if error.errno == .notPermitted {
                printError("cannot trace '\(command[0])': \(error); ptrace is not permitted here, so allow it in the container's seccomp profile or lower kernel.yama.ptrace_scope")
            } else {
                printError("cannot trace '\(command[0])': \(error)")
            }
            return ExitStatus.ownFailure
        }

        switch outcome.launchFailure {
        case .executionFailed(let errno)?:
            printError("cannot run '\(command[0])': \(String(cString: strerror(errno.rawValue)))")
        case .filterRejected(let errno)?:
            if errno == .notPermitted {
                printError("cannot install the seccomp filter: \(errno); a seccomp profile that denies seccomp(2) forbids it, so allow seccomp for this container")
            } else {
                printError("cannot install the seccomp filter: \(errno)")
            }
        case nil:
            break
        }
        return outcome.shellStatus
    }

    /// Returns the pid of the process tracing remainroot, from the TracerPid line
    /// of /proc/self/status; nil when it is not traced.
    static func ownTracer() -> Int32? {
        guard let pid = ProcessStatus(of: "self")?.integer("TracerPid"), pid != 0 else { return nil }
        return Int32(pid)
    }

    private func currentEnvironment() -> [String] {
        var environment: [String] = []
        var cursor = environ
        while let entry = cursor.pointee {
            environment.append(String(cString: entry))
            cursor += 1
        }
        return environment
    }
}

extension Character {
    /// Whether the character is one of 0 to 9; `Int("+3")` accepts a sign.
    var isASCIIDigitCharacter: Bool {
        isASCII && isNumber
    }
}
