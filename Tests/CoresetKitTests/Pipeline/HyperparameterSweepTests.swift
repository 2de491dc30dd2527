import Testing
@testable import CoresetKit

/// Issue 27, part 1: the sweep engine behind `train`'s grids.
@Suite struct HyperparameterSweepTests {
    // One teacher (one seed) for both parts.
    static let all = syntheticRecords(900, dimension: 30, nnz: 6, loss: .logistic, seed: 11)
    static let train = Array(all[..<600])
    static let holdout = Array(all[600...])

    static func setting(l2: Double, eta0: Double, epochs: Int = 2, loss: Loss = .logistic, steps: Int = 1200) -> SweepSetting {
        SweepSetting(configuration: LearnerConfiguration(task: .binary, loss: loss, l2: l2,
                                                         schedule: .exponential(eta0: eta0, rate: 0.01, every: steps)), epochs: epochs)
    }

    /// Each setting's model is the one `EpochTrainer` gives alone, and the best by holdout loss is kept.
    @Test func everySettingIsTrainedAndTheBestKept() {
        let settings = [Self.setting(l2: 1e-4, eta0: 0.0001, epochs: 5), Self.setting(l2: 1e-4, eta0: 0.02, epochs: 5), Self.setting(l2: 5, eta0: 0.02, epochs: 5)]
        let sweep = HyperparameterSweep(settings: settings, trainer: EpochTrainer(records: Self.train), holdout: Self.holdout, seed: 7)
        var seen: [Int] = []
        let outcome = sweep.run(clock: { 0 }) { seen.append($0.index) }
        #expect(seen == [0, 1, 2])
        #expect(!outcome.interrupted)
        let losses = outcome.rows.map(\.holdout.loss)
        #expect(Set(losses).count == 3)
        let best = losses.firstIndex(of: losses.min()!)!
        #expect(outcome.bestRow == best)
        // A tiny step learns little; a huge l2 keeps weights near zero: the middle setting wins.
        #expect(best == 1, "\(losses)")
        for (i, s) in settings.enumerated() {
            var alone = Learner(configuration: s.configuration)
            _ = EpochTrainer(records: Self.train).train(&alone, epochs: s.epochs, seed: 7)
            #expect(alone.evaluate(Self.holdout).loss == losses[i])
            if i == best { #expect(alone.modelFile() == outcome.bestLearner!.modelFile()) }
        }
    }

    /// Ties keep the earlier setting; without holdout records (NaN scores) the first setting is kept.
    @Test func tiesAndNoHoldoutKeepTheEarlierSetting() {
        let same = [Self.setting(l2: 1e-3, eta0: 0.1), Self.setting(l2: 1e-3, eta0: 0.1)]
        let tie = HyperparameterSweep(settings: same, trainer: EpochTrainer(records: Self.train), holdout: Self.holdout, seed: 1).run(clock: { 0 })
        #expect(tie.rows.count == 2 && tie.rows[0].score == tie.rows[1].score && tie.bestRow == 0)
        let none = HyperparameterSweep(settings: [Self.setting(l2: 1e-3, eta0: 0.1), Self.setting(l2: 1e-2, eta0: 0.1)],
                                       trainer: EpochTrainer(records: Self.train), holdout: [], seed: 1).run(clock: { 0 })
        #expect(none.rows.allSatisfy { $0.score.isNaN } && none.bestRow == 0)
    }

    /// A grid of different losses ranks by error rate, not by the incomparable loss values.
    @Test func mixedLossesRankByErrorRate() {
        let sweep = HyperparameterSweep(settings: [Self.setting(l2: 1e-4, eta0: 0.1, loss: .logistic), Self.setting(l2: 1e-4, eta0: 0.1, loss: .hinge)],
                                        trainer: EpochTrainer(records: Self.train), holdout: Self.holdout, seed: 3)
        #expect(sweep.mixesLosses)
        let outcome = sweep.run(clock: { 0 })
        for row in outcome.rows { #expect(row.score == 1 - row.holdout.accuracy) }
    }

    /// Regression losses have no accuracy: a grid of squared and Huber ranks by holdout squared error
    /// (it ranked by NaN, so the first setting always won, when Huber came).
    @Test func mixedRegressionLossesRankBySquaredError() {
        let records = syntheticRecords(900, dimension: 30, nnz: 6, loss: .squared, seed: 12)
        let settings = [(Loss.squared, 0.001), (Loss.huber, 0.05)].map { loss, eta0 in
            SweepSetting(configuration: LearnerConfiguration(task: .regression, loss: loss, l2: 1e-4,
                                                             schedule: .exponential(eta0: eta0, rate: 0.01, every: 1200)), epochs: 2)
        }
        let sweep = HyperparameterSweep(settings: settings, trainer: EpochTrainer(records: Array(records[..<600])),
                                        holdout: Array(records[600...]), seed: 3)
        let outcome = sweep.run(clock: { 0 })
        for row in outcome.rows { #expect(!row.score.isNaN && row.score == row.holdout.squaredError) }
        // The tiny step leaves squared loss far from the fit: Huber's setting wins.
        #expect(outcome.rows[1].score < outcome.rows[0].score && outcome.bestRow == 1)
    }

    /// Mean-one weights: scaling every weight by n / Σω is the same training as records whose weights
    /// were rescaled by hand, and scale 1 is `learn` with the record's own weight.
    @Test func weightScaleIsTheSameAsRescaledRecords() {
        let records = Self.train.map { r -> Record in var r = r; r.weight *= 80; return r }
        let scale = EpochTrainer.meanOneScale(records)
        #expect(abs(scale * records.reduce(0) { $0 + $1.weight } - Double(records.count)) < 1e-6)
        let config = Self.setting(l2: 1e-4, eta0: 0.1).configuration
        var scaled = Learner(configuration: config)
        _ = EpochTrainer(records: records, weightScale: scale).train(&scaled, epochs: 1, seed: 5)
        var byHand = Learner(configuration: config)
        let rescaled = records.map { r -> Record in var r = r; r.weight *= scale; return r }
        _ = EpochTrainer(records: rescaled).train(&byHand, epochs: 1, seed: 5)
        #expect(scaled.modelFile() == byHand.modelFile())
        var raw = Learner(configuration: config)
        _ = EpochTrainer(records: records).train(&raw, epochs: 1, seed: 5)
        #expect(raw.modelFile() != scaled.modelFile())
    }

    /// The listed l2 is what the table and a refit see; the configuration trains with the scaled one.
    @Test func listedL2IsKeptBesideTheTrainedOne() {
        let s = SweepSetting(configuration: LearnerConfiguration(task: .binary, l2: 1e-3), epochs: 1, listedL2: 1e-5)
        #expect(s.l2 == 1e-5 && s.trainedL2 == 1e-3)
        #expect(SweepSetting(configuration: LearnerConfiguration(task: .binary, l2: 1e-3), epochs: 1).l2 == 1e-3)
    }
}
