/// Label counts, dimension and density of a record stream, accumulated batch by batch.
public struct StreamSummary: Sendable {
    public internal(set) var records: UInt64 = 0
    public internal(set) var totalWeight: Double = 0
    /// Per class id: number of records and their total input weight (classification).
    public internal(set) var classCounts: [UInt64] = []
    public internal(set) var classWeights: [Double] = []
    /// Regression targets: min, max, sum.
    public internal(set) var targetMin = Double.infinity
    public internal(set) var targetMax = -Double.infinity
    public internal(set) var targetSum = 0.0
    /// One past the largest feature index seen.
    public internal(set) var dimension = 0
    /// Stored feature entries.
    public internal(set) var nonzeros: UInt64 = 0

    public let isRegression: Bool

    public init(regression: Bool) {
        isRegression = regression
    }

    /// - Complexity: O(entries of the batch).
    public mutating func add(_ batch: RecordBatch) { add(batch, rows: 0..<batch.count) }

    /// Adds the records `rows` of `batch` (no copy of them).
    public mutating func add(_ batch: RecordBatch, rows: Range<Int>) {
        records += UInt64(rows.count)
        nonzeros += UInt64(batch.rowStarts[rows.upperBound] - batch.rowStarts[rows.lowerBound])
        for r in rows {
            let w = batch.weights[r]
            totalWeight += w
            let end = batch.rowStarts[r + 1]
            if end > batch.rowStarts[r] { dimension = max(dimension, Int(batch.indices[end - 1]) + 1) }
            let y = batch.labels[r]
            if isRegression {
                targetMin = min(targetMin, y)
                targetMax = max(targetMax, y)
                targetSum += y
            } else {
                let c = Int(y)
                if c >= classCounts.count {
                    classCounts.append(contentsOf: repeatElement(0, count: c + 1 - classCounts.count))
                    classWeights.append(contentsOf: repeatElement(0, count: c + 1 - classWeights.count))
                }
                classCounts[c] += 1
                classWeights[c] += w
            }
        }
    }

    /// Fraction of the records × dimension matrix that is stored.
    public var density: Double {
        records == 0 || dimension == 0 ? 0 : Double(nonzeros) / (Double(records) * Double(dimension))
    }
}
