// swift-tools-version:6.0
import PackageDescription

// `remainroot --debug` reports stacks through libunwind (Debian's
// libunwind-dev, which Scripts/setup installs). Build with
// REMAINROOT_DEBUG_SUPPORT=0 to leave it out: the binary then needs no
// libunwind at run time, and --debug is rejected.
let debugSupport = Context.environment["REMAINROOT_DEBUG_SUPPORT"] != "0"

var cliDependencies: [Target.Dependency] = ["Engine", "ArchX86_64", "ArchAArch64", "ArchPPC64LE", "CShims"]
var cliSettings: [SwiftSetting] = []
var debugTargets: [Target] = []
if debugSupport {
    cliDependencies.append("CDebugSupport")
    cliSettings.append(.define("DEBUG_SUPPORT"))
    debugTargets.append(
        // The crash handler and the tracee unwinder. libunwind-generic is
        // the unwinder of the host CPU, local and remote, and libunwind
        // contains unw_getcontext. Debian's libunwind-ptrace.so calls liblzma
        // (for compressed .gnu_debugdata sections) without listing it as a
        // dependency, so the link needs -llzma. libstdc++ provides
        // __cxa_demangle.
        //
        // libunwind also defines _Unwind_Backtrace, _Unwind_RaiseException
        // and the rest of the unwinder that libgcc_s provides. The dynamic
        // linker binds each such call to the first library in load order
        // that defines it, so libgcc_s comes first here: the Swift runtime
        // and libstdc++ keep using the unwinder they were built with.
        .target(
            name: "CDebugSupport",
            linkerSettings: [
                .linkedLibrary("gcc_s"),
                .linkedLibrary("unwind-ptrace"),
                .linkedLibrary("unwind-generic"),
                .linkedLibrary("unwind"),
                .linkedLibrary("lzma"),
                .linkedLibrary("stdc++"),
            ]
        )
    )
}

// Every stop runs the engine's generic tracer over the host backend;
// optimizing across the two modules lets the compiler specialize and inline
// the backend's register accessors into it (about 6% of the tracer's CPU
// per answered call, measured with `remainroot bench --only getuid`).
let crossModuleOptimization: [SwiftSetting] = [
    .unsafeFlags(["-cross-module-optimization"], .when(configuration: .release)),
]

let package = Package(
    name: "remainroot",
    products: [
        .executable(name: "remainroot", targets: ["CLI"]),
    ],
    targets: [
        // The few calls Swift cannot make itself: variadic ones (ptrace, prctl,
        // syscall) and the traced child's async-signal-safe work between fork
        // and execve.
        .target(name: "CShims"),
        // SQLite keeps the records that do not fit in extended attributes.
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "Engine", dependencies: ["CShims", "CSQLite"], swiftSettings: crossModuleOptimization),
        .target(name: "ArchX86_64", dependencies: ["Engine"], swiftSettings: crossModuleOptimization),
        .target(name: "ArchAArch64", dependencies: ["Engine"]),
        .target(name: "ArchPPC64LE", dependencies: ["Engine"]),
        .executableTarget(
            name: "CLI",
            dependencies: cliDependencies,
            swiftSettings: cliSettings
        ),
        .testTarget(name: "EngineTests", dependencies: ["Engine"]),
        .testTarget(name: "ArchX86_64Tests", dependencies: ["ArchX86_64", "Engine"]),
        .testTarget(name: "ArchAArch64Tests", dependencies: ["ArchAArch64", "Engine"]),
        .testTarget(name: "ArchPPC64LETests", dependencies: ["ArchPPC64LE", "Engine"]),
        // The table test and the conformance suite, run over every backend.
        .testTarget(
            name: "BackendConformanceTests",
            dependencies: ["ArchX86_64", "ArchAArch64", "ArchPPC64LE", "Engine"]
        ),
        .testTarget(name: "EndToEndTests", dependencies: ["Engine"]),
    ] + debugTargets
)
