import Foundation
import Testing
@testable import CoresetKit

/// A class's reference reservoir grows with its budget (max(referenceSize, referenceFactor · k_c)),
/// so a class whose share of k exceeds `referenceSize` still gets its whole budget.
@Suite struct ReferenceGrowthTests {
    static let streaming: [SelectorConfiguration.Algorithm] = [.sieveStreaming, .sieveStreamingPlusPlus, .threeSieves]

    /// 85% class 0, 15% class 1: at k = 80 class 0's budget (68) is far above referenceSize = 20.
    static func skewed(n: Int, seed: UInt64, sparse: Bool = false) -> [Record] {
        var g = SeededGenerator(seed: seed)
        return SelectionFixtures.blobs(n: n, dim: 6, classes: 2, seed: seed, sparse: sparse, randomWeights: true).map {
            var r = $0
            r.label = g.below(100) < 85 ? 0 : 1
            return r
        }
    }

    static func run(_ data: [Record], _ config: SelectorConfiguration, task: TaskKind = .binary, batch: Int = .max,
                    models: [Int: TestLinearModel] = [:]) -> CoresetSelector {
        let s = CoresetSelector(configuration: config, task: task)
        var i = 0
        while i < data.count {
            var j = min(data.count, i + min(batch, data.count - i))
            // Model snapshots arrive at fixed record counts, whatever the batch size.
            if let m = models.keys.filter({ $0 > i && $0 < j }).min() { j = m }
            if let m = models[i] { s.updateModel(m) }
            s.offer(RecordBatch(data[i..<j]))
            i = j
        }
        s.finish()
        return s
    }

    static func inputTotals(_ data: [Record]) -> [Double: Double] {
        var t: [Double: Double] = [:]
        for r in data { t[r.label, default: 0] += r.weight }
        return t
    }

    static func expectExactTotals(_ c: WeightedCoreset, _ data: [Record], _ what: String) {
        var t: [Double: Double] = [:]
        for e in c.elements { t[e.record.label, default: 0] += e.weight }
        for (label, w) in inputTotals(data) {
            #expect(abs((t[label] ?? 0) - w) <= 1e-9 * max(1, w), "\(what): class \(label) weight \(t[label] ?? 0) of \(w)")
        }
    }

    @Test(arguments: streaming)
    func aBudgetAboveTheReferenceSizeYieldsExactlyK(_ algorithm: SelectorConfiguration.Algorithm) {
        let data = Self.skewed(n: 1200, seed: 5)
        let config = SelectorConfiguration(k: 80, algorithm: algorithm, threeSievesPatience: 20, space: .feature,
                                           referenceSize: 20, warmUp: 20)
        let s = Self.run(data, config)
        let c = s.coreset
        #expect(c.count == 80, "\(algorithm): \(c.count) elements")
        #expect(Set(c.elements.map(\.record.position)).count == c.count, "distinct records")
        Self.expectExactTotals(c, data, "\(algorithm)")
        let budgets = s.classBudgets()
        for id in 0..<s.classCount {
            #expect(s.referenceTarget(ofClass: id) >= 2 * budgets[id] - 2, "class \(id): reservoir \(s.referenceTarget(ofClass: id)) for budget \(budgets[id])")
            #expect(s.referenceTarget(ofClass: id) >= 20)
            #expect(s.classes[id]!.refs.count <= s.referenceTarget(ofClass: id))
        }
        #expect(s.storedElementCount <= s.storedElementBound)
    }

    /// The closed loop's case (census_kdd at k = 1%): re-selections in gradient space rebuild the store
    /// from the references and the old elements, so the reservoir alone must cover the budget.
    @Test(arguments: streaming)
    func reselectionsInGradientSpaceStillYieldK(_ algorithm: SelectorConfiguration.Algorithm) {
        let data = Self.skewed(n: 1200, seed: 9, sparse: true)
        let config = SelectorConfiguration(k: 80, algorithm: algorithm, threeSievesPatience: 20, space: .gradient,
                                           referenceSize: 20, warmUp: 20)
        var models: [Int: TestLinearModel] = [:]
        for (v, at) in [300, 700, 1150].enumerated() { models[at] = TestLinearModel.random(classes: 2, dim: 20, seed: UInt64(v + 1), version: v + 1) }
        let s = Self.run(data, config, models: models)
        #expect(s.reselectionCount >= 1)
        let c = s.coreset
        #expect(c.count == 80, "\(algorithm): \(c.count) elements")
        Self.expectExactTotals(c, data, "\(algorithm), gradient")
        // referenceFactor 0 is the fixed reservoir of before: too few candidates for class 0.
        var fixed = config
        fixed.referenceFactor = 0
        let old = Self.run(data, fixed, models: models).coreset
        #expect(old.count < 80, "\(algorithm): the fixed reservoir gave \(old.count)")
        Self.expectExactTotals(old, data, "\(algorithm), fixed reservoir")
    }

    @Test(arguments: streaming)
    func growingReservoirsKeepBatchInvariance(_ algorithm: SelectorConfiguration.Algorithm) {
        let data = Self.skewed(n: 1200, seed: 13)
        let config = SelectorConfiguration(k: 60, algorithm: algorithm, threeSievesPatience: 20, space: .gradient,
                                           referenceSize: 15, warmUp: 15)
        let models = [700: TestLinearModel.random(classes: 2, dim: 6, seed: 4, version: 1)]
        let whole = Self.run(data, config, batch: .max, models: models).coreset.elements
        #expect(whole.count == 60)
        for b in [1, 7, 1000] {
            let other = Self.run(data, config, batch: b, models: models).coreset.elements
            #expect(other == whole, "\(algorithm): batch \(b) differs")
        }
    }

    @Test func aClassWhoseShareGrowsAfterItsStartGetsItsBudget() {
        // Class 1 is rare at first (its reservoir starts at referenceSize) and dominant later.
        var g = SeededGenerator(seed: 21)
        let data = SelectionFixtures.blobs(n: 1600, dim: 5, classes: 2, seed: 21).enumerated().map { i, r0 in
            var r = r0
            r.label = g.below(100) < (i < 600 ? 10 : 90) ? 1 : 0
            return r
        }
        for alg in Self.streaming {
            let config = SelectorConfiguration(k: 100, algorithm: alg, threeSievesPatience: 20, space: .feature,
                                               referenceSize: 20, warmUp: 20)
            let s = Self.run(data, config)
            let c = s.coreset
            #expect(c.count == 100, "\(alg): \(c.count)")
            Self.expectExactTotals(c, data, "\(alg)")
            #expect(s.classes[1]!.refs.count >= s.classBudgets()[1], "\(alg)")
        }
    }

    @Test func windowHalfLifeAndRegressionYieldK() {
        let data = Self.skewed(n: 1500, seed: 17)
        for alg in Self.streaming {
            let w = SelectorConfiguration(k: 60, algorithm: alg, threeSievesPatience: 20, space: .feature,
                                          referenceSize: 12, warmUp: 12, window: 600)
            let sw = Self.run(data, w)
            let cw = sw.coreset
            #expect(cw.count == 60, "\(alg), window: \(cw.count)")
            let inWindow = data.suffix(600).reduce(0.0) { $0 + $1.weight }
            #expect(abs(cw.totalWeight - inWindow) <= 1e-6 * inWindow, "\(alg), window weight")
            #expect(cw.elements.allSatisfy { $0.record.position >= 900 })

            let h = SelectorConfiguration(k: 60, algorithm: alg, threeSievesPatience: 20, space: .feature,
                                          referenceSize: 12, warmUp: 12, halfLife: 400)
            #expect(Self.run(data, h).coreset.count == 60, "\(alg), half-life")

            let regression = data.map { var r = $0; r.label = Double(r.position % 7) / 7; return r }
            let r = SelectorConfiguration(k: 50, algorithm: alg, threeSievesPatience: 20, space: .feature,
                                          referenceSize: 12, warmUp: 12)
            let cr = Self.run(regression, r, task: .regression).coreset
            #expect(cr.count == 50, "\(alg), regression: \(cr.count)")
            let total = regression.reduce(0.0) { $0 + $1.weight }
            #expect(abs(cr.totalWeight - total) <= 1e-9 * total)
        }
    }

    @Test func referenceFactorIsValidatedAndPartOfTheCheckpointOptions() throws {
        var bad = SelectorConfiguration(k: 10)
        bad.referenceFactor = -1
        #expect(bad.validationError() != nil)
        let config = SelectorConfiguration(k: 10, space: .feature, referenceSize: 20, warmUp: 20)
        let s = CoresetSelector(configuration: config, task: .binary)
        for r in Self.skewed(n: 200, seed: 3) { s.offer(r) }
        let bytes = try s.encodedState()
        var other = config
        other.referenceFactor = 8
        #expect(throws: CoresetError.self) { try CoresetSelector(restoring: bytes, configuration: other, task: .binary) }
    }

    @Test(arguments: streaming)
    func checkpointsRoundTripWhileReservoirsGrow(_ algorithm: SelectorConfiguration.Algorithm) throws {
        let records = Self.skewed(n: 800, seed: 23)
        let config = SelectorConfiguration(k: 50, algorithm: algorithm, threeSievesPatience: 20, space: .feature,
                                           referenceSize: 15, warmUp: 15, seed: 2)
        // Cuts: while class 0 fills beyond referenceSize, around its start, late.
        try SelectorStateTests.compare(config, records, classes: 2, cuts: [30, 120, 230, 231, 790])
        let window = SelectorConfiguration(k: 50, algorithm: algorithm, threeSievesPatience: 20, space: .feature,
                                           referenceSize: 15, warmUp: 15, window: 400, seed: 2)
        try SelectorStateTests.compare(window, records, classes: 2, cuts: [30, 230, 500, 790])
    }
}
