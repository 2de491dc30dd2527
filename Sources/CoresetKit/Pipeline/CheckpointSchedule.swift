/// When a stream's next state checkpoint is due: after the batch that passes N records since the last
/// one, or S seconds, and, where the command asks, on an interrupt. The one rule of `run` and `select`.
public struct CheckpointSchedule: Sendable {
    /// Every N records, or every S seconds.
    public enum Interval: Sendable, Equatable {
        case records(UInt64)
        case seconds(Double)
    }

    public let interval: Interval
    private var sinceCheckpoint: UInt64 = 0
    private var lastCheckpointTime: Double

    public init(every interval: Interval) {
        self.interval = interval
        lastCheckpointTime = monotonicSeconds()
    }

    /// Counts records handled since the last checkpoint.
    public mutating func handled(_ records: Int) {
        sinceCheckpoint += UInt64(records)
    }

    /// Whether a checkpoint is due now (`orInterrupted`: also when SIGINT/SIGTERM arrived).
    public func isDue(orInterrupted: Bool = false) -> Bool {
        if orInterrupted && Interruption.requested { return true }
        switch interval {
        case .records(let n): return sinceCheckpoint >= n
        case .seconds(let s): return monotonicSeconds() - lastCheckpointTime >= s
        }
    }

    /// A checkpoint was written: the count and the clock start again.
    public mutating func saved() {
        sinceCheckpoint = 0
        lastCheckpointTime = monotonicSeconds()
    }
}
