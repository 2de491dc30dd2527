#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Step size as a function of the step counter t (0-based).
///
/// - `constant`: `eta0`.
/// - `inverseScaling`: `eta0 / (1 + decay · t)^power` — scikit-learn's `invscaling` is
///   `decay = 1`; its `optimal` is `power = 1`, `eta0 = 1/(λ t0)`, `decay = 1/t0` (see `optimal(l2:t0:)`).
/// - `exponential`: `eta0 · rate^(t / every)` (CRAIG's `g · b^epoch` with `every` = epoch length).
public enum LearningRateSchedule: Sendable, Codable, Hashable {
    case constant(eta0: Double)
    case inverseScaling(eta0: Double, decay: Double, power: Double)
    case exponential(eta0: Double, rate: Double, every: Int)

    /// scikit-learn's `optimal` schedule `1 / (λ (t0 + t))` written as inverse scaling.
    public static func optimal(l2: Double, t0: Double) -> LearningRateSchedule {
        .inverseScaling(eta0: 1 / (l2 * t0), decay: 1 / t0, power: 1)
    }

    /// Step size at step `t`.
    /// - Complexity: O(1).
    @inlinable
    public func rate(at t: Int) -> Double {
        switch self {
        case .constant(let eta0):
            return eta0
        case .inverseScaling(let eta0, let decay, let power):
            let base = 1 + decay * Double(t)
            return power == 1 ? eta0 / base : (power == 0.5 ? eta0 / base.squareRoot() : eta0 / pow(base, power))
        case .exponential(let eta0, let rate, let every):
            return eta0 * pow(rate, Double(t) / Double(max(every, 1)))
        }
    }

    /// The initial step size `eta0`.
    public var initialRate: Double {
        switch self {
        case .constant(let e), .inverseScaling(let e, _, _), .exponential(let e, _, _): return e
        }
    }
}

/// Samples indices 0..<n with probability proportional to given non-negative weights
/// (Walker's alias method, Vose's construction).
///
/// - Complexity: O(n) time and 12 bytes per entry to build; O(1) per sample.
public struct WeightedSampler: Sendable {
    /// Probability of keeping the drawn column rather than taking its alias.
    @usableFromInline var keep: [Double]
    @usableFromInline var alias: [Int32]
    /// Sum of the weights.
    public let totalWeight: Double

    /// Builds the table. Weights must be finite and >= 0 with a positive sum.
    public init(weights: [Double]) {
        let n = weights.count
        precondition(n > 0 && n <= Int(Int32.max), "need 1...Int32.max weights")
        let total = weights.reduce(0, +)
        precondition(total > 0 && total.isFinite, "weights must have a positive finite sum")
        totalWeight = total
        var prob = weights.map { $0 * Double(n) / total }
        keep = [Double](repeating: 1, count: n)
        alias = (0..<Int32(n)).map { $0 }
        var small: [Int] = [], large: [Int] = []
        small.reserveCapacity(n)
        large.reserveCapacity(n)
        for i in 0..<n {
            if prob[i] < 1 { small.append(i) } else { large.append(i) }
        }
        while let s = small.popLast() {
            guard let l = large.last else { break }
            keep[s] = prob[s]
            alias[s] = Int32(l)
            prob[l] = (prob[l] + prob[s]) - 1
            if prob[l] < 1 {
                large.removeLast()
                small.append(l)
            }
        }
        // Leftovers (from rounding) keep themselves with probability 1.
    }

    /// Number of entries.
    @inlinable public var count: Int { keep.count }

    /// Draws one index.
    /// - Complexity: O(1).
    @inlinable
    public func sample<G: RandomNumberGenerator>(using rng: inout G) -> Int {
        let n = keep.count
        let u = Double(rng.next() >> 11) * (1.0 / 9_007_199_254_740_992.0) * Double(n)
        let i = min(Int(u), n - 1)
        return (u - Double(i)) < keep[i] ? i : Int(alias[i])
    }
}
