import Foundation
import Testing
@testable import CoresetKit

/// `run`'s final polish (`_FinalPolish`): on a stationary stream it trains the under-converged online
/// model towards the memory's optimum and the test loss falls; a copy whose polish does not beat the
/// run's own progressive loss is not polished; and a resumed run polishes as an uninterrupted one.
@Suite struct FinalPolishTests {
    /// Twelve classes around centres in the unit cube of 8 dimensions (noise 0.15, clamped to [0, 1], as
    /// letter's features): with features this small one pass of online SGD stays far from the optimum
    /// (12,000 records: test log-loss 0.133 against 0.086 for `coreset train`).
    static func records(n: Int, seed: UInt64) -> [Record] {
        var g = SeededGenerator(seed: 99)
        func u() -> Double { Double(g.next() >> 11) / Double(1 << 53) }
        let centres = (0..<12).map { _ in (0..<8).map { _ in u() } }
        g = SeededGenerator(seed: seed)
        func normal() -> Double { (-2 * log(max(u(), 1e-12))).squareRoot() * cos(2 * .pi * u()) }
        return (0..<n).map { i in
            let c = Int(g.below(12))
            let x = centres[c].map { Float(min(1, max(0, $0 + 0.15 * normal()))) }
            return Record(label: Double(c), features: FeatureVector(dense: x), weight: 1, position: UInt64(i))
        }
    }

    static func makeRun(_ path: String, polish: Bool, memory: RunConfiguration.Memory = .coreset) -> StreamingRun {
        var options = ReaderOptions()
        options.chunkSize = 16384
        var config = RunConfiguration(selector: SelectorConfiguration(k: 300, seed: 3))
        config.synchronous = true
        config.memory = memory
        config.publishEvery = 1000
        config.finalPolish = polish
        return StreamingRun(reader: RecordReader(inputs: [.file(path)], options: options), configuration: config)
    }

    /// What the run's loop does for each record learned: note it, and take a copy when one is due.
    static func feed(_ polish: inout _FinalPolish, _ batch: RecordBatch, row i: Int, loss: Double,
                     by learner: OnlineReplayLearner, learned: UInt64) {
        if polish.learned(batch, row: i, loss: loss, learned: learned) { polish.copy(learner, memory: [], learned: learned) }
    }

    @Test(arguments: [RunConfiguration.Memory.coreset, .reservoir])
    func aStationaryStreamIsPolishedAndItsTestLossFalls(memory: RunConfiguration.Memory) {
        let all = Self.records(n: 8000, seed: 11)
        let path = DriftRunTests.file(Array(all.prefix(6000)), name: "polish-\(memory).svm")
        let test = Array(all.suffix(2000))
        let polished = Self.makeRun(path, polish: true, memory: memory).run()
        let plain = Self.makeRun(path, polish: false, memory: memory).run()
        #expect(polished.streamError == nil && plain.streamError == nil)
        #expect(plain.finalPolishPasses == nil)
        let passes = polished.finalPolishPasses ?? 0
        #expect(passes > 0)
        let a = polished.learner.evaluate(test).loss, b = plain.learner.evaluate(test).loss
        #expect(a < b, "polished \(a), not polished \(b)")
        // The polish's steps are the learner's: the passes over the memory on top of the plain run's.
        #expect(polished.learner.stepCount == plain.learner.stepCount + passes * polished.memory.count)
    }

    /// The rule itself: a copy whose every polish scores worse than the run did on its records (here the
    /// run's progressive loss is set to zero) leaves the learner as it is.
    @Test func noPolishWhenTheRunScoredBetter() {
        var learner = OnlineReplayLearner(task: .multiclass)
        let records = Self.records(n: 3000, seed: 5)
        for r in records.prefix(2000) { learner.observe(r) }
        learner.setMemory(records.prefix(300).map { (record: $0, weight: 2000.0 / 300) })
        let after = RecordBatch(records.suffix(1000))
        /// A copy of `learner` taken now, then the 1,000 records after it, scored `loss` by the run.
        func judged(runLoss loss: Double) -> _FinalPolish {
            var polish = _FinalPolish()
            Self.feed(&polish, after, row: 0, loss: .nan, by: learner, learned: 2000)
            for i in 0..<after.count { Self.feed(&polish, after, row: i, loss: loss, by: learner, learned: 2001 + UInt64(i)) }
            #expect(polish.current?.validation.count == 1000)
            return polish
        }
        #expect(_FinalPolish.lengths(memory: 300, seen: 2000) == [4, 16])
        #expect(_FinalPolish.lengths(memory: 100, seen: 100_000) == [8, 32])
        let before = learner.learner.modelFile()
        let outcome = judged(runLoss: 0).polish(&learner)
        #expect(outcome?.passes == 0)
        #expect(outcome?.progressive == 0)
        #expect(learner.learner.modelFile() == before)
        // With the run's loss out of the way, the same copy is polished.
        let beaten = judged(runLoss: 100)
        let alone = beaten.judge(spareCore: false)
        #expect((alone?.passes ?? 0) > 0)
        // The trial on a thread of its own beside other work gives the same verdict, and runs that work once.
        let ran = LockedCounter()
        let beside = beaten.judge(spareCore: true) { ran.add() }
        #expect(beside == alone && ran.value == 1)
        #expect((beaten.polish(&learner)?.passes ?? 0) > 0)
        #expect(learner.learner.modelFile() != before)
        // No copy to judge: the other work still runs.
        #expect(_FinalPolish().judge(spareCore: true) { ran.add() } == nil && ran.value == 2)
    }

    final class LockedCounter: @unchecked Sendable {
        var value = 0
        func add() { value += 1 }
    }

    /// A model past `maxModelWeights` (a hashed stream's) keeps no copies: they would double its memory.
    @Test func aHugeModelKeepsNoCopies() {
        var learner = OnlineReplayLearner(task: .binary)
        let small = Record(label: 1, features: FeatureVector(indices: [3], values: [1]), weight: 1, position: 0)
        let wide = Record(label: 1, features: FeatureVector(indices: [UInt32(_FinalPolish.maxModelWeights)], values: [1]),
                          weight: 1, position: 1)
        var polish = _FinalPolish()
        learner.observe(small)
        Self.feed(&polish, RecordBatch([small]), row: 0, loss: 0.5, by: learner, learned: 1)
        #expect(polish.current != nil)
        learner.observe(wide)
        Self.feed(&polish, RecordBatch([wide]), row: 0, loss: 0.5, by: learner, learned: 5000)
        #expect(polish.current == nil && polish.previous == nil)
        // From then on no record asks for a copy (the loop would hand over the learner for nothing).
        let asks = polish.learned(RecordBatch([small]), row: 0, loss: 0.5, learned: 20_000)
        #expect(!asks)
    }

    /// Too short a stream for a copy with records after it: nothing is judged, nothing polished.
    @Test func aShortStreamIsNotPolished() {
        let path = DriftRunTests.file(Self.records(n: 900, seed: 2), name: "polish-short.svm")
        let r = Self.makeRun(path, polish: true).run()
        #expect(r.streamError == nil)
        #expect(r.finalPolishPasses == nil)
    }
}
