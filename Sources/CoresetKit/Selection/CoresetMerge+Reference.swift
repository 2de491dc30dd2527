/// The two pieces that keep a merge O(n · k): a weighted reference sample of a class's union (the
/// ground set the greedy covers), and rows of similarities from one point to a fixed set of points
/// computed as one pass over the point's nonzeros.
extension CoresetMerge {
    /// Up to `size` ground elements that stand for a class's weighted union: the objective
    /// Σ_i w_i max_S s(i, ·) is estimated by Σ_r ŵ_r max_S s(r, ·).
    ///
    /// An element at least as heavy as an equal share of what is left stands for itself (so a heavy
    /// element is never dropped or split); the others are drawn systematically, evenly spaced over
    /// their cumulative weight in union order (every shard and every part of a shard gets its share),
    /// each draw standing for an equal part of their weight. The reference weights add up to the
    /// class's weight. With `size >= weights.count` it is every element with its own weight: the
    /// exact objective.
    /// - Returns: (index into `weights`, reference weight) in increasing index order.
    static func reference(weights: [Double], size: Int) -> [(index: Int, weight: Double)] {
        let n = weights.count
        if size >= n { return weights.enumerated().map { ($0.offset, $0.element) } }
        guard size > 0 else { return [] }
        var chosen: [Int: Double] = [:]
        var rest = weights.reduce(0) { $0 + max(0, $1) }
        var slots = size
        // Heaviest first: each takes a slot of its own while it outweighs an equal share of the rest.
        for i in weights.indices.sorted(by: { (weights[$0], $1) > (weights[$1], $0) }) {
            guard slots > 1, rest > 0, weights[i] >= rest / Double(slots) else { break }
            chosen[i] = weights[i]
            rest -= weights[i]
            slots -= 1
        }
        let step = rest / Double(slots)
        if step > 0 {
            var next = step / 2, cumulative = 0.0
            var drawn = 0
            for i in 0..<n where chosen[i] == nil && weights[i] > 0 {
                cumulative += weights[i]
                while next < cumulative && drawn < slots {
                    chosen[i, default: 0] += step
                    next += step
                    drawn += 1
                }
            }
        } else {
            // No weight left to stand for: evenly spaced elements (they add nothing to the objective).
            let free = (0..<n).filter { chosen[$0] == nil }
            for t in 0..<min(slots, free.count) { chosen[free[t * free.count / slots]] = 0 }
        }
        return chosen.keys.sorted().map { ($0, chosen[$0]!) }
    }
}

/// Similarities from one point to every point of a fixed set: the set's feature vectors are the
/// columns of a dense matrix (`_ColumnStore`), so a row is one pass over the point's nonzeros plus
/// one kernel step per column, instead of a sparse-sparse dot per pair. Falls back to per-pair dots
/// when the dimension is too wide for the matrix (hashed text).
struct _SimilarityRows {
    let kernel: _Kernel
    let points: [_Point]
    private var store: _ColumnStore
    private let floatNorms: [Float]
    private var dots: [Float]

    init(kernel: _Kernel, points: [_Point]) {
        self.kernel = kernel
        self.points = points
        store = _ColumnStore(columns: points.count)
        for (c, p) in points.enumerated() { store.set(c, p.record.features, replacing: nil) }
        floatNorms = points.map { Float($0.gradientNorm2) }
        dots = [Float](repeating: 0, count: points.count)
    }

    var count: Int { points.count }

    /// row[r] = s(a, points[r]) for every r.
    mutating func fill(_ a: _Point, into row: inout [Float]) { fill(a, into: &row, columns: 0..<points.count) }

    /// row[r] = s(a, points[r]) for r in `columns` (other entries untouched). A pass over a block of
    /// columns at a time keeps that block of the matrix in cache for every point that visits it.
    mutating func fill(_ a: _Point, into row: inout [Float], columns: Range<Int>) {
        let m = points.count
        if row.count < m { row = [Float](repeating: 0, count: m) }
        let lo = max(0, columns.lowerBound), hi = min(m, columns.upperBound)
        guard lo < hi else { return }
        if store.disabled {
            points.withUnsafeBufferPointer { p in
                for r in lo..<hi { row[r] = kernel.similarity(a, at: p.baseAddress! + r) }
            }
            return
        }
        store.dots(a.record.features, count: hi, from: lo, into: &dots)
        if a.residual.isEmpty, case .euclidean(let d) = kernel.kind {
            // Float arithmetic, eight at a time: the merge only compares these values with each other
            // (a distance error of ~1e-3 D at worst, for near-duplicates), unlike the selector, whose
            // decisions must match its reference loop bit for bit.
            let vd = SIMD8<Float>(repeating: Float(d)), va = SIMD8<Float>(repeating: Float(a.gradientNorm2))
            let zero = SIMD8<Float>()
            floatNorms.withUnsafeBufferPointer { bn in
                dots.withUnsafeBufferPointer { dp in
                    row.withUnsafeMutableBufferPointer { out in
                        let bp = UnsafeRawPointer(bn.baseAddress!), xp = UnsafeRawPointer(dp.baseAddress!)
                        let op = UnsafeMutableRawPointer(out.baseAddress!)
                        var r = lo
                        while r + 8 <= hi {
                            let b = bp.loadUnaligned(fromByteOffset: r &* 4, as: SIMD8<Float>.self)
                            let x = xp.loadUnaligned(fromByteOffset: r &* 4, as: SIMD8<Float>.self)
                            var v = (va + b) - (x + x)
                            v = v.replacing(with: zero, where: v .< zero)
                            var t = vd - v.squareRoot()
                            t = t.replacing(with: zero, where: t .< zero)
                            op.storeBytes(of: t, toByteOffset: r &* 4, as: SIMD8<Float>.self)
                            r &+= 8
                        }
                        while r < hi {
                            out[r] = Float(max(0, d - max(0, a.gradientNorm2 + Double(bn[r]) - 2 * Double(dp[r])).squareRoot()))
                            r += 1
                        }
                    }
                }
            }
        } else {
            for r in lo..<hi { row[r] = kernel.similarity(a, points[r], featureDot: Double(dots[r])) }
        }
    }
}

extension CoresetMerge {
    /// Columns per block in the pass over every element (a 512-column block of a 510-feature matrix
    /// is 1 MB, and a sparse record touches only its rows of it).
    static let blockColumns = 512

    /// Lazy greedy picks (indices into `points`) of `budget` elements maximising the weighted coverage
    /// of a reference sample of `size` elements (see `reference`), the reference's elements the
    /// candidates.
    ///
    /// Each reference element first takes the weight of the union elements nearest to it (Voronoi
    /// weights: one pass over all elements, block of references by block): then
    /// |s(i, j) − s(r(i), j)| <= d(i, r(i)) bounds the error of the estimate per element (Euclidean),
    /// where the sample's own weights would only be right on average. Candidates outside the
    /// reference were measured to add nothing (census_kdd unions of 8,000 to 100,000 elements: the
    /// objective within 0.03% either way) at n/m times the cost.
    /// - Complexity: O(n · m) similarities for the weights plus O(m²) for the greedy (rows cached
    ///   while m² floats fit in 128 MB), m = min(n, size).
    static func referenceGreedy(points: [_Point], weights: [Double], budget: Int, size: Int, kernel: _Kernel) -> [Int] {
        let n = points.count
        let reference = Self.reference(weights: weights, size: size)
        var ground = _SimilarityRows(kernel: kernel, points: reference.map { points[$0.index] })
        let m = reference.count
        guard m > 0, budget > 0 else { return [] }
        var rw = reference.map { Float($0.weight) }
        if m < n {
            var slotOf = [Int](repeating: -1, count: n)
            for (slot, r) in reference.enumerated() { slotOf[r.index] = slot }
            var row = [Float](repeating: 0, count: m)
            var best = [Float](repeating: -.infinity, count: n), bestSlot = [Int](repeating: 0, count: n)
            for block in stride(from: 0, to: m, by: blockColumns) {
                let columns = block..<min(m, block + blockColumns)
                for i in 0..<n where slotOf[i] < 0 {
                    ground.fill(points[i], into: &row, columns: columns)
                    for r in columns where row[r] > best[i] { best[i] = row[r]; bestSlot[i] = r }
                }
            }
            var total = [Double](repeating: 0, count: m)
            for i in 0..<n { total[slotOf[i] >= 0 ? slotOf[i] : bestSlot[i]] += weights[i] }
            rw = total.map { Float($0) }
        }
        // Weighted ground set: w_r max(0, s_r − cover_r) = max(0, w_r s_r − w_r cover_r) for w_r >= 0,
        // so rows scaled by the reference weights make the unweighted greedy weighted.
        var cover = [Float](repeating: 0, count: m)
        let picks = _Greedy.lazy(candidateCount: m, groundCount: m, budget: budget, cover: &cover) { c, row in
            ground.fill(ground.points[c], into: &row)
            for r in 0..<m { row[r] *= rw[r] }
        }
        return picks.map { reference[$0].index }
    }
}
