/// A sparse feature vector: strictly increasing zero-based indices with their values.
///
/// Records are kept sparse everywhere; the kernels in `VectorMath` take a dense fast path when a
/// vector covers a contiguous prefix `0..<n` (the common case for image-like data), so mnist-like
/// data is not slowed by index chasing and census-like data is never densified.
public struct FeatureVector: Sendable, Hashable {
    /// Zero-based feature indices, strictly increasing.
    public var indices: [UInt32]
    /// Values, one per index.
    public var values: [Float]

    public init() {
        indices = []
        values = []
    }

    /// Creates a vector from indices that are already strictly increasing.
    public init(indices: [UInt32], values: [Float]) {
        precondition(indices.count == values.count, "indices and values differ in length")
        self.indices = indices
        self.values = values
    }

    /// Creates a vector from a dense array, keeping every entry (zeros included) so the dense
    /// fast path applies.
    public init(dense: [Float]) {
        indices = (0..<UInt32(dense.count)).map { $0 }
        values = dense
    }

    /// Number of stored entries.
    @inlinable public var nonzeroCount: Int { indices.count }

    /// One past the largest index, or 0 when empty.
    @inlinable public var dimension: Int { indices.last.map { Int($0) + 1 } ?? 0 }

    /// True when the indices are exactly `0..<count`, so the values can be used as a dense array.
    @inlinable public var isDensePrefix: Bool {
        indices.isEmpty || Int(indices[indices.count - 1]) == indices.count - 1
    }

    /// Value at `index`, or 0.
    public subscript(index: Int) -> Float {
        if isDensePrefix { return index < values.count ? values[index] : 0 }
        var lo = 0, hi = indices.count
        let key = UInt32(truncatingIfNeeded: index)
        while lo < hi {
            let mid = (lo + hi) >> 1
            if indices[mid] < key { lo = mid + 1 } else { hi = mid }
        }
        return lo < indices.count && indices[lo] == key ? values[lo] : 0
    }

    /// The vector as a dense array of the given length (entries past it are ignored).
    public func densified(dimension: Int) -> [Float] {
        var out = [Float](repeating: 0, count: dimension)
        for (i, v) in zip(indices, values) where Int(i) < dimension { out[Int(i)] = v }
        return out
    }
}
