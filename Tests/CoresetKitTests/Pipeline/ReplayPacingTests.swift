import Testing
@testable import CoresetKit

/// The asynchronous learner spends each batch's replay credit before it takes the next batch, so a
/// learner that falls behind ingest replays as the stream flows, as lockstep does, instead of owing the
/// steps until the stream ends (or forever, on an endless stream).
@Suite struct ReplayPacingTests {
    static let records = SelectionFixtures.blobs(n: 1200, dim: 8, classes: 2, seed: 11)
    static let memory = ReplaySet(records: Array(records.prefix(60)), weights: [Double](repeating: 20, count: 60))

    static func makeLoop() -> LearnerLoop {
        let configuration = RunConfiguration(selector: SelectorConfiguration(k: 60))
        let learner = _StreamLearner(configuration: LearnerConfiguration(task: .binary),
                                     replayWeight: configuration.replayWeight, draw: configuration.replayDraw)
        return LearnerLoop(learner: learner, configuration: configuration, holdout: [], start: 0, onProgress: { _ in })
    }

    static func batches() -> [RecordBatch] {
        stride(from: 0, to: records.count, by: 100).map { RecordBatch(records[$0..<min(records.count, $0 + 100)]) }
    }

    static func message(_ b: RecordBatch) -> StreamingRun.Message {
        .batch(b, bytesOut: 0, labels: LabelMap(), featureNames: [])
    }

    @Test func aBacklogOfBatchesIsLearnedAsLockstepLearnsIt() {
        // Every batch already queued when the learner starts: the learner is as far behind as it can be.
        let channel = BoundedChannel<StreamingRun.Message>(capacity: 64)
        channel.send(.memory(Self.memory, reselections: 0, epoch: 0))
        for b in Self.batches() { channel.send(Self.message(b)) }
        channel.close()
        let queued = Self.makeLoop()
        queued.consume(channel)

        let lockstep = Self.makeLoop()
        lockstep.handle(.memory(Self.memory, reselections: 0, epoch: 0))
        for b in Self.batches() {
            lockstep.handle(Self.message(b))
            lockstep.replayCredited()
        }
        lockstep.finish()

        #expect(queued.credit < 1)
        // Same steps in the same order: the same model, bit for bit (queued batches first gave another one).
        #expect(queued.learner.learner.model.weights == lockstep.learner.learner.model.weights)
        #expect(queued.learner.online!.replayStepCount == lockstep.learner.online!.replayStepCount)
        // R = 1 step per record, then the final pass over the memory.
        #expect(queued.learner.online!.replayStepCount == Self.records.count + Self.memory.records.count)
    }
}
