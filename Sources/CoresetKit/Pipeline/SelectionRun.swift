/// `coreset select`'s stream loop: reads a stream (a batch or two ahead) into a selector and its summary,
/// hands the coreset out every N records, and checkpoints on a schedule. The command parses options and
/// wires the outputs (where a coreset is written, progress, the model check) through the callbacks.
public final class SelectionRun {
    public let stream: ReadAheadReader
    public let selector: CoresetSelector
    public private(set) var summary: StreamSummary
    /// Emit the coreset every N records (`onEmit`), the next time at `nextEmit` records.
    public let emitEvery: Int?
    public private(set) var nextEmit: UInt64?
    /// Records offered between two looks at `Interruption`: SIGINT/SIGTERM is answered within a slice
    /// (a 1 MiB read can hold 100,000 records).
    public static let offerSlice = 128
    /// Whether an interrupt lets the batch in hand finish, so that it is checkpointed: sample-greedy's offer is
    /// a reservoir draw and a gradient sum (1-3 µs a record, a 1 MiB batch in well under a second), while a
    /// sieve tests every record against its thresholds (up to ~100 µs) and stops within a slice instead.
    public var finishesBatchOnInterrupt: Bool { selector.configuration.algorithm == .sampleGreedy }

    /// Each batch before it is offered (checks of its records, kept lines); what it throws ends the stream.
    public var onBatch: ((RecordBatch) throws -> Void)?
    /// Each batch after it was offered (progress).
    public var afterBatch: (() throws -> Void)?
    /// At `emitEvery` records and each multiple, with that count: write the coreset as it stands.
    public var onEmit: ((UInt64) throws -> Void)?
    /// When due, at an interrupt (after the batch in hand, see `finishesBatchOnInterrupt`), and at the end of a
    /// stream read whole: write a checkpoint of `selector`, `summary`, `nextEmit` and `stream.position`. What
    /// it throws ends the stream with it.
    public var checkpoints: StreamEngine.Checkpoints?
    /// Whether records were offered since the state on disk (false right after a resume).
    public var unsaved = true

    public struct Outcome {
        /// The stream's fault, if it ended on one (what was read before it was offered).
        public var streamError: CoresetError?
        /// SIGINT/SIGTERM stopped the stream (a batch cut short is not offered whole, and no checkpoint follows it).
        public var interrupted: Bool
    }

    public init(stream: ReadAheadReader, selector: CoresetSelector, summary: StreamSummary, emitEvery: Int?, nextEmit: UInt64?) {
        self.stream = stream
        self.selector = selector
        self.summary = summary
        self.emitEvery = emitEvery
        self.nextEmit = nextEmit
    }

    /// Reads to the end of the stream (or an interrupt, or a fault) and saves the last checkpoint. The
    /// selector is not finished: the caller reads the coreset out.
    /// - Throws: what a callback threw (a checkpoint that could not be written fails the run: nothing is
    ///   emitted after it, so an output file keeps its last complete coreset).
    public func run() throws -> Outcome {
        var cutShort = false
        let looksWithinBatches = !finishesBatchOnInterrupt
        func offer(_ batch: RecordBatch, _ rows: Range<Int>) {
            var start = rows.lowerBound
            while start < rows.upperBound {
                if looksWithinBatches && Interruption.requested {
                    cutShort = true
                    return
                }
                let slice = start..<min(rows.upperBound, start + Self.offerSlice)
                summary.add(batch, rows: slice)
                selector.offer(batch, rows: slice)
                start = slice.upperBound
            }
        }
        let engine = StreamEngine(checkpoints: checkpoints, unsaved: unsaved)
        // Batches read ahead and not offered (an interrupt, a failed checkpoint) are dropped: the
        // position and counts stand after the last one offered.
        defer { stream.close() }
        let outcome = try engine.run(stream) { batch in
            try onBatch?(batch)
            if let every = emitEvery, let due = nextEmit, stream.statistics.recordsAccepted >= due {
                // Emit exactly at multiples of N: split the batch at the boundary.
                var start = 0
                var dueNow = due
                let first = stream.statistics.recordsAccepted - UInt64(batch.count)
                while first + UInt64(batch.count) >= dueNow {
                    let cut = Int(dueNow - first)
                    offer(batch, start..<cut)
                    if cutShort { break }
                    start = cut
                    try onEmit?(dueNow)
                    dueNow += UInt64(every)
                }
                if !cutShort { offer(batch, start..<batch.count) }
                nextEmit = dueNow
            } else {
                offer(batch, 0..<batch.count)
            }
            if cutShort { return .cutShort }
            try afterBatch?()
            return .whole
        }
        unsaved = engine.unsaved
        if let failure = outcome.checkpointError { throw failure }
        return Outcome(streamError: outcome.streamError, interrupted: outcome.interrupted)
    }
}
