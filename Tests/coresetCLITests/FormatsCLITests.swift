import Foundation
import Testing

/// Issue 24: coreset output as other tools read it.
@Suite struct FormatsCLITests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The Python that has scikit-learn: $CORESET_PYTHON (.ci/run's venv) or python3; nil when neither has it.
    static let python: String? = {
        for candidate in [ProcessInfo.processInfo.environment["CORESET_PYTHON"], "/usr/bin/env"].compactMap({ $0 }) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: candidate)
            p.arguments = (candidate == "/usr/bin/env" ? ["python3"] : []) + ["-c", "import sklearn, numpy"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            guard (try? p.run()) != nil else { continue }
            p.waitUntilExit()
            if p.terminationStatus == 0 { return candidate }
        }
        print("FormatsCLITests: skipping the scikit-learn/XGBoost/VW check: no python with scikit-learn (set CORESET_PYTHON or run .ci/run)")
        return nil
    }()

    /// tools/check_formats/check_formats.py: the README's recipes load every format with its weights.
    @Test(.enabled(if: python != nil)) func scikitLearnXGBoostAndVWLoadTheCoresetWithItsWeights() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.python!)
        p.arguments = (Self.python == "/usr/bin/env" ? ["python3"] : [])
            + [Self.root.appendingPathComponent("tools/check_formats/check_formats.py").path, CLI.productsDirectory.appendingPathComponent("coreset").path]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(stdout)\(stderr)")
        #expect(stdout.contains("ok: scikit-learn"), "\(stdout)")
        print(stdout)
    }

    /// A label written `+1.0`, or a class name with quotes, still makes valid JSON.
    @Test func jsonLinesOutputIsValidJSONForAnyLabel() throws {
        let svm = CLI.temporaryFile("pm.svm", Data("+1.0 1:0.5 3:1\n-1 2:2\n+1.0 1:1.5 2:0.25\n".utf8))
        let csv = CLI.temporaryFile("named.csv", Data("label,a,b\n\"say \"\"hi\"\"\",1,2\n\"tab\there\",3,4\nback\\\\slash,5,6\n".utf8))
        for (input, extra) in [(svm, [String]()), (csv, ["-f", "csv"])] {
            let r = try CLI.run(["select", "-q", "-k", "3", "--output-format", "jsonl", input] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            let lines = r.stdout.split(separator: "\n")
            #expect(lines.count == 3)
            for line in lines {
                #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) is [String: Any], "\(line)")
            }
        }
    }

    /// Every format reads back into coreset with its weights; JSON Lines and LIBSVM with the same features.
    @Test func everyFormatReadsBackWithItsWeights() throws {
        let data = CLI.temporaryFile("shard.svm", Data(MergeCLITests.shardText(seed: 24, count: 1000).text.utf8))
        var dimensions: [String: String] = [:]
        for format in ["libsvm", "csv", "jsonl", "vw"] {
            let r = try CLI.run(["select", "-q", "-k", "30", "--threads", "1", "--output-format", format, data])
            #expect(r.status == 0, "\(r.stderr)")
            let back = try CLI.run(["stats", "-q", "-f", format, "-"], stdin: Data(r.stdout.utf8))
            #expect(back.status == 0, "\(format): \(back.stderr)")
            #expect(back.stdout.contains("weighted_example_sum\t1000.000\n"), "\(format): \(back.stdout)")
            dimensions[format] = back.stdout.split(separator: "\n").first { $0.hasPrefix("nonzeros\t") }.map(String.init)
        }
        #expect(dimensions["jsonl"] == dimensions["libsvm"] && dimensions["libsvm"] != nil, "\(dimensions)")
    }

    /// VW and JSON Lines coresets of coreset 0.1 numbered features from 0: `merge --zero-based` reads them.
    @Test func oldZeroBasedCoresetsMergeWithZeroBased() throws {
        let old = CLI.temporaryFile("old.vw", Data("1 2 '3 | 0:1 4:0.5\n-1 1 '5 | 1:2\n".utf8))
        let refused = try CLI.run(["merge", "-q", "-k", "2", old])
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("old.vw:1: feature 0 in a coreset numbered from 1"), "\(refused.stderr)")
        let merged = try CLI.run(["merge", "-q", "-k", "2", "--zero-based", old])
        #expect(merged.status == 0, "\(merged.stderr)")
        #expect(merged.stdout.split(separator: "\n").sorted() == ["-1 2:2 # id=5 weight=1 origin=0:5", "1 1:1 5:0.5 # id=3 weight=2 origin=0:3"], "\(merged.stdout)")
        let oldLibSVM = CLI.temporaryFile("old.svm", Data("1:2 1:1 5:0.5 # id=3\n-1:1 2:2 # id=5\n".utf8))
        let again = try CLI.run(["merge", "-q", "-k", "2", oldLibSVM])
        #expect(again.stdout == merged.stdout)
    }
}
