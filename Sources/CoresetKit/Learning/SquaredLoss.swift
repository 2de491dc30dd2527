/// Squared loss (regression, the default there): one output `z`, target y,
/// `loss = (z - y)² / 2`, `r = z - y`; the prediction is `z`.
public enum SquaredLoss: LossFunction {
    public static var name: String { "squared" }
    public static var task: TaskKind { .regression }
    public static var isDefaultForTask: Bool { true }

    @inline(__always)
    public static func value(output z: Double, label: Double) -> Double { 0.5 * (z - label) * (z - label) }

    @inline(__always)
    public static func residual(output z: Double, label: Double) -> Double { z - label }
}

extension Loss {
    /// `SquaredLoss`.
    public static let squared = Loss(SquaredLoss.self)
}
