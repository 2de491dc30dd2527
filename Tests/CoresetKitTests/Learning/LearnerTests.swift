import Foundation
import Testing
@testable import CoresetKit

/// Random sparse records labelled by a fixed teacher (labels: class ids, or targets).
func syntheticRecords(_ n: Int, dimension d: Int, nnz: Int, loss: Loss, classes: Int = 2, seed: UInt64) -> [Record] {
    var rng = SeededGenerator(seed: seed)
    let teacher = (0..<(d * max(classes, 1))).map { _ in rng.nextUnit() * 2 - 1 }
    var out: [Record] = []
    for p in 0..<n {
        var idx = Set<UInt32>()
        while idx.count < nnz { idx.insert(UInt32(rng.next() % UInt64(d))) }
        let indices = idx.sorted()
        let values = indices.map { _ in Float(rng.nextUnit() * 2 - 0.5) }
        var scores = [Double](repeating: 0, count: max(classes, 1))
        for (j, v) in zip(indices, values) {
            for c in 0..<scores.count { scores[c] += teacher[Int(j) * scores.count + c] * Double(v) }
        }
        let label: Double
        switch loss.task {
        case .regression: label = scores[0] + 0.1 * (rng.nextUnit() - 0.5)
        case .multiclass: label = Double(scores.indices.max { scores[$0] < scores[$1] }!)
        case .binary:
            // Noisy labels so the regularised optimum is well inside the weight space.
            label = Loss.sigmoid(3 * scores[0]) > rng.nextUnit() ? 1 : 0
        }
        out.append(Record(label: label, features: FeatureVector(indices: indices, values: values),
                          weight: 1 + rng.nextUnit(), position: UInt64(p)))
    }
    return out
}

/// A dense, obviously-correct implementation of the three optimizers to check the lazy ones against.
struct NaiveLinear {
    var w: [Double]
    var b: [Double]
    let k: Int
    let d: Int
    let loss: Loss
    let l2: Double

    init(loss: Loss, k: Int, d: Int, l2: Double) {
        self.loss = loss
        self.k = k
        self.d = d
        self.l2 = l2
        w = [Double](repeating: 0, count: k * d)
        b = [Double](repeating: 0, count: k)
    }

    func residual(_ rec: Record) -> [Double] {
        var z = b
        for (j, v) in zip(rec.features.indices, rec.features.values) {
            for o in 0..<k { z[o] += w[Int(j) * k + o] * Double(v) }
        }
        var r = [Double]()
        _ = loss.evaluate(outputs: z, label: rec.label, residual: &r)
        return r
    }

    /// w ← w - η(g + λ w) with g = Σ_sparse coef ⊗ x + dense.
    mutating func step(eta: Double, coef: [Double], x: FeatureVector, dense: [Double], denseBias: [Double]) {
        var g = dense
        for (j, v) in zip(x.indices, x.values) {
            for o in 0..<k { g[Int(j) * k + o] += coef[o] * Double(v) }
        }
        for i in 0..<w.count { w[i] -= eta * (g[i] + l2 * w[i]) }
        for o in 0..<k { b[o] -= eta * (coef[o] + denseBias[o]) }
    }

    func mean(_ recs: [Record], share: [Double], table: [[Double]]) -> ([Double], [Double]) {
        var m = [Double](repeating: 0, count: k * d), mb = [Double](repeating: 0, count: k)
        for (i, rec) in recs.enumerated() {
            for (j, v) in zip(rec.features.indices, rec.features.values) {
                for o in 0..<k { m[Int(j) * k + o] += share[i] * table[i][o] * Double(v) }
            }
            for o in 0..<k { mb[o] += share[i] * table[i][o] }
        }
        return (m, mb)
    }
}

func weightsOf(_ learner: Learner, k: Int, d: Int) -> [Double] {
    var c = learner
    let s = c.snapshot()
    _ = s
    return (0..<(d * k)).map { c.model.weight(feature: $0 / k, output: $0 % k) }
}

/// Regularised weighted objective of a learner's model on a set.
func objectiveValue(_ learner: Learner, _ recs: [Record], weights: [Double]) -> Double {
    let total = weights.reduce(0, +)
    var f = 0.0
    for (rec, g) in zip(recs, weights) { f += g / total * learner.loss(rec) }
    var c = learner
    _ = c.snapshot()
    let w = c.model.weights
    return f + 0.5 * learner.configuration.l2 * w.reduce(0) { $0 + $1 * $1 }
}

/// Umbrella suite so `swift test --filter Learning` selects every Learning test (the other Learning files
/// extend it).
@Suite enum LearningTests {}

extension LearningTests {
    @Suite struct LearnerTests {
        @Test func lazySGDMatchesDenseUpdate() {
            let d = 12
            for loss in [Loss.logistic, .squared, .hinge, .softmax] {
                let k = loss == .softmax ? 3 : 1
                let recs = syntheticRecords(300, dimension: d, nnz: 3, loss: loss, classes: k == 3 ? 3 : 2, seed: 11)
                let schedule = LearningRateSchedule.inverseScaling(eta0: 0.3, decay: 0.05, power: 0.5)
                let task: TaskKind = loss == .softmax ? .multiclass : (loss == .squared ? .regression : .binary)
                var learner = Learner(configuration: LearnerConfiguration(task: task, loss: loss, l2: 0.05, schedule: schedule))
                var naive = NaiveLinear(loss: loss, k: k, d: d, l2: 0.05)
                // The learner grows its classes as labels arrive; give the naive model all outputs from
                // the start and feed class 2 first so the layouts agree.
                let ordered = loss == .softmax ? recs.sorted { ($0.label == 2 ? 0 : 1, $0.position) < ($1.label == 2 ? 0 : 1, $1.position) } : recs
                for (t, rec) in ordered.enumerated() {
                    let r = naive.residual(rec)
                    naive.step(eta: schedule.rate(at: t), coef: r.map { $0 * rec.weight }, x: rec.features,
                               dense: [Double](repeating: 0, count: k * d), denseBias: [Double](repeating: 0, count: k))
                    learner.learn(rec)
                }
                let got = weightsOf(learner, k: k, d: d)
                for i in 0..<got.count { #expect(abs(got[i] - naive.w[i]) < 1e-9, "\(loss) weight \(i)") }
                for o in 0..<k { #expect(abs(learner.model.bias[o] - naive.b[o]) < 1e-9) }
            }
        }

        @Test(arguments: [OptimizerKind.saga, .svrg])
        func lazyVarianceReducedMatchesDense(_ opt: OptimizerKind) {
            let d = 10
            for loss in [Loss.logistic, .softmax] {
                let k = loss == .softmax ? 3 : 1
                var recs = syntheticRecords(40, dimension: d, nnz: 3, loss: loss, classes: k == 3 ? 3 : 2, seed: 5)
                if loss == .softmax { recs[0].label = 2 }
                let weights = recs.map(\.weight)
                let eta = 0.2, l2 = 0.1
                let config = LearnerConfiguration(task: loss == .softmax ? .multiclass : .binary, loss: loss, l2: l2,
                                                  schedule: .constant(eta0: eta), optimizer: opt, epochLength: 25, seed: 99)
                var learner = Learner(configuration: config)
                learner.setReplaySet(ReplaySet(records: recs, weights: weights))
                learner.replaySteps(120)

                var naive = NaiveLinear(loss: loss, k: k, d: d, l2: l2)
                let total = weights.reduce(0, +)
                let share = weights.map { $0 / total }
                let sampler = WeightedSampler(weights: weights)
                var rng = SeededGenerator(seed: 99)
                var table = recs.map { naive.residual($0) }
                var (mean, meanBias) = naive.mean(recs, share: share, table: table)
                for step in 0..<120 {
                    if opt == .svrg && step > 0 && step % 25 == 0 {
                        table = recs.map { naive.residual($0) }
                        (mean, meanBias) = naive.mean(recs, share: share, table: table)
                    }
                    let i = sampler.sample(using: &rng)
                    let r = naive.residual(recs[i])
                    let coef = (0..<k).map { r[$0] - table[i][$0] }
                    naive.step(eta: eta, coef: coef, x: recs[i].features, dense: mean, denseBias: meanBias)
                    if opt == .saga {
                        for (j, v) in zip(recs[i].features.indices, recs[i].features.values) {
                            for o in 0..<k { mean[Int(j) * k + o] += share[i] * coef[o] * Double(v) }
                        }
                        for o in 0..<k { meanBias[o] += share[i] * coef[o] }
                        table[i] = r
                    }
                }
                let got = weightsOf(learner, k: k, d: d)
                for i in 0..<got.count { #expect(abs(got[i] - naive.w[i]) < 1e-9, "\(opt) \(loss) weight \(i): \(got[i]) vs \(naive.w[i])") }
                for o in 0..<k { #expect(abs(learner.model.bias[o] - naive.b[o]) < 1e-9) }
            }
        }

        /// Exact optimum of weighted ridge regression with an unregularised bias (normal equations).
        static func ridgeOptimum(_ recs: [Record], weights: [Double], d: Int, l2: Double) -> [Double] {
            let n = d + 1
            var a = [[Double]](repeating: [Double](repeating: 0, count: n + 1), count: n)
            let total = weights.reduce(0, +)
            for (rec, g) in zip(recs, weights) {
                var x = rec.features.densified(dimension: d).map(Double.init)
                x.append(1)
                for i in 0..<n {
                    for j in 0..<n { a[i][j] += g / total * x[i] * x[j] }
                    a[i][n] += g / total * x[i] * rec.label
                }
            }
            for i in 0..<d { a[i][i] += l2 }
            for c in 0..<n {
                let p = (c..<n).max { abs(a[$0][c]) < abs(a[$1][c]) }!
                a.swapAt(c, p)
                for r in 0..<n where r != c {
                    let f = a[r][c] / a[c][c]
                    for j in c...n { a[r][j] -= f * a[c][j] }
                }
            }
            return (0..<n).map { a[$0][n] / a[$0][$0] }
        }

        @Test(arguments: [OptimizerKind.sgd, .saga, .svrg])
        func reachesRidgeOptimum(_ opt: OptimizerKind) {
            let d = 4
            let recs = syntheticRecords(60, dimension: d, nnz: 3, loss: .squared, seed: 3)
            let weights = recs.map(\.weight)
            let l2 = 0.01
            let optimum = LearningTests.LearnerTests.ridgeOptimum(recs, weights: weights, d: d, l2: l2)
            let schedule: LearningRateSchedule = opt == .sgd
                ? .inverseScaling(eta0: 0.1, decay: 0.01, power: 1) : .constant(eta0: 0.1)
            var learner = Learner(configuration: LearnerConfiguration(task: .regression, l2: l2, schedule: schedule, optimizer: opt))
            learner.setReplaySet(ReplaySet(records: recs, weights: weights))
            learner.replaySteps(opt == .sgd ? 60_000 : 6_000)
            let w = weightsOf(learner, k: 1, d: d)
            let tol = opt == .sgd ? 5e-3 : 1e-6
            for j in 0..<d { #expect(abs(w[j] - optimum[j]) < tol, "\(opt) w[\(j)] \(w[j]) vs \(optimum[j])") }
            #expect(abs(learner.model.bias[0] - optimum[d]) < tol)
        }

        @Test(arguments: [OptimizerKind.sgd, .saga, .svrg])
        func reachesLogisticOptimum(_ opt: OptimizerKind) {
            let d = 6
            let recs = syntheticRecords(80, dimension: d, nnz: 3, loss: .logistic, seed: 8)
            let weights = recs.map(\.weight)
            let l2 = 0.01
            // Reference optimum: full-batch gradient descent to convergence.
            var ref = Learner(configuration: LearnerConfiguration(task: .binary, l2: l2, schedule: .constant(eta0: 1)))
            ref.model.ensureDimension(d)
            let total = weights.reduce(0, +)
            for _ in 0..<4000 {
                ref.learn(minibatch: recs, weights: weights.map { $0 / total })
            }
            let fStar = objectiveValue(ref, recs, weights: weights)
            let schedule: LearningRateSchedule = opt == .sgd
                ? .inverseScaling(eta0: 0.5, decay: 0.01, power: 1) : .constant(eta0: 0.5)
            var learner = Learner(configuration: LearnerConfiguration(task: .binary, l2: l2, schedule: schedule, optimizer: opt))
            learner.setReplaySet(ReplaySet(records: recs, weights: weights))
            learner.replaySteps(opt == .sgd ? 60_000 : 8_000)
            let gap = objectiveValue(learner, recs, weights: weights) - fStar
            #expect(gap > -1e-9)
            #expect(gap < (opt == .sgd ? 1e-3 : 1e-7), "\(opt) gap \(gap)")
        }

        @Test func weightedRecordEqualsDuplicatedRecord() {
            let rec = syntheticRecords(1, dimension: 5, nnz: 3, loss: .logistic, seed: 1)[0]
            let config = LearnerConfiguration(task: .binary, l2: 0.01, schedule: .constant(eta0: 0.3))
            var a = Learner(configuration: config), b = a, c = a
            a.learn(minibatch: [rec], weights: [2])
            b.learn(minibatch: [rec, rec], weights: [1, 1])
            c.learn(rec, weight: 2)
            for j in 0..<5 {
                #expect(abs(a.model.weight(feature: j, output: 0) - b.model.weight(feature: j, output: 0)) < 1e-15)
                #expect(abs(a.model.weight(feature: j, output: 0) - c.model.weight(feature: j, output: 0)) < 1e-15)
            }
            #expect(a.model.bias == b.model.bias)
        }

        @Test func minibatchUnderSAGAKeepsLazyStateConsistent() {
        let recs = syntheticRecords(30, dimension: 6, nnz: 3, loss: .logistic, seed: 13)
        var learner = Learner(configuration: LearnerConfiguration(task: .binary, l2: 0.05,
                                                                  schedule: .constant(eta0: 0.2), optimizer: .saga))
        learner.setReplaySet(ReplaySet(records: recs, weights: recs.map(\.weight)))
        learner.replaySteps(40)
        learner.learn(minibatch: Array(recs[0..<5]))
        let before = learner.outputs(recs[7].features)
        var copy = learner
        _ = copy.snapshot()  // flushes lazy coordinates; predictions must not change
        let after = copy.outputs(recs[7].features)
        #expect(abs(before[0] - after[0]) < 1e-12)
        learner.replaySteps(40)
        #expect(learner.model.scale == 1)
    }

    @Test func replaySetReplacementKeepsWorking() {
            let recs = syntheticRecords(200, dimension: 8, nnz: 3, loss: .logistic, seed: 21)
            for opt in [OptimizerKind.saga, .svrg, .sgd] {
                var learner = Learner(configuration: LearnerConfiguration(task: .binary, l2: 0.01,
                                                                          schedule: .constant(eta0: 0.2), optimizer: opt))
                learner.setReplaySet(ReplaySet(records: Array(recs[0..<100]), weights: [Double](repeating: 2, count: 100)))
                learner.replaySteps(500)
                // Online steps between replays, with a new feature index.
                learner.learn(Record(label: 1, features: FeatureVector(indices: [3, 20], values: [1, 1])))
                learner.replaySteps(50)
                let next = Array(recs[50..<200])
                learner.setReplaySet(ReplaySet(records: next, weights: [Double](repeating: 1, count: 150)))
                learner.replaySteps(3000)
                let before = objectiveValue(learner, next, weights: [Double](repeating: 1, count: 150))
                learner.replaySteps(3000)
                let after = objectiveValue(learner, next, weights: [Double](repeating: 1, count: 150))
                // SAGA/SVRG converge at a constant step; SGD at a constant step only hovers near the optimum.
                #expect(after.isFinite && abs(after - before) < (opt == .sgd ? 0.05 : 1e-6), "\(opt) \(before) -> \(after)")
                #expect(learner.replaySetCount == 150)
            }
        }

        @Test func snapshotEmbedsGradients() {
            var learner = Learner(task: .multiclass)
            let recs = syntheticRecords(100, dimension: 6, nnz: 3, loss: .softmax, classes: 3, seed: 4)
            for rec in recs { learner.learn(rec) }
            let s1 = learner.snapshot()
            let s2 = learner.snapshot()
            #expect(s1.version == 1 && s2.version == 2)
            #expect(s1.residualCount == learner.classCount && s1.hasBias)
            var r = [Float]()
            s1.residual(features: recs[0].features, label: recs[0].label, into: &r)
            var expected = [Double]()
            _ = Loss.softmax.evaluate(outputs: learner.outputs(recs[0].features), label: recs[0].label, residual: &expected)
            for o in 0..<r.count { #expect(abs(Double(r[o]) - expected[o]) < 1e-5) }
            #expect(s1.predict(recs[0].features) == learner.predict(recs[0].features))
            // Snapshots are Sendable values usable from another task.
            let check = Task.detached { s1.predict(recs[1].features) }
            _ = check
        }
    }
}
