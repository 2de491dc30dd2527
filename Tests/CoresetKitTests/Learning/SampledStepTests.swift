import Foundation
import Testing
@testable import CoresetKit

/// Backward passes sampled by loss (`BackwardSampler`) and the cached mode's InfoBatch-style pruning:
/// both leave work out and reweight what is kept so the step's expected gradient is unchanged.
@Suite struct SampledStepTests {
    @Test func theSamplerKeepsLargeErrorsAndSamplesSmallOnesInProportion() {
        var s = BackwardSampler(factor: 1.5, memory: 1e9, seed: 3)
        // The first record sets the mean error ḡ: g = 1 − e^(−ℓ) = 0.5 at ℓ = ln 2, so its q = 0.5 / 0.75.
        let first = s.weight(forLoss: log(2))
        #expect(first == 0 || abs(first - 1.5) < 1e-9)
        #expect(abs(s.meanError - 0.5) < 1e-12)
        // g ≥ factor · ḡ = 0.75: always kept, weight 1.
        #expect(s.weight(forLoss: 50) == 1 && s.weight(forLoss: 2) == 1)
        // g = 0.1 (ℓ = −ln 0.9): q = 0.1 / (1.5 · ḡ) ≈ 0.13; kept ones weigh 1/q.
        let loss = -log(0.9)
        var kept = 0, weightSum = 0.0
        let n = 20_000
        for _ in 0..<n {
            let w = s.weight(forLoss: loss)
            if w > 0 { kept += 1 }
            weightSum += w
        }
        let q = 0.1 / (1.5 * s.meanError)
        #expect(abs(Double(kept) / Double(n) - q) < 0.01, "kept \(kept) of \(n), q = \(q)")
        // Unbiased: the weights average to 1.
        #expect(abs(weightSum / Double(n) - 1) < 0.08, "mean weight \(weightSum / Double(n))")
        // factor ≤ 1 is off.
        var off = BackwardSampler(factor: 1, seed: 3)
        #expect((0..<100).allSatisfy { _ in off.weight(forLoss: 1e-6) == 1 })
    }

    @Test func sampledBackwardPassesGiveTheFullGradientOnAverage() {
        let records = NeuralNetworkTests.randomRecords(count: 24, dimension: 6, classes: 3, seed: 31)
        let net = NeuralNetwork(inputDimension: 6, hidden: [5, 4], classCount: 3, seed: 8)
        var work = NeuralNetwork.Workspace(for: net)
        var plain = NeuralNetwork.Gradient(for: net)
        for r in records { net.accumulateGradient(r, into: &plain, work: &work) }
        /// Relative distance of the mean sampled gradient from the plain one, and the backward passes skipped.
        func sampled(unweighted: Bool) -> (error: Double, skipped: Int) {
            var sampler = BackwardSampler(factor: 3, seed: 12)
            var sum = NeuralNetwork.Gradient(for: net)
            var skipped = 0
            let repeats = 3000
            for _ in 0..<repeats {
                for r in records {
                    let out = net.accumulateGradient(r, into: &sum, work: &work, skipBelow: -1, backwardWeight: {
                        let w = sampler.weight(forLoss: $0)
                        return unweighted && w > 0 ? 1 : w
                    })
                    if !out.backpropagated { skipped += 1 }
                }
            }
            // Weights and losses count in full whether or not the backward pass ran.
            #expect(abs(sum.weightSum - Double(repeats) * plain.weightSum) < 1e-6)
            var error = 0.0, norm = 0.0
            for l in plain.weights.indices {
                for (a, b) in zip(sum.weights[l], plain.weights[l]) {
                    let d = Double(a) / Double(repeats) - Double(b)
                    error += d * d
                    norm += Double(b) * Double(b)
                }
            }
            return (error.squareRoot() / norm.squareRoot(), skipped)
        }
        let weighted = sampled(unweighted: false)
        #expect(weighted.skipped > 3000 * records.count / 4, "skipped \(weighted.skipped)")
        #expect(weighted.error < 0.05, "relative error \(weighted.error)")
        // Without the 1/q weights the same sampling is biased toward large errors: the check can tell.
        let unweighted = sampled(unweighted: true)
        #expect(unweighted.error > 0.1, "relative error without weights \(unweighted.error)")
    }

    /// The cached mode with candidates = B (no facility location), no drops or skip: pruning only, by
    /// InfoBatch's rule (`rate`) or in proportion (`factor`).
    static func pruning(rate: Double, factor: Double) -> (config: CrestConfiguration, network: NeuralNetwork) {
        var c = CrestConfiguration(batches: .cached)
        c.batchSize = 32
        c.subsetSize = 32
        c.dropLearned = false
        c.skipFittedLoss = 0
        c.pruneRate = rate
        c.pruneFactor = factor
        c.seed = 4
        return (c, NeuralNetwork(inputDimension: 784, hidden: [16], classCount: 10, seed: 5))
    }

    @Test func pruningLeavesOutFittedRecordsAndWeighsTheRestToTheWholePass() {
        let (train, _) = CrestTrainerTests.load()
        var (c, net) = Self.pruning(rate: 0.5, factor: 0)
        var t = CrestTrainer(network: net, optimizer: NetworkOptimizer(schedule: .constant(eta0: 0.05)), configuration: c)
        // The first pass has no cached losses: nothing is pruned, every record is trained on once.
        t.train(steps: 32, pool: train)
        #expect(t.statistics.prunedRecords == 0 && t.statistics.backpropagated == 1000)
        // The next pass: records below the pass's mean cached error are left out half the time and the kept
        // ones weigh 2, so the weights of a pass sum to about its records.
        var forwarded = 0, weightSum: Float = 0, doubled = 0
        repeat {
            let picks = t.cachedBatch(pool: train)
            forwarded += picks.count
            weightSum += picks.reduce(0) { $0 + $1.1 }
            doubled += picks.filter { $0.1 == 2 }.count
            #expect(picks.count <= 32)
        } while t.passCursor < t.passOrder.count
        #expect(t.pruneBelowError > 0)
        #expect(t.statistics.prunedRecords > 100 && forwarded == 1000 - t.statistics.prunedRecords)
        #expect(doubled > 100)
        #expect(abs(weightSum - 1000) < 80, "weights of one pass sum to \(weightSum)")
        // Without pruning, the same pass forwards every record with weight 1.
        c.pruneRate = 0
        var plain = CrestTrainer(network: net, optimizer: NetworkOptimizer(schedule: .constant(eta0: 0.05)), configuration: c)
        plain.train(steps: 32, pool: train)
        let picks = plain.cachedBatch(pool: train)
        #expect(picks.count == 32 && picks.allSatisfy { $0.1 == 1 } && plain.statistics.prunedRecords == 0)
    }

    /// Proportional pruning (`pruneFactor`): a record is kept with probability
    /// min(1, max(0.1, e / (2 ē))) of its freshly cached error and weighs the inverse, so a pass's weights still sum
    /// to about its records, more records are left out than by InfoBatch's rule, and the ones with large
    /// errors are always kept.
    @Test func proportionalPruningKeepsRecordsByTheirCachedErrorAndStaysUnbiased() {
        let (train, _) = CrestTrainerTests.load()
        let (c, net) = Self.pruning(rate: 0, factor: 2)
        var t = CrestTrainer(network: net, optimizer: NetworkOptimizer(schedule: .constant(eta0: 0.05)), configuration: c)
        t.train(steps: 32, pool: train)
        #expect(t.statistics.prunedRecords == 0 && t.statistics.backpropagated == 1000, "the first pass has nothing cached")
        var forwarded = 0, weightSum: Float = 0, heaviest: Float = 0
        repeat {
            let picks = t.cachedBatch(pool: train)
            forwarded += picks.count
            weightSum += picks.reduce(0) { $0 + $1.1 }
            heaviest = max(heaviest, picks.map(\.1).max() ?? 0)
            #expect(picks.allSatisfy { $0.1 >= 1 })
        } while t.passCursor < t.passOrder.count
        #expect(t.passMeanError > 0)
        #expect(forwarded == 1000 - t.statistics.prunedRecords)
        #expect(heaviest <= 10.001 && heaviest > 2, "the heaviest kept record weighs \(heaviest)")
        #expect(abs(weightSum - 1000) < 120, "weights of one pass sum to \(weightSum)")
        // More left out than by InfoBatch's rule on the same network and cache.
        var u = CrestTrainer(network: net, optimizer: NetworkOptimizer(schedule: .constant(eta0: 0.05)),
                             configuration: Self.pruning(rate: 0.5, factor: 0).config)
        u.train(steps: 32, pool: train)
        repeat { _ = u.cachedBatch(pool: train) } while u.passCursor < u.passOrder.count
        #expect(t.statistics.prunedRecords > u.statistics.prunedRecords, "proportional \(t.statistics.prunedRecords), InfoBatch \(u.statistics.prunedRecords)")
    }

    /// Proportional pruning's floor doubles for each pass a record's cached error went unrefreshed, so a record
    /// left out comes back within a few passes and a stale error never carries the full weight of 10.
    @Test func proportionalPruningsFloorRisesWithStaleness() {
        let (train, _) = CrestTrainerTests.load()
        let (c, net) = Self.pruning(rate: 0, factor: 2)
        var t = CrestTrainer(network: net, optimizer: NetworkOptimizer(schedule: .constant(eta0: 0.05)), configuration: c)
        t.train(steps: 32, pool: train)
        // Passes of choices alone (no steps, so no forward pass refreshes a cached error): each ages every error.
        var heaviest: [Float] = [], pruned: [Int] = []
        for _ in 0..<5 {
            var h: Float = 0
            let before = t.statistics.prunedRecords
            repeat { h = max(h, t.cachedBatch(pool: train).map(\.1).max() ?? 0) } while t.passCursor < t.passOrder.count
            heaviest.append(h)
            pruned.append(t.statistics.prunedRecords - before)
        }
        // Floors 0.1, 0.2, 0.4, 0.8 and 1: weights at most 10, 5, 2.5, 1.25 and 1.
        for (h, bound) in zip(heaviest, [10, 5, 2.5, 1.25, 1] as [Float]) { #expect(h <= bound + 0.001, "heaviest \(heaviest)") }
        #expect(heaviest[0] > 2.5, "fresh errors: some kept record weighs more than the third pass allows")
        #expect(pruned[0] > pruned[2] && pruned[4] == 0, "left out per pass: \(pruned)")
    }

    @Test func theDefaultTakesTheNextBRecordsPrunesAndSamplesAndReachesEightyPercent() {
        let c0 = CrestConfiguration()
        #expect(c0.batches == .sampled && c0.backwardSampling == 2 && c0.pruneRate == 0.5 && c0.pruneFactor == 0)
        #expect(!c0.dropLearned && c0.skipFittedLoss == 0)
        // The mnist slice budget of the other modes' tests: 1,000 records, mlp:32, 300 steps of B = 32.
        let (train, test) = CrestTrainerTests.load()
        var c = c0
        c.batchSize = 32
        c.seed = 9
        let net = NeuralNetwork(inputDimension: 784, hidden: [32], classCount: 10, seed: 1)
        func run() -> CrestTrainer {
            var t = CrestTrainer(network: net, optimizer: NetworkOptimizer(schedule: .exponential(eta0: 0.05, rate: 0.05, every: 300), l2: 1e-5),
                                 configuration: c)
            t.train(steps: 300, pool: train)
            return t
        }
        var t = run()
        let accuracy = t.network.evaluate(test).accuracy
        #expect(accuracy >= 0.8, "test accuracy \(accuracy)")
        #expect(t.statistics.steps == 300 && t.statistics.selections == 0, "no facility location")
        #expect(t.statistics.prunedRecords > 0 && t.statistics.skippedBackward > 0 && t.statistics.backpropagated > 0)
        #expect(run().network == t.network, "same seed, same network")
        // Each step stands for the next B records of the pass: the ones forwarded plus the ones pruned.
        for _ in 0..<10 {
            let cursor = t.passCursor, pruned = t.statistics.prunedRecords
            let picks = t.cachedBatch(pool: train)
            guard t.passCursor > cursor else { continue }  // a new pass began
            #expect(t.passCursor - cursor == min(32, t.passOrder.count - cursor))
            #expect(picks.count + t.statistics.prunedRecords - pruned == t.passCursor - cursor)
            #expect(picks.allSatisfy { $0.1 == 1 || $0.1 == 2 })
        }
    }

    @Test func modelFilesWrittenBeforeSamplingAndPruningReadThemAsOff() throws {
        var c = CrestConfiguration()
        c.backwardSampling = 2
        c.pruneRate = 0.3
        c.pruneFactor = 3
        let data = try JSONEncoder().encode(c)
        #expect(try JSONDecoder().decode(CrestConfiguration.self, from: data) == c)
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        object["pruneFactor"] = nil
        let infoBatchEra = try JSONDecoder().decode(CrestConfiguration.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(infoBatchEra.pruneFactor == 0 && infoBatchEra.pruneRate == 0.3, "files before proportional pruning keep InfoBatch's rule")
        object["backwardSampling"] = nil
        object["pruneRate"] = nil
        let old = try JSONDecoder().decode(CrestConfiguration.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(old.backwardSampling == 0 && old.pruneRate == 0 && old.pruneFactor == 0)
    }
}
