import Foundation
import Testing
@testable import CoresetKit

/// Sharded selection (`SelectorConfiguration.shards`): record i goes to shard i mod g, each shard is
/// an independent selector with its share of k, and the coreset is the union of the shards'.
@Suite struct ShardTests {
    static let streaming: [SelectorConfiguration.Algorithm] = [.sieveStreaming, .sieveStreamingPlusPlus, .threeSieves]

    static func config(_ algorithm: SelectorConfiguration.Algorithm, shards: Int, k: Int = 60,
                       space: SelectorConfiguration.Space = .feature, window: Int? = nil, halfLife: Double? = nil) -> SelectorConfiguration {
        SelectorConfiguration(k: k, algorithm: algorithm, threeSievesPatience: 20, space: space, referenceSize: 20,
                              warmUp: 20, window: window, halfLife: halfLife, shards: shards)
    }

    static func elements(_ c: WeightedCoreset) -> [String] {
        c.elements.map { "\($0.classIndex) \($0.record.position) \($0.weight.bitPattern)" }
    }

    @Test func shardConfigurationsSplitTheBudgetWindowAndHalfLife() {
        #expect(SelectorConfiguration(k: 19952).shards == 1)
        let c = SelectorConfiguration(k: 10, window: 25, halfLife: nil, seed: 7, shards: 3)
        #expect((0..<3).map { c.shardConfiguration($0).k } == [4, 3, 3])
        #expect((0..<3).map { c.shardConfiguration($0).window } == [9, 9, 9])
        #expect(Set((0..<3).map { c.shardConfiguration($0).seed }).count == 3)
        #expect(SelectorConfiguration(k: 10, halfLife: 30, shards: 3).shardConfiguration(1).halfLife == 10)
        #expect(SelectorConfiguration(k: 10, shards: 0).validationError() != nil)
        #expect(SelectorConfiguration(k: 10, shards: 11).validationError() != nil)
        #expect(SelectorConfiguration(k: 10, shards: 10).validationError() == nil)
    }

    /// The elements are exactly the picks of g separate selectors on the dealt records (the shards are
    /// independent and dealing is by arrival); the weights are every shard's moved onto the whole union,
    /// so per class they still total the input weight.
    @Test(arguments: streaming)
    func theElementsAreThePicksOfSeparateSelectorsOnTheDealtRecords(_ algorithm: SelectorConfiguration.Algorithm) {
        let data = ReferenceGrowthTests.skewed(n: 1500, seed: 21)
        let cfg = Self.config(algorithm, shards: 3)
        let sharded = ReferenceGrowthTests.run(data, cfg)
        var picks: [UInt64] = []
        for s in 0..<3 {
            let part = stride(from: s, to: data.count, by: 3).map { data[$0] }
            picks += ReferenceGrowthTests.run(part, cfg.shardConfiguration(s)).coreset.elements.map(\.record.position)
        }
        #expect(sharded.coreset.elements.map(\.record.position).sorted() == picks.sorted())
        #expect(sharded.coreset.count == 60)
        #expect(sharded.recordsSeen == 1500)
        #expect(sharded.classBudgets().reduce(0, +) == 60)
        #expect(sharded.storedElementCount <= sharded.storedElementBound)
        #expect((0..<sharded.classCount).map { sharded.recordCount(ofClass: $0) }.reduce(0, +) == 1500)
        ReferenceGrowthTests.expectExactTotals(sharded.coreset, data, "\(algorithm) sharded")
    }

    /// Moving every shard's weight onto the union spreads it over more elements than each shard's own
    /// read-out does, so the union's weights are not those of the separate selectors.
    @Test func unionWeightsDifferFromEachShardsOwn() {
        let data = ReferenceGrowthTests.skewed(n: 1500, seed: 21)
        let cfg = Self.config(.sieveStreamingPlusPlus, shards: 3)
        let sharded = ReferenceGrowthTests.run(data, cfg)
        var own: [UInt64: Double] = [:]
        for s in 0..<3 {
            let part = stride(from: s, to: data.count, by: 3).map { data[$0] }
            for e in ReferenceGrowthTests.run(part, cfg.shardConfiguration(s)).coreset.elements { own[e.record.position] = e.weight }
        }
        let moved = sharded.coreset.elements.filter { abs((own[$0.record.position] ?? -1) - $0.weight) > 1e-9 }.count
        #expect(moved > 0)
    }

    @Test(arguments: [SelectorConfiguration.Space.feature, .gradient])
    func shardedSelectionDoesNotDependOnBatchBoundaries(_ space: SelectorConfiguration.Space) {
        let data = ReferenceGrowthTests.skewed(n: 1400, seed: 8, sparse: true)
        var models: [Int: TestLinearModel] = [:]
        for (v, at) in [400, 900].enumerated() { models[at] = TestLinearModel.random(classes: 2, dim: 20, seed: UInt64(v + 5), version: v + 1) }
        let cfg = Self.config(.sieveStreamingPlusPlus, shards: 4, k: 80, space: space)
        let whole = ReferenceGrowthTests.run(data, cfg, models: models)
        for batch in [1, 7, 1000] {
            let s = ReferenceGrowthTests.run(data, cfg, batch: batch, models: models)
            #expect(Self.elements(s.coreset) == Self.elements(whole.coreset), "batch \(batch)")
        }
        if space == .gradient { #expect(whole.reselectionCount >= 1, "the shards re-select on the first trained model") }
        #expect(whole.coreset.count == 80)
        ReferenceGrowthTests.expectExactTotals(whole.coreset, data, "\(space)")
    }

    /// The shards take up a snapshot together or not at all (one decision over all their references), so
    /// they always measure at one model, and the union's weights are gradient-matched with their summed
    /// class gradient sums. A model that drifts slowly puts each shard's own shift near the threshold,
    /// where shards deciding alone disagreed.
    @Test func shardsTakeUpEverySnapshotTogether() {
        let data = ReferenceGrowthTests.skewed(n: 3000, seed: 30, sparse: true)
        var cfg = Self.config(.sieveStreamingPlusPlus, shards: 3, k: 60, space: .gradient)
        cfg.reselectionSpacing = 0
        let s = CoresetSelector(configuration: cfg, task: .binary)
        let base = TestLinearModel.random(classes: 2, dim: 20, seed: 3, scale: 0.3)
        var i = 0, version = 0
        while i < data.count {
            let j = min(data.count, i + 97)
            s.offer(RecordBatch(data[i..<j]))
            i = j
            version += 1
            var m = base
            let grow = Float(1 + 0.06 * Double(version))
            m.weights = m.weights.map { $0.map { $0 * grow } }
            m.bias = m.bias.map { $0 * grow }
            m.version = version
            s.updateModel(m)
            let versions = Set(s.shardSelectors.map { $0.kernel.embedding?.version ?? 0 })
            #expect(versions.count == 1, "after \(i) records the shards use snapshots \(versions.sorted())")
        }
        #expect(s.reselectionCount >= 3)
        #expect(s.reselectionCount < version, "some snapshots moved the model too little to re-select")
        for id in 0..<s.classCount { #expect(s.shardGradientSum(ofClass: id) != nil, "class \(id)") }
        ReferenceGrowthTests.expectExactTotals(s.coreset, data, "shards")
    }

    /// With a window each shard keeps its last ⌈N/g⌉ records, so the union's class totals are the
    /// weights of those records.
    @Test func aWindowKeepsEachShardsLastRecords() {
        let data = ReferenceGrowthTests.skewed(n: 1300, seed: 4)
        let g = 3, window = 400
        let s = ReferenceGrowthTests.run(data, Self.config(.threeSieves, shards: g, k: 30, window: window))
        var expected: [Double: Double] = [:]
        let perShard = (window + g - 1) / g
        for shard in 0..<g {
            let part = stride(from: shard, to: data.count, by: g).map { data[$0] }
            for r in part.suffix(perShard) { expected[r.label, default: 0] += r.weight }
        }
        var got: [Double: Double] = [:]
        for e in s.coreset.elements { got[e.record.label, default: 0] += e.weight }
        for (label, w) in expected { #expect(abs((got[label] ?? 0) - w) <= 1e-9 * w, "class \(label): \(got[label] ?? 0) of \(w)") }
    }

    /// A sharded selector saved mid-stream and restored ends with the same coreset.
    @Test func aShardedCheckpointResumesExactly() throws {
        let data = ReferenceGrowthTests.skewed(n: 1200, seed: 13, sparse: true)
        let cfg = Self.config(.sieveStreaming, shards: 3, space: .gradient)
        let m1 = SelectorStateTests.snapshot(Array(data[0..<300]), classes: 2, version: 1)
        let m2 = SelectorStateTests.snapshot(Array(data[0..<700]), classes: 2, version: 2)
        let straight = CoresetSelector(configuration: cfg, task: .binary)
        straight.offer(RecordBatch(data[0..<500]))
        straight.updateModel(m1)
        straight.offer(RecordBatch(data[500..<700]))
        let bytes = try straight.encodedState()
        straight.updateModel(m2)
        straight.offer(RecordBatch(data[700...]))
        straight.finish()

        let resumed = try CoresetSelector(restoring: bytes, configuration: cfg, task: .binary)
        resumed.updateModel(m2)
        resumed.offer(RecordBatch(data[700...]))
        resumed.finish()
        #expect(Self.elements(resumed.coreset) == Self.elements(straight.coreset))
        #expect(resumed.reselectionCount == straight.reselectionCount)
        // The shard count is part of the options a state must match.
        #expect(throws: CoresetError.self) {
            _ = try CoresetSelector(restoring: bytes, configuration: Self.config(.sieveStreaming, shards: 2, space: .gradient), task: .binary)
        }
    }
}
