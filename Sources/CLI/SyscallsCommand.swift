import Engine

/// `remainroot syscalls [--arch NAME]`: one line per answered system call of
/// an ABI, with its name in the kernel's table, its number and what
/// remainroot does with it.
struct SyscallsCommand {
    var abiName: String

    init(arguments: [String]) throws(UsageError) {
        abiName = HostBackend().abis[0].name
        var index = 0
        while index < arguments.count {
            switch arguments[index] {
            case "--arch":
                index += 1
                guard index < arguments.count else { throw UsageError(message: "--arch needs a value, one of: \(Self.knownABIs)") }
                abiName = arguments[index]
            case let argument where argument.hasPrefix("--arch="):
                abiName = String(argument.dropFirst("--arch=".count))
            case "-h", "--help":
                showHelp = true
                return
            default:
                throw UsageError(message: "unknown argument '\(arguments[index])' to syscalls; usage: remainroot syscalls [--arch NAME]")
            }
            index += 1
        }
    }

    /// Whether `-h` or `--help` was given: print the usage and nothing else.
    var showHelp = false

    static var usage: String {
        """
        Usage: remainroot syscalls [--arch NAME]

        Lists the system calls remainroot answers or inspects for one ABI, a
        line each: the kernel's name, the number, and what remainroot does.

        Options:
          --arch NAME    The ABI to list (default: this machine's native ABI); one of:
                         \(knownABIs).
          -h, --help     Print this help and exit.

        """
    }

    static var allABIs: [SyscallABI] {
        allBackends.flatMap(\.abis)
    }

    static var knownABIs: String {
        allABIs.map(\.name).joined(separator: ", ")
    }

    func run() -> Int32 {
        if showHelp {
            printOutput(Self.usage)
            return 0
        }
        guard let abi = Self.allABIs.first(where: { $0.name == abiName }) else {
            printError("unknown ABI '\(abiName)'; known: \(Self.knownABIs)")
            return ExitStatus.ownFailure
        }
        for (number, entry) in abi.syscalls.sorted(by: { $0.key < $1.key }) {
            let width = entry.idWidth == .bits16 ? " (16-bit ids)" : ""
            printOutput("\(abi.kernelName(of: entry).padding(12)) \(String(number).padding(5)) \(entry.syscall.summary)\(width)\n")
        }
        return 0
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
