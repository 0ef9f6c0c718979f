import Glibc

/// The version `--version` prints.
let version = "0.1.0"

let arguments = Array(CommandLine.arguments.dropFirst())
let status: Int32

do throws(UsageError) {
    switch arguments.first {
    case "-h", "--help":
        printOutput(RunCommand.usage)
        status = 0
    case "--version":
        printOutput("remainroot \(version)\n")
        status = 0
    case "syscalls":
        status = try SyscallsCommand(arguments: Array(arguments.dropFirst())).run()
    case "bench":
        status = try BenchCommand(arguments: Array(arguments.dropFirst())).run()
    default:
        status = try RunCommand(arguments: arguments).run()
    }
} catch {
    printError(error.message)
    status = ExitStatus.ownFailure
}

exit(status)
