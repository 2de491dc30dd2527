import ArgumentParser
import CoresetKit

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the weighted coresets of shards into one of size k (the same facility location, weights carried over).",
        discussion: """
            Each CORESET is a file written by `coreset select` or `coreset merge`. Lazy greedy picks \
            k elements of their weighted union per class share, covering a reference sample (O(n k)); \
            every element's weight goes to its most similar pick. Merged elements name their origin S:P.
            """ + "\n\n" + CommonOptionsHelp.text([
                ("-k <k>", "elements in the merged coreset"), ("-o, --output <file>", "write it here (atomically) instead of stdout"),
                ("--output-format <f>", "libsvm (default), csv, jsonl, vw"),
                CommonOptionsHelp.quiet, CommonOptionsHelp.json,
            ]))

    @Argument(help: "Coreset files (zstd, gzip or plain; '-' is stdin).")
    var coresets: [String]

    @Option(name: .short, help: "Elements in the merged coreset, shared across classes.")
    var k: Int

    @Option(name: .long, help: "Format of the input coresets (default: told from each file's first line).")
    var inputFormat: CoresetFormat?

    @OptionGroup var outputOptions: CoresetOutputOptions

    @Option(name: .long, help: "Similarity: euclidean (CRAIG's D - d), cosine, or rbf.")
    var similarity: String = "euclidean"

    @Option(name: .long, help: "RBF gamma (default: 1 / mean squared distance of the scale sample).")
    var gamma: Double?

    @Option(name: .long, help: "Budget split across classes: proportional (to the classes' weights) or equal.")
    var perClass: SelectorConfiguration.BudgetSplit = .proportional

    @Option(name: .long, help: "Elements, spread over the union, that fix the similarity scale.")
    var scaleSample: Int = 1000

    @Option(name: .long, help: "Reference elements per merged element of a class (the ground set the greedy covers).")
    var referencePerPick: Int = 8

    @Option(name: .long, help: "A class with at most this many elements is covered exactly (its own reference).")
    var referenceMinimum: Int = 2048

    @Flag(name: .long, help: "Cover every element of the union (the exact objective; O(n^2) similarities).")
    var exact = false

    @Option(name: .long, help: "Origin shard of the first CORESET's elements; the next files count up from it.")
    var firstShard: Int = 0

    @Option(name: .long, help: "A model file: distances are measured in gradient space at it (as `select --model`).")
    var model: String?

    @Flag(name: .long, help: "Labels are real-valued targets (regression).")
    var regression = false

    @Option(name: .long, help: "VW input: bits of the hashed feature space.")
    var hashBits: Int = 18

    @Flag(name: .long, help: "The files number features from 0 (VW and JSON Lines coresets written by coreset 0.1; coresets number them from 1 now, as LIBSVM).")
    var zeroBased = false

    @Flag(name: .shortAndLong, help: "No summary on stderr.")
    var quiet = false

    @OptionGroup var machine: MachineOutputOptions

    var mergeConfiguration: CoresetMerge.Configuration {
        let sim: SelectorConfiguration.Similarity
        switch similarity {
        case "cosine": sim = .cosine
        case "rbf": sim = .rbf(gamma: gamma)
        default: sim = .euclidean
        }
        return CoresetMerge.Configuration(k: k, similarity: sim, budgetSplit: perClass, scaleSampleSize: scaleSample,
                                          referencePerPick: referencePerPick, referenceMinimum: exact ? Int.max : referenceMinimum,
                                          firstShard: firstShard)
    }

    func validate() throws {
        if coresets.isEmpty { throw ValidationError("give at least one coreset file") }
        guard ["euclidean", "cosine", "rbf"].contains(similarity) else {
            throw ValidationError("--similarity must be euclidean, cosine or rbf")
        }
        if gamma != nil && similarity != "rbf" { throw ValidationError("--gamma applies to --similarity rbf only") }
        if let message = mergeConfiguration.validationError() { throw ValidationError(message) }
        if !(1...32).contains(hashBits) { throw ValidationError("--hash-bits must be between 1 and 32") }
    }

    func run() throws {
        try runReportingErrors {
            let start = monotonicSeconds()
            let log = try machine.openLog()
            var options = ReaderOptions()
            options.regression = regression
            options.hashBits = hashBits
            options.zeroBasedIndices = zeroBased
            var embedding: (any GradientEmbedding)?
            var task: TaskKind = regression ? .regression : .multiclass
            if let model {
                let bundle = try ModelBundle.read(from: model)
                var learner = try bundle.learner()
                embedding = learner.snapshot()
                options.initialLabels = bundle.labels
                if learner.configuration.task == .regression { task = .regression }
            }
            var reader = CoresetFileReader(format: inputFormat, options: options)
            var shards: [WeightedCoreset] = []
            for path in coresets { shards.append(try reader.read(path: path)) }
            let result = CoresetMerge.merge(shards, task: task, configuration: mergeConfiguration, embedding: embedding)

            let weightsFile = try outputOptions.weightsFile.map { path throws(CoresetError) in try AtomicFile(path: path) }
            var dimension = 0
            for s in shards { for e in s.elements { dimension = max(dimension, e.record.features.dimension) } }
            let writer = CoresetWriter(format: outputOptions.outputFormat ?? .libsvm, labels: reader.labels,
                                       dimension: max(dimension, reader.context.featureNames.count),
                                       featureNames: reader.context.featureNames, weightsOutput: weightsFile?.output)
            if let path = outputOptions.output {
                let file = try AtomicFile(path: path)
                try file.writing { try writer.write(result.coreset, to: $0) }
                try file.commit()
            } else {
                try writer.write(result.coreset, to: TextOutput(descriptor: 1))
            }
            try weightsFile?.commit()

            // Weight is carried over per class; a class left without an element (k below the number of
            // classes) has nowhere to put its weight: say so.
            var classIds = Set<Int>()
            for s in shards { for e in s.elements { classIds.insert(e.classIndex) } }
            for c in classIds.sorted() {
                let before = shards.reduce(0.0) { $0 + $1.totalWeight(ofClass: c) }
                let after = result.coreset.totalWeight(ofClass: c)
                if abs(before - after) > 1e-9 * max(1, before) {
                    writeDiagnostic("warning: class \(reader.labels.isRegression ? "0" : reader.labels.name(of: c)) carries weight \(formatFixed(after, 3)) of the shards' \(formatFixed(before, 3)): k = \(k) is smaller than the number of classes (\(classIds.count))")
                }
            }
            let shardWeight = shards.reduce(0.0) { $0 + $1.totalWeight }
            let seconds = formatFixed(monotonicSeconds() - start, 3)
            try log?.write([("coresets", "\(shards.count)"), ("elements_in", "\(result.unionCount)"), ("elements", "\(result.coreset.count)"), ("seconds", seconds)])
            if machine.json {
                // stdout carries the merged coreset: the summary object goes to stderr.
                writeDiagnostic(String(renderSummary([
                    "coresets\t\(shards.count)", "elements_in\t\(result.unionCount)", "weight_in\t\(formatFixed(shardWeight, 3))",
                    "elements\t\(result.coreset.count)", "total_weight\t\(formatFixed(result.coreset.totalWeight, 3))",
                    "objective\t\(formatFixed(result.value, 3))", "objective_ceiling\t\(formatFixed(result.ceiling, 3))", "seconds\t\(seconds)",
                ], json: true).dropLast()))
            } else if !quiet {
                writeDiagnostic("merge: \(shards.count) coresets, \(result.unionCount) elements, weight \(formatFixed(shardWeight, 3)) -> \(result.coreset.count) elements, weight \(formatFixed(result.coreset.totalWeight, 3)); objective \(formatFixed(result.value, 3)) of \(formatFixed(result.ceiling, 3)) (every element kept) = \(formatFixed(result.ceiling > 0 ? result.value / result.ceiling : 1, 4))")
            }
        }
    }
}
