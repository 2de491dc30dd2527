/// What kind of target a stream carries, decided by its labels (or forced by the user).
public enum TaskKind: String, Sendable, Codable, CaseIterable {
    /// Two classes; class 0 is the negative one (-1 or 0), class 1 the positive one (+1 or 1).
    case binary
    /// K classes, ids 0..<K in order of first appearance unless labels are integers.
    case multiclass
    /// Real-valued targets.
    case regression
}

/// One training record: a label, sparse features and an input (importance) weight.
///
/// For classification `label` is the class id (0..<K) as a Double; for regression it is the target.
public struct Record: Sendable, Hashable {
    public var label: Double
    public var features: FeatureVector
    /// Importance weight from the input (VW's importance weight); 1 by default.
    public var weight: Double
    /// Zero-based position of the record among all accepted records of the stream: its stable id.
    public var position: UInt64

    public init(label: Double, features: FeatureVector, weight: Double = 1, position: UInt64 = 0) {
        self.label = label
        self.features = features
        self.weight = weight
        self.position = position
    }

    /// The class id for classification streams.
    @inlinable public var classIndex: Int { Int(label) }
}
