// swift-tools-version:6.0
// Replay study for issue 4: online / online + reservoir replay / online + coreset replay / subset-only /
// full-data baselines on real data. A separate package so the library never depends on it.
import PackageDescription
import Foundation

// A path dependency's identity is its folder's name, which is the clone's name: read it, do not assume it.
let rootPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().lastPathComponent.lowercased()

let package = Package(
    name: "replay_study",
    dependencies: [.package(path: "../..")],
    targets: [
        .executableTarget(
            name: "ReplayStudy",
            dependencies: [.product(name: "CoresetKit", package: rootPackage)],
            swiftSettings: [.unsafeFlags(["-Ounchecked"]), .swiftLanguageMode(.v5)]
        ),
    ]
)
