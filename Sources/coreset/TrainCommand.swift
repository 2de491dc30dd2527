import ArgumentParser
import CoresetKit

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "The honest baseline: the same learner on every record for several shuffled epochs with a fully decayed step size.",
        discussion: "Loads the whole stream into memory. The default schedule decays exponentially to 1% of eta0 over the run.")

    @OptionGroup var input: InputOptions
    @OptionGroup var learnerOptions: LearnerOptions

    @Option(name: .long, help: "Passes over the data.")
    var epochs: Int = 5

    @Option(name: .long, help: "Evaluate on this file after every epoch.")
    var holdout: String?

    @Option(name: .long, help: "Evaluate on this file at the end and print loss, accuracy, AUC.")
    var test: String?

    @Option(name: .long, help: "Write the model (versioned JSON, atomically) here.")
    var modelOut: String?

    @Flag(name: .shortAndLong, help: "No progress on stderr.")
    var quiet = false

    func validate() throws {
        if epochs < 1 { throw ValidationError("--epochs must be at least 1") }
    }

    func run() throws {
        Interruption.installSignalHandlers()
        try runReportingErrors {
            try input.checkReadable(holdout)
            let start = monotonicSeconds()
            let reader = RecordReader(inputs: input.inputs, options: input.readerOptions) { writeDiagnostic($0) }
            var records: [Record] = []
            var streamError: CoresetError?
            do {
                while let batch = try reader.next() { records.append(contentsOf: batch.records) }
            } catch let e as CoresetError {
                streamError = e
            }
            let labels = reader.labels
            let task: TaskKind = labels.isRegression ? .regression : (labels.classCount > 2 ? .multiclass : .binary)
            let meanSquaredNorm = records.isEmpty ? 0 : records.reduce(0.0) { $0 + Double(VectorMath.squaredNorm($1.features)) } / Double(records.count)
            var learner = Learner(configuration: learnerOptions.configuration(
                task: task, meanSquaredNorm: meanSquaredNorm, totalSteps: epochs * records.count))
            let holdoutRecords = try holdout.map { try loadRecords(path: $0, options: input.readerOptions, labels: labels) { writeDiagnostic($0) }.records } ?? []
            var rng = SeededGenerator(seed: learnerOptions.learnerSeed)
            var order = Array(records.indices)
            var progressive = ProgressiveValidation()
            for epoch in 1...epochs {
                order.shuffle(using: &rng)
                var epochLoss = WeightedMean()
                for i in order {
                    let scored = learner.learn(records[i])
                    epochLoss.update(scored.loss, weight: records[i].weight)
                    if epoch == 1 { progressive.update(scored, label: records[i].label, weight: records[i].weight) }
                    if Interruption.requested { break }
                }
                if !quiet {
                    var line = "epoch \(epoch)/\(epochs): average loss \(formatFixed(epochLoss.value, 6)), \(records.count) records, \(formatFixed(monotonicSeconds() - start, 2)) s"
                    if !holdoutRecords.isEmpty {
                        let h = learner.evaluate(holdoutRecords)
                        line += ", holdout loss \(formatFixed(h.loss, 6))"
                        if !h.accuracy.isNaN { line += ", accuracy \(formatFixed(h.accuracy, 4))" }
                    }
                    writeDiagnostic(line)
                }
                if Interruption.requested { break }
            }
            var lines = [
                "records_accepted\t\(reader.statistics.recordsAccepted)",
                "records_skipped\t\(reader.statistics.recordsSkipped)",
                "task\t\(task.rawValue)",
                "epochs\t\(epochs)",
                "learner_steps\t\(learner.stepCount)",
                "first_epoch_progressive_loss\t\(formatFixed(progressive.total.value, 6))",
                "seconds\t\(formatFixed(monotonicSeconds() - start, 3))",
            ]
            if let test {
                let loaded = try loadRecords(path: test, options: input.readerOptions, labels: labels) { writeDiagnostic($0) }
                lines.append(contentsOf: metricLines(prefix: "test", learner.evaluate(loaded.records)))
            }
            if let modelOut {
                try ModelBundle(labels: labels, featureNames: reader.context.featureNames,
                                recordsSeen: reader.statistics.recordsAccepted, model: learner.modelFile()).write(to: modelOut)
            }
            let out = TextOutput(descriptor: 1)
            try out.write(lines.joined(separator: "\n") + "\n")
            try out.flush()
            if let streamError { throw streamError }
        }
    }
}

/// A model file and the reader that reads new data the way the model was trained.
struct ModelInput: ParsableArguments {
    @OptionGroup var input: InputOptions

    @Option(name: .long, help: "A model file written by `run` or `train` (--model-out).")
    var model: String

    /// - Parameter fixedClasses: a label the model has no class for is a bad record (eval: it cannot be
    ///   scored); predict ignores labels, so every record gets its prediction line.
    func open(fixedClasses: Bool) throws -> (bundle: ModelBundle, learner: TrainedModel, reader: RecordReader) {
        try input.checkReadable(model)
        let bundle = try ModelBundle.read(from: model)
        let learner = try bundle.trainedModel()
        var options = input.readerOptions
        options.initialLabels = bundle.labels
        options.fixedClasses = fixedClasses
        let reader = RecordReader(inputs: input.inputs, options: options) { writeDiagnostic($0) }
        return (bundle, learner, reader)
    }
}

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Write one prediction per record: the predicted label, then the class probabilities (or the value, for regression).",
        discussion: "A header line names the columns first: `predicted`, then each class's label in the order of the probabilities (`prediction` alone for regression).")

    @OptionGroup var modelInput: ModelInput

    @Flag(name: .long, help: "Leave out the header line.")
    var noHeader = false

    func run() throws {
        Interruption.installSignalHandlers()
        try runReportingErrors {
            let (bundle, learner, reader) = try modelInput.open(fixedClasses: false)
            let out = TextOutput(descriptor: 1)
            let regression = learner.isRegression
            if !noHeader {
                let classes = regression ? [] : (0..<learner.probabilities(FeatureVector()).count).map { bundle.labels.name(of: $0) }
                try out.write((regression ? ["prediction"] : ["predicted"] + classes).joined(separator: "\t") + "\n")
            }
            while let batch = try reader.next() {
                for i in 0..<batch.count {
                    let x = batch[i].features
                    if regression {
                        try out.write(CoresetWriter.number(learner.predict(x)) + "\n")
                    } else {
                        let predicted = bundle.labels.name(of: Int(learner.predict(x)))
                        try out.write(predicted + "\t" + learner.probabilities(x).map { formatFixed($0, 6) }.joined(separator: "\t") + "\n")
                    }
                }
            }
            try out.flush()
        }
    }
}

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a model on records: loss, accuracy and AUC (binary).")

    @OptionGroup var modelInput: ModelInput

    func run() throws {
        Interruption.installSignalHandlers()
        try runReportingErrors {
            let (_, learner, reader) = try modelInput.open(fixedClasses: true)
            var records: [Record] = []
            while let batch = try reader.next() { records.append(contentsOf: batch.records) }
            let out = TextOutput(descriptor: 1)
            try out.write(metricLines(prefix: "eval", learner.evaluate(records)).joined(separator: "\n") + "\n")
            try out.flush()
        }
    }
}
