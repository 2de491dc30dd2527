// swift-tools-version:6.0
// Benchmark harness for the neural learner; a separate package so the library never depends on it.
import PackageDescription
import Foundation

// A path dependency's identity is its folder's name, which is the clone's name: read it, do not assume it.
let rootPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().lastPathComponent.lowercased()

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
