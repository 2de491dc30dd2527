// swift-tools-version:6.0
// Benchmark harness for the neural learner; a separate package so the library never depends on it.
// The dependency's identity is the checkout's folder name ("main" in the lead's checkout); bench.py
// passes another through BENCH_MLP_ROOT_PACKAGE when run from a differently named worktree.
import PackageDescription
import Foundation

let rootPackage = ProcessInfo.processInfo.environment["BENCH_MLP_ROOT_PACKAGE"] ?? "main"

let package = Package(
    name: "bench_mlp",
    dependencies: [.package(path: "../..")],
    targets: [
        .executableTarget(
            name: "BenchMLP",
            dependencies: [.product(name: "CoresetKit", package: rootPackage)]
        ),
    ]
)
