/// Greedy maximisation of facility location over a similarity matrix given row by row.
enum _Greedy {
    /// Gain of a candidate row given the current cover: Σ_i max(0, s_i − cover_i).
    /// Written as a branch-free select rather than SIMD `pointwiseMax`, which is an out-of-line call on Linux.
    @inline(__always)
    static func gain(_ row: UnsafeBufferPointer<Float>, _ cover: UnsafeBufferPointer<Float>) -> Double {
        var s = 0.0
        for i in 0..<min(row.count, cover.count) {
            let d = row[i] - cover[i]
            s += Double(d > 0 ? d : 0)
        }
        return s
    }

    /// An upper bound on `gain(row, cover)` (its sequential Double sum) from a Float sum in 16 SIMD
    /// lanes: no loop-carried Double latency, a quarter of the instructions. Used to reject a record
    /// that clearly misses a sieve's threshold without the exact sum, so decisions are unchanged.
    ///
    /// Every term max(0, row_i − cover_i) is the same Float as in `gain`. A sum of nonnegative terms
    /// computed with floating-point additions of unit roundoff u along a tree of height h is within
    /// γ_h = h·u / (1 − h·u) of the exact sum (Higham, *Accuracy and Stability of Numerical
    /// Algorithms*, §4.2; additions of subnormals are exact, so underflow does not break it), and
    /// `gain`'s Double sum is within γ_n (u = 2⁻⁵³) of the exact sum as well. With h <= n/16 + 48 and
    /// h·u <= 1/8, ŝ·(1 + 4·h·2⁻²⁴) bounds `gain` from above. 0 exactly when every term is 0;
    /// NaN or ∞ (never below a threshold) when a term is not finite.
    @inline(__always)
    static func gainUpperBound(_ row: UnsafeBufferPointer<Float>, _ cover: UnsafeBufferPointer<Float>) -> Double {
        let n = min(row.count, cover.count)
        guard n > 0, let rb = row.baseAddress, let cb = cover.baseAddress else { return 0 }
        let h = Double(n / 16 + 48)
        guard h * 0x1p-24 <= 0.125 else { return .infinity }
        let s = fastGain(rb, cb, n)
        return Double(s) * (1 + 4 * h * 0x1p-24)
    }

    static func gain(_ row: [Float], _ cover: [Float]) -> Double {
        row.withUnsafeBufferPointer { r in cover.withUnsafeBufferPointer { c in gain(r, c) } }
    }

    static func absorb(_ row: [Float], into cover: inout [Float]) {
        for i in 0..<min(row.count, cover.count) where row[i] > cover[i] { cover[i] = row[i] }
    }

    /// Lazy greedy with a max-heap of stale gains: pop, recompute, accept if still at least the next
    /// top (ties by lower index), else push back.
    /// - Parameter fillRow: writes the similarities of candidate i to the ground set into the buffer.
    /// - Parameter cacheRows: keep computed rows for re-evaluations (when memory allows); off when
    ///   `fillRow` only copies.
    static func lazy(candidateCount n: Int, groundCount g: Int, budget: Int, cover: inout [Float],
                     excluded: Set<Int> = [], cacheRows keepRows: Bool = true,
                     fillRow: (Int, inout [Float]) -> Void) -> [Int] {
        guard budget > 0, n > 0 else { return [] }
        let cacheRows = keepRows && n * g <= 1 << 25
        var cache: [[Float]?] = cacheRows ? Array(repeating: nil, count: n) : []
        var scratch = [Float](repeating: 0, count: g)
        func row(_ i: Int) -> [Float] {
            if cacheRows, let r = cache[i] { return r }
            fillRow(i, &scratch)
            if cacheRows { cache[i] = scratch }
            return scratch
        }
        var heap = _GainHeap()
        for i in 0..<n where !excluded.contains(i) { heap.push(gain(row(i), cover), i) }
        var picked: [Int] = []
        while picked.count < budget, let top = heap.pop() {
            let r = row(top.index)
            let fresh = gain(r, cover)
            if let next = heap.top, _GainHeap.before(next.gain, next.index, fresh, top.index) {
                heap.push(fresh, top.index)
                continue
            }
            picked.append(top.index)
            absorb(r, into: &cover)
            if cacheRows { cache[top.index] = nil }
        }
        return picked
    }

    /// Σ_i max(0, row_i − cover_i) in Float, 16 SIMD lanes (the same terms as `gain`, summed in a
    /// fixed order, so the result is deterministic; it differs from `gain`'s Double sum by rounding).
    @inline(__always)
    static func fastGain(_ rb: UnsafePointer<Float>, _ cb: UnsafePointer<Float>, _ n: Int) -> Float {
        let rp = UnsafeRawPointer(rb), cp = UnsafeRawPointer(cb)
        let zero = SIMD8<Float>()
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
        let blocks = n / 16
        var b = 0
        while b < blocks {
            let o = b &* 64
            let d0 = rp.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) - cp.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            let d1 = rp.loadUnaligned(fromByteOffset: o &+ 32, as: SIMD8<Float>.self) - cp.loadUnaligned(fromByteOffset: o &+ 32, as: SIMD8<Float>.self)
            a0 += d0.replacing(with: zero, where: d0 .< zero)
            a1 += d1.replacing(with: zero, where: d1 .< zero)
            b &+= 1
        }
        var s = (a0 + a1).sum()
        var i = blocks &* 16
        while i < n {
            let d = rb[i] - cb[i]
            s += d > 0 ? d : 0
            i &+= 1
        }
        return s
    }

    /// Lazy greedy with candidates = ground set = the `count` points of a similarity matrix held in
    /// memory (row-major `count` × `count`): rows are read in place and gains summed in Float SIMD
    /// (`fastGain`), so a step costs a pass over one row. Ties go to the lower index.
    static func lazyOnMatrix(_ matrix: [Float], count n: Int, budget: Int) -> [Int] {
        lazyOnMatrix(matrix, rows: n, columns: n, budget: budget)
    }

    /// Lazy greedy over `rows` candidates whose similarities to a ground set of `columns` points are
    /// the matrix's rows (row-major): the picks, in greedy order (ties: the lower index).
    static func lazyOnMatrix(_ matrix: [Float], rows n: Int, columns g: Int, budget: Int) -> [Int] {
        guard budget > 0, n > 0, g > 0, matrix.count >= n * g else { return [] }
        var cover = [Float](repeating: 0, count: g)
        var picked: [Int] = []
        picked.reserveCapacity(min(budget, n))
        matrix.withUnsafeBufferPointer { m in
            cover.withUnsafeMutableBufferPointer { cv in
                let base = m.baseAddress!, cb = cv.baseAddress!
                var heap = _GainHeap()
                for i in 0..<n { heap.push(Double(fastGain(base + i * g, cb, g)), i) }
                while picked.count < budget, let top = heap.pop() {
                    let row = base + top.index * g
                    let fresh = Double(fastGain(row, cb, g))
                    if let next = heap.top, _GainHeap.before(next.gain, next.index, fresh, top.index) {
                        heap.push(fresh, top.index)
                        continue
                    }
                    picked.append(top.index)
                    for j in 0..<g where row[j] > cb[j] { cb[j] = row[j] }
                }
            }
        }
        return picked
    }

    /// Naive greedy (every gain recomputed every step); the reference lazy greedy must match.
    static func naive(candidateCount n: Int, groundCount g: Int, budget: Int, cover: inout [Float],
                      fillRow: (Int, inout [Float]) -> Void) -> [Int] {
        var rows: [[Float]] = []
        var scratch = [Float](repeating: 0, count: g)
        for i in 0..<n { fillRow(i, &scratch); rows.append(scratch) }
        var picked: [Int] = [], taken = Set<Int>()
        while picked.count < min(budget, n) {
            var best = -1, bestGain = -1.0
            for i in 0..<n where !taken.contains(i) {
                let v = gain(rows[i], cover)
                if v > bestGain { best = i; bestGain = v }
            }
            picked.append(best)
            taken.insert(best)
            absorb(rows[best], into: &cover)
        }
        return picked
    }
}

/// Binary max-heap of (gain, index), larger gain first, then lower index.
struct _GainHeap {
    private var items: [(gain: Double, index: Int)] = []
    var top: (gain: Double, index: Int)? { items.first }
    var count: Int { items.count }

    /// True when (g1, i1) comes strictly before (g2, i2).
    @inline(__always) static func before(_ g1: Double, _ i1: Int, _ g2: Double, _ i2: Int) -> Bool {
        g1 > g2 || (g1 == g2 && i1 < i2)
    }

    mutating func push(_ gain: Double, _ index: Int) {
        items.append((gain, index))
        var c = items.count - 1
        while c > 0 {
            let p = (c - 1) / 2
            if Self.before(items[c].gain, items[c].index, items[p].gain, items[p].index) {
                items.swapAt(c, p)
                c = p
            } else { break }
        }
    }

    mutating func pop() -> (gain: Double, index: Int)? {
        guard !items.isEmpty else { return nil }
        let out = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var p = 0
            while true {
                let l = 2 * p + 1, r = l + 1
                var b = p
                if l < items.count && Self.before(items[l].gain, items[l].index, items[b].gain, items[b].index) { b = l }
                if r < items.count && Self.before(items[r].gain, items[r].index, items[b].gain, items[b].index) { b = r }
                if b == p { break }
                items.swapAt(p, b)
                p = b
            }
        }
        return out
    }
}
