// swift-tools-version:6.0
// Benchmark harness for the Selection engine; a separate package so the library never depends on it.
import PackageDescription
import Foundation

// A path dependency's identity is its folder's name, which is the clone's name: read it, do not assume it.
let rootPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().lastPathComponent.lowercased()

let package = Package(
    name: "bench_selection",
    dependencies: [.package(path: "../..")],
    targets: [
        .executableTarget(
            name: "BenchSelection",
            dependencies: [.product(name: "CoresetKit", package: rootPackage)],
            swiftSettings: [.unsafeFlags(["-Ounchecked"])]
        ),
    ]
)
