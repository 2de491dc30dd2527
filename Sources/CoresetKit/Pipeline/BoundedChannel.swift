#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A bounded FIFO between two threads: `send` blocks while it is full (back-pressure, so memory
/// stays bounded when input is faster than the consumer), `receive` blocks while it is empty.
public final class BoundedChannel<Element: Sendable>: @unchecked Sendable {
    // All state is guarded by `condition`.
    private let condition = _Condition()
    private var items: [Element] = []
    private var head = 0
    private var closed = false
    public let capacity: Int

    public init(capacity: Int) {
        precondition(capacity >= 1)
        self.capacity = capacity
    }

    private var count: Int { items.count - head }

    /// Appends an element, waiting while the channel is full. Returns false if it was closed.
    @discardableResult
    public func send(_ element: Element) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while count >= capacity && !closed { condition.wait() }
        if closed { return false }
        items.append(element)
        condition.broadcast()
        return true
    }

    /// The next element, waiting while empty; nil once closed and drained.
    public func receive() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while count == 0 && !closed { condition.wait() }
        return takeLocked()
    }

    /// The next element if one is ready (never waits). `closedAndEmpty` tells the end apart.
    public func tryReceive() -> (element: Element?, closedAndEmpty: Bool) {
        condition.lock()
        defer { condition.unlock() }
        if count == 0 { return (nil, closed) }
        return (takeLocked(), false)
    }

    private func takeLocked() -> Element? {
        guard count > 0 else { return nil }
        let e = items[head]
        head += 1
        if head > 64 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        condition.broadcast()
        return e
    }

    /// No more elements will be sent; receivers drain what is left.
    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}

/// The latest value of something one thread publishes and another picks up when it likes
/// (coreset snapshots for the learner, model snapshots for the selector). Never blocks for long.
public final class LatestValue<Value: Sendable>: @unchecked Sendable {
    private let lock = _Condition()
    private var value: Value?
    private var version = 0

    public init() {}

    public func publish(_ v: Value) {
        lock.lock()
        value = v
        version += 1
        lock.unlock()
    }

    /// The value and its version now (a checkpoint saves both; a reader's `seen` is a version).
    public func current() -> (Value?, Int) {
        lock.lock()
        defer { lock.unlock() }
        return (value, version)
    }

    /// Puts back a saved value and version (resuming from a checkpoint).
    public func restore(_ v: Value?, version: Int) {
        lock.lock()
        value = v
        self.version = version
        lock.unlock()
    }

    /// The value if it is newer than `seen`, with its version.
    public func take(newerThan seen: Int) -> (Value, Int)? {
        lock.lock()
        defer { lock.unlock() }
        guard version > seen, let value else { return nil }
        return (value, version)
    }
}
