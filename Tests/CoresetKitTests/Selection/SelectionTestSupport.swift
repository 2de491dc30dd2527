import Foundation
@testable import CoresetKit

/// A logistic (one residual) or softmax (K residuals) linear model, the test's own GradientEmbedding.
struct TestLinearModel: GradientEmbedding {
    var weights: [[Float]]
    var bias: [Float]
    var version: Int
    var hasBias: Bool { true }
    var residualCount: Int { weights.count }

    func residual(features: FeatureVector, label: Double, into out: inout [Float]) {
        if out.count != weights.count { out = [Float](repeating: 0, count: weights.count) }
        var z = [Double](repeating: 0, count: weights.count)
        for a in 0..<weights.count {
            var s = Double(bias[a])
            for (i, v) in zip(features.indices, features.values) where Int(i) < weights[a].count {
                s += Double(weights[a][Int(i)]) * Double(v)
            }
            z[a] = s
        }
        if weights.count == 1 {
            let p = 1 / (1 + exp(-z[0]))
            out[0] = Float(p - (label > 0 ? 1 : 0))
        } else {
            let mx = z.max()!
            let e = z.map { exp($0 - mx) }
            let t = e.reduce(0, +)
            for a in 0..<weights.count { out[a] = Float(e[a] / t - (Int(label) == a ? 1 : 0)) }
        }
    }

    /// The explicit gradient r ⊗ (x, 1), flattened, of dimension `dim`.
    func explicitGradient(_ r: Record, dim: Int) -> [Double] {
        var res = [Float]()
        residual(features: r.features, label: r.label, into: &res)
        let x = r.features.densified(dimension: dim).map(Double.init) + [1]
        var g: [Double] = []
        for a in res { for v in x { g.append(Double(a) * v) } }
        return g
    }

    static func random(classes: Int, dim: Int, seed: UInt64, version: Int = 1, scale: Float = 0.5) -> TestLinearModel {
        var g = SeededGenerator(seed: seed)
        func u() -> Float { Float(Double(g.next() >> 11) / Double(1 << 53)) * 2 - 1 }
        let rows = classes == 2 ? 1 : classes
        return TestLinearModel(
            weights: (0..<rows).map { _ in (0..<dim).map { _ in u() * scale } },
            bias: (0..<rows).map { _ in u() * scale }, version: version)
    }
}

enum SelectionFixtures {
    /// Gaussian-ish blobs: `classes` clusters in `dim` dimensions, seeded. Dense unless `sparse`.
    static func blobs(n: Int, dim: Int, classes: Int, seed: UInt64, sparse: Bool = false,
                      randomWeights: Bool = false) -> [Record] {
        var g = SeededGenerator(seed: seed)
        func u() -> Double { Double(g.next() >> 11) / Double(1 << 53) }
        func normal() -> Double { (-2 * log(max(u(), 1e-12))).squareRoot() * cos(2 * .pi * u()) }
        let centres = (0..<classes * 2).map { _ in (0..<dim).map { _ in normal() * 3 } }
        var out: [Record] = []
        for i in 0..<n {
            let c = Int(g.below(UInt64(classes)))
            let centre = centres[c * 2 + Int(g.below(2))]
            let x = centre.map { Float($0 + normal()) }
            let f: FeatureVector
            if sparse {
                var idx: [UInt32] = [], val: [Float] = []
                for (j, v) in x.enumerated() where u() < 0.4 { idx.append(UInt32(j * 3)); val.append(v) }
                f = FeatureVector(indices: idx, values: val)
            } else {
                f = FeatureVector(dense: x)
            }
            out.append(Record(label: Double(c), features: f, weight: randomWeights ? 0.5 + u() * 2 : 1, position: UInt64(i)))
        }
        return out
    }

    /// Best facility-location value over all subsets of size exactly `k` (n <= 12).
    static func bruteForceOptimum(_ records: [Record], k: Int, objective: FacilityLocation) -> Double {
        let n = records.count
        var best = 0.0
        for mask in 0..<(1 << n) where mask.nonzeroBitCount == min(k, n) {
            let sel = (0..<n).filter { mask & (1 << $0) != 0 }.map { records[$0] }
            best = max(best, objective.evaluate(selected: sel, on: records, perClass: false))
        }
        return best
    }
}
