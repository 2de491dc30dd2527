/// Sieve-Streaming (Badanidiyuru, Mirzasoleiman, Karbasi, Krause, KDD 2014): a sieve per guess v of OPT
/// in [m, k·m], each taking a record whose gain reaches (v/2 − f(S)) / (k − |S|): 1/2 − ε,
/// O(k log k / ε) stored elements, O(log k / ε) gain queries per record.
struct _SieveStreamingRule: _SieveRule {
    func levels(m: Double, lowerBound: Double, budget k: Double, grid: _ThresholdGrid) -> (lo: Int, hi: Int) {
        (grid.level(atOrAbove: m), grid.level(atOrBelow: k * m))
    }

    func bar(threshold v: Double, value f: Double, size: Int, cap: Int) -> Double {
        (v / 2 - f) / Double(cap - size)
    }

    func accepts(gain g: Double, bar: Double, threshold v: Double, value f: Double, size: Int, lowerBound: Double) -> Bool {
        g >= bar
    }

    func storeBound(budget k: Int, grid: _ThresholdGrid) -> Int {
        k * (Int(Foundation_log(Double(k)) / grid.step) + 2)
    }
}
