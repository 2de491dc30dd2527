/// Where batches of records come from, in stream order: a `RecordReader`, or a `ReadAheadReader`
/// parsing a batch or two ahead on a thread of its own.
public protocol BatchSource: AnyObject {
    /// The next batch, or nil at the end of the stream.
    func next() throws(CoresetError) -> RecordBatch?
}

extension RecordReader: BatchSource {}
extension ReadAheadReader: BatchSource {}

/// The stream loop every command and embedding runs (`select`, `run` with a linear or a network learner,
/// `CoresetStage` and so the C and Python interfaces, which push their batches): takes
/// batches from a source in order and hands each to the command's work, answers SIGINT/SIGTERM between
/// batches (and within one where the work looks, see `Handled.cutShort`), and saves checkpoints on a
/// schedule, at an interrupt and at the end of a stream read whole. Interrupts and checkpoint
/// timing live here once; a command only says what a batch does and how its state is saved.
public final class StreamEngine {
    /// How the work left a batch.
    public enum Handled {
        /// Every record was handled.
        case whole
        /// SIGINT/SIGTERM arrived part way: the rest was not handled, and no checkpoint may follow
        /// (a checkpoint's position is after a whole batch).
        case cutShort
    }

    /// How and when the state is saved.
    public struct Checkpoints {
        /// Every N records or S seconds; nil: only at an interrupt and at the end of the stream.
        public var schedule: CheckpointSchedule?
        /// Writes a checkpoint of the state after the last batch handled; what it throws stops the stream.
        public var save: () throws -> Void

        public init(schedule: CheckpointSchedule?, save: @escaping () throws -> Void) {
            self.schedule = schedule
            self.save = save
        }
    }

    public struct Outcome {
        /// The stream's fault (or the work's, when it threw a `CoresetError`), if it ended on one.
        public var streamError: CoresetError?
        /// A checkpoint that could not be written; the stream stopped at it, and no later one was tried.
        public var checkpointError: (any Error)?
        /// SIGINT/SIGTERM stopped the stream.
        public var interrupted: Bool

        public init(streamError: CoresetError? = nil, checkpointError: (any Error)? = nil, interrupted: Bool = false) {
            self.streamError = streamError
            self.checkpointError = checkpointError
            self.interrupted = interrupted
        }

        /// A fault, a checkpoint that failed, or an interrupt: no batch follows.
        public var stopsTheStream: Bool { streamError != nil || checkpointError != nil || interrupted }
    }

    public var checkpoints: Checkpoints?
    /// Whether batches were handled since the state on disk (false right after a resume).
    public var unsaved: Bool

    public init(checkpoints: Checkpoints? = nil, unsaved: Bool = true) {
        self.checkpoints = checkpoints
        self.unsaved = unsaved
    }

    /// Runs `handle` on every batch of `source` to the end of the stream, a fault or an interrupt; then
    /// saves the last checkpoint when batches were handled since the last one and the stream was neither
    /// cut short nor faulty.
    /// - Throws: what `handle` threw other than a `CoresetError` (which ends the stream as its fault).
    public func run<Failure: Error>(_ source: some BatchSource,
                                    handle: (RecordBatch) throws(Failure) -> Handled) throws(Failure) -> Outcome {
        try run(source, first: { () throws(CoresetError) in try source.next() }, handle: handle)
    }

    /// The same, starting with `first`, a batch the caller already took from `source` (nil: the stream is empty).
    public func run<Failure: Error>(_ source: some BatchSource, first: RecordBatch?,
                                    handle: (RecordBatch) throws(Failure) -> Handled) throws(Failure) -> Outcome {
        try run(source, first: { () throws(CoresetError) in first }, handle: handle)
    }

    private func run<Failure: Error>(_ source: some BatchSource, first: () throws(CoresetError) -> RecordBatch?,
                                     handle: (RecordBatch) throws(Failure) -> Handled) throws(Failure) -> Outcome {
        var outcome = Outcome()
        var batch: RecordBatch?
        do { batch = try first() } catch { outcome.streamError = error }
        while let b = batch {
            outcome = try push(records: b.count) { () throws(Failure) in try handle(b) }
            if outcome.stopsTheStream { break }
            do { batch = try source.next() } catch {
                outcome.streamError = error
                batch = nil
            }
        }
        return end(outcome)
    }

    /// One turn of the loop, for a caller that is handed its batches (an embedding, `CoresetStage`) rather
    /// than reading them: `handle` takes `count` records, then a checkpoint is saved when one is due or an
    /// interrupt arrived. The caller stops pushing when the outcome `stopsTheStream`, and calls `end` at the end.
    public func push<Failure: Error>(records count: Int, handle: () throws(Failure) -> Handled) throws(Failure) -> Outcome {
        var outcome = Outcome()
        let handled: Handled
        do { handled = try handle() } catch {
            guard let fault = error as? CoresetError else { throw error }
            outcome.streamError = fault
            return outcome
        }
        if handled == .cutShort {
            outcome.interrupted = true
            return outcome
        }
        unsaved = true
        checkpoints?.schedule?.handled(count)
        let interrupted = Interruption.requested
        if checkpoints != nil && (interrupted || checkpoints!.schedule?.isDue() == true) {
            do { try save() } catch {
                outcome.checkpointError = error
                return outcome
            }
        }
        outcome.interrupted = interrupted
        return outcome
    }

    /// The end of the stream (`outcome`: how its last turn ended): saves the last checkpoint, before the
    /// end-of-stream work changes the state, when batches were handled since the last one and the stream
    /// was neither cut short nor faulty.
    public func end(_ outcome: Outcome = Outcome()) -> Outcome {
        var outcome = outcome
        if !outcome.stopsTheStream && unsaved && checkpoints != nil {
            do { try save() } catch { outcome.checkpointError = error }
        }
        return outcome
    }

    private func save() throws {
        try checkpoints!.save()
        checkpoints!.schedule?.saved()
        unsaved = false
    }
}
