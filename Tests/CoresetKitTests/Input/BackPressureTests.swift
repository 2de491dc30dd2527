import Foundation
import Synchronization
import Testing
@testable import CoresetKit

/// Back-pressure between ingest and the learner: a producer far faster than its consumer is held
/// to the channel's capacity, so memory stays bounded whatever the stream's length.
@Suite struct BackPressureTests {
    @Test func aFastProducerNeverRunsMoreThanCapacityAhead() {
        let capacity = 4, total = 300
        let channel = BoundedChannel<[Float]>(capacity: capacity)
        let sent = Atomic<Int>(0)
        let producer = Thread {
            for i in 0..<total {
                // Each element is 64 KiB: unbounded buffering would show as memory, bounded shows as waiting.
                channel.send([Float](repeating: Float(i), count: 16_384))
                sent.add(1, ordering: .sequentiallyConsistent)
            }
            channel.close()
        }
        producer.start()
        var received = 0
        var worstLead = 0
        while let item = channel.receive() {
            #expect(item[0] == Float(received))
            received += 1
            if received % 10 == 0 { usleep(1_000) }  // a slow consumer
            worstLead = max(worstLead, sent.load(ordering: .sequentiallyConsistent) - received)
        }
        #expect(received == total)
        // Sent but not yet received never exceeds what the channel holds.
        #expect(worstLead <= capacity)
        #expect(worstLead >= 1)
    }
}
