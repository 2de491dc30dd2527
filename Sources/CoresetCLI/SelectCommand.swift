import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CoresetKit

extension SelectorConfiguration.Algorithm: ExpressibleByArgument {}
extension SelectorConfiguration.Space: ExpressibleByArgument {}
extension SelectorConfiguration.BudgetSplit: ExpressibleByArgument {}
extension SelectorConfiguration.Weighting: ExpressibleByArgument {}
extension SelectorConfiguration.Representatives: ExpressibleByArgument {}
extension CoresetFormat: ExpressibleByArgument {}

/// Options that choose the selector, shared by `select` and `run`.
struct SelectionOptions: ParsableArguments {
    @Option(name: .short, help: "Coreset size: elements in total, shared across classes.")
    var k: Int = 1000

    @Option(name: .customLong("algorithm"), help: "Algorithm: sample-greedy (the default: a uniform reservoir per class while reading, lazy greedy over it, in cells of nearby records, when the coreset is read out; a record costs a reservoir draw whatever k is), sieve, sieve++ (the default with --window or --half-life), three-sieves, or greedy (offline lazy greedy; keeps the stream in memory).")
    var algorithmChoice: SelectorConfiguration.Algorithm?

    /// `--algorithm`, else sample-greedy, or sieve++ where a window or half-life needs a streaming sieve.
    var algorithm: SelectorConfiguration.Algorithm {
        algorithmChoice ?? (window != nil || halfLife != nil ? .sieveStreamingPlusPlus : .sampleGreedy)
    }

    @Option(name: .long, help: "Step of the threshold grid (1+epsilon)^i.")
    var epsilon: Double = 0.1

    @Option(name: .long, help: "ThreeSieves' patience T: rejections in a row before the threshold drops.")
    var patience: Int = 500

    @Option(name: .long, help: "Similarity: euclidean (CRAIG's D - d), cosine, or rbf (default: euclidean; for --format text, cosine saturated at 0.6, see --saturation).")
    var similarity: String?

    @Option(name: .long, help: "Cosine: a cosine of at least this counts as full similarity (saturated cosine s = min(1, max(0, cos) / t); 1 = no saturation). Implies cosine. Default: plain, or 0.6 for --format text.")
    var saturation: Double?

    @Option(name: .long, help: "RBF gamma (default: 1 / mean squared distance of the warm-up records).")
    var gamma: Double?

    @Option(name: .long, help: "Distance space: feature (CRAIG) or gradient (loss gradients at the current model; feature space until a model exists).")
    var space: SelectorConfiguration.Space = .gradient

    @Option(name: .long, help: "Budget split across classes: proportional (CRAIG) or equal.")
    var perClass: SelectorConfiguration.BudgetSplit = .proportional

    @Option(name: .long, help: "Smallest per-class reference reservoir: the records the objective is measured on (the ground set). A class's reservoir holds max(this, --reference-factor x the class's share of k) records. Default: 2000 for sample-greedy, 1000 for the sieves (their time per record grows with it).")
    var referenceSize: Int?

    @Option(name: .long, help: "Reference records per element of a class's budget (see --reference-size), so every class has at least its budget of candidates and the coreset has k elements; 0 keeps every reservoir at --reference-size. Default: 8 for sample-greedy, 2 for the sieves.")
    var referenceFactor: Int?

    @Option(name: .long, help: "Records from which the similarity scale is fixed.")
    var warmUp: Int = 500

    @Option(name: .long, help: "Represent only the last N records.")
    var window: Int?

    @Option(name: .long, help: "Input weights decay by half every N records, and the selection follows the recent part of the stream.")
    var halfLife: Double?

    @Option(name: .long, help: "Gradient space: re-select when the reference gradients moved by this relative amount.")
    var reselectThreshold: Double = 0.1

    @Option(name: .long, help: "Gradient space: after a re-selection at record n, wait at least this many times n more records before the next (capped by --window or --half-life); 0 re-selects whenever the threshold is passed.")
    var reselectSpacing: Double = 1

    @Option(name: .long, help: "Seed for the reservoirs.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "Deal the stream round-robin to this many independent selectors of k/N elements each and write the union of their picks, every shard's weight moved onto the whole union (per-class weights stay exact): a large k then costs what selectors of k/N cost, at some loss of quality, since each shard picks from its own records only.")
    var shards: Int = 1

    @Option(name: .long, help: "Element weights: nearest (CRAIG: each record's weight to its most similar element) or gradient-match, the default (gradient space: those weights fitted to the whole gradient at the model, from the classes' gradient sums kept as the stream flows, each class keeping its total; feature space and --window keep nearest).")
    var weighting: SelectorConfiguration.Weighting = .gradientMatch

    @Option(name: .long, help: "Candidate screen: once a class's sieves run, a record is offered to them with probability min(1, F x its reservoir size / its records so far); the others still count in the weights, at the cost of reading them. 0 offers every record (slower, the same quality within the run-to-run spread; see docs/selection-cost.md).")
    var candidateFactor: Double = SelectorConfiguration.defaultCandidateFactor

    @Option(name: .long, help: "sample-greedy: most references one greedy sees; a larger class reservoir is split into cells of nearby references, each choosing its share of k (a read-out costs O(reservoir x this) similarities); a cell with more than 64 references per pick measures coverage on 64 of them per pick.")
    var cellSize: Int = SelectorConfiguration.defaultCellSize

    @Option(name: .long, help: "What stands for each chosen element: medoids (the default: the elements facility location chooses, CRAIG's coreset) or sampled (sample-greedy: a record drawn from each element's cell by weight, with the cell's weight; a stratified sample, for learners of other libraries such as boosted trees; see docs/selection.md).")
    var representatives: SelectorConfiguration.Representatives = .medoids

    var configuration: SelectorConfiguration {
        let sim: SelectorConfiguration.Similarity
        // --saturation alone implies cosine.
        switch similarity ?? (saturation != nil ? "cosine" : "euclidean") {
        case "cosine": sim = saturation.map { .saturatedCosine(threshold: $0) } ?? .cosine
        case "rbf": sim = .rbf(gamma: gamma)
        default: sim = .euclidean
        }
        var c = SelectorConfiguration(
            k: k, algorithm: algorithm, epsilon: epsilon, threeSievesPatience: patience, similarity: sim,
            space: space, budgetSplit: perClass, referenceSize: referenceSize, referenceFactor: referenceFactor, warmUp: warmUp, window: window,
            halfLife: halfLife, reselectionThreshold: reselectThreshold, reselectionSpacing: reselectSpacing, seed: seed, shards: shards, weighting: weighting,
            candidateFactor: candidateFactor, cellSize: cellSize)
        c.representatives = representatives
        return c
    }

    func validate() throws {
        guard ["euclidean", "cosine", "rbf"].contains(similarity ?? "euclidean") else {
            throw ValidationError("--similarity must be euclidean, cosine or rbf")
        }
        if gamma != nil && similarity != "rbf" { throw ValidationError("--gamma applies to --similarity rbf only") }
        if saturation != nil && similarity != nil && similarity != "cosine" { throw ValidationError("--saturation applies to --similarity cosine only") }
        if let message = configuration.validationError() { throw ValidationError(message) }
    }
}

extension SelectionOptions {
    /// Why a coreset (or replay memory) can hold fewer than k elements with these options.
    var shortfallReason: String {
        if referenceFactor == 0 {
            return "a class's candidates (its stored elements and its \(configuration.referenceSize)-record reference reservoir) were fewer than its budget; raise --reference-size, or drop --reference-factor 0"
        }
        return "a class had fewer candidates than its budget (its reservoir holds max(--reference-size, --reference-factor x its share) records): it sent fewer records than its budget"
            + (window != nil ? " in the window" : "") + (halfLife != nil ? ", or its --half-life budget outgrew its share by record count" : "")
    }
}

/// Where and how a coreset is written.
struct CoresetOutputOptions: ParsableArguments {
    @Option(name: .long, help: "Output format: libsvm (label:weight, or --weights-file), csv, jsonl, vw (native importance weight). Default: libsvm; with --format text, the representative lines themselves (weight, id, [class,] line; most weight first).")
    var outputFormat: CoresetFormat?

    @Option(name: [.short, .long], help: "Write the coreset to this file (atomically replaced at every emission) instead of stdout.")
    var output: String?

    @Option(name: .long, help: "LIBSVM: write weights to this sidecar file, one per line, and plain labels to the coreset.")
    var weightsFile: String?

    func validate() throws {
        if weightsFile != nil && (outputFormat ?? .libsvm) != .libsvm { throw ValidationError("--weights-file goes with --output-format libsvm") }
    }
}

struct SelectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "select",
        abstract: "Stream records through a bounded-memory weighted coreset (sieve-streaming facility location) and write it.",
        discussion: CommonOptionsHelp.text([
            ("-k <k>", "coreset size (default 1000)"), CommonOptionsHelp.input,
            ("-o, --output <file>", "write the coreset here (atomically) instead of stdout"),
            ("--output-format <f>", "libsvm (default), csv, jsonl, vw"),
            ("--emit-every <n>", "also emit the coreset every N records"),
            ("--model <file>", "measure distances in gradient space at a saved model"),
            ("--fit-model", "fit a linear model first, then select at it (files)"),
            CommonOptionsHelp.quiet, CommonOptionsHelp.json, CommonOptionsHelp.progressLog,
        ], note: """
            The coreset is written at the end of the stream and, with --emit-every N, every N records \
            (to stdout, each emission preceded by a '# coreset ...' comment line; with -o the file is \
            replaced atomically each time). Every element keeps a stable id: its position in the stream.
            """))

    @OptionGroup var input: InputOptions
    @OptionGroup var selection: SelectionOptions
    @OptionGroup var outputOptions: CoresetOutputOptions

    /// The default saturation threshold for text input (tools/bench_logs/RESULTS.md).
    static let textSaturation = 0.6

    @Option(name: .long, help: "A model file (from `coreset run/train --model-out`): distances are measured in gradient space at it.")
    var model: String?

    @Flag(name: .long, help: "Read the input twice: first fit a linear model in one online pass (`coreset run`'s learner at its defaults), then select in gradient space at it, as --model does with a saved model. With the sieves it served boosted trees (at k = 10%) and logistic regression trained on the coreset better than feature space; with sample-greedy it did not, and kernel SVMs do better in feature space, the default (tools/bench_downstream/RESULTS.md). Files only.")
    var fitModel = false

    @Option(name: .long, help: "Also emit the coreset every N records.")
    var emitEvery: Int?

    @Option(name: .long, help: "Worker threads for selection (default: the cores available; at most 4 per core): classes, or shards with --shards, are dealt to them; the output is the same at any count. --window, --half-life and greedy use one.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    /// The selector as this command runs it.
    func threaded(_ s: CoresetSelector) -> CoresetSelector {
        s.useThreads(threads)
        return s
    }

    @Flag(name: .shortAndLong, help: "No progress on stderr.")
    var quiet = false

    @OptionGroup var machine: MachineOutputOptions

    @OptionGroup(title: "Checkpoints") var checkpoint: CheckpointOptions

    func validate() throws {
        if let e = emitEvery, e < 1 { throw ValidationError("--emit-every must be at least 1") }
        if !(1...maxThreads).contains(threads) { throw ValidationError("--threads must be in 1...\(maxThreads) (4 per core)") }
        try checkpoint.validate(inputs: input)
        if selection.window != nil && selection.algorithm == .greedy { throw ValidationError("--window needs a streaming algorithm") }
        if fitModel {
            if model != nil { throw ValidationError("--fit-model fits the model --model would give: pass one of them") }
            if selection.space != .gradient { throw ValidationError("--fit-model selects in gradient space: drop --space \(selection.space.rawValue)") }
            if input.inputs.isEmpty || input.inputs.contains(where: { if case .file = $0 { return false } else { return true } }) {
                throw ValidationError("--fit-model reads the input twice: give files (not stdin or --follow)")
            }
            if checkpoint.state != nil { throw ValidationError("--fit-model cannot be checkpointed (--state): its first pass is not saved") }
        }
    }

    func run() throws {
        Interruption.installSignalHandlers()
        try runReportingErrors {
            // Text input without an explicit output format prints the representative lines themselves.
            let printsLines = input.format == .text && outputOptions.outputFormat == nil
            var readerOptions = input.readerOptions
            readerOptions.text.keepLines = printsLines
            try input.checkReadable(model)
            let diagnostics = DiagnosticSink()
            let reader = RecordReader(inputs: input.inputs, options: readerOptions, onDiagnostic: diagnostics.report)
            let texts = LineTextStore()
            var task: TaskKind = input.regression ? .regression : .multiclass
            var snapshot: (any GradientEmbedding)?
            var modelShape: ModelShape?
            if let model {
                let bundle = try ModelBundle.read(from: model)
                var learner = try bundle.learner()
                snapshot = learner.snapshot()
                modelShape = ModelShape(learner, labels: bundle.labels)
                if learner.configuration.task == .regression { task = .regression }
            }
            if fitModel {
                // The first pass's bad records are reported by the selection pass, which reads the same input.
                let pass = RecordReader(inputs: input.inputs, options: input.readerOptions)
                let fit = try QuickLinearModel.fit(pass, regression: input.regression)
                if Interruption.requested { throw ExitCode(Interruption.exitCode) }
                if var learner = fit?.learner {
                    snapshot = learner.snapshot()
                    if learner.configuration.task == .regression { task = .regression }
                }
                if let fit, fit.skipped > 0 {
                    writeDiagnostic("warning: --fit-model: the model is binary (decided from the first records); \(fit.skipped) records of later classes were left out of it")
                }
                if let fit, !quiet { writeDiagnostic("fit-model: a \(fit.learner.configuration.task) linear model from one pass over \(fit.records) records") }
            }
            let log = try machine.openLog()
            let size = InputSize(input)
            var configuration = selection.configuration
            // Log lines: saturated cosine, which measured best on real logs (tools/bench_logs/RESULTS.md).
            if input.format == .text && selection.similarity == nil {
                configuration.similarity = .saturatedCosine(threshold: selection.saturation ?? Self.textSaturation)
            }
            var selector = threaded(CoresetSelector(configuration: configuration, task: task))
            if let snapshot { selector.updateModel(snapshot) }
            var summary = StreamSummary(regression: input.regression)
            let progress = ProgressReporter(enabled: !quiet)
            let emitter = CoresetEmitter(options: outputOptions, lines: printsLines ? texts : nil, labelled: input.text.isLabelled)
            var nextEmit = emitEvery.map(UInt64.init)
            // Checkpoints: between batches, every --checkpoint-every, and when the stream ends or is interrupted.
            let fingerprint = CheckpointOptions.fingerprint(Array(CommandLine.arguments.dropFirst()))
            var identities: [InputIdentity] = []
            var unsaved = true
            if let dir = checkpoint.state {
                // The lines' text is not in the checkpoint, so a resumed summary could not print the lines it holds.
                if printsLines { throw CoresetError.usage("--state cannot resume a --format text summary of lines (their text is not checkpointed); add --output-format to write vectors") }
                try StateDirectory.acquire(dir)
                for case .file(let path) in input.inputs { identities.append(try InputIdentity(path: path)) }
                if let saved = try SelectState.read(fromDirectory: dir) {
                    try saved.check(options: fingerprint, inputs: identities, directory: dir)
                    selector = threaded(try CoresetSelector(restoring: saved.selector, configuration: configuration, task: saved.task, source: "checkpoint"))
                    try reader.resume(from: saved.reader, source: "checkpoint")
                    summary = saved.summary
                    nextEmit = saved.nextEmit
                    emitter.emissions = saved.emissions
                    unsaved = false
                    if !quiet { writeDiagnostic("resuming from \(dir) after record \(saved.reader.statistics.recordsAccepted)") }
                }
            }
            // Parsing runs on a thread of its own, a batch or two ahead of the selection.
            let stream = ReadAheadReader(reader)
            let loop = SelectionRun(stream: stream, selector: selector, summary: summary, emitEvery: emitEvery, nextEmit: nextEmit)
            loop.unsaved = unsaved
            if let dir = checkpoint.state {
                loop.checkpoints = .init(schedule: CheckpointSchedule(every: checkpoint.checkpointEvery)) { [unowned loop] in
                    guard let position = stream.position else { return }
                    try SelectState(options: fingerprint, inputs: identities, reader: position, task: loop.selector.task,
                                    selector: try loop.selector.encodedState(), summary: loop.summary, nextEmit: loop.nextEmit,
                                    emissions: emitter.emissions).write(toDirectory: dir)
                }
            }
            func line() -> String {
                let s = stream.statistics
                let t = max(progress.elapsed, 1e-9)
                return "\(s.recordsAccepted) records, \(s.recordsSkipped) skipped, stored \(selector.storedElementCount), "
                    + formatRate(Double(s.recordsAccepted) / t, unit: "records/s") + ", "
                    + formatRate(Double(s.bytesOut) / t / 1e6, unit: "MB/s")
                    + size.bar(bytesRead: s.bytesIn, elapsed: t)
            }
            func logRow() -> [(String, String)] {
                let s = stream.statistics
                return [("records", "\(s.recordsAccepted)"), ("skipped", "\(s.recordsSkipped)"), ("bytes_in", "\(s.bytesIn)"),
                        ("stored", "\(selector.storedElementCount)"), ("seconds", formatFixed(progress.elapsed, 3))]
            }
            loop.onBatch = { batch in
                if let shape = modelShape {
                    // Class ids compare with the model's only for numeric labels (string ids follow first appearance).
                    try shape.check(batch, input: input.inputDescription, model: model ?? "", checkClasses: stream.labels.hasNumericLabels)
                    modelShape = nil
                }
                if printsLines { texts.add(stream.takeKeptLines()) }
            }
            loop.onEmit = { [unowned loop] records in try emitter.emit(selector, reader: stream, summary: loop.summary, records: records) }
            loop.afterBatch = {
                if printsLines { texts.pruneIfGrown { selector.heldPositions } }
                progress.update(count: stream.statistics.recordsAccepted, line)
                try log?.update(count: stream.statistics.recordsAccepted, logRow)
            }
            // A stream fault still selects and writes what was read before it.
            let failure = try loop.run().streamError
            summary = loop.summary
            // Before the end-of-stream emission, so a wrong -f leaves -o as it was.
            if failure == nil { try input.requireAcceptedRecords(stream.statistics, diagnostics, nonzeros: Int(summary.nonzeros)) }
            selector.finish()
            progress.finish(line())
            try log?.write(logRow())
            // What was accepted before a fault is still selected and written.
            let c = try emitter.emit(selector, reader: stream, summary: summary, records: stream.statistics.recordsAccepted, final: true)
            let expected = selector.configuration.halfLife == nil && selector.configuration.window == nil ? summary.totalWeight : nil
            if let expected, abs(c.totalWeight - expected) > 1e-6 * max(1, expected) {
                // Only when k is smaller than the number of classes: a class without an element has
                // nowhere to put its weight. Say so rather than drop it silently.
                writeDiagnostic("warning: the coreset carries weight \(formatFixed(c.totalWeight, 3)) of the input's \(formatFixed(expected, 3)): k = \(selection.k) is smaller than the number of classes (\(selector.classCount)), and classes without an element are not represented")
            }
            if c.count < selection.k && UInt64(selection.k) < summary.records {
                writeDiagnostic("warning: the coreset holds \(c.count) elements, fewer than k = \(selection.k): \(selection.shortfallReason)")
            }
            if machine.json {
                // stdout carries the coreset: the summary object goes to stderr.
                let st = stream.statistics
                writeDiagnostic(String(renderSummary([
                    "records_accepted\t\(st.recordsAccepted)", "records_skipped\t\(st.recordsSkipped)", "elements\t\(c.count)",
                    "total_weight\t\(formatFixed(c.totalWeight, 3))", "input_weight\t\(formatFixed(summary.totalWeight, 3))",
                    "stored\t\(selector.storedElementCount)", "stored_bound\t\(selector.storedElementBound)",
                    "reselections\t\(selector.reselectionCount)", "seconds\t\(formatFixed(progress.elapsed, 3))",
                ], json: true).dropLast()))
            } else if !quiet {
                writeDiagnostic("coreset: \(c.count) elements, total weight \(formatFixed(c.totalWeight, 3)) (input weight \(formatFixed(summary.totalWeight, 3))), stored \(selector.storedElementCount) of bound \(selector.storedElementBound), \(selector.reselectionCount) reselections")
            }
            if let failure { throw failure }
        }
    }
}

/// Writes coresets to stdout or a file, once or repeatedly.
final class CoresetEmitter {
    let options: CoresetOutputOptions
    /// Text input: the lines' text, to print representative lines instead of vectors.
    let lines: LineTextStore?
    let labelled: Bool
    var emissions = 0
    private let stdout = TextOutput(descriptor: 1)

    init(options: CoresetOutputOptions, lines: LineTextStore? = nil, labelled: Bool = false) {
        self.options = options
        self.lines = lines
        self.labelled = labelled
    }

    @discardableResult
    func emit(_ selector: CoresetSelector, reader: ReadAheadReader, summary: StreamSummary, records: UInt64, final: Bool = false) throws -> WeightedCoreset {
        emissions += 1
        let coreset = selector.coreset
        // Finite weights can sum past Double's range; an `inf` weight would be written as one, and
        // coreset itself refuses to read it back. Fail clearly instead (before -o is touched).
        if let bad = coreset.elements.first(where: { !$0.weight.isFinite }) {
            throw CoresetError.badFile(path: reader.currentInputName.isEmpty ? "input" : reader.currentInputName,
                message: "the record weights sum past the largest number representable (about 1.8e308): the weight of element id=\(bad.record.position) is infinite; scale the input weights down")
        }
        if let lines {
            let writer = RepresentativeLinesWriter(labels: labelled ? reader.labels : nil)
            if let path = options.output {
                let file = try AtomicFile(path: path)
                try file.writing { try writer.write(coreset, texts: lines, to: $0) }
                try file.commit()
            } else {
                if !final || emissions > 1 {
                    try stdout.write("# summary after \(records) lines: \(coreset.count) representative lines, weight \(formatFixed(coreset.totalWeight, 3))\n")
                }
                try writer.write(coreset, texts: lines, to: stdout)
            }
            return coreset
        }
        let weightsOut: TextOutput?
        var weightsFile: AtomicFile?
        if let path = options.weightsFile {
            weightsFile = try AtomicFile(path: path)
            weightsOut = weightsFile!.output
        } else {
            weightsOut = nil
        }
        let writer = CoresetWriter(
            format: options.outputFormat ?? .libsvm, labels: reader.labels, dimension: summary.dimension,
            featureNames: reader.featureNames, weightsOutput: weightsOut,
            zeroBased: false)
        if let path = options.output {
            let file = try AtomicFile(path: path)
            try file.writing { try writer.write(coreset.weightedRecords, to: $0) }
            try file.commit()
        } else {
            if !final || emissions > 1 {
                try stdout.write("# coreset after \(records) records: \(coreset.count) elements, weight \(formatFixed(coreset.totalWeight, 3))\n")
            }
            try writer.write(coreset.weightedRecords, to: stdout)
        }
        try weightsFile?.commit()
        return coreset
    }
}
