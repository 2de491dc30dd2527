import Testing
@testable import CoresetKit

/// The scale sample's pairwise dots (through a column store, and reused across re-selections) are the
/// values `VectorMath.dot` gives, bit for bit, whatever the order the records come back in (sparse,
/// dense-prefix and mixed samples).
@Suite struct ScaleSampleDotsTests {
    /// Sparse, dense-prefix, or both in turn (`dense` nil).
    static func records(dense: Bool?) -> [Record] {
        var g = SeededGenerator(seed: 5)
        return (0..<40).map { i in
            let dense = dense ?? (i % 3 == 0)
            var r = SelectionFixtures.blobs(n: 1, dim: 12, classes: 2, seed: UInt64(i) &+ 99, sparse: !dense)[0]
            // Values of mixed signs and magnitudes, so that a sum in another order would round differently.
            let scaled = r.features.values.map { $0 * Float(1 + g.below(1000)) * (g.below(2) == 0 ? -1 : 1) }
            r.features = dense ? FeatureVector(dense: scaled) : FeatureVector(indices: r.features.indices, values: scaled)
            return r
        }
    }

    static func fresh(_ s: [Record]) -> [Float] {
        var out: [Float] = []
        for i in 0..<s.count { for j in 0..<i { out.append(VectorMath.dot(s[i].features, s[j].features)) } }
        return out
    }

    @Test(arguments: [false, true, nil]) func reusedDotsEqualFreshOnes(dense: Bool?) {
        let all = Self.records(dense: dense)
        let first = Array(0..<25), second = [30, 3, 24, 7, 31, 0, 12, 35, 5, 18, 22, 1, 39]  // overlap, reordered
        let firstDots = _Kernel.sampleDots(first.map { all[$0] }, arrivals: first.map(UInt64.init), reusing: nil)
        #expect(firstDots.map(\.bitPattern) == Self.fresh(first.map { all[$0] }).map(\.bitPattern))
        let reused = _Kernel.sampleDots(second.map { all[$0] }, arrivals: second.map(UInt64.init),
                                        reusing: (first.map(UInt64.init), firstDots))
        #expect(reused.map(\.bitPattern) == Self.fresh(second.map { all[$0] }).map(\.bitPattern))
    }
}
