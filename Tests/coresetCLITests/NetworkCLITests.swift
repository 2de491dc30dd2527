import Foundation
import Testing

@Suite struct NetworkCLITests {
    static let train = CLI.fixtures.appendingPathComponent("mnist/mnist.train1000.svm.zst").path
    static let test = CLI.fixtures.appendingPathComponent("mnist/mnist.test300.svm.zst").path

    static func value(_ name: String, in stdout: String) -> String? {
        stdout.split(separator: "\n").first { $0.hasPrefix(name + "\t") }.map { String($0.split(separator: "\t")[1]) }
    }

    @Test func runMlpThenPredictAndEvalAgree() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("coreset-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let model = dir.appendingPathComponent("mlp.json").path
        let r = try CLI.run(["run", "--model", "mlp:24,12", "--batch-size", "32", "--subsets", "2", "--subset-size", "96",
                             "--final-epochs", "8", "--eta0", "0.1", "--holdout", Self.test, "--test", Self.test,
                             "--model-out", model, Self.train])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Self.value("records_accepted", in: r.stdout) == "1000")
        #expect(Self.value("model", in: r.stdout) == "mlp:24,12")
        // Progress: streaming rows at doubling counts, then one row per final epoch, with the holdout.
        #expect(r.stderr.contains("\n512 ") || r.stderr.contains(" 512 "))
        #expect(r.stderr.contains("epoch      8.00"))
        let accuracy = try #require(Self.value("test_accuracy", in: r.stdout).flatMap(Double.init))
        #expect(accuracy > 0.7, "test accuracy \(accuracy)")

        let e = try CLI.run(["eval", "--model", model, Self.test])
        #expect(e.status == 0, "\(e.stderr)")
        #expect(Self.value("eval_accuracy", in: e.stdout) == Self.value("test_accuracy", in: r.stdout))
        #expect(Self.value("eval_loss", in: e.stdout) == Self.value("test_loss", in: r.stdout))

        let p = try CLI.run(["predict", "--model", model, Self.test])
        #expect(p.status == 0, "\(p.stderr)")
        var rows = p.stdout.split(separator: "\n")
        #expect(rows.removeFirst().split(separator: "\t").count == 11)  // header: predicted, then the 10 classes
        #expect(rows.count == 300)
        let fields = rows[0].split(separator: "\t")
        #expect(fields.count == 11)  // label, then 10 probabilities
        let probabilities = fields.dropFirst().map { Double($0)! }
        #expect(abs(probabilities.reduce(0, +) - 1) < 1e-4)
        // The predicted label is the most probable class.
        #expect(Int(fields[0]) == probabilities.indices.max { probabilities[$0] < probabilities[$1] })

        // Resume continues the saved network (its label mapping, shapes and optimizer clock).
        let resumed = try CLI.run(["run", "-q", "--model", "mlp:24,12", "--resume", model, "--final-epochs", "1",
                                   "--batch-size", "32", "--subsets", "2", "--subset-size", "96", "--test", Self.test, Self.test])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let after = try #require(Self.value("test_accuracy", in: resumed.stdout).flatMap(Double.init))
        #expect(after > 0.7)
    }

    @Test func badModelSpecAndMismatchedResumeAreUsageErrors() throws {
        let bad = try CLI.run(["run", "--model", "mlp:12,x", Self.test])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("mlp:HIDDEN"))
        let zero = try CLI.run(["run", "--model", "mlp:0", Self.test])
        #expect(zero.status == 64)
        let regression = try CLI.run(["run", "-q", "--model", "mlp:8", "--regression", Self.test])
        #expect(regression.status == 64)
        #expect(regression.stderr.contains("classification"))
        let state = try CLI.run(["run", "-q", "--model", "mlp:8", "--state", FileManager.default.temporaryDirectory.appendingPathComponent("coreset-mlp-state-\(UUID().uuidString)").path, Self.test])
        #expect(state.status == 64)
        #expect(state.stderr.contains("--state is not available"))
        // A linear model file cannot be resumed as a network (and the message says what it holds).
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("coreset-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let linear = dir.appendingPathComponent("linear.json").path
        let l = try CLI.run(["run", "-q", "--mode", "online-only", "--model-out", linear, Self.test])
        #expect(l.status == 0, "\(l.stderr)")
        let mismatched = try CLI.run(["run", "-q", "--model", "mlp:8", "--resume", linear, Self.test])
        #expect(mismatched.status == 64)
        #expect(mismatched.stderr.contains("holds a linear model"))
    }

    @Test func cachedMinibatchesSkipFittedRecordsByDefault() throws {
        let r = try CLI.run(["run", "-q", "--model", "mlp:16", "--minibatches", "cached", "--batch-size", "32", "--subset-size", "96",
                             "--final-epochs", "3", "--test", Self.test, Self.train])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Self.value("minibatches", in: r.stdout) == "cached")
        #expect(Self.value("records_pruned", in: r.stdout) == "0", "cached prunes nothing unless asked")
        #expect(Self.value("loss_checks", in: r.stdout) == "0")
        let skipped = try #require(Self.value("backward_skipped", in: r.stdout).flatMap(Int.init))
        #expect(skipped > 0, "3 passes over 1,000 records leave some fitted")
        // The skip and the drops can be turned off; then nothing is skipped.
        let off = try CLI.run(["run", "-q", "--model", "mlp:16", "--minibatches", "cached", "--batch-size", "32", "--subset-size", "96",
                               "--final-epochs", "1", "--skip-fitted", "0", "--no-drop-learned", Self.train])
        #expect(off.status == 0, "\(off.stderr)")
        #expect(Self.value("backward_skipped", in: off.stdout) == "0")
        #expect(Self.value("dropped_learned", in: off.stdout) == "0")
        let bad = try CLI.run(["run", "-q", "--model", "mlp:8", "--skip-fitted", "-1", Self.train])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("--skip-fitted"))
    }

    @Test func sampledIsTheDefaultItPrunesAndSamplesBackwardPassesAndStillLearns() throws {
        // The default: no skip and no drops, so whatever is skipped is the sampler's doing.
        let r = try CLI.run(["run", "-q", "--model", "mlp:16", "--batch-size", "32", "--final-epochs", "3", "--test", Self.test, Self.train])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Self.value("minibatches", in: r.stdout) == "sampled")
        #expect(Self.value("selections", in: r.stdout) == "0" && Self.value("dropped_learned", in: r.stdout) == "0")
        let pruned = try #require(Self.value("records_pruned", in: r.stdout).flatMap(Int.init))
        #expect(pruned > 0, "after the first pass, records below the mean cached loss are pruned")
        let steps = try #require(Self.value("learner_steps", in: r.stdout).flatMap(Int.init))
        let skipped = try #require(Self.value("backward_skipped", in: r.stdout).flatMap(Int.init))
        // At most half the backward passes of the records forwarded are taken on average (factor 2).
        #expect(skipped > (steps * 32 - pruned) / 3, "skipped \(skipped) of about \(steps * 32 - pruned)")
        let accuracy = try #require(Self.value("test_accuracy", in: r.stdout).flatMap(Double.init))
        #expect(accuracy > 0.6, "test accuracy \(accuracy)")
        // Both can be turned off: then every record of every step is forwarded and backpropagated.
        let off = try CLI.run(["run", "-q", "--model", "mlp:16", "--batch-size", "32", "--final-epochs", "1",
                               "--sample-backward", "0", "--prune-rate", "0", Self.train])
        #expect(off.status == 0, "\(off.stderr)")
        #expect(Self.value("backward_skipped", in: off.stdout) == "0" && Self.value("records_pruned", in: off.stdout) == "0")
        // Proportional pruning instead: it leaves out more (weights up to 10).
        let proportional = try CLI.run(["run", "-q", "--model", "mlp:16", "--batch-size", "32", "--final-epochs", "3",
                                        "--prune-factor", "2", Self.train])
        #expect(proportional.status == 0, "\(proportional.stderr)")
        let proportionalPruned = try #require(Self.value("records_pruned", in: proportional.stdout).flatMap(Int.init))
        #expect(proportionalPruned > pruned, "proportional \(proportionalPruned), InfoBatch \(pruned)")
        let both = try CLI.run(["run", "-q", "--model", "mlp:8", "--prune-rate", "0.5", "--prune-factor", "2", Self.train])
        #expect(both.status == 64 && both.stderr.contains("give one"), "\(both.stderr)")
        for (option, value) in [("--sample-backward", "0.5"), ("--prune-rate", "1"), ("--prune-factor", "-1")] {
            let bad = try CLI.run(["run", "-q", "--model", "mlp:8", option, value, Self.train])
            #expect(bad.status == 64)
            #expect(bad.stderr.contains(option))
        }
    }
}
