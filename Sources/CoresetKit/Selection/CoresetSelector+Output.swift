extension CoresetSelector {
    /// The weighted coreset now: per class, the best sieve topped up (or trimmed) to the class's
    /// budget, with every stored element's weight moved to its most similar selected element.
    ///
    /// Budgets: `k` split over the classes seen by largest remainders (proportional or equal), every
    /// class getting at least one element when k >= the number of classes.
    /// - Complexity: O((P + R) · R · nnz) per class for the top-up (P stored elements, R references),
    ///   O(P · k_c · nnz) for the weights; greedy and not-yet-started classes cost O(n_c² · nnz).
    ///   Reading it does not change the selector.
    public var coreset: WeightedCoreset {
        settle()
        if !shardSelectors.isEmpty { return shardUnion }
        if let r = readOut() { return r.coreset(lanes: lanes) }
        let budgets = classBudgets()
        let live = classes.compactMap { $0 }.filter { budgets[$0.id] > 0 }
        func picks(_ c: _ClassState) -> [(point: _Point, weight: Double)] {
            let b = budgets[c.id]
            if configuration.algorithm == .greedy { return offlineGreedy(c.liveAll, budget: b) }
            return c.started ? fromSieves(c, budget: b) : offlineGreedy(c.refs, budget: b)
        }
        // Each class's read-out reads only that class: on its lane, like its records.
        let picked = lanes?.collect(live.count, lane: { live[$0].id }) { picks(live[$0]) } ?? live.map(picks)
        let origin = decayOrigin, halfLife = configuration.halfLife
        return Self.finish(zip(live, picked).map { (id: $0.0.id, picked: $0.1, sum: $0.0.gradientSum) },
                           matchesGradients: matchesGradients && kernel.embedding != nil,
                           scale: { Self.scaleFactor(arrival: $0, origin: origin, halfLife: halfLife) }, decay: decayFactorNow,
                           lanes: lanes)
    }

    /// The coreset from each class's picks (CRAIG weights): gradient matching when it applies (one fit over
    /// every class with a sum, each class keeping its total: `_GradientMatch.refineJointly`), the decay
    /// factor, and a stable order for writers and tests (by class, then stream position).
    static func finish(_ classes: [(id: Int, picked: [(point: _Point, weight: Double)], sum: _GradientSum)],
                       matchesGradients: Bool, scale: (UInt64) -> Double, decay f: Double,
                       lanes: _WorkerLanes? = nil) -> WeightedCoreset {
        var perClass = classes
        if matchesGradients {
            let fitted = perClass.indices.filter { perClass[$0].sum.valid && !perClass[$0].picked.isEmpty }
            let w = _GradientMatch.refineJointly(
                fitted.map { i in
                    let points = perClass[i].picked.map(\.point)
                    return (points, perClass[i].picked.map(\.weight), points.map { $0.record.weight * scale($0.arrival) },
                            perClass[i].sum)
                },
                mu: _GradientMatch.regularization(perClass.flatMap { $0.picked.map(\.point) }), lanes: lanes)
            for (i, wi) in zip(fitted, w) { perClass[i].picked = zip(perClass[i].picked.map(\.point), wi).map { ($0, $1) } }
        }
        var out: [WeightedCoreset.Element] = []
        for c in perClass {
            for (p, w) in c.picked { out.append(.init(record: p.record, weight: w * f, classIndex: c.id)) }
        }
        out.sort { ($0.classIndex, $0.record.position) < ($1.classIndex, $1.record.position) }
        return WeightedCoreset(elements: out)
    }

    /// What the coreset now is made from, copied (a `sampleGreedy` selector without shards; nil otherwise):
    /// `CoresetReadOut.coreset` gives what `coreset` gives now, on any thread, while this selector reads on.
    /// Copying costs O(classes): the reservoirs' arrays are shared until the selector next changes them.
    public func readOut() -> CoresetReadOut? {
        settle()
        guard configuration.algorithm == .sampleGreedy, shardSelectors.isEmpty else { return nil }
        let budgets = classBudgets()
        let live = classes.compactMap { $0 }.filter { budgets[$0.id] > 0 }
        return CoresetReadOut(
            method: sampleReadOut, classes: live.map(sampleClass), budgets: budgets, sums: live.map(\.gradientSum),
            matchesGradients: matchesGradients && kernel.embedding != nil, decayOrigin: decayOrigin,
            halfLife: configuration.halfLife, decay: decayFactorNow)
    }

    /// Budget per class id (0 for ids never seen, or with no record in the window).
    public func classBudgets() -> [Int] {
        settle()
        if !shardSelectors.isEmpty { return shardBudgets }
        let k = configuration.k
        var b = [Int](repeating: 0, count: classes.count)
        let windowed = configuration.window != nil, decayed = configuration.halfLife != nil
        // Class shares: records in the window, decayed input weight with a half-life, else records seen.
        func count(_ c: _ClassState) -> Double { windowed ? Double(c.inWindow) : decayed ? c.inputWeight : Double(c.seen) }
        let ids = classes.compactMap { $0 }.filter { count($0) > 0 }.map(\.id)
        guard !ids.isEmpty else { return b }
        if task == .regression || ids.count == 1 {
            b[ids[0]] = k
            return b
        }
        switch configuration.budgetSplit {
        case .equal:
            for (i, id) in ids.enumerated() { b[id] = k / ids.count + (i < k % ids.count ? 1 : 0) }
        case .proportional:
            let n = ids.reduce(0.0) { $0 + count(classes[$1]!) }
            var frac: [(Double, Int)] = []
            var used = 0
            for id in ids {
                let q = Double(k) * count(classes[id]!) / n
                b[id] = Int(q.rounded(.down))
                used += b[id]
                frac.append((q - q.rounded(.down), id))
            }
            frac.sort { $0.0 > $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
            for i in 0..<(k - used) { b[frac[i % frac.count].1] += 1 }
            // A class without an element would have nowhere to put its weight.
            if k >= ids.count {
                for id in ids where b[id] == 0 {
                    let donor = ids.max { b[$0] < b[$1] || (b[$0] == b[$1] && $0 > $1) }!
                    b[donor] -= 1
                    b[id] = 1
                }
            }
        }
        return b
    }

    /// Lazy greedy on a fully kept set (ground = candidates = points) with exact CRAIG weights:
    /// each point's (decay-scaled) weight goes to its most similar pick.
    func offlineGreedy(_ points: [_Point], budget: Int) -> [(point: _Point, weight: Double)] {
        let picked = greedyPicks(points, budget: budget)
        return zip(picked, nearestWeights(points, onto: picked)).map { ($0, $1) }
    }

    /// The picks of `offlineGreedy`.
    func greedyPicks(_ points: [_Point], budget: Int) -> [_Point] {
        guard !points.isEmpty else { return [] }
        let k = kernel
        var cover = [Float](repeating: 0, count: points.count)
        // A class that has not started is read out this way at every published snapshot of `run`:
        // rows through the column store, not per-pair sparse dots (the same values).
        var all = _NearestIndex(kernel: k, set: points)
        let picks = _Greedy.lazy(candidateCount: points.count, groundCount: points.count, budget: budget, cover: &cover) { i, row in
            all.similarities(of: points[i], into: &row)
        }
        return picks.map { points[$0] }
    }

    /// Each point's (decay-scaled) weight added to its most similar element of `chosen`.
    func nearestWeights(_ points: [_Point], onto chosen: [_Point]) -> [Double] {
        var w = [Double](repeating: 0, count: chosen.count)
        guard !chosen.isEmpty else { return w }
        var index = _NearestIndex(kernel: kernel, set: chosen)
        for p in points {
            w[index.nearest(p, selfArrival: true)] += p.record.weight * scaleFactor(arrival: p.arrival)
        }
        return w
    }

    /// Class c's elements at `budget`, before weights: what `coreset` answers with for the class.
    func classPicks(_ c: _ClassState, budget: Int) -> [_Point] {
        if configuration.algorithm == .greedy { return greedyPicks(c.liveAll, budget: budget) }
        if configuration.algorithm == .sampleGreedy { return samplePicks(c, budget: budget, refs: c.refs) }
        if !c.started { return greedyPicks(c.refs, budget: budget) }
        return sievePicks(c, budget: budget)
    }

    /// Class c's weight (decay-scaled units, as `coreset` before `decayFactorNow`) moved onto `chosen`.
    func classWeights(_ c: _ClassState, onto chosen: [_Point]) -> [Double] {
        if configuration.algorithm == .greedy { return nearestWeights(c.liveAll, onto: chosen) }
        if configuration.algorithm == .sampleGreedy { return sampleWeights(c, onto: chosen) }
        if !c.started { return nearestWeights(c.refs, onto: chosen) }
        return sieveWeights(c, onto: chosen)
    }

    /// Index of the most similar point of `set` (ties: the earlier one; a point with the same arrival is itself).
    func nearest(_ p: _Point, among set: [_Point], selfArrival: Bool) -> Int {
        let k = kernel  // one copy of the kernel (and its existential), not one per pair
        return set.withUnsafeBufferPointer { q in
            var best = 0, bestSim: Float = -1
            for i in 0..<q.count {
                if selfArrival && q[i].arrival == p.arrival { return i }
                let v = k.similarity(p, at: q.baseAddress! + i)
                if v > bestSim { best = i; bestSim = v }
            }
            return best
        }
    }

    /// The best sieve, completed to `budget` by lazy greedy over the other stored elements and the
    /// references (or trimmed by greedy), with the stored weights moved onto it.
    func fromSieves(_ c: _ClassState, budget: Int) -> [(point: _Point, weight: Double)] {
        let refs = c.refs  // rebuilt from the reference matrix once for both
        let chosen = sievePicks(c, budget: budget, refs: refs)
        guard !chosen.isEmpty else { return [] }
        return zip(chosen, sieveWeights(c, onto: chosen, refs: refs)).map { ($0, $1) }
    }

    /// The elements `fromSieves` answers with: the best sieve, topped up or trimmed to `budget`.
    func sievePicks(_ c: _ClassState, budget: Int, refs known: [_Point]? = nil) -> [_Point] {
        let refs = known ?? c.refs
        var bestSieve: Int? = nil
        // With a half-life the references are a time-biased sample and the sieves' members may predate a
        // change of distribution: choose afresh from everything stored and the references (the top-up
        // below with an empty start), so the answer follows the decayed objective.
        if configuration.halfLife == nil {
            for i in c.sieves.indices where bestSieve == nil || c.sieves[i].value > c.sieves[bestSieve!].value { bestSieve = i }
        }
        var chosen: [_Point] = bestSieve.map { c.sieves[$0].members.map { c.pool[$0]!.point } } ?? []
        if chosen.count > budget {
            var cover = [Float](repeating: 0, count: refs.count)
            let cand = chosen
            let picks = _Greedy.lazy(candidateCount: cand.count, groundCount: refs.count, budget: budget, cover: &cover) { i, row in
                row = referenceSimilarities(cand[i], c)
            }
            chosen = picks.map { cand[$0] }
        } else if chosen.count < budget {
            let have = Set(chosen.map(\.arrival))
            var cand: [_Point] = []
            var refSlot: [Int?] = []  // the reference slot of a candidate taken from the references
            var seen = have
            for case let e? in c.pool where !seen.contains(e.point.arrival) {
                cand.append(e.point)
                refSlot.append(nil)
                seen.insert(e.point.arrival)
            }
            for (j, r) in refs.enumerated() where !seen.contains(r.arrival) {
                cand.append(r)
                refSlot.append(j)
                seen.insert(r.arrival)
            }
            var cover = bestSieve.map { c.sieves[$0].cover } ?? [Float](repeating: 0, count: refs.count)
            let g = refs.count
            if let gram = referenceGram(c, refs: refs) {
                // Candidates that are references read their rows from the Gram matrix; the others (stored
                // elements) are few and computed once each.
                let rows = cand.indices.map { i -> [Float]? in refSlot[i] == nil ? referenceSimilarities(cand[i], c) : nil }
                let picks = gram.withUnsafeBufferPointer { gp in
                    _Greedy.lazy(candidateCount: cand.count, groundCount: g, budget: budget - chosen.count, cover: &cover,
                                 cacheRows: false) { i, row in
                        guard let j = refSlot[i] else { row = rows[i]!; return }
                        if row.count != g { row = [Float](repeating: 0, count: g) }
                        row.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: gp.baseAddress! + j * g, count: g) }
                    }
                }
                chosen += picks.map { cand[$0] }
            } else {
                let picks = _Greedy.lazy(candidateCount: cand.count, groundCount: g, budget: budget - chosen.count, cover: &cover) { i, row in
                    row = referenceSimilarities(cand[i], c)
                }
                chosen += picks.map { cand[$0] }
            }
        }
        return chosen
    }

    /// The similarities of every pair of the class's references, row-major (R × R), computed by symmetry:
    /// row j's entries from column j on come from one pass over the reference matrix, the rest are copied
    /// from the rows above. Exact: `referenceSimilarities` of two references gives the same value in either
    /// order, bit for bit (the column store adds the same products in increasing index order whichever
    /// vector is the query, and the kernel is symmetric in its two norms and residuals). Nil when the
    /// store is off (per-pair kernel) or the matrix would be too large (the caller computes rows then).
    func referenceGram(_ c: _ClassState, refs: [_Point]) -> [Float]? {
        let g = refs.count
        guard g > 1, g * g <= 1 << 25, !c.refStore.disabled, g == c.refCount else { return nil }
        var gram = [Float](repeating: 0, count: g * g)
        var row: [Float] = []
        for j in 0..<g {
            referenceSimilarities(refs[j], c, from: j, into: &row)
            gram.withUnsafeMutableBufferPointer { gp in
                row.withUnsafeBufferPointer { rp in
                    for r in j..<g {
                        gp[j * g + r] = rp[r]
                        gp[r * g + j] = rp[r]
                    }
                }
            }
        }
        return gram
    }

    /// The class's weight (its stored cells and pending weight) moved onto `chosen`: any set of points
    /// of the class embedded by this selector's kernel (its own picks, or the union of every shard's).
    func sieveWeights(_ c: _ClassState, onto chosen: [_Point], refs known: [_Point]? = nil) -> [Double] {
        let refs = known ?? c.refs
        var w = [Double](repeating: 0, count: chosen.count)
        guard !chosen.isEmpty else { return w }
        // Each stored element holds the exact weight of the records that were nearest to it when they
        // arrived (its cell). Split it over the chosen elements in the proportions the references of
        // that cell choose (each reference goes to its most similar chosen element); a cell without
        // references goes whole to the element's most similar chosen element. Moving a cell whole
        // (the plain rule) piles the weight of a cell onto one element while chosen references that
        // were never stored (the top-up) get nothing: on mnist at k = 1000 in gradient space that
        // doubled Sieve-Streaming++'s gradient error (1.10x random vs 0.51x with exact nearest counts).
        let slots = c.pool.indices.filter { c.pool[$0] != nil }
        let stored = slots.map { c.pool[$0]!.point }
        var split: [Int: [Int: Int]] = [:]
        var toChosen = _NearestIndex(kernel: kernel, set: chosen)
        // Each reference's most similar chosen element (used for the cells and for the pending weight).
        let refChoice = refs.map { toChosen.nearest($0, selfArrival: true) }
        if !stored.isEmpty {
            // A reference's cell is its most similar stored element. The pool's column store gives the
            // similarities to every slot in one pass (the same products summed in the same order as the
            // finder's gather, so the same cells), except for a dense-prefix reference, whose pairs with
            // dense-prefix elements the finder sums in VectorMath.dot's SIMD order.
            var indexOfSlot = [Int](repeating: -1, count: c.pool.count)
            for (i, s) in slots.enumerated() { indexOfSlot[s] = i }
            var sims: [Float] = []
            // Only references the pool's store cannot answer need it (built on first use).
            var toStoredIndex: _NearestIndex? = nil
            func toStored(_ r: _Point) -> Int {
                if toStoredIndex == nil { toStoredIndex = _NearestIndex(kernel: kernel, set: stored) }
                return toStoredIndex!.nearest(r, selfArrival: true)
            }
            for (ri, r) in refs.enumerated() {
                let cell: Int
                if let s = c.slotOfArrival[r.arrival], s < indexOfSlot.count, indexOfSlot[s] >= 0 {
                    cell = indexOfSlot[s]  // the reference is itself stored
                } else if !c.poolStore.disabled && !r.record.features.isDensePrefix {
                    poolSimilarities(r, c, into: &sims)
                    var best = -1, bestSim: Float = -1
                    for s in slots where sims[s] > bestSim { best = s; bestSim = sims[s] }
                    cell = best >= 0 ? indexOfSlot[best] : toStored(r)
                } else {
                    cell = toStored(r)
                }
                split[cell, default: [:]][refChoice[ri], default: 0] += 1
            }
        }
        for (i, s) in slots.enumerated() {
            let v = c.ledger.value(c.pool[s]!.weight)
            guard v != 0 else { continue }
            if let parts = split[i] {
                let total = Double(parts.values.reduce(0, +))
                for (j, n) in parts.sorted(by: { $0.key < $1.key }) { w[j] += v * Double(n) / total }
            } else {
                w[toChosen.nearest(stored[i], selfArrival: true)] += v
            }
        }
        let pending = c.ledger.value(c.pending)
        if pending != 0 {
            // Weight that arrived with no element stored: split like the references' nearest counts.
            if refs.isEmpty {
                w[0] += pending
            } else {
                var counts = [Double](repeating: 0, count: chosen.count)
                for j in refChoice { counts[j] += 1 }
                for i in w.indices { w[i] += pending * counts[i] / Double(refs.count) }
            }
        }
        return w
    }
}

/// `CoresetSelector.nearest` for many queries, exactly (same index, same ties), faster in feature
/// space: the query is scattered once into a dense buffer and each element's dot product is gathered
/// along the element's nonzeros, instead of a branchy sorted merge per pair.
///
/// The gathered sum adds the products of the common indices in increasing index order, which is
/// exactly what `VectorMath.dot` computes for a sparse pair (merge join) and for a sparse/dense-prefix
/// pair (the indices a dense prefix holds are all those below its length); pairs of dense prefixes
/// keep `VectorMath.dot` (its SIMD order). In gradient space the feature dot is combined with the
/// residual product exactly as `_Kernel.similarity(_:at:)` does.
struct _NearestFinder {
    let kernel: _Kernel
    private var dense: [Float] = []
    private var present: [Bool] = []

    init(kernel: _Kernel) { self.kernel = kernel }

    mutating func nearest(_ p: _Point, among set: [_Point], selfArrival: Bool) -> Int {
        let kind = kernel.kind, an = p.gradientNorm2, arrival = p.arrival
        // Gradient space: the same feature dot, then (r_p·r_q)(x·x + b) exactly as `_Kernel.similarity(_:at:)`.
        let gradient = !p.residual.isEmpty, bias = gradient ? kernel.bias : 0
        let pDense = p.record.features.isDensePrefix
        let pi = p.record.features.indices, pv = p.record.features.values
        let needed = Int(pi.last ?? 0) + 1
        if dense.count < needed {
            dense = [Float](repeating: 0, count: needed)
            present = [Bool](repeating: false, count: needed)
        }
        for (i, v) in zip(pi, pv) { dense[Int(i)] = v; present[Int(i)] = true }
        defer { for i in pi { dense[Int(i)] = 0; present[Int(i)] = false } }
        return dense.withUnsafeBufferPointer { dn in
            present.withUnsafeBufferPointer { pr in
                set.withUnsafeBufferPointer { q in
                    var best = 0, bestSim: Float = -1
                    for i in 0..<q.count {
                        if selfArrival && q[i].arrival == arrival { return i }
                        let xd: Float
                        if pDense && q[i].record.features.isDensePrefix {
                            xd = VectorMath.dot(p.record.features, q[i].record.features)
                        } else {
                            var s: Float = 0
                            q[i].record.features.indices.withUnsafeBufferPointer { qi in
                                q[i].record.features.values.withUnsafeBufferPointer { qv in
                                    let lim = pr.count
                                    for t in 0..<min(qi.count, qv.count) {
                                        let j = Int(qi[t])
                                        if j < lim && pr[j] { s += dn[j] * qv[t] }
                                    }
                                }
                            }
                            xd = s
                        }
                        var inner = Double(xd)
                        if gradient {
                            var rd = 0.0
                            p.residual.withUnsafeBufferPointer { ra in
                                q[i].residual.withUnsafeBufferPointer { rb in
                                    for t in 0..<min(ra.count, rb.count) { rd += Double(ra[t]) * Double(rb[t]) }
                                }
                            }
                            inner = rd * (inner + bias)
                        }
                        let v = _Kernel.similarity(kind, an, q[i].gradientNorm2, inner: inner)
                        if v > bestSim { best = i; bestSim = v }
                    }
                    return best
                }
            }
        }
    }
}

/// `_NearestFinder` over one fixed set queried many times (a read-out moves every reference and
/// stored element onto the chosen elements: O(R · k) pairs), with the set's feature vectors laid out
/// as a `_ColumnStore`, so one query's dot products with the whole set are a SIMD pass instead of a
/// gather per pair. The index is exactly the finder's: the store adds the same products in the same
/// (increasing index) order as the gather; queries the store cannot answer that way (a dense-prefix
/// query, whose pairs with dense-prefix elements `VectorMath.dot` sums in SIMD order, or a set too
/// wide for the store) go to the finder.
struct _NearestIndex {
    let kernel: _Kernel
    let set: [_Point]
    private var finder: _NearestFinder
    private var store: _ColumnStore
    private var norms: [Double]
    /// Residuals, `stride` floats per element, when every element has `stride` of them.
    private var residuals: [Float] = []
    private var stride = 0
    private var flat = true
    private var indexOfArrival: [UInt64: Int] = [:]
    private var dots: [Float] = []
    /// Similarities of the current query (`nearest`).
    private var row: [Float] = []

    init(kernel: _Kernel, set: [_Point]) {
        self.kernel = kernel
        self.set = set
        finder = _NearestFinder(kernel: kernel)
        store = _ColumnStore(columns: set.count)
        norms = set.map(\.gradientNorm2)
        guard let dimension = Self.storeDimension(set.count, maxIndex: set.reduce(0) { max($0, Int($1.record.features.indices.last ?? 0)) }) else {
            store = _ColumnStore(dimension: 0, columns: 1, disabled: true)
            return
        }
        // Laid out at its final size at once: growing it row block by row block re-faults every block.
        store = _ColumnStore(dimension: dimension, columns: set.count, disabled: false)
        for (c, p) in set.enumerated() {
            store.set(c, p.record.features, replacing: nil)
            if indexOfArrival[p.arrival] == nil { indexOfArrival[p.arrival] = c }
        }
        stride = set.first?.residual.count ?? 0
        flat = set.allSatisfy { $0.residual.count == stride }
        if flat && stride > 0 {
            residuals.reserveCapacity(set.count * stride)
            for p in set { residuals.append(contentsOf: p.residual) }
        }
    }

    private func usesStore(_ p: _Point) -> Bool {
        !store.disabled && Self.queryUsesStore(p, flat: flat, stride: stride)
    }

    /// The rows of a column store for `count` elements whose largest feature index is `maxIndex`, or nil
    /// when the per-pair kernel serves instead. Even a read-out's ~10 chosen elements of a class: the
    /// store's pass (one short row per query nonzero) is cheaper than the finder's gather along every
    /// element's nonzeros.
    static func storeDimension(_ count: Int, maxIndex: Int) -> Int? {
        count >= 2 && maxIndex < _ColumnStore.maxDimension ? maxIndex + 1 : nil
    }

    /// Whether a query's similarities come from the store: a sparse query, with a residual of the
    /// elements' common length (`flat`: they all have `stride`).
    static func queryUsesStore(_ p: _Point, flat: Bool, stride: Int) -> Bool {
        !p.record.features.isDensePrefix && flat && p.residual.count == stride
    }

    /// row[j] = kernel.similarity(p, set[j]) for every element j >= `from` (the others are left as
    /// they were), the same values as the per-pair kernel.
    mutating func similarities(of p: _Point, from: Int = 0, into row: inout [Float]) {
        let n = set.count
        if row.count != n { row = [Float](repeating: 0, count: n) }
        let k = kernel
        guard usesStore(p) else {
            set.withUnsafeBufferPointer { q in
                for j in from..<n { row[j] = k.similarity(p, at: q.baseAddress! + j) }
            }
            return
        }
        guard from < n else { return }
        store.dots(p.record.features, count: n, from: from, into: &dots)
        let kind = k.kind, an = p.gradientNorm2, bias = k.bias, K = stride
        dots.withUnsafeBufferPointer { d in
            norms.withUnsafeBufferPointer { bn in
                row.withUnsafeMutableBufferPointer { out in
                    p.residual.withUnsafeBufferPointer { pr in
                        residuals.withUnsafeBufferPointer { rr in
                            Self.similarities(kind, bias: bias, queryNorm: an, queryResidual: pr, norms: bn,
                                              residuals: rr, stride: K, dots: d, from..<n, into: out.baseAddress!)
                        }
                    }
                }
            }
        }
    }

    /// out[j] = s(query, element j) for j in `range`, given the query's feature dots with the elements
    /// (`dots[j]`), the elements' squared gradient norms and, when `stride` > 0, their residuals end to
    /// end, `stride` each: the formulas of `_Kernel.similarity(_:_:featureDot:)`, in the same order.
    @inline(__always)
    static func similarities(_ kind: _Kernel.Kind, bias: Double, queryNorm an: Double,
                             queryResidual pr: UnsafeBufferPointer<Float>, norms bn: UnsafeBufferPointer<Double>,
                             residuals rr: UnsafeBufferPointer<Float>, stride K: Int, dots d: UnsafeBufferPointer<Float>,
                             _ range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        if K == 0 {
            if case .euclidean(let scale) = kind {  // four at a time, the same Floats
                _Kernel.euclideanSimilarities(scale: scale, an, bn, d, into: UnsafeMutableBufferPointer(start: out, count: range.upperBound), range)
                return
            }
            for j in range { out[j] = _Kernel.similarity(kind, an, bn[j], inner: Double(d[j])) }
            return
        }
        // The residual dots four elements at a time, one SIMD lane each: every lane sums its K products in
        // order, as the scalar loop does (the same Doubles), but four chains run at once instead of one
        // (mnist's K = 10: the chain's latency was most of a gradient-space read-out's pass).
        var j = range.lowerBound
        while j + 4 <= range.upperBound {
            var rd = SIMD4<Double>(repeating: 0)
            let b0 = j * K, b1 = b0 + K, b2 = b1 + K, b3 = b2 + K
            for t in 0..<K {
                let e = SIMD4<Double>(Double(rr[b0 + t]), Double(rr[b1 + t]), Double(rr[b2 + t]), Double(rr[b3 + t]))
                rd += SIMD4<Double>(repeating: Double(pr[t])) * e
            }
            for l in 0..<4 {
                out[j + l] = _Kernel.similarity(kind, an, bn[j + l], inner: rd[l] * (Double(d[j + l]) + bias))
            }
            j += 4
        }
        while j < range.upperBound {
            var rd = 0.0
            let base = j * K
            for t in 0..<K { rd += Double(pr[t]) * Double(rr[base + t]) }
            out[j] = _Kernel.similarity(kind, an, bn[j], inner: rd * (Double(d[j]) + bias))
            j += 1
        }
    }

    /// Index of the most similar element (ties: the earlier one; an element with the query's arrival
    /// is the query itself), exactly as `CoresetSelector.nearest`.
    mutating func nearest(_ p: _Point, selfArrival: Bool) -> Int {
        if !usesStore(p) {
            return finder.nearest(p, among: set, selfArrival: selfArrival)
        }
        if selfArrival, let i = indexOfArrival[p.arrival] { return i }
        var sims: [Float] = []
        swap(&sims, &row)  // reuse the buffer without overlapping access to self
        defer { swap(&sims, &row) }
        similarities(of: p, into: &sims)
        var best = 0, bestSim: Float = -1
        for i in sims.indices where sims[i] > bestSim { best = i; bestSim = sims[i] }
        return best
    }
}

/// A coreset's inputs copied out of a `CoresetSelector` (`readOut()`), to be computed elsewhere.
public struct CoresetReadOut: @unchecked Sendable {
    let method: _SampleGreedyReadOut
    let classes: [_SampleClass]
    let budgets: [Int]
    let sums: [_GradientSum]
    let matchesGradients: Bool
    let decayOrigin: UInt64
    let halfLife: Double?
    let decay: Double

    /// The coreset, with `threads` worker threads for the cells (the same coreset at any count).
    public func coreset(threads: Int = 1) -> WeightedCoreset {
        guard threads > 1 else { return coreset(lanes: nil) }
        let lanes = _WorkerLanes(count: threads)
        defer { lanes.shutdown() }
        return coreset(lanes: lanes)
    }

    func coreset(lanes: _WorkerLanes?) -> WeightedCoreset {
        let picked = lanes.map { method.sampleGreedy(classes, budgets: budgets, lanes: $0) }
            ?? classes.map { method.sampleGreedy($0, budget: budgets[$0.id]) }
        let origin = decayOrigin, halfLife = halfLife
        return CoresetSelector.finish(classes.indices.map { (id: classes[$0].id, picked: picked[$0], sum: sums[$0]) },
                                      matchesGradients: matchesGradients,
                                      scale: { CoresetSelector.scaleFactor(arrival: $0, origin: origin, halfLife: halfLife) },
                                      decay: decay, lanes: lanes)
    }
}
