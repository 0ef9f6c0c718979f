import ArchAArch64
import ArchPPC64LE
import ArchX86_64
import Engine

// The one place that picks the backend of the CPU remainroot runs on. The
// engine and every backend compile on every host; only this choice depends
// on it.
#if arch(x86_64)
typealias HostBackend = X86_64Backend
#elseif arch(arm64)
typealias HostBackend = AArch64Backend
#elseif arch(powerpc64le)
typealias HostBackend = PPC64LEBackend
#else
#error("remainroot has no backend for this CPU yet: add a module that conforms to ArchitectureBackend (see PORTING.md)")
#endif

/// Every backend, whatever the host, for `syscalls --arch`.
let allBackends: [any ArchitectureBackend] = [
    X86_64Backend(),
    AArch64Backend(),
    PPC64LEBackend(),
]
