import Glibc
import Synchronization

/// Where records come from.
public enum InputSpec: Sendable, Equatable {
    /// Standard input.
    case stdin
    /// A file read once (`-` is stdin).
    case file(String)
    /// A growing file followed like `tail -F`.
    case follow(String)
}

/// Running totals of one stream. Nothing is dropped without being counted here.
public struct IngestStatistics: Sendable, Equatable {
    /// Bytes read from the inputs (compressed size).
    public var bytesIn: UInt64 = 0
    /// Bytes of text after decompression.
    public var bytesOut: UInt64 = 0
    /// Lines seen (records, skipped records, blank and comment lines).
    public var lines: UInt64 = 0
    public var recordsAccepted: UInt64 = 0
    public var recordsSkipped: UInt64 = 0
    /// Partial lines dropped because a followed file was truncated under them.
    public var partialLinesDropped: UInt64 = 0
    public var inputsOpened = 0

    public init() {}
}

/// Reads records from inputs in order: bytes → decompression (by magic) → lines → records.
///
/// `next()` returns a batch after every underlying `read()` that completed at least one record, so
/// records flow as soon as their line is complete. Errors are deferred until every record decoded
/// before them has been returned: a corrupt input or a strict-mode bad record is thrown by the
/// call after the batch holding the last good records.
///
/// Each read asks for at most `chunkSize` bytes, into a line buffer of twice that: so a read is one whole
/// chunk of the decompression thread or one decoder call of the same size on this thread, and the batches
/// are the same whichever thread decompresses (a lockstep `run` depends on them).
///
/// - Complexity: memory is the line buffer (2 `chunkSize`, grown only for a longer line, up to
///   `maxLineLength`) plus one batch; O(1) per record beyond the batch.
public final class RecordReader {
    public let inputs: [InputSpec]
    public let options: ReaderOptions
    public private(set) var statistics = IngestStatistics()
    /// Label mapping and feature names learned from the stream so far.
    public private(set) var context: ParseContext
    /// Receives human-readable diagnostics (bad records, warnings) for stderr.
    public var onDiagnostic: (String) -> Void

    private var nextInput = 0
    private var source: ByteSource?
    private var sourceName = ""
    private var parser: any LineParser
    private var buffer: UnsafeMutableRawBufferPointer
    private var carry = 0
    private var lineNumber: UInt64 = 0
    private var pendingError: CoresetError?
    /// Interrupted while skipping an over-long line: the position is inside it.
    fileprivate var stoppedInsideSkippedLine = false
    private var finished = false
    private var reported = 0
    private var bytesInDone: UInt64 = 0
    private let warningQueue = WarningQueue()
    private var lastBatchRecords = 1024
    private var lastBatchEntries = 16 * 1024
    /// Decompressed bytes received from the current input (its read position, carry included).
    private var inputBytesOut: UInt64 = 0
    /// Largest feature index + 1 accepted (`maxDimension`, or the VW hash space if larger).
    private let dimensionLimit: UInt64
    /// Number of classes of the fixed label mapping, when labels are fixed.
    private var fixedClassCount: Int?
    /// Added to the message of a record whose class is not among the fixed ones.
    private var fixedClassesHint = ""
    /// Parses the second half of each large chunk beside this thread (nil: one thread parses).
    private let secondHalf: _SecondHalfParser?
    /// Chunks whose second half the other thread parsed (and whose result was kept).
    private(set) var chunksSplit = 0
    /// The current input's decoder, and whether its chunks are split (see `hasCoreForHelper`).
    private var decoder: DecompressingSource?
    private var splitsChunks: Bool?
    /// On two cores, whether the current compressed input is decompressed on this thread (its chunks split
    /// with the helper) rather than on a thread of its own; nil while `probe` times its first chunks.
    private var decodesInline: Bool?
    /// Parsing seconds and bytes of the current input's first chunks (the very first left out), while the
    /// way to decompress it is not yet chosen.
    private var probe: (chunks: Int, bytes: Int, parse: Double)?

    /// Whether a thread helping this one (parsing half of each chunk, or reading ahead of a consumer) has a
    /// core of its own: one core for this thread, one for the helper, and one more while a compressed input
    /// is decompressed on a thread of its own (on two cores, until the first chunks move it here: see
    /// `chooseDecompression`). nil until the input's first bytes are decoded, and on two cores while they are
    /// timed. Why: on 2 cores with zstd input, a third busy thread made `stats` 4-20% and mnist's `select` 7-12%
    /// slower; with plain text the split made `stats` 0.78x the time, and reading ahead census_kdd's `select`
    /// 0.82-0.86x.
    public var hasCoreForHelper: Bool? {
        guard let c = decoder?.compression else { return nil }
        if !options.prefetch || c == .plain || Self.cores >= 3 { return Self.cores >= 2 }
        return decodesInline  // false below two cores, where nothing is timed
    }
    static var cores: Int { _SecondHalfParser.cores }

    public init(inputs: [InputSpec], options: ReaderOptions = ReaderOptions(), onDiagnostic: @escaping (String) -> Void = { _ in }) {
        self.inputs = inputs.isEmpty ? [.stdin] : inputs
        self.options = options
        self.onDiagnostic = onDiagnostic
        self.context = ParseContext(labels: options.initialLabels ?? LabelMap(regression: options.regression))
        self.parser = options.format.makeParser(options: options)
        self.buffer = Self.allocateLineBuffer(2 * max(options.chunkSize, 16))
        self.dimensionLimit = UInt64(max(options.maxDimension, options.format.hashesFeatures ? 1 << options.hashBits : 0))
        let fixed = options.fixedClasses && !options.regression
        self.fixedClassCount = fixed ? options.initialLabels?.classCount ?? 0 : nil
        self.secondHalf = options.parallelParsing && _SecondHalfParser.hasSpareCore ? _SecondHalfParser() : nil
    }

    deinit {
        secondHalf?.stop()
        buffer.deallocate()
    }

    /// From the next record on, a label of a class not seen so far is a bad record (its message ends
    /// with `hint`): for a consumer that has committed to the classes it has seen, such as a binary
    /// learner, which would otherwise take a third class for the positive one. No effect on regression.
    public func fixClasses(hint: String = "") {
        guard !options.regression else { return }
        fixedClassCount = context.labels.classCount
        fixedClassesHint = hint
    }

    /// A line buffer with one byte of slack after its end, so every line handed to a parser is
    /// followed by a readable terminator (parsers may rely on it instead of bounds checks).
    private static func allocateLineBuffer(_ count: Int) -> UnsafeMutableRawBufferPointer {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: count + 1, alignment: 16)
        return UnsafeMutableRawBufferPointer(rebasing: storage[0..<count])
    }

    /// Parses `buffer[0..<carry]` as a last, unterminated line, after writing the terminator.
    private func processUnterminatedLine(into batch: inout RecordBatch) -> CoresetError? {
        buffer.baseAddress!.storeBytes(of: 0x0A, toByteOffset: carry, as: UInt8.self)
        return processLine(UnsafeRawBufferPointer(rebasing: buffer[0..<carry]), into: &batch)
    }

    /// Label mapping learned so far.
    public var labels: LabelMap { context.labels }

    /// Name of the input being read.
    public var currentInputName: String { sourceName }

    /// Text of the lines accepted since the last call, by position (text format with
    /// `TextOptions.keepLines`); empty otherwise.
    public func takeKeptLines() -> [(position: UInt64, text: String)] {
        defer { context.keptLines.removeAll(keepingCapacity: true) }
        return context.keptLines
    }

    private func openNext() throws(CoresetError) -> Bool {
        guard nextInput < inputs.count else { return false }
        let spec = inputs[nextInput]
        nextInput += 1
        let raw: ByteSource
        switch spec {
        case .stdin: raw = FileDescriptorSource(descriptor: 0, name: "<stdin>")
        case .file(let path): raw = try FileDescriptorSource(path: path)
        case .follow(let path):
            raw = FollowSource(path: path, pollInterval: options.followPollInterval, idleTimeout: options.followIdleTimeout)
        }
        let decoder = DecompressingSource(raw, chunkSize: options.chunkSize, zstdWindowLogMax: options.zstdWindowLog)
        // Warnings arrive on the decompression thread: queue them for this one.
        let warnings = warningQueue
        decoder.onWarning = { message in warnings.messages.withLock { $0.append("warning: \(message)") } }
        source = options.prefetch ? PrefetchingSource(decoder, chunkSize: options.chunkSize) : decoder
        // On two cores the first chunks tell whether the decompression keeps its thread: see `chooseDecompression`.
        let probes = options.prefetch && Self.cores == 2 && secondHalf != nil
        self.decoder = decoder
        splitsChunks = nil
        decodesInline = probes ? nil : false
        probe = probes ? (0, 0, 0) : nil
        sourceName = raw.name
        lineNumber = 0
        carry = 0
        inputBytesOut = 0
        statistics.inputsOpened += 1
        // Each input is its own stream: a CSV header is read again, and so on.
        parser = options.format.makeParser(options: options)
        return true
    }

    /// The next batch of records, or nil at the end of all inputs.
    ///
    /// - Throws: `CoresetError` for I/O errors, corrupt compressed data, or (in strict mode) a bad
    ///   record — always after the records decoded before the fault were returned.
    public func next() throws(CoresetError) -> RecordBatch? {
        for w in warningQueue.messages.withLock({ q in defer { q.removeAll() }; return q }) { onDiagnostic(w) }
        if let e = pendingError {
            pendingError = nil
            finished = true
            throw e
        }
        if finished { return nil }
        var batch = RecordBatch()
        // Size the batch like the previous one, so appends rarely reallocate.
        batch.reserveCapacity(records: lastBatchRecords, entries: lastBatchEntries)
        defer {
            lastBatchRecords = max(lastBatchRecords, batch.count)
            lastBatchEntries = max(lastBatchEntries, batch.indices.count)
        }
        while true {
            // SIGINT/SIGTERM: stop at the last whole line, however much input is left (an endless
            // pipe, a long file); the partial line stays unread, so a checkpoint resumes at it.
            if Interruption.requested { return stopInterrupted(batch) }
            if source == nil {
                do {
                    if try !openNext() {
                        finished = true
                        return batch.isEmpty ? nil : batch
                    }
                } catch {
                    return try deliver(batch, orThrow: error)
                }
            }
            let src = source!
            var n = 0
            do {
                n = try src.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[carry..<min(buffer.count, carry + max(options.chunkSize, 16))]))
            } catch {
                statistics.bytesIn = bytesInDone + src.rawBytesRead
                // An interrupt cuts the input short (a truncated frame, say): stop at the last whole line.
                if Interruption.requested { return stopInterrupted(batch) }
                return try deliver(batch, orThrow: error)
            }
            statistics.bytesIn = bytesInDone + src.rawBytesRead
            statistics.bytesOut += UInt64(n)
            inputBytesOut += UInt64(n)
            if let restart = src.takeRestart() {
                // The bytes just read start a new stream; settle what was left of the old one.
                if carry > 0 {
                    let newBytes = n
                    let stash = UnsafeMutableRawBufferPointer.allocate(byteCount: max(newBytes, 1), alignment: 16)
                    defer { stash.deallocate() }
                    if newBytes > 0 { stash.baseAddress!.copyMemory(from: buffer.baseAddress! + carry, byteCount: newBytes) }
                    if restart == .rotated {
                        // The old file is complete: its unterminated last line is a whole record.
                        if let e = processUnterminatedLine(into: &batch) {
                            carry = 0
                            return try deliver(batch, orThrow: e)
                        }
                    } else {
                        statistics.partialLinesDropped += 1
                        report("\(sourceName): file truncated; a partial line of \(carry) bytes was dropped")
                    }
                    if newBytes > 0 { buffer.baseAddress!.copyMemory(from: stash.baseAddress!, byteCount: newBytes) }
                    carry = 0
                }
                if options.format.readsHeader { parser = options.format.makeParser(options: options) }
            }
            if n == 0 && Interruption.requested {
                // Not the end of the input: a read cut short by SIGINT/SIGTERM. The partial line
                // in the buffer is not a record; the stream stops at the last whole line.
                return stopInterrupted(batch)
            }
            if n == 0 {
                // Lines left behind by skipping an over-long line have not been scanned yet.
                if carry > 0, let e = scanLines(total: carry, into: &batch) { return try deliver(batch, orThrow: e) }
                // End of this input: an unterminated last line is still a record.
                if carry > 0 {
                    let e = processUnterminatedLine(into: &batch)
                    carry = 0
                    if let e {
                        closeSource(src)
                        return try deliver(batch, orThrow: e)
                    }
                }
                closeSource(src)
                if !batch.isEmpty { return batch }
                continue
            }
            let scanStarted = probe != nil ? monotonicSeconds() : 0
            let failure = scanLines(total: carry + n, into: &batch)
            if probe != nil { chooseDecompression(bytes: n, parse: monotonicSeconds() - scanStarted) }
            if let failure { return try deliver(batch, orThrow: failure) }
            if carry == buffer.count, let e = try growBuffer() { return try deliver(batch, orThrow: e) }
            if !batch.isEmpty { return batch }
        }
    }

    /// Decompression's cost a byte below which it moves to this thread, as a fraction of parsing's: D < P/2,
    /// where D + P/2 < max(D, P). Measured ratios (on the decompression thread, beside parsing) and `stats`
    /// times inline against on a thread, 2 cores: aer_fertility 0.12-0.16 (0.89x), census_kdd 0.35-0.37
    /// (0.88x), adult 0.33-0.45 (0.99x), letter 0.35-0.44 (1.02x), shuttle 0.42-0.45 (1.00x), satimage
    /// 0.57-0.70 (1.15x), magic 0.78-0.93 (1.13x), mnist 1.06-1.33 (1.48x).
    static let inlineDecodingRatio = 0.5

    /// Times the current input's first chunks and then chooses, once, how it is decompressed on two cores:
    /// on a thread of its own while this one parses alone (wall ≈ max(D, P) for decompression D and
    /// parsing P), or on this thread, with the helper parsing half of each chunk (wall ≈ D + P/2). The
    /// second is shorter when D < P/2 (`inlineDecodingRatio`). Every input starts with its decompression
    /// thread (started later, it cost mnist 4%), and plain text keeps it. The batches are the same either way.
    private func chooseDecompression(bytes: Int, parse: Double) {
        guard var p = probe, let compression = decoder?.compression, let prefetcher = source as? PrefetchingSource else { return }
        p.chunks += 1
        if p.chunks > 1 {
            p.bytes += bytes
            p.parse += parse
        }
        probe = p
        // 512 KiB after the first chunk (the decoder hands out up to 128 KiB a read), or a slow source.
        guard compression == .plain || p.bytes >= 1 << 19 || p.chunks >= 12 else { return }
        probe = nil
        let decoding = prefetcher.decoding
        decodesInline = compression != .plain && decoding.bytes > 0 && p.bytes > 0
            && decoding.seconds / Double(decoding.bytes) < Self.inlineDecodingRatio * p.parse / Double(p.bytes)
        if decodesInline == true { prefetcher.stopPrefetching() }
    }

    /// Parses every complete line in `buffer[0..<total]` and moves the partial rest to the front.
    /// Returns the error that must stop the stream (strict mode), if any.
    private func scanLines(total: Int, into batch: inout RecordBatch) -> CoresetError? {
        var failure: CoresetError?
        let text = UnsafeRawBufferPointer(start: buffer.baseAddress!, count: total)
        let start: Int
        // Known once the input's first bytes are decoded (the compression is read off them).
        if splitsChunks == nil, secondHalf != nil { splitsChunks = hasCoreForHelper }
        if total >= _SecondHalfParser.minimumChunk, splitsChunks == true, let worker = secondHalf,
           let later = parser.parserForLaterLines(), let cut = _SecondHalfParser.split(text) {
            let positionBefore = context.nextPosition
            worker.start(.init(text: UnsafeRawBufferPointer(rebasing: text[cut.head..<cut.tail]), parser: later, context: context,
                               dimensionLimit: dimensionLimit, fixedClassCount: fixedClassCount))
            _ = TextLines.forEach(in: UnsafeRawBufferPointer(rebasing: text[0..<cut.head])) { line in
                failure = processLine(line, into: &batch)
                return failure == nil
            }
            // The worker reads the buffer: wait for it whatever happened here.
            let outcome = worker.finish()
            if failure == nil {
                if outcome.clean {
                    batch.append(contentsOf: worker.batch, positionOffset: context.nextPosition - positionBefore)
                    lineNumber += outcome.lines
                    statistics.lines += outcome.lines
                    statistics.recordsAccepted += outcome.accepted
                    context.nextPosition += outcome.accepted
                    chunksSplit += 1
                } else {
                    // Something there must be reported or learned in order: parse it here, as if alone.
                    _ = TextLines.forEach(in: text, from: cut.head) { line in
                        failure = processLine(line, into: &batch)
                        return failure == nil
                    }
                }
            }
            start = cut.tail
        } else {
            start = TextLines.forEach(in: text) { line in
                failure = processLine(line, into: &batch)
                return failure == nil
            }
        }
        if let failure {
            // Strict mode: the stream ends at this record.
            carry = 0
            return failure
        }
        carry = total - start
        if carry > 0 && start > 0 {
            buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: carry)
        }
        return nil
    }

    /// Makes room for a line longer than the buffer, or skips it if it passes `maxLineLength`.
    /// Returns the error that must stop the stream (strict mode), if any.
    private func growBuffer() throws(CoresetError) -> CoresetError? {
        if buffer.count >= options.maxLineLength {
            // Too long: count it as a bad record and skip to its end.
            lineNumber += 1
            statistics.lines += 1
            if let e = reject(ParseFailure("line longer than \(options.maxLineLength) bytes")) {
                // Strict: the stream ends here (it used to read on from a full buffer as if at end of input).
                carry = 0
                return e
            }
            try skipRestOfLine()
            return nil
        }
        let bigger = Self.allocateLineBuffer(min(buffer.count * 2, options.maxLineLength))
        bigger.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: carry)
        buffer.deallocate()
        buffer = bigger
        return nil
    }

    private func skipRestOfLine() throws(CoresetError) {
        carry = 0
        guard let src = source else { return }
        while true {
            if Interruption.requested {
                // Stopped inside a line being skipped: no position here can be resumed from.
                stoppedInsideSkippedLine = true
                return
            }
            let n = try src.read(into: buffer)
            statistics.bytesOut += UInt64(n)
            inputBytesOut += UInt64(n)
            if n == 0 { return }
            if let nl = memchr(buffer.baseAddress!, 0x0A, n) {
                let after = UnsafeMutableRawPointer(nl) - buffer.baseAddress! + 1
                carry = n - after
                if carry > 0 { buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + after, byteCount: carry) }
                return
            }
        }
    }

    /// Ends the stream at the last whole line (the partial one stays unread, for a resume).
    private func stopInterrupted(_ batch: RecordBatch) -> RecordBatch? {
        finished = true
        return batch.isEmpty ? nil : batch
    }

    private func closeSource(_ src: ByteSource) {
        bytesInDone += src.rawBytesRead
        source = nil
    }

    /// Returns the batch now and throws next time, or throws now if there is nothing to deliver.
    private func deliver(_ batch: RecordBatch, orThrow error: CoresetError) throws(CoresetError) -> RecordBatch? {
        if batch.isEmpty {
            finished = true
            throw error
        }
        pendingError = error
        return batch
    }

    /// Parses one line (newline excluded); returns an error only when the stream must stop.
    @inline(__always)
    private func processLine(_ raw: UnsafeRawBufferPointer, into batch: inout RecordBatch) -> CoresetError? {
        lineNumber += 1
        statistics.lines += 1
        var line = raw
        if line.count > 0 && line[line.count - 1] == 0x0D { line = UnsafeRawBufferPointer(rebasing: line[0..<(line.count - 1)]) }
        do {
            let labelsBefore = fixedClassCount == nil ? nil : context.labels
            if try parser.parse(line, into: &batch, context: &context) {
                if let problem = limitViolation(of: batch) {
                    batch.removeLastRow()
                    // A class the model does not have must not stay in the mapping either.
                    if let labelsBefore { context.labels = labelsBefore }
                    return reject(problem)
                }
                context.nextPosition += 1
                statistics.recordsAccepted += 1
            }
            return nil
        } catch {
            batch.discardOpenRow()
            return reject(error)
        }
    }

    /// Why the record just closed in `batch` must not be accepted (dimension or class limits), if so.
    @inline(__always)
    private func limitViolation(of batch: RecordBatch) -> ParseFailure? {
        let end = batch.rowStarts[batch.rowStarts.count - 1]
        if end > batch.rowStarts[batch.rowStarts.count - 2], UInt64(batch.indices[end - 1]) >= dimensionLimit {
            // Indices are sorted: the last is the largest.
            return ParseFailure("feature index \(batch.indices[end - 1]) (zero-based) is beyond the dimension limit \(dimensionLimit) (--max-dimension)")
        }
        if let fixedClassCount, let label = batch.labels.last, Int(label) >= fixedClassCount {
            let names = (0..<fixedClassCount).map { context.labels.name(of: $0) }.joined(separator: ", ")
            return ParseFailure("label \(context.labels.name(of: Int(label))) is not a class of the model (classes: \(names))" + fixedClassesHint)
        }
        return nil
    }

    /// Counts a bad record and reports the first few; in strict mode returns the error to stop with.
    private func reject(_ failure: ParseFailure) -> CoresetError? {
        statistics.recordsSkipped += 1
        let error = CoresetError.badRecord(input: sourceName, line: lineNumber, reason: Self.printable(failure.reason))
        if options.strict { return error }
        report(error.description)
        return nil
    }

    /// A reason with control characters escaped (`\xNN`): it quotes input that may be binary.
    static func printable(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return text }
        var out = ""
        for u in text.unicodeScalars {
            if u.value < 0x20 || u.value == 0x7F {
                out += "\\x" + (u.value < 16 ? "0" : "") + String(u.value, radix: 16, uppercase: true)
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    private func report(_ message: String) {
        reported += 1
        if reported <= options.maxReported {
            onDiagnostic(message)
        } else if reported == options.maxReported + 1 {
            onDiagnostic("(further problems are counted but not shown)")
        }
    }
}

/// Messages raised on one thread (decompression, reading ahead), handed to another.
final class WarningQueue: Sendable {
    let messages = Mutex<[String]>([])
}

// MARK: - Checkpoints

/// Identity of an input file at a checkpoint: a resumed run must read the very same bytes.
public struct InputIdentity: Sendable, Equatable, Codable, CustomStringConvertible {
    public var path: String
    public var device: UInt64
    public var inode: UInt64
    public var size: Int64
    public var modifiedSeconds: Int64
    public var modifiedNanoseconds: Int64

    /// The identity of the file at `path` now.
    /// - Throws: `CoresetError.io` if it cannot be stat'ed.
    public init(path: String) throws(CoresetError) {
        var st = stat()
        guard stat(path, &st) == 0 else { throw .io(input: path, message: "cannot stat: \(errnoDescription())") }
        self.path = path
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        modifiedSeconds = Int64(st.st_mtim.tv_sec)
        modifiedNanoseconds = Int64(st.st_mtim.tv_nsec)
    }

    public var description: String { "\(path) (inode \(inode), \(size) bytes, modified \(modifiedSeconds).\(modifiedNanoseconds))" }
}

/// Where a reader is between two batches: enough to continue the stream in a new process with no
/// record read twice or skipped, and with the same counts, line numbers, labels and stable ids.
///
/// The offset is in the input's *decompressed* bytes and always at a line start. A compressed input
/// is resumed by decompressing its first `byteOffset` bytes again and dropping them unparsed
/// (zstd and gzip frames carry no index to seek by, and an offset inside a frame cannot be seeked
/// to); a plain input is read the same way. The cost is one pass over that prefix at decompression
/// speed, never a second parse (CSV excepted: its prefix is parsed again, unseen, so the header is known).
public struct ReaderPosition: Sendable, Equatable {
    /// Index in `inputs` of the input being read (`inputs.count` when all were read).
    public var inputIndex: Int
    /// Decompressed bytes of that input consumed, up to the end of the last whole line.
    public var byteOffset: UInt64
    public var lineNumber: UInt64
    public var statistics: IngestStatistics
    /// Raw bytes of the inputs before `inputIndex`.
    public var bytesInDone: UInt64
    public var labels: LabelMap
    public var featureNames: [String]
    public var nextPosition: UInt64
    public var reported: Int
}

extension InputSpec {
    /// A named file (not stdin, not followed): the only input a checkpoint can continue.
    public var isResumable: Bool {
        if case .file(let path) = self { return path != "-" }
        return false
    }
}

extension RecordReader {
    /// The current position, or nil where none can be resumed from: reading stdin or a followed
    /// file, or with an error pending (the position would be past the bad record).
    public var position: ReaderPosition? {
        guard pendingError == nil, !stoppedInsideSkippedLine, inputs.allSatisfy(\.isResumable) else { return nil }
        let index = source == nil ? nextInput : nextInput - 1
        // The partial line in the buffer is read again after a resume: it is not counted yet.
        var counted = statistics
        if source != nil { counted.bytesOut -= UInt64(carry) }
        return ReaderPosition(
            inputIndex: index, byteOffset: source == nil ? 0 : inputBytesOut - UInt64(carry), lineNumber: source == nil ? 0 : lineNumber,
            statistics: counted, bytesInDone: bytesInDone, labels: context.labels, featureNames: context.featureNames,
            nextPosition: context.nextPosition, reported: reported)
    }

    /// Continues from a saved position; call before the first `next()`, on a reader of the same
    /// inputs and options.
    /// - Throws: `CoresetError.badFile` (named after `source`) if the position does not fit the
    ///   inputs, `.io`/`.corruptInput` if the input cannot be read up to the offset.
    public func resume(from p: ReaderPosition, source stateName: String = "state") throws(CoresetError) {
        precondition(statistics.inputsOpened == 0 && !finished, "resume(from:) must come before reading")
        guard p.inputIndex >= 0 && p.inputIndex <= inputs.count else {
            throw .badFile(path: stateName, message: "input \(p.inputIndex + 1) does not exist (\(inputs.count) given)")
        }
        context.labels = p.labels
        context.featureNames = []
        context.featureIndex = [:]
        for name in p.featureNames { _ = context.index(ofFeature: name) }
        context.nextPosition = p.nextPosition
        reported = p.reported
        nextInput = p.inputIndex
        if p.inputIndex < inputs.count {
            guard try openNext() else { return }
            try skipPrefix(p.byteOffset)
            lineNumber = p.lineNumber
        }
        statistics = p.statistics
        bytesInDone = p.bytesInDone
    }

    /// Reads and drops the first `count` decompressed bytes of the input just opened. CSV lines are
    /// parsed into a scratch batch and context, so the parser knows the header as it did then.
    private func skipPrefix(_ count: UInt64) throws(CoresetError) {
        guard let src = source else { return }
        let replaysLines = options.format.readsHeader
        var scratchContext = context
        var scratch = RecordBatch()
        var left = count
        carry = 0
        while left > 0 {
            let room = min(UInt64(buffer.count - carry), left)
            let n = try src.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[carry..<(carry + Int(room))]))
            if n == 0 {
                throw .badFile(path: sourceName, message: "ends at \(count - left) decompressed bytes, before the checkpoint's offset \(count): not the input the checkpoint was taken on")
            }
            _ = src.takeRestart()
            left -= UInt64(n)
            inputBytesOut += UInt64(n)
            guard replaysLines else { continue }
            let total = carry + n
            let start = TextLines.forEach(in: UnsafeRawBufferPointer(start: buffer.baseAddress!, count: total)) { line in
                _ = try? parser.parse(TextLines.droppingCarriageReturn(line), into: &scratch, context: &scratchContext)
                scratch = RecordBatch()
                return true
            }
            // A line longer than the buffer cannot matter here (only a CSV's first line does).
            carry = start < total && start > 0 ? total - start : 0
            if carry > 0 { buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: carry) }
        }
        carry = 0
    }
}
