/// Huber loss (regression, robust to outliers): one output `z`, target y, d = z - y, threshold δ
/// (default 1): `loss = d²/2` when `|d| ≤ δ`, else `δ (|d| - δ/2)`; `r = clamp(d, -δ, δ)`.
/// Squared loss near the target, absolute loss beyond δ, so an outlier's pull is bounded by δ.
/// The prediction is `z`. δ is fixed at 1 (model files store only the name; targets scaled to about
/// [-1, 1] or [0, 1], as the data sets here are, put the turn where residuals become outliers).
public enum HuberLoss: LossFunction {
    /// δ, where the loss turns from quadratic to linear.
    public static var delta: Double { 1 }

    public static var name: String { "huber" }
    public static var task: TaskKind { .regression }

    @inline(__always)
    public static func value(output z: Double, label: Double) -> Double {
        let a = abs(z - label)
        return a <= delta ? 0.5 * a * a : delta * (a - 0.5 * delta)
    }

    @inline(__always)
    public static func residual(output z: Double, label: Double) -> Double {
        min(max(z - label, -delta), delta)
    }
}

extension Loss {
    /// `HuberLoss` with δ = 1.
    public static let huber = Loss(HuberLoss.self)
}
