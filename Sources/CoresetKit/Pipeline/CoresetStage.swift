/// Settings of a `CoresetStage`.
public struct CoresetStageConfiguration: Sendable {
    /// Binary, multiclass or regression: decides the selector's ground sets and the default learner.
    public var task: TaskKind
    /// What the coreset keeps (k, algorithm, similarity, ...).
    public var selector: SelectorConfiguration
    /// The online + replay learner; nil keeps a coreset only (no model, feature-space distances
    /// unless `selector.space` is gradient and `CoresetStage.updateModel(_:)` hands one in).
    public var learner: OnlineReplayConfiguration?
    /// Replay steps on the current coreset after each record (the learner's memory).
    public var replayStepsPerRecord: Int
    /// Records between published snapshots; the learner takes up the new coreset at the same time.
    public var snapshotEvery: Int
    /// Records between model snapshots handed to the selector (closed loop: gradient-space distances).
    public var modelUpdateEvery: Int
    /// How pushed text is decoded (format, CSV options, `strict`, `zeroBasedIndices`, ...).
    /// Compression is not decoded here: push decompressed text, or records read by a `RecordReader`.
    public var reader: ReaderOptions
    /// Snapshots kept for a slow reader of `snapshots`: the newest are kept, so the final one always arrives.
    public var snapshotBufferSize: Int

    /// - Parameters:
    ///   - task: the kind of target.
    ///   - selector: the coreset's settings.
    ///   - learner: nil for the task's default learner (SGD, replay weight 0.1, as `coreset run`);
    ///     pass `learns: false` to keep a coreset only.
    public init(task: TaskKind, selector: SelectorConfiguration, learner: OnlineReplayConfiguration? = nil, learns: Bool = true,
                replayStepsPerRecord: Int = 1, snapshotEvery: Int = 1000, modelUpdateEvery: Int = 2000,
                reader: ReaderOptions = ReaderOptions(), snapshotBufferSize: Int = 4) {
        self.task = task
        self.selector = selector
        self.learner = learns
            ? learner ?? OnlineReplayConfiguration(learner: LearnerConfiguration(task: task), replayWeight: 0.1) : nil
        self.replayStepsPerRecord = replayStepsPerRecord
        self.snapshotEvery = snapshotEvery
        self.modelUpdateEvery = modelUpdateEvery
        var r = reader
        r.regression = task == .regression
        self.reader = r
        self.snapshotBufferSize = snapshotBufferSize
    }

    /// A message for the first invalid setting, or nil.
    public func validationError() -> String? {
        if let e = selector.validationError() { return e }
        if replayStepsPerRecord < 0 { return "replay steps per record must not be negative" }
        if snapshotEvery < 1 { return "snapshotEvery must be at least 1" }
        if modelUpdateEvery < 1 { return "modelUpdateEvery must be at least 1" }
        if snapshotBufferSize < 1 { return "snapshotBufferSize must be at least 1" }
        if let l = learner, l.learner.task != task { return "the learner's task differs from the stage's" }
        return nil
    }
}

/// What a `CoresetStage` publishes: the weighted coreset and the model at one point of the stream.
public struct CoresetStageSnapshot: Sendable {
    /// Records accepted so far (the next record's stable id).
    public var records: UInt64
    /// Lines of pushed text that were not records (counted and skipped; see `problems`).
    public var skipped: UInt64
    /// The first few bad lines, as `input:line: reason`.
    public var problems: [String]
    /// The weighted coreset: per class, weights total the input weight accepted.
    public var coreset: WeightedCoreset
    /// The learner's model (nil when the stage does not learn). Predicts, and embeds gradients.
    public var model: LinearModelSnapshot?
    /// Mean loss of each record under the model before it learned from it (progressive validation).
    public var progressiveLoss: Double?
    /// How class ids map to the labels of pushed text.
    public var labels: LabelMap
    /// True for the snapshot `finish()` publishes, after which the stream of snapshots ends.
    public var isFinal: Bool
}

/// The library's streaming stage: push records (or chunks of text) in, read weighted coreset and
/// model snapshots out, without the command-line layer.
///
/// The stage does what `coreset run --sync` does, in the caller's program: every record is scored by
/// the current model (progressive validation), taken one online step on, offered to the streaming
/// selector, then the learner replays the current coreset (`replayStepsPerRecord` steps). Every
/// `snapshotEvery` records the coreset is read out, handed to the learner as its replay memory and
/// published on `snapshots` with a model snapshot; every `modelUpdateEvery` records the selector gets
/// the model, so distances are measured in gradient space (`SelectorConfiguration.Space.gradient`).
/// Everything runs on the actor, in order, so the same input gives the same snapshots however it is
/// cut into pushes.
///
/// ```swift
/// let stage = CoresetStage(configuration: .init(task: .binary, selector: SelectorConfiguration(k: 100)))
/// Task { for await s in stage.snapshots { print(s.records, s.coreset.count) } }
/// try await stage.push(text: Array("1 3:1 7:0.5\n-1 2:1\n".utf8))
/// let final = try await stage.finish()
/// ```
///
/// Sendable: an actor; what it publishes are immutable values. `snapshots` has one consumer (it
/// is an `AsyncStream`); keeps the newest `snapshotBufferSize` when that consumer is slow.
public actor CoresetStage {
    public let configuration: CoresetStageConfiguration
    /// Snapshots every `snapshotEvery` records and a final one at `finish()`, then the end.
    public nonisolated let snapshots: AsyncStream<CoresetStageSnapshot>
    private let continuation: AsyncStream<CoresetStageSnapshot>.Continuation

    private let selector: CoresetSelector
    private var learner: OnlineReplayLearner?
    private var context: ParseContext
    private var parser: any LineParser
    private let inputName: String
    private var pending: [UInt8] = []
    private var lineNumber: UInt64 = 0
    private var skipped: UInt64 = 0
    private var problems: [String] = []
    private var lossSum = 0.0
    private var batch = RecordBatch()
    private var finished = false
    /// The stream loop, driven by pushes (no checkpoints: an embedding's host keeps its own state).
    private let engine = StreamEngine()

    /// Creates a stage.
    /// - Parameter inputName: names pushed text in error messages (`name:line: reason`).
    /// - Precondition: `configuration.validationError() == nil`.
    public init(configuration: CoresetStageConfiguration, inputName: String = "<stage>") {
        if let e = configuration.validationError() { preconditionFailure(e) }
        self.configuration = configuration
        self.inputName = inputName
        selector = CoresetSelector(configuration: configuration.selector, task: configuration.task)
        learner = configuration.learner.map { OnlineReplayLearner(configuration: $0) }
        context = ParseContext(labels: configuration.reader.initialLabels ?? LabelMap(regression: configuration.task == .regression))
        parser = configuration.reader.format.makeParser(options: configuration.reader)
        (snapshots, continuation) = AsyncStream.makeStream(
            of: CoresetStageSnapshot.self, bufferingPolicy: .bufferingNewest(configuration.snapshotBufferSize))
    }

    // MARK: Input

    /// Pushes one record. Its `label` is a class id (0..<K, as `RecordReader` produces) or the
    /// regression target; its `position` is replaced by its position in this stage's stream.
    public func push(_ record: Record) {
        precondition(!finished, "push after finish()")
        take(CollectionOfOne(record))
    }

    /// Pushes records in order.
    public func push(_ records: some Sequence<Record>) {
        precondition(!finished, "push after finish()")
        take(Array(records))
    }

    /// Pushes a chunk of (decompressed) text in `configuration.reader.format`. Chunks may cut lines
    /// anywhere: a partial last line waits for the next chunk (or `finish()`).
    /// - Throws: `CoresetError.badRecord(input:line:reason:)` for a bad line when `reader.strict` is
    ///   set (every record before it was taken); otherwise bad lines are counted and skipped.
    public func push(text chunk: some Sequence<UInt8>) throws(CoresetError) {
        precondition(!finished, "push after finish()")
        let scanned = pending.count
        pending.append(contentsOf: chunk)
        guard pending[scanned...].contains(0x0A) else { return }
        var failure: CoresetError?
        var consumed = 0
        pending.withUnsafeBytes { all in
            // The byte after each line (the newline) is readable, as parsers expect.
            consumed = TextLines.forEach(in: all, searchFrom: scanned) { line in
                failure = parseLine(line)
                return failure == nil
            }
        }
        pending.removeFirst(consumed)
        if let failure { throw failure }
    }

    /// Pushes every record of an asynchronous sequence, in order.
    public func consume<S: AsyncSequence>(_ records: S) async throws where S.Element == Record {
        for try await r in records { push(r) }
    }

    /// Pushes every chunk of text of an asynchronous sequence, in order (see `push(text:)`).
    public func consume<S: AsyncSequence>(text chunks: S) async throws where S.Element == [UInt8] {
        for try await c in chunks { try push(text: c) }
    }

    /// Hands the selector a model snapshot from elsewhere (a stage that does not learn, or a model
    /// trained offline): distances are measured in gradient space at it from now on.
    public func updateModel(_ model: LinearModelSnapshot) {
        selector.updateModel(model)
    }

    // MARK: Output

    /// The coreset and model now (reading the coreset costs a top-up and a weight pass; it does not
    /// change the selector).
    public func snapshot() -> CoresetStageSnapshot {
        makeSnapshot(final: finished)
    }

    /// Ends the input: a last unterminated line is parsed, the selector finishes, and the final
    /// snapshot is published and returned; `snapshots` then ends. Calling it again returns the
    /// final snapshot again.
    /// - Throws: the strict-mode error of the last line, after publishing the final snapshot.
    @discardableResult
    public func finish() throws(CoresetError) -> CoresetStageSnapshot {
        if finished { return makeSnapshot(final: true) }
        var failure: CoresetError?
        if !pending.isEmpty {
            pending.append(0x0A)
            pending.withUnsafeBytes { all in
                failure = parseLine(UnsafeRawBufferPointer(rebasing: all[0..<(all.count - 1)]))
            }
            pending.removeAll()
        }
        finished = true
        selector.finish()
        let last = makeSnapshot(final: true)
        continuation.yield(last)
        continuation.finish()
        if let failure { throw failure }
        return last
    }

    // MARK: Work

    /// Parses one line and takes the record it holds (one at a time: a snapshot's labels are those of
    /// the lines before it).
    private func parseLine(_ raw: UnsafeRawBufferPointer) -> CoresetError? {
        lineNumber += 1
        let line = TextLines.droppingCarriageReturn(raw)
        batch.removeAll()
        // A binary stage has two classes: a third label is a bad line, and leaves the label map as it was.
        let labelsBefore = configuration.task == .binary ? context.labels : nil
        do throws(ParseFailure) {
            if try parser.parse(line, into: &batch, context: &context) {
                if let labelsBefore, context.labels.classCount > 2 {
                    let label = context.labels.name(of: Int(batch.labels[0]))
                    context.labels = labelsBefore
                    throw ParseFailure("label \(label) is a third class of a binary stage (classes: "
                        + (0..<labelsBefore.classCount).map { labelsBefore.name(of: $0) }.joined(separator: ", ")
                        + "); declare the task multiclass")
                }
                context.nextPosition += 1
                take(CollectionOfOne(batch[0]))
            }
            return nil
        } catch {
            skipped += 1
            let e = CoresetError.badRecord(input: inputName, line: lineNumber, reason: error.reason)
            if configuration.reader.strict { return e }
            if problems.count < configuration.reader.maxReported { problems.append(e.description) }
            return nil
        }
    }

    /// Hands pushed or parsed records to the selector and the learner: one turn of the stream loop.
    private func take(_ records: some Collection<Record>) {
        guard !records.isEmpty else { return }
        // An embedding's host decides when to stop: an interrupt of this process does not end the stage.
        _ = engine.push(records: records.count) {
            for r in records { process(r) }
            return .whole
        }
    }

    private func process(_ incoming: Record) {
        var record = incoming
        record.position = UInt64(selector.recordsSeen)
        if learner != nil {
            lossSum += learner!.observe(record).loss
        }
        selector.offer(record)
        let n = selector.recordsSeen
        if learner != nil {
            if configuration.replayStepsPerRecord > 0 && learner!.memoryCount > 0 {
                learner!.replay(steps: configuration.replayStepsPerRecord)
            }
            if n % configuration.modelUpdateEvery == 0 { selector.updateModel(learner!.snapshot()) }
        }
        if n % configuration.snapshotEvery == 0 {
            let s = makeSnapshot(final: false)
            if learner != nil { learner!.setMemory(s.coreset.weightedRecords) }
            continuation.yield(s)
        }
    }

    private func makeSnapshot(final: Bool) -> CoresetStageSnapshot {
        let n = selector.recordsSeen
        var model: LinearModelSnapshot?
        if learner != nil { model = learner!.snapshot() }
        return CoresetStageSnapshot(
            records: UInt64(n), skipped: skipped, problems: problems, coreset: selector.coreset, model: model,
            progressiveLoss: learner != nil && n > 0 ? lossSum / Double(n) : nil, labels: context.labels, isFinal: final)
    }
}
