import Foundation
import Testing
@testable import CoresetKit

/// `StreamingRun` checkpoints: every saved state is consistent (the learner learned exactly the
/// records before the saved position), and a run resumed from any of them ends as one that never stopped.
@Suite struct RunCheckpointTests {
    static let recordCount = 3000

    /// Three classes of blobs as a LIBSVM file.
    static func inputFile() -> String {
        let records = SelectionFixtures.blobs(n: recordCount, dim: 8, classes: 3, seed: 21, sparse: true)
        let text = records.map { r in
            "\(Int(r.label))" + zip(r.features.indices, r.features.values).map { " \($0 + 1):\($1)" }.joined() + "\n"
        }.joined()
        let file = TestSupport.temporaryDirectory().appendingPathComponent("blobs.svm")
        TestSupport.write(Array(text.utf8), to: file)
        return file.path
    }

    static func makeRun(_ path: String, synchronous: Bool, memory: RunConfiguration.Memory = .coreset,
                        algorithm: SelectorConfiguration.Algorithm = .sieveStreamingPlusPlus) -> StreamingRun {
        var options = ReaderOptions()
        options.chunkSize = 2048  // many batches, so many checkpoint positions
        let reader = RecordReader(inputs: [.file(path)], options: options)
        var config = RunConfiguration(selector: SelectorConfiguration(k: 30, algorithm: algorithm, referenceSize: 60, warmUp: 40, seed: 4))
        config.synchronous = synchronous
        config.memory = memory
        config.publishEvery = 500
        config.modelSnapshotEvery = 300
        return StreamingRun(reader: reader, configuration: config)
    }

    /// Runs to the end, keeping every checkpoint.
    static func runKeepingStates(_ run: StreamingRun) -> (RunResult, [RunState]) {
        final class Box { var states: [RunState] = [] }
        let box = Box()
        run.stateCheckpointEvery = .records(250)
        run.onStateCheckpoint = { box.states.append($0) }
        let result = run.run()
        return (result, box.states)
    }

    static func parameters(_ l: Learner) -> [Double] {
        let f = l.modelFile()
        return f.weights + f.bias
    }

    @Test(arguments: [true, false], [SelectorConfiguration.Algorithm.sieveStreamingPlusPlus, .sampleGreedy])
    func everyCheckpointIsConsistentAndResumesToTheSameEnd(synchronous: Bool, algorithm: SelectorConfiguration.Algorithm) throws {
        let path = Self.inputFile()
        let (straight, states) = Self.runKeepingStates(Self.makeRun(path, synchronous: synchronous, algorithm: algorithm))
        #expect(straight.streamError == nil)
        #expect(states.count >= 8)
        // The final polish was judged, on a copy of the learner a checkpoint carries.
        #expect(straight.finalPolishPasses != nil)
        for s in states {
            // The barrier: the learner saved had learned exactly the records before the position.
            #expect(UInt64(s.learner.model.examplesSeen) == s.recordsAccepted)
            #expect(s.learner.recordsLearned == s.recordsAccepted)
        }
        #expect(states.last!.recordsAccepted == UInt64(Self.recordCount))
        for s in [states[1], states[states.count / 2], states[states.count - 2]] {
            let resumed = Self.makeRun(path, synchronous: synchronous, algorithm: algorithm)
            try resumed.resume(from: s)
            let result = resumed.run()
            #expect(result.streamError == nil)
            #expect(result.statistics.recordsAccepted == UInt64(Self.recordCount))
            #expect(result.learner.examplesSeen == Self.recordCount)
            let total = result.memory.reduce(0) { $0 + $1.weight }
            #expect(abs(total - Double(Self.recordCount)) < 1e-6, "memory weight \(total)")
            if synchronous {
                // Lockstep: the same coreset, and the same model up to the rounding of folding the
                // learner's L2 scale into its weights when it was saved.
                #expect(result.memory.map(\.record) == straight.memory.map(\.record))
                for (a, b) in zip(result.memory, straight.memory) { #expect(abs(a.weight - b.weight) <= 1e-9 * b.weight) }
                let x = Self.parameters(result.learner), y = Self.parameters(straight.learner)
                let d = zip(x, y).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
                let n = y.reduce(0) { $0 + $1 * $1 }.squareRoot()
                #expect(d <= 1e-9 * n, "model differs by \(d / n)")
                #expect(result.learner.stepCount == straight.learner.stepCount)
                #expect(result.finalPolishPasses == straight.finalPolishPasses)
            }
        }
    }

    @Test func aReservoirRunResumesToo() throws {
        let path = Self.inputFile()
        let (straight, states) = Self.runKeepingStates(Self.makeRun(path, synchronous: true, memory: .reservoir))
        let resumed = Self.makeRun(path, synchronous: true, memory: .reservoir)
        try resumed.resume(from: states[states.count / 2])
        let result = resumed.run()
        #expect(result.memory.map(\.record) == straight.memory.map(\.record))
        #expect(result.learner.examplesSeen == Self.recordCount)
    }

    @Test func aStateRoundTripsThroughItsFile() throws {
        let path = Self.inputFile()
        let (_, states) = Self.runKeepingStates(Self.makeRun(path, synchronous: true))
        let dir = TestSupport.temporaryDirectory().appendingPathComponent("state").path
        let s = states[states.count / 2]
        try s.write(toDirectory: dir)
        let back = try #require(try RunState.read(fromDirectory: dir))
        #expect(try back.encoded() == s.encoded())
        #expect(try RunState.read(fromDirectory: dir + "-none") == nil)
    }
}
