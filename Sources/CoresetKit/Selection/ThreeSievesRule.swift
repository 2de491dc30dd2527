/// ThreeSieves (Buschjäger, Honysz, Pfahler, Morik, 2020): one sieve whose guess of OPT starts at k·m
/// and drops one level after `patience` rejections in a row (fewer early in the stream), never below m;
/// a record joins when its gain reaches (v/2 − f(S)) / (k − |S|). (1 − ε)(1 − 1/e) with high probability
/// for random order, O(k) stored elements, one gain query per record.
struct _ThreeSievesRule: _SieveRule {
    let patience: Int

    var testsSeveralSieves: Bool { false }

    func levels(m: Double, lowerBound: Double, budget k: Double, grid: _ThresholdGrid) -> (lo: Int, hi: Int) {
        (grid.level(atOrAbove: m), grid.level(atOrBelow: k * m))
    }

    /// One sieve, started at the highest guess; its level only falls (in `decided`), and never below m's.
    func maintains(_ c: _ClassState, levels: (lo: Int, hi: Int)) -> Bool {
        if c.sieves.isEmpty {
            c.sieves = [_Sieve(level: levels.hi, referenceCount: c.refCount)]
        } else if c.sieves[0].level < levels.lo {
            c.sieves[0].level = levels.lo
        }
        return true
    }

    func bar(threshold v: Double, value f: Double, size: Int, cap: Int) -> Double {
        (v / 2 - f) / Double(cap - size)
    }

    func accepts(gain g: Double, bar: Double, threshold v: Double, value f: Double, size: Int, lowerBound: Double) -> Bool {
        g >= bar
    }

    func decided(_ accepted: Bool, sieve: inout _Sieve, in c: _ClassState, ordinal: Int, cap: Int, grid: _ThresholdGrid) {
        if accepted {
            c.rejections = 0
            return
        }
        c.rejections += 1
        let levels = Int(Foundation_log(Double(cap)) / grid.step) + 1
        if c.rejections >= min(patience, max(1, ordinal / levels)) {
            c.rejections = 0
            let lowest = grid.level(atOrAbove: c.m)
            if sieve.level > lowest { sieve.level -= 1 }
        }
    }

    func storeBound(budget k: Int, grid: _ThresholdGrid) -> Int { k }
}
