import Foundation
import Testing
@testable import CoresetKit

extension LearningTests {
    @Suite struct OnlineReplayLearnerTests {
        static let schedule = LearningRateSchedule.inverseScaling(eta0: 0.3, decay: 0.01, power: 0.5)

        static func config(task: TaskKind = .binary, loss: Loss? = nil, l2: Double = 1e-3, weight: Double = 1) -> OnlineReplayConfiguration {
            OnlineReplayConfiguration(learner: LearnerConfiguration(task: task, loss: loss, l2: l2, schedule: schedule),
                                      replayWeight: weight)
        }

        @Test func withoutMemoryItIsOnePassOnlineSGD() {
            for loss in [Loss.logistic, .softmax] {
                let task: TaskKind = loss == .softmax ? .multiclass : .binary
                let recs = syntheticRecords(300, dimension: 9, nnz: 3, loss: loss, classes: loss == .softmax ? 3 : 2, seed: 2)
                var a = OnlineReplayLearner(configuration: Self.config(task: task, loss: loss))
                var b = Learner(configuration: LearnerConfiguration(task: task, loss: loss, l2: 1e-3, schedule: Self.schedule))
                // Class growth changes the score of a record of a new class; start with every class.
                let first = recs.max { $0.label < $1.label }!
                a.observe(first)
                b.learn(first)
                for rec in recs {
                    let before = a.score(rec)
                    let sa = a.observe(rec)
                    let sb = b.learn(rec)
                    #expect(abs(sa.loss - before.loss) < 1e-12 && sa.prediction == before.prediction)
                    #expect(abs(sa.loss - sb.loss) < 1e-12)
                    a.replay(steps: 3)  // no memory: nothing happens
                }
                #expect(a.replayStepCount == 0 && a.replayRate == 0)
                let k = loss == .softmax ? 3 : 1
                let wa = weightsOf(a.learner, k: k, d: 9), wb = weightsOf(b, k: k, d: 9)
                for i in wa.indices { #expect(abs(wa[i] - wb[i]) < 1e-12) }
            }
        }

        @Test func zeroReplayWeightLeavesTheModelAlone() {
            let recs = syntheticRecords(100, dimension: 6, nnz: 3, loss: .logistic, seed: 7)
            var a = OnlineReplayLearner(configuration: Self.config(weight: 0))
            var b = OnlineReplayLearner(configuration: Self.config(weight: 0))
            a.setMemory(ReplaySet(records: Array(recs[0..<20]), weights: [Double](repeating: 5, count: 20)))
            for rec in recs {
                a.observe(rec)
                b.observe(rec)
                a.replay(steps: 4)
            }
            #expect(weightsOf(a.learner, k: 1, d: 6) == weightsOf(b.learner, k: 1, d: 6))
            #expect(a.learner.model.bias == b.learner.model.bias)
        }

        /// Each arrival's step budget η_t is shared by its online step and its R replay steps.
        @Test(arguments: [0.5, 1.0, 2.0])
        func stepsShareEachArrivalsBudget(_ omega: Double) {
            let recs = syntheticRecords(400, dimension: 6, nnz: 3, loss: .logistic, seed: 9)
            var a = OnlineReplayLearner(configuration: Self.config(weight: omega))
            a.setMemory(ReplaySet(records: Array(recs[0..<30]), weights: recs[0..<30].map(\.weight)))
            let r = 4
            for (t, rec) in recs.enumerated() {
                let before = a.totalStepSize
                let online = a.nextOnlineStepSize
                a.observe(rec)
                a.replay(steps: r)
                let spent = a.totalStepSize - before
                if t >= 1 {
                    // From the second arrival on R̂ = R exactly, so the split is exact.
                    #expect(abs(a.replayRate - Double(r)) < 1e-12)
                    #expect(abs(spent - Self.schedule.rate(at: t)) < 1e-12 * spent, "arrival \(t)")
                    #expect(abs(a.replayStepSize(afterArrival: 1) - omega * Self.schedule.rate(at: t) / (1 + omega * Double(r))) < 1e-15)
                }
                if t >= 2 { #expect(abs(online - Self.schedule.rate(at: t) / (1 + omega * Double(r))) < 1e-15) }
            }
            #expect(a.replayStepCount == r * recs.count)
            #expect(abs(a.replayPasses - Double(r * recs.count) / 30) < 1e-12)
        }

        @Test func replayRateFollowsTheReplayActuallyTaken() {
            let recs = syntheticRecords(1100, dimension: 6, nnz: 3, loss: .logistic, seed: 10)
            var a = OnlineReplayLearner(configuration: Self.config())
            a.setMemory(ReplaySet(records: Array(recs[0..<30]), weights: recs[0..<30].map(\.weight)))
            for rec in recs[0..<300] {
                a.observe(rec)
                a.replay(steps: 2)
            }
            #expect(abs(a.replayRate - 2) < 1e-9)
            for rec in recs[300..<1100] { a.observe(rec) }  // a fast input: no time to replay
            #expect(a.replayRate < 0.001)
            #expect(abs(a.nextOnlineStepSize - Self.schedule.rate(at: 1100)) < 0.001 * Self.schedule.rate(at: 1100))
        }

        /// While input is idle the replay steps continue the schedule on a virtual clock, so endless
        /// replay converges to the optimum of the weighted memory (weighted ridge regression, solved exactly).
        @Test func idleReplayConvergesToTheWeightedMemoryOptimum() {
            let d = 4
            let recs = syntheticRecords(40, dimension: d, nnz: 3, loss: .squared, seed: 3)
            let weights = recs.map { $0.weight * 3 }
            let l2 = 0.01
            let optimum = LearningTests.LearnerTests.ridgeOptimum(recs, weights: weights, d: d, l2: l2)
            let schedule = LearningRateSchedule.inverseScaling(eta0: 0.3, decay: 0.01, power: 1)
            let conf = OnlineReplayConfiguration(learner: LearnerConfiguration(task: .regression, l2: l2, schedule: schedule))
            var a = OnlineReplayLearner(configuration: conf)
            // Replay gradients are scaled by the stream's mean input weight: keep it 1 here.
            var unit = recs
            for i in unit.indices { unit[i].weight = 1 }
            a.observe(unit[0])
            a.setMemory(ReplaySet(records: recs, weights: weights))
            // R̂ = 0: each idle step is one virtual arrival.
            #expect(abs(a.replayStepSize(afterArrival: 9) - schedule.rate(at: 9)) < 1e-15)
            a.replay(steps: 2)
            a.observe(unit[1])  // R̂ = 2 now
            #expect(abs(a.replayStepSize(afterArrival: 2) - schedule.rate(at: 1) / 3) < 1e-15)
            #expect(abs(a.replayStepSize(afterArrival: 2 + 3 * 7) - schedule.rate(at: 8) / 3) < 1e-15)
            a.replay(steps: 150_000)
            let w = weightsOf(a.learner, k: 1, d: d)
            for j in 0..<d { #expect(abs(w[j] - optimum[j]) < 5e-3, "w[\(j)] \(w[j]) vs \(optimum[j])") }
            #expect(abs(a.learner.model.bias[0] - optimum[d]) < 5e-3)
        }

        /// Only weight ratios matter, and a record of weight 2 stands for two copies of weight 1.
        @Test func memoryWeightsActAsCopies() {
            let d = 4
            let recs = syntheticRecords(12, dimension: d, nnz: 3, loss: .squared, seed: 4)
            let l2 = 0.01
            let conf = OnlineReplayConfiguration(learner: LearnerConfiguration(
                task: .regression, l2: l2, schedule: .inverseScaling(eta0: 0.1, decay: 0.01, power: 1)))
            // Weighted: record 0 counts 3 times.
            var weighted = OnlineReplayLearner(configuration: conf)
            var w = [Double](repeating: 1, count: recs.count)
            w[0] = 3
            weighted.setMemory(ReplaySet(records: recs, weights: w.map { $0 * 1000 }))
            var copies = OnlineReplayLearner(configuration: conf)
            copies.setMemory(ReplaySet(records: recs + [recs[0], recs[0]], weights: [Double](repeating: 1, count: recs.count + 2)))
            weighted.replay(steps: 60_000)
            copies.replay(steps: 60_000)
            let wa = weightsOf(weighted.learner, k: 1, d: d), wb = weightsOf(copies.learner, k: 1, d: d)
            let optimum = LearningTests.LearnerTests.ridgeOptimum(recs, weights: w, d: d, l2: l2)
            for j in 0..<d {
                #expect(abs(wa[j] - optimum[j]) < 5e-3, "weighted w[\(j)] \(wa[j]) vs \(optimum[j])")
                #expect(abs(wb[j] - optimum[j]) < 5e-3, "copies w[\(j)] \(wb[j]) vs \(optimum[j])")
            }
        }

        @Test func memoryGrowsTheModelAndClasses() {
            let recs = syntheticRecords(60, dimension: 8, nnz: 3, loss: .softmax, classes: 4, seed: 12)
            var a = OnlineReplayLearner(configuration: Self.config(task: .multiclass))
            a.observe(Record(label: 0, features: FeatureVector(indices: [0], values: [1])))
            a.setMemory(recs.map { ($0, 2.0) })
            #expect(a.learner.classCount == 4 && a.memoryCount == 60)
            a.replay(steps: 500)
            for rec in recs { a.observe(rec) }
            let s = a.snapshot()
            #expect(s.outputCount == 4 && s.version == 1)
            var r = [Float]()
            s.residual(features: recs[3].features, label: recs[3].label, into: &r)
            var expected = [Double]()
            _ = Loss.softmax.evaluate(outputs: a.learner.outputs(recs[3].features), label: recs[3].label, residual: &expected)
            for o in 0..<4 { #expect(abs(Double(r[o]) - expected[o]) < 1e-5) }
            a.clearMemory()
            a.replay(steps: 10)
            #expect(a.memoryCount == 0 && a.replayStepCount == 500)
        }

        @Test func batchRowsMatchRecords() {
            let recs = syntheticRecords(50, dimension: 7, nnz: 3, loss: .logistic, seed: 14)
            var a = OnlineReplayLearner(configuration: Self.config()), b = a
            let batch = RecordBatch(recs)
            for i in 0..<recs.count {
                let sa = a.observe(recs[i]), sb = b.observe(batch, row: i)
                #expect(sa == sb)
            }
            #expect(weightsOf(a.learner, k: 1, d: 7) == weightsOf(b.learner, k: 1, d: 7))
        }

        @Test func snapshotResidualMatchesLossForSingleOutputs() {
            for loss in [Loss.logistic, .squared, .hinge] {
                let recs = syntheticRecords(80, dimension: 6, nnz: 3, loss: loss, seed: 15)
                var learner = Learner(configuration: LearnerConfiguration(task: loss == .squared ? .regression : .binary, loss: loss))
                for rec in recs { learner.learn(rec) }
                let s = learner.snapshot()
                var r = [Float]()
                for rec in recs[0..<10] {
                    s.residual(features: rec.features, label: rec.label, into: &r)
                    var expected = [Double]()
                    _ = loss.evaluate(outputs: learner.outputs(rec.features), label: rec.label, residual: &expected)
                    #expect(abs(Double(r[0]) - expected[0]) < 1e-5)
                    #expect(abs(loss.value(output: learner.outputs(rec.features)[0], label: rec.label) - learner.loss(rec)) < 1e-12)
                }
            }
        }
    
        @Test func classUniformDrawsKeepClassSharesAndSpreadWithinAClass() {
            // Class 0: one heavy element and three light ones; class 1: two elements.
            let recs = (0..<6).map { i in
                Record(label: i < 4 ? 0 : 1, features: FeatureVector(indices: [UInt32(i)], values: [1]))
            }
            let set = ReplaySet(records: recs, weights: [97, 1, 1, 1, 30, 10])
            let byWeight = OnlineReplayLearner.samplingWeights(set, .weight, regression: false)
            #expect(byWeight == set.weights)
            let p = OnlineReplayLearner.samplingWeights(set, .classUniform, regression: false)
            #expect(p == [25, 25, 25, 25, 20, 20], "class totals 100 and 40, equal within a class")
            #expect(OnlineReplayLearner.samplingWeights(set, .classUniform, regression: true) == [1, 1, 1, 1, 1, 1])

            // The learner really draws that way.
            let f = Self.drawFrequencies(set, .classUniform, draws: 14_000)
            for i in 0..<4 { #expect(abs(f[i] - 25.0 / 140) < 0.02, "\(f)") }
            for i in 4..<6 { #expect(abs(f[i] - 20.0 / 140) < 0.02, "\(f)") }
        }

        /// Frequencies of the elements a softmax learner with `draw` replays from `set`, over `draws` draws.
        static func drawFrequencies(_ set: ReplaySet, _ draw: ReplayDraw, draws: Int) -> [Double] {
            var config = Self.config(task: .multiclass, loss: .softmax)
            config.replayDraw = draw
            var a = OnlineReplayLearner(configuration: config)
            a.setMemory(set)
            var counts = [Int](repeating: 0, count: set.count)
            var rng = a.rng
            for _ in 0..<draws { counts[a.sampler!.sample(using: &rng)] += 1 }
            return counts.map { Double($0) / Double(draws) }
        }

        @Test func sqrtWeightDrawsKeepClassSharesAndTemperWithinAClass() {
            // Class 0: weights 81, 9, 9, 1 (√: 9, 3, 3, 1, sum 16); class 1: 16 and 4 (√: 4, 2).
            let recs = (0..<6).map { i in
                Record(label: i < 4 ? 0 : 1, features: FeatureVector(indices: [UInt32(i)], values: [1]))
            }
            let set = ReplaySet(records: recs, weights: [81, 9, 9, 1, 16, 4])
            let p = OnlineReplayLearner.samplingWeights(set, .sqrtWeight, regression: false)
            let expected: [Double] = [100 * 9 / 16, 100 * 3 / 16, 100 * 3 / 16, 100 * 1 / 16, 20 * 4 / 6, 20 * 2 / 6]
            for (a, b) in zip(p, expected) { #expect(abs(a - b) < 1e-9, "\(p)") }
            #expect(abs(p[0..<4].reduce(0, +) - 100) < 1e-9 && abs(p[4...].reduce(0, +) - 20) < 1e-9, "class totals kept")
            #expect(OnlineReplayLearner.samplingWeights(set, .sqrtWeight, regression: true) == [9, 3, 3, 1, 4, 2])
            let f = Self.drawFrequencies(set, .sqrtWeight, draws: 12_000)
            for i in 0..<6 { #expect(abs(f[i] - expected[i] / 120) < 0.02, "\(f)") }
            // Equal weights (a uniform reservoir): the same draw as the others.
            let flat = ReplaySet(records: recs, weights: [Double](repeating: 5, count: 6))
            for (a, b) in zip(OnlineReplayLearner.samplingWeights(flat, .sqrtWeight, regression: false), flat.weights) {
                #expect(abs(a - b) < 1e-9)
            }
        }

        @Test func configurationsSavedBeforeTheDrawOptionDecodeAsWeight() throws {
            var c = Self.config()
            c.replayDraw = .classUniform
            let data = try JSONEncoder().encode(c)
            #expect(try JSONDecoder().decode(OnlineReplayConfiguration.self, from: data) == c)
            var object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            object.removeValue(forKey: "replayDraw")
            let old = try JSONSerialization.data(withJSONObject: object)
            #expect(try JSONDecoder().decode(OnlineReplayConfiguration.self, from: old).replayDraw == .weight)
        }
}
}
