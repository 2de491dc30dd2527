extension CoresetSelector {
    /// Hands the selector a new model snapshot (the closed loop from the learner).
    ///
    /// Rule: in `.gradient` space a snapshot with `version > 0` is adopted, and the coreset re-selected,
    /// when it is the first trained snapshot, or when the reference gradients moved by more than
    /// `reselectionThreshold` in relative terms:
    /// δ = sqrt(Σ_i ‖g_i(new) − g_i(old)‖² / Σ_i ‖g_i(old)‖²) over the reference reservoirs, where
    /// ‖g(new) − g(old)‖² = ‖r_new − r_old‖² (x·x + b) since the features are the same — a cheap proxy
    /// for CREST's "the local model stopped predicting the loss" (its 10% gap is the default).
    /// A snapshot that comes before the spacing rule allows (`reselectionSpacing`: at least
    /// spacing · n records after a re-selection at record n) is ignored without measuring δ.
    /// Otherwise the snapshot is ignored and the geometry stays at the previous one (so the stored
    /// coverages stay consistent). In `.feature` space snapshots are ignored.
    ///
    /// Re-selection, per class: re-embed the references and stored elements, refit the scale (same
    /// rule as the warm-up, on up to `warmUp` references taken round-robin over classes), run lazy greedy
    /// with the reference reservoir as ground set and references ∪ stored elements as candidates, replay
    /// the picks in greedy order into fresh sieves, and move every old element's weight (and the weight
    /// of picks no sieve took) to its most similar new element, so class totals stay exact.
    /// - Returns: true if the selector re-selected.
    /// - Complexity: O(R · nnz) to measure δ; a re-selection costs O((R + P) · R · nnz) per class.
    /// With shards the decision is taken once for all of them (δ over every shard's references, the
    /// spacing rule on every shard), so they always share one snapshot: their class gradient sums are then
    /// sums at the same model and add up, which gradient matching over the union needs
    /// (`shardGradientSum`). Shards deciding alone drifted apart within a few snapshots, and the union
    /// fell back to nearest weights (census_kdd, k = 1995, 2 shards, coreset-only test loss 0.1545;
    /// one selector 0.1410).
    @discardableResult
    public func updateModel(_ snapshot: any GradientEmbedding) -> Bool {
        settle()
        guard configuration.space == .gradient, snapshot.version > 0 else { return false }
        if !shardSelectors.isEmpty {
            let shards = shardSelectors
            if shards.contains(where: { $0.kernel.embedding != nil }) {
                if shards.contains(where: { $0.arrivals < $0.nextReselectionArrival }) { return false }
                let shifts = eachShard { _, shard in shard.modelShift(snapshot) }
                let num = shifts.reduce(0) { $0 + $1.moved }, den = shifts.reduce(0) { $0 + $1.base }
                if den > 0 && (num / den).squareRoot() <= configuration.reselectionThreshold { return false }
            }
            _ = eachShard { _, shard in shard.reselect(with: snapshot) }
            return true
        }
        if kernel.embedding != nil {
            if arrivals < nextReselectionArrival { return false }
            let shift = modelShift(snapshot)
            if shift.base > 0 && (shift.moved / shift.base).squareRoot() <= configuration.reselectionThreshold { return false }
        }
        reselect(with: snapshot)
        return true
    }

    /// Σ_i ‖g_i(new) − g_i(old)‖² (`moved`) and Σ_i ‖g_i(old)‖² (`base`) over the reference reservoirs.
    func modelShift(_ snapshot: any GradientEmbedding) -> (moved: Double, base: Double) {
        let b = snapshot.hasBias ? 1.0 : 0.0, bOld = kernel.bias
        var num = 0.0, den = 0.0
        var r = [Float](repeating: 0, count: snapshot.residualCount)
        var old: [Float] = []
        for case let c? in classes {
            for p in (configuration.algorithm == .greedy ? c.liveAll : c.refs) {
                snapshot.residual(features: p.record.features, label: p.record.label, into: &r)
                if refsEmbeddedAtReadOut, let e = kernel.embedding {
                    e.residual(features: p.record.features, label: p.record.label, into: &old)
                } else {
                    old = p.residual
                }
                var d2 = 0.0, o2 = 0.0
                for i in 0..<r.count {
                    let o = i < old.count ? Double(old[i]) : 0
                    d2 += (Double(r[i]) - o) * (Double(r[i]) - o)
                }
                for v in old { o2 += Double(v) * Double(v) }
                num += d2 * (p.featureNorm2 + b)
                den += o2 * (p.featureNorm2 + bOld)
            }
        }
        return (num, den)
    }

    /// The first record count at which the spacing rule allows another re-selection.
    var nextReselectionArrival: UInt64 {
        var gap = configuration.reselectionSpacing * Double(lastReselectionArrival)
        if let w = configuration.window { gap = min(gap, configuration.reselectionSpacing * Double(w)) }
        if let h = configuration.halfLife { gap = min(gap, configuration.reselectionSpacing * h) }
        return lastReselectionArrival + UInt64(gap.rounded(.up))
    }

    func reselect(with snapshot: any GradientEmbedding) {
        reselectionCount += 1
        lastReselectionArrival = arrivals
        // The references' gradient sums at the old snapshot: the control variate that moves each class's
        // gradient sum to the new one (`_GradientSum`).
        var oldSums: [Int: _GradientSum] = [:]
        if matchesGradients && kernel.embedding != nil {
            for case let c? in classes { oldSums[c.id] = weightedGradientSum(configuration.algorithm == .greedy ? c.liveAll : c.refs).sum }
        }
        kernel.embedding = snapshot
        let k0 = kernel
        func reembed(_ p: _Point) -> _Point { k0.point(p.record, arrival: p.arrival) }
        for case let c? in classes where !refsEmbeddedAtReadOut {
            c.refs = c.refs.map(reembed)
            c.compactAll()
            c.all = c.all.map(reembed)
            for i in c.candidates.indices { c.candidates[i].point = reembed(c.candidates[i].point) }
            for s in c.pool.indices { if let e = c.pool[s] { c.pool[s]!.point = reembed(e.point) } }
            c.rebuildResiduals(stride: snapshot.residualCount)
        }
        if scaleFixed {
            // Same rule as the warm-up, on a sample that does not depend on batch boundaries.
            var sample: [Record] = [], arrivals: [UInt64] = []
            let lists = classes.compactMap { $0 }.map { configuration.algorithm == .greedy ? $0.all : $0.refs }
            var i = 0
            while sample.count < effectiveWarmUp && lists.contains(where: { i < $0.count }) {
                for l in lists where i < l.count && sample.count < effectiveWarmUp {
                    sample.append(l[i].record)
                    arrivals.append(l[i].arrival)
                }
                i += 1
            }
            var dots: [Float]? = nil
            if _Kernel.measuresScale(configuration.similarity) {
                dots = _Kernel.sampleDots(sample, arrivals: arrivals, reusing: scaleSampleDots)
                scaleSampleDots = (arrivals, dots!)
            }
            kernel = _Kernel.make(configuration.similarity, embedding: snapshot, sample: sample, featureDots: dots)
        }
        if matchesGradients { for case let c? in classes { moveGradientSum(c, old: oldSums[c.id]) } }
        // Greedy and sample-greedy choose at read-out, from points now embedded at the new snapshot.
        guard configuration.algorithm != .greedy && configuration.algorithm != .sampleGreedy else { return }
        for case let c? in classes where c.started { reselectClass(c) }
    }

    /// Σ w g of points embedded at the snapshot in use (decay-scaled weights), and Σ w.
    func weightedGradientSum(_ points: [_Point]) -> (sum: _GradientSum, weight: Double) {
        var g = _GradientSum()
        guard let e = kernel.embedding else { return (g, 0) }
        g.reset(residualCount: e.residualCount, hasBias: e.hasBias)
        var total = 0.0
        var r: [Float] = []
        for p in points {
            let w = p.record.weight * scaleFactor(arrival: p.arrival)
            if refsEmbeddedAtReadOut {
                e.residual(features: p.record.features, label: p.record.label, into: &r)
                r.withUnsafeBufferPointer { g.add(features: p.record.features, residual: $0, weight: w) }
            } else {
                g.add(p, weight: w)
            }
            total += w
        }
        return (g, total)
    }

    /// Whether the references keep the residuals they were offered with and are embedded at the snapshot
    /// in use only when read out (`sampleGreedy`, whose references matter only there): a re-selection then
    /// costs a pass of residuals, not a rebuilt reservoir (a quarter of the reading thread of a `run`).
    var refsEmbeddedAtReadOut: Bool { configuration.algorithm == .sampleGreedy }

    /// After a re-embedding: class c's gradient sum at the new snapshot. Exact when the class's points
    /// at hand are all its records (offline greedy, or a reservoir that never replaced one); otherwise
    /// the old sum moved by the reservoir's change scaled to the class (a control variate), or, with no
    /// usable old sum (first snapshot, a residual length that changed), the reservoir's sum scaled.
    func moveGradientSum(_ c: _ClassState, old: _GradientSum?) {
        let all = configuration.algorithm == .greedy || c.refCount == c.seen
        let (now, weight) = weightedGradientSum(configuration.algorithm == .greedy ? c.liveAll : c.refs)
        if all {
            c.gradientSum = now
            return
        }
        guard weight > 0, now.valid else { c.gradientSum.invalidate(); return }
        let ratio = c.inputWeight / weight
        if let o = old, o.valid, c.gradientSum.valid, o.residualCount == now.residualCount, o.hasBias == now.hasBias,
           c.gradientSum.residualCount == now.residualCount, c.gradientSum.hasBias == now.hasBias {
            c.gradientSum.add(now, times: ratio)
            c.gradientSum.add(o, times: -ratio)
        } else {
            var g = now
            g.scale(by: ratio)
            c.gradientSum = g
        }
    }

    func reselectClass(_ c: _ClassState) {
        let refs = c.refs
        var cand = refs
        let refArrivals = Set(refs.map(\.arrival))
        var old: [(point: _Point, weight: _Weight)] = []
        for case let e? in c.pool {
            old.append((e.point, e.weight))
            if !refArrivals.contains(e.point.arrival) { cand.append(e.point) }
        }
        // Every candidate's row at once is R × (R + P) floats: 9 GB for census_kdd at k = 10%. Past
        // `reselectionRowBudget` entries the rows are computed again where needed (the same rows, so the
        // same picks), and memory stays O(R) beyond the greedy's own bounded cache.
        let keepsRows = cand.count * refs.count <= reselectionRowBudget
        var rows: [[Float]] = []
        if keepsRows {
            rows.reserveCapacity(cand.count)
            for p in cand { rows.append(referenceSimilarities(p, c)) }
        }
        func row(_ i: Int) -> [Float] { keepsRows ? rows[i] : referenceSimilarities(cand[i], c) }
        // f({e}) per candidate, summed in order in Double as in `process`, taken from the row's first
        // computation (the greedy's first pass computes every row).
        var singletons = [Double](repeating: .nan, count: cand.count)
        var cover = [Float](repeating: 0, count: refs.count)
        let picks = _Greedy.lazy(candidateCount: cand.count, groundCount: refs.count, budget: c.capacity, cover: &cover) { i, r in
            r = row(i)
            if singletons[i].isNaN { singletons[i] = r.reduce(0) { $0 + Double($1) } }
        }
        for i in cand.indices where singletons[i].isNaN { singletons[i] = row(i).reduce(0) { $0 + Double($1) } }
        // Fresh sieves, fed the greedy picks in greedy order.
        c.resetPool()
        c.sieves = []
        c.lowerBound = 0
        c.rejections = 0
        c.m = 0
        // The singletons bound every sieve's gain.
        for v in singletons { c.m = max(c.m, v) }
        if configuration.window != nil { c.blockMax = [block(arrivals > 0 ? arrivals - 1 : 0): c.m] }
        c.maxCapacity = max(c.maxCapacity, c.capacity)
        maintainSieves(c)
        for i in picks {
            if offerToSieves(cand[i], sims: row(i), in: c, ordinal: c.seen, singleton: singletons[i]) == nil {
                old.append((cand[i], _Weight()))
            }
        }
        let stored = c.pool.indices.filter { c.pool[$0] != nil }
        if stored.isEmpty {
            for o in old { c.pending.absorb(o.weight) }
            return
        }
        let storedPoints = stored.map { c.pool[$0]!.point }
        var index = _NearestIndex(kernel: kernel, set: storedPoints)  // the same index as `nearest`, faster
        for o in old where !o.weight.isZero {
            let j = index.nearest(o.point, selfArrival: true)
            c.pool[stored[j]]!.weight.absorb(o.weight)
        }
    }
}
