import CShims
import Glibc

/// The raw calls the engine makes, one wrapper each. Every wrapper owns its
/// EINTR retry and errno capture, so no other code reads `errno`.
enum SystemCalls {
    // Requests and options from <linux/ptrace.h>, which Glibc's Swift
    // module does not import as constants.
    static let ptraceContinue: Int32 = 7
    static let ptraceSyscall: Int32 = 24
    static let ptraceGetEventMessage: Int32 = 0x4201
    static let ptraceGetRegisterSet: Int32 = 0x4204
    static let ptraceSetRegisterSet: Int32 = 0x4205
    static let ptracePokeUser: Int32 = 6
    static let ptraceSeize: Int32 = 0x4206
    static let ptraceListen: Int32 = 0x4208
    static let ptraceDetach: Int32 = 17
    static let ptraceInterrupt: Int32 = 0x4207
    static let ptraceGetSignalMask: Int32 = 0x420a
    static let ptraceSetSignalMask: Int32 = 0x420b

    /// `NT_PRSTATUS` from <elf.h>: the general registers.
    static let registerSetGeneral: Int32 = 1

    /// `ptrace(2)`; the result, or the errno as a typed error.
    static func ptrace(_ request: Int32, _ pid: ProcessID, address: UInt = 0, data: UInt = 0) -> Result<Int, Errno> {
        let result = shim_ptrace(request, pid.rawValue, address, data)
        return result < 0 ? .failure(Errno(Int32(-result))) : .success(result)
    }

    /// `waitpid(2)` for any child, retried on EINTR.
    static func waitForAnyChild(options: Int32) -> Result<(ProcessID, Int32), Errno> {
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, options)
            if pid >= 0 {
                return .success((ProcessID(pid), status))
            }
            let error = errno
            if error != EINTR {
                return .failure(Errno(error))
            }
        }
    }

    /// Reads `count` bytes of the tracee's memory. Like the kernel's own
    /// copy_from_user, it fails with EFAULT when any byte is unmapped.
    static func readMemory(of pid: ProcessID, at address: UInt64, into buffer: UnsafeMutableRawBufferPointer) -> Result<Void, Errno> {
        guard buffer.count > 0 else { return .success(()) }
        let done = shim_read_process_memory(pid.rawValue, address, buffer.baseAddress, buffer.count)
        if done == buffer.count { return .success(()) }
        return .failure(done < 0 && done != -Int(EFAULT) ? Errno(Int32(-done)) : .badAddress)
    }

    /// Writes bytes into the tracee's memory. `process_vm_writev` honours
    /// page protections, so a read-only or unmapped target fails with EFAULT
    /// as the kernel's copy_to_user would; PTRACE_POKEDATA would write
    /// through a read-only mapping instead.
    static func writeMemory(of pid: ProcessID, at address: UInt64, from buffer: UnsafeRawBufferPointer) -> Result<Void, Errno> {
        guard buffer.count > 0 else { return .success(()) }
        let done = shim_write_process_memory(pid.rawValue, address, buffer.baseAddress, buffer.count)
        if done == buffer.count { return .success(()) }
        return .failure(done < 0 && done != -Int(EFAULT) ? Errno(Int32(-done)) : .badAddress)
    }

    /// Writes bytes into the tracee's memory through /proc/PID/mem, which,
    /// like PTRACE_POKETEXT, writes through a read-only mapping (a private
    /// copy of the page, as a debugger's breakpoint makes). Only for code
    /// the tracer puts back before the program runs it as its own.
    static func writeCode(of pid: ProcessID, at address: UInt64, from bytes: [UInt8]) -> Result<Void, Errno> {
        let fd = open("/proc/\(pid.rawValue)/mem", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(Errno(errno)) }
        defer { close(fd) }

        while true {
            let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(Int64(bitPattern: address))) }
            if written == bytes.count { return .success(()) }
            if written < 0 && errno == EINTR { continue }
            return .failure(written < 0 ? Errno(errno) : .badAddress)
        }
    }

    /// `kill(2)`.
    static func kill(_ pid: ProcessID, signal: Int32) -> Result<Void, Errno> {
        Glibc.kill(pid.rawValue, signal) == 0 ? .success(()) : .failure(Errno(errno))
    }

    /// Reads a whole small file, such as one under /proc.
    static func readFile(_ path: String) -> Result<String, Errno> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(Errno(errno)) }
        defer { close(fd) }

        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if got == 0 { break }
            if got < 0 {
                if errno == EINTR { continue }
                return .failure(Errno(errno))
            }
            bytes.append(contentsOf: chunk[0..<got])
        }
        return .success(String(decoding: bytes, as: UTF8.self))
    }

    /// readlink(2), or nil when the link cannot be read.
    static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        let length = readlink(path, &buffer, buffer.count - 1)
        guard length >= 0 else { return nil }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Writes a whole small file, such as /proc/self/uid_map.
    static func writeFile(_ path: String, _ contents: String) -> Result<Void, Errno> {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(Errno(errno)) }
        defer { close(fd) }

        let bytes = Array(contents.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if written == bytes.count { return .success(()) }
        return .failure(written < 0 ? Errno(errno) : .outOfMemory)
    }
}
