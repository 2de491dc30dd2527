import Foundation
import Testing

/// Issue 28: tools/install-deps waits for the dpkg lock and installs the zstd command.
@Suite struct ToolsTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs install-deps with only fake `apt-get`, `pkg-config` (all libraries present) and `id` on
    /// the PATH, so the zstd command is missing; returns the fake apt-get's calls and stderr.
    @Test func installDepsWaitsForTheDpkgLockAndInstallsZstd() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("coreset-tools-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let log = dir.appendingPathComponent("apt.log").path
        func script(_ name: String, _ body: String) throws {
            let path = dir.appendingPathComponent(name).path
            try Data("#!/bin/sh\n\(body)\n".utf8).write(to: URL(fileURLWithPath: path))
            chmod(path, 0o755)
        }
        try script("apt-get", "echo \"$*\" >> \(log)")
        try script("pkg-config", "exit 0")
        try script("id", "echo 0")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [Self.root.appendingPathComponent("tools/install-deps").path]
        p.environment = ["PATH": dir.path]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(stderr)")
        let calls = (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
        #expect(calls.count == 2, "\(calls)")
        #expect(calls.allSatisfy { $0.contains("-o DPkg::Lock::Timeout=600") }, "\(calls)")
        #expect(calls.last?.contains("install") == true && calls.last?.hasSuffix(" zstd") == true, "\(calls)")
        #expect(stderr.contains("installing: zstd"))
        #expect(stderr.contains("DPkg::Lock::Timeout=600"))
    }
}
