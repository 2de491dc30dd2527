import Testing
@testable import CoresetKit

/// The mini-batch passes against the one-record passes: equal bit for bit, whatever the batch.
struct BatchPassTests {
    /// Sparse records over `dimension` features, some past the network's input layer, some values zero,
    /// one record empty.
    static func records(count: Int, dimension: Int, classes: Int, seed: UInt64) -> [Record] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { i in
            var idx: [UInt32] = [], vals: [Float] = []
            if i != 3 {
                for j in 0..<(dimension + 4) where rng.nextUnit() < 0.5 {
                    idx.append(UInt32(j))
                    vals.append(rng.nextUnit() < 0.1 ? 0 : Float(rng.nextUnit() * 4 - 2))
                }
            }
            return Record(label: Double(i % classes), features: FeatureVector(indices: idx, values: vals),
                          weight: 0.25 + rng.nextUnit() * 2, position: UInt64(i))
        }
    }

    static let shapes: [[Int]] = [[5], [37, 5], [70, 33], [64, 32, 8]]

    @Test(arguments: shapes, [1, 3, 17])
    func batchForwardEqualsOneRecordForward(hidden: [Int], batch: Int) {
        let net = NeuralNetwork(inputDimension: 41, hidden: hidden, classCount: 4, seed: 5)
        let records = Self.records(count: batch, dimension: 41, classes: 4, seed: UInt64(7 + batch))
        var work = NeuralNetwork.BatchWorkspace()
        // Twice, so the second batch runs in the first one's buffers.
        for round in 0..<2 {
            let rows = round == 0 ? records : Array(records.reversed())
            net.forward(rows, into: &work)
            #expect(work.rows == rows.count)
            for (r, record) in rows.enumerated() {
                #expect(Array(work.probabilities(ofRow: r)) == net.probabilities(record.features), "row \(r)")
            }
        }
    }

    @Test(arguments: shapes)
    func batchGradientEqualsTheOneRecordGradientsSummed(hidden: [Int]) {
        let net = NeuralNetwork(inputDimension: 41, hidden: hidden, classCount: 4, seed: 9)
        let records = Self.records(count: 29, dimension: 41, classes: 4, seed: 13)
        // Some records skipped as fitted, some given a zero or a larger backward weight.
        let losses = records.map { NeuralNetwork.crossEntropy(net.probabilities($0.features), label: $0.classIndex) }
        let skipBelow = losses.sorted()[4]
        func scale(_ row: Int, _ loss: Double) -> Double { row % 5 == 1 ? 0 : row % 3 == 0 ? 2.5 : 1 }

        var single = NeuralNetwork.Gradient(for: net)
        var work = NeuralNetwork.Workspace(for: net)
        var singleCalls: [Int] = []
        var singleAdded: [Bool] = []
        for (row, r) in records.enumerated() {
            let out = net.accumulateGradient(r, into: &single, work: &work, skipBelow: skipBelow,
                                             backwardWeight: { singleCalls.append(row); return scale(row, $0) })
            singleAdded.append(out.backpropagated)
        }

        var batched = NeuralNetwork.Gradient(for: net)
        var batchWork = NeuralNetwork.BatchWorkspace()
        var batchCalls: [Int] = []
        // Two batches into one gradient, as a step of two halves would add them.
        for part in [records[..<11], records[11...]] {
            let offset = part.startIndex
            net.accumulateGradients(Array(part), into: &batched, work: &batchWork, skipBelow: skipBelow,
                                    backwardWeight: { row, loss in
                                        #expect(loss == losses[offset + row])
                                        batchCalls.append(offset + row)
                                        return scale(offset + row, loss)
                                    })
            #expect(batchWork.backpropagated == Array(singleAdded[part.indices]))
            #expect(batchWork.losses == Array(losses[part.indices]))
        }
        #expect(batchCalls == singleCalls)
        #expect(singleAdded.contains(false) && singleAdded.contains(true))
        #expect(batched.weights == single.weights)
        #expect(batched.biases == single.biases)
        #expect(batched.lossSum == single.lossSum)
        #expect(batched.weightSum == single.weightSum)
        #expect(batched.touchedRows == single.touchedRows)
        // Reset clears what the batch touched.
        batched.reset(for: net)
        #expect(batched.weights.allSatisfy { $0.allSatisfy { $0 == 0 } })
        #expect(batched.touchedRows.isEmpty)
    }

    @Test func classificationsOfANetworkEqualItsOneRecordPredictions() {
        let net = NeuralNetwork(inputDimension: 41, hidden: [37, 5], classCount: 4, seed: 2)
        let records = Self.records(count: 150, dimension: 41, classes: 4, seed: 21)
        let model = TrainedModel.network(net)
        let batched = model.classifications(records)
        #expect(batched.count == records.count)
        for (r, record) in records.enumerated() {
            #expect(batched[r].prediction == model.predict(record.features), "row \(r)")
            #expect(batched[r].probabilities == model.probabilities(record.features), "row \(r)")
        }
    }

    @Test func aBatchOfNoRecordsAddsNothing() {
        let net = NeuralNetwork(inputDimension: 6, hidden: [4], classCount: 3, seed: 1)
        var g = NeuralNetwork.Gradient(for: net)
        var work = NeuralNetwork.BatchWorkspace()
        net.accumulateGradients([], into: &g, work: &work)
        #expect(g.weightSum == 0 && work.rows == 0)
        #expect(g.weights.allSatisfy { $0.allSatisfy { $0 == 0 } })
    }
}

/// The kernels' AVX and baseline versions give the same bits (serialized: the switch is process-wide).
@Suite(.serialized)
struct KernelVersionTests {
    @Test(arguments: BatchPassTests.shapes)
    func avxAndBaselineKernelsAgreeBitForBit(hidden: [Int]) {
        let net = NeuralNetwork(inputDimension: 41, hidden: hidden, classCount: 4, seed: 3)
        let records = BatchPassTests.records(count: 23, dimension: 41, classes: 4, seed: 17)
        func pass() -> (NeuralNetwork.Gradient, [Float]) {
            var g = NeuralNetwork.Gradient(for: net)
            var work = NeuralNetwork.BatchWorkspace()
            net.accumulateGradients(records, into: &g, work: &work)
            return (g, (0..<records.count).flatMap { Array(work.probabilities(ofRow: $0)) })
        }
        let before = NetworkKernels.useAVX(true)
        defer { NetworkKernels.useAVX(before) }
        let (fastGradient, fastProbabilities) = pass()
        NetworkKernels.useAVX(false)
        let (baseGradient, baseProbabilities) = pass()
        #expect(fastProbabilities == baseProbabilities)
        #expect(fastGradient.weights == baseGradient.weights)
        #expect(fastGradient.biases == baseGradient.biases)
    }
}
