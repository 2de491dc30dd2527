// swift-tools-version:6.0
// Benchmark harness for the Selection engine; a separate package so the library never depends on it.
import PackageDescription

let package = Package(
    name: "bench_selection",
    dependencies: [.package(path: "../..")],
    targets: [
        .executableTarget(
            name: "BenchSelection",
            dependencies: [.product(name: "CoresetKit", package: "main")],
            swiftSettings: [.unsafeFlags(["-Ounchecked"])]
        ),
    ]
)
