/// Everything that decides what a `CoresetSelector` keeps.
///
/// A configuration is a plain value: the same configuration, task and record sequence always give
/// the same coreset, whatever the batch boundaries (see `CoresetSelector`).
public struct SelectorConfiguration: Sendable, Hashable {
    /// The maximisation algorithm.
    public enum Algorithm: String, Sendable, CaseIterable, Hashable {
        /// Sieve-Streaming (Badanidiyuru, Mirzasoleiman, Karbasi, Krause, KDD 2014):
        /// 1/2 - ε, O(k log k / ε) stored elements, O(log k / ε) gain queries per record.
        case sieveStreaming = "sieve"
        /// Sieve-Streaming++ (Kazemi, Mitrovic, Zadimoghaddam, Lattanzi, Karbasi, ICML 2019):
        /// 1/2 - ε, O(k / ε) stored elements.
        case sieveStreamingPlusPlus = "sieve++"
        /// ThreeSieves (Buschjäger, Honysz, Pfahler, Morik, 2020): one sieve, O(k) stored elements,
        /// O(1) gain queries per record; (1 - ε)(1 - 1/e) with high probability for random order.
        case threeSieves = "three-sieves"
        /// Offline lazy greedy (Minoux 1978) on every record, as in CRAIG (Mirzasoleiman et al., ICML 2020).
        /// Keeps the whole stream in memory: 1 - 1/e, the reference for quality.
        case greedy
        /// Lazy greedy on each class's uniform reservoir, run when the coreset is read out
        /// (`CoresetSelector+SampleGreedy`): O(1) per record (a reservoir draw and the class's weight
        /// sums), so the stream is read at about the speed of parsing; the facility location is
        /// maximised over the reservoir (ground set = candidates), split into cells of nearby
        /// references when it is large, so a read-out costs O(R · min(R, cell)) similarities.
        case sampleGreedy = "sample-greedy"
    }

    /// The similarity s(i, j) >= 0 inside the facility-location objective.
    public enum Similarity: Sendable, Hashable {
        /// CRAIG's s = max(0, D - d(i, j)) with d the (non-squared) Euclidean distance and D fixed
        /// after the warm-up (the largest pairwise distance among the warm-up records).
        case euclidean
        /// s = (1 + cos(i, j)) / 2, in [0, 1]; no scale.
        case cosine
        /// s = exp(-γ d(i, j)²). `nil` fixes γ after the warm-up as 1 / (mean squared pairwise distance).
        case rbf(gamma: Double?)
        /// Cosine that saturates: s = min(1, max(0, cos) / τ) for `threshold` τ in (0, 1] (with 2% of
        /// max(0, cos) added back, so that among saturated elements one is still the most similar and gets
        /// the weight). A record whose cosine to a chosen element reaches τ counts as fully represented,
        /// so the budget goes to what is not represented yet instead of to finer variants of what is: a
        /// summary that covers more kinds (measured on log lines, tools/bench_logs/RESULTS.md). Unlike
        /// `cosine` it has no floor of 1/2 for orthogonal records (for non-negative features such as
        /// hashed text, cos >= 0 and that floor would waste half the range). Still a facility location.
        case saturatedCosine(threshold: Double)
    }

    /// The space the distances are measured in.
    public enum Space: String, Sendable, CaseIterable, Hashable {
        /// Raw features (CRAIG's convex recipe).
        case feature
        /// Loss gradients at the latest model snapshot (`CoresetSelector.updateModel(_:)`). Until a
        /// snapshot with `version > 0` arrives this is per-class feature space.
        case gradient
    }

    /// How the total budget `k` is shared across classes.
    public enum BudgetSplit: String, Sendable, CaseIterable, Hashable {
        /// In proportion to class frequency (CRAIG), by largest remainders so the shares sum to `k`.
        case proportional
        /// Equally, the remainder going to the lowest class ids.
        case equal
    }

    /// How the elements' weights are set at read-out.
    public enum Weighting: String, Sendable, CaseIterable, Hashable {
        /// CRAIG's: each record's weight to its most similar element (`CoresetSelector`'s cells).
        case nearest
        /// Gradient space: CRAIG's weights, then fitted to the whole gradient at the model, from the
        /// classes' gradient sums kept as the stream flows, each class keeping its total (GRAD-MATCH's
        /// weight step, see `_GradientSum`). Feature space, a
        /// window, or a class too wide for the sum (K · dimension above 2^21) keep `nearest`.
        case gradientMatch = "gradient-match"
    }

    /// Which record stands for each chosen element's cell in the output.
    public enum Representatives: String, Sendable, CaseIterable, Hashable {
        /// The elements facility location chooses: each cell's medoid (CRAIG's coreset, what gradient
        /// approximation and replay want).
        case medoids
        /// `sampleGreedy`: each chosen element is replaced by a record drawn from its cell (by input
        /// weight, among the reservoir's references the element represents), with the cell's weight:
        /// a sample stratified by the facility-location cells, unbiased for any learner. Medoids with
        /// large weights mislead learners that fit local label rates (boosted trees): on adult and magic
        /// at 1% and 10%, gradient boosting scored worse on the medoids than on a uniform sample, and no
        /// worse on drawn members (tools/bench_downstream).
        case sampled
    }

    /// Total number of elements in the coreset.
    public var k: Int
    public var algorithm: Algorithm
    /// Step of the geometric threshold grid (1 + ε)^i; the guarantee loses ε.
    public var epsilon: Double
    /// ThreeSieves' patience T: consecutive rejections before the guess is lowered one step.
    /// The patience actually used by class c is `min(T, max(1, n_c / L))` where n_c is the number of
    /// records of the class seen so far and L the number of grid steps between m and k·m, so a small
    /// class can still walk the whole grid (a 6,000-record class with T = 1000 cannot).
    public var threeSievesPatience: Int
    public var similarity: Similarity
    public var space: Space
    public var budgetSplit: BudgetSplit
    /// Smallest size R of the per-class reference reservoir: the ground set the objective is measured
    /// on while streaming. A class's reservoir holds max(R, `referenceFactor` · k_c) records, with k_c
    /// the class's share of k (its largest share once its sieves started), so it stays larger than the
    /// budget it is chosen for; if it were about the budget, selecting the reference rows themselves
    /// would be optimal and selection would degenerate to random-like picks.
    public var referenceSize: Int
    /// Reference records per element of a class's budget: the reservoir of class c holds
    /// max(`referenceSize`, `referenceFactor` · k_c) records (2 by default), so a class's candidates at
    /// read-out (its references and stored elements) are never fewer than its budget and the coreset
    /// has k elements whenever every class sent at least its share. Memory and time per record grow with
    /// it: in total at most Σ_c max(R, f · k_c) references, O(k) for a fixed number of classes. A larger
    /// factor (4-10) measures the objective on more references per element, which helps quality when
    /// budgets are large, but the time per record of a class grows about linearly with its reservoir and
    /// faster once the reference matrix leaves the cache (census_kdd at k = 1995: 2.5x the time of
    /// `referenceSize` alone with 2, about 25x with 4). 0 keeps every reservoir at `referenceSize` (then a class
    /// whose budget exceeds R yields fewer elements).
    public var referenceFactor: Int
    /// Number of first records of the stream from which the similarity scale (D, or γ for RBF) is
    /// fixed. Clamped to `referenceSize`.
    public var warmUp: Int
    /// If set, the coreset represents the last `window` records of the stream: older elements and
    /// references expire and the weight of older records leaves the coreset, so per class the coreset's
    /// total weight is the input weight of the class's records among the last `window` (see
    /// `CoresetSelector+Window`). Costs 12 bytes per record of the window (its class and weight) plus
    /// the reference candidates, R (1 + ln(n_w / R)) records per class in expectation.
    public var window: Int?
    /// If set, input weights decay by half every `halfLife` records (by stream arrival order).
    public var halfLife: Double?
    /// Gradient space: re-select when the relative change of the reference gradients,
    /// sqrt(Σ‖g_new − g_old‖²) / sqrt(Σ‖g_old‖²) over the reference reservoir, exceeds this
    /// (0.1, like CREST's 10% loss-prediction gap). The first trained snapshot always re-selects.
    public var reselectionThreshold: Double
    /// Gradient space: after a re-selection at record n, the next one waits for at least
    /// `reselectionSpacing · n` more records (capped at `reselectionSpacing` times the window or the
    /// half-life when one is set), so a stream of n records re-selects O(log n) times, not once per
    /// snapshot while the model is young. 1 (the default) allows one per doubling of the stream: on
    /// mnist (20,000 records, k = 2,000) the rule cut `coreset run`'s re-selections from 19 to 4 (see CHANGELOG);
    /// 0 re-selects whenever the threshold is passed.
    public var reselectionSpacing: Double
    /// Seed of the reservoir sampling.
    public var seed: UInt64
    /// Independent selectors the stream is dealt to, round-robin by arrival, each with k/shards of the
    /// budget; the coreset is the union of their picks, with every shard's weight moved onto the whole
    /// union (`CoresetSelector+Shards`), so weights stay exact per class. 1 (the default) is one
    /// selector. Why: a class's per-record cost grows with its reference reservoir, which grows with its
    /// budget (`referenceFactor`), so one selector at a large k is slow (census_kdd
    /// at k = 19,952: 475 records/s, 589 s), while g shards cost what selectors of k/g cost (10 shards:
    /// 45 s). The price is quality: each shard picks from its own records only. Measured on census_kdd at
    /// k = 5,000 near the optimum (nearest weights), the gradient error relative to the full gradient was 1.34 with one
    /// selector, 1.41 with 2 shards and 1.84 with 10 (1.52 and 2.30 when each shard kept its own
    /// weights), against 1.5-1.6 for uniform random subsets (CHANGELOG). Use it when one selector cannot
    /// keep up.
    public var shards: Int
    public var weighting: Weighting
    /// Candidate screen. Once a class's sieves have started, a record of the class that its reference
    /// reservoir does not take is offered to the sieves only with probability min(1, F · R_c / n_c), F
    /// this factor, R_c the class's reservoir size and n_c its records so far (a fixed hash of the seed and
    /// the arrival decides, so the output does not depend on how the input is cut). A record that is
    /// not offered still counts, at O(1): its weight joins the class's pending weight, which the
    /// read-out splits like the references' nearest choices (an estimate of CRAIG's cell counts from a
    /// uniform sample), so per-class totals stay exact. Why: 99.9% of sieve tests reject, and each
    /// costs a pass over the R_c references; the offered records form a sample at least as dense as a
    /// uniform sample of F · R_c records at every point of the stream (F · R_c (1 + ln(n_c / (F R_c))) in
    /// all). 0 offers every record. A window or a half-life offers every record.
    /// The default, 8, is the smallest factor measured to keep sieve++'s objective and gradient error
    /// within the seed spread of offering every record (tools/bench_selection, census_kdd and mnist, k = 100
    /// and 1000, three seeds; 2 and 4 lost objective on census_kdd at k = 1000; docs/selection-cost.md).
    public var candidateFactor: Double
    /// `sampleGreedy`: most references one greedy sees. A class's reservoir larger than this is split
    /// into cells of nearby references, each choosing its share of the budget
    /// (`CoresetSelector+SampleGreedy`): a read-out then costs O(R · cellSize) similarities instead of
    /// O(R²), and memory O(cellSize²) floats. Read-out only: not part of the selector's state.
    public var cellSize: Int
    /// What the output holds for each chosen element. Read-out only: not part of the selector's state.
    public var representatives: Representatives = .medoids

    public init(
        k: Int,
        algorithm: Algorithm = .sieveStreamingPlusPlus,
        epsilon: Double = 0.1,
        threeSievesPatience: Int = 500,
        similarity: Similarity = .euclidean,
        space: Space = .gradient,
        budgetSplit: BudgetSplit = .proportional,
        referenceSize: Int? = nil,
        referenceFactor: Int? = nil,
        warmUp: Int = 500,
        window: Int? = nil,
        halfLife: Double? = nil,
        reselectionThreshold: Double = 0.1,
        reselectionSpacing: Double = 1,
        seed: UInt64 = 0,
        shards: Int = 1,
        weighting: Weighting = .gradientMatch,
        candidateFactor: Double = SelectorConfiguration.defaultCandidateFactor,
        cellSize: Int = SelectorConfiguration.defaultCellSize
    ) {
        self.k = k
        self.algorithm = algorithm
        self.epsilon = epsilon
        self.threeSievesPatience = threeSievesPatience
        self.similarity = similarity
        self.space = space
        self.budgetSplit = budgetSplit
        self.referenceSize = referenceSize ?? Self.defaultReferenceSize(algorithm)
        self.referenceFactor = referenceFactor ?? Self.defaultReferenceFactor(algorithm)
        self.warmUp = warmUp
        self.window = window
        self.halfLife = halfLife
        self.reselectionThreshold = reselectionThreshold
        self.reselectionSpacing = reselectionSpacing
        self.seed = seed
        self.shards = shards
        self.weighting = weighting
        self.candidateFactor = candidateFactor
        self.cellSize = cellSize
    }

    /// The default `candidateFactor`.
    public static let defaultCandidateFactor = 8.0

    /// The default `cellSize`. Cells of 256, 512 and 1024 references gave census_kdd (k = 1000) and mnist
    /// objectives within about 1% of each other (2.28-2.48% and 3.39-3.85% above uniform samples, reservoir
    /// factor 4); 512 is the middle, and a read-out costs half what 1024 does (docs/selection-cost.md).
    public static let defaultCellSize = 512

    /// The default `referenceSize`: 1000 for the sieves, whose time per record grows with it; 2000 for
    /// sample-greedy, whose reading does not (a larger ground set measures the objective better: census_kdd
    /// at k = 1000, facility location 1.1%, 2.3% and 3.9% above uniform samples with reservoirs of 2, 4
    /// and 8 references per element, sieve++ 1.9%; at k = 100, mnist 8.3% with 2000 and 8.6% with 4000
    /// for 2.8 times the read-out time, sieve++ 7.0%; tools/bench_selection/sample_greedy_grid.py).
    public static func defaultReferenceSize(_ algorithm: Algorithm) -> Int { algorithm == .sampleGreedy ? 2000 : 1000 }

    /// The default `referenceFactor`: 2 for the sieves, 8 for sample-greedy (see `defaultReferenceSize`).
    public static func defaultReferenceFactor(_ algorithm: Algorithm) -> Int { algorithm == .sampleGreedy ? 8 : 2 }

    /// The configuration of shard `s` of `shards`: k/g of the budget (the remainder to the first
    /// shards), the window and half-life in the shard's own records (it gets every g-th record: the
    /// last N records of the stream are the last ⌈N/g⌉ of each shard, give or take one), its own seed.
    public func shardConfiguration(_ s: Int) -> SelectorConfiguration {
        let g = shards
        var c = self
        c.shards = 1
        c.k = k / g + (s < k % g ? 1 : 0)
        c.window = window.map { ($0 + g - 1) / g }
        c.halfLife = halfLife.map { $0 / Double(g) }
        var mix = SeededGenerator(seed: seed ^ (UInt64(s) &* 0x9E37_79B9_7F4A_7C15))
        c.seed = s == 0 ? seed : mix.next()
        return c
    }

    /// Checks the rules that span fields; returns a message for the first violation, or nil.
    /// Largest k, patience, reference size and warm-up accepted: 2^31.
    public static let maxK = 1 << 31
    /// Largest window accepted: 2^40 records.
    public static let maxWindow = 1 << 40
    /// Largest number of shards accepted.
    public static let maxShards = 4096

    public func validationError() -> String? {
        // Upper bounds keep every size computed from the options (class shares, sieve grids, window
        // arithmetic) far from Int's range: beyond them the options used to trap, not fail.
        if !(1...Self.maxK).contains(k) { return "k must be in 1...\(Self.maxK) (2^31)" }
        if !(epsilon >= 1e-6 && epsilon < 1) { return "epsilon must be in [0.000001, 1)" }
        if !(1...Self.maxK).contains(threeSievesPatience) { return "the ThreeSieves patience must be in 1...\(Self.maxK)" }
        if !(1...Self.maxK).contains(referenceSize) { return "the reference size must be in 1...\(Self.maxK)" }
        if referenceFactor < 0 || referenceFactor > 1000 { return "the reference factor must be in 0...1000" }
        if !(2...Self.maxK).contains(warmUp) { return "the warm-up must be in 2...\(Self.maxK) records" }
        if let w = window, !(1...Self.maxWindow).contains(w) { return "the window must be in 1...\(Self.maxWindow) (2^40) records" }
        if let h = halfLife, !(h > 0) { return "the half-life must be positive" }
        if case .rbf(let g?) = similarity, !(g > 0) { return "the RBF gamma must be positive" }
        if case .saturatedCosine(let t) = similarity, !(t > 0 && t <= 1) { return "the saturation threshold must be in (0, 1]" }
        if !(reselectionSpacing >= 0 && reselectionSpacing.isFinite) { return "the re-selection spacing must be a non-negative number" }
        if window != nil && halfLife != nil { return "use either a window or a half-life, not both" }
        if shards < 1 || shards > min(k, Self.maxShards) { return "the number of shards must be in 1...k (and at most \(Self.maxShards))" }
        if !(candidateFactor >= 0 && candidateFactor.isFinite) { return "the candidate factor must be a non-negative number" }
        if !(2...(1 << 15)).contains(cellSize) { return "the cell size must be in 2...32768 references" }
        // Its reservoir is Algorithm R's and its weights one sum per class: nothing expires or decays.
        if representatives == .sampled && (algorithm != .sampleGreedy || shards > 1) {
            return "sampled representatives are drawn by sample-greedy's read-out: use --algorithm sample-greedy (the default) and one shard"
        }
        if algorithm == .sampleGreedy && (window != nil || halfLife != nil) {
            return "sample-greedy keeps no window or half-life: use --algorithm sieve++ (the default with them)"
        }
        return nil
    }
}
