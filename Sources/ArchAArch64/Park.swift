/// AArch64 does not park threads yet, so every new process stays on the
/// worker of its parent.
///
/// TODO: park at the first stop of a new child by moving pc back over the
/// 4-byte `svc #0` and setting x8 to ppoll (73) with x0...x4 zero. The
/// kernel prepares its own restart before it reports the stop
/// (arch/arm64/kernel/signal.c, `do_signal`) and leaves a pc the tracer
/// changed alone. It needs a test on AArch64 hardware first.
enum AArch64Park {
    static func parked(_ registers: AArch64Registers) -> AArch64Registers? {
        nil
    }
}
