/// How a `CrestTrainer` forms its mini-batches.
public struct CrestConfiguration: Sendable, Codable, Hashable {
    public enum Batches: String, Sendable, Codable, CaseIterable {
        /// CREST: per-class facility-location mini-batch coresets on last-layer gradient proxies.
        case coreset
        /// The baseline: uniform random mini-batches of the same size from the same random subsets,
        /// weight 1, with the same reselection rule.
        case random
    }

    public var batches: Batches = .coreset
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
    /// Drop records whose loss stayed below `learnedLoss` at `learnedChecks` selections in a row.
    public var dropLearned: Bool = false
    public var learnedLoss: Double = 0.1
    public var learnedChecks: Int = 3
    public var seed: UInt64 = 0xC5E57

    public init() {}

    var stepsPerCheck: Int { checkEvery > 0 ? checkEvery : max(subsetCount, 1) }
}

/// Trains a `NeuralNetwork` on mini-batches drawn from a pool of records (the stream's buffer),
/// CREST-style: each round draws `subsetCount` random subsets of the pool and reduces each to a
/// weighted mini-batch coreset; the trainer cycles over them and, every `stepsPerCheck` steps, checks
/// a local quadratic model of the loss fitted when the round began. When the model stops predicting
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

    public init(network: NeuralNetwork, optimizer: NetworkOptimizer, configuration: CrestConfiguration) {
        precondition(configuration.batchSize >= 1 && configuration.subsetCount >= 1 && configuration.subsetSize >= 1)
        self.network = network
        self.optimizer = optimizer
        self.configuration = configuration
        rng = SeededGenerator(seed: configuration.seed)
        gradient = NeuralNetwork.Gradient(for: network)
        work = NeuralNetwork.Workspace(for: network)
    }

    /// Takes `steps` mini-batch steps on records of `pool`, reselecting as the rule says.
    /// - Complexity: per step O(B · (nnz · h₁ + Σ hₗ hₗ₊₁)); per round the same for P · r candidates.
    public mutating func train(steps: Int, pool: [Record]) {
        guard !pool.isEmpty else { return }
        for _ in 0..<steps {
            if batches.isEmpty || anchorParameters.count != network.parameterCount { selectRound(pool: pool) }
            guard !batches.isEmpty else { return }
            let batch = batches[cursor % batches.count]
            cursor += 1
            gradient.reset(for: network)
            for r in batch { network.accumulateGradient(r, into: &gradient, work: &work) }
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
    public mutating func invalidate() { batches = [] }

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
            case .coreset:
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
        var act = NeuralNetwork.Activations(for: network)
        for (i, r) in candidates.enumerated() {
            network.forward(r.features, into: &act)
            let p = act.probabilities
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
