// swift-tools-version:6.0
// Evaluator for the merge benchmark; a separate package so the library never depends on it.
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its folder: the clone's name, whatever it is.
let root = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().deletingLastPathComponent()

let package = Package(
    name: "bench_merge",
    dependencies: [.package(path: "../..")],
    targets: [
        .executableTarget(
            name: "BenchMerge",
            dependencies: [.product(name: "CoresetKit", package: root.lastPathComponent.lowercased())],
            swiftSettings: [.unsafeFlags(["-Ounchecked"])]
        ),
    ]
)
