@preconcurrency import Glibc
import Foundation
import XCTest

/// A program the tests start with posix_spawn(3) in a process group of its
/// own, with its standard input, output and error on pipes.
///
/// Foundation's Process (swift-corelibs-foundation 6.3, as seen here) learns
/// that a child exited when a socket the child inherited closes, so a daemon that keeps the socket (a tmux server the
/// child started, say) makes the child look alive forever and
/// waitUntilExit never returns. Here exit is learned from waitpid(2) alone,
/// the pipes are close-on-exec in every process but the child, and a time
/// limit always ends with the child's process group killed and reaped.
extension Harness {
final class Child {
    let pid: pid_t

    /// The exit status as a shell reports it (128 + N for signal N), once
    /// the child was reaped.
    private(set) var status: Int32?

    private var input: Int32
    private var output: Int32
    private var errorOutput: Int32
    private(set) var standardOutput = [UInt8]()
    private(set) var standardError = [UInt8]()

    /// Starts `arguments` through /usr/bin/env, so the program is looked up
    /// on PATH; `environment` is added to the test process's own.
    init(_ arguments: [String], environment: [String: String]? = nil) throws {
        let inputPipe = try Self.closeOnExecPipe()
        let outputPipe = try Self.closeOnExecPipe()
        let errorPipe = try Self.closeOnExecPipe()

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inputPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errorPipe[1], 2)

        // A process group of its own lets a timeout kill everything the
        // program started that stayed in it. Signal dispositions and mask
        // start clean, whatever the test process set.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        var all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var variables = ProcessInfo.processInfo.environment
        for (name, value) in environment ?? [:] {
            variables[name] = value
        }
        let argv = (["/usr/bin/env"] + arguments).map { strdup($0) } + [nil]
        let envp = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }

        var pid: pid_t = 0
        let result = posix_spawn(&pid, "/usr/bin/env", &actions, &attributes, argv, envp)
        close(inputPipe[0])
        close(outputPipe[1])
        close(errorPipe[1])
        guard result == 0 else {
            [inputPipe[1], outputPipe[0], errorPipe[0]].forEach { close($0) }
            throw SpawnError(message: "posix_spawn \(arguments.first ?? ""): \(String(cString: strerror(result)))")
        }
        self.pid = pid
        input = inputPipe[1]
        output = outputPipe[0]
        errorOutput = errorPipe[0]
    }

    deinit {
        [input, output, errorOutput].filter { $0 >= 0 }.forEach { close($0) }
        if status == nil {
            killGroup()
        }
    }

    /// A pipe no other program the tests start will hold. Tests run one at
    /// a time, so no other thread spawns between pipe and fcntl.
    private static func closeOnExecPipe() throws -> [Int32] {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else {
            throw SpawnError(message: "pipe: \(String(cString: strerror(errno)))")
        }
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        return ends
    }

    /// Writes `text` to the child's standard input and closes it.
    func finishInput(_ text: String?) {
        if let text {
            var bytes = Array(text.utf8)[...]
            while !bytes.isEmpty {
                let written = bytes.withUnsafeBytes { write(input, $0.baseAddress, $0.count) }
                guard written > 0 else { break }
                bytes = bytes.dropFirst(written)
            }
        }
        close(input)
        input = -1
    }

    /// Reaps the child if it has exited; true once it has.
    @discardableResult
    func reap() -> Bool {
        if status != nil {
            return true
        }
        var raw: Int32 = 0
        guard waitpid(pid, &raw, WNOHANG) == pid else {
            return false
        }
        let signal = raw & 0x7f
        status = signal == 0 ? (raw >> 8) & 0xff : 128 + signal
        return true
    }

    /// Kills the child's process group and the child, and reaps it.
    func killGroup() {
        kill(-pid, SIGKILL)
        kill(pid, SIGKILL)
        var raw: Int32 = 0
        if waitpid(pid, &raw, 0) == pid, status == nil {
            status = 128 + (raw & 0x7f)
        }
    }

    /// Collects output until the child has exited and both pipes reached
    /// their end, or until the deadline. Returns whether both happened.
    func collect(until deadline: Date) -> Bool {
        while Date() < deadline {
            let ended = reap()
            let open = [output, errorOutput].filter { $0 >= 0 }
            if ended && open.isEmpty {
                return true
            }
            var descriptors = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if descriptors.isEmpty {
                usleep(10_000)
                continue
            }
            _ = poll(&descriptors, nfds_t(descriptors.count), 10)
            for descriptor in descriptors where descriptor.revents != 0 {
                drain(descriptor.fd)
            }
        }
        return false
    }

    /// Waits up to `timeout` seconds for standard output to have bytes,
    /// and returns the bytes that came; nil if none did.
    func readOutput(timeout: TimeInterval) -> String? {
        guard output >= 0 else {
            return nil
        }
        var descriptor = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, Int32(timeout * 1000)) == 1 else {
            return nil
        }
        let before = standardOutput.count
        drain(output)
        return String(decoding: standardOutput[before...], as: UTF8.self)
    }

    private func drain(_ descriptor: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count > 0 {
            if descriptor == output {
                standardOutput += buffer[..<count]
            } else {
                standardError += buffer[..<count]
            }
        } else if count == 0 || errno != EINTR {
            close(descriptor)
            if descriptor == output {
                output = -1
            } else {
                errorOutput = -1
            }
        }
    }

    struct SpawnError: Error {
        let message: String
    }
}
}
