import Foundation
import Testing
@testable import CoresetKit

/// `DriftGuard`'s test: quiet while the replayed learner scores as well as the reactive one, an alarm
/// soon after it scores worse, and nothing while there is no memory to blame.
@Suite struct DriftGuardTests {
    static let records = SelectionFixtures.blobs(n: 6000, dim: 6, classes: 2, seed: 5)
    static let batch = RecordBatch(records[...])

    /// Feeds every record with a stable loss = the reactive learner's own loss + `offset` + noise of
    /// standard deviation `noise`; returns the records at which alarms were raised.
    static func alarms(offset: Double, noise: Double, replaying: Bool = true, passes: Int = 1) -> [Int] {
        fed(offset: offset, noise: noise, replaying: replaying, records: passes * batch.count).alarms
    }

    /// The guard after `records` records fed as `alarms` feeds them, and where it raised alarms.
    static func fed(offset: Double, noise: Double, replaying: Bool = true, records: Int) -> (guard: DriftGuard, alarms: [Int]) {
        var g = DriftGuard(learner: Learner(configuration: LearnerConfiguration(task: .binary)))
        var rng = SeededGenerator(seed: 99)
        func normal() -> Double {
            let u1 = max(Double(rng.next() >> 11) / Double(1 << 53), 1e-12), u2 = Double(rng.next() >> 11) / Double(1 << 53)
            return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
        }
        var at: [Int] = []
        for n in 0..<records {
            let i = n % batch.count
            let own = g.reactive.score(Self.records[i]).loss
            if g.observe(batch, row: i, stableLoss: own + offset + noise * normal(), replaying: replaying) { at.append(n) }
        }
        return (g, at)
    }

    @Test func quietWhenReplayScoresAsWell() {
        // 30,000 records whose differences have mean 0: no alarm (the mean run length to a false
        // alarm is about 8 million records).
        #expect(Self.alarms(offset: 0, noise: 0.3, passes: 5).isEmpty)
        // Replay slightly better than no replay: no alarm either.
        #expect(Self.alarms(offset: -0.05, noise: 0.3, passes: 5).isEmpty)
    }

    @Test func alarmSoonAfterReplayScoresWorse() {
        // Differences of mean 0.4 spreads: found after the warm-up within about
        // λ / (μ - δ) = 60 / 0.3 = 200 records.
        let at = Self.alarms(offset: 0.12, noise: 0.3)
        #expect(!at.isEmpty)
        #expect(at.first! >= DriftGuard.Configuration().warmUp)
        #expect(at.first! < DriftGuard.Configuration().warmUp + 400)
        // The test restarts after an alarm: the next one needs a new warm-up.
        if at.count > 1 { #expect(at[1] - at[0] > DriftGuard.Configuration().warmUp) }
    }

    @Test func noTestWithoutAMemory() {
        #expect(Self.alarms(offset: 0.5, noise: 0.3, replaying: false).isEmpty)
    }

    @Test func finalPassesRunWhileReplayHelpsOrCostsNothing() {
        #expect(Self.fed(offset: 0, noise: 0.3, records: 12000).guard.finalPasses == .run)
        #expect(Self.fed(offset: -0.05, noise: 0.3, records: 12000).guard.finalPasses == .run)
        // A stream too short for the test to start keeps its passes.
        #expect(Self.fed(offset: 0.5, noise: 0.3, records: 500).guard.finalPasses == .run)
    }

    @Test func aReplayCostTooRecentForAnAlarmAdoptsTheReactiveModel() {
        // Differences of mean 0.2 spreads after the warm-up: the walk climbs 0.1 per record, so 300
        // records later there is no alarm yet, but replay has lately cost more than the allowance.
        let (g, at) = Self.fed(offset: 0.06, noise: 0.3, records: 1300)
        #expect(at.isEmpty)
        #expect(g.recentCost > g.configuration.allowance)
        #expect(g.finalPasses == .adoptReactive)
    }

    @Test func aMemoryRestartedByALateAlarmIsNotPolished() {
        let (g, at) = Self.fed(offset: 0.12, noise: 0.3, records: 1500)
        #expect(at.count == 1)
        #expect(1500 - at[0] <= g.configuration.warmUp)
        #expect(g.finalPasses == .skip)
    }

    @Test func theReactiveLearnerIsOnePassSGD() {
        // The reactive learner takes the online steps a run without replay takes.
        var g = DriftGuard(learner: Learner(configuration: LearnerConfiguration(task: .binary)))
        var plain = OnlineReplayLearner(configuration: OnlineReplayConfiguration(learner: LearnerConfiguration(task: .binary), replayWeight: 0))
        for i in 0..<500 {
            _ = g.observe(Self.batch, row: i, stableLoss: 0, replaying: false)
            plain.observe(Self.batch, row: i)
        }
        #expect(g.reactive.learner.model.weights == plain.learner.model.weights)
    }
}
