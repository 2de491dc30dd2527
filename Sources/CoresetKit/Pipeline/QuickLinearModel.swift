/// A linear model fitted in one online pass over the input, before selection (`coreset select
/// --fit-model`), so the selector measures distances in gradient space at a model of the same data, as
/// `--model FILE` does with a model trained elsewhere.
///
/// Why: a feature-space coreset represents each class by its own medoids, which hides how the classes
/// mix where they overlap; a flexible learner trained on it (boosted trees) draws sharp borders there
/// and its test log-loss suffers. Gradient space at even a rough linear model groups records by their
/// residual, so the overlap keeps its share (tools/bench_downstream/RESULTS.md has the grid).
public enum QuickLinearModel {
    /// The outcome of one pass.
    public struct Fit {
        public var learner: Learner
        public var records: Int
        /// Records left out of the model: a third class after a binary task was decided.
        public var skipped: Int
    }

    /// Trains a linear learner on every record `reader` delivers, in stream order, with `coreset run`'s
    /// defaults: the task from the first batch (binary for at most two classes, multiclass above,
    /// regression for `regression`) and SGD stepping `eta0 / sqrt(1 + t/1000)` with `eta0` scaled to the
    /// first batch's row norms (`defaultStepSize`). A record of a third class after a binary start is
    /// left out of the model (it is still selected from in the selection pass).
    /// Returns nil for an empty stream or when `Interruption` is requested (checked every batch).
    public static func fit(_ reader: RecordReader, regression: Bool) throws -> Fit? {
        guard !Interruption.requested, let first = try reader.next(), first.count > 0 else { return nil }
        let task: TaskKind = regression ? .regression : (reader.labels.classCount > 2 ? .multiclass : .binary)
        let eta0 = defaultStepSize(meanSquaredNorm: first.meanSquaredNorm)
        var learner = Learner(configuration: LearnerConfiguration(
            task: task, schedule: .inverseScaling(eta0: eta0, decay: 1e-3, power: 0.5)))
        var fit = Fit(learner: learner, records: 0, skipped: 0)
        var batch: RecordBatch? = first
        while let current = batch {
            for record in current.records {
                if task == .binary && record.label >= 2 {
                    fit.skipped += 1
                    continue
                }
                learner.learn(record)
                fit.records += 1
            }
            if Interruption.requested { return nil }
            batch = try reader.next()
        }
        fit.learner = learner
        return fit
    }
}
