import Foundation
import Testing
@testable import CoresetKit

/// The references' features are kept once, as columns of the class's matrix (`_ClassState.refs`
/// rebuilds them): they must come back exactly as they were sampled, through reservoir replacements,
/// re-selections and checkpoints, and a vector too wide for the matrix must not lose them.
@Suite struct ReferenceStorageTests {
    static func originals(_ data: [Record]) -> [UInt64: FeatureVector] {
        Dictionary(uniqueKeysWithValues: data.map { ($0.position, $0.features) })
    }

    static func expectWhole(_ s: CoresetSelector, _ originals: [UInt64: FeatureVector], _ note: String) {
        for case let c? in s.classes {
            #expect(c.refCount > 0)
            #expect(c.refPoints.allSatisfy { $0.record.features.indices.isEmpty }, "\(note): one copy, in the matrix")
            for p in c.refs {
                #expect(p.record.features == originals[p.record.position], "\(note): reference \(p.record.position)")
            }
        }
    }

    /// Dense vectors (zeros included, so the dense kernels still apply) and sparse ones, after many
    /// replacements (1,500 records into reservoirs of 50) and two re-selections in gradient space.
    @Test(arguments: [false, true])
    func referencesComeBackExactlyAsSampled(_ sparse: Bool) {
        var data = ReferenceGrowthTests.skewed(n: 1500, seed: 5, sparse: sparse)
        if !sparse {
            // Explicit zeros in dense vectors must survive.
            for i in stride(from: 0, to: data.count, by: 3) { data[i].features.values[2] = 0 }
        }
        let cfg = SelectorConfiguration(k: 20, space: .gradient, referenceSize: 50, warmUp: 20)
        let models = [600: TestLinearModel.random(classes: 2, dim: 20, seed: 2, version: 1),
                      1100: TestLinearModel.random(classes: 2, dim: 20, seed: 3, version: 2)]
        let s = ReferenceGrowthTests.run(data, cfg, models: models)
        #expect(s.reselectionCount >= 1)
        Self.expectWhole(s, Self.originals(data), sparse ? "sparse" : "dense")
        ReferenceGrowthTests.expectExactTotals(s.coreset, data, "storage")
    }

    /// A checkpoint saves whole references and a restored selector keeps them in its matrix again.
    @Test func aRestoredSelectorHasTheSameReferences() throws {
        let data = ReferenceGrowthTests.skewed(n: 900, seed: 9, sparse: true)
        let cfg = SelectorConfiguration(k: 20, referenceSize: 40, warmUp: 20)
        let s = CoresetSelector(configuration: cfg, task: .binary)
        s.offer(RecordBatch(data[0..<700]))
        let restored = try CoresetSelector(restoring: try s.encodedState(), configuration: cfg, task: .binary)
        Self.expectWhole(restored, Self.originals(data), "restored")
        #expect(try restored.encodedState() == (try s.encodedState()))
        s.offer(RecordBatch(data[700...]))
        restored.offer(RecordBatch(data[700...]))
        s.finish()
        restored.finish()
        #expect(ShardTests.elements(restored.coreset) == ShardTests.elements(s.coreset))
    }

    /// A record wider than the matrix allows turns the matrix off once it enters a class's references;
    /// the references sampled before it get their features back first and the selector goes on with
    /// per-pair similarities.
    @Test func aTooWideRecordKeepsTheReferencesWhole() {
        var data = ReferenceGrowthTests.skewed(n: 800, seed: 11, sparse: true)
        let wide = UInt32(_ColumnStore.maxDimension + 5)
        for i in stride(from: 300, to: 800, by: 7) {
            data[i].features = FeatureVector(indices: data[i].features.indices + [wide], values: data[i].features.values + [1])
        }
        let s = ReferenceGrowthTests.run(data, SelectorConfiguration(k: 20, referenceSize: 40, warmUp: 20))
        #expect(s.classes.contains { $0?.refStore.disabled == true }, "a wide record entered some reservoir")
        for case let c? in s.classes {
            for p in c.refs { #expect(p.record.features == data[Int(p.record.position)].features) }
        }
        #expect(s.coreset.count == 20)
        ReferenceGrowthTests.expectExactTotals(s.coreset, data, "wide")
    }
}
