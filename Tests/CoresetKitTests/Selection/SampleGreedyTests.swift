import Foundation
import Testing
@testable import CoresetKit

/// `sample-greedy`: a uniform reservoir per class while streaming, lazy greedy over it at read-out
/// (in cells of nearby references when it is large). What must hold: exact class totals, CRAIG's
/// weights when the reservoir holds the whole class, independence of batch cuts, threads and
/// checkpoints, cells that partition the reservoir, and a better objective than a uniform sample.
@Suite struct SampleGreedyTests {
    static let data = SelectionFixtures.blobs(n: 6000, dim: 12, classes: 3, seed: 91, sparse: true, randomWeights: true)

    static func config(k: Int = 30, referenceSize: Int = 60, space: SelectorConfiguration.Space = .feature) -> SelectorConfiguration {
        SelectorConfiguration(k: k, algorithm: .sampleGreedy, space: space, referenceSize: referenceSize, warmUp: 40)
    }

    static func run(_ s: CoresetSelector, _ records: [Record] = data, batch: Int, from: Int = 0, to: Int? = nil) {
        let end = to ?? records.count
        var i = from
        while i < end { let j = min(end, i + batch); s.offer(RecordBatch(records[i..<j])); i = j }
    }

    static func fingerprint(_ c: WeightedCoreset) -> [String] {
        c.elements.map { "\($0.classIndex) \($0.record.position) \($0.weight.bitPattern)" }
    }

    @Test(arguments: [SelectorConfiguration.Space.feature, .gradient])
    func classTotalsStayExact(_ space: SelectorConfiguration.Space) {
        let s = CoresetSelector(configuration: Self.config(space: space), task: .multiclass)
        if space == .gradient { _ = s.updateModel(TestLinearModel.random(classes: 3, dim: 40, seed: 5)) }
        Self.run(s, batch: 777)
        s.finish()
        let c = s.coreset
        #expect(c.count == 30)
        #expect(s.storedElementCount == 0)
        for cls in 0..<3 {
            let input = Self.data.filter { $0.classIndex == cls }.reduce(0.0) { $0 + $1.weight }
            #expect(abs(c.totalWeight(ofClass: cls) - input) <= 1e-9 * input, "class \(cls)")
        }
    }

    /// A class whose reservoir holds all its records gets CRAIG's weights exactly: each record's weight on
    /// its most similar element (ties: the earlier element, a pick itself on itself).
    @Test func wholeClassInTheReservoirGivesCraigWeights() {
        let records = Array(Self.data.prefix(300))
        let s = CoresetSelector(configuration: Self.config(k: 12, referenceSize: 1000), task: .multiclass)
        Self.run(s, records, batch: 64)
        s.finish()
        let c = s.coreset
        #expect(c.count == 12)
        let k = s.kernel
        for cls in 0..<3 {
            let chosen = c.elements.filter { $0.classIndex == cls }
            let members = records.filter { $0.classIndex == cls }
            let points = chosen.map { e in k.point(e.record, arrival: UInt64(records.firstIndex { $0.position == e.record.position }!)) }
            var expected = [Double](repeating: 0, count: chosen.count)
            for r in members {
                let p = k.point(r, arrival: UInt64(records.firstIndex { $0.position == r.position }!))
                if let own = chosen.firstIndex(where: { $0.record.position == r.position }) { expected[own] += r.weight; continue }
                var best = 0, bestSim: Float = -1
                for (j, q) in points.enumerated() {
                    let v = k.similarity(p, q)
                    if v > bestSim { best = j; bestSim = v }
                }
                expected[best] += r.weight
            }
            for (e, w) in zip(chosen, expected) { #expect(abs(e.weight - w) <= 1e-9 * max(1, w), "class \(cls)") }
        }
    }

    @Test func batchCutsThreadsAndCheckpointsDoNotChangeTheResult() throws {
        let whole = CoresetSelector(configuration: Self.config(), task: .multiclass)
        Self.run(whole, batch: Self.data.count)
        whole.finish()
        let reference = Self.fingerprint(whole.coreset)

        let small = CoresetSelector(configuration: Self.config(), task: .multiclass)
        Self.run(small, batch: 37)
        small.finish()
        #expect(Self.fingerprint(small.coreset) == reference)

        let threaded = CoresetSelector(configuration: Self.config(), task: .multiclass)
        threaded.useThreads(2)
        Self.run(threaded, batch: 101)
        threaded.finish()
        #expect(Self.fingerprint(threaded.coreset) == reference)

        let first = CoresetSelector(configuration: Self.config(), task: .multiclass)
        Self.run(first, batch: 500, to: 3500)
        let bytes = try first.encodedState()
        let resumed = try CoresetSelector(restoring: bytes, configuration: Self.config(), task: .multiclass)
        Self.run(resumed, batch: 500, from: 3500)
        resumed.finish()
        #expect(Self.fingerprint(resumed.coreset) == reference)
    }

    /// Several cells per class (dealt over lanes at read-out) and cells measured on a ground subset
    /// (few picks in a large cell): the same coreset at any batch cut and thread count, exact totals.
    @Test(arguments: [(k: 6, cellSize: 64), (k: 60, cellSize: 64)])
    func cellsOverLanesAndGroundSubsetsDoNotChangeTheResult(_ shape: (k: Int, cellSize: Int)) {
        var cfg = Self.config(k: shape.k, referenceSize: 400)
        cfg.cellSize = shape.cellSize
        let probe = CoresetSelector(configuration: cfg, task: .multiclass)
        let budget = shape.k / 3, limit = probe.cellLimit(references: 400, budget: budget)
        // The shapes this test is for: one cell larger than its ground, or several cells per class.
        #expect(shape.k == 6 ? limit > probe.groundSize(budget: budget) : 400 > limit)
        let whole = CoresetSelector(configuration: cfg, task: .multiclass)
        Self.run(whole, batch: Self.data.count)
        whole.finish()
        let reference = Self.fingerprint(whole.coreset)
        #expect(whole.coreset.count == shape.k)
        for cls in 0..<3 {
            let input = Self.data.filter { $0.classIndex == cls }.reduce(0.0) { $0 + $1.weight }
            #expect(abs(whole.coreset.totalWeight(ofClass: cls) - input) <= 1e-9 * input, "class \(cls)")
        }
        for threads in [1, 2, 3] {
            let s = CoresetSelector(configuration: cfg, task: .multiclass)
            if threads > 1 { s.useThreads(threads) }
            Self.run(s, batch: 211)
            s.finish()
            #expect(Self.fingerprint(s.coreset) == reference, "threads \(threads)")
        }
    }

    /// On a ground subset each member's share still goes to its most similar pick (ties: the earlier).
    @Test func groundSubsetWeightsFollowNearestPicks() {
        var cfg = Self.config(k: 6, referenceSize: 400)
        cfg.cellSize = 64
        let s = CoresetSelector(configuration: cfg, task: .multiclass)
        Self.run(s, batch: 500)
        s.finish()
        let k = s.kernel
        for cls in 0..<3 {
            let c = s.classes[cls]!
            let refs = c.refs
            let share = s.referenceShares(c, refs)
            let out = s.sampleGreedy(c, budget: 2)
            #expect(out.count == 2)
            var expected = [Double](repeating: 0, count: out.count)
            for (r, v) in zip(refs, share) {
                if let own = out.firstIndex(where: { $0.point.arrival == r.arrival }) { expected[own] += v; continue }
                var best = 0, bestSim: Float = -1
                for (j, e) in out.enumerated() where k.similarity(r, e.point) > bestSim { best = j; bestSim = k.similarity(r, e.point) }
                expected[best] += v
            }
            for (e, w) in zip(out, expected) { #expect(abs(e.weight - w) <= 1e-9 * max(1, w), "class \(cls)") }
        }
    }

    /// Lazy greedy on a candidates × ground matrix picks what naive greedy picks.
    @Test func rectangularMatrixGreedyMatchesNaiveGreedy() {
        var g = SeededGenerator(seed: 78)
        for (n, m) in [(5, 3), (40, 16), (17, 33)] {
            let matrix = (0..<(n * m)).map { _ in Float(Double(g.next() >> 11) / Double(1 << 53)) }
            var cover = [Float](repeating: 0, count: m)
            let naive = _Greedy.naive(candidateCount: n, groundCount: m, budget: min(n, 6), cover: &cover) { i, row in
                row = Array(matrix[i * m..<(i + 1) * m])
            }
            #expect(_Greedy.lazyOnMatrix(matrix, rows: n, columns: m, budget: min(n, 6)) == naive, "\(n) x \(m)")
        }
    }

    /// Selection finds what a full sort would put at each place (ties in the key broken by the index).
    @Test func selectionAgreesWithSorting() {
        var g = SeededGenerator(seed: 9)
        for count in [1, 2, 3, 10, 101, 1000] {
            let items = (0..<count).map { _ in (key: Double(g.below(7)), index: Int(g.below(1_000_000))) }
            let before: ((key: Double, index: Int), (key: Double, index: Int)) -> Bool = { $0.key > $1.key || ($0.key == $1.key && $0.index < $1.index) }
            let sorted = items.sorted(by: before)
            for n in Set([0, count / 2, count - 1]) {
                var work = items
                let found = _Selection.nth(&work, n, by: before)
                #expect(found.key == sorted[n].key && found.index == sorted[n].index, "count \(count), n \(n)")
            }
        }
    }

    /// The reservoir is Algorithm R with the sieves' draws: the same records as sieve++'s reservoir.
    @Test func theReservoirIsTheSievesReservoir() {
        let sample = CoresetSelector(configuration: Self.config(), task: .multiclass)
        var sieve = Self.config()
        sieve.algorithm = .sieveStreamingPlusPlus
        sieve.candidateFactor = 0
        let sieves = CoresetSelector(configuration: sieve, task: .multiclass)
        Self.run(sample, batch: 500)
        Self.run(sieves, batch: 500)
        for cls in 0..<3 {
            #expect(sample.classes[cls]!.refs.map(\.arrival) == sieves.classes[cls]!.refs.map(\.arrival), "class \(cls)")
        }
    }

    /// Cells partition the reservoir into parts of at most the limit, split where the points are apart:
    /// two far blobs are never mixed in one cell of the first split.
    @Test func cellsPartitionTheReservoirByLocality() {
        var g = SeededGenerator(seed: 4)
        func u() -> Float { Float(Double(g.next() >> 11) / Double(1 << 53)) }
        // One class, two blobs far apart (x0 near 0 or near 100).
        let records = (0..<400).map { i -> Record in
            let far = i % 2 == 1
            return Record(label: 0, features: FeatureVector(dense: [far ? 100 + u() : u(), u()]), position: UInt64(i))
        }
        var cfg = Self.config(k: 20, referenceSize: 400)
        cfg.cellSize = 200
        let s = CoresetSelector(configuration: cfg, task: .binary)
        Self.run(s, records, batch: 50)
        s.finish()
        let refs = s.classes[0]!.refs
        let cells = s.sampleCells(refs, limit: 200)
        #expect(cells.count == 2)
        #expect(cells.allSatisfy { $0.count <= 200 })
        #expect(cells.flatMap { $0 }.sorted() == Array(refs.indices))
        for cell in cells {
            let sides = Set(cell.map { refs[$0].record.features.values[0] > 50 })
            #expect(sides.count == 1)
        }
        // Budgets follow the cells' sizes and the coreset still has k elements and the exact total.
        let c = s.coreset
        #expect(c.count == 20)
        #expect(abs(c.totalWeight(ofClass: 0) - 400) < 1e-9)
        #expect(c.elements.filter { $0.record.features.values[0] > 50 }.count == 10)
    }

    /// Cells are raised so each gets about 16 picks, up to 4096 references.
    @Test func cellsKeepEnoughPicks() {
        let s = CoresetSelector(configuration: Self.config(), task: .multiclass)  // cell size 512
        #expect(s.cellLimit(references: 7520, budget: 940) == 512)
        #expect(s.cellLimit(references: 4000, budget: 100) == 640)
        #expect(s.cellLimit(references: 4000, budget: 10) == 4096)
        #expect(s.cellLimit(references: 100_000, budget: 1) == 4096)
    }

    @Test func sharesFollowSizesByLargestRemainder() {
        let s = CoresetSelector(configuration: Self.config(), task: .multiclass)
        #expect(s.proportionalShares(10, sizes: [5, 5]) == [5, 5])
        #expect(s.proportionalShares(7, sizes: [3, 3, 3]) == [3, 2, 2])
        #expect(s.proportionalShares(3, sizes: [10, 1]) == [3, 0])
        #expect(s.proportionalShares(0, sizes: [4, 4]) == [0, 0])
    }

    /// The in-memory greedy picks what naive greedy picks on the same matrix.
    @Test func matrixGreedyMatchesNaiveGreedy() {
        var g = SeededGenerator(seed: 77)
        for n in [1, 5, 17, 40] {
            var m = [Float](repeating: 0, count: n * n)
            for i in 0..<n { for j in i..<n { let v = Float(Double(g.next() >> 11) / Double(1 << 53)); m[i * n + j] = v; m[j * n + i] = v } }
            var cover = [Float](repeating: 0, count: n)
            let naive = _Greedy.naive(candidateCount: n, groundCount: n, budget: min(n, 8), cover: &cover) { i, row in
                row = Array(m[i * n..<(i + 1) * n])
            }
            #expect(_Greedy.lazyOnMatrix(m, count: n, budget: min(n, 8)) == naive, "n = \(n)")
        }
    }

    /// The point of the algorithm: on clustered data its objective beats uniform samples of the same size.
    @Test func objectiveBeatsUniformSamples() {
        let s = CoresetSelector(configuration: Self.config(k: 12, referenceSize: 300), task: .multiclass)
        Self.run(s, batch: 1000)
        s.finish()
        let f = s.objective
        let ground = Array(Self.data.prefix(2000))
        func value(_ picks: [Record]) -> Double { f.evaluate(selected: picks, on: ground) }
        let chosen = value(s.coreset.elements.map(\.record))
        var g = SeededGenerator(seed: 3)
        var uniform = 0.0
        for _ in 0..<20 { uniform += value((0..<12).map { _ in Self.data[Int(g.below(UInt64(Self.data.count)))] }) / 20 }
        #expect(chosen > uniform)
    }
}
