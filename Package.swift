// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "coreset",
    products: [
        .library(name: "CoresetKit", targets: ["CoresetKit"]),
        .executable(name: "coreset", targets: ["coreset"]),
        .library(name: "CoresetCLI", targets: ["CoresetCLI"]),
        // The C interface (Sources/CoresetC/include/coreset.h) as a shared library, libCoresetC.so:
        // how other languages (python/) embed the stage.
        .library(name: "CoresetC", type: .dynamic, targets: ["CoresetC"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // The network learner's gather kernel, in C so it can use AVX where the CPU has it.
        .target(name: "CNetworkKernels"),
        .target(
            name: "CoresetKit",
            dependencies: ["CZstd", "CZlib", "CNetworkKernels"]
        ),
        .target(
            name: "CoresetC",
            dependencies: ["CoresetKit"],
            exclude: ["include"]
        ),
        // The command line: option parsing and wiring (a library, so that it can be fuzzed), and the executable
        // that runs it.
        .target(
            name: "CoresetCLI",
            dependencies: [
                "CoresetKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "coreset",
            dependencies: ["CoresetCLI"]
        ),
        .testTarget(
            name: "CoresetKitTests",
            dependencies: ["CoresetKit", "CZstd", "CZlib"]
        ),
        .testTarget(
            name: "CoresetCTests",
            dependencies: ["CoresetC"],
            exclude: ["stage_test.c"]
        ),
        .testTarget(
            name: "coresetCLITests",
            dependencies: ["coreset", "CoresetCLI"]
        ),
    ]
)
