#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Worker threads for a selector's records: lane i runs the work submitted to it, in submission
/// order, on its own thread. The selector deals each class (or shard) to one lane, so every class
/// still sees its records one at a time in arrival order, and the answer is exactly the serial one.
///
/// Work is handed over in batches (one lock round per `batchSize` records, not per record), and a
/// lane holds at most `maxQueuedBatches` of them: `submit` waits while its lane is full
/// (back-pressure, so memory stays bounded when parsing is faster than selection).
///
/// Thread-safety: `submit` and `settle` must come from one thread (the selector's owner); each
/// lane's queue is guarded by its condition.
final class _WorkerLanes: @unchecked Sendable {
    typealias Work = () -> Void

    private final class Lane: @unchecked Sendable {
        let condition = _Condition()
        // Guarded by `condition`.
        var queue: [[Work]] = []
        var running = false
        var stopping = false
        // Owner thread only: the batch being filled.
        var filling: [Work] = []
    }

    static let batchSize = 64
    static let maxQueuedBatches = 8

    private let lanes: [Lane]
    /// Whether anything was submitted since the last `settle` (owner thread only).
    private var unsettled = false

    var count: Int { lanes.count }

    init(count: Int) {
        precondition(count >= 1)
        lanes = (0..<count).map { _ in Lane() }
        for lane in lanes {
            _startThread { Self.serve(lane) }
        }
    }

    /// Queues `work` on `lane` (mod the lane count).
    func submit(_ lane: Int, _ work: @escaping Work) {
        let l = lanes[lane % lanes.count]
        l.filling.append(work)
        unsettled = true
        if l.filling.count >= Self.batchSize { hand(l) }
    }

    /// body(0), ..., body(count - 1), item i run on lane `lane(i)`, in order; returns once all ran.
    func collect<T>(_ count: Int, lane: (Int) -> Int, _ body: @escaping (Int) -> T) -> [T] {
        let slots = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
        slots.initialize(repeating: nil)
        defer { slots.deinitialize(); slots.deallocate() }
        for i in 0..<count { submit(lane(i)) { slots[i] = body(i) } }
        settle()
        return slots.map { $0! }
    }

    /// body(0) and body(1), each exactly once, for work of a millisecond or so, where waking a sleeping
    /// lane can take as long as the work (on a virtual machine, a millisecond): body(1) is offered to
    /// lane 0 while the calling thread runs body(0), and the calling thread runs body(1) as well unless
    /// the lane has started it by then. So it is never much slower than running both here. Returns once
    /// both ran. (census_kdd `select --model -k 10000`: the weight fit's 240 products took 0.24-0.27 s
    /// with `pair`, 0.29-0.31 s with `collect` and 0.28-0.33 s on one thread; three runs each.)
    func pair(_ body: @escaping (Int) -> Void) {
        let offer = _Offer(), done = _Promise<Void>()
        submit(0) { if offer.take() { body(1); done.fulfil(()) } }
        hand(lanes[0])
        body(0)
        if offer.take() { body(1) } else { done.wait() }
    }

    /// Work offered to a lane that the offering thread may take back: whoever calls `take` first runs it.
    private final class _Offer: @unchecked Sendable {
        private let condition = _Condition()
        private var taken = false  // Guarded by `condition`.

        func take() -> Bool {
            condition.lock()
            defer { condition.unlock() }
            if taken { return false }
            taken = true
            return true
        }
    }

    /// Hands every lane its half-filled batch (without waiting for it to run).
    func flush() {
        for l in lanes { hand(l) }
    }

    /// Returns once every submitted piece of work has run.
    func settle() {
        guard unsettled else { return }
        for l in lanes { hand(l) }
        for l in lanes {
            l.condition.lock()
            while !l.queue.isEmpty || l.running { l.condition.wait() }
            l.condition.unlock()
        }
        unsettled = false
    }

    /// Runs what is queued, then ends the threads (they hold the lanes, not the owner).
    func shutdown() {
        settle()
        stop()
    }

    /// Ends each thread once its queue is empty, without waiting. For the owner's deinit, which may run
    /// on a worker thread (the last reference to the owner can be a finished piece of work).
    func stop() {
        for l in lanes {
            l.condition.lock()
            l.stopping = true
            l.condition.broadcast()
            l.condition.unlock()
        }
    }

    private func hand(_ l: Lane) {
        guard !l.filling.isEmpty else { return }
        var batch: [Work] = []
        batch.reserveCapacity(Self.batchSize)
        swap(&batch, &l.filling)
        l.condition.lock()
        while l.queue.count >= Self.maxQueuedBatches { l.condition.wait() }
        l.queue.append(batch)
        l.condition.broadcast()
        l.condition.unlock()
    }

    private static func serve(_ l: Lane) {
        while true {
            l.condition.lock()
            while l.queue.isEmpty && !l.stopping { l.condition.wait() }
            if l.queue.isEmpty {
                l.condition.unlock()
                return
            }
            let batch = l.queue.removeFirst()
            l.running = true
            l.condition.broadcast()
            l.condition.unlock()
            for work in batch { work() }
            l.condition.lock()
            l.running = false
            l.condition.broadcast()
            l.condition.unlock()
        }
    }
}
