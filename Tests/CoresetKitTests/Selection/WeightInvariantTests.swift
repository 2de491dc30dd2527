import Foundation
import Testing
@testable import CoresetKit

/// The weight invariant end to end on awkward streams: every record's input weight ends up on exactly
/// one element of its class, whatever path it took (the first record, records replayed when a
/// reservoir fills or at `finish()`, duplicates, zero vectors, zero weights, tiny reservoirs).
@Suite struct SelectionWeightInvariantTests {
    @Test func everyRecordsWeightReachesTheCoresetOnAwkwardStreams() {
        var g = SeededGenerator(seed: 77)
        func u() -> Double { Double(g.next() >> 11) / Double(1 << 53) }
        var checked = 0
        for trial in 0..<120 {
            let classes = 1 + Int(g.below(3))
            let n = 1 + Int(g.below(trial % 4 == 0 ? 400 : 60))
            let dim = 1 + Int(g.below(4))
            var data: [Record] = []
            for i in 0..<n {
                // The first record gets a class of its own now and then; duplicates and zero vectors on purpose.
                let label = (i == 0 && trial % 3 == 0) ? Double(classes) : Double(g.below(UInt64(classes)))
                let x: [Float]
                switch g.below(5) {
                case 0: x = [Float](repeating: 0, count: dim)
                case 1 where !data.isEmpty: x = data[Int(g.below(UInt64(data.count)))].features.values
                default: x = (0..<dim).map { _ in Float(u() * 4 - 2) }
                }
                let w = g.below(7) == 0 ? 0 : 0.25 + u() * 3
                data.append(Record(label: label, features: FeatureVector(dense: x), weight: w, position: UInt64(i)))
            }
            let ids = Set(data.map(\.classIndex))
            let k = ids.count + Int(g.below(6))
            for alg in [SelectorConfiguration.Algorithm.sieveStreaming, .sieveStreamingPlusPlus, .threeSieves, .greedy] {
                for sim in [SelectorConfiguration.Similarity.euclidean, .cosine, .rbf(gamma: nil)] {
                    let cfg = SelectorConfiguration(k: k, algorithm: alg, similarity: sim, space: .feature,
                                                    referenceSize: 1 + Int(g.below(12)), warmUp: 2 + Int(g.below(20)),
                                                    seed: UInt64(trial))
                    let s = CoresetSelector(configuration: cfg, task: .multiclass)
                    let cut = Int(g.below(UInt64(n + 1)))
                    s.offer(RecordBatch(data[0..<cut]))
                    let early = s.coreset  // an emission mid-stream (--emit-every) must not change anything
                    for cls in ids {
                        let expected = data[0..<cut].filter { $0.classIndex == cls }.reduce(0) { $0 + $1.weight }
                        #expect(abs(early.totalWeight(ofClass: cls) - expected) <= 1e-9 * max(1, expected), "trial \(trial) mid-stream")
                    }
                    s.offer(RecordBatch(data[cut...]))
                    s.finish()
                    let c = s.coreset
                    for cls in ids {
                        let expected = data.filter { $0.classIndex == cls }.reduce(0) { $0 + $1.weight }
                        #expect(abs(c.totalWeight(ofClass: cls) - expected) <= 1e-9 * max(1, expected),
                                "trial \(trial) \(alg) \(sim) class \(cls): \(c.totalWeight(ofClass: cls)) vs \(expected)")
                    }
                    checked += 1
                }
            }
        }
        #expect(checked == 120 * 12)
    }
}
