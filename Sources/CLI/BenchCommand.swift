import Engine
import Glibc

/// `remainroot bench`: measures what tracing costs on this machine, each
/// workload run natively and under remainroot in alternation.
struct BenchCommand {
    static let usage = """
        Usage: remainroot bench [--quick | --full] [--json] [--only NAME[,NAME...]]
                                [--jobs N] [--workers N]
               remainroot bench --generate DIR

        Measures what tracing costs on this machine. Each benchmark runs
        natively and under `remainroot --unshare` in rounds, every run in a
        new user namespace, until the median ratio settles or the time budget
        ends, and reports the median, minimum and maximum of each side and
        the median of the per-round ratios to the native run. The default run
        takes about a minute. Everything is generated in a temporary folder
        that is removed at the end.

        Benchmarks:
          getuid      a shimmed call, under the faked identity 1000:1000,
                      also compared with a minimal C tracer (the floor)
          getpid      a call remainroot does not trap
          fork        fork and exit
          fork-exec   fork, execute a small program, and exit
          stat        stat of a file chowned to 1000:1000 (needs file
                      ownership tracking)
          build       make -jJOBS all install of a generated 61-file C project,
                      traced with file ownership recorded and, to show
                      the cost of credentials alone, with --ownership=off
          tar         tar -x of a generated archive of 20,000 files with
                      several owners, traced as the build is

        Options:
          --quick               Measure for about 20 seconds, with fewer rounds.
          --full                Measure for about 5 minutes, with more rounds and
                                a tighter settling tolerance.
          --json                Print the results as one JSON object.
          --only NAME[,NAME]    Run only these benchmarks; may be repeated.
          -j, --jobs N          The make -j value of the build (default: the
                                number of CPUs remainroot may run on).
          --workers N           The number of tracer threads of the traced
                                runs (default: remainroot's own, one per
                                CPU it may run on).
          --generate DIR        Write the generated programs, project and
                                archives to DIR and exit without measuring.
          -h, --help            Print this help and exit.

        The per-call benchmarks need a C compiler (cc, or $CC). Without one,
        remainroot runs the loops itself and the floor tracer and the build
        are not measured.

        """

    /// The option with which bench runs its own per-call loop, when no C
    /// compiler can build the helper program. Not for users.
    static let runHelperOption = "--run-helper"

    static let benchmarkNames = ["getuid", "getpid", "fork", "fork-exec", "stat", "build", "tar"]

    /// The stat calls whose result ownership tracking changes. The stat
    /// row runs when the host backend traps one of them.
    static let statSyscallNames: Set<String> = ["stat", "lstat", "fstat", "newfstatat", "statx"]

    var settings = BenchSettings.standard
    var json = false
    var selected: [String] = benchmarkNames
    var jobs = BenchFiles.usableCPUCount()
    var generateDirectory: String?
    var helperArguments: [String]?
    var showHelp = false
    /// The `--workers` value traced runs pass on; nil for remainroot's
    /// default.
    var workers: Int?

    /// The options that take a value, also written `--option=VALUE`.
    static let valueOptions: Set<String> = ["--only", "--jobs", "--workers", "--generate"]

    init(arguments: [String]) throws(UsageError) {
        if arguments.first == Self.runHelperOption {
            helperArguments = Array(arguments.dropFirst())
            return
        }

        var mode: String?
        var only: [String] = []
        var index = 0
        // The value of `--option=VALUE`, or else the next argument.
        var attached: String?
        func value(_ option: String) throws(UsageError) -> String {
            if let attached {
                return attached
            }
            index += 1
            guard index < arguments.count else { throw UsageError(message: "\(option) needs a value; see remainroot bench --help") }
            return arguments[index]
        }
        func count(_ option: String) throws(UsageError) -> Int {
            let text = try value(option)
            guard let number = Int(text), number >= 1 else { throw UsageError(message: "invalid \(option) value '\(text)': expected a whole number of at least 1") }
            return number
        }

        while index < arguments.count {
            var argument = arguments[index]
            attached = nil
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                attached = String(argument[argument.index(after: equals)...])
                argument = String(argument[..<equals])
                guard Self.valueOptions.contains(argument) else {
                    throw UsageError(message: "\(argument) takes no value; see remainroot bench --help")
                }
            }
            switch argument {
            case "--quick", "--full":
                if let mode, mode != argument {
                    throw UsageError(message: "\(mode) and \(argument) cannot be combined; choose one")
                }
                mode = argument
                settings = argument == "--quick" ? .quick : .full
            case "--json":
                json = true
            case "--only":
                only += try value(argument).split(separator: ",").map(String.init)
            case "-j", "--jobs":
                jobs = try count(argument)
            case "--workers":
                let workers = try count(argument)
                guard workers <= RunCommand.maximumWorkerCount else {
                    throw UsageError(message: "invalid --workers value '\(workers)': expected a whole number from 1 to \(RunCommand.maximumWorkerCount)")
                }
                self.workers = workers
            case "--generate":
                generateDirectory = try value(argument)
            case "-h", "--help":
                showHelp = true
            default:
                throw UsageError(message: "unknown argument '\(argument)' to bench; see remainroot bench --help")
            }
            index += 1
        }

        if !only.isEmpty {
            for name in only where !Self.benchmarkNames.contains(name) {
                throw UsageError(message: "unknown benchmark '\(name)' in --only; known: \(Self.benchmarkNames.joined(separator: ", "))")
            }
            selected = Self.benchmarkNames.filter { only.contains($0) }
        }
    }

    func run() -> Int32 {
        if showHelp {
            printOutput(Self.usage)
            return 0
        }
        if let helperArguments {
            return BenchHelperLoop.run(helperArguments)
        }
        guard let remainroot = BenchFiles.ownExecutable() else {
            printError("bench: cannot find the remainroot binary through /proc/self/exe; is /proc mounted?")
            return ExitStatus.ownFailure
        }
        if let generateDirectory {
            return generate(into: generateDirectory)
        }

        BenchProcess.installSignalHandlers()
        let directory: String
        do {
            directory = try BenchFiles.makeTemporaryDirectory(prefix: "remainroot-bench-")
        } catch {
            printError("bench: \(error.message)")
            return ExitStatus.ownFailure
        }
        defer { BenchFiles.removeTree(directory) }
        // The getuid runs start as 1000:1000, whose execve of the helper
        // remainroot checks like the kernel: the folder must be searchable.
        chmod(directory, 0o755)

        let report = BenchReport(settings: settings, jobs: jobs, remainroot: remainroot)
        var session = BenchSession(directory: directory, remainroot: remainroot, jobs: jobs, workers: workers, settings: settings, report: report)
        let status = session.run(selected)
        if json {
            printOutput(session.report.json())
        } else {
            printOutput(session.report.table())
        }
        return status
    }

    /// Writes what bench would generate, for a look or for another tool.
    private func generate(into directory: String) -> Int32 {
        do {
            try BenchFiles.createDirectories(directory)
            try BenchFiles.write(BenchPrograms.helperSource, to: directory + "/bench-helper.c")
            try BenchFiles.write(BenchPrograms.floorTracerSource, to: directory + "/floor-tracer.c")
            try BenchCProject().write(to: directory + "/project")
            try BenchFiles.write(BenchArchive.bytes(owners: BenchArchive.severalOwners), to: directory + "/owners.tar")
            try BenchFiles.write(BenchArchive.bytes(owners: [(0, 0)]), to: directory + "/root.tar")
        } catch {
            printError("bench: \(error.message)")
            return ExitStatus.ownFailure
        }
        printError("bench: wrote bench-helper.c, floor-tracer.c, project/, owners.tar and root.tar to \(directory)")
        return 0
    }
}

/// One measuring session: prepares the programs and inputs in the
/// temporary folder, then measures each selected row.
struct BenchSession {
    let directory: String
    let remainroot: String
    let jobs: Int
    let workers: Int?
    let settings: BenchSettings
    var report: BenchReport
    /// Folders created outside `directory`, which the session removes.
    private var extraDirectories: [String] = []
    private var progressLine = BenchProgress()

    init(directory: String, remainroot: String, jobs: Int, workers: Int?, settings: BenchSettings, report: BenchReport) {
        self.directory = directory
        self.remainroot = remainroot
        self.jobs = jobs
        self.workers = workers
        self.settings = settings
        self.report = report
    }

    /// Measures the rows in `names`; returns 0, 1 when a row failed, or
    /// 128+N when signal N stopped the session.
    mutating func run(_ names: [String]) -> Int32 {
        defer { extraDirectories.forEach(BenchFiles.removeTree) }
        let start = BenchMeasurement.now()
        let context = prepare(needsCompiler: names.contains { $0 != "tar" })
        var status: Int32 = 0

        for (position, name) in names.enumerated() {
            let label = "[\(position + 1)/\(names.count)] \(name)"
            progressLine.show(label)
            do throws(BenchError) {
                guard let workload = try workload(name, context: context) else { continue }
                let measurement = BenchMeasurement(settings: settings) { [progressLine] text in
                    progressLine.update("\(label): \(text)")
                }
                report.rows.append(try measurement.measure(workload))
            } catch {
                if let signal = BenchProcess.stopRequest {
                    progressLine.clear()
                    printError("bench: stopped by signal \(signal); removing \(directory)")
                    return 128 + signal
                }
                var failed = BenchRowResult(name: name, unit: "", displayDivisor: 1)
                failed.unavailable = "failed: \(error.message)"
                report.rows.append(failed)
                progressLine.clear()
                printError("bench: \(name) failed: \(error.message)")
                status = 1
            }
        }
        progressLine.clear()
        report.seconds = BenchMeasurement.now() - start
        return status
    }

    /// Compiles the helper and the floor tracer when a C compiler exists.
    private mutating func prepare(needsCompiler: Bool) -> BenchContext {
        var helper: String?
        var floorTracer: String?
        var floorTracerMissing: String?
        let compiler = needsCompiler ? Self.findCompiler() : nil
        report.compiler = compiler

        if let compiler {
            progressLine.show("compiling the helper programs with \(compiler)")
            do throws(BenchError) {
                helper = try compile(BenchPrograms.helperSource, name: "bench-helper", compiler: compiler)
            } catch {
                report.notes.append("The helper program did not compile (\(error.message)); remainroot runs the per-call loops itself, a larger process whose fork costs more.")
            }
            do throws(BenchError) {
                floorTracer = try compile(BenchPrograms.floorTracerSource, name: "floor-tracer", compiler: compiler)
            } catch {
                floorTracerMissing = "the floor tracer did not compile (it supports x86_64 only): \(error.message)"
            }
        } else if needsCompiler {
            report.notes.append("No C compiler found (cc, gcc, clang or $CC): remainroot runs the per-call loops itself, a larger process whose fork costs more, and fork-exec executes `true`.")
            floorTracerMissing = "no C compiler to build the floor tracer"
        }
        report.helper = helper == nil ? "remainroot" : "c"
        if let floorTracerMissing {
            report.notes.append("Floor tracer: not available, \(floorTracerMissing).")
        }
        let pinnedCPU = BenchFiles.findExecutable("taskset") == nil ? nil : BenchFiles.usableCPUs().last
        if needsCompiler {
            if let pinnedCPU {
                report.notes.append("The per-call rows run on CPU \(pinnedCPU) only (taskset), tracer and tracee alike, so that a stop costs the same in every run; the build and tar rows run on every CPU.")
            } else {
                report.notes.append("taskset not found: the per-call rows run unpinned, and a stop costs more whenever it wakes an idle CPU.")
            }
        }
        if let workers {
            report.notes.append("Traced runs use --workers \(workers).")
        } else {
            report.notes.append("Traced runs use remainroot's default of \(RunCommand.defaultWorkerCount) worker threads, one per CPU it may run on.")
        }
        return BenchContext(directory: directory, remainroot: remainroot, helper: helper, floorTracer: floorTracer,
                            trueProgram: BenchFiles.findExecutable("true"), pinnedCPU: pinnedCPU, jobs: jobs, workers: workers, settings: settings)
    }

    private func compile(_ source: String, name: String, compiler: String) throws(BenchError) -> String {
        let sourcePath = "\(directory)/\(name).c"
        let binary = "\(directory)/\(name)"
        try BenchFiles.write(source, to: sourcePath)
        _ = try BenchProcess.run([compiler, "-O2", "-o", binary, sourcePath], newNamespace: false, directory: directory,
                                 logPrefix: "\(directory)/compile-\(name)", timeout: 120)
        return binary
    }

    static func findCompiler() -> String? {
        if let variable = getenv("CC"), let path = BenchFiles.findExecutable(String(cString: variable)) {
            return path
        }
        return ["cc", "gcc", "clang"].lazy.compactMap { BenchFiles.findExecutable($0) }.first
    }

    /// Returns the workload of row `name`, or records why the row cannot
    /// run here and returns nil.
    private mutating func workload(_ name: String, context: BenchContext) throws(BenchError) -> BenchWorkload? {
        let floorSides: [BenchSide] = context.floorTracer == nil ? [.native, .traced] : [.native, .traced, .floor]
        switch name {
        case "getuid":
            return PerCallBench(name: name, unit: "µs/call", mode: "getuid", sides: floorSides, budget: 4, context: context, identity: 1000,
                                notes: ["getuid: native returns 0; traced and floor runs start as 1000:1000 and get 1000 from the tracer"],
                                expectedResult: { $0 == .native ? 0 : 1000 })
        case "getpid":
            return PerCallBench(name: name, unit: "µs/call", mode: "getpid", sides: floorSides, budget: 3, context: context,
                                notes: ["getpid: not trapped; every traced call still passes the seccomp filter"])
        case "fork":
            return PerCallBench(name: name, unit: "µs/fork", mode: "fork", sides: [.native, .traced], budget: 3, context: context,
                                notes: ["fork: fork, _exit(0) in the child, waitpid"], expectedResult: { _ in 0 })
        case "fork-exec":
            let target = context.helper == nil ? "true" : "the helper itself"
            return PerCallBench(name: name, unit: "µs/process", mode: "fork-exec", sides: [.native, .traced], budget: 3, context: context,
                                notes: ["fork-exec: fork, execute \(target), exit, waitpid"], expectedResult: { _ in 0 })
        case "stat":
            guard Self.hostTrapsStat() else {
                report.rows.append(BenchRowResult(name: name, unit: "", displayDivisor: 1,
                                                  unavailable: "not available: remainroot does not track file ownership yet, so stat is not trapped"))
                return nil
            }
            let file = context.directory + "/stat-target"
            try BenchFiles.write("stat target\n", to: file)
            return PerCallBench(name: name, unit: "µs/call", mode: "stat", sides: [.native, .traced], budget: 3, context: context,
                                notes: ["stat: stat of a file chowned to 0:0 natively and to 1000:1000 traced"],
                                extraArguments: { $0 == .native ? [file, "0", "0"] : [file, "1000", "1000"] },
                                expectedResult: { $0 == .native ? 0 : 1000 })
        case "build":
            let missing = [context.helper == nil ? "a C compiler" : nil, BenchFiles.findExecutable("make") == nil ? "make" : nil].compactMap { $0 }
            guard missing.isEmpty else {
                report.rows.append(BenchRowResult(name: name, unit: "", displayDivisor: 1, unavailable: "not available: needs \(missing.joined(separator: " and "))"))
                return nil
            }
            progressLine.show("generating the C project")
            let project = BenchCProject()
            try project.write(to: directory + "/project")
            return BuildBench(context: context, project: directory + "/project", cFiles: project.cFileCount)
        case "tar":
            guard BenchFiles.findExecutable("tar") != nil else {
                report.rows.append(BenchRowResult(name: name, unit: "", displayDivisor: 1, unavailable: "not available: tar not found"))
                return nil
            }
            progressLine.show("generating the archives")
            let owners = directory + "/owners.tar"
            let root = directory + "/root.tar"
            try BenchFiles.write(BenchArchive.bytes(owners: BenchArchive.severalOwners), to: owners)
            try BenchFiles.write(BenchArchive.bytes(owners: [(0, 0)]), to: root)
            var output = directory
            if let memory = BenchFiles.sharedMemoryDirectory() {
                output = try BenchFiles.makeTemporaryDirectory(prefix: "remainroot-bench-tar-", in: memory)
                extraDirectories.append(output)
            }
            return TarBench(context: context, ownersArchive: owners, rootArchive: root, outputDirectory: output, isMemoryFilesystem: output != directory)
        default:
            preconditionFailure("benchmark '\(name)' is listed but has no workload")
        }
    }

    static func hostTrapsStat() -> Bool {
        HostBackend().abis[0].syscalls.values.contains { BenchCommand.statSyscallNames.contains($0.syscall.rawValue) }
    }
}

/// The progress line on standard error. On a terminal it is rewritten in
/// place at every step and run; otherwise each step gets one line and runs
/// are not shown.
struct BenchProgress {
    let isTerminal = isatty(2) == 1

    /// Shows the start of a step, such as a new row.
    func show(_ text: String) {
        if isTerminal {
            writeError("\r\u{1B}[Kremainroot bench: \(text)")
        } else {
            writeError("remainroot bench: \(text)\n")
        }
    }

    /// Shows what runs now, on a terminal only.
    func update(_ text: String) {
        if isTerminal {
            writeError("\r\u{1B}[Kremainroot bench: \(text)")
        }
    }

    func clear() {
        if isTerminal {
            writeError("\r\u{1B}[K")
        }
    }

    private func writeError(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}
