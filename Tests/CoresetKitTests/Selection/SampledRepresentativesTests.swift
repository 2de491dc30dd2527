import Foundation
import Testing
@testable import CoresetKit

/// `Representatives.sampled`: the same cells and weights as the medoids, each element replaced by a
/// record drawn from the references it represents.
@Suite struct SampledRepresentativesTests {
    static let records = Array(SampleGreedyTests.data.prefix(300))

    static func select(_ representatives: SelectorConfiguration.Representatives, seed: UInt64 = 0, threads: Int = 1,
                       records: [Record] = records, referenceSize: Int = 1000) -> (coreset: WeightedCoreset, kernel: _Kernel) {
        var c = SampleGreedyTests.config(k: 12, referenceSize: referenceSize)
        c.seed = seed
        c.representatives = representatives
        let s = CoresetSelector(configuration: c, task: .multiclass)
        if threads > 1 { s.useThreads(threads) }
        SampleGreedyTests.run(s, records, batch: 64)
        s.finish()
        return (s.coreset, s.kernel)
    }

    /// With every record in the reservoir, a drawn element belongs to the cell of the medoid it replaces:
    /// its most similar medoid is one of that weight, in its class.
    @Test func drawnRecordsComeFromTheirMedoidsCells() {
        let medoids = Self.select(.medoids), sampled = Self.select(.sampled)
        #expect(sampled.coreset.count == medoids.coreset.count)
        let arrival = Dictionary(uniqueKeysWithValues: Self.records.enumerated().map { ($1.position, UInt64($0)) })
        let k = medoids.kernel
        var moved = 0
        for cls in 0..<3 {
            let m = medoids.coreset.elements.filter { $0.classIndex == cls }
            let s = sampled.coreset.elements.filter { $0.classIndex == cls }
            #expect(m.map(\.weight).sorted() == s.map(\.weight).sorted(), "class \(cls): the same weights")
            #expect(abs(s.reduce(0) { $0 + $1.weight } - m.reduce(0) { $0 + $1.weight }) < 1e-9)
            let medoidPoints = m.map { k.point($0.record, arrival: arrival[$0.record.position]!) }
            for e in s {
                #expect(Self.records.contains { $0.position == e.record.position && $0.classIndex == cls })
                if !m.contains(where: { $0.record.position == e.record.position }) { moved += 1 }
                let p = k.point(e.record, arrival: arrival[e.record.position]!)
                var best = 0
                var bestSim: Float = -1
                for (j, q) in medoidPoints.enumerated() {
                    let v = k.similarity(p, q)
                    if v > bestSim { best = j; bestSim = v }
                }
                #expect(m[best].weight == e.weight, "class \(cls): drawn from its medoid's cell")
            }
        }
        #expect(moved > 6, "most cells draw a record other than their medoid")
    }

    @Test func drawsDependOnTheSeedNotOnThreads() {
        func ids(_ c: WeightedCoreset) -> [UInt64] { c.elements.map(\.record.position).sorted() }
        let one = Self.select(.sampled, records: SampleGreedyTests.data, referenceSize: 60)
        let three = Self.select(.sampled, threads: 3, records: SampleGreedyTests.data, referenceSize: 60)
        #expect(ids(one.coreset) == ids(three.coreset))
        let other = Self.select(.sampled, seed: 9, records: SampleGreedyTests.data, referenceSize: 60)
        #expect(ids(other.coreset) != ids(one.coreset))
        // Class totals stay exact when the reservoir is a sample of the class.
        for cls in 0..<3 {
            let input = SampleGreedyTests.data.filter { $0.classIndex == cls }.reduce(0.0) { $0 + $1.weight }
            #expect(abs(one.coreset.totalWeight(ofClass: cls) - input) <= 1e-9 * input)
        }
    }

    @Test func onlySampleGreedyDrawsThem() {
        var c = SelectorConfiguration(k: 10, algorithm: .sieveStreamingPlusPlus)
        c.representatives = .sampled
        #expect(c.validationError()?.contains("sample-greedy") == true)
        var sharded = SelectorConfiguration(k: 10, algorithm: .sampleGreedy, shards: 2)
        sharded.representatives = .sampled
        #expect(sharded.validationError() != nil)
    }
}
