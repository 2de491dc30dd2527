/// A weighted subset of the stream: the selector's answer.
///
/// Invariant (per class): the weights sum to the input weight the selector accepted for that class
/// (decayed, with a half-life), so Σ_j weight_j ∇_j estimates Σ_i w_i ∇_i (CRAIG).
public struct WeightedCoreset: Sendable {
    /// One selected record.
    public struct Element: Sendable, Hashable {
        /// The record as it arrived; `record.position` is its stable id in the whole stream.
        public var record: Record
        /// The input weight this element stands for.
        public var weight: Double
        /// Class id (0 for regression).
        public var classIndex: Int
        /// Where a merged element was selected (`coreset merge`); nil for a shard's own selection.
        public var origin: CoresetOrigin?

        public init(record: Record, weight: Double, classIndex: Int, origin: CoresetOrigin? = nil) {
            self.record = record
            self.weight = weight
            self.classIndex = classIndex
            self.origin = origin
        }

        /// Stable id: the record's position in the stream.
        @inlinable public var id: UInt64 { record.position }
    }

    /// Elements ordered by class, then by stream position.
    public var elements: [Element]

    public init(elements: [Element] = []) { self.elements = elements }

    @inlinable public var count: Int { elements.count }

    /// Sum of all weights.
    public var totalWeight: Double { elements.reduce(0) { $0 + $1.weight } }

    /// Sum of the weights of one class.
    public func totalWeight(ofClass c: Int) -> Double {
        elements.reduce(0) { $0 + ($1.classIndex == c ? $1.weight : 0) }
    }

    /// The elements as (record, weight) pairs, e.g. for `FacilityLocation.gradientError`.
    public var weightedRecords: [(record: Record, weight: Double)] { elements.map { ($0.record, $0.weight) } }
}
