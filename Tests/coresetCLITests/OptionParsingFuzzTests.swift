import CoresetCLI
import Foundation
import Testing

/// The option-parsing fuzz target's seeds and saved findings (fixtures/fuzz/options,
/// fixtures/fuzz/regressions/options-*) through `Coreset.parseOnly`, as tools/fuzz/run's FuzzOptions
/// hands them over: each gets an answer (a command, or a message and exit code), none traps.
@Suite struct OptionParsingFuzzTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/fuzz")

    static func inputs() throws -> [URL] {
        let fm = FileManager.default
        let seeds = try fm.contentsOfDirectory(at: fixtures.appendingPathComponent("options"), includingPropertiesForKeys: nil)
        let regressions = (try? fm.contentsOfDirectory(at: fixtures.appendingPathComponent("regressions"), includingPropertiesForKeys: nil)) ?? []
        return seeds + regressions.filter { $0.lastPathComponent.hasPrefix("options-") }
    }

    @Test func everySeedAndFindingGetsAnAnswer() throws {
        let files = try Self.inputs()
        #expect(files.count >= 10)
        for file in files {
            let bytes = try [UInt8](Data(contentsOf: file))
            let answer = bytes.withUnsafeBytes { Coreset.parseOnly(Coreset.fuzzArguments($0)) }
            #expect(!answer.isEmpty, "\(file.lastPathComponent)")
        }
    }

    @Test func parsingValidatesWithoutRunning() {
        #expect(Coreset.parseOnly(["select", "-k", "10", "/nonexistent/input.svm"]) == "SelectCommand")
        let bad = Coreset.parseOnly(["select", "-k", "x"])
        #expect(bad.contains("'x' is invalid") && bad.hasSuffix("exit 64"), "\(bad)")
        #expect(Coreset.parseOnly(["--version"]).hasPrefix("0.1.0"))
        // Arguments split at NUL and newline bytes.
        let split = Array("run\n-k\u{0}7".utf8).withUnsafeBytes { Coreset.fuzzArguments($0) }
        #expect(split == ["run", "-k", "7"])
    }
}
