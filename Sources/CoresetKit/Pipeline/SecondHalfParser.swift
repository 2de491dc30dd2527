import FoundationEssentials

/// Parses the second half of the reader's chunk on a thread of its own while the reader parses the
/// first, so line parsing (what bounds `coreset stats`) runs on two cores.
///
/// The half is parsed speculatively and silently. If one of its lines is bad, breaks a limit, or teaches
/// the stream something (a new class, a new feature name), the outcome is not clean and the reader
/// parses that half again itself, in order. So records, positions, line numbers, messages and the
/// label mapping are exactly a serial parse's.
final class _SecondHalfParser: @unchecked Sendable {
    /// Complete lines (each ends with a newline) and what parsing them needs.
    struct Job {
        var text: UnsafeRawBufferPointer
        var parser: any LineParser
        var context: ParseContext
        var dimensionLimit: UInt64
        var fixedClassCount: Int?
    }

    struct Outcome {
        var lines: UInt64
        var accepted: UInt64
        /// Every line parsed without a problem and without changing the stream's labels or feature names.
        var clean: Bool
    }

    /// Chunks smaller than this are parsed on one thread: a hand-over costs tens of microseconds.
    static let minimumChunk = 1 << 16

    private let condition = _Condition()
    private var job: Job?
    private var outcome: Outcome?
    private var stopping = false
    /// The records of the last job; read it only after `finish()`.
    private(set) var batch = RecordBatch()

    init() {
        _startThread(stackSize: 1 << 20) { [self] in work() }
    }

    func start(_ job: Job) {
        condition.lock()
        self.job = job
        outcome = nil
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for the job given to `start` and returns how it went.
    func finish() -> Outcome {
        condition.lock()
        while outcome == nil { condition.wait() }
        let o = outcome!
        outcome = nil
        condition.unlock()
        return o
    }

    /// Ends the thread (it holds the only other reference to this object).
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while job == nil && !stopping { condition.wait() }
            if stopping {
                condition.unlock()
                return
            }
            var j = job!
            job = nil
            condition.unlock()
            batch.removeAll()
            let o = Self.parse(&j, into: &batch)
            condition.lock()
            outcome = o
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Parses `job.text` into `batch`, stopping at the first line the reader would have to report.
    static func parse(_ job: inout Job, into batch: inout RecordBatch) -> Outcome {
        var lines: UInt64 = 0
        var accepted: UInt64 = 0
        var clean = true
        let labelsBefore = job.context.labels
        let namesBefore = job.context.featureNames.count
        let limit = job.dimensionLimit
        let fixedClasses = job.fixedClassCount
        _ = TextLines.forEach(in: job.text) { raw in
            lines += 1
            do {
                if try job.parser.parse(TextLines.droppingCarriageReturn(raw), into: &batch, context: &job.context) {
                    let end = batch.rowStarts[batch.rowStarts.count - 1]
                    // Indices are sorted: the last is the largest.
                    if end > batch.rowStarts[batch.rowStarts.count - 2], UInt64(batch.indices[end - 1]) >= limit {
                        clean = false
                    } else if let fixedClasses, let label = batch.labels.last, Int(label) >= fixedClasses {
                        clean = false
                    } else {
                        job.context.nextPosition += 1
                        accepted += 1
                    }
                }
            } catch {
                clean = false
            }
            return clean
        }
        if clean && (job.context.labels != labelsBefore || job.context.featureNames.count != namesBefore
            || !job.context.keptLines.isEmpty) {
            clean = false
        }
        return Outcome(lines: lines, accepted: accepted, clean: clean)
    }

    /// Where to cut `text` (lines, then maybe a partial one) into two runs of whole lines of about the
    /// same size: (end of the first run, end of the last whole line), or nil if it has fewer than two lines.
    static func split(_ text: UnsafeRawBufferPointer) -> (head: Int, tail: Int)? {
        guard let base = text.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        var last = text.count - 1
        while last >= 0 && base[last] != 0x0A { last -= 1 }
        guard last > 0 else { return nil }
        let tail = last + 1
        var cut = tail / 2
        while cut < tail && base[cut - 1] != 0x0A { cut += 1 }
        guard cut > 0 && cut < tail else { return nil }
        return (cut, tail)
    }

    /// The cores this process may run on, and whether a second parsing thread can run beside the reader's.
    static let cores = ProcessInfo.processInfo.activeProcessorCount
    static let hasSpareCore = cores >= 2
}
