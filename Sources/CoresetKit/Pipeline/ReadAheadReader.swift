/// A record reader that reads and parses on a thread of its own, up to `depth` batches ahead of its
/// consumer, so parsing overlaps with what the consumer does with the records (selection).
///
/// What it reports (statistics, labels, feature names, position, kept lines, and the diagnostics, which
/// it passes on in order) is as of the last batch handed out, as the wrapped reader's was then: a
/// checkpoint taken after a batch resumes after that batch, whatever was read ahead. Without a spare
/// core, or with `ReaderOptions.parallelParsing` off, it reads in turn on the caller's thread.
public final class ReadAheadReader {
    private struct Item: Sendable {
        var batch: RecordBatch?
        var error: CoresetError?
        var statistics: IngestStatistics
        var labels: LabelMap
        var featureNames: [String]
        var inputName: String
        var position: ReaderPosition?
        var keptLines: [(position: UInt64, text: String)]
        var diagnostics: [String]
    }

    private let reader: RecordReader
    private let afterEach: ((RecordReader) throws(CoresetError) -> Void)?
    private let channel: BoundedChannel<Item>?
    private var started = false
    /// Reading in turn on the caller's thread (no core for a reading thread, see `RecordReader.hasCoreForHelper`).
    private var inline = false
    private let onDiagnostic: (String) -> Void
    private var ended = false

    public private(set) var statistics: IngestStatistics
    public private(set) var labels: LabelMap
    public private(set) var featureNames: [String]
    public private(set) var currentInputName: String
    /// Where a resumed reader would go on from: after the last batch handed out (nil where none can be).
    public private(set) var position: ReaderPosition?
    private var keptLines: [(position: UInt64, text: String)] = []

    /// Wraps `reader`, which only this object uses from now on (resume it first, if it resumes).
    /// `afterEach` runs on the reading thread after each batch is read, before the next (e.g. to fix the
    /// classes once a binary task has seen both); what it throws comes in place of that batch.
    public init(_ reader: RecordReader, depth: Int = 2, afterEach: ((RecordReader) throws(CoresetError) -> Void)? = nil) {
        self.reader = reader
        self.afterEach = afterEach
        onDiagnostic = reader.onDiagnostic
        statistics = reader.statistics
        labels = reader.labels
        featureNames = reader.context.featureNames
        currentInputName = reader.currentInputName
        position = reader.position
        guard reader.options.parallelParsing && _SecondHalfParser.hasSpareCore else {
            channel = nil
            return
        }
        channel = BoundedChannel<Item>(capacity: max(1, depth))
    }

    deinit { channel?.close() }

    /// Starts the reading thread (at the first `next()`: nothing is read before it is asked for).
    private func start(_ channel: BoundedChannel<Item>) {
        started = true
        // The wrapped reader's diagnostics, collected on the reading thread for the item they belong to.
        let diagnostics = WarningQueue()
        reader.onDiagnostic = { message in diagnostics.messages.withLock { $0.append(message) } }
        // From here on only the reading thread uses the reader.
        nonisolated(unsafe) let reader = reader
        nonisolated(unsafe) let afterEach = afterEach
        _startThread {
            while true {
                var item = Self.read(reader, afterEach: afterEach)
                item.diagnostics = diagnostics.messages.withLock { d in defer { d.removeAll() }; return d }
                let last = item.batch == nil || item.error != nil
                // A closed channel: the consumer stopped early.
                if !channel.send(item) || last { return }
            }
        }
    }

    private static func read(_ reader: RecordReader, afterEach: ((RecordReader) throws(CoresetError) -> Void)?) -> Item {
        var batch: RecordBatch?
        var error: CoresetError?
        do {
            batch = try reader.next()
            try afterEach?(reader)
        } catch let e {
            error = e
        }
        return Item(batch: batch, error: error, statistics: reader.statistics, labels: reader.labels,
                    featureNames: reader.context.featureNames, inputName: reader.currentInputName,
                    position: reader.position, keptLines: reader.takeKeptLines(), diagnostics: [])
    }

    /// The next batch, or nil at the end of all inputs (or when SIGINT/SIGTERM stopped the reading).
    /// - Throws: what the wrapped reader threw, after the batches read before it.
    public func next() throws(CoresetError) -> RecordBatch? {
        if ended { return nil }
        let taken: Item?
        if let channel, !inline {
            if started {
                taken = channel.receive()
            } else {
                // The first batches on this thread, until the reader knows whether the input leaves a core
                // for reading ahead (on two cores it times a compressed input's first chunks to tell).
                taken = Self.read(reader, afterEach: afterEach)
                switch reader.hasCoreForHelper {
                case false?: inline = true
                case true?: if taken?.batch != nil && taken?.error == nil { start(channel) }
                case nil: break
                }
            }
        } else {
            taken = Self.read(reader, afterEach: afterEach)
        }
        guard let item = taken else {
            ended = true
            return nil
        }
        statistics = item.statistics
        labels = item.labels
        featureNames = item.featureNames
        currentInputName = item.inputName
        position = item.position
        keptLines.append(contentsOf: item.keptLines)
        for d in item.diagnostics { onDiagnostic(d) }
        if item.batch == nil || item.error != nil { ended = true }
        if let e = item.error { throw e }
        return item.batch
    }

    /// Text of the lines accepted in the batches handed out since the last call (see `RecordReader.takeKeptLines`).
    public func takeKeptLines() -> [(position: UInt64, text: String)] {
        defer { keptLines.removeAll(keepingCapacity: true) }
        return keptLines
    }

    /// Stops reading ahead (the consumer is done before the end of the stream).
    public func close() {
        ended = true
        channel?.close()
    }
}
