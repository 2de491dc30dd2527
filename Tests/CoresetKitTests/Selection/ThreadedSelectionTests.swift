import Foundation
import Testing
@testable import CoresetKit

/// `CoresetSelector.useThreads`: classes (or shards) are dealt to worker threads, and the answer must
/// be exactly that of one thread, bit for bit, at any thread count and batching.
@Suite struct ThreadedSelectionTests {
    static let streaming: [SelectorConfiguration.Algorithm] = [.sieveStreaming, .sieveStreamingPlusPlus, .threeSieves]

    static func config(_ algorithm: SelectorConfiguration.Algorithm, space: SelectorConfiguration.Space,
                       shards: Int = 1, k: Int = 60) -> SelectorConfiguration {
        SelectorConfiguration(k: k, algorithm: algorithm, threeSievesPatience: 20, space: space, referenceSize: 30,
                              warmUp: 20, shards: shards)
    }

    static let data = SelectionFixtures.blobs(n: 1600, dim: 12, classes: 5, seed: 41, sparse: true, randomWeights: true)
    /// Trained snapshots (checkpoints can save them), on different parts of the stream.
    static let models: [Int: LinearModelSnapshot] = [
        300: SelectorStateTests.snapshot(Array(data[..<300]), classes: 5, version: 1),
        1100: SelectorStateTests.snapshot(Array(data[..<1100].reversed()), classes: 5, version: 2),
    ]

    /// Offers `data` in batches, model snapshots at fixed record counts, reading the coreset (which
    /// waits for the workers) at `peekAt` and going on.
    static func run(_ config: SelectorConfiguration, threads: Int, batch: Int = .max, peekAt: Int? = nil,
                    space: SelectorConfiguration.Space) -> (CoresetSelector, WeightedCoreset?) {
        let s = CoresetSelector(configuration: config, task: .multiclass)
        s.useThreads(threads)
        var peek: WeightedCoreset?
        var i = 0
        while i < data.count {
            var j = min(data.count, i + min(batch, data.count - i))
            var stops = Array(models.keys)
            if let p = peekAt { stops.append(p) }
            if let m = stops.filter({ $0 > i && $0 < j }).min() { j = m }
            if space == .gradient, let m = models[i] { s.updateModel(m) }
            if i == peekAt { peek = s.coreset }
            s.offer(RecordBatch(data[i..<j]))
            i = j
        }
        s.finish()
        return (s, peek)
    }

    static func fingerprint(_ c: WeightedCoreset) -> [String] {
        c.elements.map { "\($0.classIndex) \($0.record.position) \($0.weight.bitPattern)" }
    }

    @Test(arguments: streaming, [SelectorConfiguration.Space.feature, .gradient])
    func threadsGiveExactlyTheSerialAnswer(_ algorithm: SelectorConfiguration.Algorithm, _ space: SelectorConfiguration.Space) throws {
        let cfg = Self.config(algorithm, space: space)
        let (serial, serialPeek) = Self.run(cfg, threads: 1, peekAt: 700, space: space)
        let expected = Self.fingerprint(serial.coreset)
        let state = try serial.encodedState()
        #expect(serial.coreset.count == 60)
        for (threads, batch) in [(2, Int.max), (3, 7), (2, 1), (8, 1000)] {
            let (s, peek) = Self.run(cfg, threads: threads, batch: batch, peekAt: 700, space: space)
            #expect(s.threads == threads)
            #expect(Self.fingerprint(s.coreset) == expected, "\(threads) threads, batches of \(batch)")
            #expect(Self.fingerprint(peek!) == Self.fingerprint(serialPeek!), "read mid-stream")
            #expect(try s.encodedState() == state, "checkpoint bytes")
            #expect(s.storedElementCount == serial.storedElementCount)
            #expect(s.referenceCount == serial.referenceCount)
            #expect(s.reselectionCount == serial.reselectionCount)
        }
        if space == .gradient { #expect(serial.reselectionCount >= 1) }
    }

    @Test func shardsOnThreadsGiveExactlyTheSerialAnswer() throws {
        let cfg = Self.config(.sieveStreamingPlusPlus, space: .gradient, shards: 4, k: 80)
        let (serial, _) = Self.run(cfg, threads: 1, space: .gradient)
        let (threaded, _) = Self.run(cfg, threads: 3, batch: 13, space: .gradient)
        #expect(threaded.threads == 3)
        #expect(Self.fingerprint(threaded.coreset) == Self.fingerprint(serial.coreset))
        #expect(try threaded.encodedState() == serial.encodedState())
        #expect(threaded.recordsSeen == Self.data.count)
    }

    /// A checkpoint taken from a threaded selector resumes (threaded or not) to the serial answer.
    @Test func aThreadedCheckpointResumesToTheSerialAnswer() throws {
        let cfg = Self.config(.threeSieves, space: .feature)
        let (serial, _) = Self.run(cfg, threads: 1, space: .feature)
        let first = CoresetSelector(configuration: cfg, task: .multiclass)
        first.useThreads(2)
        first.offer(RecordBatch(Self.data[0..<900]))
        let saved = try first.encodedState()
        let resumed = try CoresetSelector(restoring: saved, configuration: cfg, task: .multiclass, source: "test")
        resumed.useThreads(2)
        resumed.offer(RecordBatch(Self.data[900...]))
        resumed.finish()
        #expect(Self.fingerprint(resumed.coreset) == Self.fingerprint(serial.coreset))
    }

    /// Queued work holds the selector, and every `offer` hands its work on before returning, so a
    /// selector dropped without a read is freed (with its threads) once the workers are done.
    @Test func aSelectorDroppedWithoutAReadIsFreed() {
        weak var dropped: CoresetSelector?
        do {
            let s = CoresetSelector(configuration: Self.config(.sieveStreamingPlusPlus, space: .feature), task: .multiclass)
            s.useThreads(2)
            s.offer(RecordBatch(Self.data[..<500]))
            s.offer(Self.data[500])
            dropped = s
        }
        let deadline = Date().addingTimeInterval(20)
        while dropped != nil && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(dropped == nil)
    }

    /// Windows, half-lives and greedy touch every class per record: they stay on the caller's thread.
    @Test func driftModesAndGreedyStayOnOneThread() {
        for cfg in [SelectorConfiguration(k: 10, window: 100), SelectorConfiguration(k: 10, halfLife: 100),
                    SelectorConfiguration(k: 10, algorithm: .greedy)] {
            let s = CoresetSelector(configuration: cfg, task: .multiclass)
            s.useThreads(4)
            #expect(s.threads == 1)
        }
        let sharded = CoresetSelector(configuration: SelectorConfiguration(k: 10, window: 100, shards: 2), task: .multiclass)
        sharded.useThreads(4)
        #expect(sharded.threads == 2, "shards are independent even with a window: one thread each, at most")
    }
}
