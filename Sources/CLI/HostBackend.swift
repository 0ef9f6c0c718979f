import ArchX86_64
import Engine

// The one place that picks the backend of the CPU remainroot runs on. The
// engine and every backend compile on every host; only this choice depends
// on it.
#if arch(x86_64)
typealias HostBackend = X86_64Backend
#else
#error("remainroot has no backend for this CPU yet: add a module that conforms to ArchitectureBackend")
#endif

/// Every backend, by the name `syscalls --arch` accepts.
let backendsByABI: [String: any ArchitectureBackend] = [
    "x86_64": X86_64Backend(),
]
