/// One threshold sieve: a partial solution with its coverage of the reference set.
struct _Sieve {
    /// Grid level i: the threshold (OPT guess v for Sieve-Streaming/ThreeSieves, τ for ++) is (1 + ε)^i.
    var level: Int
    /// Pool slots of the members, in order of acceptance.
    var members: [Int] = []
    /// cover[r] = max over members j of s(ref r, j) (0 when empty).
    var cover: [Float]
    /// owner[r] = pool slot of the member achieving cover[r] (-1: none). Lets a member leave (window
    /// expiry) by recomputing only the references it covered.
    var owner: [Int32]
    /// f(S) = Σ cover.
    var value: Double = 0
    /// `thresholdValue` is `CoresetSelector.threshold(thresholdLevel)` (an exp per sieve per record otherwise).
    var thresholdLevel = Int.min
    var thresholdValue = 0.0

    init(level: Int, referenceCount: Int) {
        self.level = level
        cover = [Float](repeating: 0, count: referenceCount)
        owner = [Int32](repeating: -1, count: referenceCount)
    }

    /// Raises cover (and owner) where `row` is larger; `slot` is the member the row belongs to.
    mutating func absorb(_ row: [Float], slot: Int) {
        row.withUnsafeBufferPointer { absorb($0, slot: slot) }
    }

    mutating func absorb(_ row: UnsafeBufferPointer<Float>, slot: Int) {
        let o = Int32(slot)
        let n = min(row.count, cover.count, owner.count)
        cover.withUnsafeMutableBufferPointer { cv in
            owner.withUnsafeMutableBufferPointer { ow in
                for i in 0..<n where row[i] > cv[i] {
                    cv[i] = row[i]
                    ow[i] = o
                }
            }
        }
    }
}

/// Per band of `width` consecutive sieve levels, the elementwise minimum of its sieves' covers: a
/// record's gain in any sieve of the band is at most its gain against that minimum (each term
/// max(0, s_r − cover_r) falls as cover_r rises), so one pass over the minimum can reject the whole
/// band. Why: Sieve-Streaming++ on mnist at k = 100 tests ~30 sieves per record and 99.95% of those
/// tests reject; with bands of width 6, 80% of the passes go (1.78 M to 0.36 M).
///
/// Kept exact by the class: any assignment to its sieves invalidates the bands (rebuilt on next use);
/// the hot paths that change covers in place (acceptance, reservoir upkeep) update them instead.
struct _SieveBands {
    static let width = 6
    var valid = false
    /// Band b holds sieves start[b]..<start[b + 1] (the sieves are sorted by level, descending).
    private(set) var start: [Int] = []
    private var minCover: [[Float]] = []
    /// Bands whose minimum must be recomputed before use (a member's cover rose).
    private var stale: [Bool] = []

    var count: Int { minCover.count }

    static func band(ofLevel l: Int) -> Int { l >= 0 ? l / width : -((-l + width - 1) / width) }

    /// Lays the bands out over `sieves` (minima computed on first use).
    mutating func rebuild(_ sieves: [_Sieve]) {
        start = []
        var last = Int.min
        for (i, s) in sieves.enumerated() {
            let b = Self.band(ofLevel: s.level)
            if b != last { start.append(i); last = b }
        }
        start.append(sieves.count)
        minCover = Array(repeating: [], count: start.count - 1)
        stale = Array(repeating: true, count: start.count - 1)
        valid = true
    }

    /// Band b's members.
    func members(_ b: Int) -> Range<Int> { start[b]..<start[b + 1] }

    mutating func markStale(band b: Int) { stale[b] = true }

    /// Band b's minimum cover, recomputed if stale.
    mutating func minimum(_ b: Int, _ sieves: [_Sieve]) -> [Float] {
        if stale[b] {
            let r = members(b)
            var m = sieves[r.lowerBound].cover
            m.withUnsafeMutableBufferPointer { mp in
                for i in r.dropFirst() {
                    sieves[i].cover.withUnsafeBufferPointer { cp in
                        for j in 0..<min(mp.count, cp.count) where cp[j] < mp[j] { mp[j] = cp[j] }
                    }
                }
            }
            minCover[b] = m
            stale[b] = false
        }
        return minCover[b]
    }

    /// Entry j of every sieve's cover changed (or was appended, `appended`): the minima follow.
    mutating func coverChanged(at j: Int, appended: Bool, _ sieves: [_Sieve]) {
        for b in minCover.indices where !stale[b] {
            var v = Float.infinity
            for i in members(b) { v = min(v, sieves[i].cover[j]) }
            if appended { minCover[b].append(v) } else { minCover[b][j] = v }
        }
    }
}

/// The weight an element (or a class's pending weight) stands for.
///
/// Without a window it is one number (`plain`, in half-life-scaled units). With a window, amounts are
/// tagged by the arrival block of the records they came from (blocks of `_Ledger.blockSize` arrivals);
/// an amount's current value is `amount × fraction[block]` (see `_Ledger`), and amounts of blocks
/// that left the window are worth nothing. Moving weight between elements keeps the tags.
struct _Weight {
    var plain = 0.0
    var blocks: [Int] = []
    var amounts: [Double] = []

    mutating func add(_ a: Double, block: Int?) {
        guard let b = block else { plain += a; return }
        var i = blocks.count - 1
        while i >= 0 && blocks[i] != b { i -= 1 }
        if i >= 0 { amounts[i] += a } else { blocks.append(b); amounts.append(a) }
    }

    mutating func absorb(_ o: _Weight) {
        plain += o.plain
        for (b, a) in zip(o.blocks, o.amounts) { add(a, block: b) }
    }

    /// Drops the amounts of blocks older than `oldest` (they are worth nothing).
    mutating func prune(oldest: Int) {
        guard let f = blocks.first, f < oldest else { return }
        var nb: [Int] = [], na: [Double] = []
        for (b, a) in zip(blocks, amounts) where b >= oldest { nb.append(b); na.append(a) }
        blocks = nb
        amounts = na
    }

    var isZero: Bool { plain == 0 && blocks.isEmpty }
}

/// Per class, window mode: what is left of each live arrival block. `fraction[β]` multiplies every
/// stored amount of block β; `live[β]` is the current total value of block β held by the class's
/// elements and pending weight. When a record of block β leaves the window its weight w leaves the
/// class: fraction[β] *= (live − w) / live. A block whose last record left is dropped, so its amounts
/// are worth exactly 0. Per class totals are therefore exact (up to rounding).
struct _Ledger {
    var fraction: [Int: Double] = [:]
    var live: [Int: Double] = [:]

    /// Stored units for a value `a` added now to block β.
    mutating func stored(_ a: Double, block b: Int) -> Double {
        live[b, default: 0] += a
        let f = fraction[b] ?? 1
        if fraction[b] == nil { fraction[b] = 1 }
        return f > 0 ? a / f : a
    }

    mutating func expire(_ w: Double, block b: Int) {
        guard let l = live[b], l > 0 else { return }
        let nl = max(0, l - w)
        fraction[b] = (fraction[b] ?? 1) * (nl / l)
        live[b] = nl
    }

    mutating func drop(block b: Int) {
        fraction[b] = nil
        live[b] = nil
    }

    func value(_ w: _Weight) -> Double {
        var v = w.plain
        for (b, a) in zip(w.blocks, w.amounts) { if let f = fraction[b] { v += a * f } }
        return v
    }
}

/// Window mode: a record that may still enter the class's reference sample (priority sampling over a
/// sliding window, Babcock, Datar, Motwani 2002). The sample is the R records of lowest priority in
/// the window; a record is kept as a candidate while fewer than R later records have a lower
/// priority (after that it can never be among the R lowest). Expected candidates: R (1 + ln(n_w / R))
/// for n_w records of the class in the window.
struct _Candidate {
    var point: _Point
    var priority: UInt64
    var dominated: Int32 = 0
    var inSample = false
}

/// An element kept by at least one sieve, with the weight it stands for.
struct _PoolElement {
    var point: _Point
    /// Input weight assigned to it (in half-life-scaled units, or block-tagged with a window).
    var weight: _Weight
    /// Number of sieves holding it; it leaves the pool at 0.
    var holders: Int
}

/// Everything the selector keeps about one class (the whole stream for regression).
///
/// Reference-semantics class so the per-record hot path mutates in place.
final class _ClassState {
    let id: Int
    /// Records of this class seen so far.
    var seen = 0
    /// Accepted input weight, in half-life-scaled units.
    var inputWeight = 0.0
    var rng: SeededGenerator

    /// The reference reservoir: a uniform sample (Vitter's Algorithm R) of the class's records, the
    /// ground set the gains are measured on. While it fills it holds every record of the class, in order.
    ///
    /// While `refStore` is in use its matrix columns are the only copy of the references' features:
    /// `refPoints` keeps the points without them (the per-record loops read only norms and the bulk
    /// dots), and `refs` gives them back whole. One copy instead of two: mnist `select -k 100` holds
    /// 10,000 references, ~1.2 KB of sparse features each.
    private(set) var refPoints: [_Point] = []
    /// Per reference slot: the entry count of a dense-prefix vector (given back dense, zeros included,
    /// so the dense kernels apply as they did), else 0.
    private var refDensePrefix: [Int32] = []
    /// Per reference slot: its point's squared norm (`gradientNorm2`), flat, for the per-record loops.
    private(set) var refNorms: [Double] = []
    var refCount: Int { refPoints.count }
    /// The references, whole (features rebuilt from the matrix: O(R · dimension); not for per-record loops).
    var refs: [_Point] {
        get {
            guard stripsFeatures else { return refPoints }
            let features = refStore.columns(refPoints.count, densePrefix: refDensePrefix)
            var out = refPoints
            for j in out.indices { out[j].record.features = features[j] }
            return out
        }
        set {
            for j in refPoints.indices {
                if stripsFeatures { refStore.clearColumn(j) } else { refStore.clear(j, old: refPoints[j].record.features) }
            }
            refPoints = []
            refDensePrefix = []
            refNorms = []
            refResiduals = []
            for p in newValue { appendReference(p) }
        }
    }
    /// True once the reservoir has filled and its records were replayed through the sieves.
    var started = false

    var pool: [_PoolElement?] = []
    var freeSlots: [Int] = []
    var poolCount = 0
    /// Any assignment (or in-place change) outside `withSieves` invalidates `bands`.
    var sieves: [_Sieve] = [] { didSet { bands.valid = false } }
    /// Band minima of the sieves' covers (`offerToSieves` rejects whole bands with them).
    var bands = _SieveBands()
    /// Sieve tests decided by a band's minimum (instead of the sieve's own cover), for tests.
    var bandRejections = 0
    /// Largest singleton value f({e}) seen (m in the papers).
    var m = 0.0
    /// Sieve-Streaming++'s lower bound LB = max over time of max_v f(S_v).
    var lowerBound = 0.0
    /// Weight that arrived while the pool was empty.
    var pending = _Weight()
    /// Sieve capacity (the class's share of k at the last record) and its historical maximum.
    var capacity = 1
    var maxCapacity = 1
    /// ThreeSieves' count of consecutive rejections.
    var rejections = 0
    /// Offline greedy: every record of the class (with a window: from `allHead` on, the ones in it).
    var all: [_Point] = []
    var allHead = 0

    // Window mode.
    /// Records of this class among the last `window` records.
    var inWindow = 0
    var ledger = _Ledger()
    /// Largest singleton value per arrival block (m is their max over live blocks).
    var blockMax: [Int: Double] = [:]
    /// Candidates for the reference sample, in arrival order (references are among them).
    var candidates: [_Candidate] = []
    /// Priority of each reference, by slot.
    var refPriority: [UInt64] = []
    /// Pool slot of each stored element, by arrival.
    var slotOfArrival: [UInt64: Int] = [:]

    /// The references' and stored elements' features as matrix columns (bulk dot products).
    var refStore: _ColumnStore
    var poolStore = _ColumnStore(columns: 16)
    /// Scratch for bulk dot products.
    var dotScratch: [Float] = []
    /// Per-record similarity buffers, reused (taken out while a record is processed).
    var simScratch: [Float] = []
    var poolSimScratch: [Float] = []

    /// Gradient space: the references' residuals (`residualStride` floats per reference slot) and the
    /// stored elements' (per pool slot), so the similarity loops read r_i·r_j from flat buffers instead
    /// of copying a `_Point` (and retaining its arrays) per pair. Only used while `residualsFlat`: every
    /// stored point's residual has exactly `residualStride` entries (else the per-pair path is taken).
    var residualStride = 0
    var refResiduals: [Float] = []
    var poolResiduals: [Float] = []
    var residualsFlat = true

    /// Σ w g(θ) of the class at the snapshot in use (`SelectorConfiguration.Weighting.gradientMatch`).
    var gradientSum = _GradientSum()

    /// With a window, references stay whole: expiries compare them with single elements, one at a time.
    let keepsReferenceFeatures: Bool

    init(id: Int, seed: UInt64, referenceSize: Int, keepsReferenceFeatures: Bool = false) {
        self.id = id
        self.keepsReferenceFeatures = keepsReferenceFeatures
        // Columns grow (doubling) with the reservoir: a small class of a wide hashed space (text, 2^13
        // dimensions) would otherwise reserve dimension × referenceSize floats it never fills.
        refStore = _ColumnStore(columns: min(referenceSize, 16))
        // Mix the class id into the seed so classes draw independent, order-free streams.
        var g = SeededGenerator(seed: seed ^ (UInt64(truncatingIfNeeded: id) &* 0xD1B5_4A32_D192_ED03))
        _ = g.next()
        rng = g
    }

    /// Runs `body` on the sieves taken out of the class (one uniquely referenced array: no exclusivity
    /// checks or retains per access) with the bands, which `body` keeps exact or invalidates.
    func withSieves<R>(_ body: (inout [_Sieve], inout _SieveBands) -> R) -> R {
        var b = _SieveBands()
        swap(&b, &bands)
        var s: [_Sieve] = []
        swap(&s, &sieves)
        defer {
            swap(&s, &sieves)  // invalidates the placeholder in `bands`
            swap(&b, &bands)
        }
        return body(&s, &b)
    }

    func insert(_ point: _Point) -> Int {
        let e = _PoolElement(point: point, weight: _Weight(), holders: 0)
        poolCount += 1
        let s: Int
        if let f = freeSlots.popLast() {
            pool[f] = e
            s = f
        } else {
            pool.append(e)
            s = pool.count - 1
        }
        poolStore.set(s, point.record.features, replacing: nil)
        slotOfArrival[point.arrival] = s
        writeResidual(&poolResiduals, s, point.residual)
        return s
    }

    /// Removes a stored element, returning it.
    func remove(_ slot: Int) -> _PoolElement {
        let e = pool[slot]!
        pool[slot] = nil
        freeSlots.append(slot)
        poolCount -= 1
        poolStore.clear(slot, old: e.point.record.features)
        slotOfArrival[e.point.arrival] = nil
        return e
    }

    /// Empties the store.
    func resetPool() {
        pool = []
        freeSlots = []
        poolCount = 0
        poolStore = _ColumnStore(columns: 16)
        slotOfArrival = [:]
        poolResiduals = []
    }

    /// Room for one more reference, grown toward the reservoir's size `target` rather than doubled past it
    /// (by at least an eighth, so a slowly rising target still costs O(1) a reference): the references are
    /// a sample-greedy selector's largest array (80,000 points at census_kdd k = 10,000).
    func reserveReference(target: Int) {
        let n = refPoints.count
        guard n == refPoints.capacity else { return }
        refPoints.reserveCapacity(max(n + 1, min(2 * n, max(target, n + n / 8))))
    }

    func appendReference(_ p: _Point) {
        keepFeaturesIfTheStoreCannot(p.record.features)
        let j = refPoints.count
        refStore.set(j, p.record.features, replacing: nil)
        writeResidual(&refResiduals, j, p.residual)
        refPoints.append(withoutFeatures(p))
        refDensePrefix.append(Self.densePrefixCount(p.record.features))
        refNorms.append(p.gradientNorm2)
    }

    func replaceReference(_ j: Int, with p: _Point) {
        keepFeaturesIfTheStoreCannot(p.record.features)
        if stripsFeatures {
            refStore.clearColumn(j)
            refStore.set(j, p.record.features, replacing: nil)
        } else {
            refStore.set(j, p.record.features, replacing: refPoints[j].record.features)
        }
        writeResidual(&refResiduals, j, p.residual)
        refPoints[j] = withoutFeatures(p)
        refDensePrefix[j] = Self.densePrefixCount(p.record.features)
        refNorms[j] = p.gradientNorm2
    }

    /// Removes reference slot j by moving the last one into it (the caller fixes the sieves' covers).
    func removeReference(_ j: Int) {
        let last = refPoints.count - 1
        if j != last {
            if stripsFeatures {
                refStore.clearColumn(j)
                refStore.moveColumn(from: last, to: j)
            } else {
                refStore.set(j, refPoints[last].record.features, replacing: refPoints[j].record.features)
                refStore.clear(last, old: refPoints[last].record.features)
            }
            writeResidual(&refResiduals, j, refPoints[last].residual)
            refPoints[j] = refPoints[last]
            refDensePrefix[j] = refDensePrefix[last]
            refNorms[j] = refNorms[last]
            if !refPriority.isEmpty { refPriority[j] = refPriority[last] }
        } else if stripsFeatures {
            refStore.clearColumn(last)
        } else {
            refStore.clear(last, old: refPoints[last].record.features)
        }
        refPoints.removeLast()
        refDensePrefix.removeLast()
        refNorms.removeLast()
        if !refPriority.isEmpty { refPriority.removeLast() }
    }

    /// A vector too wide for the matrix turns the store off (per-pair dots from then on): the
    /// references get their features back first, since the matrix held the only copy.
    private func keepFeaturesIfTheStoreCannot(_ x: FeatureVector) {
        guard stripsFeatures, x.dimension > _ColumnStore.maxDimension else { return }
        refPoints = refs
    }

    /// Whether `refPoints` are kept without features (the matrix holds them).
    private var stripsFeatures: Bool { !refStore.disabled && !keepsReferenceFeatures }

    private func withoutFeatures(_ p: _Point) -> _Point {
        guard stripsFeatures else { return p }
        var q = p
        q.record.features = FeatureVector()
        return q
    }

    static func densePrefixCount(_ x: FeatureVector) -> Int32 {
        !x.indices.isEmpty && x.isDensePrefix ? Int32(x.indices.count) : 0
    }

    /// Stores residual `r` at `slot` of a flat buffer (grown as needed).
    @inline(__always)
    func writeResidual(_ buf: inout [Float], _ slot: Int, _ r: [Float]) {
        let k = residualStride
        guard r.count == k else { residualsFlat = false; return }
        guard k > 0 else { return }
        let need = (slot + 1) * k
        if buf.count < need { buf.append(contentsOf: repeatElement(0, count: need - buf.count)) }
        for i in 0..<k { buf[slot * k + i] = r[i] }
    }

    /// Rebuilds the flat residual buffers from `refs` and `pool` (after a re-embedding) with `stride`
    /// floats per point.
    func rebuildResiduals(stride: Int) {
        residualStride = stride
        residualsFlat = true
        refResiduals = []
        poolResiduals = []
        refResiduals.reserveCapacity(refPoints.count * stride)
        for (j, p) in refPoints.enumerated() { writeResidual(&refResiduals, j, p.residual) }
        for s in pool.indices { if let e = pool[s] { writeResidual(&poolResiduals, s, e.point.residual) } }
    }

    /// The offline-greedy records still in the window.
    var liveAll: [_Point] { allHead == 0 ? all : Array(all[allHead...]) }

    /// Drops the expired prefix of `all` for good.
    func compactAll() {
        if allHead > 0 { all.removeFirst(allHead); allHead = 0 }
    }
}
