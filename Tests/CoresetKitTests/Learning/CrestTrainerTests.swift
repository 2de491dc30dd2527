import Foundation
import Testing
@testable import CoresetKit

@Suite struct CrestTrainerTests {
    static let mnistTrain = TestSupport.fixtures.appendingPathComponent("mnist/mnist.train1000.svm.zst").path
    static let mnistTest = TestSupport.fixtures.appendingPathComponent("mnist/mnist.test300.svm.zst").path

    static func load() -> (train: [Record], test: [Record]) {
        let train = try! loadRecords(path: mnistTrain, options: ReaderOptions(), labels: nil) { _ in }
        let test = try! loadRecords(path: mnistTest, options: ReaderOptions(), labels: train.labels) { _ in }
        return (train.records, test.records)
    }

    /// Settings small enough for a debug build.
    static func smallConfiguration(_ batches: CrestConfiguration.Batches) -> CrestConfiguration {
        var c = CrestConfiguration(batches: batches)
        c.batchSize = 32
        c.subsetCount = 4
        c.subsetSize = 128
        c.checkSize = 64
        c.seed = 7
        // These tests pin the fresh-subset rounds as they were designed: no drops, no skipped backward passes.
        c.dropLearned = false
        c.learnedChecks = 3
        c.skipFittedLoss = 0
        return c
    }

    @Test func fixedSeedRunOnTheMnistSliceReachesEightyPercent() {
        // 1,000 mnist training records, 300 test records, mlp:32, 300 steps of B = 32 (about 10 passes):
        // measured 0.867 test accuracy (threshold 0.8); a network that learned nothing scores about 0.1.
        let (train, test) = Self.load()
        let net = NeuralNetwork(inputDimension: 784, hidden: [32], classCount: 10, seed: 1)
        #expect(net.evaluate(test).accuracy < 0.3)
        var trainer = CrestTrainer(network: net, optimizer: NetworkOptimizer(schedule: .exponential(eta0: 0.05, rate: 0.05, every: 300), l2: 1e-5),
                                   configuration: Self.smallConfiguration(.coreset))
        trainer.train(steps: 300, pool: train)
        let s = trainer.network.evaluate(test)
        #expect(s.accuracy >= 0.8, "test accuracy \(s.accuracy)")
        #expect(trainer.statistics.steps == 300)
        #expect(trainer.statistics.selections >= 2, "the loss model should break at least once in 300 steps")
        #expect(trainer.statistics.checks == 300 / 4)
        // Same seed, same result.
        var again = CrestTrainer(network: net, optimizer: NetworkOptimizer(schedule: .exponential(eta0: 0.05, rate: 0.05, every: 300), l2: 1e-5),
                                 configuration: Self.smallConfiguration(.coreset))
        again.train(steps: 300, pool: train)
        #expect(again.network == trainer.network)
    }

    @Test func reselectionFollowsTheLossGapThreshold() {
        let (train, _) = Self.load()
        let net = NeuralNetwork(inputDimension: 784, hidden: [16], classCount: 10, seed: 2)
        func selections(threshold: Double) -> Int {
            var c = Self.smallConfiguration(.random)
            c.lossGapThreshold = threshold
            var t = CrestTrainer(network: net, optimizer: NetworkOptimizer(schedule: .constant(eta0: 0.05)), configuration: c)
            t.train(steps: 40, pool: train)
            return t.statistics.selections
        }
        // A huge tolerance never reselects; a zero tolerance reselects at every check (every 4 steps).
        #expect(selections(threshold: 1e9) == 1)
        #expect(selections(threshold: 0) == 1 + 40 / 4 - 1)
    }

    @Test func coresetBatchesAreWeightedToMeanOne() {
        let (train, _) = Self.load()
        let net = NeuralNetwork(inputDimension: 784, hidden: [16], classCount: 10, seed: 3)
        var t = CrestTrainer(network: net, optimizer: NetworkOptimizer(schedule: .constant(eta0: 0.05)), configuration: Self.smallConfiguration(.coreset))
        t.train(steps: 1, pool: train)
        #expect(t.batches.count == 4)
        for b in t.batches {
            #expect(b.count == 32)
            #expect(abs(b.reduce(0) { $0 + $1.weight } - 32) < 1e-3)
            #expect(Set(b.map(\.position)).count == 32)
        }
        // The random baseline: the same sizes, weight 1.
        var r = CrestTrainer(network: net, optimizer: NetworkOptimizer(schedule: .constant(eta0: 0.05)), configuration: Self.smallConfiguration(.random))
        r.train(steps: 1, pool: train)
        #expect(r.batches.allSatisfy { $0.count == 32 && $0.allSatisfy { $0.weight == 1 } })
    }

    @Test func learnedRecordsAreDroppedButThePoolIsNeverStarved() {
        // Two trivially separable classes: after a little training every loss is below 0.1.
        var pool: [Record] = []
        for i in 0..<400 {
            let x: [Float] = i % 2 == 0 ? [1, 0] : [0, 1]
            pool.append(Record(label: Double(i % 2), features: FeatureVector(dense: x), position: UInt64(i)))
        }
        let net = NeuralNetwork(inputDimension: 2, hidden: [8], classCount: 2, seed: 4)
        var c = Self.smallConfiguration(.coreset)
        c.dropLearned = true
        c.lossGapThreshold = 0  // reselect at every check, so losses are observed often
        var t = CrestTrainer(network: net, optimizer: NetworkOptimizer(schedule: .constant(eta0: 0.2)), configuration: c)
        t.train(steps: 400, pool: pool)
        #expect(t.statistics.droppedRecords > 0)
        #expect(t.network.evaluate(pool).accuracy == 1)
        // Drops are forgotten for records that left the pool.
        t.retainDrops(in: Array(pool.prefix(10)))
        #expect(t.dropped.allSatisfy { $0 < 10 })
        // With every record dropped the trainer still draws (learned records come back).
        t.train(steps: 8, pool: pool)
        #expect(t.statistics.steps == 408)
    }

    @Test func networkFileRoundTripsThroughTheModelBundle() throws {
        let (train, test) = Self.load()
        var t = CrestTrainer(network: NeuralNetwork(inputDimension: 784, hidden: [12, 8], classCount: 10, seed: 5),
                             optimizer: NetworkOptimizer(schedule: .constant(eta0: 0.05)), configuration: Self.smallConfiguration(.coreset))
        t.train(steps: 10, pool: train)
        let dir = TestSupport.temporaryDirectory()
        let path = dir.appendingPathComponent("mlp.json").path
        var labels = LabelMap()
        for k in 0..<10 { _ = try? labels.label(numeric: Double(k), text: String(k)) }
        let file = NetworkModelFile(network: t.network, optimizer: t.optimizer, crest: t.configuration)
        try ModelBundle(labels: labels, featureNames: [], recordsSeen: 1000, network: file).write(to: path)
        let back = try ModelBundle.read(from: path)
        #expect(back.formatVersion == 2)
        #expect(back.model == nil)
        #expect(back.network == file)
        let net = try back.network!.network()
        #expect(net == t.network)
        guard case .network(let n) = try back.trainedModel() else { Issue.record("not a network"); return }
        for r in test.prefix(20) { #expect(n.probabilities(r.features) == t.network.probabilities(r.features)) }
        // The optimizer resumes with its momentum and clock: the next steps are the same.
        let o = back.network!.optimizer()
        #expect(o.stepCount == 10 && o.velocityWeights == t.optimizer.velocityWeights)
        var resumedNet = net, originalNet = t.network, resumedOpt = o, originalOpt = t.optimizer
        let g = net.objectiveAndGradient(Array(train.prefix(32)), l2: 0).gradient
        var raw = NeuralNetwork.Gradient(for: net)
        var work = NeuralNetwork.Workspace(for: net)
        for r in train.prefix(32) { net.accumulateGradient(r, into: &raw, work: &work) }
        #expect(g.weightSum == raw.weightSum)
        resumedOpt.step(&resumedNet, gradient: raw)
        originalOpt.step(&originalNet, gradient: raw)
        #expect(resumedNet == originalNet)
        // A linear-model reader gets a clear message, not a crash.
        #expect(throws: CoresetError.self) { try back.learner() }
        // Inconsistent shapes are refused with the layer named.
        var broken = file
        broken.weights[1].removeLast()
        #expect(throws: ModelFileError.self) { try broken.network() }
    }

    /// A stream's text in a file of its own.
    static func streamFile(_ text: String, named name: String) throws -> URL {
        let url = TestSupport.temporaryDirectory().appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// Arrivals between two steps are scored as one batch forward pass, cut at the stream's own batches and
    /// before a record that grows the network: how the input is cut must not change a bit.
    @Test func streamingRunScoresTheSameWhateverTheReadChunks() throws {
        var text = ""
        var rng = SeededGenerator(seed: 4)
        for i in 0..<700 {
            let y = i < 250 ? i % 2 : i % 3
            let a = rng.nextUnit()
            text += y == 2 ? "2 3:\(a) \(5 + i / 300):\(1 - a)\n" : "\(y) \(1 + y):\(1 - a) 3:\(a)\n"
        }
        let url = try Self.streamFile(text, named: "chunks.svm")
        var config = NetworkRunConfiguration(hidden: [6])
        config.crest = Self.smallConfiguration(.sampled)
        config.stepsPerBatch = 0.7
        config.bufferSize = 200
        config.finalEpochs = 1
        func run(chunkSize: Int) throws -> (ProgressiveValidation, NeuralNetwork) {
            var options = ReaderOptions()
            options.chunkSize = chunkSize
            let result = try NetworkStreamingRun(reader: RecordReader(inputs: [.file(url.path)], options: options), configuration: config).run()
            return (result.progressive, try #require(result.trainer).network)
        }
        let (whole, wholeNetwork) = try run(chunkSize: 1 << 20)
        let (cut, cutNetwork) = try run(chunkSize: 97)
        #expect(whole.total.count > 600)
        #expect(whole == cut)
        #expect(wholeNetwork == cutNetwork)
        #expect(wholeNetwork.classCount == 3 && wholeNetwork.inputDimension == 7)
    }

    @Test func streamingRunGrowsWithNewFeaturesAndClasses() throws {
        // The first 200 records hold classes 0-1 only and 3 features; later ones bring class 2 and feature 9.
        var text = ""
        var rng = SeededGenerator(seed: 9)
        for i in 0..<600 {
            let y = i < 200 ? i % 2 : i % 3
            let a = rng.nextUnit() * 0.2
            switch y {
            case 0: text += "0 1:\(1 - a) 2:\(a)\n"
            case 1: text += "1 2:\(1 - a) 3:\(a)\n"
            default: text += "2 3:\(a) 10:\(1 - a)\n"
            }
        }
        let url = try Self.streamFile(text, named: "grow.svm")
        var config = NetworkRunConfiguration(hidden: [8])
        config.crest = Self.smallConfiguration(.coreset)
        config.bufferSize = 300
        config.finalEpochs = 20
        config.eta0 = 0.1
        let reader = RecordReader(inputs: [.file(url.path)])
        var rows = 0
        let run = NetworkStreamingRun(reader: reader, configuration: config) { _ in rows += 1 }
        let result = try run.run()
        let t = try #require(result.trainer)
        #expect(t.network.classCount == 3)
        #expect(t.network.inputDimension == 10)
        #expect(result.bufferCount == 300)
        #expect(result.progressive.total.count == 600 - 32)  // scored from the record after the first mini-batch
        #expect(rows > 10)
        let all = try loadRecords(path: url.path, options: ReaderOptions(), labels: nil) { _ in }.records
        #expect(t.network.evaluate(all).accuracy > 0.95)
    }
}
