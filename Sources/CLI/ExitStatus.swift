import Glibc

/// The statuses remainroot exits with when the command's own status is not
/// the answer, as env(1), chroot(1) and shells use them.
enum ExitStatus {
    /// remainroot itself failed, or its command line is invalid.
    static let ownFailure: Int32 = 125
    /// The command was found but could not be executed.
    static let cannotExecute: Int32 = 126
    /// The command was not found.
    static let notFound: Int32 = 127
}

/// Prints one line to standard error, prefixed with the program's name.
func printError(_ message: String) {
    writeAll(2, "remainroot: \(message)\n")
}

/// Prints to standard output.
func printOutput(_ text: String) {
    writeAll(1, text)
}

/// Writes all of `text` to a descriptor, unbuffered, so that output from
/// several threads never interleaves within a line.
func writeAll(_ fd: Int32, _ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if written < 0 && errno == EINTR { continue }
        guard written > 0 else { return }
        bytes = bytes.dropFirst(written)
    }
}

/// A command-line error: a one-line message and exit status 125.
struct UsageError: Error {
    let message: String
}
