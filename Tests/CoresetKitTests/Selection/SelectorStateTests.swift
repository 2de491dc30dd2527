import Foundation
import Testing
@testable import CoresetKit

/// Checkpoints of the selector: stopping, saving, restoring into a new selector and continuing must
/// give exactly the coreset (records and weights, bit for bit) of a selector that never stopped.
@Suite struct SelectorStateTests {
    /// A trained model snapshot (a real `LinearModelSnapshot`, the type checkpoints can save).
    static func snapshot(_ records: [Record], classes: Int, version: Int) -> LinearModelSnapshot {
        var learner = Learner(configuration: LearnerConfiguration(task: classes > 2 ? .multiclass : .binary))
        for r in records.prefix(200) { learner.learn(r) }
        let s = learner.snapshot()
        return LinearModelSnapshot(model: learner.model, loss: s.loss, classCount: s.classCount, version: version)
    }

    /// Feeds `records` to a fresh selector, stopping after each of `cuts` records to save and restore
    /// it (and hands it model snapshots at `models` positions), and to one that never stops.
    static func compare(_ configuration: SelectorConfiguration, _ records: [Record], classes: Int, cuts: [Int],
                        models: [Int: LinearModelSnapshot] = [:]) throws {
        let task: TaskKind = classes > 2 ? .multiclass : .binary
        let straight = CoresetSelector(configuration: configuration, task: task)
        var resumed = CoresetSelector(configuration: configuration, task: task)
        for (i, r) in records.enumerated() {
            if let m = models[i] {
                straight.updateModel(m)
                resumed.updateModel(m)
            }
            if cuts.contains(i) {
                let bytes = try resumed.encodedState()
                resumed = try CoresetSelector(restoring: bytes, configuration: configuration, task: task)
                // Saving is read-only: the restored selector saves to the same bytes.
                #expect(try resumed.encodedState() == bytes)
            }
            straight.offer(r)
            resumed.offer(r)
        }
        straight.finish()
        resumed.finish()
        let a = straight.coreset.elements, b = resumed.coreset.elements
        #expect(a.count > 0)
        #expect(a == b, "\(configuration.algorithm.rawValue): coreset differs after restore")
        #expect(straight.reselectionCount == resumed.reselectionCount)
        #expect(try straight.encodedState() == resumed.encodedState())
    }

    @Test(arguments: [SelectorConfiguration.Algorithm.sieveStreaming, .sieveStreamingPlusPlus, .threeSieves, .greedy])
    func restoredSelectorContinuesIdenticallyInFeatureSpace(_ algorithm: SelectorConfiguration.Algorithm) throws {
        let records = SelectionFixtures.blobs(n: 900, dim: 6, classes: 3, seed: 7, randomWeights: true)
        let config = SelectorConfiguration(k: 24, algorithm: algorithm, threeSievesPatience: 20, space: .feature,
                                           referenceSize: 120, warmUp: 50, seed: 3)
        // Cuts: during the warm-up, while reservoirs fill, after every class started, near the end.
        try Self.compare(config, records, classes: 3, cuts: [10, 200, 400, 601, 899])
    }

    @Test func restoredSelectorContinuesIdenticallyInGradientSpaceAcrossReselections() throws {
        let records = SelectionFixtures.blobs(n: 900, dim: 6, classes: 3, seed: 11, sparse: true)
        let config = SelectorConfiguration(k: 24, referenceSize: 100, warmUp: 40, seed: 5)
        let m1 = Self.snapshot(records, classes: 3, version: 1)
        let m2 = Self.snapshot(Array(records.reversed()), classes: 3, version: 2)
        try Self.compare(config, records, classes: 3, cuts: [30, 350, 351, 700], models: [300: m1, 600: m2])
    }

    @Test func restoredSelectorContinuesIdenticallyWithWindowAndHalfLife() throws {
        let records = SelectionFixtures.blobs(n: 900, dim: 5, classes: 2, seed: 13, randomWeights: true)
        let window = SelectorConfiguration(k: 16, space: .feature, referenceSize: 80, warmUp: 30, window: 300, seed: 1)
        try Self.compare(window, records, classes: 2, cuts: [100, 301, 550, 820])
        let decay = SelectorConfiguration(k: 16, algorithm: .sieveStreaming, space: .feature, referenceSize: 80, warmUp: 30,
                                          halfLife: 60, seed: 1)
        try Self.compare(decay, records, classes: 2, cuts: [100, 450, 899])
    }

    @Test func aStateOfOtherOptionsOrCorruptBytesIsRejectedClearly() throws {
        let records = SelectionFixtures.blobs(n: 300, dim: 4, classes: 2, seed: 2)
        let config = SelectorConfiguration(k: 10, space: .feature, referenceSize: 50, warmUp: 20)
        let s = CoresetSelector(configuration: config, task: .binary)
        for r in records { s.offer(r) }
        let bytes = try s.encodedState()
        var other = config
        other.k = 11
        #expect {
            _ = try CoresetSelector(restoring: bytes, configuration: other, task: .binary, source: "dir/state")
        } throws: { "\($0)".contains("dir/state: the state was written with other selection options") && "\($0)".contains("k=10") }
        #expect {
            _ = try CoresetSelector(restoring: Array(bytes.prefix(bytes.count / 2)), configuration: config, task: .binary)
        } throws: { "\($0)".contains("corrupt selector state") && "\($0)".contains("truncated") }
    }
}
