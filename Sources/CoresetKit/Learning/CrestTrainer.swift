/// How a `CrestTrainer` forms its mini-batches.
public struct CrestConfiguration: Sendable, Codable, Hashable {
    public enum Batches: String, Sendable, Codable, CaseIterable {
        /// CREST: per-class facility-location mini-batch coresets on last-layer gradient proxies.
        case coreset
        /// The baseline: uniform random mini-batches of the same size from the same random subsets,
        /// weight 1, with the same reselection rule.
        case random
        /// CREST's mini-batch coresets on proxies cached from the training forward passes: no forward
        /// pass of its own, so selection costs only the greedy. Passes over the pool in random order;
        /// each step reduces the next `subsetSize` records to B by facility location on their last cached
        /// proxies (records not yet seen are taken as they are). No loss model is needed.
        case cached
        /// Plain passes over the pool in random order, each step the next B records, made cheaper without
        /// changing the step's expected gradient: InfoBatch-style pruning on the error cached from each
        /// record's last forward pass (`pruneRate`, or `pruneFactor`) and backward passes sampled by loss
        /// (`backwardSampling`).
        /// No facility location: on fashion-mnist the cached coresets' steps were not cheaper than plain
        /// ones, and their weights do not mix with sampling (tools/bench_mlp/NOTES.md).
        case sampled
    }

    /// The default: `sampled` with its defaults (`init(batches:)`).
    public var batches: Batches = .sampled
    /// Mini-batch size B.
    public var batchSize: Int = 128
    /// Random subsets drawn (and mini-batches selected) per selection round.
    public var subsetCount: Int = 8
    /// Candidates per random subset (CREST reduces each to one mini-batch of B).
    public var subsetSize: Int = 512
    /// Steps between checks of the quadratic loss model (0: one pass over the round's mini-batches).
    public var checkEvery: Int = 0
    /// Records of the check set the loss model is fitted and checked on.
    public var checkSize: Int = 256
    /// Reselect when |L − L̂| > τ L (CREST's τ = 0.1).
    public var lossGapThreshold: Double = 0.1
    /// Drop records whose loss stayed below `learnedLoss` at `learnedChecks` selections (`cached`:
    /// visits) in a row.
    public var dropLearned: Bool = false
    public var learnedLoss: Double = 0.1
    public var learnedChecks: Int = 2
    /// A record whose loss is below this at its forward pass skips its backward pass (its gradient is
    /// nearly zero; `NeuralNetwork.accumulateGradient(_:into:work:skipBelow:)`); 0 turns it off.
    public var skipFittedLoss: Double = 0
    /// Backward passes sampled by loss with importance weights (`BackwardSampler`): a record's backward
    /// pass is taken with probability min(1, g / (factor · ḡ)), g = w (1 − p_y), and its gradient weighted by
    /// the inverse, so steps cost less and stay unbiased. ≤ 1 turns it off.
    public var backwardSampling: Double = 2
    /// `sampled`, `cached`: InfoBatch-style pruning (when `pruneFactor` is 0). A record whose cached error
    /// 1 − p_y is below the pass's mean is left out of the step with this probability (no forward pass) and,
    /// when kept, weighted 1 / (1 − r), so the step's expected gradient is unchanged. 0 turns it off.
    public var pruneRate: Double = 0.5
    /// Pruning: records whose cached error is below this multiple of the pass's mean are the
    /// ones pruned (InfoBatch: 1, the mean itself).
    public var pruneBelowMean: Double = 1
    /// `sampled`, `cached`: pruning in proportion to the cached error instead of `pruneRate` (0, the default,
    /// turns it off). A record with cached error e is kept with probability q = min(1, max(floor,
    /// e / (factor · ē))), ē the pass's mean, and weighted 1 / q: the forward passes get the importance
    /// sampling the backward passes get (`backwardSampling`). The floor is `pruneFloor`, doubled for each
    /// pass the record's error went unrefreshed (`CrestTrainer.staleFloor`). It leaves out 2.3x as many
    /// fitted records on fashion-mnist and reached the target faster (factor 2: mnist 2.14x against
    /// InfoBatch's 1.80x), but on a 1,000-record run at eta0 0.1 its heavier weights cost accuracy (0.70
    /// against 0.77, five seeds), so it is not the default; tools/bench_mlp/NOTES.md ("D", "E") has the runs.
    public var pruneFactor: Double = 0
    /// The least keep probability of proportional pruning: a kept record weighs at most 1 / 0.1 = 10.
    public static let pruneFloor = 0.1
    public var seed: UInt64 = 0xC5E57

    /// The `sampled` defaults: pruning 0.5, backward sampling 2, no drops, no skip.
    public init() {}

    /// Each mode's measured defaults: `sampled` as `init()`; `cached` its coresets with drops of learned
    /// records and the skip of fitted ones (0.05), no pruning or sampling; `coreset` and `random` the same.
    public init(batches: Batches) {
        self.batches = batches
        if batches != .sampled {
            dropLearned = true
            skipFittedLoss = 0.05
            backwardSampling = 0
            pruneRate = 0
        }
    }

    enum CodingKeys: String, CodingKey {
        case batches, batchSize, subsetCount, subsetSize, checkEvery, checkSize, lossGapThreshold
        case dropLearned, learnedLoss, learnedChecks, skipFittedLoss, backwardSampling, pruneRate, pruneBelowMean, pruneFactor, seed
    }

    /// Model files written before `skipFittedLoss` existed read it as 0: no skipping, as they trained.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        batches = try c.decode(Batches.self, forKey: .batches)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        subsetCount = try c.decode(Int.self, forKey: .subsetCount)
        subsetSize = try c.decode(Int.self, forKey: .subsetSize)
        checkEvery = try c.decode(Int.self, forKey: .checkEvery)
        checkSize = try c.decode(Int.self, forKey: .checkSize)
        lossGapThreshold = try c.decode(Double.self, forKey: .lossGapThreshold)
        dropLearned = try c.decode(Bool.self, forKey: .dropLearned)
        learnedLoss = try c.decode(Double.self, forKey: .learnedLoss)
        learnedChecks = try c.decode(Int.self, forKey: .learnedChecks)
        skipFittedLoss = try c.decodeIfPresent(Double.self, forKey: .skipFittedLoss) ?? 0
        // Files written before sampling and pruning existed trained without them.
        backwardSampling = try c.decodeIfPresent(Double.self, forKey: .backwardSampling) ?? 0
        pruneRate = try c.decodeIfPresent(Double.self, forKey: .pruneRate) ?? 0
        pruneBelowMean = try c.decodeIfPresent(Double.self, forKey: .pruneBelowMean) ?? 1
        pruneFactor = try c.decodeIfPresent(Double.self, forKey: .pruneFactor) ?? 0
        seed = try c.decode(UInt64.self, forKey: .seed)
    }

    var stepsPerCheck: Int { checkEvery > 0 ? checkEvery : max(subsetCount, 1) }
}

/// Trains a `NeuralNetwork` on mini-batches drawn from a pool of records (the stream's buffer).
/// `cached` (the default) selects each mini-batch from proxies kept from earlier training steps (see
/// "Cached proxies" below). `coreset` and `random` are CREST as published: each round draws
/// `subsetCount` random subsets of the pool and reduces each to a weighted mini-batch coreset; the
/// trainer cycles over them and, every `stepsPerCheck` steps, checks a local quadratic model of the
/// loss fitted when the round began. When the model stops predicting
/// the loss (relative gap above τ), a new round is selected.
///
/// The quadratic model: L̂(w) = L(w₀) + ∇L(w₀)·Δ + ½ Σᵢ Fᵢᵢ Δᵢ², Δ = w − w₀, on a check set drawn
/// with the round's candidates, where F is the diagonal of the empirical Fisher matrix
/// (Σ wⱼ ∇ℓⱼ² / Σ wⱼ over the check set at w₀), the usual cheap stand-in for the Hessian's diagonal of a
/// cross-entropy loss. CREST estimates the Hessian diagonal with Hutchinson probes (AdaHessian)
/// instead; this needs no Hessian-vector products and costs one gradient per check-set record at
/// each selection plus one check-set gradient per check.
public struct CrestTrainer: Sendable {
    public var network: NeuralNetwork
    public var optimizer: NetworkOptimizer
    public let configuration: CrestConfiguration

    /// Counters for reports and tests.
    public struct Statistics: Sendable, Hashable {
        public var selections = 0
        public var checks = 0
        public var steps = 0
        /// Wall time spent selecting (forward passes over the candidates and the greedy).
        public var selectionSeconds = 0.0
        /// Wall time spent on loss-model checks.
        public var checkSeconds = 0.0
        public var droppedRecords = 0
        /// Records whose backward pass was skipped (loss below `skipFittedLoss`) and records backpropagated.
        public var skippedBackward = 0
        public var backpropagated = 0
        /// `cached`: passes over the pool begun.
        public var passes = 0
        /// `sampled`, `cached` with `pruneFactor` or `pruneRate`: records of the passes left out of their step (no forward pass).
        public var prunedRecords = 0
        /// The last relative gap |L − L̂| / L measured.
        public var lastGap = 0.0
    }
    public private(set) var statistics = Statistics()

    var rng: SeededGenerator
    var batches: [[Record]] = []
    var cursor = 0
    var stepsSinceCheck = 0
    var checkSet: [Record] = []
    var anchorParameters: [Float] = []
    var anchorLoss = 0.0
    var anchorGradient: [Float] = []
    var anchorCurvature: [Float] = []
    var learnedStreak: [UInt64: Int] = [:]
    /// Stream positions of records judged learned; they are no longer drawn.
    public private(set) var dropped: Set<UInt64> = []
    var gradient: NeuralNetwork.Gradient
    var work: NeuralNetwork.Workspace
    var batchWork = NeuralNetwork.BatchWorkspace()
    /// `cached`: the last proxy p − onehot(y) of each record trained on, `classCount` floats per slot,
    /// found by stream position.
    var proxySlot: [UInt64: Int] = [:]
    var cachedProxies: [Float] = []
    /// The pass in which each slot's proxy was last refreshed (its record forwarded).
    var refreshedInPass: [Int] = []
    var cachedWidth = 0
    /// `cached`: the current pass over the pool (pool indices in random order) and how far it got.
    var passOrder: [Int] = []
    var passCursor = 0
    var passPoolCount = -1
    /// With `pruneRate`: records with a cached error 1 − p_y below this are pruned (the pass's
    /// mean times `pruneBelowMean`).
    var pruneBelowError: Float = 0
    /// With `pruneFactor`: the pass's mean cached error ē.
    var passMeanError: Float = 0
    var backwardSampler: BackwardSampler

    public init(network: NeuralNetwork, optimizer: NetworkOptimizer, configuration: CrestConfiguration) {
        precondition(configuration.batchSize >= 1 && configuration.subsetCount >= 1 && configuration.subsetSize >= 1)
        self.network = network
        self.optimizer = optimizer
        self.configuration = configuration
        rng = SeededGenerator(seed: configuration.seed)
        gradient = NeuralNetwork.Gradient(for: network)
        work = NeuralNetwork.Workspace(for: network)
        backwardSampler = BackwardSampler(factor: configuration.backwardSampling, seed: configuration.seed ^ 0xB5A3_9E1D)
    }

    /// Takes `steps` mini-batch steps on records of `pool`, reselecting as the rule says.
    /// - Complexity: per step O(B · (nnz · h₁ + Σ hₗ hₗ₊₁)); per round the same for P · r candidates.
    public mutating func train(steps: Int, pool: [Record]) {
        guard !pool.isEmpty else { return }
        if configuration.batches == .cached || configuration.batches == .sampled {
            for _ in 0..<steps { cachedStep(pool: pool) }
            return
        }
        for _ in 0..<steps {
            if batches.isEmpty || anchorParameters.count != network.parameterCount { selectRound(pool: pool) }
            guard !batches.isEmpty else { return }
            let batch = batches[cursor % batches.count]
            cursor += 1
            gradient.reset(for: network)
            accumulate(batch)
            optimizer.step(&network, gradient: gradient)
            statistics.steps += 1
            stepsSinceCheck += 1
            if stepsSinceCheck >= configuration.stepsPerCheck {
                stepsSinceCheck = 0
                if lossModelBroke() { batches = [] }
            }
        }
    }

    /// Forces a new selection round at the next step (e.g. when the pool changed a lot).
    public mutating func invalidate() {
        batches = []
        passPoolCount = -1
    }

    /// Adds a mini-batch's gradient to the step's (a fitted record adds only its loss and weight); `batchWork`
    /// then holds each record's probabilities and loss.
    mutating func accumulate(_ batch: [Record]) {
        var sampler = backwardSampler
        defer { backwardSampler = sampler }
        if configuration.backwardSampling > 1 {
            network.accumulateGradients(batch, into: &gradient, work: &batchWork, skipBelow: configuration.skipFittedLoss,
                                        backwardWeight: { sampler.weight(forLoss: $1, recordWeight: batch[$0].weight) })
        } else {
            network.accumulateGradients(batch, into: &gradient, work: &batchWork, skipBelow: configuration.skipFittedLoss)
        }
        for added in batchWork.backpropagated {
            if added { statistics.backpropagated += 1 } else { statistics.skippedBackward += 1 }
        }
    }

    // MARK: Selection

    mutating func selectRound(pool: [Record]) {
        let start = monotonicSeconds()
        defer { statistics.selectionSeconds += monotonicSeconds() - start }
        let c = configuration
        var available = pool.count
        if !dropped.isEmpty { available = pool.reduce(0) { $0 + (dropped.contains($1.position) ? 0 : 1) } }
        // Never drop the pool below two batches' worth: learned records come back rather than starve it.
        let honourDrops = available >= 2 * c.batchSize
        let drawable = honourDrops ? available : pool.count
        guard drawable > 0 else { batches = []; return }
        batches = []
        checkSet = []
        for _ in 0..<c.subsetCount {
            let candidates = drawSubset(pool: pool, count: min(c.subsetSize, drawable), honourDrops: honourDrops)
            switch c.batches {
            case .random:
                let take = min(c.batchSize, candidates.count)
                batches.append(Array(candidates.prefix(take)))
            case .coreset, .cached, .sampled:  // (cached and sampled never come here: see train)
                batches.append(coresetBatch(candidates))
            }
            if checkSet.count < c.checkSize { checkSet.append(contentsOf: candidates.suffix(c.checkSize - checkSet.count)) }
        }
        statistics.selections += 1
        cursor = 0
        stepsSinceCheck = 0
        anchorParameters = flatParameters()
        fitLossModel()
    }

    /// `count` records drawn uniformly without replacement (rejection of repeats and dropped records).
    mutating func drawSubset(pool: [Record], count: Int, honourDrops: Bool) -> [Record] {
        var out: [Record] = []
        out.reserveCapacity(count)
        var chosen = Set<Int>()
        var attempts = 0
        while out.count < count && attempts < 20 * count + 100 {
            attempts += 1
            let i = Int(rng.next() % UInt64(pool.count))
            if chosen.contains(i) { continue }
            if honourDrops && !dropped.isEmpty && dropped.contains(pool[i].position) { continue }
            chosen.insert(i)
            out.append(pool[i])
        }
        return out
    }

    /// One CREST mini-batch: proxies p − onehot(y) at the current network, per-class greedy, weights
    /// = nearest counts normalised to mean 1 (times each record's own weight).
    mutating func coresetBatch(_ candidates: [Record]) -> [Record] {
        let k = network.classCount
        var proxies = [Float](repeating: 0, count: candidates.count * k)
        var classes = [Int](repeating: 0, count: candidates.count)
        network.forward(candidates, into: &batchWork)
        for (i, r) in candidates.enumerated() {
            let p = Array(batchWork.probabilities(ofRow: i))
            let y = r.classIndex
            for q in 0..<k { proxies[i * k + q] = p[q] - (q == y ? 1 : 0) }
            classes[i] = y
            if configuration.dropLearned { noteLoss(NeuralNetwork.crossEntropy(p, label: y), of: r) }
        }
        let (picked, weights) = MiniBatchCoreset.select(proxies: proxies, width: k, classes: classes, budget: configuration.batchSize)
        return zip(picked, weights).map { i, w in
            var r = candidates[i]
            r.weight *= Double(w)
            return r
        }
    }

    mutating func noteLoss(_ loss: Double, of record: Record) {
        if loss < configuration.learnedLoss {
            let streak = learnedStreak[record.position, default: 0] + 1
            if streak >= configuration.learnedChecks {
                learnedStreak[record.position] = nil
                if dropped.insert(record.position).inserted { statistics.droppedRecords += 1 }
            } else {
                learnedStreak[record.position] = streak
            }
        } else {
            learnedStreak[record.position] = nil
        }
    }

    /// Forgets drop marks of records no longer in the pool (a stream buffer replaces records).
    public mutating func retainDrops(in pool: [Record]) {
        guard !dropped.isEmpty || !learnedStreak.isEmpty else { return }
        let present = Set(pool.map(\.position))
        dropped = dropped.filter { present.contains($0) }
        learnedStreak = learnedStreak.filter { present.contains($0.key) }
    }

    // MARK: Cached proxies

    /// One `cached` step: the next candidates of the pass, reduced to at most B, then one SGD step on
    /// them; the forward passes of the step refresh the proxies (and the learned marks) of its records.
    mutating func cachedStep(pool: [Record]) {
        let start = monotonicSeconds()
        let picks = cachedBatch(pool: pool)
        statistics.selectionSeconds += monotonicSeconds() - start
        guard !picks.isEmpty else { return }
        let k = network.classCount
        if cachedWidth != k {
            // The output layer grew: old proxies have the wrong width.
            proxySlot = [:]
            cachedProxies = []
            refreshedInPass = []
            cachedWidth = k
        }
        gradient.reset(for: network)
        let batch = picks.map { i, weight in
            var r = pool[i]
            r.weight *= Double(weight)
            return r
        }
        accumulate(batch)
        for (row, r) in batch.enumerated() {
            let p = batchWork.probabilities(ofRow: row), loss = batchWork.losses[row]
            let slot: Int
            if let s = proxySlot[r.position] {
                slot = s
            } else {
                slot = cachedProxies.count / k
                proxySlot[r.position] = slot
                cachedProxies.append(contentsOf: repeatElement(0, count: k))
                refreshedInPass.append(0)
            }
            refreshedInPass[slot] = statistics.passes
            let y = r.classIndex
            for q in 0..<k { cachedProxies[slot * k + q] = p[p.startIndex + q] - (q == y ? 1 : 0) }
            if configuration.dropLearned { noteLoss(loss, of: r) }
        }
        optimizer.step(&network, gradient: gradient)
        statistics.steps += 1
    }

    /// The next step's records (pool indices) and weights. Candidates come from the pass in order until
    /// `subsetSize` are drawn or B of them were never seen; unseen ones are taken with weight 1, the seen
    /// ones reduced by facility location on their cached proxies to the rest of B, each pick weighted by
    /// the candidates it is nearest to (so the step is the candidates' mean gradient, approximately).
    mutating func cachedBatch(pool: [Record]) -> [(Int, Float)] {
        let c = configuration
        if passPoolCount != pool.count || passCursor >= passOrder.count { beginPass(pool: pool) }
        var unseen: [Int] = [], seen: [Int] = [], seenWeights: [Float] = []
        let k = network.classCount
        let proportional = c.pruneFactor > 0 && passMeanError > 0
        let pruning = c.pruneRate > 0 && c.pruneRate < 1 && pruneBelowError > 0
        let keptWeight = Float(1 / (1 - c.pruneRate))
        var consumed = 0
        // `sampled` takes the next B records of the pass (so nothing is left for facility location).
        let candidates = c.batches == .sampled ? c.batchSize : c.subsetSize
        while consumed < candidates && unseen.count < c.batchSize && passCursor < passOrder.count {
            let i = passOrder[passCursor]
            passCursor += 1
            consumed += 1
            guard cachedWidth == k, let slot = proxySlot[pool[i].position] else { unseen.append(i); continue }
            var weight: Float = 1
            // The proxy's own-class entry is p_y − 1: its error 1 − p_y.
            if proportional {
                let e = Double(-cachedProxies[slot * k + pool[i].classIndex])
                let q = min(1, max(staleFloor(slot), e / (c.pruneFactor * Double(passMeanError))))
                if q < 1 {
                    if Double(rng.next() >> 11) * 0x1p-53 >= q {
                        statistics.prunedRecords += 1
                        continue
                    }
                    weight = Float(1 / q)
                }
            } else if pruning && -cachedProxies[slot * k + pool[i].classIndex] < pruneBelowError {
                if Double(rng.next() >> 11) * 0x1p-53 < c.pruneRate {
                    statistics.prunedRecords += 1
                    continue
                }
                weight = keptWeight
            }
            seen.append(i)
            seenWeights.append(weight)
        }
        var picks = unseen.map { ($0, Float(1)) }
        let budget = c.batchSize - unseen.count
        if seen.count <= budget {
            picks += zip(seen, seenWeights).map { ($0, $1) }
        } else {
            var proxies = [Float](repeating: 0, count: seen.count * k)
            for (a, i) in seen.enumerated() {
                let base = proxySlot[pool[i].position]! * k
                for q in 0..<k { proxies[a * k + q] = cachedProxies[base + q] }
            }
            let (chosen, weights) = MiniBatchCoreset.select(proxies: proxies, width: k, classes: seen.map { pool[$0].classIndex }, budget: budget)
            // Weights have mean 1 over the picks; scaled so they sum to the seen candidates they stand for
            // (kept pruning survivors counting 1 / (1 − r) each).
            let scale = seenWeights.reduce(0, +) / Float(max(chosen.count, 1))
            picks += zip(chosen, weights).map { (seen[$0], $1 * scale) }
            statistics.selections += 1
        }
        return picks
    }

    /// A new pass: the pool's records not judged learned, in random order. Learned marks are cleared
    /// (the records come back) when fewer than `subsetSize` records would be left.
    mutating func beginPass(pool: [Record]) {
        if proxySlot.count > 2 * pool.count + 1024 { compactCache(pool: pool) }
        passOrder = dropped.isEmpty ? Array(pool.indices) : pool.indices.filter { !dropped.contains(pool[$0].position) }
        if passOrder.count < min(configuration.subsetSize, pool.count) {
            dropped = []
            learnedStreak = [:]
            passOrder = Array(pool.indices)
        }
        passOrder.shuffle(using: &rng)
        if configuration.pruneRate > 0 { pruneBelowError = meanCachedError(pool: pool) * Float(configuration.pruneBelowMean) }
        if configuration.pruneFactor > 0 { passMeanError = meanCachedError(pool: pool) }
        passCursor = 0
        passPoolCount = pool.count
        statistics.passes += 1
    }

    /// The least keep probability of proportional pruning for a slot: `pruneFloor`, doubled for each pass
    /// its proxy went unrefreshed. A record left out keeps its old error, which the model may have left
    /// behind; without the rise it could stay out for ten passes and come back at weight 10 with a large
    /// error, a step's worth of gradient on its own (the CLI test's 1,000-record run at eta0 0.1: test
    /// accuracy 0.51 without the rise, 0.70 with it, mean of five seeds; tools/bench_mlp/NOTES.md, "E").
    func staleFloor(_ slot: Int) -> Double {
        let age = max(0, statistics.passes - 1 - refreshedInPass[slot])
        return min(1, CrestConfiguration.pruneFloor * Double(1 << min(age, 10)))
    }

    /// The mean error 1 − p_y cached for the pass's records (0 when none has a proxy yet).
    func meanCachedError(pool: [Record]) -> Float {
        let k = network.classCount
        guard cachedWidth == k else { return 0 }
        var sum: Float = 0, count = 0
        for i in passOrder {
            guard let slot = proxySlot[pool[i].position] else { continue }
            sum -= cachedProxies[slot * k + pool[i].classIndex]
            count += 1
        }
        return count > 0 ? sum / Float(count) : 0
    }

    /// Keeps the cached proxies of records still in the pool (a stream buffer replaces records).
    mutating func compactCache(pool: [Record]) {
        let k = max(cachedWidth, 1)
        var slots: [UInt64: Int] = [:], proxies: [Float] = [], refreshed: [Int] = []
        for r in pool {
            guard slots[r.position] == nil, let old = proxySlot[r.position] else { continue }
            slots[r.position] = proxies.count / k
            proxies.append(contentsOf: cachedProxies[(old * k)..<((old + 1) * k)])
            refreshed.append(refreshedInPass[old])
        }
        proxySlot = slots
        cachedProxies = proxies
        refreshedInPass = refreshed
    }

    // MARK: The loss model

    /// True when the quadratic model fitted at the round's start no longer predicts the check loss.
    mutating func lossModelBroke() -> Bool {
        let start = monotonicSeconds()
        defer { statistics.checkSeconds += monotonicSeconds() - start }
        statistics.checks += 1
        guard anchorParameters.count == network.parameterCount, !checkSet.isEmpty else { return true }
        let loss = checkLoss()
        let w = flatParameters()
        var linear = 0.0, quadratic = 0.0
        for i in 0..<w.count {
            let d = Double(w[i] - anchorParameters[i])
            linear += Double(anchorGradient[i]) * d
            quadratic += Double(anchorCurvature[i]) * d * d
        }
        let predicted = anchorLoss + linear + 0.5 * quadratic
        let gap = abs(loss - predicted) / max(loss, 1e-12)
        statistics.lastGap = gap
        return gap > configuration.lossGapThreshold
    }

    /// Weighted mean data loss on the check set.
    func checkLoss() -> Double {
        network.dataLoss(checkSet)
    }

    /// Loss, mean gradient and empirical-Fisher diagonal on the check set at the current network.
    mutating func fitLossModel() {
        let n = network.parameterCount
        var mean = [Float](repeating: 0, count: n), fisher = [Float](repeating: 0, count: n)
        var lossSum = 0.0, weightSum = 0.0
        let width0 = network.layerSizes[1]
        mean.withUnsafeMutableBufferPointer { meanBuffer in
            fisher.withUnsafeMutableBufferPointer { fisherBuffer in
                let m = meanBuffer.baseAddress!, f = fisherBuffer.baseAddress!
                for r in checkSet where r.weight > 0 {
                    gradient.reset(for: network)
                    network.accumulateGradient(r, into: &gradient, work: &work)
                    lossSum += gradient.lossSum
                    weightSum += r.weight
                    // gradient = w ∇ℓ: the mean adds it, the Fisher diagonal adds w (∇ℓ)² = gradient² / w.
                    let inverseWeight = Float(1 / r.weight)
                    // Layer 0: only the rows of the record's features are non-zero.
                    gradient.weights[0].withUnsafeBufferPointer { g in
                        for row in gradient.touchedRows {
                            let base = Int(row) * width0
                            Self.addMoments(g.baseAddress! + base, mean: m + base, fisher: f + base, count: width0, inverseWeight: inverseWeight)
                        }
                    }
                    var offset = gradient.weights[0].count
                    for l in 0..<network.layerCount {
                        if l > 0 {
                            gradient.weights[l].withUnsafeBufferPointer { g in
                                Self.addMoments(g.baseAddress!, mean: m + offset, fisher: f + offset, count: g.count, inverseWeight: inverseWeight)
                            }
                            offset += gradient.weights[l].count
                        }
                        gradient.biases[l].withUnsafeBufferPointer { g in
                            Self.addMoments(g.baseAddress!, mean: m + offset, fisher: f + offset, count: g.count, inverseWeight: inverseWeight)
                        }
                        offset += gradient.biases[l].count
                    }
                }
            }
        }
        let scale = weightSum > 0 ? Float(1 / weightSum) : 0
        anchorGradient = mean.map { $0 * scale }
        anchorCurvature = fisher.map { $0 * scale }
        anchorLoss = weightSum > 0 ? lossSum / weightSum : 0
    }

    /// mean += g, fisher += g² / w over `count` entries (SIMD8 lanes).
    static func addMoments(_ g: UnsafePointer<Float>, mean: UnsafeMutablePointer<Float>, fisher: UnsafeMutablePointer<Float>,
                           count: Int, inverseWeight: Float) {
        let rg = UnsafeRawPointer(g), rm = UnsafeMutableRawPointer(mean), rf = UnsafeMutableRawPointer(fisher)
        let w = SIMD8<Float>(repeating: inverseWeight)
        var i = 0
        while i + 8 <= count {
            let o = i * 4
            let v = rg.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            rm.storeBytes(of: rm.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) + v, toByteOffset: o, as: SIMD8<Float>.self)
            rf.storeBytes(of: rf.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) + v * v * w, toByteOffset: o, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            mean[i] += g[i]
            fisher[i] += g[i] * g[i] * inverseWeight
            i += 1
        }
    }

    func flatParameters() -> [Float] {
        var flat: [Float] = []
        flat.reserveCapacity(network.parameterCount)
        for l in 0..<network.layerCount {
            flat.append(contentsOf: network.weights[l])
            flat.append(contentsOf: network.biases[l])
        }
        return flat
    }
}
