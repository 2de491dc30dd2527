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
}
