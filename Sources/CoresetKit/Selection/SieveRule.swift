/// The threshold grid (1 + ε)^i the sieves' guesses live on.
struct _ThresholdGrid {
    let epsilon: Double
    /// ln(1 + ε).
    let step: Double

    init(epsilon: Double) {
        self.epsilon = epsilon
        step = Foundation_log(1 + epsilon)
    }

    func level(atOrAbove v: Double) -> Int { Int((Foundation_log(v) / step - 1e-9).rounded(.up)) }
    func level(atOrBelow v: Double) -> Int { Int((Foundation_log(v) / step + 1e-9).rounded(.down)) }
    func threshold(_ level: Int) -> Double { Foundation_exp(Double(level) * step) }
}

/// What tells one streaming sieve algorithm from another (`SelectorConfiguration.Algorithm`'s sieves).
///
/// `CoresetSelector` runs every sieve algorithm the same way (the covers of the references, the band
/// bounds that reject without a pass, the shared store and its weights); a rule says which guesses
/// (threshold levels) live, what gain a sieve demands of a record, and what follows a decision. A new
/// sieve algorithm is one type implementing this, in a file of its own, and a case of `Algorithm`.
protocol _SieveRule {
    /// Whether a record is tested against several sieves, so that a band's minimum cover pays.
    var testsSeveralSieves: Bool { get }

    /// The lowest and highest level class c's sieves must cover (hi may fall below lo: then lo alone):
    /// from its largest singleton value `m`, the best value a sieve reached (`lowerBound`) and its budget `k`.
    func levels(m: Double, lowerBound: Double, budget k: Double, grid: _ThresholdGrid) -> (lo: Int, hi: Int)

    /// Keeps the class's sieves at `levels` itself instead of one sieve per level; returns whether it did.
    func maintains(_ c: _ClassState, levels: (lo: Int, hi: Int)) -> Bool

    /// The gain a sieve (threshold `v`, value `f`, `size` members of `cap`) demands of a record: one
    /// whose gain is bounded below it is rejected without computing the gain.
    func bar(threshold v: Double, value f: Double, size: Int, cap: Int) -> Double

    /// Whether a record of gain `g` (> 0, not rejected by `bar`'s bounds) joins the sieve.
    func accepts(gain g: Double, bar: Double, threshold v: Double, value f: Double, size: Int, lowerBound: Double) -> Bool

    /// What follows the decision on `sieve` for the class's `ordinal`-th record.
    func decided(_ accepted: Bool, sieve: inout _Sieve, in c: _ClassState, ordinal: Int, cap: Int, grid: _ThresholdGrid)

    /// The most elements the class's sieves hold at once when its budget was at most `k`.
    func storeBound(budget k: Int, grid: _ThresholdGrid) -> Int
}

extension _SieveRule {
    var testsSeveralSieves: Bool { true }
    func maintains(_ c: _ClassState, levels: (lo: Int, hi: Int)) -> Bool { false }
    func decided(_ accepted: Bool, sieve: inout _Sieve, in c: _ClassState, ordinal: Int, cap: Int, grid: _ThresholdGrid) {}
}

extension SelectorConfiguration {
    /// The rule of a sieve algorithm; nil for greedy and sample-greedy, which keep no sieves.
    var sieveRule: (any _SieveRule)? {
        switch algorithm {
        case .sieveStreaming: return _SieveStreamingRule()
        case .sieveStreamingPlusPlus: return _SieveStreamingPlusPlusRule()
        case .threeSieves: return _ThreeSievesRule(patience: threeSievesPatience)
        case .greedy, .sampleGreedy: return nil
        }
    }
}
