// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "coreset",
    products: [
        .library(name: "CoresetKit", targets: ["CoresetKit"]),
        .executable(name: "coreset", targets: ["coreset"]),
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
        .target(
            name: "CoresetKit",
            dependencies: ["CZstd", "CZlib"]
        ),
        .executableTarget(
            name: "coreset",
            dependencies: [
                "CoresetKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "CoresetKitTests",
            dependencies: ["CoresetKit", "CZstd", "CZlib"]
        ),
        .testTarget(
            name: "coresetCLITests",
            dependencies: ["coreset"]
        ),
    ]
)
