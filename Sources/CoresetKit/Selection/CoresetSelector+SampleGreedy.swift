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
    /// Inline, not on a lane (a draw is cheaper than a hand-over), and the record is embedded only when
    /// the reservoir takes it.
    /// `residual`: the record's at the kernel's snapshot (empty in feature space).
    func sampleStep(_ record: Record, arrival: UInt64, residual: [Float], in c: _ClassState, ordinal: Int, weight: Double) {
        c.pending.plain += weight
        func point() -> _Point {
            kernel.embedding == nil ? kernel.point(record, arrival: arrival) : kernel.point(record, arrival: arrival, residual: residual)
        }
        func appendReference() {
            c.reserveReference(target: referenceTarget(c))
            c.appendReference(point())
        }
        if !c.started {
            appendReference()
            if c.refCount >= referenceTarget(c) {
                c.started = true
                c.maxCapacity = max(c.maxCapacity, c.capacity)
            }
            return
        }
        let j = Int(c.rng.below(UInt64(ordinal)))
        if c.refCount < referenceTarget(c) {
            appendReference()
        } else if j < c.refCount {
            c.replaceReference(j, with: point())
        }
    }

    var sampleReadOut: _SampleGreedyReadOut {
        _SampleGreedyReadOut(kernel: kernel, cellSize: configuration.cellSize,
                             memberSeed: configuration.representatives == .sampled ? configuration.seed : nil)
    }

    /// Class c as a read-out sees it (a copy: its arrays are shared until the selector changes them).
    func sampleClass(_ c: _ClassState) -> _SampleClass {
        _SampleClass(id: c.id, refs: c.refs, pending: c.ledger.value(c.pending))
    }

    /// Class c's elements and weights at `budget` (before gradient matching and decay).
    func sampleGreedy(_ c: _ClassState, budget: Int) -> [(point: _Point, weight: Double)] {
        sampleReadOut.sampleGreedy(sampleClass(c), budget: budget)
    }

    /// The elements `sampleGreedy` answers with, cell after cell.
    func samplePicks(_ c: _ClassState, budget: Int, refs: [_Point]) -> [_Point] {
        let r = sampleReadOut
        return r.samplePicks(budget: budget, refs: r.embedded(refs))
    }

    /// The class's weight moved onto any `chosen` points of the class (the union of every shard's picks).
    func sampleWeights(_ c: _ClassState, onto chosen: [_Point]) -> [Double] {
        sampleReadOut.sampleWeights(sampleClass(c), onto: chosen)
    }

    func referenceShares(_ c: _ClassState, _ refs: [_Point]) -> [Double] {
        sampleReadOut.referenceShares(refs, pending: c.ledger.value(c.pending))
    }
    func sampleCells(_ refs: [_Point], limit: Int) -> [[Int]] { sampleReadOut.sampleCells(refs, limit: limit) }
    func cellLimit(references: Int, budget: Int) -> Int { sampleReadOut.cellLimit(references: references, budget: budget) }
    func groundSize(budget: Int) -> Int { sampleReadOut.groundSize(budget: budget) }
    func proportionalShares(_ total: Int, sizes: [Int]) -> [Int] { sampleReadOut.proportionalShares(total, sizes: sizes) }
}
