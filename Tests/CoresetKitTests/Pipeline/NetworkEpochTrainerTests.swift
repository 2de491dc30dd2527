import Testing
@testable import CoresetKit

/// Issue 27, part 1: `train --model mlp:H`, a network trained over in-memory weighted records.
@Suite struct NetworkEpochTrainerTests {
    static let all = syntheticRecords(1200, dimension: 20, nnz: 8, loss: .softmax, classes: 3, seed: 5)
    static let train = Array(all[..<900])
    static let holdout = Array(all[900...])

    static func configuration(eta0: Double, l2: Double = 1e-5, steps: Int) -> LearnerConfiguration {
        LearnerConfiguration(task: .multiclass, loss: .softmax, l2: l2, schedule: .exponential(eta0: eta0, rate: 0.01, every: steps))
    }

    /// Training lowers the holdout loss well below the untrained network's (same seed, same start).
    @Test func trainingLowersHoldoutLoss() {
        let shape = NetworkShape(hidden: [16], batchSize: 32)
        let trainer = NetworkEpochTrainer(records: Self.train)
        let config = Self.configuration(eta0: 0.1, steps: shape.totalSteps(records: Self.train.count, epochs: 8))
        let untrained = trainer.start(shape, configuration: config, seed: 3).network.evaluate(Self.holdout)
        var epochLosses: [Double] = []
        let outcome = trainer.train(shape, configuration: config, epochs: 8, seed: 3) { _, loss, _ in epochLosses.append(loss) }
        let trained = outcome.trained.network.evaluate(Self.holdout)
        #expect(!outcome.interrupted && outcome.epochsCompleted == 8)
        #expect(outcome.trained.optimizer.stepCount == 8 * 29, "900 records in batches of 32: 29 steps a pass")
        #expect(trained.loss < 0.6 * untrained.loss, "untrained \(untrained.loss), trained \(trained.loss)")
        #expect(trained.accuracy > untrained.accuracy + 0.2, "untrained \(untrained.accuracy), trained \(trained.accuracy)")
        #expect(epochLosses.count == 8 && epochLosses.last! < epochLosses.first!)
        #expect(outcome.firstEpochProgressive.total.count == 900)
        // Deterministic from the seed; another seed starts elsewhere.
        #expect(trainer.train(shape, configuration: config, epochs: 8, seed: 3).trained.network == outcome.trained.network)
        #expect(trainer.train(shape, configuration: config, epochs: 8, seed: 4).trained.network != outcome.trained.network)
    }

    /// A record of weight 3 trains like three copies of it. With the whole data in one batch the sums
    /// are the same up to float rounding (the shuffled order changes the summation order); weight 1
    /// instead of 3 gives another network, so the weight is used.
    @Test func aRecordOfWeightThreeTrainsLikeThreeCopies() {
        let base = Array(Self.train[..<60]).map { r -> Record in
            var r = r
            r.weight = 1
            return r
        }
        var weighted = base
        var copies = base
        for i in stride(from: 0, to: base.count, by: 4) {
            weighted[i].weight = 3
            copies.append(base[i])
            copies.append(base[i])
        }
        let shape = NetworkShape(hidden: [8], batchSize: 1000)
        let config = Self.configuration(eta0: 0.2, steps: 40)
        let a = NetworkEpochTrainer(records: weighted).train(shape, configuration: config, epochs: 40, seed: 9).trained.network
        let b = NetworkEpochTrainer(records: copies).train(shape, configuration: config, epochs: 40, seed: 9).trained.network
        let c = NetworkEpochTrainer(records: base).train(shape, configuration: config, epochs: 40, seed: 9).trained.network
        func distance(_ x: NeuralNetwork, _ y: NeuralNetwork) -> Float {
            var d: Float = 0
            for l in 0..<x.layerCount {
                for (p, q) in zip(x.weights[l], y.weights[l]) { d = max(d, abs(p - q)) }
                for (p, q) in zip(x.biases[l], y.biases[l]) { d = max(d, abs(p - q)) }
            }
            return d
        }
        #expect(distance(a, b) < 1e-4, "weight 3 vs three copies: \(distance(a, b))")
        #expect(distance(a, c) > 100 * max(distance(a, b), 1e-6), "weight 3 vs weight 1: \(distance(a, c))")
        // With mini-batches the two see different batches, but learn about the same model.
        let small = NetworkShape(hidden: [8], batchSize: 8)
        let la = NetworkEpochTrainer(records: weighted).train(small, configuration: config, epochs: 20, seed: 9).trained.network.evaluate(Self.holdout).loss
        let lb = NetworkEpochTrainer(records: copies).train(small, configuration: config, epochs: 20, seed: 9).trained.network.evaluate(Self.holdout).loss
        #expect(abs(la - lb) < 0.1 * lb, "holdout loss \(la) vs \(lb)")
    }

    /// Scaling every weight changes nothing: each step is the batch's weighted mean gradient.
    @Test func aCommonWeightScaleChangesNothing() {
        let scaled = Self.train.map { r -> Record in
            var r = r
            r.weight *= 64
            return r
        }
        let shape = NetworkShape(hidden: [8], batchSize: 32)
        let config = Self.configuration(eta0: 0.1, steps: 100)
        let a = NetworkEpochTrainer(records: Self.train).train(shape, configuration: config, epochs: 2, seed: 1).trained.network
        let b = NetworkEpochTrainer(records: scaled).train(shape, configuration: config, epochs: 2, seed: 1).trained.network
        #expect(a.evaluate(Self.holdout).loss.isFinite)
        #expect(abs(a.evaluate(Self.holdout).loss - b.evaluate(Self.holdout).loss) < 1e-4)
    }

    /// A grid of widths: every setting is trained, the best by holdout loss kept, and it is the
    /// network the trainer gives alone with that setting.
    @Test func sweepOfWidthsKeepsTheBestNetwork() {
        let settings = [([4], 0.001), ([16], 0.1), ([16], 0.001)].map { hidden, eta0 in
            let shape = NetworkShape(hidden: hidden, batchSize: 32)
            return SweepSetting(configuration: Self.configuration(eta0: eta0, steps: shape.totalSteps(records: Self.train.count, epochs: 3)),
                                epochs: 3, network: shape)
        }
        let sweep = HyperparameterSweep(settings: settings, trainer: EpochTrainer(records: Self.train), holdout: Self.holdout, seed: 2, classCount: 3)
        let outcome = sweep.run(clock: { 0 })
        #expect(outcome.rows.count == 3 && !outcome.interrupted)
        #expect(outcome.bestLearner == nil)
        let losses = outcome.rows.map(\.holdout.loss)
        #expect(Set(losses).count == 3)
        #expect(outcome.bestRow == 1, "\(losses)")
        #expect(outcome.rows.map(\.setting.modelName) == ["mlp:4", "mlp:16", "mlp:16"])
        let alone = NetworkEpochTrainer(records: Self.train, classCount: 3).train(settings[1].network!, configuration: settings[1].configuration,
                                                                                  epochs: 3, seed: 2)
        #expect(alone.trained.network == outcome.bestNetwork?.network)
        #expect(alone.trained.network.evaluate(Self.holdout).loss == losses[1])
        // Mixed with a linear setting of the same (softmax) loss: ranked by holdout loss, i.e. log-loss.
        let linear = SweepSetting(configuration: Self.configuration(eta0: 0.05, steps: 3 * Self.train.count), epochs: 3)
        let mixed = HyperparameterSweep(settings: [linear] + settings, trainer: EpochTrainer(records: Self.train), holdout: Self.holdout,
                                        seed: 2, classCount: 3)
        #expect(mixed.mixesModels && !mixed.mixesLosses)
        let m = mixed.run(clock: { 0 })
        let best = m.rows[m.bestRow!]
        // (A linear model's log-loss is summed apart from its loss: equal but for the last digits.)
        #expect(abs(best.score - m.rows.map(\.holdout.logLoss).min()!) < 1e-12)
        #expect((best.setting.network == nil) == (m.bestLearner != nil) && (m.bestLearner == nil) == (m.bestNetwork != nil))
    }
}
