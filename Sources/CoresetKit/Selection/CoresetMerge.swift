/// Merges the weighted coresets of shards into one of size k: coresets compose.
///
/// Every element of every shard stands for its weight (the input weight it represents), so the
/// ground set of the merge is the union of the shards' elements, weighted: per class c,
/// F_c(S) = Σ_{i ∈ U_c} w_i max_{j ∈ S} s(i, j), the objective `coreset select` maximises, with each
/// shard element counted as the w_i records it stands for. S is chosen by lazy greedy (Mirzasoleiman
/// et al.'s distributed GreeDi merges greedy solutions the same way). So that a merge costs O(n · k)
/// and not O(n²), the greedy covers a reference sample of the class's union of
/// max(`referenceMinimum`, `referencePerPick` · k_c) elements, each weighted by the union elements
/// nearest to it, and picks among them (`referenceGreedy`); a smaller class is its own reference, the
/// exact objective with every element a candidate. Then each shard element's weight
/// goes to its most similar merged element of its class (itself, if picked), so per class the merged
/// weights add up to the shards' totals: exactly for integer weights (counts, the usual case), to
/// within Double rounding otherwise.
///
/// The budget k is split over the classes as the selector splits it (largest remainders, in
/// proportion to each class's total weight, or equally); a class with fewer elements than its share
/// keeps all of them unchanged and its surplus goes to the other classes.
///
/// Every merged element names its origin: the shard it was selected in and its id there (kept from
/// an earlier merge, else shard `firstShard` + the index of its coreset among `shards`).
public enum CoresetMerge {
    /// What decides the merge.
    public struct Configuration: Sendable, Hashable {
        /// Elements in the merged coreset, shared across classes.
        public var k: Int
        public var similarity: SelectorConfiguration.Similarity
        public var budgetSplit: SelectorConfiguration.BudgetSplit
        /// How many elements, spread evenly over the union, fix the similarity scale (D = their largest
        /// pairwise distance, or γ for RBF), as the selector's warm-up does.
        public var scaleSampleSize: Int
        /// Reference elements per merged element of a class (the ground set the greedy covers).
        public var referencePerPick: Int
        /// A class with at most this many union elements is its own reference: the exact objective.
        public var referenceMinimum: Int
        /// Origin shard of the elements of `shards[0]` that have none yet (the rest count up from it).
        public var firstShard: Int

        public init(k: Int, similarity: SelectorConfiguration.Similarity = .euclidean,
                    budgetSplit: SelectorConfiguration.BudgetSplit = .proportional, scaleSampleSize: Int = 1000,
                    referencePerPick: Int = 8, referenceMinimum: Int = 2048, firstShard: Int = 0) {
            self.k = k
            self.similarity = similarity
            self.budgetSplit = budgetSplit
            self.scaleSampleSize = scaleSampleSize
            self.referencePerPick = referencePerPick
            self.referenceMinimum = referenceMinimum
            self.firstShard = firstShard
        }

        /// Reference elements for a class budget: max(minimum, perPick · budget), saturating.
        public func referenceSize(budget: Int) -> Int {
            let (product, overflow) = referencePerPick.multipliedReportingOverflow(by: budget)
            return max(referenceMinimum, overflow ? Int.max : product)
        }

        /// A message for the first invalid field, or nil.
        public func validationError() -> String? {
            if k < 1 { return "k must be at least 1" }
            if scaleSampleSize < 2 { return "the scale sample must hold at least 2 elements" }
            if referencePerPick < 1 { return "the reference must hold at least 1 element per merged element" }
            if referenceMinimum < 0 { return "the reference minimum must not be negative" }
            if firstShard < 0 { return "the first shard must not be negative" }
            if case .rbf(let g?) = similarity, !(g > 0) { return "the RBF gamma must be positive" }
            return nil
        }
    }

    /// The merged coreset and how well it covers the union.
    public struct Result: Sendable {
        public var coreset: WeightedCoreset
        /// The objective with the scale the merge fixed (for exact evaluation elsewhere).
        public var objective: FacilityLocation
        /// F(merged) on the weighted union: Σ_i w_i max_{j ∈ merged, same class} s(i, j).
        public var value: Double
        /// F(union) on itself: Σ_i w_i s(i, i), what keeping every shard element would reach.
        public var ceiling: Double
        /// Elements in the union of the shards.
        public var unionCount: Int
    }

    /// Merges shard coresets.
    /// - Parameters:
    ///   - shards: the coresets; their elements' `classIndex` must agree across shards (read them
    ///     with one `CoresetFileReader`). Weights must be finite and non-negative.
    ///   - task: `.regression` puts every element in one ground set.
    ///   - embedding: a model snapshot to measure distances in gradient space, or nil for feature space.
    /// - Complexity: O(n_c · m_c + m_c²) similarity evaluations per class for n_c union elements of the
    ///   class and m_c = min(n_c, max(referenceMinimum, referencePerPick · k_c)) reference elements, plus
    ///   O(n_c · k_c) for the weights: O(n · k) for a fixed `referenceMinimum`. Each row of similarities
    ///   is one pass over a dense matrix of the other side (`_SimilarityRows`).
    /// - Precondition: `configuration.validationError() == nil`.
    public static func merge(_ shards: [WeightedCoreset], task: TaskKind, configuration: Configuration,
                             embedding: (any GradientEmbedding)? = nil) -> Result {
        if let e = configuration.validationError() { preconditionFailure(e) }
        var union: [WeightedCoreset.Element] = []
        for (s, shard) in shards.enumerated() {
            for e in shard.elements {
                var e = e
                if e.origin == nil { e.origin = .init(shard: configuration.firstShard + s, position: e.record.position) }
                union.append(e)
            }
        }
        let regression = task == .regression
        func classOf(_ e: WeightedCoreset.Element) -> Int { regression ? 0 : e.classIndex }

        // Scale from elements spread evenly over the union, so every shard contributes.
        let sampleCount = min(union.count, configuration.scaleSampleSize)
        var sample: [Record] = []
        for t in 0..<sampleCount { sample.append(union[t * union.count / max(1, sampleCount)].record) }
        let objective = FacilityLocation.fitted(configuration.similarity, sample: sample, embedding: embedding)
        let kernel = objective.kernel

        var members: [Int: [Int]] = [:]
        for (i, e) in union.enumerated() { members[classOf(e), default: []].append(i) }
        let classIds = members.keys.sorted()
        let budgets = Self.budgets(k: configuration.k, classIds: classIds, split: configuration.budgetSplit, regression: regression,
                                   sizes: classIds.map { members[$0]!.count },
                                   weights: classIds.map { members[$0]!.reduce(0.0) { $0 + union[$1].weight } })

        var merged: [WeightedCoreset.Element] = []
        var value = 0.0, ceiling = 0.0
        for (c, id) in classIds.enumerated() {
            let idx = members[id]!
            let points = idx.map { kernel.point(union[$0].record, arrival: 0) }
            let weights = idx.map { union[$0].weight }
            for (j, p) in points.enumerated() { ceiling += weights[j] * Double(kernel.similarity(p, p)) }
            let budget = budgets[c]
            guard budget > 0 else { continue }
            let picks: [Int]
            if budget >= idx.count {
                picks = Array(idx.indices)
            } else {
                picks = Self.referenceGreedy(points: points, weights: weights, budget: budget,
                                             size: configuration.referenceSize(budget: budget), kernel: kernel)
            }
            // Every element's weight to its most similar pick (itself when picked), in union order.
            var pickSlot = [Int](repeating: -1, count: idx.count)
            for (slot, p) in picks.enumerated() { pickSlot[p] = slot }
            // Compensated (Neumaier) sums: a merged weight is its elements' total to about one rounding.
            var carried = [Double](repeating: 0, count: picks.count)
            var compensation = [Double](repeating: 0, count: picks.count)
            func carry(_ w: Double, to slot: Int) {
                let t = carried[slot] + w
                compensation[slot] += abs(carried[slot]) >= abs(w) ? (carried[slot] - t) + w : (w - t) + carried[slot]
                carried[slot] = t
            }
            // Nearest pick of every element, block of picks by block (see `blockColumns`).
            var toPicks = _SimilarityRows(kernel: kernel, points: picks.map { points[$0] })
            var row = [Float](repeating: 0, count: picks.count)
            var best = [Float](repeating: -.infinity, count: idx.count), bestSlot = [Int](repeating: 0, count: idx.count)
            for block in stride(from: 0, to: picks.count, by: Self.blockColumns) {
                let columns = block..<min(picks.count, block + Self.blockColumns)
                for i in idx.indices where pickSlot[i] < 0 {
                    toPicks.fill(points[i], into: &row, columns: columns)
                    for slot in columns where row[slot] > best[i] { best[i] = row[slot]; bestSlot[i] = slot }
                }
            }
            for i in idx.indices {
                if pickSlot[i] >= 0 {
                    carry(weights[i], to: pickSlot[i])
                    value += weights[i] * Double(kernel.similarity(points[i], points[i]))
                } else {
                    carry(weights[i], to: bestSlot[i])
                    value += weights[i] * Double(best[i])
                }
            }
            for (slot, p) in picks.enumerated() {
                let e = union[idx[p]]
                merged.append(.init(record: e.record, weight: carried[slot] + compensation[slot], classIndex: e.classIndex, origin: e.origin))
            }
        }
        // Same order as the selector's output: by class, then id (shards may share ids: then by origin).
        func key(_ i: Int) -> (Int, UInt64, Int, UInt64) {
            (merged[i].classIndex, merged[i].record.position, merged[i].origin?.shard ?? 0, merged[i].origin?.position ?? 0)
        }
        let order = merged.indices.sorted { key($0) < key($1) || (key($0) == key($1) && $0 < $1) }
        return Result(coreset: WeightedCoreset(elements: order.map { merged[$0] }), objective: objective,
                      value: value, ceiling: ceiling, unionCount: union.count)
    }

    /// k split over classes by largest remainders (proportional to weight, or equal), capped at each
    /// class's size with the surplus handed on, and at least one element per class when k allows.
    static func budgets(k: Int, classIds: [Int], split: SelectorConfiguration.BudgetSplit, regression: Bool,
                        sizes: [Int], weights: [Double]) -> [Int] {
        let n = classIds.count
        guard n > 0 else { return [] }
        if regression || n == 1 { return [min(k, sizes[0])] + Array(repeating: 0, count: n - 1) }
        var b = [Int](repeating: 0, count: n)
        var open = Set(0..<n)
        var left = k
        // Each round shares what is left over the classes with room; at most n rounds.
        while left > 0 && !open.isEmpty {
            let ids = open.sorted()
            let total = ids.reduce(0.0) { $0 + (split == .equal ? 1 : max(weights[$1], 0)) }
            var share: [(frac: Double, c: Int)] = []
            var used = 0
            for c in ids {
                let q = total > 0 ? Double(left) * (split == .equal ? 1 : max(weights[c], 0)) / total : Double(left) / Double(ids.count)
                let whole = Int(q.rounded(.down))
                b[c] += whole
                used += whole
                share.append((q - Double(whole), c))
            }
            share.sort { $0.frac > $1.frac || ($0.frac == $1.frac && $0.c < $1.c) }
            for t in 0..<(left - used) { b[share[t % share.count].c] += 1 }
            left = 0
            for c in ids where b[c] >= sizes[c] {
                left += b[c] - sizes[c]
                b[c] = sizes[c]
                open.remove(c)
            }
        }
        // A class without an element would lose its weight: take one from the largest share.
        if k >= n {
            for c in 0..<n where b[c] == 0 && sizes[c] > 0 {
                let donor = (0..<n).max { b[$0] < b[$1] || (b[$0] == b[$1] && $0 > $1) }!
                b[donor] -= 1
                b[c] = 1
            }
        }
        return b
    }
}
