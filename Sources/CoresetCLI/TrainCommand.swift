import ArgumentParser
import CoresetKit

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "The honest baseline: the same learner on every record for several shuffled epochs with a fully decayed step size.",
        discussion: CommonOptionsHelp.text([
            CommonOptionsHelp.input, ("--epochs <n>", "passes over the data (default 5)"), ("--test <file>", "evaluate on this file at the end"),
            ("--model-out <file>", "write the model here"), CommonOptionsHelp.quiet, CommonOptionsHelp.json, CommonOptionsHelp.progressLog,
            ("--model mlp:64|linear", "a network; | lists models"),
            ("--l2 1e-6,1e-5", "lists make a grid (needs --holdout)"),
            ("--refit <file>...", "then train the chosen setting on these"),
        ], note: "Loads the whole stream into memory. The default schedule decays exponentially to 1% of eta0 over the run. "
            + "Lists (--l2 1e-6,1e-5) make a grid, each setting trained from scratch and scored on --holdout: the table goes to stderr "
            + "(--sweep-out: TSV), the choice to stdout, the best model to --model-out; --refit FILE... trains the choice on all of FILE. "
            + "Models are listed with | or by repeating --model (the comma belongs to the widths: mlp:256,128 is one two-layer network); "
            + "the grid is models x losses (linear only) x epochs x eta0 x l2. A grid of linear and mlp models with the default loss is "
            + "ranked by holdout log-loss (both minimise it)."))

    @OptionGroup var input: InputOptions
    @OptionGroup var learnerOptions: LearnerOptions

    @Option(name: .customLong("model"), help: ArgumentHelp("Learner: linear (default) or mlp:HIDDEN, a network with ReLU layers of these widths (mlp:128, mlp:256,128) trained by mini-batch SGD with momentum on the records, with their weights. A list (mlp:32|mlp:64|linear, or --model repeated) is a grid.", valueName: "model"),
            transform: { try parseModelList($0) })
    var modelLists: [[TrainModel]] = []

    @Option(name: .long, help: "mlp: records per mini-batch step (default 128).")
    var batchSize: Int?

    @Option(name: .long, help: "mlp: momentum of SGD (default 0.9).")
    var momentum: Double?

    @Option(name: .customLong("epochs"), help: ArgumentHelp("Passes over the data (default 5; a comma-separated list is a grid).", valueName: "epochs"),
            transform: { try parseValueList($0, option: "--epochs", expected: "a whole number of at least 1") { Int($0).flatMap { $0 >= 1 ? $0 : nil } } })
    var epochLists: [[Int]] = []

    @Option(name: .long, help: "Evaluate on this file after every epoch (a grid: after every setting, to choose the best).")
    var holdout: String?

    @Option(name: .long, help: "Evaluate on this file at the end and print loss, accuracy, AUC.")
    var test: String?

    @Option(name: .long, help: "Write the model (versioned JSON, atomically) here.")
    var modelOut: String?

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Train the chosen setting once more on all of these files (any format and compression the input takes; records without a weight count 1) and write that model: choose on a coreset, train once on everything. The input is then trained with its weights scaled to mean 1 and each l2 at l2 x refit records / input records (see --no-l2-scaling). Put the input files before it.", valueName: "file"))
    var refit: [String] = []

    @Flag(name: .long, inversion: .prefixedNo, help: "With --refit (the default there): train the best quarter of the grid again on a uniform sample of the refit data four times the input's size and choose there (successive halving over data size, η = 4: costs about what the grid cost on the input). Skipped when that sample would be most of the refit data.")
    var halving: Bool?

    @Flag(name: .long, help: "With --refit: train the input with the listed l2 values as they are (default: times refit records / input records, since the best l2 shrinks about as 1/n, so the l2 chosen is the one for the refit data).")
    var noL2Scaling = false

    @Option(name: .long, help: ArgumentHelp("Write the grid's table here (TSV, one row per finished setting, atomically).", valueName: "file"))
    var sweepOut: String?

    @Flag(name: .shortAndLong, help: "No progress on stderr.")
    var quiet = false

    @OptionGroup var machine: MachineOutputOptions

    var epochValues: [Int] { epochLists.isEmpty ? [5] : epochLists.flatMap { $0 } }

    /// Successive halving runs with a refit unless --no-halving: the subset ranks l2 well, but its
    /// choice of step size did not carry over to 100 times the data (mnist at k = 1%: +8% test log-loss).
    var halvingStageRuns: Bool { halving ?? !refit.isEmpty }

    /// The listed models (default: linear).
    var modelValues: [TrainModel] { modelLists.isEmpty ? [.linear] : modelLists.flatMap { $0 } }
    var hasNetwork: Bool { modelValues.contains { $0 != .linear } }
    var hasLinear: Bool { modelValues.contains(.linear) }

    /// Settings in the grid (a network has one loss, so the loss list multiplies linear settings only).
    var gridSize: Int {
        let perModel = max(1, learnerOptions.l2Values.count) * max(1, learnerOptions.eta0Values.count) * epochValues.count
        return modelValues.reduce(0) { $0 + ($1 == .linear ? max(1, learnerOptions.lossValues.count) : 1) * perModel }
    }

    /// The shape of a network setting with this command's --batch-size and --momentum.
    func networkShape(_ model: TrainModel) -> NetworkShape? {
        guard case .mlp(let hidden) = model else { return nil }
        return NetworkShape(hidden: hidden, batchSize: batchSize ?? 128, momentum: momentum ?? 0.9)
    }

    /// A grid or a refit takes the sweep's path; one setting without --refit is the plain `train`.
    var sweeps: Bool { gridSize > 1 || !refit.isEmpty }

    func validate() throws {
        try checkNoRepeats(epochValues.map { "\($0)" }, option: "--epochs")
        try checkNoRepeats(modelValues.map(\.name), option: "--model")
        if hasNetwork {
            if input.regression { throw ValidationError("--model mlp is for classification; --regression trains the linear model only") }
            if !hasLinear && !learnerOptions.lossValues.isEmpty {
                throw ValidationError("--loss chooses the linear model's loss; --model mlp always minimises cross-entropy (log-loss): drop --loss or add linear to the --model list")
            }
            if !hasLinear && learnerOptions.optimizer != .sgd {
                throw ValidationError("--optimizer \(learnerOptions.optimizer.rawValue) is for the linear model; --model mlp trains by mini-batch SGD with momentum")
            }
        } else if batchSize != nil || momentum != nil {
            throw ValidationError("--batch-size and --momentum go with --model mlp:HIDDEN")
        }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1 (got \(batchSize))") }
        if let momentum, !(momentum >= 0 && momentum < 1) { throw ValidationError("--momentum must be in [0, 1) (got \(momentum))") }
        if gridSize > 1 && holdout == nil {
            throw ValidationError("a grid of \(gridSize) settings needs --holdout FILE to choose among them")
        }
        if noL2Scaling && refit.isEmpty { throw ValidationError("--no-l2-scaling goes with --refit") }
        if halving != nil && refit.isEmpty { throw ValidationError("--\(halving! ? "" : "no-")halving goes with --refit (its second stage samples the refit data)") }
        if refit.contains("-") && input.follow == nil && (input.files.isEmpty || input.files.contains("-")) {
            throw ValidationError("--refit - and the input both read stdin; give one of them as a file")
        }
        if sweepOut != nil && !sweeps { throw ValidationError("--sweep-out goes with a grid (lists for --l2, --eta0, --loss, --epochs or --model) or --refit") }
    }

    func run() throws {
        Interruption.installSignalHandlers()
        try runReportingErrors {
            try input.checkReadable(holdout)
            try checkReadable(refit.filter { $0 != "-" }.map { Optional($0) })
            let start = monotonicSeconds()
            let diagnostics = DiagnosticSink()
            let reader = RecordReader(inputs: input.inputs, options: input.readerOptions, onDiagnostic: diagnostics.report)
            let log = try machine.openLog()
            let refitLoading = startLoadingRefit()
            var records: [Record] = []
            var streamError: CoresetError?
            do {
                while let batch = try reader.next() { records.append(contentsOf: batch.records) }
            } catch let e as CoresetError {
                streamError = e
            }
            if streamError == nil {
                try input.requireAcceptedRecords(reader.statistics, diagnostics, nonzeros: records.reduce(0) { $0 + $1.features.indices.count })
            }
            if sweeps && records.isEmpty && streamError == nil && !Interruption.requested {
                throw CoresetError.badFile(path: input.inputDescription, message: "no records: a grid or --refit chooses by training on the input, which is empty")
            }
            let labels = reader.labels
            let task: TaskKind = labels.isRegression ? .regression : (labels.classCount > 2 ? .multiclass : .binary)
            let holdoutRecords = try holdout.map { try loadRecords(path: $0, options: input.readerOptions, labels: labels) { writeDiagnostic($0) }.records } ?? []
            if sweeps {
                try sweep(records: records, reader: reader, task: task, holdoutRecords: holdoutRecords, log: log, start: start,
                          refitLoading: refitLoading)
                if let streamError { throw streamError }
                return
            }
            if let shape = networkShape(modelValues[0]) {
                try trainNetwork(shape, records: records, reader: reader, task: task, holdoutRecords: holdoutRecords, log: log, start: start)
                if let streamError { throw streamError }
                return
            }
            let epochs = epochValues[0]
            let meanSquaredNorm = EpochTrainer.meanSquaredNorm(records)
            var learner = Learner(configuration: learnerOptions.configuration(
                task: task, meanSquaredNorm: meanSquaredNorm, totalSteps: epochs * records.count))
            let trained = try EpochTrainer(records: records).train(&learner, epochs: epochs, seed: learnerOptions.learnerSeed) { epoch, averageLoss, learner in
                guard !quiet || log != nil else { return }
                var line = "epoch \(epoch)/\(epochs): average loss \(formatFixed(averageLoss, 6)), \(records.count) records, \(formatFixed(monotonicSeconds() - start, 2)) s"
                var row = [("epoch", "\(epoch)"), ("records", "\(records.count)"), ("seconds", formatFixed(monotonicSeconds() - start, 3)),
                           ("average_loss", formatFixed(averageLoss, 6))]
                if !holdoutRecords.isEmpty {
                    let h = learner.evaluate(holdoutRecords)
                    line += ", holdout loss \(formatFixed(h.loss, 6))"
                    row.append(("holdout_loss", formatFixed(h.loss, 6)))
                    if !h.accuracy.isNaN {
                        line += ", accuracy \(formatFixed(h.accuracy, 4))"
                        row.append(("holdout_accuracy", formatFixed(h.accuracy, 4)))
                    }
                }
                // On a terminal: the share of the epochs done and the time left.
                if InputSize.stderrIsTerminal { line += InputSize.bar(fraction: Double(epoch) / Double(epochs), elapsed: monotonicSeconds() - start) }
                if !quiet { writeDiagnostic(line) }
                try log?.write(row)
            }
            var lines = [
                "records_accepted\t\(reader.statistics.recordsAccepted)",
                "records_skipped\t\(reader.statistics.recordsSkipped)",
                "task\t\(task.rawValue)",
                "epochs\t\(epochs)",
                "learner_steps\t\(learner.stepCount)",
                "first_epoch_progressive_loss\t\(formatFixed(trained.firstEpochProgressive.total.value, 6))",
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
            try out.write(renderSummary(lines, json: machine.json))
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

    @Flag(name: .shortAndLong, help: "No summary on stderr (bad records are still described).")
    var quiet = false

    @OptionGroup var machine: MachineOutputOptions

    /// - Parameter fixedClasses: a label the model has no class for is a bad record (eval: it cannot be
    ///   scored); predict ignores labels, so every record gets its prediction line.
    func open(fixedClasses: Bool) throws -> (bundle: ModelBundle, learner: TrainedModel, reader: RecordReader, diagnostics: DiagnosticSink) {
        try input.checkReadable(model)
        let bundle = try ModelBundle.read(from: model)
        let learner = try bundle.trainedModel()
        var options = input.readerOptions
        options.initialLabels = bundle.labels
        options.fixedClasses = fixedClasses
        let diagnostics = DiagnosticSink()
        let reader = RecordReader(inputs: input.inputs, options: options, onDiagnostic: diagnostics.report)
        return (bundle, learner, reader, diagnostics)
    }
}

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Write one prediction per record: the predicted label, then the class probabilities (or the value, for regression).",
        discussion: CommonOptionsHelp.text([
            ("--model <file>", "the model (from run or train --model-out)"), CommonOptionsHelp.input,
            ("--no-header", "leave out the header line"), CommonOptionsHelp.quiet, CommonOptionsHelp.json,
        ], note: "A header line names the columns first: `predicted`, then each class's label in the order of the probabilities (`prediction` alone for regression). A model whose features do not fit the data (most feature values of the first records at features it lacks) is refused with exit code 65."))

    @OptionGroup var modelInput: ModelInput

    @Flag(name: .long, help: "Leave out the header line.")
    var noHeader = false

    func run() throws {
        Interruption.installSignalHandlers()
        try runReportingErrors {
            let (bundle, learner, reader, diagnostics) = try modelInput.open(fixedClasses: false)
            let shape = ModelShape(learner, labels: bundle.labels)
            let out = TextOutput(descriptor: 1)
            let regression = learner.isRegression
            // Probability columns, one per class; none for a loss without probabilities (hinge).
            let columns = learner.probabilities(FeatureVector()).isEmpty ? [] : shape.classes ?? []
            let start = monotonicSeconds()
            var first = true
            while let batch = try reader.next() {
                if first {
                    // Checked before anything is written, so a wrong model leaves stdout empty.
                    try shape.check(batch, input: modelInput.input.inputDescription, model: modelInput.model, checkClasses: false)
                    if !noHeader {
                        try out.write((regression ? ["prediction"] : ["predicted"] + columns).joined(separator: "\t") + "\n")
                    }
                    first = false
                }
                if regression {
                    for i in 0..<batch.count { try out.write(CoresetWriter.number(learner.predict(batch[i].features)) + "\n") }
                } else {
                    for (prediction, probabilities) in learner.classifications((0..<batch.count).map { batch[$0] }) {
                        let predicted = bundle.labels.name(of: Int(prediction))
                        try out.write(([predicted] + probabilities.map { formatFixed($0, 6) }).joined(separator: "\t") + "\n")
                    }
                }
            }
            if first && !noHeader {
                try out.write((regression ? ["prediction"] : ["predicted"] + columns).joined(separator: "\t") + "\n")
            }
            try out.flush()
            let st = reader.statistics
            let summary = ["records_accepted\t\(st.recordsAccepted)", "records_skipped\t\(st.recordsSkipped)",
                           "seconds\t\(formatFixed(monotonicSeconds() - start, 3))"]
            // stdout carries the predictions: the summary goes to stderr.
            if modelInput.machine.json {
                writeDiagnostic(renderSummary(summary, json: true).dropLast().description)
            } else if !modelInput.quiet {
                writeDiagnostic("predict: \(st.recordsAccepted) records, \(st.recordsSkipped) skipped")
            }
            try modelInput.machine.openLog()?.write([("records", "\(st.recordsAccepted)"), ("skipped", "\(st.recordsSkipped)"),
                                                     ("seconds", formatFixed(monotonicSeconds() - start, 3))])
            try modelInput.input.requireAcceptedRecords(st, diagnostics)
        }
    }
}

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a model on records: loss, accuracy and AUC (binary).",
        discussion: CommonOptionsHelp.text([
            ("--model <file>", "the model (from run or train --model-out)"), CommonOptionsHelp.input, CommonOptionsHelp.quiet, CommonOptionsHelp.json,
        ], note: "A record whose label is not a class of the model is a bad record; a run that accepts none, or data whose features do not fit the model, exits with code 65."))

    @OptionGroup var modelInput: ModelInput

    func run() throws {
        Interruption.installSignalHandlers()
        try runReportingErrors {
            let (bundle, learner, reader, diagnostics) = try modelInput.open(fixedClasses: true)
            let start = monotonicSeconds()
            var records: [Record] = []
            var first = true
            while let batch = try reader.next() {
                if first {
                    try ModelShape(learner, labels: bundle.labels).check(batch, input: modelInput.input.inputDescription, model: modelInput.model, checkClasses: false)
                    first = false
                }
                records.append(contentsOf: batch.records)
            }
            try modelInput.input.requireAcceptedRecords(reader.statistics, diagnostics)
            let out = TextOutput(descriptor: 1)
            let lines = metricLines(prefix: "eval", learner.evaluate(records)) + ["eval_records_skipped\t\(reader.statistics.recordsSkipped)"]
            try out.write(renderSummary(lines, json: modelInput.machine.json))
            try out.flush()
            try modelInput.machine.openLog()?.write([("records", "\(records.count)"), ("seconds", formatFixed(monotonicSeconds() - start, 3))])
            if !modelInput.quiet && reader.statistics.recordsSkipped > 0 {
                writeDiagnostic("eval: \(reader.statistics.recordsSkipped) records skipped")
            }
        }
    }
}
