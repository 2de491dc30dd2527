import Foundation
import Testing

/// Issue 27, part 1: `train --model mlp:H`, alone and in grids of widths.
@Suite struct NetworkTrainCLITests {
    static let mnistTrain = TuningCLITests.mnistTrain
    static let mnistTest = TuningCLITests.mnistTest
    static let adultTest = TuningCLITests.adultTest

    static func summary(_ s: String) -> [String: String] { TuningCLITests.summary(s) }
    static func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// A network trained by `train` scores far better than the untrained one (ln 10 = 2.30 for ten
    /// classes); its model file is a network bundle that eval and predict read.
    @Test func trainingANetworkLowersHoldoutLoss() throws {
        let model = CLI.temporaryFile("mlp.json", Data())
        let log = CLI.temporaryFile("mlp.log", Data())
        let r = try CLI.run(["train", Self.mnistTrain, "--model", "mlp:32", "--epochs", "4", "--eta0", "0.2", "--batch-size", "32",
                             "--holdout", Self.mnistTest, "--test", Self.mnistTest, "--model-out", model, "--progress-log", log])
        #expect(r.status == 0, "\(r.stderr)")
        let s = Self.summary(r.stdout)
        #expect(s["model"] == "mlp:32" && s["epochs"] == "4" && s["learner_steps"] == "\(4 * 32)")
        let testLoss = try #require(Double(s["test_loss"] ?? ""))
        #expect(testLoss < 0.6, "test loss \(testLoss)")
        #expect(Double(s["test_accuracy"]!)! > 0.8)
        // A line per epoch on stderr, and the holdout loss falls.
        let holdout = r.stderr.split(separator: "\n").filter { $0.hasPrefix("epoch ") }.map { line in
            Double(line.components(separatedBy: "holdout loss ")[1].prefix(8))!
        }
        #expect(holdout.count == 4 && holdout.last! < holdout.first!, "\(r.stderr)")
        #expect(try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").count == 4)
        let bundle = try JSONSerialization.jsonObject(with: Self.bytes(model)) as! [String: Any]
        #expect(bundle["network"] != nil && bundle["model"] == nil)
        let e = try CLI.run(["eval", "-q", "--model", model, Self.mnistTest])
        #expect(Self.summary(e.stdout)["eval_loss"] == s["test_loss"])
        let p = try CLI.run(["predict", "-q", "--model", model, Self.mnistTest])
        #expect(p.status == 0 && p.stdout.split(separator: "\n").count == 301)
        // One epoch at a tiny step learns little: the training above did the work.
        let barely = try CLI.run(["train", "-q", Self.mnistTrain, "--model", "mlp:32", "--epochs", "1", "--eta0", "1e-4",
                                  "--test", Self.mnistTest])
        #expect(Double(Self.summary(barely.stdout)["test_loss"]!)! > 2 * testLoss)
    }

    /// A grid of widths (| and a repeated --model) with a linear model: every setting trained, the
    /// table has a model column, the best is written, and it is the model a plain `train` gives.
    @Test func widthGridTrainsEverySettingAndWritesTheBest() throws {
        let model = CLI.temporaryFile("grid.json", Data())
        let table = CLI.temporaryFile("grid.tsv", Data())
        let r = try CLI.run(["train", Self.mnistTrain, "--model", "mlp:8|mlp:32", "--model", "linear", "--eta0", "0.02,0.2",
                             "--epochs", "3", "--batch-size", "32", "--holdout", Self.mnistTest, "--model-out", model, "--sweep-out", table])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try TuningCLITests.table(table)
        #expect(rows.count == 6)
        #expect(rows.map { $0["model"]! } == ["mlp:8", "mlp:8", "mlp:32", "mlp:32", "linear", "linear"])
        #expect(rows.map { $0["eta0"]! } == ["0.02", "0.2", "0.02", "0.2", "0.02", "0.2"])
        #expect(rows.allSatisfy { $0["loss"] == "softmax" })
        let losses = rows.map { Double($0["holdout_loss"]!)! }
        #expect(Set(losses).count == 6)
        let best = losses.firstIndex(of: losses.min()!)!
        #expect(rows.enumerated().allSatisfy { ($0.element["chosen"] == "1") == ($0.offset == best) })
        let s = Self.summary(r.stdout)
        #expect(s["chosen_setting"] == "\(best + 1)" && s["chosen_model"] == rows[best]["model"])
        #expect(r.stderr.contains("ranked by holdout log-loss"), "\(r.stderr)")
        #expect(r.stderr.contains("setting\tmodel\tloss\tl2") && r.stderr.contains("3/6\tmlp:32\tsoftmax\t1e-05\t0.02\t3\t"), "\(r.stderr)")

        let plain = CLI.temporaryFile("grid-plain.json", Data())
        let bestModel = rows[best]["model"]!
        let p = try CLI.run(["train", "-q", Self.mnistTrain, "--model", bestModel, "--eta0", rows[best]["eta0"]!, "--epochs", "3",
                             "--model-out", plain] + (bestModel == "linear" ? [] : ["--batch-size", "32"]))
        #expect(p.status == 0, "\(p.stderr)")
        #expect(try Self.bytes(model) == Self.bytes(plain))
        let e = try CLI.run(["eval", "-q", "--model", model, Self.mnistTest])
        #expect(Self.summary(e.stdout)["eval_loss"] == rows[best]["holdout_loss"])

        // Widths only: the networks' row on stderr and the best network written.
        let nets = try CLI.run(["train", "-q", Self.mnistTrain, "--model", "mlp:8|mlp:16,8", "--epochs", "2", "--holdout", Self.mnistTest,
                                "--model-out", model])
        #expect(nets.status == 0, "\(nets.stderr)")
        #expect(Self.summary(nets.stdout)["settings"] == "2")
        let chosenNet = try #require(Self.summary(nets.stdout)["chosen_model"])
        #expect(["mlp:8", "mlp:16,8"].contains(chosenNet))
        let plainNet = try CLI.run(["train", "-q", Self.mnistTrain, "--model", chosenNet, "--epochs", "2", "--model-out", plain])
        #expect(plainNet.status == 0, "\(plainNet.stderr)")
        #expect(try Self.bytes(model) == Self.bytes(plain))
        #expect((try JSONSerialization.jsonObject(with: Self.bytes(model)) as? [String: Any])?["network"] != nil)
    }

    /// --refit with a network setting trains it on all of the refit file: byte for byte the model of a
    /// plain `train --model mlp:H` on that file with the chosen setting.
    @Test func refitOfANetworkIsAPlainTrainOfTheRefitFile() throws {
        let select = try CLI.run(["select", "-q", "-k", "150", Self.mnistTrain])
        #expect(select.status == 0, "\(select.stderr)")
        let coreset = CLI.temporaryFile("mnist-coreset.svm", Data(select.stdout.utf8))
        let refitted = CLI.temporaryFile("mlp-refit.json", Data())
        let table = CLI.temporaryFile("mlp-refit.tsv", Data())
        let r = try CLI.run(["train", "-q", coreset, "--model", "mlp:8|mlp:24", "--l2", "1e-5,1e-3", "--eta0", "0.1", "--epochs", "2",
                             "--batch-size", "16", "--holdout", Self.mnistTest, "--refit", Self.mnistTrain, "--model-out", refitted,
                             "--sweep-out", table, "--test", Self.mnistTest])
        #expect(r.status == 0, "\(r.stderr)")
        let s = Self.summary(r.stdout)
        #expect(s["refit_records"] == "1000" && s["settings"] == "4")
        // The subset's l2 is scaled to the refit data's size, as for the linear model.
        let subsetCount = try #require(Double(s["records_accepted"] ?? ""))
        #expect(try TuningCLITests.table(table).allSatisfy { abs(Double($0["trained_l2"]!)! / Double($0["l2"]!)! - 1000.0 / subsetCount) < 1e-9 })
        let chosen = try #require(s["chosen_model"])
        let plain = CLI.temporaryFile("mlp-refit-plain.json", Data())
        let p = try CLI.run(["train", "-q", Self.mnistTrain, "--model", chosen, "--l2", s["chosen_l2"]!, "--eta0", "0.1", "--epochs", "2",
                             "--batch-size", "16", "--model-out", plain, "--test", Self.mnistTest])
        #expect(p.status == 0, "\(p.stderr)")
        #expect(try Self.bytes(refitted) == Self.bytes(plain))
        #expect(s["test_loss"] == Self.summary(p.stdout)["test_loss"])
        #expect(s["learner_steps"] == "\(2 * 63)", "1000 records in batches of 16: 63 steps a pass")
    }

    /// --halving applies to networks too: the best two again on a sample four times the input, then the refit.
    @Test func halvingWithNetworks() throws {
        let select = try CLI.run(["select", "-q", "-k", "40", Self.mnistTrain])
        #expect(select.status == 0, "\(select.stderr)")
        let coreset = CLI.temporaryFile("mnist-coreset40.svm", Data(select.stdout.utf8))
        let model = CLI.temporaryFile("mlp-halving.json", Data())
        let r = try CLI.run(["train", coreset, "--model", "mlp:8|mlp:16", "--eta0", "0.05,0.2", "--epochs", "1", "--batch-size", "16",
                             "--holdout", Self.mnistTest, "--refit", Self.mnistTrain, "--halving", "--model-out", model])
        #expect(r.status == 0, "\(r.stderr)")
        let s = Self.summary(r.stdout)
        let subset = try #require(Int(s["records_accepted"] ?? ""))
        #expect(s["halving_settings"] == "2" && s["halving_records"] == "\(4 * subset)", "\(r.stdout)")
        #expect(r.stderr.contains("train: halving: the best 2 settings again on a sample of \(4 * subset) refit records"), "\(r.stderr)")
        let chosen = try #require(s["chosen_model"])
        let plain = CLI.temporaryFile("mlp-halving-plain.json", Data())
        let p = try CLI.run(["train", "-q", Self.mnistTrain, "--model", chosen, "--eta0", s["chosen_eta0"]!, "--epochs", "1",
                             "--batch-size", "16", "--model-out", plain])
        #expect(p.status == 0, "\(p.stderr)")
        #expect(try Self.bytes(model) == Self.bytes(plain))
    }

    @Test func badModelListsAreUsageErrors() throws {
        let h = ["--holdout", Self.mnistTest]
        let cases: [([String], String)] = [
            (["train", Self.mnistTrain, "--model", "mlp:32|"] + h, "--model: model 2 of 'mlp:32|' is empty"),
            (["train", Self.mnistTrain, "--model", "mlp:0"], "--model: 'mlp:0' (model 1 of 'mlp:0') must be linear or mlp:HIDDEN"),
            (["train", Self.mnistTrain, "--model", "mlp:32,mlp:64"] + h, "list models with |"),
            (["train", Self.mnistTrain, "--model", "cnn"], "must be linear or mlp:HIDDEN"),
            (["train", Self.mnistTrain, "--model", "mlp:32|mlp:64", "--model", "mlp:32"] + h, "--model lists mlp:32 twice"),
            (["train", Self.mnistTrain, "--model", "mlp:32|mlp:64"], "a grid of 2 settings needs --holdout FILE"),
            (["train", Self.mnistTrain, "--model", "mlp:32", "--loss", "hinge"], "--loss chooses the linear model's loss"),
            (["train", Self.mnistTrain, "--model", "mlp:32", "--optimizer", "saga"], "--optimizer saga is for the linear model"),
            (["train", Self.mnistTrain, "--model", "mlp:32", "--regression"], "--model mlp is for classification"),
            (["train", Self.mnistTrain, "--batch-size", "16"], "--batch-size and --momentum go with --model mlp:HIDDEN"),
            (["train", Self.mnistTrain, "--model", "mlp:32", "--batch-size", "0"], "--batch-size must be at least 1"),
            (["train", Self.mnistTrain, "--model", "mlp:32", "--momentum", "1"], "--momentum must be in [0, 1)"),
        ]
        try CLI.expectUsageErrors(cases)
    }

    /// SIGINT during a grid of networks stops within the allowed time and writes the best finished setting.
    @Test func sigintDuringANetworkSweepWritesTheBestFinishedSetting() throws {
        let model = CLI.temporaryFile("mlp-interrupted.json", Data())
        try FileManager.default.removeItem(atPath: model)
        let r = try StopCLITests.stop(["train", Self.adultTest, "--model", "mlp:4", "--epochs", "1,2000", "--holdout", Self.adultTest,
                                       "--model-out", model], signal: SIGINT, after: 4)
        #expect(r.status == 130, "\(r.stderr)")
        #expect(r.seconds < StopCLITests.allowedSeconds, "took \(r.seconds) s")
        #expect(Self.summary(r.stdout)["settings_finished"] == "1", "\(r.stdout)")
        #expect(r.stderr.contains("train: interrupted after 1 of 2 settings; the best of those is setting 1, written to \(model)"), "\(r.stderr)")
        let bundle = try JSONSerialization.jsonObject(with: Self.bytes(model)) as! [String: Any]
        #expect(bundle["network"] != nil)
    }
}
