// swift-tools-version:6.0
// Replay study for issue 4: online / online + reservoir replay / online + coreset replay / subset-only /
// full-data baselines on real data. A separate package so the library never depends on it.
import PackageDescription

let package = Package(
    name: "replay_study",
    dependencies: [.package(path: "../..")],
    targets: [
        .executableTarget(
            name: "ReplayStudy",
            dependencies: [.product(name: "CoresetKit", package: "main")],
            swiftSettings: [.unsafeFlags(["-Ounchecked"]), .swiftLanguageMode(.v5)]
        ),
    ]
)
