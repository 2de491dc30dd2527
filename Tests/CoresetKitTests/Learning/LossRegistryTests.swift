import Foundation
import Testing
@testable import CoresetKit

/// A loss with a residual twice too large: the finite-difference check must catch it.
private enum MisscaledSquaredLoss: LossFunction {
    static var name: String { "test-misscaled-squared" }
    static var task: TaskKind { .regression }
    static func value(output z: Double, label: Double) -> Double { 0.5 * (z - label) * (z - label) }
    static func residual(output z: Double, label: Double) -> Double { 2 * (z - label) }
}

/// Outputs and labels to check a loss at: away from the kinks of hinge (s z = 1) and Huber
/// (|z - y| = δ = 1), on both sides of them.
private func checkPoints(_ loss: Loss) -> [(z: [Double], label: Double)] {
    let labels: [Double]
    switch loss.task {
    case .binary: labels = [0, 1]
    case .multiclass: labels = [0, 1, 2]
    case .regression: labels = [-1.7, 0.2, 2.4]
    }
    let outputs: [[Double]] = loss.outputsPerClass
        ? [[-2.3, -0.4, 0.35], [1.7, 3.1, -1], [0, 0, 0], [40, -40, 3]]
        : [[-2.3], [-0.4], [0.35], [1.7], [3.1]]
    return labels.flatMap { y in outputs.map { (z: $0, label: y) } }
}

/// Largest gap between the residual `evaluate` writes and the central finite difference of the
/// loss value, over `checkPoints`.
private func finiteDifferenceGap(_ loss: Loss) -> Double {
    var gap = 0.0
    let h = 1e-6
    for (z, label) in checkPoints(loss) {
        var r = [Double]()
        _ = loss.evaluate(outputs: z, label: label, residual: &r)
        for o in z.indices {
            var zp = z, zm = z
            zp[o] += h
            zm[o] -= h
            let numeric = (loss.value(outputs: zp, label: label) - loss.value(outputs: zm, label: label)) / (2 * h)
            gap = max(gap, abs(r[o] - numeric))
        }
    }
    return gap
}

extension LearningTests {
    /// Issue 26: every registered loss, and so every loss added later by its file and one registration
    /// line, is checked here without further edits.
    @Suite struct LossRegistryTests {
        @Test(arguments: Loss.registered)
        func residualIsTheDerivativeOfTheValue(_ loss: Loss) {
            #expect(finiteDifferenceGap(loss) < 1e-6, "\(loss)")
        }

        @Test func theCheckCatchesAWrongResidual() {
            #expect(finiteDifferenceGap(Loss(MisscaledSquaredLoss.self)) > 0.1)
            #expect(finiteDifferenceGap(Loss(SquaredLoss.self)) < 1e-6)
        }

        /// The single-output fast paths (`value(output:)`, `residual(output:)`, `valueAndResidual`) and
        /// selection's Float residual agree with `evaluate`.
        @Test(arguments: Loss.registered)
        func fastPathsAgreeWithEvaluate(_ loss: Loss) {
            for (z, label) in checkPoints(loss) {
                var r = [Double]()
                let v = loss.evaluate(outputs: z, label: label, residual: &r)
                #expect(r.count == z.count)
                if !loss.outputsPerClass {
                    #expect(loss.value(output: z[0], label: label) == v, "\(loss) z=\(z) y=\(label)")
                    #expect(loss.residual(output: z[0], label: label) == r[0], "\(loss) z=\(z) y=\(label)")
                    let both = loss.valueAndResidual(output: z[0], label: label)
                    #expect(both.value == v && both.residual == r[0])
                }
                var out = [Float](repeating: 0, count: z.count)
                var scratch = z
                scratch.withUnsafeMutableBufferPointer { loss.function.residual(outputs: $0, label: label, into: &out) }
                for o in z.indices { #expect(abs(Double(out[o]) - r[o]) < 1e-6, "\(loss) Float residual \(o)") }
                if loss.isProbabilistic {
                    let p = loss.probabilities(outputs: z)
                    #expect(abs(p.reduce(0, +) - 1) < 1e-12 && p.allSatisfy { $0 >= 0 })
                    #expect(loss.logLoss(outputs: z, label: label) >= 0)
                } else {
                    #expect(loss.probabilities(outputs: z).isEmpty)
                }
            }
        }

        @Test(arguments: Loss.registered)
        func roundTripsByName(_ loss: Loss) throws {
            #expect(Loss(rawValue: loss.rawValue) == loss)
            #expect(loss.description == loss.rawValue)
            let data = try JSONEncoder().encode([loss])
            #expect(String(decoding: data, as: UTF8.self) == "[\"\(loss.rawValue)\"]")
            #expect(try JSONDecoder().decode([Loss].self, from: data) == [loss])
            // A model file: written, read back, the same loss and the same predictions.
            let classes = loss.task == .multiclass ? 3 : 2
            var learner = Learner(configuration: LearnerConfiguration(task: loss.task, loss: loss))
            let recs = syntheticRecords(60, dimension: 7, nnz: 3, loss: loss, classes: classes, seed: 5)
            for rec in recs { learner.learn(rec) }
            let back = try Learner(modelData: try learner.encodedModel())
            #expect(back.configuration.loss == loss)
            #expect(back.configuration == learner.configuration)
            for rec in recs.prefix(10) {
                // The file stores the weights with the SGD scale folded in: equal to rounding.
                #expect(abs(back.predict(rec.features) - learner.predict(rec.features)) < 1e-12)
                #expect(abs(back.loss(rec) - learner.loss(rec)) < 1e-12)
            }
        }

        @Test func unknownNamesAreRefusedWithTheKnownOnes() {
            #expect(Loss(rawValue: "absolute") == nil)
            #expect(Loss(rawValue: MisscaledSquaredLoss.name) == nil)
            #expect(throws: DecodingError.self) { try JSONDecoder().decode([Loss].self, from: Data("[\"absolute\"]".utf8)) }
            do {
                _ = try JSONDecoder().decode([Loss].self, from: Data("[\"absolute\"]".utf8))
            } catch {
                #expect("\(error)".contains("known: logistic, softmax, squared, hinge"), "\(error)")
            }
        }

        /// Every registered loss learns: SGD epochs on data of its task lower its mean loss below the
        /// zero model's.
        @Test(arguments: Loss.registered)
        func everyLossLearns(_ loss: Loss) {
            let classes = loss.task == .multiclass ? 3 : 2
            let recs = syntheticRecords(400, dimension: 10, nnz: 4, loss: loss, classes: classes, seed: 17)
            var learner = Learner(configuration: LearnerConfiguration(task: loss.task, loss: loss))
            for rec in recs { learner.grow(for: rec.features, label: rec.label) }
            let before = recs.reduce(0) { $0 + learner.loss($1) } / Double(recs.count)
            for _ in 0..<5 { for rec in recs { learner.learn(rec) } }
            let after = recs.reduce(0) { $0 + learner.loss($1) } / Double(recs.count)
            #expect(after < 0.8 * before, "\(loss): \(before) -> \(after)")
        }

        @Test func registryIsConsistent() {
            let names = Loss.names
            #expect(Set(names).count == names.count)
            // The C interface's loss codes are positions: the first four are fixed (coreset.h).
            #expect(Array(Loss.registered.prefix(4)) == [.logistic, .softmax, .squared, .hinge])
            for task in TaskKind.allCases {
                #expect(Loss.registered.filter { $0.task == task && $0.function.isDefaultForTask }.count == 1, "\(task)")
            }
            #expect(Loss.default(for: .binary) == .logistic)
            #expect(Loss.default(for: .multiclass) == .softmax)
            #expect(Loss.default(for: .regression) == .squared)
            #expect(Loss.allCases == Loss.registered)
            #expect(Loss.registered.contains(.huber) && Loss.registered.contains(.squaredHinge))
        }

        /// The doc comments' formulas at hand-computed points.
        @Test func huberAndSquaredHingeValues() {
            // Huber, δ = 1: quadratic inside, linear outside, residual clamped.
            #expect(Loss.huber.value(output: 0.5, label: 0) == 0.125)
            #expect(Loss.huber.residual(output: 0.5, label: 0) == 0.5)
            #expect(Loss.huber.value(output: 3, label: 0) == 2.5)
            #expect(Loss.huber.residual(output: 3, label: 0) == 1)
            #expect(Loss.huber.value(output: -3, label: 1) == 3.5)
            #expect(Loss.huber.residual(output: -3, label: 1) == -1)
            #expect(Loss.huber.predictedLabel(outputs: [2.5]) == 2.5)
            #expect(!Loss.huber.isClassification && !Loss.huber.isProbabilistic)
            // Squared hinge: max(0, 1 - s z)², r = -2 s max(0, 1 - s z).
            #expect(Loss.squaredHinge.value(output: 0.5, label: 1) == 0.25)
            #expect(Loss.squaredHinge.residual(output: 0.5, label: 1) == -1)
            #expect(Loss.squaredHinge.value(output: 0.5, label: 0) == 2.25)
            #expect(Loss.squaredHinge.residual(output: 0.5, label: 0) == 3)
            #expect(Loss.squaredHinge.value(output: 2, label: 1) == 0)
            #expect(Loss.squaredHinge.residual(output: 2, label: 1) == 0)
            #expect(Loss.squaredHinge.predictedLabel(outputs: [-0.1]) == 0)
            #expect(Loss.squaredHinge.isClassification && !Loss.squaredHinge.isProbabilistic)
        }

        /// What Huber is for: with 10% of the targets shifted by +20, squared loss's fit is pulled
        /// towards them and Huber's much less (mean absolute error on the clean records: 0.13 vs 2.2).
        @Test func huberResistsOutlyingTargets() {
            var recs = syntheticRecords(1000, dimension: 8, nnz: 4, loss: .squared, seed: 23)
            for i in stride(from: 0, to: recs.count, by: 10) { recs[i].label += 20 }
            func cleanError(_ loss: Loss) -> Double {
                var learner = Learner(configuration: LearnerConfiguration(
                    task: .regression, loss: loss, schedule: .inverseScaling(eta0: 0.05, decay: 1e-3, power: 0.5)))
                for _ in 0..<5 { for rec in recs { learner.learn(rec) } }
                let clean = recs.indices.filter { $0 % 10 != 0 }.map { recs[$0] }
                return clean.reduce(0) { $0 + abs(learner.predict($1.features) - $1.label) } / Double(clean.count)
            }
            let huber = cleanError(.huber), squared = cleanError(.squared)
            #expect(huber < 0.2 * squared, "clean mean absolute error: huber \(huber), squared \(squared)")
        }

        /// Metrics come from what a loss declares: AUC for binary losses, log-loss for probabilistic
        /// ones, squared error for regression.
        @Test func evaluatorReadsTheLossDeclarations() {
            var sh = Evaluator(loss: .squaredHinge)
            for (z, y) in [(2.0, 1.0), (-1.0, 0.0), (0.5, 0.0), (-0.2, 1.0)] { sh.update(outputs: [z], label: y) }
            let s = sh.summary
            #expect(s.auc == 0.75 && s.accuracy == 0.5 && s.logLoss.isNaN && s.squaredError.isNaN)
            var hu = Evaluator(loss: .huber)
            for (z, y) in [(0.0, 0.5), (0.0, 3.0)] { hu.update(outputs: [z], label: y) }
            #expect(hu.summary.loss == (0.125 + 2.5) / 2)
            #expect(hu.summary.squaredError == (0.25 + 9) / 2)
            #expect(hu.summary.auc.isNaN && hu.summary.accuracy.isNaN)
        }
    }
}
