import Foundation
import Testing
@testable import CoresetKit

/// A run with the drift guard: on a stream whose concept flips half-way, the guard raises an alarm,
/// the memory restarts, and the final model predicts the new concept better than without the guard;
/// on a stationary stream it stays quiet; a run resumed from a checkpoint taken after an alarm ends as
/// one that never stopped.
@Suite struct DriftRunTests {
    static let count = 12000

    /// Two-class blobs; with `flipAt`, labels are swapped from that record on.
    static func records(seed: UInt64, flipAt: Int?) -> [Record] {
        SelectionFixtures.blobs(n: count, dim: 6, classes: 2, seed: seed).enumerated().map { i, r in
            guard let f = flipAt, i >= f else { return r }
            return Record(label: 1 - r.label, features: r.features, weight: r.weight, position: r.position)
        }
    }

    static func file(_ records: [Record], name: String) -> String {
        let text = records.map { r in
            "\(Int(r.label))" + zip(r.features.indices, r.features.values).map { " \($0 + 1):\($1)" }.joined() + "\n"
        }.joined()
        let url = TestSupport.temporaryDirectory().appendingPathComponent(name)
        TestSupport.write(Array(text.utf8), to: url)
        return url.path
    }

    static func makeRun(_ path: String, drift: Bool, memory: RunConfiguration.Memory = .coreset) -> StreamingRun {
        var options = ReaderOptions()
        options.chunkSize = 16384
        var config = RunConfiguration(selector: SelectorConfiguration(k: 100, referenceSize: 200, seed: 3))
        config.synchronous = true
        config.memory = memory
        config.publishEvery = 500
        if !drift { config.drift = nil }
        return StreamingRun(reader: RecordReader(inputs: [.file(path)], options: options), configuration: config)
    }

    static func testLoss(_ l: Learner, _ records: [Record]) -> Double { l.evaluate(records).loss }

    @Test(arguments: [RunConfiguration.Memory.coreset, .reservoir])
    func aFlippedConceptIsNoticedAndLearned(memory: RunConfiguration.Memory) {
        let stream = Self.records(seed: 7, flipAt: Self.count / 2)
        let path = Self.file(stream, name: "flip.svm")
        // The test set: new records of the flipped concept.
        let test = Self.records(seed: 7, flipAt: 0).suffix(2000).map { $0 }
        let guarded = Self.makeRun(path, drift: true, memory: memory).run()
        let plain = Self.makeRun(path, drift: false, memory: memory).run()
        #expect(guarded.streamError == nil && plain.streamError == nil)
        #expect(guarded.driftAlarms >= 1)
        #expect(plain.driftAlarms == 0)
        let lg = Self.testLoss(guarded.learner, Array(test)), lp = Self.testLoss(plain.learner, Array(test))
        #expect(lg < lp, "with the guard \(lg), without \(lp)")
        // The final memory holds records after the change only (positions from the second half).
        #expect(!guarded.memory.isEmpty)
        #expect(guarded.memory.allSatisfy { $0.record.position >= UInt64(Self.count / 2) })
    }

    /// The memory restarts from the record after the alarm, not from the next batch the ingest side
    /// reads: it runs batches ahead of the learner, and a late alarm used to leave the run with no
    /// memory at all. Batches of about 900 records, the concept flips 2,500 before the end.
    @Test(arguments: [true, false])
    func theMemoryRestartsFromTheRecordAfterTheAlarm(synchronous: Bool) {
        let path = Self.file(Self.records(seed: 7, flipAt: Self.count - 2500), name: "late-flip-\(synchronous).svm")
        var options = ReaderOptions()
        options.chunkSize = 65536
        // A reservoir larger than what follows the alarm: it holds every record after it.
        var config = RunConfiguration(selector: SelectorConfiguration(k: 3000, referenceSize: 200, seed: 3))
        config.synchronous = synchronous
        config.memory = .reservoir
        config.publishEvery = 500
        let r = StreamingRun(reader: RecordReader(inputs: [.file(path)], options: options), configuration: config).run()
        #expect(r.streamError == nil)
        #expect(r.driftAlarms >= 1)
        let positions = r.memory.map(\.record.position).sorted()
        #expect(r.memoryStartsAt > UInt64(Self.count - 2500))
        // The memory restarted about a thousand records before the end: too late to be tested, so not polished.
        if UInt64(Self.count) - r.memoryStartsAt <= UInt64(DriftGuard.Configuration().warmUp) { #expect(r.finalPasses == .skip) }
        #expect(positions == Array(r.memoryStartsAt..<UInt64(Self.count)))
    }

    @Test func quietOnAStationaryStream() {
        let path = Self.file(Self.records(seed: 8, flipAt: nil), name: "steady.svm")
        let r = Self.makeRun(path, drift: true).run()
        #expect(r.streamError == nil)
        #expect(r.driftAlarms == 0)
        #expect(r.finalPasses == .run)
    }

    @Test func resumingAfterAnAlarmEndsAsAnUninterruptedRun() throws {
        let path = Self.file(Self.records(seed: 7, flipAt: Self.count / 2), name: "flip-resume.svm")
        final class Box: @unchecked Sendable { var states: [RunState] = [] }
        let box = Box()
        let straight = Self.makeRun(path, drift: true)
        straight.stateCheckpointEvery = .records(1000)
        straight.onStateCheckpoint = { box.states.append($0) }
        let whole = straight.run()
        #expect(whole.driftAlarms >= 1)
        let after = try #require(box.states.first { ($0.drift?.alarms ?? 0) >= 1 && $0.recordsAccepted < UInt64(Self.count) })
        let resumed = Self.makeRun(path, drift: true)
        try resumed.resume(from: RunState.decode(after.encoded(), path: "test"))
        let end = resumed.run()
        #expect(end.driftAlarms == whole.driftAlarms)
        #expect(end.memory.map(\.record) == whole.memory.map(\.record))
        // The same model up to the rounding of folding the learners' L2 scale into their weights
        // when they were saved (as RunCheckpointTests).
        let x = end.learner.modelFile().weights, y = whole.learner.modelFile().weights
        let d = zip(x, y).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        let n = y.reduce(0) { $0 + $1 * $1 }.squareRoot()
        #expect(d <= 1e-9 * n, "model differs by \(d / n)")
        #expect(end.learner.stepCount == whole.learner.stepCount)
    }
}
