// swift-tools-version:6.0
import PackageDescription

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
        .target(name: "Engine", dependencies: ["CShims", "CSQLite"]),
        .target(name: "ArchX86_64", dependencies: ["Engine"]),
        .target(name: "ArchAArch64", dependencies: ["Engine"]),
        .target(name: "ArchPPC64LE", dependencies: ["Engine"]),
        .executableTarget(
            name: "CLI",
            dependencies: ["Engine", "ArchX86_64", "ArchAArch64", "ArchPPC64LE", "CShims"]
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
    ]
)
