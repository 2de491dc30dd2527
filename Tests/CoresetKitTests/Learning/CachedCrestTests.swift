import Foundation
import Testing
@testable import CoresetKit

/// The `cached` mini-batch coresets (proxies cached from training) and the skip of fitted records.
@Suite struct CachedCrestTests {
    static func configuration() -> CrestConfiguration {
        var c = CrestConfiguration(batches: .cached)
        #expect(c.dropLearned && c.skipFittedLoss == 0.05 && c.backwardSampling == 0 && c.pruneRate == 0, "cached's defaults")
        c.batchSize = 32
        c.subsetSize = 128
        c.seed = 9
        return c
    }

    @Test func aFittedRecordAddsItsLossAndWeightButNoGradient() {
        let records = NeuralNetworkTests.randomRecords(count: 5, dimension: 6, classes: 3, seed: 21)
        let net = NeuralNetwork(inputDimension: 6, hidden: [5, 4], classCount: 3, seed: 4)
        for r in records {
            var plain = NeuralNetwork.Gradient(for: net), kept = NeuralNetwork.Gradient(for: net), skipped = NeuralNetwork.Gradient(for: net)
            var work = NeuralNetwork.Workspace(for: net)
            let p = net.accumulateGradient(r, into: &plain, work: &work)
            let loss = NeuralNetwork.crossEntropy(p, label: r.classIndex)
            // Below its loss: the full gradient, as without the option.
            let below = net.accumulateGradient(r, into: &kept, work: &work, skipBelow: loss / 2)
            #expect(below.backpropagated && abs(below.loss - loss) < 1e-12)
            #expect(kept.weights == plain.weights && kept.biases == plain.biases)
            // Above it: only loss and weight.
            let above = net.accumulateGradient(r, into: &skipped, work: &work, skipBelow: loss * 2)
            #expect(!above.backpropagated)
            #expect(skipped.weights.allSatisfy { $0.allSatisfy { $0 == 0 } } && skipped.biases.allSatisfy { $0.allSatisfy { $0 == 0 } })
            #expect(skipped.lossSum == plain.lossSum && skipped.weightSum == plain.weightSum)
        }
    }

    @Test func theFirstPassVisitsEveryRecordOnceThenStepsAreCoresetsOfMoreCandidates() {
        let (train, _) = CrestTrainerTests.load()
        var c = Self.configuration()
        c.dropLearned = false
        c.skipFittedLoss = 0
        let net = NeuralNetwork(inputDimension: 784, hidden: [16], classCount: 10, seed: 5)
        var t = CrestTrainer(network: net, optimizer: NetworkOptimizer(schedule: .constant(eta0: 0.05)), configuration: c)
        // 1,000 records, B = 32: 31 full mini-batches and one of 8 cover the pool, each record once.
        t.train(steps: 32, pool: train)
        #expect(t.statistics.selections == 0)
        #expect(t.statistics.backpropagated == 1000)
        #expect(t.proxySlot.count == 1000)
        #expect(Set(train.map(\.position)) == Set(t.proxySlot.keys))
        // Every cached proxy is p − onehot: its entries sum to zero and the label's is negative.
        for r in train.prefix(50) {
            let base = t.proxySlot[r.position]! * 10
            let proxy = t.cachedProxies[base..<(base + 10)]
            #expect(abs(proxy.reduce(0, +)) < 1e-4 && proxy[base + r.classIndex] < 0)
        }
        // Now every candidate is seen: each step reduces 128 of them to at most 32, weighted so the
        // weights sum to the 128 candidates they stand for.
        for _ in 0..<5 {
            let cursor = t.passCursor
            let picks = t.cachedBatch(pool: train)
            let drawn = t.passCursor >= cursor ? t.passCursor - cursor : t.passCursor
            #expect(drawn == 128 || t.passCursor == t.passOrder.count)
            #expect(picks.count <= 32 && picks.count >= 10)
            #expect(abs(picks.reduce(Float(0)) { $0 + $1.1 } - Float(drawn)) < 1e-2)
            #expect(Set(picks.map(\.0)).count == picks.count)
        }
        let before = t.statistics.selections
        t.train(steps: 10, pool: train)
        #expect(t.statistics.selections == before + 10)
        #expect(t.statistics.checks == 0, "the cached mode fits no loss model")
    }

    @Test func fixedSeedCachedRunOnTheMnistSliceReachesEightyPercent() {
        // The same budget as the fresh-subset test: 1,000 mnist records, mlp:32, 300 steps of B = 32;
        // measured 0.873 test accuracy (threshold 0.8); an untrained network scores about 0.1.
        let (train, test) = CrestTrainerTests.load()
        let net = NeuralNetwork(inputDimension: 784, hidden: [32], classCount: 10, seed: 1)
        func run() -> CrestTrainer {
            var t = CrestTrainer(network: net, optimizer: NetworkOptimizer(schedule: .exponential(eta0: 0.05, rate: 0.05, every: 300), l2: 1e-5),
                                 configuration: Self.configuration())
            t.train(steps: 300, pool: train)
            return t
        }
        let t = run()
        let accuracy = t.network.evaluate(test).accuracy
        #expect(accuracy >= 0.8, "test accuracy \(accuracy)")
        #expect(t.statistics.steps == 300)
        #expect(t.statistics.droppedRecords > 0, "some of 1,000 records are learned within 300 steps")
        #expect(t.statistics.skippedBackward > 0 && t.statistics.backpropagated > 0)
        #expect(run().network == t.network, "same seed, same network")
    }

    @Test func learnedRecordsLeaveThePassAndComeBackBeforeThePoolStarves() {
        // Two trivially separable classes: every loss soon falls below 0.1.
        var pool: [Record] = []
        for i in 0..<400 {
            let x: [Float] = i % 2 == 0 ? [1, 0] : [0, 1]
            pool.append(Record(label: Double(i % 2), features: FeatureVector(dense: x), position: UInt64(i)))
        }
        var c = Self.configuration()
        c.skipFittedLoss = 0
        let net = NeuralNetwork(inputDimension: 2, hidden: [8], classCount: 2, seed: 4)
        var t = CrestTrainer(network: net, optimizer: NetworkOptimizer(schedule: .constant(eta0: 0.2)), configuration: c)
        t.train(steps: 40, pool: pool)
        #expect(t.statistics.droppedRecords > 0)
        // A pass draws only records not judged learned.
        t.beginPass(pool: pool)
        if !t.dropped.isEmpty {
            #expect(t.passOrder.allSatisfy { !t.dropped.contains(pool[$0].position) })
        }
        // Training goes on however many are dropped: marks are cleared when fewer than 128 would remain.
        t.train(steps: 200, pool: pool)
        #expect(t.statistics.steps == 240)
        #expect(t.network.evaluate(pool).accuracy == 1)
        #expect(t.passOrder.count >= 128)
    }

    @Test func aReplacedRecordIsUnseenAndTheCacheIsCompacted() {
        let (train, _) = CrestTrainerTests.load()
        var c = Self.configuration()
        c.dropLearned = false
        var t = CrestTrainer(network: NeuralNetwork(inputDimension: 784, hidden: [8], classCount: 10, seed: 6),
                             optimizer: NetworkOptimizer(schedule: .constant(eta0: 0.05)), configuration: c)
        var pool = Array(train.prefix(200))
        t.train(steps: 7, pool: pool)
        #expect(t.proxySlot.count == 200)
        // A stream buffer replaces records: the newcomers have no proxy and are taken first.
        for i in 0..<200 { pool[i] = train[200 + i] }
        t.invalidate()
        let picks = t.cachedBatch(pool: pool)
        #expect(picks.count == 32 && picks.allSatisfy { $0.1 == 1 })
        t.train(steps: 20, pool: pool)
        #expect(t.proxySlot.count == 400)
        // Compaction keeps the proxies of the records present, and only those.
        t.compactCache(pool: pool)
        #expect(t.proxySlot.count == 200 && t.cachedProxies.count == 200 * 10)
        #expect(Set(t.proxySlot.keys) == Set(pool.map(\.position)))
        t.compactCache(pool: Array(train.prefix(10)))
        #expect(t.proxySlot.isEmpty && t.cachedProxies.isEmpty)
    }

    @Test func modelFilesWrittenBeforeTheSkipReadItAsOff() throws {
        let c = CrestConfiguration()
        let data = try JSONEncoder().encode(c)
        #expect(try JSONDecoder().decode(CrestConfiguration.self, from: data) == c)
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        object["skipFittedLoss"] = nil
        object["batches"] = "coreset"
        let old = try JSONDecoder().decode(CrestConfiguration.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(old.skipFittedLoss == 0 && old.batches == .coreset)
        object["batchSize"] = nil
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(CrestConfiguration.self, from: JSONSerialization.data(withJSONObject: object)) }
    }
}
