import Foundation
import Testing

/// Issue 27, part 1: `train` with value lists trains a grid, keeps the best by holdout loss, and
/// `--refit FILE...` trains the chosen setting on all of FILE.
@Suite struct TuningCLITests {
    static let adultTest = CLI.fixtures.appendingPathComponent("adult/adult.test.svm.zst").path
    static let mnistTrain = CLI.fixtures.appendingPathComponent("mnist/mnist.train1000.svm.zst").path
    static let mnistTest = CLI.fixtures.appendingPathComponent("mnist/mnist.test300.svm.zst").path

    /// A weighted coreset of 200 elements of adult.test (weights sum to 16,281), as a file.
    static func coresetFile() throws -> String {
        let r = try CLI.run(["select", "-q", "-k", "200", adultTest])
        #expect(r.status == 0, "\(r.stderr)")
        return CLI.temporaryFile("coreset.svm", Data(r.stdout.utf8))
    }

    static func summary(_ stdout: String) -> [String: String] {
        var values: [String: String] = [:]
        for line in stdout.split(separator: "\n") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            if f.count == 2 { values[String(f[0])] = String(f[1]) }
        }
        return values
    }

    static func table(_ path: String) throws -> [[String: String]] {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        let header = lines[0].split(separator: "\t").map(String.init)
        return lines.dropFirst().map { line in
            Dictionary(uniqueKeysWithValues: zip(header, line.split(separator: "\t").map(String.init)))
        }
    }

    /// One value per option is today's `train`: the summary and model of the code before the grid
    /// existed (pinned from that build, mnist fixture, 2 epochs).
    @Test func oneValueIsTodaysTrain() throws {
        let model = CLI.temporaryFile("one.json", Data())
        let r = try CLI.run(["train", "-q", Self.mnistTrain, "--l2", "1e-4", "--epochs", "2", "--holdout", Self.mnistTest,
                             "--test", Self.mnistTest, "--model-out", model])
        #expect(r.status == 0, "\(r.stderr)")
        let kept = r.stdout.split(separator: "\n").filter { !$0.hasPrefix("seconds\t") }.joined(separator: "\n")
        #expect(kept == """
            records_accepted\t1000
            records_skipped\t0
            task\tmulticlass
            epochs\t2
            learner_steps\t2000
            first_epoch_progressive_loss\t0.745938
            test_records\t300
            test_loss\t0.496960
            test_accuracy\t0.863333
            """)
        // No grid, no table: nothing of the sweep on stderr.
        #expect(!r.stderr.contains("settings"))
    }

    /// Every setting is trained and scored; the best by holdout loss is written, and it is the model
    /// a plain `train` with that setting gives (weights as read: there is no --refit).
    @Test func sweepTrainsEverySettingAndWritesTheBest() throws {
        let coreset = try Self.coresetFile()
        let model = CLI.temporaryFile("best.json", Data())
        let table = CLI.temporaryFile("sweep.tsv", Data())
        let log = CLI.temporaryFile("sweep.log", Data())
        let r = try CLI.run(["train", coreset, "--l2", "1e-6,1e-3", "--l2", "1e-1", "--eta0", "0.0005,0.005", "--epochs", "2",
                             "--holdout", Self.adultTest, "--model-out", model, "--sweep-out", table, "--progress-log", log])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try Self.table(table)
        #expect(rows.count == 6)
        // l2 varies fastest; every setting is there once.
        #expect(rows.map { $0["l2"]! } == ["1e-06", "0.001", "0.1", "1e-06", "0.001", "0.1"])
        #expect(rows.map { $0["eta0"]! } == ["0.0005", "0.0005", "0.0005", "0.005", "0.005", "0.005"])
        let losses = rows.map { Double($0["holdout_loss"]!)! }
        #expect(Set(losses).count > 1, "the settings should not all give the same model")
        let best = losses.firstIndex(of: losses.min()!)!
        #expect(rows.enumerated().allSatisfy { ($0.element["chosen"] == "1") == ($0.offset == best) })
        let s = Self.summary(r.stdout)
        #expect(s["settings"] == "6" && s["settings_finished"] == "6")
        #expect(s["chosen_setting"] == "\(best + 1)")
        #expect(s["chosen_l2"] == rows[best]["l2"] && s["chosen_eta0"] == rows[best]["eta0"])
        #expect(s["chosen_holdout_loss"] == rows[best]["holdout_loss"])
        // The table on stderr, one line per setting; one progress-log row per setting.
        #expect(r.stderr.contains("1/6\tlogistic\t1e-06\t0.0005\t2\t"))
        #expect(r.stderr.contains("train: chose setting \(best + 1)"))
        #expect(try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").count == 6)

        let plain = CLI.temporaryFile("plain.json", Data())
        let p = try CLI.run(["train", "-q", coreset, "--l2", rows[best]["l2"]!, "--eta0", rows[best]["eta0"]!, "--epochs", "2", "--model-out", plain])
        #expect(p.status == 0, "\(p.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == Data(contentsOf: URL(fileURLWithPath: plain)))
        // The model written scores on the holdout what the table says.
        let e = try CLI.run(["eval", "-q", "--model", model, Self.adultTest])
        #expect(Self.summary(e.stdout)["eval_loss"] == rows[best]["holdout_loss"])
    }

    /// --refit trains the chosen setting on the refit file: the model differs from the one chosen on
    /// the coreset and is byte for byte a plain `train` of that file with the chosen setting. The
    /// coreset is trained with mean-1 weights and l2 x (refit records / coreset records).
    @Test func refitTrainsTheChosenSettingOnAllTheData() throws {
        let coreset = try Self.coresetFile()
        let grid = ["--l2", "1e-6,1e-4,1e-2", "--eta0", "0.05,0.2", "--epochs", "2", "--holdout", Self.adultTest]
        let refitted = CLI.temporaryFile("refit.json", Data())
        let table = CLI.temporaryFile("refit.tsv", Data())
        let r = try CLI.run(["train", "-q", coreset] + grid + ["--refit", Self.adultTest, "--model-out", refitted, "--sweep-out", table,
                                                              "--test", Self.adultTest])
        #expect(r.status == 0, "\(r.stderr)")
        let s = Self.summary(r.stdout)
        #expect(s["refit_records"] == "16281")
        #expect(s["l2_scale"] == "81.405000")
        for row in try Self.table(table) {
            #expect(abs(Double(row["trained_l2"]!)! / Double(row["l2"]!)! - 16281.0 / 200) < 1e-9)
        }
        let plain = CLI.temporaryFile("plain-refit.json", Data())
        let p = try CLI.run(["train", "-q", Self.adultTest, "--l2", s["chosen_l2"]!, "--eta0", s["chosen_eta0"]!, "--epochs", "2",
                             "--model-out", plain, "--test", Self.adultTest])
        #expect(p.status == 0, "\(p.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: refitted)) == Data(contentsOf: URL(fileURLWithPath: plain)))
        #expect(s["test_loss"] == Self.summary(p.stdout)["test_loss"])

        let subsetOnly = CLI.temporaryFile("subset.json", Data())
        let q = try CLI.run(["train", "-q", coreset] + grid + ["--model-out", subsetOnly])
        #expect(q.status == 0, "\(q.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: refitted)) != Data(contentsOf: URL(fileURLWithPath: subsetOnly)))

        // --no-l2-scaling trains the listed values as they are.
        let table2 = CLI.temporaryFile("refit2.tsv", Data())
        let n = try CLI.run(["train", "-q", coreset] + grid + ["--refit", Self.adultTest, "--no-l2-scaling", "--sweep-out", table2])
        #expect(n.status == 0, "\(n.stderr)")
        #expect(try Self.table(table2).allSatisfy { $0["trained_l2"] == $0["l2"] })
    }

    /// With --refit, successive halving (on by default) trains the best quarter of the grid (at least 2)
    /// again on a sample of the refit data four times the input's size, chooses there, and refits that
    /// choice; --no-halving refits the first stage's choice.
    @Test func halvingRetrainsTheBestQuarterOnALargerSample() throws {
        let coreset = try Self.coresetFile()
        let table = CLI.temporaryFile("halving.tsv", Data())
        let model = CLI.temporaryFile("halving.json", Data())
        let r = try CLI.run(["train", coreset, "--l2", "1e-6,1e-4,1e-2", "--eta0", "0.05,0.2", "--epochs", "2", "--holdout", Self.adultTest,
                             "--refit", Self.adultTest, "--sweep-out", table, "--model-out", model])
        #expect(r.status == 0, "\(r.stderr)")
        let s = Self.summary(r.stdout)
        #expect(s["halving_settings"] == "2" && s["halving_records"] == "800")
        #expect(r.stderr.contains("train: halving: the best 2 settings again on a sample of 800 refit records, l2 trained at 20.351x"), "\(r.stderr)")
        // The second stage's settings are the first stage's best two.
        let rows = try Self.table(table).sorted { Double($0["holdout_loss"]!)! < Double($1["holdout_loss"]!)! }
        let topTwo = Set(rows.prefix(2).map { $0["setting"]! })
        #expect(s["first_stage_setting"] == rows[0]["setting"])
        #expect(topTwo.contains(s["chosen_setting"]!))
        let plain = CLI.temporaryFile("halving-plain.json", Data())
        let p = try CLI.run(["train", "-q", Self.adultTest, "--l2", s["chosen_l2"]!, "--eta0", s["chosen_eta0"]!, "--epochs", "2", "--model-out", plain])
        #expect(p.status == 0, "\(p.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == Data(contentsOf: URL(fileURLWithPath: plain)))
        let explicit = try CLI.run(["train", "-q", coreset, "--l2", "1e-6,1e-4,1e-2", "--eta0", "0.05,0.2", "--epochs", "2",
                                    "--holdout", Self.adultTest, "--refit", Self.adultTest, "--halving"])
        #expect(Self.summary(explicit.stdout)["chosen_setting"] == s["chosen_setting"])
        // --no-halving: no second stage; the first stage's best is refitted.
        let off = try CLI.run(["train", "-q", coreset, "--l2", "1e-6,1e-4,1e-2", "--eta0", "0.05,0.2", "--epochs", "2",
                               "--holdout", Self.adultTest, "--refit", Self.adultTest, "--no-halving"])
        #expect(off.status == 0, "\(off.stderr)")
        let o = Self.summary(off.stdout)
        #expect(o["halving_settings"] == nil && o["first_stage_setting"] == nil)
        #expect(o["chosen_setting"] == rows[0]["setting"])
        // A sample four times the input that would be most of the refit data: the stage is skipped, said on stderr.
        let big = try CLI.run(["select", "-q", "-k", "2500", Self.adultTest])
        let bigCoreset = CLI.temporaryFile("big.svm", Data(big.stdout.utf8))
        let skipped = try CLI.run(["train", bigCoreset, "--l2", "1e-6,1e-4", "--epochs", "1", "--holdout", Self.adultTest,
                                   "--refit", Self.adultTest, "--halving"])
        #expect(skipped.status == 0, "\(skipped.stderr)")
        #expect(skipped.stderr.contains("train: halving skipped"), "\(skipped.stderr)")
        #expect(Self.summary(skipped.stdout)["halving_settings"] == nil)
    }

    /// A grid may list losses; then settings are ranked by holdout error rate (a hinge loss and a log-loss
    /// are not comparable numbers).
    @Test func gridOfLossesIsRankedByErrorRate() throws {
        let r = try CLI.run(["train", Self.mnistTrain, "--loss", "softmax", "--l2", "1e-5,1e-2", "--epochs", "1,2", "--holdout", Self.mnistTest])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Self.summary(r.stdout)["settings"] == "4")
        #expect(r.stderr.contains("ranked by holdout loss"))
        let mixed = try CLI.run(["train", "-q", Self.adultTest, "--loss", "logistic,hinge", "--epochs", "1", "--holdout", Self.adultTest])
        #expect(mixed.status == 0, "\(mixed.stderr)")
        #expect(Self.summary(mixed.stdout)["settings"] == "2")
        let v = try CLI.run(["train", Self.adultTest, "--loss", "logistic,hinge", "--epochs", "1", "--holdout", Self.adultTest])
        #expect(v.stderr.contains("ranked by holdout error rate"))
    }

    @Test func badListsAreUsageErrors() throws {
        let cases: [([String], String)] = [
            (["train", Self.adultTest, "--l2", "1e-5,1e-4"], "a grid of 2 settings needs --holdout FILE"),
            (["train", Self.adultTest, "--l2", "1e-5,x", "--holdout", Self.adultTest], "--l2: 'x' (value 2 of '1e-5,x') must be a non-negative number"),
            (["train", Self.adultTest, "--l2", "1e-5,-1", "--holdout", Self.adultTest], "--l2: '-1' (value 2 of '1e-5,-1') must be a non-negative number"),
            (["train", Self.adultTest, "--eta0", "0.1,,0.2", "--holdout", Self.adultTest], "--eta0: value 2 of '0.1,,0.2' is empty"),
            (["train", Self.adultTest, "--eta0", "0.1,0", "--holdout", Self.adultTest], "must be a positive number"),
            (["train", Self.adultTest, "--epochs", "2,0", "--holdout", Self.adultTest], "--epochs: '0' (value 2 of '2,0') must be a whole number of at least 1"),
            (["train", Self.adultTest, "--loss", "logistic,cubic", "--holdout", Self.adultTest], "must be logistic, softmax, squared, hinge, huber or squared-hinge"),
            (["train", Self.adultTest, "--l2", "1e-5,1e-4", "--l2", "1e-5", "--holdout", Self.adultTest], "--l2 lists 1e-05 twice"),
            (["train", Self.adultTest, "--no-l2-scaling"], "--no-l2-scaling goes with --refit"),
            (["train", Self.adultTest, "--halving"], "--halving goes with --refit"),
            (["train", Self.adultTest, "--no-halving"], "--no-halving goes with --refit"),
            (["train", "--l2", "1e-5,1e-4", "--holdout", Self.adultTest, "--refit", "-"], "--refit - and the input both read stdin"),
            (["train", Self.adultTest, "--sweep-out", "/tmp/x.tsv"], "--sweep-out goes with a grid"),
            (["run", Self.adultTest, "--eta0", "0.1,0.2"], "run takes one value for --loss, --l2 and --eta0"),
        ]
        try CLI.expectUsageErrors(cases)
    }

    /// The input through stdin (a pipe from `select`) while the refit files are read beside it: the same
    /// choice and model as from a file, and a bad refit file is still the error it was.
    @Test func aPipedInputGivesTheModelOfTheSameFile() throws {
        let coreset = try Self.coresetFile()
        let grid = ["--l2", "1e-6,1e-4,1e-2", "--eta0", "0.05,0.2", "--epochs", "2", "--holdout", Self.adultTest]
        let fromFile = CLI.temporaryFile("from-file.json", Data()), fromPipe = CLI.temporaryFile("from-pipe.json", Data())
        let a = try CLI.run(["train", "-q", coreset] + grid + ["--refit", Self.adultTest, "--halving", "--model-out", fromFile])
        let b = try CLI.run(["train", "-q", "-"] + grid + ["--refit", Self.adultTest, "--halving", "--model-out", fromPipe],
                            stdin: Data(contentsOf: URL(fileURLWithPath: coreset)))
        #expect(a.status == 0 && b.status == 0, "\(a.stderr)\(b.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: fromFile)) == Data(contentsOf: URL(fileURLWithPath: fromPipe)))
        let timeless = { (s: [String: String]) in s.filter { !$0.key.hasSuffix("seconds") } }
        #expect(timeless(Self.summary(a.stdout)) == timeless(Self.summary(b.stdout)))
        #expect(Self.summary(b.stdout)["refit_records"] == "16281")
        let garbage = CLI.temporaryFile("garbage-piped.svm", Data("not a record\nnor this\n".utf8))
        let bad = try CLI.run(["train", "-q", "-"] + grid + ["--refit", garbage], stdin: Data(contentsOf: URL(fileURLWithPath: coreset)))
        #expect(bad.status == 65, "\(bad.stderr)")
        #expect(bad.stderr.contains("--refit: no record accepted"), "\(bad.stderr)")
    }

    @Test func badRefitFilesAreErrors() throws {
        let coreset = try Self.coresetFile()
        let grid = ["--l2", "1e-6,1e-4", "--epochs", "1", "--holdout", Self.adultTest]
        let model = CLI.temporaryFile("none.json", Data("old".utf8))
        let missing = try CLI.run(["train", "-q", coreset] + grid + ["--refit", "/nonexistent/refit.svm", "--model-out", model])
        #expect(missing.status == 74, "\(missing.stderr)")
        #expect(missing.stderr.contains("/nonexistent/refit.svm"))
        let garbage = CLI.temporaryFile("garbage.svm", Data("not a record\nnor this\n".utf8))
        let bad = try CLI.run(["train", "-q", coreset] + grid + ["--refit", garbage, "--model-out", model])
        #expect(bad.status == 65, "\(bad.stderr)")
        #expect(bad.stderr.contains("--refit: no record accepted"), "\(bad.stderr)")
        // An empty input has nothing to choose with.
        let empty = CLI.temporaryFile("empty.svm", Data())
        let none = try CLI.run(["train", "-q", empty] + grid + ["--refit", Self.adultTest, "--model-out", model])
        #expect(none.status == 65, "\(none.stderr)")
        #expect(none.stderr.contains("\(empty): no records: a grid or --refit chooses by training on the input, which is empty"), "\(none.stderr)")
        // A failed run leaves the old model file alone.
        #expect(try String(contentsOfFile: model, encoding: .utf8) == "old")
    }

    /// SIGINT during a sweep stops within the allowed time and writes the best of the finished settings:
    /// the first setting (1 epoch) is done within the wait, the second (400 epochs) takes minutes.
    @Test func sigintDuringASweepWritesTheBestFinishedSetting() throws {
        let model = CLI.temporaryFile("interrupted.json", Data())
        try FileManager.default.removeItem(atPath: model)
        let r = try StopCLITests.stop(["train", Self.adultTest, "--epochs", "1,400", "--holdout", Self.adultTest, "--model-out", model],
                                      signal: SIGINT, after: 4)
        #expect(r.status == 130, "\(r.stderr)")
        #expect(r.seconds < StopCLITests.allowedSeconds, "took \(r.seconds) s")
        #expect(Self.summary(r.stdout)["settings_finished"] == "1", "\(r.stdout)")
        #expect(r.stderr.contains("train: interrupted after 1 of 2 settings; the best of those is setting 1, written to \(model)"), "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: model))
    }

    /// Interrupted before any setting finished: no model, said on stderr.
    @Test func sigintBeforeAnySettingFinishedWritesNoModel() throws {
        let model = CLI.temporaryFile("never.json", Data())
        try FileManager.default.removeItem(atPath: model)
        let r = try StopCLITests.stop(["train", Self.adultTest, "--epochs", "400,401", "--holdout", Self.adultTest, "--model-out", model],
                                      signal: SIGINT, after: 2)
        #expect(r.status == 130, "\(r.stderr)")
        #expect(r.seconds < StopCLITests.allowedSeconds, "took \(r.seconds) s")
        #expect(r.stderr.contains("interrupted before any setting finished: no model written"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: model))
    }
}
