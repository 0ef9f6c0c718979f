/// On PPC64 a tracer skips a call by setting r0 to -1 at the seccomp stop:
/// `syscall_get_nr` then returns -1 and `__seccomp_filter` skips the call
/// (kernel/seccomp.c).
///
/// The result cannot be written at that stop on every kernel. Before Linux
/// 4.8 the entry code loaded -ENOSYS into r3 after any skip, and the
/// ptrace skip path of `do_syscall_trace_enter` still does. Later kernels
/// keep the tracer's r3 after a seccomp skip and convert it for `sc` on the
/// way out. The backend writes the result at the exit stop, in the form the
/// program sees, which is right on both.
extension PPC64LERegisters {
    mutating func cancelSyscall() {
        gpr[0] = UInt64.max
    }

    /// Another number in r0 makes the kernel run that call instead.
    mutating func setSyscallNumber(_ number: Int64) {
        gpr[0] = UInt64(bitPattern: number)
    }
}
