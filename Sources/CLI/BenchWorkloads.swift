import Engine
import Glibc

/// The way a run is made. A native run and a floor-tracer run start in a
/// new user namespace. A traced run is `remainroot --unshare` with its default
/// options, which record file ownership, and a credentials-only run adds
/// `--ownership=off`.
enum BenchSide: String, CaseIterable {
    case native
    case traced
    case credentialsOnly = "traced_ownership_off"
    case floor

    /// The side's name in the table.
    var title: String {
        switch self {
        case .native: return "native"
        case .traced: return "traced"
        case .credentialsOnly: return "traced, --ownership=off"
        case .floor: return "floor tracer"
        }
    }
}

/// One figure from one run: the row's value (nanoseconds per operation,
/// or wall seconds for a whole command) and, for a whole command, its CPU
/// seconds.
struct BenchSample {
    let value: Double
    let cpu: Double?
}

/// The paths and settings every workload uses, and how its runs start.
struct BenchContext {
    /// The temporary folder; everything bench writes goes under it.
    let directory: String
    /// The running remainroot binary, which traced runs start.
    let remainroot: String
    /// The compiled helper program, or nil when remainroot itself runs the
    /// per-call loops because no C compiler was found.
    let helper: String?
    /// The compiled floor tracer, or nil when it could not be built.
    let floorTracer: String?
    /// `true`, which the fork-exec loop executes when there is no helper.
    let trueProgram: String?
    /// The CPU the per-call rows run on, through taskset(1), or nil when
    /// taskset is missing.
    let pinnedCPU: Int?
    let jobs: Int
    /// The `--workers` value of traced runs; nil for remainroot's default.
    let workers: Int?
    let settings: BenchSettings

    /// Returns the command line of one run on `side`, and whether it
    /// needs a new user namespace. `identity` is the uid and gid a traced
    /// or floor run starts with.
    /// With `pinned`, taskset starts the run (remainroot or the floor
    /// tracer, and so their tracees too) on ``pinnedCPU``.
    func command(_ arguments: [String], side: BenchSide, identity: UInt32? = nil, pinned: Bool = false) -> (arguments: [String], newNamespace: Bool) {
        let pin = pinned ? pinnedCPU.map { ["taskset", "--cpu-list", String($0)] } ?? [] : []
        switch side {
        case .native:
            return (pin + arguments, true)
        case .traced, .credentialsOnly:
            let identityOption = identity.map { ["--identity", "\($0):\($0)"] } ?? []
            let ownershipOption = side == .credentialsOnly ? ["--ownership=off"] : []
            let workersOption = workers.map { ["--workers", String($0)] } ?? []
            return (pin + [remainroot, "--unshare"] + identityOption + ownershipOption + workersOption + ["--"] + arguments, false)
        case .floor:
            let uidOption = identity.map { ["-u", "\($0)"] } ?? []
            return (pin + [floorTracer ?? "floor-tracer"] + uidOption + arguments, true)
        }
    }

    func run(_ arguments: [String], side: BenchSide, identity: UInt32? = nil, pinned: Bool = false, in workingDirectory: String? = nil, timeout: UInt32) throws(BenchError) -> BenchRunResult {
        let (command, newNamespace) = command(arguments, side: side, identity: identity, pinned: pinned)
        return try BenchProcess.run(command, newNamespace: newNamespace, directory: workingDirectory ?? directory,
                                    logPrefix: directory + "/run-\(side.rawValue)", timeout: timeout)
    }
}

/// A benchmark row: its sides, its warm-up, and how one run is measured.
protocol BenchWorkload: AnyObject {
    var name: String { get }
    /// The unit of the displayed values.
    var unit: String { get }
    /// The divisor from a raw value to the displayed one (1000 shows
    /// nanoseconds as microseconds).
    var displayDivisor: Double { get }
    var sides: [BenchSide] { get }
    /// Whether runs are whole commands, with CPU time and warm-up rounds,
    /// rather than timed loops.
    var isWholeCommand: Bool { get }
    /// The default time budget in seconds, before the mode's scaling.
    var budget: Double { get }
    /// Lines printed under the table about this row.
    var notes: [String] { get }
    /// Runs that are not measured: they fill caches and size the loops.
    func warmUp(_ side: BenchSide) throws(BenchError)
    func measure(_ side: BenchSide) throws(BenchError) -> BenchSample
}

// MARK: - Per-call rows

/// A loop of one operation in the helper program, timed by the program
/// itself so that neither process start-up nor namespace creation counts.
/// Every side runs on the same CPU, tracer and tracee alike, so that a stop
/// costs the same in every run. Unpinned, a stop costs more whenever it
/// wakes an idle CPU, and on a virtual machine that does not poll before it
/// halts an idle CPU, that was up to three times more.
final class PerCallBench: BenchWorkload {
    let name: String
    let unit: String
    let displayDivisor = 1000.0
    let sides: [BenchSide]
    let isWholeCommand = false
    let budget: Double
    let notes: [String]
    let context: BenchContext
    /// The helper's mode, such as `getuid` or `fork-exec`.
    let mode: String
    /// Arguments after the count, for each side.
    let extraArguments: (BenchSide) -> [String]
    /// The uid traced and floor runs start with, when the row fakes one.
    let identity: UInt32?
    /// The last result each side must print, when it is known.
    let expectedResult: (BenchSide) -> Int?
    private var counts: [BenchSide: Int] = [:]

    init(name: String, unit: String, mode: String, sides: [BenchSide], budget: Double, context: BenchContext, identity: UInt32? = nil,
         notes: [String] = [], extraArguments: @escaping (BenchSide) -> [String] = { _ in [] }, expectedResult: @escaping (BenchSide) -> Int? = { _ in nil }) {
        self.name = name
        self.unit = unit
        self.mode = mode
        self.sides = sides
        self.budget = budget
        self.context = context
        self.identity = identity
        self.notes = notes
        self.extraArguments = extraArguments
        self.expectedResult = expectedResult
    }

    /// Sizes the loop of `side` so that one run takes the mode's target
    /// time: tenfold counts until a run takes 10 ms, then scaled.
    func warmUp(_ side: BenchSide) throws(BenchError) {
        var count = 100
        while true {
            let (nanoseconds, _) = try runLoop(side, count: count)
            let total = nanoseconds * Double(count)
            if total >= 10_000_000 || count >= 10_000_000 {
                let target = context.settings.targetRunSeconds * 1e9 / max(nanoseconds, 1)
                counts[side] = min(max(Int(target), 20), 50_000_000)
                return
            }
            count *= 10
        }
    }

    func measure(_ side: BenchSide) throws(BenchError) -> BenchSample {
        let (nanoseconds, result) = try runLoop(side, count: counts[side] ?? 1000)
        if let expected = expectedResult(side), result != expected {
            throw BenchError(message: "\(mode) on the \(side.rawValue) side returned \(result), expected \(expected)")
        }
        return BenchSample(value: nanoseconds, cpu: nil)
    }

    private func runLoop(_ side: BenchSide, count: Int) throws(BenchError) -> (Double, Int) {
        let helper: [String]
        if let path = context.helper {
            helper = [path, mode, String(count)]
        } else {
            let forkExecTarget = mode == "fork-exec" ? [context.trueProgram ?? "/bin/true"] : []
            helper = [context.remainroot, "bench", BenchCommand.runHelperOption, mode, String(count)] + forkExecTarget
        }
        let result = try context.run(helper + extraArguments(side), side: side, identity: identity, pinned: true, timeout: 120)
        let fields = result.output.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count == 2, let nanoseconds = Double(fields[0]), let value = Int(fields[1]) else {
            throw BenchError(message: "the \(mode) helper printed '\(result.output)', expected nanoseconds and a result")
        }
        return (nanoseconds, value)
    }
}

// MARK: - Whole-command rows

/// `make clean && make -jJOBS all install` of the generated C project.
/// The native run installs with owner 0:0, which the namespace maps. The
/// traced runs install with 1000:1000, which it does not map, so only they
/// need remainroot, but all runs start the same processes and make the same
/// chown calls. The build runs under remainroot twice, with credentials
/// only and with file ownership recorded.
final class BuildBench: BenchWorkload {
    let name = "build"
    let unit = "s"
    let displayDivisor = 1.0
    let sides: [BenchSide] = [.native, .credentialsOnly, .traced]
    let isWholeCommand = true
    let budget = 30.0
    let notes: [String]
    let context: BenchContext
    let project: String

    static let installedFiles = [
        "stage/usr/local/bin/pack",
        "stage/usr/local/bin/report",
        "stage/usr/local/lib/libcore.a",
        "stage/usr/local/share/doc/benchproj/README",
    ]

    init(context: BenchContext, project: String, cFiles: Int) {
        self.context = context
        self.project = project
        notes = ["build: make clean && make -j\(context.jobs) all install of a generated project of \(cFiles) C files; wall and CPU (user+sys) seconds; installs as 0:0 natively and as 1000:1000 traced"]
    }

    func command(_ side: BenchSide) -> [String] {
        let owner = side == .native ? "0" : "1000"
        return ["sh", "-c", "make clean && make -j\(context.jobs) all install INSTALL_OWNER=\(owner) INSTALL_GROUP=\(owner)"]
    }

    func warmUp(_ side: BenchSide) throws(BenchError) {
        _ = try measure(side)
    }

    func measure(_ side: BenchSide) throws(BenchError) -> BenchSample {
        let result = try context.run(command(side), side: side, in: project, timeout: 900)
        for file in Self.installedFiles where !BenchFiles.exists(project + "/" + file) {
            throw BenchError(message: "the \(side.rawValue) build exited with status 0 but did not install \(file)")
        }
        return BenchSample(value: result.wall, cpu: result.cpu)
    }
}

/// `tar -x` of the generated 20,000-file archive into an empty directory.
/// The traced runs extract the archive whose entries belong to several
/// owners. The native run extracts the same archive with every entry owned
/// by root, so that it restores ownership with the same calls.
///
/// The files are extracted into `outputDirectory`, on tmpfs where there is
/// one, and removed after each run. On ext4, creating files soon after as
/// many were deleted is slow (the inode allocator skips recently deleted
/// inodes), so repeated runs there time the file system more than tar.
final class TarBench: BenchWorkload {
    let name = "tar"
    let unit = "s"
    let displayDivisor = 1.0
    let sides: [BenchSide] = [.native, .credentialsOnly, .traced]
    let isWholeCommand = true
    let budget = 10.0
    let notes: [String]
    let context: BenchContext
    let ownersArchive: String
    let rootArchive: String
    let target: String

    init(context: BenchContext, ownersArchive: String, rootArchive: String, outputDirectory: String, isMemoryFilesystem: Bool) {
        self.context = context
        self.ownersArchive = ownersArchive
        self.rootArchive = rootArchive
        target = outputDirectory + "/tree-output"
        let place = isMemoryFilesystem ? "into tmpfs (\(outputDirectory))" : "into \(outputDirectory), not tmpfs, so the file system's speed counts"
        notes = ["tar: tar -xf of \(BenchArchive.fileCount) files in \(BenchArchive.directoryCount) directories \(place); natively all owned by 0:0, traced owned by \(BenchArchive.severalOwners.count) owners, which --ownership=off does not record"]
    }

    func warmUp(_ side: BenchSide) throws(BenchError) {
        _ = try measure(side)
    }

    func measure(_ side: BenchSide) throws(BenchError) -> BenchSample {
        BenchFiles.removeTree(target)
        try BenchFiles.createDirectories(target)
        defer { BenchFiles.removeTree(target) }

        let archive = side == .native ? rootArchive : ownersArchive
        let result = try context.run(["tar", "-xf", archive, "-C", target], side: side, timeout: 600)
        let last = "\(target)/tree/d\(BenchArchive.directoryCount - 1)/f\(BenchArchive.filesPerDirectory - 1).txt"
        guard BenchFiles.exists(last) else {
            throw BenchError(message: "the \(side.rawValue) tar run exited with status 0 but did not extract \(last)")
        }
        return BenchSample(value: result.wall, cpu: result.cpu)
    }
}
