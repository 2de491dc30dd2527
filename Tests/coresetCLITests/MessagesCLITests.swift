import Foundation
import Testing

/// Issue 28: what coreset says names things that exist.
@Suite struct MessagesCLITests {
    static let sources = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources")

    /// Every `--option` named anywhere in the sources (messages, suggestions, help) is an option of
    /// some command (`--task regression` was suggested, and does not exist).
    @Test func everyOptionTheSourcesNameExists() throws {
        var defined = Set<String>()
        for command in ["run", "select", "merge", "train", "predict", "eval", "stats"] {
            let help = try CLI.run([command, "--help"])
            defined.formUnion(Self.options(in: help.stdout + help.stderr))
        }
        #expect(defined.contains("--regression") && defined.contains("--zstd-window-log"))
        var named: [String: String] = [:]
        let files = FileManager.default.enumerator(at: Self.sources, includingPropertiesForKeys: nil)!
        for case let url as URL in files where url.pathExtension == "swift" {
            for option in Self.options(in: try String(contentsOf: url, encoding: .utf8)) { named[option] = url.lastPathComponent }
        }
        #expect(named.count > 20)
        let unknown = named.filter { !defined.contains($0.key) }
        #expect(unknown.isEmpty, "options named in the sources that no command has: \(unknown.sorted { $0.key < $1.key })")
    }

    static func options(in text: String) -> Set<String> {
        var found = Set<String>()
        let chars = Array(text.utf8)
        var i = 0
        while i + 2 < chars.count {
            if chars[i] == UInt8(ascii: "-") && chars[i + 1] == UInt8(ascii: "-") && (i == 0 || chars[i - 1] != UInt8(ascii: "-"))
                && chars[i + 2] >= UInt8(ascii: "a") && chars[i + 2] <= UInt8(ascii: "z") {
                var j = i + 2
                while j < chars.count && (chars[j] >= UInt8(ascii: "a") && chars[j] <= UInt8(ascii: "z") || chars[j] >= UInt8(ascii: "0") && chars[j] <= UInt8(ascii: "9") || chars[j] == UInt8(ascii: "-")) { j += 1 }
                found.insert(String(decoding: chars[i..<j], as: UTF8.self))
                i = j
            } else {
                i += 1
            }
        }
        return found
    }

    @Test func aNonIntegerLabelSuggestsRegressionWhichWorks() throws {
        let input = CLI.temporaryFile("real.svm", Data("1.5 1:1\n2.5 1:2\n".utf8))
        let r = try CLI.run(["stats", "-q", input])
        #expect(r.stderr.contains("use --regression for real-valued targets"), "\(r.stderr)")
        let fixed = try CLI.run(["stats", "-q", "--regression", input])
        #expect(fixed.stdout.contains("records_accepted\t2\n"))
    }

    @Test func aFullStdoutNamesStdoutInASentence() throws {
        let p = Process()
        p.executableURL = CLI.productsDirectory.appendingPathComponent("coreset")
        p.arguments = ["stats", "-q", CLI.fixtures.appendingPathComponent("adult/adult.test.svm.zst").path]
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/full")
        let err = Pipe()
        p.standardError = err
        try p.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 74)
        #expect(message == "coreset: <stdout>: cannot write: No space left on device\n", "\(message)")
    }
}
