/// A batch of decoded records stored column-wise in a few flat arrays.
///
/// Decoders append into a batch without allocating per record, and stages hand whole batches to
/// each other (arrays are copy-on-write, so a batch is a cheap immutable value once sent).
public struct RecordBatch: Sendable {
    public var labels: [Double] = []
    public var weights: [Double] = []
    /// Stream positions (stable ids) of the records.
    public var positions: [UInt64] = []
    /// `rowStarts[i]..<rowStarts[i+1]` indexes `indices`/`values` for record i. Always count+1 long.
    public var rowStarts: [Int] = [0]
    public var indices: [UInt32] = []
    public var values: [Float] = []

    public init() {}

    public init(_ records: some Sequence<Record>) {
        for r in records { append(r) }
    }

    @inlinable public var count: Int { labels.count }
    @inlinable public var isEmpty: Bool { labels.isEmpty }

    /// Reserves room for `records` rows holding `entries` features in all.
    public mutating func reserveCapacity(records: Int, entries: Int) {
        labels.reserveCapacity(records)
        weights.reserveCapacity(records)
        positions.reserveCapacity(records)
        rowStarts.reserveCapacity(records + 1)
        indices.reserveCapacity(entries)
        values.reserveCapacity(entries)
    }

    /// Removes all records, keeping capacity.
    public mutating func removeAll() {
        labels.removeAll(keepingCapacity: true)
        weights.removeAll(keepingCapacity: true)
        positions.removeAll(keepingCapacity: true)
        rowStarts.removeAll(keepingCapacity: true)
        rowStarts.append(0)
        indices.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
    }

    /// Appends a record.
    public mutating func append(_ record: Record) {
        indices.append(contentsOf: record.features.indices)
        values.append(contentsOf: record.features.values)
        closeRow(label: record.label, weight: record.weight, position: record.position)
    }

    /// Ends the row whose features were appended to `indices`/`values` since the last row.
    @inlinable public mutating func closeRow(label: Double, weight: Double, position: UInt64) {
        labels.append(label)
        weights.append(weight)
        positions.append(position)
        rowStarts.append(indices.count)
    }

    /// Drops features appended since the last closed row (a record that turned out bad).
    @inlinable public mutating func discardOpenRow() {
        let start = rowStarts[rowStarts.count - 1]
        if indices.count > start {
            indices.removeSubrange(start...)
            values.removeSubrange(start...)
        }
    }

    /// Removes the last closed record (one a reader check refused after its parser accepted it).
    public mutating func removeLastRow() {
        guard !labels.isEmpty else { return }
        labels.removeLast()
        weights.removeLast()
        positions.removeLast()
        rowStarts.removeLast()
        discardOpenRow()
    }

    /// Appends every record of `other` (closed rows only), adding `positionOffset` to their positions:
    /// a batch parsed apart, whose positions were counted from the wrong start, joins this one in order.
    public mutating func append(contentsOf other: RecordBatch, positionOffset: UInt64 = 0) {
        let base = indices.count
        labels.append(contentsOf: other.labels)
        weights.append(contentsOf: other.weights)
        if positionOffset == 0 {
            positions.append(contentsOf: other.positions)
        } else {
            positions.append(contentsOf: other.positions.lazy.map { $0 &+ positionOffset })
        }
        rowStarts.append(contentsOf: other.rowStarts.dropFirst().lazy.map { $0 + base })
        let end = other.rowStarts[other.rowStarts.count - 1]
        indices.append(contentsOf: other.indices[..<end])
        values.append(contentsOf: other.values[..<end])
    }

    /// Records `range` as a batch of their own (a copy of their slices of the arrays).
    public func rows(_ range: Range<Int>) -> RecordBatch {
        if range == 0..<count { return self }
        var b = RecordBatch()
        let entries = rowStarts[range.lowerBound]..<rowStarts[range.upperBound]
        b.labels = Array(labels[range])
        b.weights = Array(weights[range])
        b.positions = Array(positions[range])
        b.rowStarts = rowStarts[range.lowerBound...range.upperBound].map { $0 - entries.lowerBound }
        b.indices = Array(indices[entries])
        b.values = Array(values[entries])
        return b
    }

    /// Record i as a standalone value (allocates its feature arrays).
    public subscript(i: Int) -> Record {
        let r = rowStarts[i]..<rowStarts[i + 1]
        return Record(
            label: labels[i],
            features: FeatureVector(indices: Array(indices[r]), values: Array(values[r])),
            weight: weights[i],
            position: positions[i])
    }

    /// All records as standalone values.
    public var records: [Record] { (0..<count).map { self[$0] } }
}
