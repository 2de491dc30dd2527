import Testing
@testable import CoresetKit

/// The one stream loop (issue 26): every batch handed over once and in order, checkpoints on the schedule and
/// at the end of a stream read whole, none after a fault or a batch cut short. (Interrupts between batches are
/// tested through the commands, in processes of their own: the flag cannot be cleared.)
@Suite struct StreamEngineTests {
    /// Batches of `sizes` records, then the end, or `fault` in place of batch `failAt`.
    final class Batches: BatchSource {
        var sizes: [Int]
        var failAt: Int?
        var taken = 0
        init(_ sizes: [Int], failAt: Int? = nil) {
            self.sizes = sizes
            self.failAt = failAt
        }
        func next() throws(CoresetError) -> RecordBatch? {
            defer { taken += 1 }
            if taken == failAt { throw .corruptInput(input: "test", offset: UInt64(taken), message: "bad") }
            guard taken < sizes.count else { return nil }
            return RecordBatch((0..<sizes[taken]).map { Record(label: 0, features: FeatureVector(dense: [1]), position: UInt64($0)) })
        }
    }

    @Test func handsEveryBatchOverAndSavesOnTheScheduleAndAtTheEnd() {
        let engine = StreamEngine()
        var saves: [Int] = []
        var handled = 0
        engine.checkpoints = .init(schedule: CheckpointSchedule(every: .records(25))) { saves.append(handled) }
        let outcome = engine.run(Batches([10, 10, 10, 10, 10, 3])) { b in
            handled += b.count
            return .whole
        }
        #expect(handled == 53)
        #expect(outcome.streamError == nil && outcome.checkpointError == nil && !outcome.interrupted)
        // After the batch that passes 25 records since the last save, and once at the end.
        #expect(saves == [30, 53])
        #expect(!engine.unsaved)
    }

    @Test func aResumedEngineWithNothingNewDoesNotSaveAgain() {
        let engine = StreamEngine(checkpoints: .init(schedule: nil) { Issue.record("saved with nothing new") }, unsaved: false)
        let outcome = engine.run(Batches([])) { _ in .whole }
        #expect(outcome.streamError == nil && !outcome.interrupted)
    }

    @Test func aFaultEndsTheStreamWithoutALastCheckpoint() {
        var saves = 0
        let engine = StreamEngine(checkpoints: .init(schedule: nil) { saves += 1 })
        var handled = 0
        let outcome = engine.run(Batches([5, 5, 5], failAt: 2)) { b in
            handled += b.count
            return .whole
        }
        #expect(handled == 10)
        #expect(outcome.streamError?.description == "test: at byte 2: bad")
        #expect(saves == 0)
    }

    @Test func theWorksCoresetErrorIsTheStreamsFaultAndOtherErrorsPassThrough() throws {
        struct Other: Error {}
        var calls = 0
        let outcome = try StreamEngine().run(Batches([5, 5, 5])) { (_: RecordBatch) throws(any Error) -> StreamEngine.Handled in
            calls += 1
            if calls == 2 { throw CoresetError.usage("stop") }
            return .whole
        }
        #expect(outcome.streamError?.description == "stop" && calls == 2)
        #expect(throws: Other.self) {
            _ = try StreamEngine().run(Batches([5])) { (_: RecordBatch) throws(any Error) -> StreamEngine.Handled in throw Other() }
        }
    }

    @Test func aBatchCutShortStopsWithoutACheckpoint() {
        var saves = 0
        let engine = StreamEngine(checkpoints: .init(schedule: CheckpointSchedule(every: .records(1))) { saves += 1 })
        let source = Batches([5, 5, 5])
        var calls = 0
        let outcome = engine.run(source) { _ in
            calls += 1
            return calls == 2 ? .cutShort : .whole
        }
        #expect(outcome.interrupted && outcome.streamError == nil)
        // The first batch was saved on the schedule; the one cut short was not, and nothing after it was read.
        #expect(saves == 1 && source.taken == 2)
    }

    @Test func aCheckpointThatFailsStopsTheStream() {
        struct DiskFull: Error {}
        let engine = StreamEngine(checkpoints: .init(schedule: CheckpointSchedule(every: .records(5))) { throw DiskFull() })
        var calls = 0
        let outcome = engine.run(Batches([5, 5, 5])) { _ in
            calls += 1
            return .whole
        }
        #expect(calls == 1 && outcome.checkpointError is DiskFull)
    }
}
