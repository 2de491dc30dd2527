import Foundation
import Testing
@testable import CoresetKit

/// A re-selection past `reselectionRowBudget` recomputes candidate rows instead of holding the whole
/// candidate × reference matrix (9 GB for census_kdd at k = 10%): the state it leaves must be the same.
@Suite struct ReselectionMemoryTests {
    static let data = SelectionFixtures.blobs(n: 2400, dim: 14, classes: 4, seed: 78, sparse: true, randomWeights: true)
    static let models: [Int: LinearModelSnapshot] = [
        500: SelectorStateTests.snapshot(Array(data[..<500]), classes: 4, version: 1),
        1500: SelectorStateTests.snapshot(Array(data[..<1500].reversed()), classes: 4, version: 2),
    ]

    @Test(arguments: [SelectorConfiguration.Algorithm.sieveStreaming, .sieveStreamingPlusPlus, .threeSieves])
    func recomputedRowsLeaveTheSameState(_ algorithm: SelectorConfiguration.Algorithm) throws {
        let cfg = SelectorConfiguration(k: 40, algorithm: algorithm, space: .gradient, referenceSize: 60, warmUp: 30)
        let kept = CoresetSelector(configuration: cfg, task: .multiclass)
        let recomputed = CoresetSelector(configuration: cfg, task: .multiclass)
        recomputed.reselectionRowBudget = 0
        var i = 0
        while i < Self.data.count {
            if let m = Self.models[i] {
                _ = kept.updateModel(m)
                _ = recomputed.updateModel(m)
                #expect(try kept.encodedState() == recomputed.encodedState(), "after the re-selection at \(i)")
            }
            let batch = RecordBatch(Self.data[i..<min(Self.data.count, i + 100)])
            kept.offer(batch)
            recomputed.offer(batch)
            i += 100
        }
        kept.finish()
        recomputed.finish()
        #expect(kept.reselectionCount >= 2)
        #expect(try kept.encodedState() == recomputed.encodedState())
        #expect(kept.coreset.elements.map(\.weight) == recomputed.coreset.elements.map(\.weight))
    }
}
