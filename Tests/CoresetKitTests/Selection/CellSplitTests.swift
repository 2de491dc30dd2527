import Foundation
import Testing
@testable import CoresetKit

/// sample-greedy's two-pole splits: on two threads they give the cells one thread gives, in the same order.
@Suite struct CellSplitTests {
    @Test func twoThreadsSplitAsOne() {
        let records = SelectionFixtures.blobs(n: 9000, dim: 16, classes: 1, seed: 7, sparse: true, randomWeights: false)
        let kernel = _Kernel(kind: .cosine, embedding: nil)
        let refs = records.enumerated().map { kernel.point($1, arrival: UInt64($0)) }
        let readOut = _SampleGreedyReadOut(kernel: kernel, cellSize: 64)
        let one = readOut.sampleCells(refs, limit: 64)
        let two = readOut.sampleCells(refs, limit: 64, parallel: true)
        #expect(one.count > 100)
        #expect(two == one)
        // Every reference in exactly one cell, none larger than the limit.
        #expect(one.flatMap { $0 }.sorted() == Array(refs.indices))
        #expect(one.allSatisfy { $0.count <= 64 })
    }
}
