/// Hinge loss (binary, a linear SVM): one output `z`, s = 2y - 1 ∈ {-1, +1},
/// `loss = max(0, 1 - s z)`, `r = -s` when `s z < 1`, else 0 (a subgradient). No probabilities.
public enum HingeLoss: LossFunction {
    public static var name: String { "hinge" }
    public static var task: TaskKind { .binary }

    @inline(__always)
    public static func value(output z: Double, label: Double) -> Double {
        max(0, 1 - (label >= 0.5 ? 1 : -1) * z)
    }

    @inline(__always)
    public static func residual(output z: Double, label: Double) -> Double {
        let s: Double = label >= 0.5 ? 1 : -1
        return s * z < 1 ? -s : 0
    }
}

extension Loss {
    /// `HingeLoss`.
    public static let hinge = Loss(HingeLoss.self)
}
