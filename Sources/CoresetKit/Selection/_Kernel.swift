#if canImport(Glibc)
import Glibc
#else
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#endif

/// A record as the objective sees it: its features, its residual at the current snapshot and the
/// cached squared norm of its (implicit) gradient.
///
/// In feature space the residual is empty and stands for the scalar 1 with no bias, so the same
/// formulas give plain Euclidean geometry. In gradient space
/// ‖g_i − g_j‖² = ‖g_i‖² + ‖g_j‖² − 2 (r_i·r_j)(x_i·x_j + b), so the outer product is never built.
struct _Point {
    var record: Record
    /// Residual r(x, y); empty in feature space.
    var residual: [Float]
    /// ‖g‖² = (r·r)(x·x + b); in feature space x·x.
    var gradientNorm2: Double
    /// Order of arrival in the stream (decides reservoir draws, decay and tie breaks).
    var arrival: UInt64
    /// x·x.
    var featureNorm2: Double
}

/// The similarity kernel with its scale frozen.
struct _Kernel: Sendable {
    enum Kind { case euclidean(scale: Double), cosine, rbf(gamma: Double), saturatedCosine(threshold: Double) }

    /// Share of the plain cosine kept in a saturated cosine, so that among elements that all saturate
    /// a record still has one most similar element (weights go to it), not a tie.
    static let saturationSlope = 0.02

    /// max(0, cos) / τ capped at 1 (plus a small share of max(0, cos), `saturationSlope`).
    /// See `SelectorConfiguration.Similarity.saturatedCosine`.
    @inline(__always)
    static func saturated(_ cos: Double, threshold: Double) -> Double {
        let c = min(1, max(0, cos))
        return (1 - saturationSlope) * min(1, c / threshold) + saturationSlope * c
    }
    var kind: Kind
    /// Snapshot used for gradient space, or nil for feature space.
    var embedding: (any GradientEmbedding)?
    var bias: Double { (embedding?.hasBias ?? false) ? 1 : 0 }

    /// Embeds a record at the current snapshot.
    func point(_ record: Record, arrival: UInt64) -> _Point {
        let xx = Double(VectorMath.squaredNorm(record.features))
        guard let e = embedding else {
            return _Point(record: record, residual: [], gradientNorm2: xx, arrival: arrival, featureNorm2: xx)
        }
        var r = [Float](repeating: 0, count: e.residualCount)
        e.residual(features: record.features, label: record.label, into: &r)
        return point(record, arrival: arrival, residual: r, featureNorm2: xx)
    }

    /// `point(_:arrival:)` given the record's residual at this kernel's snapshot (computed once by a
    /// caller that needed it first): the same point.
    func point(_ record: Record, arrival: UInt64, residual r: [Float]) -> _Point {
        point(record, arrival: arrival, residual: r, featureNorm2: Double(VectorMath.squaredNorm(record.features)))
    }

    private func point(_ record: Record, arrival: UInt64, residual r: [Float], featureNorm2 xx: Double) -> _Point {
        var rr = 0.0
        for v in r { rr += Double(v) * Double(v) }
        return _Point(record: record, residual: r, gradientNorm2: rr * (xx + bias), arrival: arrival, featureNorm2: xx)
    }

    /// Inner product of the two gradients (features when in feature space).
    @inline(__always)
    func inner(_ a: _Point, _ b: _Point) -> Double {
        let xd = Double(VectorMath.dot(a.record.features, b.record.features))
        if a.residual.isEmpty { return xd }
        var rd = 0.0
        for i in 0..<min(a.residual.count, b.residual.count) { rd += Double(a.residual[i]) * Double(b.residual[i]) }
        return rd * (xd + bias)
    }

    /// `similarity(_:_:featureDot:)` with b read in place (no retain of its arrays): the same value.
    /// `similarity(_:at:)` is this with the feature dot computed per pair.
    @inline(__always)
    func similarity(_ a: _Point, at b: UnsafePointer<_Point>, featureDot xd: Double) -> Float {
        var inner = xd
        if !a.residual.isEmpty {
            var rd = 0.0
            a.residual.withUnsafeBufferPointer { ra in
                b.pointee.residual.withUnsafeBufferPointer { rb in
                    for i in 0..<min(ra.count, rb.count) { rd += Double(ra[i]) * Double(rb[i]) }
                }
            }
            inner = rd * (xd + bias)
        }
        return _Kernel.similarity(kind, a.gradientNorm2, b.pointee.gradientNorm2, inner: inner)
    }

    /// Similarity given the feature dot product x_a·x_b (computed in bulk by `_ColumnStore`).
    @inline(__always)
    func similarity(_ a: _Point, _ b: _Point, featureDot xd: Double) -> Float {
        var inner = xd
        if !a.residual.isEmpty {
            var rd = 0.0
            for i in 0..<min(a.residual.count, b.residual.count) { rd += Double(a.residual[i]) * Double(b.residual[i]) }
            inner = rd * (xd + bias)
        }
        switch kind {
        case .euclidean(let d):
            return Float(max(0, d - max(0, a.gradientNorm2 + b.gradientNorm2 - 2 * inner).squareRoot()))
        case .cosine:
            let den = (a.gradientNorm2 * b.gradientNorm2).squareRoot()
            if den == 0 { return a.gradientNorm2 == b.gradientNorm2 ? 1 : 0.5 }
            return Float(min(1, max(0, (1 + inner / den) / 2)))
        case .saturatedCosine(let t):
            let den = (a.gradientNorm2 * b.gradientNorm2).squareRoot()
            if den == 0 { return a.gradientNorm2 == b.gradientNorm2 ? 1 : 0 }
            return Float(_Kernel.saturated(inner / den, threshold: t))
        case .rbf(let g):
            return Float((-g * max(0, a.gradientNorm2 + b.gradientNorm2 - 2 * inner)).exp())
        }
    }

    /// The similarity from the two squared gradient norms and their inner product: the same formulas,
    /// in the same order, as `similarity(_:_:)`, for loops that read norms and dot products from
    /// buffers instead of copying `_Point`s (and this kernel's existential) per pair.
    @inline(__always)
    static func similarity(_ kind: Kind, _ an: Double, _ bn: Double, inner: Double) -> Float {
        switch kind {
        case .euclidean(let d):
            return Float(max(0, d - max(0, an + bn - 2 * inner).squareRoot()))
        case .cosine:
            let den = (an * bn).squareRoot()
            if den == 0 { return an == bn ? 1 : 0.5 }
            return Float(min(1, max(0, (1 + inner / den) / 2)))
        case .saturatedCosine(let t):
            let den = (an * bn).squareRoot()
            if den == 0 { return an == bn ? 1 : 0 }
            return Float(_Kernel.saturated(inner / den, threshold: t))
        case .rbf(let g):
            return Float((-g * max(0, an + bn - 2 * inner)).exp())
        }
    }

    /// out[r] = similarity(.euclidean(scale: d), an, bn[r], inner: Double(dots[r])) for r in `range`, four
    /// at a time: the same IEEE operations in the same order (sqrt is correctly rounded either way, and
    /// "not ≥ 0" is replaced by 0 as `max(0, ·)` does, NaN included), so the same Floats, bit for bit.
    /// Why: this step follows every record's pass over its class's references (5% of `select` on mnist).
    @inline(__always)
    static func euclideanSimilarities(scale d: Double, _ an: Double, _ bn: UnsafeBufferPointer<Double>,
                                      _ dots: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>,
                                      _ range: Range<Int>) {
        var r = range.lowerBound
        let end = min(range.upperBound, bn.count, dots.count, out.count)
        let vd = SIMD4<Double>(repeating: d), va = SIMD4<Double>(repeating: an)
        let two = SIMD4<Double>(repeating: 2), zero = SIMD4<Double>()
        if end - r >= 4, let bb = bn.baseAddress, let db = dots.baseAddress, let ob = out.baseAddress {
            let bp = UnsafeRawPointer(bb), dp = UnsafeRawPointer(db), op = UnsafeMutableRawPointer(ob)
            while r + 4 <= end {
                let b = bp.loadUnaligned(fromByteOffset: r &* 8, as: SIMD4<Double>.self)
                let x = SIMD4<Double>(dp.loadUnaligned(fromByteOffset: r &* 4, as: SIMD4<Float>.self))
                var v = (va + b) - two * x
                v = v.replacing(with: zero, where: .!(v .>= zero))
                var t = vd - v.squareRoot()
                t = t.replacing(with: zero, where: .!(t .>= zero))
                op.storeBytes(of: SIMD4<Float>(t), toByteOffset: r &* 4, as: SIMD4<Float>.self)
                r &+= 4
            }
        }
        while r < end {
            out[r] = similarity(.euclidean(scale: d), an, bn[r], inner: Double(dots[r]))
            r += 1
        }
    }

    /// `similarity(a, b.pointee)` (same formulas, same order) reading b in place, so the loops over
    /// stored points do not copy a `_Point` (and retain its arrays) per pair.
    @inline(__always)
    func similarity(_ a: _Point, at b: UnsafePointer<_Point>) -> Float {
        similarity(a, at: b, featureDot: Double(VectorMath.dot(a.record.features, b.pointee.record.features)))
    }

    /// Squared distance between the two embedded points.
    @inline(__always)
    func distance2(_ a: _Point, _ b: _Point) -> Double {
        max(0, a.gradientNorm2 + b.gradientNorm2 - 2 * inner(a, b))
    }

    /// The similarity s(a, b) >= 0.
    @inline(__always)
    func similarity(_ a: _Point, _ b: _Point) -> Float {
        switch kind {
        case .euclidean(let d):
            return Float(max(0, d - distance2(a, b).squareRoot()))
        case .cosine:
            let den = (a.gradientNorm2 * b.gradientNorm2).squareRoot()
            if den == 0 { return a.gradientNorm2 == b.gradientNorm2 ? 1 : 0.5 }
            return Float(min(1, max(0, (1 + inner(a, b) / den) / 2)))
        case .saturatedCosine(let t):
            let den = (a.gradientNorm2 * b.gradientNorm2).squareRoot()
            if den == 0 { return a.gradientNorm2 == b.gradientNorm2 ? 1 : 0 }
            return Float(_Kernel.saturated(inner(a, b) / den, threshold: t))
        case .rbf(let g):
            return Float((-g * distance2(a, b)).exp())
        }
    }

    /// The largest similarity any pair can have (s(i, i)).
    var selfSimilarity: Float {
        switch kind {
        case .euclidean(let d): return Float(d)
        case .cosine, .rbf, .saturatedCosine: return 1
        }
    }

    /// The pairwise feature dots of a sample, packed for `make(_:embedding:sample:featureDots:)`, reusing
    /// those of a previous sample for records present in both (same arrival, same features):
    /// `VectorMath.dot` is symmetric bit for bit (the same products, summed in the same order), so a reused
    /// value is the one a fresh computation gives. Why: every re-selection freezes the scale again on about
    /// 500 references, and these O(n² · nnz) dots were 9% of `run --sync -k 2000` on mnist; late in a
    /// stream the reference reservoir, and so the sample, hardly changes.
    static func sampleDots(_ sample: [Record], arrivals: [UInt64],
                           reusing previous: (arrivals: [UInt64], dots: [Float])?) -> [Float] {
        let n = sample.count
        var old: [UInt64: Int] = [:]
        if let p = previous { for (k, a) in p.arrivals.enumerated() { old[a] = k } }
        // Each record's place in the previous sample, looked up once (not once per pair).
        let prior = arrivals.map { old[$0] }
        let previousDots = previous?.dots ?? []
        var out = [Float](repeating: 0, count: n * max(0, n - 1) / 2)
        // New pairs through a column store of the sample: one SIMD pass per record instead of a merge per
        // pair, the same products summed in the same increasing index order as `VectorMath.dot`'s sparse
        // and sparse/dense paths (a zero entry adds nothing), so the same values; pairs of dense prefixes
        // keep `VectorMath.dot` (its SIMD order). Why: the warm-up's 125,000 pairs were 3% of `select` on
        // mnist at k = 100.
        let dense = sample.map { !$0.features.indices.isEmpty && $0.features.isDensePrefix }
        var store = _ColumnStore(columns: max(1, n))
        if prior.contains(where: { $0 == nil }) { for j in 0..<n { store.set(j, sample[j].features, replacing: nil) } }
        var row: [Float] = []
        for i in 0..<n {
            let oi = prior[i]
            var rowFilled = false
            for j in 0..<i {
                if let oi, let oj = prior[j] {
                    let (a, b) = oi > oj ? (oi, oj) : (oj, oi)
                    out[i * (i - 1) / 2 + j] = previousDots[a * (a - 1) / 2 + b]
                } else if store.disabled || (dense[i] && dense[j]) {
                    out[i * (i - 1) / 2 + j] = VectorMath.dot(sample[i].features, sample[j].features)
                } else {
                    if !rowFilled {
                        store.dots(sample[i].features, count: i, into: &row)
                        rowFilled = true
                    }
                    out[i * (i - 1) / 2 + j] = row[j]
                }
            }
        }
        return out
    }

    /// Whether `make` reads the sample (a scale to freeze: Euclidean D, or RBF's γ when not given).
    static func measuresScale(_ similarity: SelectorConfiguration.Similarity) -> Bool {
        switch similarity {
        case .cosine, .saturatedCosine, .rbf(.some): return false
        default: return true
        }
    }

    /// Freezes the scale from a sample: D = the largest pairwise distance (CRAIG), or
    /// γ = 1 / mean squared pairwise distance for RBF without a given γ.
    /// - Complexity: O(n² · nnz) for n sample points.
    /// - Parameter featureDots: the sample's pairwise x_i·x_j (`sampleDots`), packed as row i, column
    ///   j < i at i(i−1)/2 + j, when the caller has them (they do not depend on the model).
    static func make(_ similarity: SelectorConfiguration.Similarity, embedding: (any GradientEmbedding)?,
                     sample: [Record], featureDots: [Float]? = nil) -> _Kernel {
        var k = _Kernel(kind: .cosine, embedding: embedding)
        switch similarity {
        case .cosine: return k
        case .saturatedCosine(let t): k.kind = .saturatedCosine(threshold: t); return k
        case .rbf(let g?): k.kind = .rbf(gamma: g); return k
        default: break
        }
        let pts = sample.map { k.point($0, arrival: 0) }
        // The pairs' feature dots in one column-store pass per record unless the caller has them.
        let dots = featureDots ?? sampleDots(sample, arrivals: sample.indices.map(UInt64.init), reusing: nil)
        var maxD2 = 0.0, sumD2 = 0.0, pairs = 0.0
        // `distance2` per pair, with the bias read once and the points read in place (no `_Point` or
        // existential copy per pair): same sums in the same order.
        let bias = k.bias
        pts.withUnsafeBufferPointer { q in
            for i in 0..<q.count {
                for j in 0..<i {
                    let xd = Double(dots[i * (i - 1) / 2 + j])
                    var inner = xd
                    if !q[i].residual.isEmpty {
                        var rd = 0.0
                        q[i].residual.withUnsafeBufferPointer { ra in
                            q[j].residual.withUnsafeBufferPointer { rb in
                                for t in 0..<min(ra.count, rb.count) { rd += Double(ra[t]) * Double(rb[t]) }
                            }
                        }
                        inner = rd * (xd + bias)
                    }
                    let d2 = max(0, q[i].gradientNorm2 + q[j].gradientNorm2 - 2 * inner)
                    maxD2 = max(maxD2, d2)
                    sumD2 += d2
                    pairs += 1
                }
            }
        }
        switch similarity {
        case .euclidean:
            // A zero scale would make every similarity 0; fall back to 1 (any positive constant works
            // when all warm-up points coincide).
            k.kind = .euclidean(scale: maxD2 > 0 ? maxD2.squareRoot() : 1)
        default:
            let mean = pairs > 0 ? sumD2 / pairs : 0
            k.kind = .rbf(gamma: mean > 0 ? 1 / mean : 1)
        }
        return k
    }
}

extension Double {
    @inline(__always) func exp() -> Double { _exp(self) }
}

@inline(__always) private func _exp(_ x: Double) -> Double {
    #if canImport(Glibc)
    return Glibc.exp(x)
    #else
    return Foundation.exp(x)
    #endif
}
