#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A weighted running mean (the building block of the loss metrics).
///
/// Supports `revert` (River's metric interface) so a record can be taken back out.
/// - Complexity: O(1) time and memory per update.
public struct WeightedMean: Sendable, Hashable, Codable {
    public private(set) var sum: Double = 0
    public private(set) var weight: Double = 0
    public private(set) var count: Int = 0

    public init() {}

    /// Adds a value with a weight.
    /// - Complexity: O(1).
    public mutating func update(_ value: Double, weight w: Double = 1) {
        sum += w * value
        weight += w
        count += 1
    }

    /// Takes back a value added with `update`.
    /// - Complexity: O(1).
    public mutating func revert(_ value: Double, weight w: Double = 1) {
        sum -= w * value
        weight -= w
        count -= 1
    }

    /// The mean, or NaN when empty.
    public var value: Double { weight > 0 ? sum / weight : .nan }
}

/// Binary log-loss of a predicted probability of class 1, clipped to [1e-15, 1 - 1e-15] as
/// scikit-learn does.
/// - Complexity: O(1).
public func binaryLogLoss(probability p: Double, label: Double) -> Double {
    let q = min(max(p, 1e-15), 1 - 1e-15)
    return label >= 0.5 ? -log(q) : -log(1 - q)
}

/// Exact ROC AUC of scores against binary labels: the probability that a random positive scores
/// above a random negative, ties counting one half (Mann–Whitney U with mid-ranks). Weighted.
///
/// - Complexity: O(n log n) time, O(n) memory (keeps every score; use on test sets, not streams).
public struct AUC: Sendable {
    var scores: [Double] = []
    var positives: [Bool] = []
    var weights: [Double] = []

    public init() {}

    /// Adds a scored record (label >= 0.5 is positive).
    /// - Complexity: O(1) amortised; 17 bytes of memory per record.
    public mutating func update(score: Double, label: Double, weight: Double = 1) {
        scores.append(score)
        positives.append(label >= 0.5)
        weights.append(weight)
    }

    public var count: Int { scores.count }

    /// The AUC, or NaN when one class is missing.
    public var value: Double {
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var negBelow = 0.0  // weight of negatives with strictly smaller scores
        var numerator = 0.0
        var posTotal = 0.0, negTotal = 0.0
        var i = 0
        while i < order.count {
            var j = i
            var pos = 0.0, neg = 0.0
            while j < order.count && scores[order[j]] == scores[order[i]] {
                let k = order[j]
                if positives[k] { pos += weights[k] } else { neg += weights[k] }
                j += 1
            }
            numerator += pos * (negBelow + 0.5 * neg)
            negBelow += neg
            posTotal += pos
            negTotal += neg
            i = j
        }
        return posTotal > 0 && negTotal > 0 ? numerator / (posTotal * negTotal) : .nan
    }
}

/// Loss, accuracy, log-loss, squared error and AUC of a model on a set of records.
public struct EvaluationSummary: Sendable, Hashable, Codable {
    /// Number of records and their total weight.
    public var count: Int = 0
    public var weight: Double = 0
    /// Mean loss of the model's own loss function.
    public var loss: Double = .nan
    /// Fraction correctly classified (classification only).
    public var accuracy: Double = .nan
    /// Mean log-loss (probabilistic classifiers only).
    public var logLoss: Double = .nan
    /// Mean squared error (regression only).
    public var squaredError: Double = .nan
    /// ROC AUC (binary only).
    public var auc: Double = .nan
}

/// Accumulates an `EvaluationSummary` one scored record at a time.
/// - Complexity: O(1) per record, plus O(n) memory for the AUC on binary tasks.
public struct Evaluator: Sendable {
    public let loss: Loss
    var lossMean = WeightedMean()
    var correct = WeightedMean()
    var logLoss = WeightedMean()
    var squared = WeightedMean()
    var auc = AUC()
    /// Working space of the loss (its residual, the probabilities), kept between records.
    var scratch: [Double] = []

    public init(loss: Loss) { self.loss = loss }

    /// Adds a record given the model's outputs for it.
    /// - Complexity: O(K).
    public mutating func update(outputs z: [Double], label: Double, weight: Double = 1) {
        lossMean.update(loss.evaluate(outputs: z, label: label, residual: &scratch), weight: weight)
        if loss.isClassification {
            correct.update(loss.predictedLabel(outputs: z) == label ? 1 : 0, weight: weight)
        } else {
            let d = z[0] - label
            squared.update(d * d, weight: weight)
        }
        if loss.isProbabilistic { logLoss.update(loss.logLoss(outputs: z, label: label, scratch: &scratch), weight: weight) }
        // Binary losses have one output, a score to rank by.
        if loss.task == .binary { auc.update(score: z[0], label: label, weight: weight) }
    }

    /// The metrics so far.
    /// - Complexity: O(n log n) for the AUC, else O(1).
    public var summary: EvaluationSummary {
        var s = EvaluationSummary()
        s.count = lossMean.count
        s.weight = lossMean.weight
        s.loss = lossMean.value
        if loss.isClassification { s.accuracy = correct.value } else { s.squaredError = squared.value }
        if loss.isProbabilistic { s.logLoss = logLoss.value }
        if loss.task == .binary { s.auc = auc.value }
        return s
    }
}

extension Learner {
    /// Evaluates the current model on records (no learning).
    /// - Complexity: O(Σ nnz · K + n log n).
    public func evaluate(_ records: some Sequence<Record>) -> EvaluationSummary {
        var e = Evaluator(loss: configuration.loss)
        var z = [Double](repeating: 0, count: model.outputCount)
        for rec in records {
            outputs(rec.features, into: &z)
            e.update(outputs: z, label: rec.label, weight: rec.weight)
        }
        return e.summary
    }
}

/// Progressive validation as Vowpal Wabbit prints it: each record is scored before it is learned
/// from; rows are due at doubling example counts (1, 2, 4, ...), each giving the average loss so
/// far and the average "since last" row.
/// - Complexity: O(1) time and memory per record.
public struct ProgressiveValidation: Sendable, Hashable, Codable {
    public struct Row: Sendable, Hashable, Codable {
        public var averageLoss: Double
        public var sinceLast: Double
        public var exampleCount: Int
        public var exampleWeight: Double
        public var label: Double
        public var prediction: Double
    }

    public private(set) var total = WeightedMean()
    public private(set) var sinceLast = WeightedMean()
    public private(set) var correct = WeightedMean()
    var nextRow: Int = 1
    var lastLabel: Double = 0
    var lastPrediction: Double = 0

    public init() {}

    /// Records the score a record got before the learner used it.
    /// - Returns: a progress row when the example count reached the next power of two.
    @discardableResult
    public mutating func update(_ scored: Scored, label: Double, weight: Double = 1) -> Row? {
        total.update(scored.loss, weight: weight)
        sinceLast.update(scored.loss, weight: weight)
        correct.update(scored.prediction == label ? 1 : 0, weight: weight)
        lastLabel = label
        lastPrediction = scored.prediction
        guard total.count >= nextRow else { return nil }
        nextRow *= 2
        return takeRow()
    }

    /// A row now (e.g. at the end of the stream), resetting "since last".
    /// - Complexity: O(1).
    public mutating func takeRow() -> Row {
        let row = Row(averageLoss: total.value, sinceLast: sinceLast.value, exampleCount: total.count,
                      exampleWeight: total.weight, label: lastLabel, prediction: lastPrediction)
        sinceLast = WeightedMean()
        return row
    }

    /// Progressive accuracy (classification).
    public var accuracy: Double { correct.value }
}
