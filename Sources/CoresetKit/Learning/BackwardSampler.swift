#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Backward passes sampled by loss, kept unbiased: after a record's forward pass (which every step runs
/// anyway, and which gives its loss ℓ), its backward pass is taken with probability q(ℓ) and its gradient
/// weighted 1/q, so the step's expected gradient is still the mini-batch's mean gradient. Steps get
/// cheaper (a backward pass costs more than the forward pass) without the bias of skipping outright.
///
/// q follows the size of the record's weighted gradient: its output delta w (p − onehot(y)) has norm
/// between w (1 − p_y) and √2 w (1 − p_y), and 1 − p_y = 1 − e^(−ℓ). With g = w (1 − e^(−ℓ)) and ḡ its
/// running mean, q = min(1, g / (factor · ḡ)): records with large errors (or large weights, such as a
/// coreset's picks standing for many records) are always backpropagated, fitted ones rarely,
/// each weighted so its contribution keeps its expected value (importance sampling with probabilities
/// proportional to an estimate of the gradient norm, the variance-minimising choice). At most 1/factor
/// of the backward passes are taken on average.
///
/// The same idea as selective backprop (Jiang et al., 2019) and InfoBatch's rescaled pruning (Qin et al.,
/// ICLR 2024), applied per record after its forward pass, so the loss it uses is current, not cached.
public struct BackwardSampler: Sendable, Hashable {
    /// q = min(1, g / (factor · ḡ)); ≤ 1 takes every backward pass.
    public var factor: Double
    /// ḡ's memory in records (an exponential moving average).
    public var memory: Double
    /// The running mean of g = w (1 − e^(−ℓ)) over the records seen.
    public private(set) var meanError: Double = -1
    var rng: SeededGenerator

    public init(factor: Double, memory: Double = 1024, seed: UInt64) {
        self.factor = factor
        self.memory = max(memory, 1)
        rng = SeededGenerator(seed: seed)
    }

    /// The factor on the gradient of a record of weight `recordWeight` (0: skip its backward pass),
    /// from its loss ℓ.
    public mutating func weight(forLoss loss: Double, recordWeight: Double = 1) -> Double {
        let error = max(recordWeight, 0) * (1 - exp(-max(loss, 0)))
        if meanError < 0 { meanError = error } else { meanError += (error - meanError) / memory }
        guard factor > 1, meanError > 0 else { return 1 }
        let q = min(1, error / (factor * meanError))
        if q >= 1 { return 1 }
        // u in [0, 1): keep with probability q.
        let u = Double(rng.next() >> 11) * 0x1p-53
        return u < q ? 1 / q : 0
    }
}
