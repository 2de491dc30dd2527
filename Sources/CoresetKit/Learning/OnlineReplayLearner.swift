/// How online + replay draws records from the memory. (`ReplaySampling` is the plain learner's
/// SAGA/SVRG rule; both of its cases are unbiased for the weighted risk, `classUniform` and `sqrtWeight` here are not.)
public enum ReplayDraw: String, Sendable, Codable, Hashable, CaseIterable {
    /// Element j with probability γ_j / Γ: replay estimates the memory's weighted risk (CRAIG's
    /// recipe, unbiased for the coreset's estimate of the stream).
    case weight
    /// A class with probability Γ_c / Γ (its share of the stream), then an element of that class
    /// uniformly. The stream's class priors are kept, and every element the selector chose is
    /// replayed as often as the others of its class. Why: a gradient-space coreset's weights
    /// concentrate on the few elements that stand for the many well-fitted records (mnist, k =
    /// 2,000: effective sample size (Σγ)²/Σγ² = 71), so weight sampling replays about 71 distinct
    /// records; class-uniform replays all 2,000 diverse ones. For a uniform reservoir (weights n/k)
    /// both rules are the same.
    case classUniform = "class-uniform"
    /// A class with probability Γ_c / Γ, then element j of it with probability ∝ √γ_j: between
    /// `weight` (which over-replays the few heavy elements) and `classUniform` (which under-replays
    /// them when a class has only a few elements). Biased, as `classUniform` is. Measured in
    /// lockstep on the first 20,000 mnist records (docs/learning.md, "Replay draws"), it was the only draw
    /// that beat the uniform reservoir at both k = 1% and 10% on every seed; on census_kdd it lost.
    case sqrtWeight = "sqrt-weight"
}

/// Settings of an `OnlineReplayLearner`.
public struct OnlineReplayConfiguration: Sendable, Codable, Hashable {
    /// Loss, L2, seed, and `schedule`, read as the step budget η(t) of the t-th arriving record
    /// (t counts arrivals, not steps). The optimizer must be `.sgd`.
    public var learner: LearnerConfiguration
    /// ω: weight of one replay step relative to the online step in an arrival's budget. With R
    /// replay steps per arrival the online step gets `η / (1 + ωR)` and each replay step `ωη / (1 + ωR)`.
    /// 1 (the default) gives every step the same size; 0 turns replay off.
    public var replayWeight: Double
    /// Arrivals over which the replay rate R̂ (replay steps per arrival) is averaged.
    public var rateWindow: Int
    /// Replay steps per arrival beyond this count as idle replay (they advance the virtual clock,
    /// see `OnlineReplayLearner.replayStepSize(afterArrival:)`), so a long quiet spell does not
    /// shrink the steps of the arrivals after it.
    public var maxReplayRate: Double
    /// How replay draws from the memory (`.weight` unless set).
    public var replayDraw: ReplayDraw = .weight

    enum CodingKeys: String, CodingKey { case learner, replayWeight, rateWindow, maxReplayRate, replayDraw }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        learner = try c.decode(LearnerConfiguration.self, forKey: .learner)
        replayWeight = try c.decode(Double.self, forKey: .replayWeight)
        rateWindow = try c.decode(Int.self, forKey: .rateWindow)
        maxReplayRate = try c.decode(Double.self, forKey: .maxReplayRate)
        // Files written before the option existed replayed by weight.
        replayDraw = try c.decodeIfPresent(ReplayDraw.self, forKey: .replayDraw) ?? .weight
    }

    public init(learner: LearnerConfiguration, replayWeight: Double = 1, rateWindow: Int = 100, maxReplayRate: Double = 16) {
        precondition(learner.optimizer == .sgd, "online + replay uses plain SGD steps")
        precondition(replayWeight >= 0 && rateWindow >= 1 && maxReplayRate >= 0)
        self.learner = learner
        self.replayWeight = replayWeight
        self.rateWindow = rateWindow
        self.maxReplayRate = maxReplayRate
    }

    /// The task's default learner (SGD, `0.2 / sqrt(1 + t/1000)` per arrival, λ = 1e-5).
    public init(task: TaskKind) {
        self.init(learner: LearnerConfiguration(task: task))
    }
}

/// The "online + replay" learner of issue 4: every arriving record is scored (progressive
/// validation) and then gets one online step; between arrivals the learner replays a bounded
/// weighted memory (the current coreset), drawing element j with probability γ_j / Γ.
///
/// **Step sizes: one budget per arrival, shared.** Arrival t comes with the step budget η_t of the
/// online schedule (indexed by arrivals). The online step and the R replay steps taken for it share
/// that budget: the online step gets `η_t / (1 + ωR)`, each replay step `ω η_t / (1 + ωR)` (ω =
/// `replayWeight`, 1 by default), so the expected drift per arrival is
/// `η_t [∇ℓ_new + ωR ∇M(w)] / (1 + ωR)`, where `M(w) = Σ_j (γ_j/Γ) ℓ_j(w) + λ/2 |w|²` is the
/// memory's estimate of the risk over the whole stream seen (coreset weights sum to the records
/// seen). Replay therefore averages each arrival's gradient with R draws from the memory: at equal
/// drift per arrival the gradient noise falls by up to 1 + R, and the price is a bias of
/// `ωR / (1 + ωR)` times the memory's gradient error `∇M - ∇F` along the path the replay takes —
/// not only at the point where the memory was chosen. Measured on adult and census_kdd
/// (tools/replay_study, R = 4, ω = 1) the price exceeded the gain: at k = 1% uniform replay was worse
/// than one pass, and the gradient-space coreset worse still, because its weights concentrate on a
/// few low-gradient elements (top 10 of 3,256 held 68% of the weight on adult), so M matches F to
/// first order at the selection point only. Smaller ω trades bias for noise (ω → 0 is one pass). Why not give replay steps the online schedule's step? Then every replay step adds
/// a full online step's drift and noise: with R = 4 the noise per arrival is about 5× (√5× per unit
/// of progress under a 1/√t schedule), and the model follows the memory's optimum, not the
/// stream's — that is what made uniform replay of 326 records worse than one pass on adult.
///
/// R is measured, not configured: R̂ is a running mean (window `rateWindow`, each arrival's count
/// capped at `maxReplayRate`) of the replay steps taken per arrival, so a pipeline that replays
/// whenever it has time gets the right split. Replay steps beyond R̂ after an arrival (idle input)
/// continue the schedule on a virtual clock, one arrival per `1 + ωR̂` steps, so endless replay
/// decays like the schedule and settles at the memory's optimum instead of drifting with a constant
/// step (with no arrivals at all, replay is plain SGD on the memory with the schedule: the
/// coreset-only mode). Without a memory replay does nothing and the learner is exactly one-pass
/// online SGD with the configured schedule.
///
/// Replay gradients are scaled by the mean input weight of the stream seen (1 for unweighted input),
/// so a replay draw and an online record estimate the same thing.
///
/// Not thread-safe (a value type owned by one task); share `snapshot()` results.
public struct OnlineReplayLearner: Sendable {
    public let configuration: OnlineReplayConfiguration
    /// The underlying model and counters (for evaluation, prediction and persistence).
    public internal(set) var learner: Learner
    /// Records observed (online steps).
    public internal(set) var arrivals: Int = 0
    /// Replay steps taken in all.
    public internal(set) var replayStepCount: Int = 0
    /// Replay steps taken since the last arrival.
    public internal(set) var replayStepsSinceArrival: Int = 0
    /// R̂: running mean of replay steps per arrival.
    public internal(set) var replayRate: Double = 0
    /// Sum of step sizes applied (online and replay): the total drift budget spent.
    public internal(set) var totalStepSize: Double = 0

    var memory = RecordBatch()
    var sampler: WeightedSampler?
    var rng: SeededGenerator
    /// Replay steps since the memory was last replaced.
    var stepsOnMemory = 0

    public init(configuration: OnlineReplayConfiguration) {
        self.configuration = configuration
        learner = Learner(configuration: configuration.learner)
        rng = SeededGenerator(seed: configuration.learner.seed ^ 0x0A11_CE5E_ED00_0001)
    }

    public init(task: TaskKind) { self.init(configuration: OnlineReplayConfiguration(task: task)) }

    /// Continues training a saved learner: its arrivals so far set the schedule's position.
    public init(resuming learner: Learner, replayWeight: Double = 1, draw: ReplayDraw = .weight) {
        var c = OnlineReplayConfiguration(learner: learner.configuration, replayWeight: replayWeight)
        c.replayDraw = draw
        self.init(configuration: c)
        self.learner = learner
        self.arrivals = learner.examplesSeen
    }

    // MARK: Step sizes

    /// η_t: the budget of the current arrival (of the next one before any arrival).
    public var arrivalBudget: Double {
        configuration.learner.schedule.rate(at: max(arrivals - 1, 0))
    }

    /// Step size the next online step will take (with the current R̂).
    public var nextOnlineStepSize: Double {
        configuration.learner.schedule.rate(at: arrivals) / (1 + configuration.replayWeight * min(replayRate, configuration.maxReplayRate))
    }

    /// Step size of the j-th replay step (1-based) after the latest arrival t: `ω η_t / (1 + ωR̂)` for
    /// j <= R̂; beyond that (idle input) the steps continue the schedule on a virtual clock that
    /// advances one arrival per `1 + ωR̂` extra steps, `ω η(t + (j - R̂)/(1 + ωR̂)) / (1 + ωR̂)`.
    /// - Complexity: O(1).
    public func replayStepSize(afterArrival j: Int) -> Double {
        let omega = configuration.replayWeight
        let rate = min(replayRate, configuration.maxReplayRate)
        let share = 1 + omega * rate
        let excess = max(0, Double(j) - rate)
        let t = Double(max(arrivals - 1, 0)) + excess / share
        return omega * configuration.learner.schedule.rate(at: Int(t)) / share
    }

    // MARK: Online

    /// Scores a record with the current model, then takes one online step on it.
    /// - Returns: the score before the step (progressive validation).
    /// - Complexity: O(nnz · K), no allocation (amortised; the model grows with new features).
    @discardableResult
    public mutating func observe(_ record: Record) -> Scored {
        let x = record.features
        return x.indices.withUnsafeBufferPointer { ix in
            x.values.withUnsafeBufferPointer { vx in
                observe(indices: ix, values: vx, label: record.label, weight: record.weight)
            }
        }
    }

    /// `observe` for row i of a batch (no per-record allocation).
    @discardableResult
    public mutating func observe(_ batch: RecordBatch, row i: Int) -> Scored {
        let lo = batch.rowStarts[i], hi = batch.rowStarts[i + 1]
        return batch.indices.withUnsafeBufferPointer { ia in
            batch.values.withUnsafeBufferPointer { va in
                observe(indices: UnsafeBufferPointer(rebasing: ia[lo..<hi]), values: UnsafeBufferPointer(rebasing: va[lo..<hi]),
                        label: batch.labels[i], weight: batch.weights[i])
            }
        }
    }

    mutating func observe(
        indices ix: UnsafeBufferPointer<UInt32>, values vx: UnsafeBufferPointer<Float>, label: Double, weight: Double
    ) -> Scored {
        if arrivals > 0 {
            let alpha = 1 / Double(min(arrivals, configuration.rateWindow))
            let taken = min(Double(replayStepsSinceArrival), configuration.maxReplayRate)
            replayRate += alpha * (taken - replayRate)
        }
        replayStepsSinceArrival = 0
        growFor(indices: ix, label: label)
        let eta = nextOnlineStepSize
        let lossValue = learner.explicitStep(indices: ix, values: vx, label: label, weight: weight, eta: eta)
        let z = learner.z
        arrivals += 1
        totalStepSize += eta
        learner.stepCount += 1
        learner.examplesSeen += 1
        learner.weightSeen += weight
        return Scored(loss: lossValue, prediction: configuration.learner.loss.predictedLabel(outputs: z), score: z[0])
    }

    mutating func growFor(indices ix: UnsafeBufferPointer<UInt32>, label: Double) {
        if let last = ix.last { learner.growDimensionTo(Int(last) + 1) }
        if configuration.learner.loss.outputsPerClass {
            let c = Int(label)
            if c >= learner.classCount && c >= 0 && c < 1 << 20 { learner.growClasses(to: c + 1) }
        } else if configuration.learner.task != .regression, learner.classCount < 2 {
            learner.classCount = 2
        }
    }

    // MARK: Memory and replay

    /// Replaces the replay memory (e.g. the selector's current weighted coreset). Weights are the
    /// coreset weights γ_j > 0; only their ratios matter.
    /// - Complexity: O(k) plus O(Σ nnz) to grow the model for new features; keeps the set's arrays.
    public mutating func setMemory(_ set: ReplaySet) {
        precondition(set.records.count == set.weights.count)
        guard !set.weights.isEmpty, set.weights.reduce(0, +) > 0 else {
            clearMemory()
            return
        }
        let b = set.records
        b.indices.withUnsafeBufferPointer { ia in
            for i in 0..<b.count {
                let lo = b.rowStarts[i], hi = b.rowStarts[i + 1]
                growFor(indices: UnsafeBufferPointer(rebasing: ia[lo..<hi]), label: b.labels[i])
            }
        }
        memory = b
        sampler = WeightedSampler(weights: Self.samplingWeights(set, configuration.replayDraw, regression: configuration.learner.task == .regression))
        stepsOnMemory = 0
    }

    /// The draw probabilities (up to a factor) of `draw` for a memory.
    /// Regression has one ground set, so class-uniform is uniform over all elements.
    /// - Complexity: O(k).
    static func samplingWeights(_ set: ReplaySet, _ draw: ReplayDraw, regression: Bool) -> [Double] {
        switch draw {
        case .weight: return set.weights
        case .classUniform where regression:
            // One ground set: every element equally.
            return [Double](repeating: 1, count: set.weights.count)
        case .sqrtWeight where regression:
            return set.weights.map { $0.squareRoot() }
        case .classUniform, .sqrtWeight:
            // Within a class element j gets its class total Γ_c times its share u_j / Σ_c u of the
            // class, u = 1 (class-uniform) or √γ (sqrt-weight), so class shares stay the stream's.
            let within: [Double] = draw == .classUniform
                ? [Double](repeating: 1, count: set.weights.count) : set.weights.map { $0.squareRoot() }
            var total: [Double: Double] = [:], withinTotal: [Double: Double] = [:]
            for ((label, w), u) in zip(zip(set.records.labels, set.weights), within) {
                total[label, default: 0] += w
                withinTotal[label, default: 0] += u
            }
            return zip(set.records.labels, within).map { total[$0.0]! * $0.1 / withinTotal[$0.0]! }
        }
    }

    /// Records and weights convenience (e.g. `coreset.weightedRecords`).
    public mutating func setMemory(_ weighted: [(record: Record, weight: Double)]) {
        setMemory(ReplaySet(records: weighted.map(\.record), weights: weighted.map(\.weight)))
    }

    /// Drops the memory; replay does nothing until the next `setMemory`.
    public mutating func clearMemory() {
        memory = RecordBatch()
        sampler = nil
        stepsOnMemory = 0
    }

    /// Number of records in the memory.
    public var memoryCount: Int { memory.count }

    /// Replay passes over the current memory (steps / size).
    public var replayPasses: Double { memory.count > 0 ? Double(stepsOnMemory) / Double(memory.count) : 0 }

    /// Takes up to `steps` replay steps on the memory (none without one), each on a record drawn
    /// with probability proportional to its weight.
    /// - Complexity: O(steps · nnz · K), no allocation.
    public mutating func replay(steps: Int) { replaySteps(steps, eta: nil) }

    /// Takes `steps` replay steps on the memory with the step sizes `eta(s)` (s = 0..<steps), outside the
    /// online schedule: the final polish (`_FinalPolish`).
    public mutating func polish(steps: Int, eta: (Int) -> Double) {
        withoutActuallyEscaping(eta) { replaySteps(steps, eta: $0) }
    }

    /// Replay steps with `eta`'s step sizes, or (nil) the shared budget of the latest arrival.
    private mutating func replaySteps(_ steps: Int, eta: ((Int) -> Double)?) {
        guard let sampler, steps > 0 else { return }
        let b = memory
        let meanWeight = arrivals > 0 && learner.weightSeen > 0 ? learner.weightSeen / Double(arrivals) : 1
        b.indices.withUnsafeBufferPointer { ia in
            b.values.withUnsafeBufferPointer { va in
                for s in 0..<steps {
                    let i = sampler.sample(using: &rng)
                    let step: Double
                    if let eta {
                        step = eta(s)
                    } else {
                        replayStepsSinceArrival += 1
                        step = replayStepSize(afterArrival: replayStepsSinceArrival)
                    }
                    let lo = b.rowStarts[i], hi = b.rowStarts[i + 1]
                    learner.explicitStep(indices: UnsafeBufferPointer(rebasing: ia[lo..<hi]),
                                         values: UnsafeBufferPointer(rebasing: va[lo..<hi]),
                                         label: b.labels[i], weight: meanWeight, eta: step)
                    totalStepSize += step
                }
            }
        }
        replayStepCount += steps
        stepsOnMemory += steps
        learner.stepCount += steps
        learner.replayStepCount += steps
    }

    // MARK: Model

    /// Publishes an immutable snapshot for the selector (closed loop).
    /// - Complexity: O(dimension · K).
    public mutating func snapshot() -> LinearModelSnapshot { learner.snapshot() }

    /// Scores a record without learning from it.
    public func score(_ record: Record) -> Scored { learner.score(record) }

    /// Takes over `other`'s model (weights and classes), keeping this learner's counters and
    /// schedule position (a drift alarm: `DriftGuard`).
    /// - Complexity: O(dimension · K).
    public mutating func adoptModel(of other: OnlineReplayLearner) {
        learner.model = other.learner.model
        learner.classCount = other.learner.classCount
        learner.featureCount = max(learner.featureCount, other.learner.featureCount)
    }
}
