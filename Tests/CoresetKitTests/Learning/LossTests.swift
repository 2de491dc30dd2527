import Testing
@testable import CoresetKit

/// Regularised objective of one record as a function of the effective weights and bias.
private func objective(_ loss: Loss, weights: [Double], bias: [Double], k: Int, d: Int, x: FeatureVector,
                       label: Double, l2: Double) -> Double {
    let m = LinearModel(outputCount: k, dimension: d, weights: weights, bias: bias, fitsBias: true)
    var z = [Double]()
    m.outputs(x, into: &z)
    let reg = 0.5 * l2 * weights.reduce(0) { $0 + $1 * $1 }
    return loss.value(outputs: z, label: label) + reg
}

extension LearningTests {
    @Suite struct LossTests {
        static let cases: [(Loss, Int, Double)] = [
            (.logistic, 1, 1), (.logistic, 1, 0), (.hinge, 1, 1), (.hinge, 1, 0),
            (.squared, 1, 0.7), (.softmax, 3, 2), (.softmax, 3, 0),
        ]

        @Test(arguments: 0..<7)
        func gradientMatchesFiniteDifferences(_ c: Int) {
            let (loss, k, label) = LearningTests.LossTests.cases[c]
            let d = 5
            let x = FeatureVector(indices: [0, 2, 4], values: [0.5, -1.25, 2])
            let l2 = 0.3
            var rng = SeededGenerator(seed: UInt64(c + 1))
            let w = (0..<(d * k)).map { _ in rng.nextUnit() - 0.5 }
            // The bias is chosen so hinge margins sit away from the kink at 1.
            let b = (0..<k).map { Double($0) * 0.1 + 0.05 }
            let model = LinearModel(outputCount: k, dimension: d, weights: w, bias: b, fitsBias: true)
            var z = [Double](), r = [Double]()
            model.outputs(x, into: &z)
            _ = loss.evaluate(outputs: z, label: label, residual: &r)
            let h = 1e-6
            for j in 0..<d {
                for o in 0..<k {
                    let analytic = r[o] * Double(x[j]) + l2 * w[j * k + o]
                    var wp = w, wm = w
                    wp[j * k + o] += h
                    wm[j * k + o] -= h
                    let numeric = (objective(loss, weights: wp, bias: b, k: k, d: d, x: x, label: label, l2: l2)
                        - objective(loss, weights: wm, bias: b, k: k, d: d, x: x, label: label, l2: l2)) / (2 * h)
                    #expect(abs(analytic - numeric) < 1e-6, "\(loss) w[\(j),\(o)]: \(analytic) vs \(numeric)")
                }
            }
            for o in 0..<k {
                var bp = b, bm = b
                bp[o] += h
                bm[o] -= h
                let numeric = (objective(loss, weights: w, bias: bp, k: k, d: d, x: x, label: label, l2: l2)
                    - objective(loss, weights: w, bias: bm, k: k, d: d, x: x, label: label, l2: l2)) / (2 * h)
                #expect(abs(r[o] - numeric) < 1e-6, "\(loss) bias[\(o)]")
            }
        }

        @Test func stableForLargeMargins() {
            var r = [Double]()
            #expect(Loss.logistic.evaluate(outputs: [800], label: 0, residual: &r) == 800)
            #expect(r[0] == 1)
            #expect(Loss.logistic.evaluate(outputs: [-800], label: 0, residual: &r) == 0)
            let v = Loss.softmax.evaluate(outputs: [1000, 0, -1000], label: 1, residual: &r)
            #expect(abs(v - 1000) < 1e-9)
            #expect(r.allSatisfy { $0.isFinite })
        }

        @Test func predictions() {
            #expect(Loss.logistic.predictedLabel(outputs: [0.1]) == 1)
            #expect(Loss.hinge.predictedLabel(outputs: [-0.1]) == 0)
            #expect(Loss.softmax.predictedLabel(outputs: [0, 3, 1]) == 1)
            #expect(Loss.squared.predictedLabel(outputs: [2.5]) == 2.5)
            let p = Loss.softmax.probabilities(outputs: [1, 1])
            #expect(abs(p[0] - 0.5) < 1e-12 && abs(p[1] - 0.5) < 1e-12)
        }

        @Test func schedules() {
            #expect(LearningRateSchedule.constant(eta0: 0.5).rate(at: 100) == 0.5)
            #expect(abs(LearningRateSchedule.inverseScaling(eta0: 1, decay: 1, power: 0.5).rate(at: 3) - 0.5) < 1e-12)
            #expect(abs(LearningRateSchedule.exponential(eta0: 1, rate: 0.5, every: 10).rate(at: 20) - 0.25) < 1e-12)
            let opt = LearningRateSchedule.optimal(l2: 0.01, t0: 100)
            #expect(abs(opt.rate(at: 50) - 1 / (0.01 * 150)) < 1e-9)
        }

        @Test func samplerFollowsWeights() {
            let s = WeightedSampler(weights: [1, 0, 3, 6])
            var rng = SeededGenerator(seed: 7)
            var counts = [0, 0, 0, 0]
            let n = 100_000
            for _ in 0..<n { counts[s.sample(using: &rng)] += 1 }
            #expect(counts[1] == 0)
            for (i, p) in [0.1, 0.0, 0.3, 0.6].enumerated() {
                #expect(abs(Double(counts[i]) / Double(n) - p) < 0.01)
            }
        }
    }
}
