import Foundation
import Testing
@testable import CoresetKit

@Suite struct NeuralNetworkTests {
    /// Small random records with sparse and dense rows, three classes and unequal weights.
    static func randomRecords(count: Int, dimension: Int, classes: Int, seed: UInt64) -> [Record] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { i in
            var idx: [UInt32] = [], vals: [Float] = []
            for j in 0..<dimension where i % 2 == 0 || rng.nextUnit() < 0.4 {
                idx.append(UInt32(j))
                vals.append(Float(rng.nextUnit() * 2 - 1))
            }
            return Record(label: Double(i % classes), features: FeatureVector(indices: idx, values: vals),
                          weight: 0.5 + rng.nextUnit() * 2, position: UInt64(i))
        }
    }

    /// Compares the analytic gradient of the weighted loss + L2 with central finite differences,
    /// on every parameter of a small network (one and two hidden layers).
    @Test(arguments: [[5], [6, 4]])
    func gradientMatchesFiniteDifferences(hidden: [Int]) {
        let records = Self.randomRecords(count: 7, dimension: 6, classes: 3, seed: 11)
        var net = NeuralNetwork(inputDimension: 6, hidden: hidden, classCount: 3, seed: 3)
        // Biases away from zero so no ReLU sits at its kink.
        for l in 0..<net.layerCount { for u in 0..<net.biases[l].count { net.biases[l][u] = Float(u % 3) * 0.1 - 0.05 } }
        let l2 = 0.03
        let analytic = net.objectiveAndGradient(records, l2: l2).gradient
        let h: Float = 1e-2
        func objective(_ n: NeuralNetwork) -> Double {
            // Double-precision objective from the network's own forward pass.
            var sum = 0.0, weight = 0.0, penalty = 0.0
            for r in records {
                let p = n.probabilities(r.features)
                sum += r.weight * NeuralNetwork.crossEntropy(p, label: r.classIndex)
                weight += r.weight
            }
            for l in 0..<n.layerCount { for w in n.weights[l] { penalty += Double(w) * Double(w) } }
            return sum / weight + 0.5 * l2 * penalty
        }
        // Central differences for every weight and bias, in the order (layer, weights, biases).
        var numeric: [Double] = []
        for l in 0..<net.layerCount {
            for i in 0..<net.weights[l].count {
                var plus = net, minus = net
                plus.weights[l][i] += h
                minus.weights[l][i] -= h
                numeric.append((objective(plus) - objective(minus)) / Double(2 * h))
            }
            for i in 0..<net.biases[l].count {
                var plus = net, minus = net
                plus.biases[l][i] += h
                minus.biases[l][i] -= h
                numeric.append((objective(plus) - objective(minus)) / Double(2 * h))
            }
        }
        func worstError(_ g: NeuralNetwork.Gradient) -> Double {
            let flat = (0..<net.layerCount).flatMap { g.weights[$0] + g.biases[$0] }
            return zip(flat, numeric).map { abs($1 - Double($0)) / max(1e-3, abs($1)) }.max()!
        }
        let worst = worstError(analytic)
        // The check can fail: the same gradient with one hidden-layer entry off by 10% is caught.
        var wrong = analytic
        let i = wrong.weights[0].indices.max { abs(wrong.weights[0][$0]) < abs(wrong.weights[0][$1]) }!
        wrong.weights[0][i] *= 1.1
        #expect(worstError(wrong) > 2e-2)
        #expect(worst < 2e-2, "largest relative gradient error \(worst)")
    }

    @Test func l2TermAddsLambdaTimesWeights() {
        let records = Self.randomRecords(count: 5, dimension: 4, classes: 3, seed: 5)
        let net = NeuralNetwork(inputDimension: 4, hidden: [4], classCount: 3, seed: 9)
        let g = net.objectiveAndGradient(records, l2: 0).gradient
        let withL2 = net.objectiveAndGradient(records, l2: 0.5).gradient
        // The L2 term changes the weight gradient by λ W exactly.
        for l in 0..<net.layerCount {
            for i in 0..<net.weights[l].count {
                #expect(abs((withL2.weights[l][i] - g.weights[l][i]) - 0.5 * net.weights[l][i]) < 1e-5)
            }
            #expect(withL2.biases[l] == g.biases[l])
        }
    }

    @Test func sparseAndDenseRowsGiveTheSameOutputs() {
        let net = NeuralNetwork(inputDimension: 5, hidden: [8], classCount: 3, seed: 1)
        let dense = FeatureVector(dense: [0, 0.5, 0, -1, 0])
        let sparse = FeatureVector(indices: [1, 3], values: [0.5, -1])
        #expect(net.probabilities(dense) == net.probabilities(sparse))
        // Features past the input dimension are ignored, like a weight that was never learned.
        let wider = FeatureVector(indices: [1, 3, 40], values: [0.5, -1, 7])
        #expect(net.probabilities(wider) == net.probabilities(sparse))
        var grown = net
        grown.ensureInputDimension(41)
        #expect(grown.probabilities(wider) == net.probabilities(sparse))
        grown.ensureClassCount(4)
        let p = grown.probabilities(sparse)
        #expect(p.count == 4)
        #expect(abs(p.reduce(0, +) - 1) < 1e-5)
    }

    @Test func momentumStepsLowerTheLoss() {
        let records = Self.randomRecords(count: 60, dimension: 8, classes: 3, seed: 21)
        var net = NeuralNetwork(inputDimension: 8, hidden: [16], classCount: 3, seed: 2)
        var opt = NetworkOptimizer(schedule: .constant(eta0: 0.1), momentum: 0.9, l2: 1e-4)
        let before = net.objectiveAndGradient(records, l2: 1e-4).loss
        var g = NeuralNetwork.Gradient(for: net)
        var work = NeuralNetwork.Workspace(for: net)
        for _ in 0..<200 {
            g.reset(for: net)
            for r in records { net.accumulateGradient(r, into: &g, work: &work) }
            opt.step(&net, gradient: g)
        }
        let after = net.objectiveAndGradient(records, l2: 1e-4).loss
        #expect(after < 0.5 * before, "loss \(before) -> \(after)")
        #expect(opt.stepCount == 200)
    }

    @Test func miniBatchCoresetWeightsHaveMeanOneAndCoverEveryClass() {
        // Two tight clusters per class: the greedy takes one from each, each weighing its cluster.
        var proxies: [Float] = [], classes: [Int] = []
        for c in 0..<2 {
            for cluster in 0..<2 {
                let size = cluster == 0 ? 30 : 10
                for i in 0..<size {
                    proxies += [Float(cluster) * 5 + Float(i) * 1e-3, Float(c)]
                    classes.append(c)
                }
            }
        }
        let (picked, weights) = MiniBatchCoreset.select(proxies: proxies, width: 2, classes: classes, budget: 4)
        #expect(picked.count == 4)
        #expect(abs(weights.reduce(0, +) - 4) < 1e-4)
        #expect(Set(picked.map { classes[$0] }) == [0, 1])
        // Per class, one pick in the 30-cluster (weight 30 · 4/80 = 1.5) and one in the 10-cluster (0.5).
        #expect(weights.sorted() == [0.5, 0.5, 1.5, 1.5])
        #expect(MiniBatchCoreset.shareBudget(10, counts: [90, 9, 1]) == [8, 1, 1])
        #expect(MiniBatchCoreset.shareBudget(5, counts: [2, 0, 40]).reduce(0, +) == 5)
    }
}
