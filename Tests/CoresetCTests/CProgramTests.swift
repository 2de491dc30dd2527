import Foundation
import Testing

/// Builds Tests/CoresetCTests/stage_test.c with `cc` against include/coreset.h and the built
/// libCoresetC.so, and runs it: the C interface as another language sees it.
@Suite struct CProgramTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Where SwiftPM put the products (beside the test bundle).
    static let productsDirectory: URL = {
        let bundle = Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") }
        return bundle.map { $0.bundleURL.deletingLastPathComponent() } ?? Bundle.main.bundleURL
    }()

    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func theCProgramPassesAgainstTheBuiltLibrary() throws {
        let library = Self.productsDirectory.appendingPathComponent("libCoresetC.so")
        try #require(FileManager.default.fileExists(atPath: library.path),
                     "\(library.path) is missing: `swift build` builds it (tools/test does, before `swift test`)")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("coreset-c-test-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let compile = try Self.run("/usr/bin/env", [
            "cc", "-std=c11", "-Wall", "-Wextra", "-Werror",
            "-I", Self.repository.appendingPathComponent("Sources/CoresetC/include").path,
            Self.repository.appendingPathComponent("Tests/CoresetCTests/stage_test.c").path,
            "-L", Self.productsDirectory.path, "-lCoresetC", "-Wl,-rpath," + Self.productsDirectory.path, "-lm",
            "-o", out.path,
        ])
        #expect(compile.status == 0, "cc failed:\n\(compile.output)")
        guard compile.status == 0 else { return }
        let result = try Self.run(out.path, [])
        #expect(result.status == 0, "the C program failed:\n\(result.output)")
        #expect(result.output.hasSuffix("ok\n"))
    }
}
