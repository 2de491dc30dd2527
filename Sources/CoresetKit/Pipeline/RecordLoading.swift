/// Reads a whole (test or holdout) file into memory, with the label mapping of a model or of
/// the training stream so class ids agree.
public func loadRecords(
    path: String, options: ReaderOptions, labels: LabelMap?, onDiagnostic: @escaping (String) -> Void
) throws(CoresetError) -> (records: [Record], statistics: IngestStatistics, labels: LabelMap) {
    var o = options
    o.initialLabels = labels
    // Records are scored against that mapping: a class it lacks is a bad record.
    o.fixedClasses = labels != nil
    o.followIdleTimeout = nil
    let reader = RecordReader(inputs: [path == "-" ? .stdin : .file(path)], options: o, onDiagnostic: onDiagnostic)
    var records: [Record] = []
    while let batch = try reader.next() { records.append(contentsOf: batch.records) }
    return (records, reader.statistics, reader.labels)
}

/// Work started now on a thread of its own and waited for later: `train --refit` reads its refit data while
/// the input still arrives (through a pipe from `select`, say), so the two reads overlap.
public final class BackgroundWork<Value>: @unchecked Sendable {
    private let outcome = _Promise<Result<Value, any Error>>()

    /// Starts `work` at once. `Value` crosses from that thread to the caller of `wait` once, after the
    /// work is done; nothing else touches it.
    public init(_ work: @escaping @Sendable () throws -> Value) {
        let outcome = self.outcome
        _startThread { outcome.fulfil(Result { try work() }) }
    }

    /// The work's value, or the error it threw; blocks until it is done.
    public func wait() throws -> Value { try outcome.wait().get() }
}
