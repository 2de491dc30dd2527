#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import CoresetKit

@Suite struct WorkerLanesTests {
    /// Which thread ran each half, counted under a lock.
    final class Tally: @unchecked Sendable {
        private let condition = _Condition()
        private var runs = [0, 0]
        private var onCaller = [false, false]

        func note(_ part: Int, caller: pthread_t) {
            condition.lock()
            runs[part] += 1
            onCaller[part] = pthread_equal(pthread_self(), caller) != 0
            condition.unlock()
        }

        var counts: [Int] { condition.lock(); defer { condition.unlock() }; return runs }
        var ranOnCaller: [Bool] { condition.lock(); defer { condition.unlock() }; return onCaller }
    }

    @Test func pairRunsEachHalfOnceWhicheverThreadTakesTheSecond() {
        let lanes = _WorkerLanes(count: 2)
        defer { lanes.shutdown() }
        let caller = pthread_self()
        var secondOnLane = 0, secondOnCaller = 0
        for round in 0..<200 {
            let tally = Tally()
            // A slow first half gives the lane time to start the second; a quick one, usually not.
            let slow = round % 2 == 0
            lanes.pair { part in
                if part == 0 && slow { usleep(2_000) }
                tally.note(part, caller: caller)
            }
            #expect(tally.counts == [1, 1], "round \(round)")
            #expect(tally.ranOnCaller[0])
            if tally.ranOnCaller[1] { secondOnCaller += 1 } else { secondOnLane += 1 }
        }
        // Both paths were taken (the lane starts the second half while the first sleeps 2 ms).
        #expect(secondOnLane > 0)
        #expect(secondOnCaller + secondOnLane == 200)
    }
}
