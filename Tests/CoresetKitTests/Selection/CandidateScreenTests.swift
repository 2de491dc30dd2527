import Foundation
import Testing
@testable import CoresetKit

/// The candidate screen (`SelectorConfiguration.candidateFactor`): which records reach the sieves, and
/// what must not change when fewer do (exact class totals, independence of batch cuts, checkpoints).
@Suite struct CandidateScreenTests {
    static let data = SelectionFixtures.blobs(n: 6000, dim: 12, classes: 3, seed: 91, sparse: true, randomWeights: true)

    static func config(_ factor: Double, algorithm: SelectorConfiguration.Algorithm = .sieveStreamingPlusPlus) -> SelectorConfiguration {
        SelectorConfiguration(k: 30, algorithm: algorithm, space: .feature, referenceSize: 60, warmUp: 40, candidateFactor: factor)
    }

    static func run(_ s: CoresetSelector, batch: Int, from: Int = 0, to: Int = data.count) {
        var i = from
        while i < to { let j = min(to, i + batch); s.offer(RecordBatch(data[i..<j])); i = j }
    }

    static func fingerprint(_ c: WeightedCoreset) -> [String] {
        c.elements.map { "\($0.classIndex) \($0.record.position) \($0.weight.bitPattern)" }
    }

    /// A factor so large that every record is a candidate takes the screened path and must give what the
    /// unscreened selector gives, bit for bit (the reservoir's draw moved before the sieves, nothing else).
    @Test(arguments: [SelectorConfiguration.Algorithm.sieveStreaming, .sieveStreamingPlusPlus, .threeSieves])
    func everyRecordACandidateIsTheUnscreenedSelection(_ algorithm: SelectorConfiguration.Algorithm) {
        let off = CoresetSelector(configuration: Self.config(0, algorithm: algorithm), task: .multiclass)
        let all = CoresetSelector(configuration: Self.config(1e12, algorithm: algorithm), task: .multiclass)
        Self.run(off, batch: 500)
        Self.run(all, batch: 500)
        off.finish()
        all.finish()
        #expect(Self.fingerprint(off.coreset) == Self.fingerprint(all.coreset))
        // And the default factor does screen on this stream (otherwise the tests below test nothing).
        let screened = CoresetSelector(configuration: Self.config(1), task: .multiclass)
        Self.run(screened, batch: 500)
        screened.finish()
        #expect(Self.fingerprint(off.coreset) != Self.fingerprint(screened.coreset))
    }

    /// The rate is min(1, F · R_c / n_c): measured over many arrivals it is that rate, and it is one for the
    /// first F · R_c records of the class.
    @Test func rateFollowsTheReservoir() {
        let s = CoresetSelector(configuration: Self.config(2), task: .multiclass)
        Self.run(s, batch: 1000)
        guard let c = s.classes.compactMap({ $0 }).first(where: { $0.started }) else { Issue.record("no class started"); return }
        let r = Double(s.referenceTarget(c))
        for n in [Int(2 * r) - 1, Int(2 * r)] { #expect(s.isCandidate(UInt64(n), ordinal: n, in: c)) }
        for n in [1_000, 10_000, 100_000] {
            let trials = 200_000
            var hits = 0
            for a in 0..<trials where s.isCandidate(UInt64(a) &* 7919 &+ 13, ordinal: n, in: c) { hits += 1 }
            let expected = min(1, 2 * r / Double(n))
            let observed = Double(hits) / Double(trials)
            #expect(abs(observed - expected) < 4 * (expected * (1 - expected) / Double(trials)).squareRoot() + 1e-9,
                    "n = \(n): \(observed) against \(expected)")
        }
    }

    /// Screened-out records still count: per class, the coreset's weights total the class's input weight.
    @Test(arguments: [SelectorConfiguration.Space.feature, .gradient])
    func classTotalsStayExact(_ space: SelectorConfiguration.Space) {
        var cfg = Self.config(1)
        cfg.space = space
        let s = CoresetSelector(configuration: cfg, task: .multiclass)
        if space == .gradient { _ = s.updateModel(TestLinearModel.random(classes: 3, dim: 12, seed: 5)) }
        Self.run(s, batch: 777)
        s.finish()
        let c = s.coreset
        #expect(c.count == 30)
        for cls in 0..<3 {
            let input = Self.data.filter { $0.classIndex == cls }.reduce(0.0) { $0 + $1.weight }
            #expect(abs(c.totalWeight(ofClass: cls) - input) <= 1e-9 * input, "class \(cls)")
        }
    }

    /// The decision is a function of the seed and the arrival: how the stream is cut does not matter, and a
    /// selector restored from a checkpoint continues exactly.
    @Test func batchCutsAndCheckpointsDoNotChangeTheResult() throws {
        let whole = CoresetSelector(configuration: Self.config(1), task: .multiclass)
        Self.run(whole, batch: Self.data.count)
        whole.finish()
        let small = CoresetSelector(configuration: Self.config(1), task: .multiclass)
        Self.run(small, batch: 37)
        small.finish()
        #expect(Self.fingerprint(whole.coreset) == Self.fingerprint(small.coreset))

        let first = CoresetSelector(configuration: Self.config(1), task: .multiclass)
        Self.run(first, batch: 500, to: 3500)
        let bytes = try first.encodedState()
        let resumed = try CoresetSelector(restoring: bytes, configuration: Self.config(1), task: .multiclass)
        Self.run(resumed, batch: 500, from: 3500)
        resumed.finish()
        #expect(Self.fingerprint(whole.coreset) == Self.fingerprint(resumed.coreset))
    }

    /// The screen is off with a window or a half-life (their reservoirs are not Algorithm R) and at 0.
    @Test func offWhereItDoesNotApply() {
        var w = Self.config(2); w.window = 1000
        var h = Self.config(2); h.halfLife = 1000
        #expect(!CoresetSelector(configuration: w, task: .multiclass).screens)
        #expect(!CoresetSelector(configuration: h, task: .multiclass).screens)
        #expect(!CoresetSelector(configuration: Self.config(0), task: .multiclass).screens)
        #expect(CoresetSelector(configuration: Self.config(2), task: .multiclass).screens)
        var bad = Self.config(2); bad.candidateFactor = -1
        #expect(bad.validationError() != nil)
        bad.candidateFactor = .infinity
        #expect(bad.validationError() != nil)
    }
}
