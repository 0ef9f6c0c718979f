/// Hooks for `remainroot --debug`. Each method is called on the worker
/// thread that owns the tracee, while the tracee is stopped, so a method may
/// make ptrace requests for it (libunwind-ptrace does).
public protocol DebugObserver: AnyObject {
    /// Reports that the worker starts handling trapped call `number` of
    /// thread `pid`.
    func willHandleSyscall(_ entry: SyscallEntry, number: Int64, of pid: ProcessID)

    /// Reports that the worker finished handling the call of thread `pid`.
    func didHandleSyscall(of pid: ProcessID)

    /// Reports that thread `pid` is in a signal-delivery stop for `signal`,
    /// which the worker delivers right after this returns. The thread's memory and
    /// registers are still those of the moment the signal arrived.
    func signalDeliveryStop(of pid: ProcessID, signal: Int32)
}
