import CoresetKit

/// Bad-record descriptions go to stderr as they come; the first is kept, to explain a run that
/// accepted none.
final class DiagnosticSink: @unchecked Sendable {
    private(set) var first: String?
    private let echo: Bool

    /// - Parameter echo: write each description to stderr (false: keep the first only).
    init(echo: Bool = true) {
        self.echo = echo
    }

    func report(_ message: String) {
        if first == nil { first = message }
        if echo { writeDiagnostic(message) }
    }
}

extension InputOptions {
    /// Where the records came from, for a message: the files, the followed file or stdin.
    var inputDescription: String {
        if let follow { return follow }
        return files.isEmpty ? "<stdin>" : files.joined(separator: ", ")
    }

    /// Exit 65 when lines came in and none was a record (a wrong `-f`, binary input): finishing with
    /// an empty result would hide the mistake. Empty input is not an error, nor an interrupted run.
    /// Likewise when records came but none has a feature (`-f csv` on LIBSVM lines reads each line
    /// as a label alone), given `nonzeros`, the feature values read.
    func requireAcceptedRecords(_ statistics: IngestStatistics, _ diagnostics: DiagnosticSink, nonzeros: Int? = nil) throws(CoresetError) {
        guard !Interruption.requested else { return }
        if statistics.recordsAccepted == 0 && statistics.recordsSkipped > 0 {
            throw .badFile(path: inputDescription, message:
                "no record accepted: all \(statistics.recordsSkipped) records were bad, so this is not --format \(format.rawValue) data as read with these options (the first: \(diagnostics.first ?? "not reported"))")
        }
        if let nonzeros, nonzeros == 0, statistics.recordsAccepted > 0 {
            throw .badFile(path: inputDescription, message:
                "no record has a feature: the \(statistics.recordsAccepted) records read are labels alone, so this is not --format \(format.rawValue) data as read with these options")
        }
    }
}

/// What a model knows: its features and, for a classifier, its classes.
struct ModelShape {
    var featureCount: Int
    /// Class labels in id order; nil for regression.
    var classes: [String]?

    init(_ model: TrainedModel, labels: LabelMap) {
        // A linear classifier's classes are its class count: losses without probabilities (hinge)
        // have none to count.
        let classCount: Int
        switch model {
        case .linear(let l):
            featureCount = l.featureCount
            classCount = max(l.classCount, l.probabilities(FeatureVector()).count)
        case .network(let n):
            featureCount = n.inputDimension
            classCount = n.probabilities(FeatureVector()).count
        }
        classes = model.isRegression ? nil : (0..<classCount).map { labels.name(of: $0) }
    }

    init(_ learner: Learner, labels: LabelMap) {
        self.init(.linear(learner), labels: labels)
    }

    /// Refuses data that does not fit the model, judged on a first batch: most feature values at
    /// indices the model lacks (another data set, `-f`, `--hash-bits` or `--zero-based`), or, with
    /// `checkClasses`, no label that is one of the model's classes. The model would answer every
    /// record all the same, from its bias alone or for the wrong classes.
    func check(_ batch: RecordBatch, input: String, model: String, checkClasses: Bool) throws(CoresetError) {
        guard batch.count > 0 else { return }
        var values = 0, outside = 0
        var knownClass = false
        for i in 0..<batch.count {
            let r = batch[i]
            for j in r.features.indices {
                values += 1
                if Int(j) >= featureCount { outside += 1 }
            }
            if let classes, Int(r.label) < classes.count { knownClass = true }
        }
        if values > 0 && 2 * outside > values {
            throw .badFile(path: input, message:
                "does not fit the model \(model): \(outside) of the \(values) feature values of its first \(batch.count) records are at features the model does not have (it has \(featureCount)); was the model trained on other data, or read with another -f, --hash-bits or --zero-based?")
        }
        if checkClasses, let classes, !knownClass {
            throw .badFile(path: input, message:
                "does not fit the model \(model): none of the labels of its first \(batch.count) records is a class of the model (classes: \(classes.joined(separator: ", ")))")
        }
    }
}

extension InputOptions {
    /// The first batch of the input files, read on its own (to check a model before a run starts);
    /// nil for stdin or a followed file, which cannot be read twice.
    func firstBatch(options: ReaderOptions) throws(CoresetError) -> RecordBatch? {
        guard !inputs.isEmpty, inputs.allSatisfy(\.isResumable) else { return nil }
        var o = options
        o.maxReported = 0
        let reader = RecordReader(inputs: inputs, options: o) { _ in }
        return try reader.next()
    }
}
