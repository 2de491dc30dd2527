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

    /// In gradient space the read-out packs the references as kept and embeds them while packing (so the
    /// embedded copy is not held beside the packed one): the same packing, and the same cells, as packing
    /// the embedded copy. Indices are packed narrow (UInt16) while they fit, wide past 65,535.
    @Test(arguments: [16, 70_000])
    func packingEmbedsAsTheReadOutDoes(dimension: Int) {
        let records = SelectionFixtures.blobs(n: 3000, dim: 16, classes: 3, seed: 3, sparse: true, randomWeights: true)
            .map { r -> Record in
                var r = r
                // Moves the last feature to the given dimension (wide indices past UInt16).
                if dimension > 16, !r.features.indices.isEmpty {
                    var ix = r.features.indices
                    ix[ix.count - 1] = UInt32(dimension - 1)
                    r.features = FeatureVector(indices: ix, values: r.features.values)
                }
                return r
            }
        let old = TestLinearModel.random(classes: 3, dim: dimension, seed: 1, version: 1)
        let new = TestLinearModel.random(classes: 3, dim: dimension, seed: 2, version: 2)
        let kept = records.enumerated().map { _Kernel(kind: .cosine, embedding: old).point($1, arrival: UInt64($0)) }
        let kernel = _Kernel(kind: .cosine, embedding: new)
        let readOut = _SampleGreedyReadOut(kernel: kernel, cellSize: 64)
        let embedded = readOut.embedded(kept)
        let packedWhileEmbedding = _PackedPoints(kept, embeddedAt: kernel), packed = _PackedPoints(embedded)
        #expect(packedWhileEmbedding.residuals == packed.residuals)
        #expect(packedWhileEmbedding.norms == packed.norms)
        #expect(packed.residuals != _PackedPoints(kept).residuals)
        #expect(packed.narrowIndices.isEmpty == (dimension > 65_536))
        #expect(readOut.sampleCells(kept, limit: 64, embeds: true) == readOut.sampleCells(embedded, limit: 64))
    }
}
