/// Squared hinge loss (binary, a smooth linear SVM): one output `z`, s = 2y - 1 ∈ {-1, +1},
/// m = max(0, 1 - s z): `loss = m²`, `r = -2 s m`. Differentiable everywhere (unlike `hinge`),
/// scored like it (no probabilities; AUC on z). Its curvature is 2 (logistic's 1/4), so default
/// steps are 1/8 of logistic's: at those, adult's training diverged (test loss inf).
public enum SquaredHingeLoss: LossFunction {
    public static var name: String { "squared-hinge" }
    public static var task: TaskKind { .binary }
    public static var defaultStepScale: Double { 0.125 }

    @inline(__always)
    public static func value(output z: Double, label: Double) -> Double {
        let m = max(0, 1 - (label >= 0.5 ? 1 : -1) * z)
        return m * m
    }

    @inline(__always)
    public static func residual(output z: Double, label: Double) -> Double {
        let s: Double = label >= 0.5 ? 1 : -1
        return -2 * s * max(0, 1 - s * z)
    }
}

extension Loss {
    /// `SquaredHingeLoss`.
    public static let squaredHinge = Loss(SquaredHingeLoss.self)
}
