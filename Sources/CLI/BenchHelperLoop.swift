import Glibc

/// The per-call loops of bench-helper.c, run by remainroot itself when the
/// machine has no C compiler: `remainroot bench --run-helper MODE COUNT
/// [ARGUMENTS]`. It prints the same line as the C program: nanoseconds per
/// operation and the result of the last one. fork-exec takes the program to
/// execute as its argument.
enum BenchHelperLoop {
    static func run(_ arguments: [String]) -> Int32 {
        guard arguments.count >= 2, let count = Int(arguments[1]), count > 0 else {
            printError("bench \(BenchCommand.runHelperOption): expected MODE COUNT [ARGUMENTS]")
            return 2
        }
        let mode = arguments[0]
        let extra = Array(arguments.dropFirst(2))
        var result = 0

        if mode == "stat" {
            guard extra.count == 3, let uid = UInt32(extra[1]), let gid = UInt32(extra[2]), chown(extra[0], uid, gid) == 0 else {
                printError("bench \(BenchCommand.runHelperOption): stat needs PATH UID GID and a successful chown: \(BenchFiles.lastError())")
                return 1
            }
        }

        let start = BenchMeasurement.now()
        switch mode {
        case "getuid":
            for _ in 0..<count {
                result = Int(getuid())
            }
        case "getpid":
            for _ in 0..<count {
                result = Int(getpid())
            }
        case "fork":
            for _ in 0..<count {
                let child = fork()
                if child == 0 {
                    _exit(0)
                }
                result = waitForChild(child)
            }
        case "fork-exec":
            guard let program = extra.first else {
                printError("bench \(BenchCommand.runHelperOption): fork-exec needs the program to execute")
                return 2
            }
            let argv = [strdup(program), nil]
            for _ in 0..<count {
                let child = fork()
                if child == 0 {
                    execv(program, argv)
                    _exit(127)
                }
                result = waitForChild(child)
            }
        case "stat":
            var status = stat()
            for _ in 0..<count {
                guard stat(extra[0], &status) == 0 else {
                    printError("bench \(BenchCommand.runHelperOption): stat \(extra[0]): \(BenchFiles.lastError())")
                    return 1
                }
            }
            result = Int(status.st_uid)
        default:
            printError("bench \(BenchCommand.runHelperOption): unknown mode '\(mode)'")
            return 2
        }
        let elapsed = BenchMeasurement.now() - start

        printOutput("\(formatFixed(elapsed * 1e9 / Double(count), decimals: 3)) \(result)\n")
        return 0
    }

    private static func waitForChild(_ child: pid_t) -> Int {
        var status: Int32 = 0
        guard child > 0, waitpid(child, &status, 0) == child else {
            printError("bench \(BenchCommand.runHelperOption): fork or waitpid failed: \(BenchFiles.lastError())")
            exit(1)
        }
        let signal = status & 0x7f
        return Int(signal == 0 ? (status >> 8) & 0xff : 128 + signal)
    }
}
