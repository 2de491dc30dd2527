import Foundation
import Testing

/// Issue 26: the losses added as one file each (huber, squared-hinge) work through the command
/// line like the built-ins, and the registry check holds on the tree and fails on a branch.
@Suite struct LossCLITests {
    static let train = CLI.fixtures.appendingPathComponent("adult/adult.train.svm.zst").path
    static let test = CLI.fixtures.appendingPathComponent("adult/adult.test.svm.zst").path

    static func value(_ key: String, in stdout: String) -> Double? {
        stdout.split(separator: "\n").first { $0.hasPrefix(key + "\t") }.flatMap { Double($0.split(separator: "\t")[1]) }
    }

    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("coreset-loss-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func helpListsEveryLoss() throws {
        for command in ["train", "run"] {
            let r = try CLI.run([command, "--help"])
            #expect(r.status == 0)
            let help = r.stdout.replacingOccurrences(of: "\n", with: " ").split(separator: " ").joined(separator: " ")
            #expect(help.contains("logistic (binary), softmax (multiclass), squared (regression), hinge (binary), huber (regression), squared-hinge (binary)"), "\(help)")
        }
        let bad = try CLI.run(["train", "-q", "--loss", "absolute", Self.train])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("must be logistic, softmax, squared, hinge, huber or squared-hinge"), "\(bad.stderr)")
    }

    /// Huber regression on adult's ±1 labels: its test loss is below the best constant's Huber loss,
    /// the saved model loads, and `eval` reproduces the test loss.
    @Test func huberLearnsAndItsModelLoads() throws {
        let dir = try Self.temporaryDirectory()
        let model = dir.appendingPathComponent("huber.json").path
        let r = try CLI.run(["train", "-q", "--regression", "--loss", "huber", Self.train, "--test", Self.test, "--model-out", model])
        #expect(r.status == 0, "\(r.stderr)")
        let testLoss = try #require(Self.value("test_loss", in: r.stdout), "\(r.stdout)")
        // The best constant c for labels ±1 with a fraction p of +1: min over c of
        // (1 - p) huber(c + 1) + p huber(c - 1).
        let stats = try CLI.run(["stats", "-q", "--regression", Self.test])
        let mean = try #require(Self.value("target_mean", in: stats.stdout))
        let p = (1 + mean) / 2
        func huber(_ d: Double) -> Double { abs(d) <= 1 ? 0.5 * d * d : abs(d) - 0.5 }
        let constant = stride(from: -1.0, through: 1.0, by: 0.001).map { c in (1 - p) * huber(c + 1) + p * huber(c - 1) }.min()!
        #expect(testLoss < 0.75 * constant, "huber test loss \(testLoss), best constant \(constant)")
        let saved = try String(contentsOfFile: model, encoding: .utf8)
        #expect(saved.contains("\"loss\":\"huber\""))
        let e = try CLI.run(["eval", "-q", "--regression", "--model", model, Self.test])
        #expect(e.status == 0, "\(e.stderr)")
        #expect(Self.value("eval_loss", in: e.stdout) == testLoss, "\(e.stdout)")
        let predicted = try CLI.run(["predict", "-q", "--no-header", "--regression", "--model", model, Self.test])
        let rows = predicted.stdout.split(separator: "\n")
        #expect(rows.count == 16281 && rows.allSatisfy { Double($0) != nil })
    }

    /// Squared hinge classifies adult about as well as logistic regression; its model (no
    /// probabilities, like hinge) predicts labels alone, and selection in its gradient space runs.
    @Test func squaredHingeClassifiesAndItsModelServesPredictAndSelect() throws {
        let dir = try Self.temporaryDirectory()
        let model = dir.appendingPathComponent("sh.json").path
        let r = try CLI.run(["train", "-q", "--loss", "squared-hinge", Self.train, "--test", Self.test, "--model-out", model])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try #require(Self.value("test_accuracy", in: r.stdout)) > 0.83, "\(r.stdout)")
        #expect(try #require(Self.value("test_auc", in: r.stdout)) > 0.88, "\(r.stdout)")
        #expect(Self.value("test_log_loss", in: r.stdout) == nil)
        let p = try CLI.run(["predict", "-q", "--model", model, Self.test])
        #expect(p.status == 0, "\(p.stderr)")
        let lines = p.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first == "predicted")
        #expect(lines.dropFirst().dropLast().allSatisfy { $0 == "-1" || $0 == "1" }, "\(lines.prefix(3))")
        let s = try CLI.run(["select", "-q", "-k", "30", "--model", model, Self.test])
        #expect(s.status == 0, "\(s.stderr)")
        #expect(s.stdout.split(separator: "\n").count == 30)
        // The same for the built-in hinge, which shares the shape.
        let hinge = dir.appendingPathComponent("hinge.json").path
        #expect(try CLI.run(["train", "-q", "--loss", "hinge", Self.train, "--model-out", hinge]).status == 0)
        #expect(try CLI.run(["select", "-q", "-k", "30", "--model", hinge, Self.test]).status == 0)
        #expect(try CLI.run(["predict", "-q", "--model", hinge, Self.test]).stdout.hasPrefix("predicted\n-1\n"))
    }

    @Test func runLearnsWithANewLoss() throws {
        let r = try CLI.run(["run", "-q", "--sync", "-k", "200", "--loss", "squared-hinge", "--optimizer", "saga", Self.train, "--test", Self.test])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try #require(Self.value("test_accuracy", in: r.stdout)) > 0.8, "\(r.stdout)")
    }

    /// tools/check_loss_registry passes on the tree, and fails on a copy with a branch on a loss
    /// outside the loss files, and on a loss file that is not registered.
    @Test func registryCheckHoldsAndCanFail() throws {
        func check(_ root: URL) throws -> (Int32, String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = [ToolsTests.root.appendingPathComponent("tools/check_loss_registry").path, root.path]
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, text)
        }
        let (ok, okText) = try check(ToolsTests.root)
        #expect(ok == 0, "\(okText)")
        let copy = try Self.temporaryDirectory()
        let fm = FileManager.default
        try fm.copyItem(at: ToolsTests.root.appendingPathComponent("Sources"), to: copy.appendingPathComponent("Sources"))
        #expect(try check(copy).0 == 0)
        let metrics = copy.appendingPathComponent("Sources/CoresetKit/Learning/Metrics.swift")
        let original = try String(contentsOf: metrics, encoding: .utf8)
        try (original + "\nfunc isHuber(_ loss: Loss) -> Bool { loss == .huber }\n").write(to: metrics, atomically: true, encoding: .utf8)
        let (branched, branchedText) = try check(copy)
        #expect(branched == 1 && branchedText.contains("Metrics.swift"), "\(branchedText)")
        try original.write(to: metrics, atomically: true, encoding: .utf8)
        let unregistered = copy.appendingPathComponent("Sources/CoresetKit/Learning/AbsoluteLoss.swift")
        try "public enum AbsoluteLoss: LossFunction {}\nextension Loss {\n    public static let absolute = Loss(AbsoluteLoss.self)\n}\n"
            .write(to: unregistered, atomically: true, encoding: .utf8)
        let (missing, missingText) = try check(copy)
        #expect(missing == 1 && missingText.contains(".absolute is not listed in Loss.registered"), "\(missingText)")
    }
}
