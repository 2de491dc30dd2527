/// A model `train` writes: the linear learner or a network.
public enum TrainedLearner {
    case linear(Learner)
    case network(TrainedNetwork)

    public var stepCount: Int {
        switch self {
        case .linear(let l): return l.stepCount
        case .network(let n): return n.optimizer.stepCount
        }
    }

    public func evaluate(_ records: [Record]) -> EvaluationSummary {
        switch self {
        case .linear(let l): return l.evaluate(records)
        case .network(let n): return n.network.evaluate(records)
        }
    }

    public func bundle(labels: LabelMap, featureNames: [String], recordsSeen: UInt64) -> ModelBundle {
        switch self {
        case .linear(let l): return ModelBundle(labels: labels, featureNames: featureNames, recordsSeen: recordsSeen, model: l.modelFile())
        case .network(let n): return ModelBundle(labels: labels, featureNames: featureNames, recordsSeen: recordsSeen, network: n.modelFile)
        }
    }
}

extension SweepSetting {
    /// Trains this setting once on `records` from a new model (the refit after a sweep on a subset: MILO's
    /// "choose on the subset, train the final model on everything").
    /// - Returns: the model, whether SIGINT/SIGTERM cut the training short, and the first epoch's
    ///   progressive validation.
    public func train(on records: [Record], classCount: Int, seed: UInt64)
        -> (learner: TrainedLearner, interrupted: Bool, progressive: ProgressiveValidation) {
        if let network {
            let outcome = NetworkEpochTrainer(records: records, classCount: classCount)
                .train(network, configuration: configuration, epochs: epochs, seed: seed)
            return (.network(outcome.trained), outcome.interrupted, outcome.firstEpochProgressive)
        }
        var linear = Learner(configuration: configuration)
        let outcome = EpochTrainer(records: records).train(&linear, epochs: epochs, seed: seed)
        return (.linear(linear), outcome.interrupted, outcome.firstEpochProgressive)
    }
}

/// Successive halving over data size (`train --halving`): after a sweep on a small subset, the best
/// 1/η of the grid (at least 2) is trained again on a uniform sample of the full data η times the
/// subset's size, and the best there is chosen; η = 4, so each rung costs about what the first did
/// (Jamieson and Talwalkar's rule). The subset ranks l2 well but favours large steps that do not carry
/// over to 100 times more steps (tools/bench_tuning/RESULTS.md); four times more data (as ten did,
/// the factor until 2026-12-07) brings the choice back to the full sweep's on mnist and census_kdd.
public struct HalvingStage {
    /// η: the share of the grid kept (1/η) and the growth of the data (η times the subset).
    public static let eta = 4

    /// Grid rows to train again, best first.
    public var kept: [SweepRow]
    /// The sample of the full data they are trained on, in the full data's order.
    public var sample: [Record]
    /// The first stage's best row.
    public var firstStageBest: SweepRow

    /// The stage after a sweep of `rows` on `subsetCount` records, with `full` the data a refit trains on;
    /// nil when it does not pay: fewer than two rows, or a sample η times the subset that would be more
    /// than half of `full`.
    public init?(after rows: [SweepRow], subsetCount: Int, full: [Record], seed: UInt64) {
        let sampleSize = min(full.count, Self.eta * subsetCount)
        guard rows.count > 1, subsetCount > 0, 2 * sampleSize <= full.count else { return nil }
        // NaN scores last; ties keep grid order.
        let ranked = rows.sorted { a, b in
            a.score.isNaN != b.score.isNaN ? !a.score.isNaN : (a.score != b.score ? a.score < b.score : a.index < b.index)
        }
        kept = Array(ranked.prefix(max(2, (rows.count + Self.eta - 1) / Self.eta)))
        firstStageBest = ranked[0]
        var rng = SeededGenerator(seed: seed ^ 0x4A1F)
        var order = Array(full.indices)
        for i in 0..<sampleSize { order.swapAt(i, Int.random(in: i..<order.count, using: &rng)) }
        sample = order[..<sampleSize].sorted().map { full[$0] }
    }

    /// The l2 scale of the sample's settings: it stands for `fullCount` records.
    public func l2Scale(fullCount: Int) -> Double { Double(fullCount) / Double(sample.count) }
}
