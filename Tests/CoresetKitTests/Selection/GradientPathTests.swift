import Foundation
import Testing
@testable import CoresetKit

/// The gradient-space fast paths (flat residual buffers combined with the column store's bulk x·x
/// dots, and `_NearestFinder`'s gathered dots) give exactly the similarities of the per-pair kernel.
@Suite struct SelectionGradientPathTests {
    /// The per-pair formula, fed the same bulk feature dots.
    func slowRefs(_ s: CoresetSelector, _ p: _Point, _ c: _ClassState) -> [Float] {
        var dots: [Float] = []
        let refs = c.refs
        c.refStore.dots(p.record.features, count: refs.count, into: &dots)
        return refs.indices.map { s.kernel.similarity(p, refs[$0], featureDot: Double(dots[$0])) }
    }

    func slowPool(_ s: CoresetSelector, _ p: _Point, _ c: _ClassState) -> [Float] {
        var dots: [Float] = []
        c.poolStore.dots(p.record.features, count: c.pool.count, into: &dots)
        return c.pool.indices.map { c.pool[$0] == nil ? -1 : s.kernel.similarity(p, c.pool[$0]!.point, featureDot: Double(dots[$0])) }
    }

    func check(_ s: CoresetSelector, _ probes: [Record]) -> Int {
        var checked = 0
        for case let c? in s.classes where !c.refs.isEmpty {
            #expect(c.residualsFlat)
            var finder = _NearestFinder(kernel: s.kernel)
            let stored = c.pool.compactMap { $0?.point }
            for r in probes {
                let p = s.kernel.point(r, arrival: UInt64.max)
                #expect(s.referenceSimilarities(p, c) == slowRefs(s, p, c))
                #expect(s.poolSimilarities(p, c) == slowPool(s, p, c))
                if !stored.isEmpty {
                    #expect(finder.nearest(p, among: stored, selfArrival: true) == s.nearest(p, among: stored, selfArrival: true))
                }
                checked += 1
            }
        }
        return checked
    }

    @Test(arguments: [2, 3])
    func flatResidualSimilaritiesEqualThePerPairKernel(classes: Int) {
        for sparse in [false, true] {
            let data = SelectionFixtures.blobs(n: 700, dim: 5, classes: classes, seed: 29, sparse: sparse)
            let dim = sparse ? 15 : 5
            for window in [nil, 250] as [Int?] {
                for sim in [SelectorConfiguration.Similarity.euclidean, .cosine, .rbf(gamma: nil)] {
                    let cfg = SelectorConfiguration(k: 12, algorithm: .sieveStreamingPlusPlus, similarity: sim,
                                                    space: .gradient, referenceSize: 50, warmUp: 40, window: window)
                    let s = CoresetSelector(configuration: cfg, task: .multiclass)
                    s.offer(RecordBatch(data[0..<150]))  // feature space so far
                    #expect(s.updateModel(TestLinearModel.random(classes: classes, dim: dim, seed: 3, version: 1)))
                    s.offer(RecordBatch(data[150..<400]))
                    #expect(s.updateModel(TestLinearModel.random(classes: classes, dim: dim, seed: 4, version: 2)))
                    s.offer(RecordBatch(data[400...]))
                    s.finish()
                    #expect(check(s, Array(data.suffix(20))) > 0)
                }
            }
        }
    }
}
