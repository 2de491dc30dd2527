/// A uniform random sample of k records of the stream (Vitter's Algorithm R), each weighted
/// n/k so the weights sum to the records seen: the baseline a coreset must beat as replay memory.
public struct ReservoirMemory: Sendable {
    public let k: Int
    public internal(set) var records: [Record] = []
    public internal(set) var seen: UInt64 = 0
    public internal(set) var totalWeight: Double = 0
    var rng: SeededGenerator

    public init(k: Int, seed: UInt64 = 0) {
        self.k = k
        self.rng = SeededGenerator(seed: seed &+ 0x9E37_79B9_7F4A_7C15)
    }

    /// - Complexity: O(1) per record, O(k) records stored.
    public mutating func offer(_ record: Record) {
        seen += 1
        totalWeight += record.weight
        if records.count < k {
            records.append(record)
        } else {
            let j = Int(rng.next() % seen)
            if j < k { records[j] = record }
        }
    }

    /// The sample with weights that sum to the input weight seen.
    public var weightedRecords: [(record: Record, weight: Double)] {
        guard !records.isEmpty else { return [] }
        let sampleWeight = records.reduce(0) { $0 + $1.weight }
        let scale = sampleWeight > 0 ? totalWeight / sampleWeight : 0
        return records.map { ($0, $0.weight * scale) }
    }
}
