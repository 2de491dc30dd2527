import Foundation
import Testing
@testable import CoresetKit

/// The O(n · k) merge: the weighted reference sample, the reference greedy against the exact one,
/// exact per-class weights either way, and origins.
@Suite struct CoresetMergeReferenceTests {
    @Test func theReferenceKeepsTheWeightAndEveryHeavyElement() {
        var g = SeededGenerator(seed: 21)
        for trial in 0..<30 {
            let n = 10 + Int(g.below(300))
            var w = (0..<n).map { _ in Double(1 + g.below(20)) }
            if trial % 3 == 0 { w[Int(g.below(UInt64(n)))] = 5000 }  // one element heavier than a share
            if trial % 5 == 0 { w[0] = 0 }
            let size = 1 + Int(g.below(UInt64(n + 20)))
            let r = CoresetMerge.reference(weights: w, size: size)
            #expect(r.count <= min(size, n))
            #expect(Set(r.map(\.index)).count == r.count)
            #expect(r.map(\.index) == r.map(\.index).sorted())
            let total = w.reduce(0, +)
            #expect(abs(r.reduce(0) { $0 + $1.weight } - total) <= 1e-9 * total, "trial \(trial)")
            if size >= n { #expect(r.map(\.weight) == w) }
            if trial % 3 == 0 && size > 1, let heavy = w.firstIndex(of: 5000) {
                #expect(r.first { $0.index == heavy }?.weight == 5000)
            }
        }
    }

    /// Clusters of points, one shard per cluster draw: the greedy on a reference of 8 per pick must
    /// reach nearly the exact greedy's objective, with exactly the same per-class weights.
    @Test func referenceGreedyIsCloseToExactWithExactWeights() {
        var g = SeededGenerator(seed: 8)
        func u() -> Float { Float(g.next() >> 11) / Float(1 << 53) }
        let centres = (0..<40).map { _ in (0..<6).map { _ in u() * 10 } }
        var shards: [WeightedCoreset] = []
        var counts = [0.0, 0.0]
        for s in 0..<8 {
            var elements: [WeightedCoreset.Element] = []
            for i in 0..<250 {
                let c = Int(g.below(UInt64(centres.count)))
                let label = c % 5 == 0 ? 1 : 0
                let x = centres[c].map { $0 + (u() - 0.5) }
                let w = Double(1 + g.below(9))
                counts[label] += w
                elements.append(.init(record: Record(label: Double(label), features: FeatureVector(dense: x), weight: w, position: UInt64(i)),
                                      weight: w, classIndex: label))
            }
            _ = s
            shards.append(WeightedCoreset(elements: elements))
        }
        let k = 40
        let exact = CoresetMerge.merge(shards, task: .binary, configuration: .init(k: k, referenceMinimum: .max))
        let sampled = CoresetMerge.merge(shards, task: .binary, configuration: .init(k: k, referencePerPick: 8, referenceMinimum: 0))
        #expect(sampled.coreset.count == k)
        #expect(sampled.value >= 0.98 * exact.value, "\(sampled.value) vs \(exact.value)")
        #expect(sampled.value <= sampled.ceiling)
        for c in 0..<2 {
            #expect(sampled.coreset.totalWeight(ofClass: c) == counts[c])
            #expect(exact.coreset.totalWeight(ofClass: c) == counts[c])
        }
        // Other similarities take the generic row path: same guarantees on weights and size.
        for similarity in [SelectorConfiguration.Similarity.cosine, .rbf(gamma: nil)] {
            let r = CoresetMerge.merge(shards, task: .binary, configuration: .init(k: k, similarity: similarity, referenceMinimum: 0))
            #expect(r.coreset.count == k)
            #expect(r.coreset.totalWeight(ofClass: 0) == counts[0] && r.coreset.totalWeight(ofClass: 1) == counts[1])
            #expect(r.value > 0 && r.value <= r.ceiling * (1 + 1e-9))
        }
        // A reference far too small does worse: the test can tell the two apart.
        let tiny = CoresetMerge.merge(shards, task: .binary, configuration: .init(k: k, referencePerPick: 1, referenceMinimum: 0))
        #expect(tiny.value < sampled.value)
        #expect(tiny.coreset.totalWeight(ofClass: 1) == counts[1])
    }

    @Test func originsNameTheShardAndSurviveAnotherMerge() {
        var g = SeededGenerator(seed: 4)
        let shards = (0..<3).map { _ in CoresetMergeTests.shard(&g, count: 30, classes: 2, integerWeights: true) }
        let first = CoresetMerge.merge(shards, task: .binary, configuration: .init(k: 20, firstShard: 5))
        #expect(first.coreset.elements.allSatisfy { $0.origin != nil && (5..<8).contains($0.origin!.shard) && $0.origin!.position == $0.id })
        #expect(Set(first.coreset.elements.map(\.origin)).count == 20)
        for e in first.coreset.elements {
            // The element is the one its origin names.
            let source = shards[e.origin!.shard - 5].elements.first { $0.id == e.origin!.position }!
            #expect(source.record.features == e.record.features)
        }
        let second = CoresetMerge.merge([first.coreset, shards[0]], task: .binary, configuration: .init(k: 10, firstShard: 50))
        for e in second.coreset.elements {
            #expect((5..<8).contains(e.origin!.shard) || e.origin!.shard == 51)
        }
        #expect(CoresetOrigin(text: "3:17") == CoresetOrigin(shard: 3, position: 17))
        #expect(CoresetOrigin(text: "3:x") == nil && CoresetOrigin(text: "-1:2") == nil && CoresetOrigin(text: "3") == nil)
    }
}
