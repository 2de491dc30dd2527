#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Notices when replaying the memory has started to hurt, and says so.
///
/// Paired learners (Bach and Maloof, ICDM 2008): beside the run's learner (online steps plus
/// replay of the memory, the *stable* one) a *reactive* learner takes the same online steps and
/// replays nothing. Both score every arriving record before learning from it. While the stream is
/// stationary the stable learner scores at least as well: replay only averages in more of the same
/// distribution. After the distribution moves, the memory holds the past and replay pulls the
/// stable model back toward it, so the reactive learner starts to score better. The guard runs a
/// Page-Hinkley test on the per-record difference `d = loss(stable) - loss(reactive)`, standardised
/// by its running spread, and raises an alarm when the cumulative excess over an allowance δ climbs
/// λ above its lowest point. The run then adopts the reactive model and restarts its memory from
/// the records after the alarm (`StreamingRun`), so memory and weights follow the recent stream
/// without a window the user must choose.
///
/// Why a paired test rather than a test on the loss alone (ADWIN, DDM): the loss also rises when
/// the stream gets harder without the memory being wrong (harder records later), and a loss test
/// then throws away a memory that still helps; the difference asks the question that matters,
/// whether replay helps now. Under no drift the statistic's increments have mean at most about
/// −δ, so false alarms are rare: for Gaussian increments the mean run length to a false alarm is
/// about (e^{2δλ} − 2δλ − 1) / (2δ²), 8 million records at δ = 0.1, λ = 60 (40 gave 150,000, and
/// a false alarm in a 30,000-record test). A drift that makes replay cost μ > δ spreads per record
/// is found after about λ / (μ − δ) records (300 at μ = 0.3).
///
/// The statistic is scale-free (the differences are divided by their own running standard
/// deviation), so the same δ and λ serve every loss and data set.
public struct DriftGuard: Sendable {
    public struct Configuration: Sendable, Hashable, Codable {
        /// δ: allowance per record, in standard deviations of the difference.
        public var allowance: Double = 0.1
        /// λ: alarm threshold of the cumulative sum, in standard deviations.
        public var threshold: Double = 60
        /// Records after a start or an alarm before the test runs (the spread is estimated and the
        /// two learners have drifted apart from the adopted model).
        public var warmUp: Int = 1000

        public init(allowance: Double = 0.1, threshold: Double = 60, warmUp: Int = 1000) {
            self.allowance = allowance
            self.threshold = threshold
            self.warmUp = warmUp
        }
    }

    public let configuration: Configuration
    /// The reactive learner: the same online steps, no replay.
    public internal(set) var reactive: OnlineReplayLearner
    /// Alarms raised so far.
    public internal(set) var alarms = 0
    /// Arrival count (of the reactive learner) at the latest alarm, 0 before any.
    public internal(set) var lastAlarmArrival = 0
    /// What replay has cost lately: the mean standardised difference over about the last `warmUp`
    /// tested records (negative: the replayed model scored better). 0 until the test runs.
    public internal(set) var recentCost = 0.0

    // Welford over the differences since the last (re)start.
    var count = 0
    var mean = 0.0
    var squares = 0.0
    // Page-Hinkley walk and its lowest point.
    var walk = 0.0
    var lowest = 0.0

    /// A guard whose reactive learner starts from `learner`'s model and schedule position.
    public init(configuration: Configuration = Configuration(), learner: Learner) {
        self.configuration = configuration
        reactive = OnlineReplayLearner(resuming: learner, replayWeight: 0)
    }

    /// The reactive learner scores and learns `row` of `batch`; `stableLoss` is the run's own
    /// score of the same record, taken before its step. `replaying`: whether the run has a memory
    /// to replay; without one the two learners differ only by step sizes, so the record does not
    /// enter the test (after an alarm the difference would be zero for a while and shrink the
    /// spread, making the next comparison look extreme).
    /// - Returns: true when this record raises an alarm (the caller adopts `reactive`'s model).
    /// - Complexity: O(nnz · K), as one online step.
    public mutating func observe(_ batch: RecordBatch, row: Int, stableLoss: Double, replaying: Bool) -> Bool {
        let reactiveLoss = reactive.observe(batch, row: row).loss
        let d = stableLoss - reactiveLoss
        guard replaying, d.isFinite else { return false }
        count += 1
        let delta = d - mean
        mean += delta / Double(count)
        squares += delta * (d - mean)
        guard count > configuration.warmUp else { return false }
        let spread = (squares / Double(count - 1)).squareRoot()
        guard spread > 0 else { return false }
        let z = d / spread
        recentCost += (z - recentCost) / Double(min(count - configuration.warmUp, configuration.warmUp))
        walk += z - configuration.allowance
        lowest = min(lowest, walk)
        guard walk - lowest > configuration.threshold else { return false }
        alarms += 1
        lastAlarmArrival = reactive.arrivals
        restart()
        return true
    }

    /// What the run's final passes over the memory should do at the end of the stream.
    public enum FinalPasses: Sendable, Equatable {
        /// Replay has been tested and does not cost more than the allowance: polish on the memory.
        case run
        /// The memory restarted less than `warmUp` records ago and is untested: keep the model as it is.
        case skip
        /// Replay has lately cost more than the allowance per record (a drift too recent or too slow to
        /// reach the threshold): take the reactive model, as an alarm would, and do not polish.
        case adoptReactive
    }

    /// The guard's verdict on the final passes. Why: they are tens of replay steps per memory record
    /// with nothing after them to correct a memory that no longer fits. Polishing on the records of a
    /// late restart (magic by fLength: about a thousand records, a tenth of a pass already cost 0.004 in
    /// test log-loss, ten passes 0.07), or on a memory replay has been losing with (letter by x-box:
    /// 2.174 against 2.139 without replay), undid what the guard is for. Short streams whose test never
    /// started (fewer than `warmUp` records, no alarm) keep their passes.
    public var finalPasses: FinalPasses {
        if count > configuration.warmUp { return recentCost > configuration.allowance ? .adoptReactive : .run }
        return alarms > 0 ? .skip : .run
    }

    /// The test statistic now (the walk's height above its lowest point, in spreads).
    public var statistic: Double { walk - lowest }

    /// Starts the test afresh (after an alarm, or when the stable model changed under it).
    public mutating func restart() {
        count = 0
        mean = 0
        squares = 0
        walk = 0
        lowest = 0
        recentCost = 0
    }
}
