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
