import Foundation
import Testing

/// Issue 26: the stages depend one way (tools/check_boundaries reads the rule from the sources).
@Suite struct StageBoundaryTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs tools/check_boundaries on the tree at `root`; returns its exit status, stdout and stderr.
    func check(root: URL) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", Self.root.appendingPathComponent("tools/check_boundaries").path, "--root", root.path]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, o, e)
    }

    /// The engine and the command line import FoundationEssentials, falling back to Foundation only where it is
    /// missing: one unconditional `import Foundation` links all of Foundation and ICU into `coreset` (start-up
    /// 8 ms instead of 5, and 6.5 MB more resident memory for every command).
    @Test func nothingImportsAllOfFoundation() throws {
        var offenders: [String] = []
        for target in ["CoresetKit", "CoresetCLI", "coreset"] {
            let dir = Self.root.appendingPathComponent("Sources/\(target)")
            guard let files = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil) else { continue }
            for case let url as URL in files where url.pathExtension == "swift" {
                let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
                for (i, line) in lines.enumerated() where line.trimmingCharacters(in: .whitespaces).hasSuffix("import Foundation") {
                    let previous = i > 0 ? lines[i - 1].trimmingCharacters(in: .whitespaces) : ""
                    if previous != "#else" { offenders.append("\(url.lastPathComponent):\(i + 1)") }
                }
            }
        }
        #expect(offenders.isEmpty, "import Foundation outside '#if canImport(FoundationEssentials) ... #else': \(offenders)")
    }

    @Test func theSourcesDependOneWay() throws {
        let r = try check(root: Self.root)
        #expect(r.status == 0, "\(r.out)\(r.err)")
        #expect(r.err.contains("stages depend one way"), "\(r.err)")
    }

    /// A copy of the sources with a Selection file naming Learning's snapshot type, and a Core file naming a
    /// Pipeline type: both are reported with file and line, and the check fails. The same names in comments
    /// and string text, and in the Pipeline (which may use every stage), are not reported.
    @Test func aForbiddenUseFailsTheCheck() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("coreset-bounds-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.root.appendingPathComponent("Sources"), to: dir.appendingPathComponent("Sources"))
        let kit = dir.appendingPathComponent("Sources/CoresetKit")
        let clean = try check(root: dir)
        #expect(clean.status == 0, "\(clean.out)\(clean.err)")

        try Data("""
            // A LinearModelSnapshot in a comment is no use.
            /* nor /* nested */ Learner here */
            func injectedUse(_ s: LinearModelSnapshot) -> String {
                "a Learner in string text, \\(s.version) in an interpolation"
            }

            """.utf8).write(to: kit.appendingPathComponent("Selection/InjectedUse.swift"))
        try Data("let injectedCore: StreamingRun? = nil\n".utf8).write(to: kit.appendingPathComponent("Core/InjectedUse.swift"))
        try Data("let injectedPipeline: LinearModelSnapshot? = nil\n".utf8).write(to: kit.appendingPathComponent("Pipeline/InjectedUse.swift"))
        let r = try check(root: dir)
        #expect(r.status == 1, "\(r.out)\(r.err)")
        let lines = r.out.split(separator: "\n").map(String.init)
        #expect(lines == [
            "Sources/CoresetKit/Core/InjectedUse.swift:1: Core uses StreamingRun (declared in Pipeline)",
            "Sources/CoresetKit/Selection/InjectedUse.swift:3: Selection uses LinearModelSnapshot (declared in Learning)",
        ], "\(r.out)")
        #expect(r.err.contains("2 use(s) across stages"), "\(r.err)")
    }
}
