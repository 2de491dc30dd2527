/// One threshold sieve: a partial solution with its coverage of the reference set.
struct _Sieve {
    /// Grid level i: the threshold (OPT guess v for Sieve-Streaming/ThreeSieves, τ for ++) is (1 + ε)^i.
    var level: Int
    /// Pool slots of the members, in order of acceptance.
    var members: [Int] = []
    /// cover[r] = max over members j of s(ref r, j) (0 when empty).
    var cover: [Float]
    /// f(S) = Σ cover.
    var value: Double = 0
}

/// An element kept by at least one sieve, with the weight it stands for.
struct _PoolElement {
    var point: _Point
    /// Input weight assigned to it (in half-life-scaled units).
    var weight: Double
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
    var rng: _SplitMix64

    /// The reference reservoir: a uniform sample (Vitter's Algorithm R) of the class's records, the
    /// ground set the gains are measured on. While it fills it holds every record of the class, in order.
    var refs: [_Point] = []
    /// True once the reservoir has filled and its records were replayed through the sieves.
    var started = false

    var pool: [_PoolElement?] = []
    var freeSlots: [Int] = []
    var poolCount = 0
    var sieves: [_Sieve] = []
    /// Largest singleton value f({e}) seen (m in the papers).
    var m = 0.0
    /// Sieve-Streaming++'s lower bound LB = max over time of max_v f(S_v).
    var lowerBound = 0.0
    /// Weight that arrived while the pool was empty.
    var pending = 0.0
    /// Sieve capacity (the class's share of k at the last record) and its historical maximum.
    var capacity = 1
    var maxCapacity = 1
    /// ThreeSieves' count of consecutive rejections.
    var rejections = 0
    /// Offline greedy: every record of the class.
    var all: [_Point] = []

    /// The references' and stored elements' features as matrix columns (bulk dot products).
    var refStore: _ColumnStore
    var poolStore = _ColumnStore(columns: 64)
    /// Scratch for bulk dot products.
    var dotScratch: [Float] = []

    init(id: Int, seed: UInt64, referenceSize: Int) {
        self.id = id
        refStore = _ColumnStore(columns: referenceSize)
        // Mix the class id into the seed so classes draw independent, order-free streams.
        var g = _SplitMix64(seed: seed ^ (UInt64(truncatingIfNeeded: id) &* 0xD1B5_4A32_D192_ED03))
        _ = g.next()
        rng = g
    }

    func insert(_ point: _Point) -> Int {
        let e = _PoolElement(point: point, weight: 0, holders: 0)
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
        return s
    }

    /// Removes a stored element, returning it.
    func remove(_ slot: Int) -> _PoolElement {
        let e = pool[slot]!
        pool[slot] = nil
        freeSlots.append(slot)
        poolCount -= 1
        poolStore.clear(slot, old: e.point.record.features)
        return e
    }

    /// Empties the store.
    func resetPool() {
        pool = []
        freeSlots = []
        poolCount = 0
        poolStore = _ColumnStore(columns: 64)
    }

    func appendReference(_ p: _Point) {
        refStore.set(refs.count, p.record.features, replacing: nil)
        refs.append(p)
    }

    func replaceReference(_ j: Int, with p: _Point) {
        refStore.set(j, p.record.features, replacing: refs[j].record.features)
        refs[j] = p
    }
}
