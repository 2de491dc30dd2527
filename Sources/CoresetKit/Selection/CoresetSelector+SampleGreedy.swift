/// `SelectorConfiguration.Algorithm.sampleGreedy`: each class keeps a uniform reservoir (Algorithm R,
/// the same draws as the sieves' reference reservoir) and its input weight; the facility location is
/// maximised by lazy greedy over the reservoir when the coreset is read out.
///
/// Why: a sieve compares every offered record with the whole reference reservoir, which grows with
/// the class's budget, so reading cost O(k) similarities per record (census_kdd, k = 10,000: 194x the
/// time of `coreset stats`). Here a record costs a reservoir draw and two sums, whatever k is, and the
/// quadratic work moves to the read-out, where it is bounded: the reservoir is split into cells of at
/// most `SelectorConfiguration.cellSize` (4096) nearby references (a tree of two-pole splits under the kernel's own
/// similarity), each cell chooses its share of the budget with its own references as ground set, so a
/// read-out costs O(R · min(R, cell)) similarities instead of O(R²). Facility-location gains are local,
/// so cells of nearby points lose little of the objective (GreeDi's argument, with locality).
///
/// Weights: the class's whole input weight (exact, summed as records arrive) is split over the chosen
/// elements in proportion to the input weight of the references each one is most similar to (within
/// its cell), an unbiased estimate of CRAIG's cell weights since the reservoir is a uniform sample of
/// the class; gradient space then fits them to the class's exact gradient sum as for every algorithm.
/// A class that never filled its reservoir holds all its records, and its weights are exactly CRAIG's.
extension CoresetSelector {
    /// One record of a `sampleGreedy` class: its weight joins the class's (the read-out splits it), and
    /// Algorithm R decides whether it replaces a reference (drawn as `process` draws, once the
    /// reservoir is full, so the reservoir is the sieves' reservoir for the same seed).
    func sampleStep(_ p: _Point, in c: _ClassState, ordinal: Int, weight: Double) {
        c.pending.plain += weight
        if !c.started {
            c.appendReference(p)
            if c.refCount >= referenceTarget(c) {
                c.started = true
                c.maxCapacity = max(c.maxCapacity, c.capacity)
            }
            return
        }
        let j = Int(c.rng.below(UInt64(ordinal)))
        if c.refCount < referenceTarget(c) {
            c.appendReference(p)
        } else if j < c.refCount {
            c.replaceReference(j, with: p)
        }
    }

    /// Class c's elements and weights at `budget` (before gradient matching and decay).
    func sampleGreedy(_ c: _ClassState, budget: Int) -> [(point: _Point, weight: Double)] {
        let refs = c.refs
        let cells = sampleSelection(budget: budget, refs: refs)
        let share = referenceShares(c, refs)
        var out: [(point: _Point, weight: Double)] = []
        var orphans: [Int] = []  // references of cells that chose nothing
        for cell in cells {
            guard !cell.picks.isEmpty else { orphans += cell.members; continue }
            let base = out.count
            for p in cell.picks { out.append((refs[cell.members[p]], 0)) }
            for (m, j) in zip(cell.members, cell.nearest) { out[base + j].weight += share[m] }
        }
        if !orphans.isEmpty, !out.isEmpty {
            var index = _NearestIndex(kernel: kernel, set: out.map(\.point))
            for m in orphans { out[index.nearest(refs[m], selfArrival: true)].weight += share[m] }
        }
        return out
    }

    /// The elements `sampleGreedy` answers with, cell after cell.
    func samplePicks(_ c: _ClassState, budget: Int, refs: [_Point]) -> [_Point] {
        sampleSelection(budget: budget, refs: refs).flatMap { cell in cell.picks.map { refs[cell.members[$0]] } }
    }

    /// The class's weight moved onto any `chosen` points of the class (the union of every shard's picks):
    /// each reference's share to its most similar chosen point.
    func sampleWeights(_ c: _ClassState, onto chosen: [_Point]) -> [Double] {
        var w = [Double](repeating: 0, count: chosen.count)
        let refs = c.refs
        guard !chosen.isEmpty, !refs.isEmpty else {
            if !w.isEmpty { w[0] = c.ledger.value(c.pending) }
            return w
        }
        let share = referenceShares(c, refs)
        var index = _NearestIndex(kernel: kernel, set: chosen)
        for (r, v) in zip(refs, share) { w[index.nearest(r, selfArrival: true)] += v }
        return w
    }

    /// Each reference's share of the class's input weight: its own input weight over the references'
    /// (by count when they weigh nothing, so the class weight still lands somewhere).
    func referenceShares(_ c: _ClassState, _ refs: [_Point]) -> [Double] {
        let pending = c.ledger.value(c.pending)
        var total = 0.0
        for r in refs { total += r.record.weight }
        guard total > 0 else { return refs.map { _ in pending / Double(refs.count) } }
        return refs.map { pending * $0.record.weight / total }
    }

    /// The reservoir's cells: `members` (indices into `refs`), `picks` (indices into members, in greedy
    /// order) and, per member, the index into picks of its most similar pick (ties: the earlier pick).
    func sampleSelection(budget: Int, refs: [_Point]) -> [(members: [Int], picks: [Int], nearest: [Int])] {
        guard budget > 0, !refs.isEmpty else { return [] }
        let cells = sampleCells(refs, limit: cellLimit(references: refs.count, budget: budget))
        let budgets = cells.count == 1 ? [budget] : proportionalShares(budget, sizes: cells.map(\.count))
        return zip(cells, budgets).map { cell, b in
            let points = cell.map { refs[$0] }
            let gram = similarityMatrix(points)
            let picks = _Greedy.lazyOnMatrix(gram, count: points.count, budget: b)
            var nearest = [Int](repeating: 0, count: points.count)
            if !picks.isEmpty {
                let n = points.count
                gram.withUnsafeBufferPointer { g in
                    var best = [Float](repeating: -.infinity, count: n)
                    for (pi, p) in picks.enumerated() {
                        let row = g.baseAddress! + p * n
                        for j in 0..<n where row[j] > best[j] { best[j] = row[j]; nearest[j] = pi }
                    }
                    for (pi, p) in picks.enumerated() { nearest[p] = pi }  // a pick stands for itself
                }
            }
            return (cell, picks, nearest)
        }
    }

    /// s(i, j) for every pair of `points`, row-major, by symmetry: row i from column i on in one pass,
    /// the rest copied from the rows above (the store's sums do not depend on which point is the query).
    func similarityMatrix(_ points: [_Point]) -> [Float] {
        let n = points.count
        var gram = [Float](repeating: 0, count: n * n)
        var index = _NearestIndex(kernel: kernel, set: points)
        var row = [Float](repeating: 0, count: n)
        gram.withUnsafeMutableBufferPointer { g in
            for i in 0..<n {
                index.similarities(of: points[i], from: i, into: &row)
                row.withUnsafeBufferPointer { r in
                    for j in i..<n {
                        g[i * n + j] = r[j]
                        g[j * n + i] = r[j]
                    }
                }
            }
        }
        return gram
    }

    /// Fewest picks a cell should have: a cell's share is rounded to whole picks, and below about 16 the
    /// rounding, not the data, decides where elements go (mnist at k = 100, 10 picks a class over 8 cells
    /// of 512: facility location 5.3-7.0% above uniform samples against 7.9% with one cell).
    static let fewestPicksPerCell = 16

    /// The cell size for a read-out: `cellSize`, raised so that each cell gets at least
    /// `fewestPicksPerCell` picks, but not past 4096 (a cell's matrix: 64 MB) unless `cellSize` is larger.
    func cellLimit(references: Int, budget: Int) -> Int {
        let forPicks = (references * Self.fewestPicksPerCell + max(1, budget) - 1) / max(1, budget)
        return max(configuration.cellSize, min(forPicks, max(4096, configuration.cellSize)))
    }

    /// Splits the references into cells of at most `cellSize` by repeated two-pole splits: in a
    /// cell too large, b is the reference least similar to the cell's first, c the one least similar
    /// to b, and the cell is cut in halves at the median of s(x, b) − s(x, c). Deterministic (ties by
    /// the lower index), 3 R log₂(R / cellSize) similarities. Each cell's indices are in increasing order.
    func sampleCells(_ refs: [_Point], limit: Int) -> [[Int]] {
        let limit = max(2, limit)
        guard refs.count > limit else { return [Array(refs.indices)] }
        var out: [[Int]] = []
        var stack: [[Int]] = [Array(refs.indices)]
        var toPole: [Float] = [], toB: [Float] = []
        var dense: [Float] = []
        // s(pole, x) for every x of the cell: the pole scattered once into a dense buffer, each point's
        // dot product gathered along its nonzeros (no matrix to lay out per split).
        func similarities(of pole: _Point, to cell: [Int], into out: inout [Float]) {
            let pi = pole.record.features.indices, pv = pole.record.features.values
            let needed = Int(pi.last ?? 0) + 1
            if dense.count < needed { dense = [Float](repeating: 0, count: needed) }
            for (i, v) in zip(pi, pv) { dense[Int(i)] = v }
            defer { for i in pi { dense[Int(i)] = 0 } }
            if out.count != cell.count { out = [Float](repeating: 0, count: cell.count) }
            let k = kernel, lim = dense.count
            // Through buffer pointers: a point read out of the array would retain and release its arrays.
            dense.withUnsafeBufferPointer { dn in
                refs.withUnsafeBufferPointer { rp in
                    out.withUnsafeMutableBufferPointer { o in
                        for (j, m) in cell.enumerated() {
                            var dot: Float = 0
                            rp[m].record.features.indices.withUnsafeBufferPointer { fi in
                                rp[m].record.features.values.withUnsafeBufferPointer { fv in
                                    for t in 0..<min(fi.count, fv.count) where Int(fi[t]) < lim { dot += dn[Int(fi[t])] * fv[t] }
                                }
                            }
                            o[j] = k.similarity(pole, at: rp.baseAddress! + m, featureDot: Double(dot))
                        }
                    }
                }
            }
        }
        while let cell = stack.popLast() {
            guard cell.count > limit else { out.append(cell); continue }
            func leastSimilar(_ sims: [Float]) -> Int {
                var best = 0, bestSim = Float.infinity
                for (i, v) in sims.enumerated() where v < bestSim { best = i; bestSim = v }
                return best
            }
            similarities(of: refs[cell[0]], to: cell, into: &toPole)
            let b = leastSimilar(toPole)
            similarities(of: refs[cell[b]], to: cell, into: &toB)
            let c = leastSimilar(toB)
            similarities(of: refs[cell[c]], to: cell, into: &toPole)
            let keyed = cell.indices.map { (key: Double(toB[$0]) - Double(toPole[$0]), index: cell[$0]) }
                .sorted { $0.key > $1.key || ($0.key == $1.key && $0.index < $1.index) }
            let half = keyed.count / 2
            // Pushed so that the b side is split (and emitted) first.
            stack.append(keyed[half...].map(\.index).sorted())
            stack.append(keyed[..<half].map(\.index).sorted())
        }
        return out
    }

    /// `total` split in proportion to `sizes` by largest remainders (ties: the earlier part).
    func proportionalShares(_ total: Int, sizes: [Int]) -> [Int] {
        let n = sizes.reduce(0, +)
        guard n > 0 else { return sizes.map { _ in 0 } }
        var shares = sizes.map { total * $0 / n }
        let rest = total - shares.reduce(0, +)
        let order = sizes.indices.sorted {
            let a = total * sizes[$0] % n, b = total * sizes[$1] % n
            return a > b || (a == b && $0 < $1)
        }
        for i in order.prefix(rest) { shares[i] += 1 }
        return shares
    }
}
