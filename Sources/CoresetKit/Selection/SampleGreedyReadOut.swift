/// The read-out of `SelectorConfiguration.Algorithm.sampleGreedy` (see `CoresetSelector.sampleStep`):
/// a value holding what it reads (the kernel, the cell size), so that a read-out can run on another
/// thread while the selector reads on (`CoresetSelector.readOut()`).

/// Buffers one thread reuses from cell to cell of a read-out (`sampleCell`): a cell's similarity
/// matrix and column store are about 1 MB each, and allocated per cell they were fresh zero-filled
/// pages every time (page faults and memset: 10% of `select -k 10000` on census_kdd).
struct _CellWorkspace {
    var gram: [Float] = []
    var store = _ColumnStore(columns: 1)
    var norms: [Double] = []
    var residuals: [Float] = []
    var dots: [Float] = []
    var best: [Float] = []
}

/// One class as a read-out sees it: its reservoir and its input weight (exact, decay-scaled).
struct _SampleClass: @unchecked Sendable {
    let id: Int
    let refs: [_Point]
    let pending: Double
}

struct _SampleGreedyReadOut: @unchecked Sendable {
    let kernel: _Kernel
    let cellSize: Int
    /// Draw each element's representative from its cell with this seed (`Representatives.sampled`);
    /// nil keeps the medoids.
    var memberSeed: UInt64? = nil

    /// Class c's elements and weights at `budget` (before gradient matching and decay).
    /// The references embedded at this read-out's snapshot (the selector keeps the residuals they were
    /// offered with: `CoresetSelector.refsEmbeddedAtReadOut`); as they are in feature space.
    func embedded(_ refs: [_Point]) -> [_Point] {
        kernel.embedding == nil ? refs : refs.map { kernel.point($0.record, arrival: $0.arrival) }
    }

    func sampleGreedy(_ c: _SampleClass, budget: Int) -> [(point: _Point, weight: Double)] {
        let refs = embedded(c.refs)
        return sampleAssemble(c, refs: refs, cells: sampleSelection(budget: budget, refs: refs))
    }

    /// Every class's `sampleGreedy` at once, its cells dealt over `lanes`: a class's cells are
    /// independent, so one large class (census_kdd's negatives hold 94% of the budget) keeps every
    /// lane busy instead of one. The same cells and picks as one class at a time, so the same coreset.
    func sampleGreedy(_ live: [_SampleClass], budgets: [Int], lanes: _WorkerLanes) -> [[(point: _Point, weight: Double)]] {
        let prepared = lanes.collect(live.count, lane: { live[$0].id }) { [self] i in
            // The plan first, from the references as kept (its splits embed them as they pack them), then
            // the embedded copy the cells read: the two are not held at once (census_kdd `run -k 10000`:
            // 10 MB less at the read-out's peak).
            let plan = samplePlan(budget: budgets[live[i].id], refs: live[i].refs, parallel: lanes.count > 1, embeds: true)
            return (refs: embedded(live[i].refs), plan: plan)
        }
        let refs = prepared.map(\.refs), plans = prepared.map(\.plan)
        var jobs: [(cls: Int, cell: Int)] = []
        for (i, plan) in plans.enumerated() { for j in plan.cells.indices { jobs.append((i, j)) } }
        // Longest cells first, each to the least loaded lane (a cell costs about members × ground).
        func cost(_ job: (cls: Int, cell: Int)) -> Int {
            let plan = plans[job.cls], n = plan.cells[job.cell].count
            return n * min(n, groundSize(budget: plan.budgets[job.cell]))
        }
        let order = jobs.indices.sorted { (cost(jobs[$0]), -$0) > (cost(jobs[$1]), -$1) }
        var load = [Int](repeating: 0, count: lanes.count), laneOf = [Int](repeating: 0, count: jobs.count)
        for j in order {
            let l = load.indices.min { (load[$0], $0) < (load[$1], $1) }!
            laneOf[j] = l
            load[l] += cost(jobs[j])
        }
        // One workspace per lane, each used by its lane's thread only.
        let workspaces = UnsafeMutableBufferPointer<_CellWorkspace>.allocate(capacity: lanes.count)
        workspaces.initialize(repeating: _CellWorkspace())
        defer { workspaces.deinitialize(); workspaces.deallocate() }
        let laneOfJob = laneOf
        let solved = lanes.collect(jobs.count, lane: { laneOf[$0] }) { [self] j in
            let (i, cell) = jobs[j]
            return sampleCell(plans[i].cells[cell], budget: plans[i].budgets[cell], refs: refs[i],
                              workspace: &workspaces[laneOfJob[j]])
        }
        var perClass = [[(members: [Int], picks: [Int], nearest: [Int])]](repeating: [], count: live.count)
        for (j, job) in jobs.enumerated() { perClass[job.cls].append(solved[j]) }
        return live.indices.map { sampleAssemble(live[$0], refs: refs[$0], cells: perClass[$0]) }
    }

    /// Class c's elements and weights from its solved cells.
    func sampleAssemble(_ c: _SampleClass, refs: [_Point], cells: [(members: [Int], picks: [Int], nearest: [Int])])
        -> [(point: _Point, weight: Double)] {
        let share = referenceShares(refs, pending: c.pending)
        var out: [(point: _Point, weight: Double)] = []
        var orphans: [Int] = []  // references of cells that chose nothing
        for cell in cells {
            guard !cell.picks.isEmpty else { orphans += cell.members; continue }
            let base = out.count
            for p in cell.picks { out.append((refs[cell.members[p]], 0)) }
            for (m, j) in zip(cell.members, cell.nearest) { out[base + j].weight += share[m] }
        }
        var orphanOwner: [Int] = []
        if !orphans.isEmpty, !out.isEmpty {
            var index = _NearestIndex(kernel: kernel, set: out.map(\.point))
            for m in orphans {
                let o = index.nearest(refs[m], selfArrival: true)
                out[o].weight += share[m]
                orphanOwner.append(o)
            }
        }
        if let seed = memberSeed, !out.isEmpty {
            drawMembers(&out, seed: seed, refs: refs, share: share, cells: cells, orphans: orphans, orphanOwner: orphanOwner)
        }
        return out
    }

    /// Replaces each element by a reference drawn from those it represents, in proportion to their
    /// shares (so the element's weight is an unbiased estimate of its cell's, whichever is drawn). The
    /// draw hangs on the seed and the medoid's arrival only, so it does not depend on threads or order.
    func drawMembers(_ out: inout [(point: _Point, weight: Double)], seed: UInt64, refs: [_Point], share: [Double],
                     cells: [(members: [Int], picks: [Int], nearest: [Int])], orphans: [Int], orphanOwner: [Int]) {
        var represented = [[Int]](repeating: [], count: out.count)
        var base = 0
        for cell in cells where !cell.picks.isEmpty {
            for (m, j) in zip(cell.members, cell.nearest) { represented[base + j].append(m) }
            base += cell.picks.count
        }
        for (m, o) in zip(orphans, orphanOwner) { represented[o].append(m) }
        for e in out.indices where !represented[e].isEmpty {
            let members = represented[e]
            var total = 0.0
            for m in members { total += share[m] }
            var h = SeededGenerator(seed: seed ^ 0x7E9A_11C3_D5B2_F00D ^ (out[e].point.arrival &* 0x9E37_79B9_7F4A_7C15))
            var target = Double(h.next() >> 11) * 0x1p-53 * total
            var chosen = members[members.count - 1]
            if total > 0 {
                for m in members {
                    target -= share[m]
                    if target < 0 { chosen = m; break }
                }
            } else {
                chosen = members[Int(h.next() % UInt64(members.count))]
            }
            out[e].point = refs[chosen]
        }
    }

    /// The elements `sampleGreedy` answers with, cell after cell.
    func samplePicks(budget: Int, refs: [_Point]) -> [_Point] {
        sampleSelection(budget: budget, refs: refs).flatMap { cell in cell.picks.map { refs[cell.members[$0]] } }
    }

    /// The class's weight moved onto any `chosen` points of the class (the union of every shard's picks):
    /// each reference's share to its most similar chosen point.
    func sampleWeights(_ c: _SampleClass, onto chosen: [_Point]) -> [Double] {
        var w = [Double](repeating: 0, count: chosen.count)
        let refs = embedded(c.refs)
        guard !chosen.isEmpty, !refs.isEmpty else {
            if !w.isEmpty { w[0] = c.pending }
            return w
        }
        let share = referenceShares(refs, pending: c.pending)
        var index = _NearestIndex(kernel: kernel, set: chosen)
        for (r, v) in zip(refs, share) { w[index.nearest(r, selfArrival: true)] += v }
        return w
    }

    /// Each reference's share of the class's input weight: its own input weight over the references'
    /// (by count when they weigh nothing, so the class weight still lands somewhere).
    func referenceShares(_ refs: [_Point], pending: Double) -> [Double] {
        var total = 0.0
        for r in refs { total += r.record.weight }
        guard total > 0 else { return refs.map { _ in pending / Double(refs.count) } }
        return refs.map { pending * $0.record.weight / total }
    }

    /// The reservoir's cells: `members` (indices into `refs`), `picks` (indices into members, in greedy
    /// order) and, per member, the index into picks of its most similar pick (ties: the earlier pick).
    func sampleSelection(budget: Int, refs: [_Point]) -> [(members: [Int], picks: [Int], nearest: [Int])] {
        let plan = samplePlan(budget: budget, refs: refs)
        var workspace = _CellWorkspace()
        return zip(plan.cells, plan.budgets).map { sampleCell($0, budget: $1, refs: refs, workspace: &workspace) }
    }

    /// The reservoir's cells and each cell's share of `budget`.
    /// `embeds`: `refs` are as the selector keeps them, not yet embedded at this read-out's snapshot.
    func samplePlan(budget: Int, refs: [_Point], parallel: Bool = false, embeds: Bool = false) -> (cells: [[Int]], budgets: [Int]) {
        guard budget > 0, !refs.isEmpty else { return ([], []) }
        let cells = sampleCells(refs, limit: cellLimit(references: refs.count, budget: budget), parallel: parallel, embeds: embeds)
        return (cells, cells.count == 1 ? [budget] : proportionalShares(budget, sizes: cells.map(\.count)))
    }

    /// One cell's greedy: its members, picks and each member's nearest pick. `w`: buffers reused
    /// from the previous cell on this thread.
    func sampleCell(_ cell: [Int], budget b: Int, refs: [_Point], workspace w: inout _CellWorkspace)
        -> (members: [Int], picks: [Int], nearest: [Int]) {
        let n = cell.count
        let ground = groundSize(budget: b)
        if n > ground { return sampleCellOnGround(cell, cell.map { refs[$0] }, budget: b, ground: ground) }
        fillSimilarityMatrix(of: cell, refs: refs, into: &w)
        let picks = _Greedy.lazyOnMatrix(w.gram, rows: n, columns: n, budget: b)
        var nearest = [Int](repeating: 0, count: n)
        if !picks.isEmpty {
            if w.best.count < n { w.best = [Float](repeating: 0, count: n) }
            w.gram.withUnsafeBufferPointer { g in
                w.best.withUnsafeMutableBufferPointer { best in
                    for j in 0..<n { best[j] = -.infinity }
                    for (pi, p) in picks.enumerated() {
                        let row = g.baseAddress! + p * n
                        for j in 0..<n where row[j] > best[j] { best[j] = row[j]; nearest[j] = pi }
                    }
                }
            }
            for (pi, p) in picks.enumerated() { nearest[p] = pi }  // a pick stands for itself
        }
        return (cell, picks, nearest)
    }

    /// Ground points a cell's coverage is measured on, at most: `groundPerPick` per pick, and never
    /// fewer than `cellSize`.
    func groundSize(budget: Int) -> Int { max(cellSize, Self.groundPerPick * max(1, budget)) }

    /// Ground points per pick when a cell is larger than its picks need (few picks over a large cell:
    /// mnist at k = 100 chooses 10 of a class's 2,000 references). Why: the matrix is candidates ×
    /// ground, so measuring coverage on an evenly spaced subset of the (uniform) reservoir cuts the
    /// read-out's dominant cost by members / ground while every member stays a candidate. 64, not 32:
    /// at 32 mnist k = 100's feature-space gradient error near the optimum fell behind sieve++'s (0.245
    /// against 0.221, `BenchSelection eval`); at 64 it is level (0.221) at about the same speed.
    static let groundPerPick = 64

    /// `sampleSelection`'s cell when its members outnumber `ground`: every member is a candidate, the
    /// coverage is measured on `ground` evenly spaced members, and each member's nearest pick is found
    /// among the picks (the same tie rule: the earlier pick; a pick stands for itself).
    func sampleCellOnGround(_ cell: [Int], _ points: [_Point], budget: Int, ground g: Int)
        -> (members: [Int], picks: [Int], nearest: [Int]) {
        let n = points.count
        let groundPoints = (0..<g).map { points[$0 * n / g] }
        var index = _NearestIndex(kernel: kernel, set: groundPoints)
        var matrix = [Float](repeating: 0, count: n * g)
        var row = [Float](repeating: 0, count: g)
        matrix.withUnsafeMutableBufferPointer { m in
            for i in 0..<n {
                index.similarities(of: points[i], into: &row)
                row.withUnsafeBufferPointer { r in
                    for j in 0..<g { m[i * g + j] = r[j] }
                }
            }
        }
        let picks = _Greedy.lazyOnMatrix(matrix, rows: n, columns: g, budget: budget)
        var nearest = [Int](repeating: 0, count: n)
        if !picks.isEmpty {
            var toPicks = _NearestIndex(kernel: kernel, set: picks.map { points[$0] })
            for i in 0..<n { nearest[i] = toPicks.nearest(points[i], selfArrival: true) }
        }
        return (cell, picks, nearest)
    }

    /// s(i, j) for every pair of the cell's members (indices into `refs`) into `w.gram`, row-major, by
    /// symmetry: row i from column i on in one pass, the rest copied from the rows above (the store's
    /// sums do not depend on which point is the query). The values of `_NearestIndex.similarities` over
    /// the members, with the same choices of path per query, but read from `refs` in place (no copy of
    /// the members' `_Point`s, whose arrays a copy retains and releases) into buffers `w` keeps.
    func fillSimilarityMatrix(of cell: [Int], refs: [_Point], into w: inout _CellWorkspace) {
        let n = cell.count
        if w.gram.count < n * n { w.gram = [Float](repeating: 0, count: n * n) }
        guard n > 0 else { return }
        let k = kernel, kind = k.kind, bias = k.bias
        refs.withUnsafeBufferPointer { r in
            let base = r.baseAddress!
            // The store is used as `_NearestIndex(kernel:set:)` uses it (the same rules).
            let dimension = _NearestIndex.storeDimension(n, maxIndex: cell.reduce(0) { max($0, Int(r[$1].record.features.indices.last ?? 0)) })
            let stride = r[cell[0]].residual.count
            let flat = cell.allSatisfy { r[$0].residual.count == stride }
            if let dimension {
                w.store.reuse(dimension: dimension, columns: n)
                w.norms.removeAll(keepingCapacity: true)
                w.residuals.removeAll(keepingCapacity: true)
                for (c, m) in cell.enumerated() {
                    w.store.set(c, r[m].record.features, replacing: nil)
                    w.norms.append(r[m].gradientNorm2)
                    if flat && stride > 0 { w.residuals.append(contentsOf: r[m].residual) }
                }
            }
            w.gram.withUnsafeMutableBufferPointer { g in
                let gb = g.baseAddress!
                for i in 0..<n {
                    let p = base + cell[i], row = gb + i * n
                    if dimension != nil && _NearestIndex.queryUsesStore(p.pointee, flat: flat, stride: stride) {
                        w.store.dots(p.pointee.record.features, count: n, from: i, into: &w.dots)
                        w.dots.withUnsafeBufferPointer { d in
                            w.norms.withUnsafeBufferPointer { bn in
                                w.residuals.withUnsafeBufferPointer { rr in
                                    p.pointee.residual.withUnsafeBufferPointer { pr in
                                        _NearestIndex.similarities(kind, bias: bias, queryNorm: p.pointee.gradientNorm2,
                                                                   queryResidual: pr, norms: bn, residuals: rr,
                                                                   stride: stride, dots: d, i..<n, into: row)
                                    }
                                }
                            }
                        }
                    } else {
                        for j in i..<n { row[j] = k.similarity(p.pointee, at: base + cell[j]) }
                    }
                    for j in i + 1..<n { gb[j * n + i] = row[j] }
                }
            }
        }
    }

    /// Fewest picks a cell should have: a cell's share is rounded to whole picks, and below about 16 the
    /// rounding, not the data, decides where elements go (mnist at k = 100, 10 picks a class over 8 cells
    /// of 512: facility location 5.3-7.0% above uniform samples against 7.9% with one cell).
    static let fewestPicksPerCell = 16

    /// The cell size for a read-out: `cellSize`, raised so that each cell gets at least
    /// `fewestPicksPerCell` picks, but not past 4096 (a cell's matrix: 64 MB) unless `cellSize` is larger.
    func cellLimit(references: Int, budget: Int) -> Int {
        let forPicks = (references * Self.fewestPicksPerCell + max(1, budget) - 1) / max(1, budget)
        return max(cellSize, min(forPicks, max(4096, cellSize)))
    }

    /// Splits the references into cells of at most `cellSize` by repeated two-pole splits: in a
    /// cell too large, b is the reference least similar to the cell's first, c the one least similar
    /// to b, and the cell is cut in halves at the median of s(x, b) − s(x, c). Deterministic (ties by
    /// the lower index), 3 R log₂(R / cellSize) similarities. Each cell's indices are in increasing order.
    /// `embeds`: `refs` are not embedded at this read-out's snapshot yet (they are as they are packed).
    func sampleCells(_ refs: [_Point], limit: Int, parallel: Bool = false, embeds: Bool = false) -> [[Int]] {
        let limit = max(2, limit)
        guard refs.count > limit else { return [Array(refs.indices)] }
        // The references packed once into flat arrays: the splits pass over them ~3 log₂(R / cell) times,
        // and reading each point's own feature arrays there was pointer chasing (census_kdd,
        // k = 10,000: the splits were a quarter of `select`).
        let splitter = _CellSplitter(packed: _PackedPoints(refs, embeddedAt: embeds ? kernel : nil), kind: kernel.kind,
                                     bias: kernel.bias, limit: limit)
        let all = Array(refs.indices)
        // On two threads for a large class (the final read-out, with lanes to spare): the first split here,
        // then each half's subtree on a thread of its own. The same cells, in the same order.
        guard parallel, refs.count >= 8 * limit else { return splitter.cells(of: all) }
        var scratch = _CellSplitter.Scratch()
        let (first, second) = splitter.split(all, &scratch)
        let done = _Condition()
        nonisolated(unsafe) var secondCells: [[Int]]? = nil
        _startThread {
            let cells = splitter.cells(of: second)
            done.lock()
            secondCells = cells
            done.broadcast()
            done.unlock()
        }
        let firstCells = splitter.cells(of: first)
        done.lock()
        while secondCells == nil { done.wait() }
        let rest = secondCells!
        done.unlock()
        return firstCells + rest
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
    }}


/// The two-pole splits of `_SampleGreedyReadOut.sampleCells`: a cell larger than `limit` is split at the
/// median of s(x, b) − s(x, c), b the member least similar to its first and c the one least similar to b,
/// until every cell fits. Read-only, so two threads may split two subtrees at once.
struct _CellSplitter: @unchecked Sendable {
    let packed: _PackedPoints
    let kind: _Kernel.Kind
    let bias: Double
    let limit: Int

    /// Buffers one thread reuses across splits.
    struct Scratch {
        var toPole: [Float] = [], toB: [Float] = [], dense: [Float] = []
        var keys: [(key: Double, index: Int)] = []
    }

    /// The cells of `root`, depth first, the b side of each split first.
    func cells(of root: [Int]) -> [[Int]] {
        var scratch = Scratch()
        var out: [[Int]] = []
        var stack: [[Int]] = [root]
        while let cell = stack.popLast() {
            guard cell.count > limit else { out.append(cell); continue }
            let (first, second) = split(cell, &scratch)
            // Pushed so that the b side is split (and emitted) first.
            stack.append(second)
            stack.append(first)
        }
        return out
    }

    /// One split: the b side (the `count / 2` first in key order) and the rest, each in index order.
    func split(_ cell: [Int], _ s: inout Scratch) -> (first: [Int], second: [Int]) {
        // s(pole, x) for every x of the cell: the pole scattered once into a dense buffer, each point's
        // dot product gathered along its nonzeros (the same products, in the same order, as
        // `_Kernel.similarity(_:at:featureDot:)` is given).
        func similarities(of pole: Int, into out: inout [Float]) {
            if out.count != cell.count { out = [Float](repeating: 0, count: cell.count) }
            packed.similarities(of: pole, to: cell, kind: kind, bias: bias, dense: &s.dense, into: &out)
        }
        func leastSimilar(_ sims: [Float]) -> Int {
            var best = 0, bestSim = Float.infinity
            for (i, v) in sims.enumerated() where v < bestSim { best = i; bestSim = v }
            return best
        }
        similarities(of: cell[0], into: &s.toPole)
        let b = leastSimilar(s.toPole)
        similarities(of: cell[b], into: &s.toB)
        let c = leastSimilar(s.toB)
        similarities(of: cell[c], into: &s.toPole)
        s.keys.removeAll(keepingCapacity: true)
        for i in cell.indices { s.keys.append((Double(s.toB[i]) - Double(s.toPole[i]), cell[i])) }
        // The first half is the `half` first in the order (larger key, then lower index): found by
        // selection, then read off in index order (no sort: the same halves as sorting gives).
        let half = s.keys.count / 2
        let pivot = _Selection.nth(&s.keys, half - 1) { $0.key > $1.key || ($0.key == $1.key && $0.index < $1.index) }
        var first: [Int] = [], second: [Int] = []
        first.reserveCapacity(half)
        second.reserveCapacity(cell.count - half)
        for i in cell.indices {
            let key = Double(s.toB[i]) - Double(s.toPole[i]), index = cell[i]
            if key > pivot.key || (key == pivot.key && index <= pivot.index) { first.append(index) } else { second.append(index) }
        }
        return (first, second)
    }
}

/// A class's references as flat arrays (CSR features, norms, residuals), for passes over all of them.
struct _PackedPoints {
    var offsets: [Int] = [0]
    /// Feature indices as UInt16 while every index fits (census_kdd, mnist), else as UInt32: the packed copy is
    /// the largest array of a read-out's peak (22.6 of 110 MB at census_kdd `run -k 10000`, indices half of it).
    var narrowIndices: [UInt16] = []
    var wideIndices: [UInt32] = []
    var values: [Float] = []
    var norms: [Double] = []
    var residualOffsets: [Int] = [0]
    var residuals: [Float] = []

    /// `kernel`: embed each point at its snapshot as it is packed (the residual and norm `_Kernel.point`
    /// gives), instead of taking the point's own.
    init(_ points: [_Point], embeddedAt kernel: _Kernel? = nil) {
        let embedding = kernel?.embedding
        var entries = 0, residualEntries = 0, largest: UInt32 = 0
        for p in points {
            entries += p.record.features.indices.count
            residualEntries += embedding?.residualCount ?? p.residual.count
            if let last = p.record.features.indices.last { largest = max(largest, last) }
        }
        let narrow = largest <= UInt32(UInt16.max)
        offsets.reserveCapacity(points.count + 1)
        norms.reserveCapacity(points.count)
        residualOffsets.reserveCapacity(points.count + 1)
        if narrow { narrowIndices.reserveCapacity(entries) } else { wideIndices.reserveCapacity(entries) }
        values.reserveCapacity(entries)
        residuals.reserveCapacity(residualEntries)
        for p in points {
            if narrow {
                for i in p.record.features.indices { narrowIndices.append(UInt16(truncatingIfNeeded: i)) }
            } else {
                wideIndices.append(contentsOf: p.record.features.indices)
            }
            values.append(contentsOf: p.record.features.values)
            offsets.append(values.count)
            let q = embedding != nil ? kernel!.point(p.record, arrival: p.arrival) : p
            norms.append(q.gradientNorm2)
            residuals.append(contentsOf: q.residual)
            residualOffsets.append(residuals.count)
        }
    }

    /// out[j] = s(pole, cell[j]): the pole scattered into `dense`, each member's feature dot gathered
    /// along its nonzeros (in index order, Float sums), then the kernel as `_Kernel.similarity(_:at:featureDot:)`.
    func similarities(of pole: Int, to cell: [Int], kind: _Kernel.Kind, bias: Double,
                      dense: inout [Float], into out: inout [Float]) {
        if wideIndices.isEmpty {
            narrowIndices.withUnsafeBufferPointer { similarities(of: pole, to: cell, indices: $0, kind: kind, bias: bias, dense: &dense, into: &out) }
        } else {
            wideIndices.withUnsafeBufferPointer { similarities(of: pole, to: cell, indices: $0, kind: kind, bias: bias, dense: &dense, into: &out) }
        }
    }

    @inline(__always)
    private func similarities<Index: FixedWidthInteger>(
        of pole: Int, to cell: [Int], indices fi: UnsafeBufferPointer<Index>, kind: _Kernel.Kind, bias: Double,
        dense: inout [Float], into out: inout [Float]
    ) {
        let pa = offsets[pole], pb = offsets[pole + 1]
        let needed = pb > pa ? Int(fi[pb - 1]) + 1 : 0
        if dense.count < needed { dense = [Float](repeating: 0, count: needed) }
        for t in pa..<pb { dense[Int(fi[t])] = values[t] }
        let ra = residualOffsets[pole], rb = residualOffsets[pole + 1]
        let an = norms[pole]
        dense.withUnsafeBufferPointer { dn in
            values.withUnsafeBufferPointer { fv in
                residuals.withUnsafeBufferPointer { rs in
                    out.withUnsafeMutableBufferPointer { o in
                        let lim = dn.count
                        for (j, m) in cell.enumerated() {
                            var dot: Float = 0
                            for t in offsets[m]..<offsets[m + 1] where Int(fi[t]) < lim { dot += dn[Int(fi[t])] * fv[t] }
                            var inner = Double(dot)
                            if rb > ra {
                                let ma = residualOffsets[m], count = min(rb - ra, residualOffsets[m + 1] - ma)
                                var rd = 0.0
                                for i in 0..<count { rd += Double(rs[ra + i]) * Double(rs[ma + i]) }
                                inner = rd * (Double(dot) + bias)
                            }
                            o[j] = _Kernel.similarity(kind, an, norms[m], inner: inner)
                        }
                    }
                }
            }
        }
        for t in pa..<pb { dense[Int(fi[t])] = 0 }
    }
}

/// Order statistics without a full sort.
enum _Selection {
    /// The element that sorting `items` by `before` would put at `n` (0-based); `items` is reordered.
    /// Quickselect with a median-of-three pivot: expected O(count).
    static func nth<T>(_ items: inout [T], _ n: Int, by before: (T, T) -> Bool) -> T {
        precondition(n >= 0 && n < items.count)
        var lo = 0, hi = items.count - 1
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            // Median of three to items[hi] as the pivot.
            if before(items[mid], items[lo]) { items.swapAt(mid, lo) }
            if before(items[hi], items[lo]) { items.swapAt(hi, lo) }
            if before(items[mid], items[hi]) { items.swapAt(mid, hi) }
            let pivot = items[hi]
            var store = lo
            for i in lo..<hi where before(items[i], pivot) {
                items.swapAt(i, store)
                store += 1
            }
            items.swapAt(store, hi)
            if store == n { return items[n] }
            if store < n { lo = store + 1 } else { hi = store - 1 }
        }
        return items[n]
    }
}
