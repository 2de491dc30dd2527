import Foundation
import Testing
@testable import CoresetKit

/// The read-out's shortcuts give the values of the plain computations bit for bit: the references'
/// Gram matrix built by symmetry, dot products from a column onwards, and nearest-element queries
/// through a column store for sets of any size.
@Suite struct ReferenceGramTests {
    /// Values of mixed signs and magnitudes: a sum in another order would round differently.
    static func records(sparse: Bool, n: Int = 700) -> [Record] {
        var g = SeededGenerator(seed: 11)
        return SelectionFixtures.blobs(n: n, dim: 16, classes: 3, seed: 8, sparse: sparse).map { r in
            var r = r
            let v = r.features.values.map { $0 * Float(1 + g.below(1000)) / 7 * (g.below(3) == 0 ? -1 : 1) }
            r.features = sparse ? FeatureVector(indices: r.features.indices, values: v) : FeatureVector(dense: v)
            return r
        }
    }

    static func selector(sparse: Bool, gradient: Bool) -> CoresetSelector {
        let data = records(sparse: sparse)
        let cfg = SelectorConfiguration(k: 30, space: gradient ? .gradient : .feature, referenceSize: 90, warmUp: 40)
        let s = CoresetSelector(configuration: cfg, task: .multiclass)
        if gradient { _ = s.updateModel(SelectorStateTests.snapshot(data, classes: 3, version: 1)) }
        s.offer(RecordBatch(data[...]))
        s.finish()
        return s
    }

    @Test(arguments: [(true, false), (false, false), (true, true), (false, true)])
    func theGramMatrixByItsSymmetryEqualsEveryRow(_ setting: (sparse: Bool, gradient: Bool)) throws {
        let s = Self.selector(sparse: setting.sparse, gradient: setting.gradient)
        for case let c? in s.classes {
            let refs = c.refs
            let g = refs.count
            #expect(g == 90)
            let gram = try #require(s.referenceGram(c, refs: refs))
            for j in 0..<g {
                let row = s.referenceSimilarities(refs[j], c)
                #expect(Array(gram[(j * g)..<((j + 1) * g)]).map(\.bitPattern) == row.map(\.bitPattern), "row \(j)")
            }
        }
    }

    /// A class's start replays its references through the sieves; with each reference's similarities
    /// to the next ones kept (a ring of `startReuseWindow` rows), the selector ends in exactly the state
    /// of one that computes every pass whole.
    @Test(arguments: [(true, false, 7), (false, false, 7), (true, true, 7), (true, false, 500), (false, true, 1)])
    func aStartThatReusesSimilaritiesEndsInTheSameState(_ setting: (sparse: Bool, gradient: Bool, window: Int)) throws {
        let data = Self.records(sparse: setting.sparse, n: 900)
        let cfg = SelectorConfiguration(k: 30, space: setting.gradient ? .gradient : .feature, referenceSize: 90, warmUp: 40)
        func run(_ window: Int) throws -> [UInt8] {
            let s = CoresetSelector(configuration: cfg, task: .multiclass)
            s.startReuseWindow = window
            if setting.gradient { _ = s.updateModel(SelectorStateTests.snapshot(data, classes: 3, version: 1)) }
            s.offer(RecordBatch(data[..<600]))
            s.offer(RecordBatch(data[600...]))
            s.finish()
            return try s.encodedState()
        }
        #expect(try run(setting.window) == run(0))
    }

    @Test func euclideanSimilaritiesFourAtATimeEqualTheScalarFormula() {
        var g = SeededGenerator(seed: 21)
        func u() -> Double { Double(g.next() >> 11) * 0x1p-53 }
        let n = 103
        // Norms and dots around the cancellation point (distance² near 0 or below it), plus extremes.
        var norms = (0..<n).map { _ in u() * 50 }
        var dots = norms.map { Float($0 * (0.4 + u() * 0.7)) }
        norms[5] = 0; dots[5] = 0
        norms[6] = .greatestFiniteMagnitude; dots[6] = -.greatestFiniteMagnitude
        norms[7] = .infinity; dots[7] = .infinity
        dots[8] = .nan
        for (an, d) in [(31.0, 9.5), (0.0, 1.0), (12.25, 0.01)] {
            var out = [Float](repeating: -7, count: n)
            norms.withUnsafeBufferPointer { nb in
                dots.withUnsafeBufferPointer { db in
                    out.withUnsafeMutableBufferPointer { _Kernel.euclideanSimilarities(scale: d, an, nb, db, into: $0, 2..<n) }
                }
            }
            let expected = (0..<n).map { r in r < 2 ? Float(-7) : _Kernel.similarity(.euclidean(scale: d), an, norms[r], inner: Double(dots[r])) }
            #expect(out.map(\.bitPattern) == expected.map(\.bitPattern))
        }
    }

    @Test(arguments: [true, false]) func dotsOverAColumnRangeEqualTheFullPass(sparse: Bool) {
        let data = Self.records(sparse: sparse, n: 60)
        var store = _ColumnStore(columns: 4)
        for (j, r) in data.enumerated() { store.set(j, r.features, replacing: nil) }
        var full: [Float] = [], part: [Float] = []
        for r in data.prefix(10) {
            store.dots(r.features, count: data.count, into: &full)
            for (from, to) in [(0, 60), (1, 60), (7, 60), (8, 33), (33, 59), (0, 9), (59, 60)] {
                part = [Float](repeating: -1, count: 70)
                store.dots(r.features, count: to, from: from, into: &part)
                #expect(part.count == 70)
                #expect(Array(part[from..<to]).map(\.bitPattern) == Array(full[from..<to]).map(\.bitPattern), "\(from)..<\(to)")
                #expect(part[..<from].allSatisfy { $0 == -1 } && part[to...].allSatisfy { $0 == -1 }, "entries outside are kept")
            }
        }
    }

    /// All columns at once (one sweep of the matrix) equal each column read back on its own: sparse and
    /// dense-prefix vectors, negative zeros and cleared or replaced columns included.
    @Test func allColumnsInOneSweepEqualEachColumn() {
        let sparse = Self.records(sparse: true, n: 40), dense = Self.records(sparse: false, n: 40)
        var store = _ColumnStore(columns: 4)
        var prefix: [Int32] = []
        for j in 0..<60 {
            var x = j % 3 == 0 ? dense[j % 40].features : sparse[j % 40].features
            if j % 7 == 0, !x.values.isEmpty { x.values[0] = -0.0 }
            store.set(j, x, replacing: nil)
            prefix.append(_ClassState.densePrefixCount(x))
        }
        store.clearColumn(5)
        prefix[5] = 0
        store.clearColumn(9)
        store.set(9, sparse[3].features, replacing: nil)
        prefix[9] = _ClassState.densePrefixCount(sparse[3].features)
        let all = store.columns(60, densePrefix: prefix)
        for c in 0..<60 {
            let one = store.column(c, densePrefix: Int(prefix[c]))
            #expect(all[c].indices == one.indices, "column \(c)")
            #expect(all[c].values.map(\.bitPattern) == one.values.map(\.bitPattern), "column \(c)")
        }
    }

    @Test(arguments: [true, false]) func nearestThroughTheStoreEqualsThePlainSearchForSmallSets(sparse: Bool) {
        let s = Self.selector(sparse: sparse, gradient: false)
        let c = s.classes.compactMap { $0 }[0]
        let refs = c.refs
        for size in [2, 3, 9, 15] {
            let set = Array(refs[..<size])
            var index = _NearestIndex(kernel: s.kernel, set: set)
            for q in refs[size...] {
                #expect(index.nearest(q, selfArrival: true) == s.nearest(q, among: set, selfArrival: true), "set of \(size)")
            }
        }
    }
}
