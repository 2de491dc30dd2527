/// Where batches of records come from, in stream order: a `RecordReader`, or a `ReadAheadReader`
/// parsing a batch or two ahead on a thread of its own.
public protocol BatchSource: AnyObject {
    /// The next batch, or nil at the end of the stream.
    func next() throws(CoresetError) -> RecordBatch?
}

extension RecordReader: BatchSource {}
extension ReadAheadReader: BatchSource {}

/// The stream loop every command runs (`select`, `run` with a linear or a network learner): takes
/// batches from a source in order and hands each to the command's work, answers SIGINT/SIGTERM between
/// batches (and within one where the work looks, see `Handled.cutShort`), and saves checkpoints on a
/// schedule, at an interrupt and at the end of a stream read whole. Pacing, interrupts and checkpoint
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
        var outcome = Outcome(streamError: nil, checkpointError: nil, interrupted: false)
        var batch: RecordBatch?
        do { batch = try first() } catch { outcome.streamError = error }
        while let b = batch {
            let handled: Handled
            do { handled = try handle(b) } catch {
                guard let fault = error as? CoresetError else { throw error }
                outcome.streamError = fault
                break
            }
            if handled == .cutShort {
                outcome.interrupted = true
                break
            }
            unsaved = true
            checkpoints?.schedule?.handled(b.count)
            let interrupted = Interruption.requested
            if checkpoints != nil && (interrupted || checkpoints!.schedule?.isDue() == true) {
                do { try save() } catch {
                    outcome.checkpointError = error
                    break
                }
            }
            if interrupted {
                outcome.interrupted = true
                break
            }
            do { batch = try source.next() } catch {
                outcome.streamError = error
                batch = nil
            }
        }
        // The end of the stream: saved before the end-of-stream work changes the state.
        if outcome.streamError == nil && outcome.checkpointError == nil && unsaved && !outcome.interrupted && checkpoints != nil {
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
