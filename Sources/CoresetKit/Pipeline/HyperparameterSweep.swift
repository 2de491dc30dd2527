/// `coreset train`'s learning loop: several shuffled passes over records held in memory, one online
/// step per record. The one-setting `train`, every setting of a sweep and the refit all run it, so a
/// setting trained inside a sweep is the model a plain `train` with that setting gives.
public struct EpochTrainer {
    public var records: [Record]
    /// Multiplies every record's weight in the steps (1 = the weights as read). A sweep whose
    /// winner is refitted on unweighted data scales a coreset's weights to mean 1, so l2 and eta0
    /// mean on the subset what they mean on the refit data.
    public var weightScale: Double

    public init(records: [Record], weightScale: Double = 1) {
        self.records = records
        self.weightScale = weightScale
    }

    /// The scale that brings the records' weights to mean 1 (1 when there are none).
    public static func meanOneScale(_ records: [Record]) -> Double {
        let total = records.reduce(0.0) { $0 + $1.weight }
        return records.isEmpty || !(total > 0) || !total.isFinite ? 1 : Double(records.count) / total
    }

    /// Mean squared norm of the records' features (what the default step size is scaled by).
    public static func meanSquaredNorm(_ records: [Record]) -> Double {
        records.isEmpty ? 0 : records.reduce(0.0) { $0 + Double(VectorMath.squaredNorm($1.features)) } / Double(records.count)
    }

    /// What a finished (or interrupted) training gives.
    public struct Outcome: Sendable {
        /// Epochs completed; an interrupted epoch is not counted.
        public var epochsCompleted: Int
        /// Progressive validation over the first epoch (each record scored before its step).
        public var firstEpochProgressive: ProgressiveValidation
        /// True when `Interruption` stopped training before the last epoch ended.
        public var interrupted: Bool
    }

    /// Trains `learner` for `epochs` shuffled passes (the order from `seed`), calling `afterEpoch`
    /// with the epoch, its weighted average loss and the learner after every epoch (an interrupted
    /// epoch is reported too, as today's `train` does). Stops within one record of `Interruption`.
    /// - Complexity: O(epochs · Σ nnz · K) time, O(n) memory for the order.
    public func train(
        _ learner: inout Learner, epochs: Int, seed: UInt64,
        afterEpoch: (_ epoch: Int, _ averageLoss: Double, _ learner: Learner) throws -> Void
    ) rethrows -> Outcome {
        var rng = SeededGenerator(seed: seed)
        var order = Array(records.indices)
        var progressive = ProgressiveValidation()
        var completed = 0
        var interrupted = false
        for epoch in 1...max(epochs, 1) {
            order.shuffle(using: &rng)
            var epochLoss = WeightedMean()
            for i in order {
                let record = records[i]
                // Scale 1 keeps `learn`'s own weight, bit for bit.
                let scored = weightScale == 1 ? learner.learn(record) : learner.learn(record, weight: record.weight * weightScale)
                epochLoss.update(scored.loss, weight: record.weight)
                if epoch == 1 { progressive.update(scored, label: record.label, weight: record.weight) }
                if Interruption.requested {
                    interrupted = true
                    break
                }
            }
            if !interrupted { completed = epoch }
            try afterEpoch(epoch, epochLoss.value, learner)
            if interrupted { break }
        }
        return Outcome(epochsCompleted: completed, firstEpochProgressive: progressive, interrupted: interrupted)
    }

    /// `train` without a report after each epoch.
    public func train(_ learner: inout Learner, epochs: Int, seed: UInt64) -> Outcome {
        train(&learner, epochs: epochs, seed: seed) { _, _, _ in }
    }
}

/// One point of a hyperparameter grid: the learner's configuration and the number of passes, and
/// for a network its shape (the configuration then gives its schedule and l2; its loss is the
/// network's cross-entropy, logistic or softmax by task).
public struct SweepSetting: Sendable, Hashable {
    public var configuration: LearnerConfiguration
    public var epochs: Int
    /// Nil for the linear learner.
    public var network: NetworkShape?
    /// The l2 as listed by the user; the configuration's may be scaled to the data's size (a
    /// subset standing for larger data needs a larger l2, about n / k times).
    public var listedL2: Double

    public init(configuration: LearnerConfiguration, epochs: Int, listedL2: Double? = nil, network: NetworkShape? = nil) {
        self.configuration = configuration
        self.epochs = epochs
        self.listedL2 = listedL2 ?? configuration.l2
        self.network = network
    }

    /// `linear` or `mlp:H[,H2...]`.
    public var modelName: String { network?.name ?? "linear" }

    public var loss: Loss { configuration.loss }
    /// The listed l2 (what the table shows and a refit uses).
    public var l2: Double { listedL2 }
    /// The l2 the setting trains with.
    public var trainedL2: Double { configuration.l2 }
    public var eta0: Double { configuration.schedule.initialRate }
}

/// A finished setting of a sweep.
public struct SweepRow: Sendable {
    /// Position in the grid (0-based).
    public var index: Int
    public var setting: SweepSetting
    /// The trained model on the holdout records.
    public var holdout: EvaluationSummary
    /// Training time of this setting alone (holdout scoring included).
    public var seconds: Double
    /// What settings are ranked by (lower is better): the holdout loss, or the error rate (squared
    /// error for regression) when the grid mixes losses (their values are not comparable); NaN
    /// without holdout records.
    public var score: Double
}

/// Trains every setting of a grid on the same in-memory records and keeps the model with the
/// lowest holdout score (ties: the earlier setting). Each setting starts from a new model (linear:
/// zero; network: initialised from `seed`), so its model is the one a plain `train` with that
/// setting gives. A network's loss is its cross-entropy, the linear logistic or softmax loss's
/// log-loss, so a grid of both models with the default loss is ranked by holdout log-loss.
public struct HyperparameterSweep {
    public var settings: [SweepSetting]
    public var trainer: EpochTrainer
    public var holdout: [Record]
    public var seed: UInt64
    /// Output units of a network setting (at least the classes in the records).
    public var classCount: Int

    public init(settings: [SweepSetting], trainer: EpochTrainer, holdout: [Record], seed: UInt64, classCount: Int = 2) {
        self.settings = settings
        self.trainer = trainer
        self.holdout = holdout
        self.seed = seed
        self.classCount = classCount
    }

    /// Whether the grid holds both linear and network settings.
    public var mixesModels: Bool { Set(settings.map { $0.network == nil }).count > 1 }

    /// Whether the settings use more than one loss (then they are ranked by holdout error rate, or
    /// squared error for regression losses, whose accuracy is undefined).
    public var mixesLosses: Bool { Set(settings.map(\.loss)).count > 1 }

    public struct Outcome: Sendable {
        /// The settings that finished, in grid order.
        public var rows: [SweepRow]
        /// The best row's position in `rows`, nil when none finished.
        public var bestRow: Int?
        /// The best setting's trained model: `bestLearner` for a linear setting, `bestNetwork` for a network.
        public var bestLearner: Learner?
        public var bestNetwork: TrainedNetwork?
        /// Its first-epoch progressive validation.
        public var bestProgressive: ProgressiveValidation?
        /// True when `Interruption` stopped the sweep (the setting under way is dropped).
        public var interrupted: Bool
    }

    /// Runs the grid in order, calling `onRow` after each finished setting.
    /// - Complexity: Σ over settings of O(epochs · Σ nnz · K) (a network: `NetworkEpochTrainer`'s), plus a holdout pass per setting;
    ///   memory for two models (the one training and the best so far).
    public func run(clock: () -> Double, onRow: (SweepRow) throws -> Void) rethrows -> Outcome {
        var outcome = Outcome(rows: [], bestRow: nil, bestLearner: nil, bestNetwork: nil, bestProgressive: nil, interrupted: false)
        let byError = mixesLosses
        // Built once for all network settings (it scans the records for their dimension).
        let networkTrainer = settings.contains { $0.network != nil } ? NetworkEpochTrainer(records: trainer.records, classCount: classCount) : nil
        for (index, setting) in settings.enumerated() {
            let start = clock()
            var learner: Learner?
            var network: TrainedNetwork?
            let summary: EvaluationSummary
            let progressive: ProgressiveValidation
            if let shape = setting.network, let networkTrainer {
                let trained = networkTrainer.train(shape, configuration: setting.configuration, epochs: setting.epochs, seed: seed)
                if trained.interrupted {
                    outcome.interrupted = true
                    break
                }
                network = trained.trained
                summary = trained.trained.network.evaluate(holdout)
                progressive = trained.firstEpochProgressive
            } else {
                var linear = Learner(configuration: setting.configuration)
                let trained = trainer.train(&linear, epochs: setting.epochs, seed: seed)
                if trained.interrupted {
                    outcome.interrupted = true
                    break
                }
                learner = linear
                summary = linear.evaluate(holdout)
                progressive = trained.firstEpochProgressive
            }
            let score = !byError ? summary.loss
                : setting.loss.isClassification ? 1 - summary.accuracy : summary.squaredError
            let row = SweepRow(index: index, setting: setting, holdout: summary, seconds: clock() - start, score: score)
            outcome.rows.append(row)
            if let best = outcome.bestRow {
                // NaN scores (no holdout, a diverged model) never win over a number.
                let current = outcome.rows[best].score
                if score < current || (current.isNaN && !score.isNaN) {
                    outcome.bestRow = outcome.rows.count - 1
                    outcome.bestLearner = learner
                    outcome.bestNetwork = network
                    outcome.bestProgressive = progressive
                }
            } else {
                outcome.bestRow = 0
                outcome.bestLearner = learner
                outcome.bestNetwork = network
                outcome.bestProgressive = progressive
            }
            try onRow(row)
            if Interruption.requested {
                outcome.interrupted = true
                break
            }
        }
        return outcome
    }

    /// `run` without a report per setting.
    public func run(clock: () -> Double) -> Outcome { run(clock: clock) { _ in } }
}
