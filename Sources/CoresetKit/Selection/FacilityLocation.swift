/// CRAIG's facility-location objective F(S) = Σ_{i ∈ V} max_{j ∈ S} s(i, j) with a frozen similarity,
/// plus the exact evaluators benchmarks need.
///
/// Paper: Mirzasoleiman, Bilmes, Leskovec, "Coresets for Data-efficient Training of Machine Learning
/// Models", ICML 2020. F is monotone submodular for any s >= 0, which is all the guarantees of the
/// greedy and sieve algorithms need; clamping s at 0 (for points farther apart than the scale D
/// fixed at warm-up) keeps that true.
public struct FacilityLocation: Sendable {
    var kernel: _Kernel

    /// The similarity kind, with the scale resolved.
    public var similarity: SelectorConfiguration.Similarity {
        switch kernel.kind {
        case .euclidean: return .euclidean
        case .cosine: return .cosine
        case .saturatedCosine(let t): return .saturatedCosine(threshold: t)
        case .rbf(let g): return .rbf(gamma: g)
        }
    }

    /// D for Euclidean similarity, γ for RBF, 1 for cosine.
    public var scale: Double {
        switch kernel.kind {
        case .euclidean(let d): return d
        case .cosine, .saturatedCosine: return 1
        case .rbf(let g): return g
        }
    }

    /// The snapshot distances are measured at (nil: feature space).
    public var embedding: (any GradientEmbedding)? { kernel.embedding }

    /// An objective with a given scale.
    /// - Parameters:
    ///   - similarity: the kernel; for `.rbf(gamma: nil)` `scale` is used as γ.
    ///   - scale: D for Euclidean (s = max(0, D − d)), γ for RBF, ignored for cosine.
    ///   - embedding: a snapshot to measure in gradient space, or nil for feature space.
    public init(similarity: SelectorConfiguration.Similarity, scale: Double, embedding: (any GradientEmbedding)? = nil) {
        switch similarity {
        case .euclidean: kernel = _Kernel(kind: .euclidean(scale: scale), embedding: embedding)
        case .cosine: kernel = _Kernel(kind: .cosine, embedding: embedding)
        case .saturatedCosine(let t): kernel = _Kernel(kind: .saturatedCosine(threshold: t), embedding: embedding)
        case .rbf(let g): kernel = _Kernel(kind: .rbf(gamma: g ?? scale), embedding: embedding)
        }
    }

    init(kernel: _Kernel) { self.kernel = kernel }

    /// An objective whose scale is fixed from `sample` by the selector's warm-up rule: D = the
    /// largest pairwise distance (CRAIG), γ = 1 / mean squared pairwise distance.
    /// - Complexity: O(n² · nnz) for n = `sample.count`.
    public static func fitted(_ similarity: SelectorConfiguration.Similarity, sample: [Record],
                              embedding: (any GradientEmbedding)? = nil) -> FacilityLocation {
        FacilityLocation(kernel: _Kernel.make(similarity, embedding: embedding, sample: sample))
    }

    /// s(a, b) in the objective's space.
    /// - Complexity: O(nnz(a) + nnz(b)) plus the residuals when in gradient space.
    public func similarity(_ a: Record, _ b: Record) -> Double {
        Double(kernel.similarity(kernel.point(a, arrival: 0), kernel.point(b, arrival: 0)))
    }

    /// Exact F(selected) on `sample`: Σ_{i ∈ sample} max_{j ∈ selected} s(i, j).
    /// - Parameters:
    ///   - perClass: if true, a sample record is only covered by selected records of its own class
    ///     (the sum of the per-class objectives, as the selector optimises for classification);
    ///     use false for regression.
    /// - Complexity: O(|sample| · |selected| · nnz) time, O(|selected|) memory.
    public func evaluate(selected: [Record], on sample: [Record], perClass: Bool = true) -> Double {
        let sel = selected.map { kernel.point($0, arrival: 0) }
        var total = 0.0
        for r in sample {
            let p = kernel.point(r, arrival: 0)
            var best: Float = 0
            for q in sel where !perClass || q.record.label == r.label {
                best = max(best, kernel.similarity(p, q))
            }
            total += Double(best)
        }
        return total
    }

    /// Lazy greedy (Minoux 1978): picks up to `budget` of `candidates` maximising F on `ground`.
    /// - Returns: indices into `candidates`, in the order picked. Identical to naive greedy
    ///   (ties go to the lower index).
    /// - Complexity: O(|candidates| · |ground| · nnz) similarity evaluations (each computed once and
    ///   cached while the matrix fits in 128 MB), O(|candidates| log |candidates|) heap work per pick.
    public func greedy(candidates: [Record], ground: [Record], budget: Int) -> [Int] {
        let c = candidates.map { kernel.point($0, arrival: 0) }
        let g = ground.map { kernel.point($0, arrival: 0) }
        var cover = [Float](repeating: 0, count: g.count)
        return _Greedy.lazy(candidateCount: c.count, groundCount: g.count, budget: budget, cover: &cover) { i, row in
            for j in 0..<g.count { row[j] = kernel.similarity(c[i], g[j]) }
        }
    }

    /// The error CRAIG bounds: ‖Σ_i w_i ∇_i − Σ_j γ_j ∇_j‖ (Frobenius), with ∇ = r(x, y) ⊗ (x, 1 if bias)
    /// the loss gradient at `embedding` and w_i the records' input weights.
    ///
    /// Compare with uniform random subsets of the same size weighted n/k.
    /// - Complexity: O(Σ nnz · residualCount) time, O(residualCount · dimension) memory: the two sums
    ///   are accumulated as dense matrices; per-record outer products are never stored.
    public static func gradientError(data: [Record], coreset: [(record: Record, weight: Double)],
                                     embedding: any GradientEmbedding) -> Double {
        let m = max(1, embedding.residualCount)
        var dim = 0
        for r in data { dim = max(dim, r.features.dimension) }
        for e in coreset { dim = max(dim, e.record.features.dimension) }
        let cols = dim + 1  // last column: bias
        var acc = [Double](repeating: 0, count: m * cols)
        var res = [Float](repeating: 0, count: m)
        func add(_ r: Record, _ w: Double) {
            embedding.residual(features: r.features, label: r.label, into: &res)
            for a in 0..<m {
                let s = w * Double(res[a])
                if s == 0 { continue }
                let base = a * cols
                for (i, v) in zip(r.features.indices, r.features.values) { acc[base + Int(i)] += s * Double(v) }
                if embedding.hasBias { acc[base + dim] += s }
            }
        }
        for r in data { add(r, r.weight) }
        for e in coreset { add(e.record, -e.weight) }
        var n2 = 0.0
        for v in acc { n2 += v * v }
        return n2.squareRoot()
    }

    /// ‖Σ_i w_i ∇_i‖, the norm to divide `gradientError` by for a relative error.
    public static func gradientNorm(data: [Record], embedding: any GradientEmbedding) -> Double {
        gradientError(data: data, coreset: [], embedding: embedding)
    }
}
