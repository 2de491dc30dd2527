/// Sieve-Streaming++ (Kazemi, Mitrovic, Zadimoghaddam, Lattanzi, Karbasi, ICML 2019): a sieve per
/// threshold τ from LB/(2k) to m, LB the best value any sieve reached, each taking a record whose gain
/// reaches τ while |S_τ| <= LB/τ: 1/2 − ε, O(k / ε) stored elements.
struct _SieveStreamingPlusPlusRule: _SieveRule {
    func levels(m: Double, lowerBound: Double, budget k: Double, grid: _ThresholdGrid) -> (lo: Int, hi: Int) {
        let tauMin = max(lowerBound, m) / (2 * k)
        return (grid.level(atOrAbove: tauMin / (1 + grid.epsilon)), grid.level(atOrBelow: m))
    }

    func bar(threshold v: Double, value f: Double, size: Int, cap: Int) -> Double { v }

    func accepts(gain g: Double, bar: Double, threshold v: Double, value f: Double, size: Int, lowerBound: Double) -> Bool {
        // The size cap |S_τ| <= LB/τ is what bounds the store by O(k/ε); it only binds when a reservoir
        // replacement lowered f(S_τ) below |S_τ| τ.
        g >= v && Double(size + 1) * v <= max(lowerBound, f + g)
    }

    func storeBound(budget k: Int, grid: _ThresholdGrid) -> Int {
        let eps = grid.epsilon
        return k * (Int(Foundation_log(2 * (1 + eps)) / grid.step) + 2) + Int((Double(k) * (1 + eps) / eps).rounded(.up))
    }
}
