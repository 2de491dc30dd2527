import Foundation
import Testing
@testable import CoresetKit

@Suite struct SelectionWindowTests {
    static let streaming: [SelectorConfiguration.Algorithm] = [.sieveStreaming, .sieveStreamingPlusPlus, .threeSieves]

    func feed(_ s: CoresetSelector, _ data: [Record], batch: Int, check: ((Int) -> Void)? = nil) {
        var i = 0
        while i < data.count {
            let j = min(data.count, i + batch)
            s.offer(RecordBatch(data[i..<j]))
            check?(j)
            i = j
        }
        s.finish()
    }

    /// Σ input weight per class of the last `n` of the first `upTo` records.
    func windowTotals(_ data: [Record], upTo: Int, window n: Int, classes: Int) -> [Double] {
        var t = [Double](repeating: 0, count: classes)
        for r in data[max(0, upTo - n)..<upTo] { t[r.classIndex] += r.weight }
        return t
    }

    /// Two regimes: classes {0, 1} around one set of centres, then (from `shiftAt`) either classes
    /// {2, 3} (class shift) or classes {0, 1} around centres moved far away (feature shift).
    func shiftedStream(n: Int, shiftAt: Int, classShift: Bool, seed: UInt64) -> [Record] {
        let a = SelectionFixtures.blobs(n: shiftAt, dim: 5, classes: 2, seed: seed)
        var b = SelectionFixtures.blobs(n: n - shiftAt, dim: 5, classes: 2, seed: seed + 100)
        for i in b.indices {
            if classShift {
                b[i].label += 2
            } else {
                b[i].features.values = b[i].features.values.map { $0 + 25 }
            }
        }
        var out = a + b
        for i in out.indices { out[i].position = UInt64(i) }
        return out
    }

    @Test func windowWeightsSumToInputWeightOfTheLastNRecords() {
        let data = SelectionFixtures.blobs(n: 1300, dim: 5, classes: 3, seed: 31, randomWeights: true)
        let n = 350
        for alg in Self.streaming + [.greedy] {
            let cfg = SelectorConfiguration(k: 15, algorithm: alg, space: .feature, referenceSize: 50, warmUp: 40, window: n)
            let s = CoresetSelector(configuration: cfg, task: .multiclass)
            feed(s, data, batch: 97) { seen in
                guard seen % 3 == 0 || seen == data.count else { return }
                let expected = windowTotals(data, upTo: seen, window: n, classes: 3)
                let c = s.coreset
                for cls in 0..<3 {
                    #expect(abs(c.totalWeight(ofClass: cls) - expected[cls]) <= 1e-9 * max(1, expected[cls]), "\(alg) at \(seen) class \(cls)")
                    #expect(abs(s.inputWeight(ofClass: cls) - expected[cls]) <= 1e-9 * max(1, expected[cls]))
                }
                // Every element is one of the last n records.
                #expect(c.elements.allSatisfy { Int($0.record.position) >= seen - n }, "\(alg) at \(seen)")
            }
            #expect(s.coreset.count == 15)
        }
    }

    @Test func windowTotalsStayExactThroughGradientReselection() {
        let data = SelectionFixtures.blobs(n: 900, dim: 5, classes: 3, seed: 13, randomWeights: true)
        let n = 250
        for alg in Self.streaming {
            let cfg = SelectorConfiguration(k: 12, algorithm: alg, space: .gradient, referenceSize: 40, warmUp: 40, window: n)
            let s = CoresetSelector(configuration: cfg, task: .multiclass)
            s.offer(RecordBatch(data[0..<400]))
            #expect(s.updateModel(TestLinearModel.random(classes: 3, dim: 5, seed: 1, version: 1)))
            s.offer(RecordBatch(data[400..<650]))
            #expect(s.updateModel(TestLinearModel.random(classes: 3, dim: 5, seed: 2, version: 2)))
            s.offer(RecordBatch(data[650...]))
            s.finish()
            let expected = windowTotals(data, upTo: data.count, window: n, classes: 3)
            let c = s.coreset
            #expect(c.count == 12)
            for cls in 0..<3 {
                #expect(abs(c.totalWeight(ofClass: cls) - expected[cls]) <= 1e-9 * expected[cls], "\(alg) class \(cls)")
            }
        }
    }

    @Test func afterAShiftTheCoresetComesFromTheNewRegime() {
        let n = 2400, shiftAt = 1200, window = 600
        for classShift in [true, false] {
            let data = shiftedStream(n: n, shiftAt: shiftAt, classShift: classShift, seed: 41)
            for alg in Self.streaming {
                let cfg = SelectorConfiguration(k: 16, algorithm: alg, space: .feature, referenceSize: 60, warmUp: 60, window: window)
                let s = CoresetSelector(configuration: cfg, task: .multiclass)
                feed(s, data, batch: 200)
                let c = s.coreset
                #expect(c.count == 16, "\(alg) class shift \(classShift)")
                #expect(c.elements.allSatisfy { $0.record.position >= UInt64(shiftAt) }, "\(alg) class shift \(classShift)")
                if classShift { #expect(c.elements.allSatisfy { $0.classIndex >= 2 }) }
                #expect(abs(c.totalWeight - Double(window)) < 1e-9 * Double(window))
                // The references, too, are all recent.
                for case let cls? in s.classes {
                    #expect(cls.refs.allSatisfy { $0.record.position >= UInt64(n - window) })
                }
                // Without a window, the old regime keeps about half the coreset (the test is not vacuous).
                var plain = cfg
                plain.window = nil
                let p = CoresetSelector(configuration: plain, task: .multiclass)
                feed(p, data, batch: 200)
                #expect(p.coreset.elements.contains { $0.record.position < UInt64(shiftAt) })
            }
        }
    }

    @Test func withAHalfLifeTheCoresetMovesToTheNewRegime() {
        let n = 2400, shiftAt = 1200, halfLife = 150.0
        for classShift in [true, false] {
            let data = shiftedStream(n: n, shiftAt: shiftAt, classShift: classShift, seed: 41)
            for alg in Self.streaming {
                let cfg = SelectorConfiguration(k: 16, algorithm: alg, space: .feature, referenceSize: 60, warmUp: 60, halfLife: halfLife)
                let s = CoresetSelector(configuration: cfg, task: .multiclass)
                feed(s, data, batch: 200)
                let c = s.coreset
                let recent = c.elements.filter { $0.record.position >= UInt64(shiftAt) }.count
                #expect(c.count == 16, "\(alg) class shift \(classShift)")
                // 1200 records (8 half-lives) after the shift, the old regime holds 2^-8 of the weight.
                // After a class shift the two old classes keep one element each (their decayed weight
                // must stay somewhere); everything else is recent.
                #expect(recent >= (classShift ? 14 : 15), "\(alg) class shift \(classShift): \(recent) of 16 recent")
                if classShift { #expect(c.elements.filter { $0.classIndex >= 2 }.count == 14) }
                var decayed = 0.0
                for (i, r) in data.enumerated() { decayed += r.weight * Foundation.exp2(-Double(n - i) / halfLife) }  // decayed to now: after the last arrival
                #expect(abs(c.totalWeight - decayed) <= 1e-6 * decayed, "\(alg): \(c.totalWeight) vs \(decayed)")
                // The references are mostly recent too.
                for case let cls? in s.classes where !classShift || cls.id >= 2 {
                    let old = cls.refs.filter { $0.record.position < UInt64(shiftAt) }.count
                    #expect(old * 10 <= cls.refs.count, "\(alg) class \(cls.id): \(old) old references of \(cls.refs.count)")
                }
            }
        }
    }

    @Test func windowKeepsStoresAndReferenceCandidatesBounded() {
        let data = SelectionFixtures.blobs(n: 2500, dim: 5, classes: 2, seed: 3)
        let r = 40, window = 800
        for alg in Self.streaming {
            let cfg = SelectorConfiguration(k: 20, algorithm: alg, space: .feature, referenceSize: r, warmUp: 40, window: window)
            let s = CoresetSelector(configuration: cfg, task: .binary)
            var maxCandidates = 0
            feed(s, data, batch: 50) { _ in
                #expect(s.storedElementCount <= s.storedElementBound, "\(alg)")
                #expect(s.referenceCount <= 2 * r)
                maxCandidates = max(maxCandidates, s.windowCandidateCount)
            }
            // Expected R (1 + ln(n_w / R)) per class, ~2.4 R here; allow slack for the variance.
            #expect(maxCandidates <= 2 * Int(Double(r) * (2 + log(Double(window) / Double(r)))), "\(alg): \(maxCandidates)")
            // Nothing older than the window is kept anywhere.
            for case let c? in s.classes {
                #expect(c.candidates.allSatisfy { $0.point.record.position >= UInt64(data.count - window) })
                #expect(c.pool.allSatisfy { $0 == nil || $0!.point.record.position >= UInt64(data.count - window) })
            }
        }
    }

    @Test func windowedCoresetDoesNotDependOnBatchBoundaries() {
        for sparse in [false, true] {
            let data = SelectionFixtures.blobs(n: 1200, dim: 8, classes: 3, seed: 21, sparse: sparse, randomWeights: true)
            for alg in Self.streaming {
                let cfg = SelectorConfiguration(k: 15, algorithm: alg, space: .feature, referenceSize: 60, warmUp: 50,
                                                window: 400, seed: 9)
                let whole = CoresetSelector(configuration: cfg, task: .multiclass)
                feed(whole, data, batch: data.count)
                for b in [1, 7, 1000] {
                    let s = CoresetSelector(configuration: cfg, task: .multiclass)
                    feed(s, data, batch: b)
                    #expect(s.coreset.elements == whole.coreset.elements, "\(alg) sparse \(sparse) batch \(b)")
                }
            }
        }
    }
}
