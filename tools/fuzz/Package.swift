// swift-tools-version:6.0
// Fuzz targets for coreset's record readers, state readers and option parsing, kept out of the main package so that a plain
// `swift build` / `swift test` never sees them. Build and run with `tools/fuzz/run`.
import PackageDescription

let targets = [
    "FuzzLibSVM", "FuzzCSV", "FuzzJSONLines", "FuzzVW", "FuzzZstd", "FuzzGzip",
    "FuzzText", "FuzzCoresetFile", "FuzzCheckpoint", "FuzzModel", "FuzzFollow",
]

let package = Package(
    name: "coreset-fuzz",
    dependencies: [.package(name: "coreset", path: "../..")],
    targets: [
        .target(name: "FuzzSupport", dependencies: [.product(name: "CoresetKit", package: "coreset")]),
    ] + targets.map { name in
        .executableTarget(name: name, dependencies: ["FuzzSupport", .product(name: "CoresetKit", package: "coreset")])
    } + [
        // The command line (option parsing and validation), through the CoresetCLI library.
        .executableTarget(name: "FuzzOptions", dependencies: ["FuzzSupport", .product(name: "CoresetCLI", package: "coreset")]),
    ]
)
