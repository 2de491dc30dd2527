import Foundation
import Testing

/// The bad-input corpus (fixtures/bad/) through the commands that used to misbehave on it.
@Suite struct BadInputCLITests {
    static func bad(_ name: String) -> String { CLI.fixtures.appendingPathComponent("bad/\(name)").path }

    /// One index of 4e9 made `run` size its model for 4e9 features and abort (signal 6).
    @Test func runSkipsIndicesBeyondTheDimensionLimitInsteadOfAborting() throws {
        let r = try CLI.run(["run", "-q", Self.bad("huge-index.svm")])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("records_accepted\t3\n"))
        #expect(r.stdout.contains("records_skipped\t3\n"))
        #expect(r.stderr.contains("huge-index.svm:4: feature index 4294967294 (zero-based) is beyond the dimension limit 16777216 (--max-dimension)"))
        let raised = try CLI.run(["stats", "-q", "--max-dimension", "4294967296", Self.bad("huge-index.svm")])
        #expect(raised.stdout.contains("records_accepted\t5\n"))
    }

    /// `eval` used to score a label 5 against a binary model as if it were a class of it.
    @Test func evalSkipsClassesTheModelDoesNotHave() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("coreset-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let train = dir.appendingPathComponent("train.svm").path
        let model = dir.appendingPathComponent("model.json").path
        try Data("1 1:1\n-1 1:2\n1 1:3\n-1 1:6\n".utf8).write(to: URL(fileURLWithPath: train))
        let t = try CLI.run(["train", "-q", train, "--model-out", model])
        #expect(t.status == 0, "\(t.stderr)")
        let e = try CLI.run(["eval", "--model", model, Self.bad("unseen-label.svm")])
        #expect(e.status == 0)
        #expect(e.stdout.contains("eval_records\t4\n"))
        #expect(e.stderr.contains("unseen-label.svm:3: label 5 is not a class of the model (classes: -1, 1)"))
        // predict ignores labels: every record keeps its prediction line.
        let p = try CLI.run(["predict", "--model", model, Self.bad("unseen-label.svm")])
        #expect(p.status == 0)
        #expect(p.stdout.split(separator: "\n").count == 7)  // the header, then one line per record
        #expect(p.stdout.hasPrefix("predicted\t-1\t1\n"))
        let strict = try CLI.run(["eval", "--strict", "--model", model, Self.bad("unseen-label.svm")])
        #expect(strict.status == 65)
        #expect(strict.stderr.contains("unseen-label.svm:3: label 5 is not a class of the model"))
    }

    @Test func corruptCompressedInputExitsWith65AndTheByteOffset() throws {
        let r = try CLI.run(["stats", "-q", Self.bad("corrupt-block.svm.zst")])
        #expect(r.status == 65)
        #expect(r.stderr.contains("corrupt-block.svm.zst: at byte 139: corrupt zstd data: Restored data doesn't match checksum"))
        // The corrupt frame's lines decoded before its checksum are delivered (one of them is garbage).
        #expect(r.stdout.contains("records_accepted\t19\n"))
        #expect(r.stdout.contains("records_skipped\t1\n"))
    }

    @Test func emptyInputRunsToAnEmptySummary() throws {
        for name in ["empty.svm", "empty.svm.zst", "empty.svm.gz"] {
            let r = try CLI.run(["run", "-q", Self.bad(name)])
            #expect(r.status == 0, "\(name): \(r.stderr)")
            #expect(r.stdout.contains("records_accepted\t0\n"))
        }
    }
}
