/// CREST's mini-batch coreset: from a random subset of records, per class, the facility-location
/// greedy picks the records whose last-layer gradient proxies (softmax output minus one-hot label)
/// cover the others best; each pick is weighted by how many candidates it is the nearest pick for.
///
/// Paper: Yang, Xu, Mirzasoleiman et al., "Towards Sustainable Learning: Coresets for Data-efficient
/// Deep Learning" (CREST), ICML 2023. Similarity is CRAIG's s = D − d (Euclidean, D the largest
/// distance within the class), greedy is the selector's lazy greedy (`_Greedy.lazy`).
public enum MiniBatchCoreset {
    /// Picks about `budget` of the candidates.
    /// - Parameters:
    ///   - proxies: `candidateCount × width` row-major gradient proxies.
    ///   - classes: class id of each candidate.
    ///   - budget: mini-batch size; classes share it in proportion to their counts (largest
    ///     remainder), every class present gets at least one pick while the budget lasts.
    /// - Returns: picked candidate indices and their weights, normalised to mean 1 over the batch
    ///   (so the weights sum to the number of picks; each is proportional to the candidates it covers).
    /// - Complexity: O(Σ_c n_c² · width) time for the class similarity matrices, O(max n_c²) memory.
    public static func select(proxies: [Float], width: Int, classes: [Int], budget: Int) -> (indices: [Int], weights: [Float]) {
        let n = classes.count
        precondition(proxies.count == n * width, "proxies must be candidateCount × width")
        guard n > 0, budget > 0 else { return ([], []) }
        if budget >= n { return (Array(0..<n), [Float](repeating: 1, count: n)) }
        var members: [Int: [Int]] = [:]
        for i in 0..<n { members[classes[i], default: []].append(i) }
        let classIds = members.keys.sorted()
        let budgets = shareBudget(budget, counts: classIds.map { members[$0]!.count })
        var indices: [Int] = [], counts: [Float] = []
        for (c, classId) in classIds.enumerated() {
            let m = members[classId]!
            let b = budgets[c]
            if b == 0 { continue }
            // Pairwise distances within the class (rows of candidates against the class as ground set).
            var distance = [Float](repeating: 0, count: m.count * m.count)
            var largest: Float = 0
            proxies.withUnsafeBufferPointer { p in
                for a in 0..<m.count {
                    for z in (a + 1)..<max(m.count, a + 1) {
                        var s: Float = 0
                        let pa = m[a] * width, pz = m[z] * width
                        for k in 0..<width {
                            let d = p[pa + k] - p[pz + k]
                            s += d * d
                        }
                        let d = s.squareRoot()
                        distance[a * m.count + z] = d
                        distance[z * m.count + a] = d
                        largest = max(largest, d)
                    }
                }
            }
            // Identical proxies (e.g. every record already fitted): any pick covers all; keep D > 0.
            let scale = max(largest, 1e-6)
            var cover = [Float](repeating: 0, count: m.count)
            let picked = _Greedy.lazy(candidateCount: m.count, groundCount: m.count, budget: b, cover: &cover) { i, row in
                for j in 0..<m.count { row[j] = scale - distance[i * m.count + j] }
            }
            // Nearest-pick counts (ties to the earlier pick), CRAIG's weights.
            var classCounts = [Float](repeating: 0, count: picked.count)
            for j in 0..<m.count {
                var best = 0
                for q in 1..<picked.count where distance[picked[q] * m.count + j] < distance[picked[best] * m.count + j] { best = q }
                classCounts[best] += 1
            }
            indices.append(contentsOf: picked.map { m[$0] })
            counts.append(contentsOf: classCounts)
        }
        // Counts sum to n; mean 1 over the picks.
        let norm = Float(indices.count) / Float(n)
        return (indices, counts.map { $0 * norm })
    }

    /// Splits `budget` across classes in proportion to `counts` (largest remainder), giving every
    /// non-empty class at least one while the budget lasts and never more than its count.
    static func shareBudget(_ budget: Int, counts: [Int]) -> [Int] {
        let total = counts.reduce(0, +)
        guard total > 0 else { return counts.map { _ in 0 } }
        if budget >= total { return counts }
        var share = counts.map { Int(Double(budget) * Double($0) / Double(total)) }
        // Every present class gets one if it can (CRAIG's ceil), taken from the largest shares.
        for c in counts.indices where counts[c] > 0 && share[c] == 0 { share[c] = 1 }
        var used = share.reduce(0, +)
        while used > budget, let c = share.indices.filter({ share[$0] > 1 }).max(by: { share[$0] < share[$1] }) {
            share[c] -= 1
            used -= 1
        }
        let remainders = counts.indices.sorted {
            let a = Double(budget) * Double(counts[$0]) / Double(total) - Double(share[$0])
            let b = Double(budget) * Double(counts[$1]) / Double(total) - Double(share[$1])
            return a != b ? a > b : $0 < $1
        }
        var k = 0
        while used < budget {
            let c = remainders[k % remainders.count]
            if share[c] < counts[c] {
                share[c] += 1
                used += 1
            }
            k += 1
            if k > 4 * remainders.count * (budget + 1) { break }
        }
        return share
    }
}
