import Foundation
import Testing
@testable import CoresetKit

/// The one rule of `run` and `select` for when a state checkpoint is due.
@Suite struct CheckpointScheduleTests {
    @Test func everyNRecordsCountsFromTheLastCheckpoint() {
        var s = CheckpointSchedule(every: .records(100))
        s.handled(60)
        #expect(!s.isDue())
        s.handled(40)
        #expect(s.isDue())
        s.saved()
        #expect(!s.isDue())
        s.handled(99)
        #expect(!s.isDue())
        s.handled(1)
        #expect(s.isDue())
    }

    @Test func everySSecondsRunsOnTheClock() {
        var s = CheckpointSchedule(every: .seconds(0.05))
        s.handled(1_000_000)
        #expect(!s.isDue())
        Thread.sleep(forTimeInterval: 0.08)
        #expect(s.isDue())
        s.saved()
        #expect(!s.isDue())
    }
}
