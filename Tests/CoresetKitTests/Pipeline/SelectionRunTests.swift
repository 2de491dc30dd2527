import Foundation
import Testing
@testable import CoresetKit

/// `coreset select`'s loop as a library: emissions at exact multiples of N, checkpoints on the schedule and at
/// the end, every record offered once.
@Suite struct SelectionRunTests {
    @Test func emitsAtMultiplesAndCheckpointsOnTheSchedule() throws {
        let url = TestSupport.temporaryDirectory().appendingPathComponent("s.svm")
        TestSupport.write(Array(ParallelParsingTests.libsvm(10_000).utf8), to: url)
        var options = ReaderOptions()
        options.chunkSize = 1 << 14
        let stream = ReadAheadReader(RecordReader(inputs: [.file(url.path)], options: options))
        let selector = CoresetSelector(configuration: SelectorConfiguration(k: 20, algorithm: .sampleGreedy, space: .feature), task: .binary)
        let run = SelectionRun(stream: stream, selector: selector, summary: StreamSummary(regression: false), emitEvery: 3000, nextEmit: 3000)
        var emitted: [(records: UInt64, offered: UInt64)] = []
        run.onEmit = { [unowned run] records in emitted.append((records, run.summary.records)) }
        var saves: [UInt64] = []
        run.checkpoints = .init(schedule: CheckpointSchedule(every: .records(4000))) { saves.append(stream.position!.statistics.recordsAccepted) }
        var batches = 0
        run.afterBatch = { batches += 1 }
        let outcome = try run.run()
        #expect(outcome.streamError == nil && !outcome.interrupted)
        // Each emission sees exactly that many records offered, however the batches fell.
        #expect(emitted.map(\.records) == [3000, 6000, 9000])
        #expect(emitted.allSatisfy { $0.offered == $0.records })
        #expect(run.summary.records == 10_000)
        #expect(run.nextEmit == 12_000)
        #expect(batches > 5)
        // A checkpoint after the batch that passes every 4,000 records, and one at the end.
        #expect(saves.count >= 3 && saves.last == 10_000)
        #expect(zip(saves, saves.dropFirst()).allSatisfy { $1 - $0 >= 4000 || $1 == 10_000 })
        #expect(!run.unsaved)
    }
}
