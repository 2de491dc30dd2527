#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Logistic loss (binary, the default for two classes): one output `z`, label y ∈ {0, 1},
/// `loss = log(1 + e^z) - y z`, `r = σ(z) - y`, `P(class 1) = σ(z)`.
public enum LogisticLoss: LossFunction {
    public static var name: String { "logistic" }
    public static var task: TaskKind { .binary }
    public static var isDefaultForTask: Bool { true }
    public static var isProbabilistic: Bool { true }

    @inline(__always)
    public static func value(output z: Double, label: Double) -> Double {
        Loss.softplus(z) - (label >= 0.5 ? z : 0)
    }

    @inline(__always)
    public static func residual(output z: Double, label: Double) -> Double {
        Loss.sigmoid(z) - (label >= 0.5 ? 1 : 0)
    }

    public static func evaluate(outputs z: [Double], label: Double, residual r: inout [Double]) -> Double {
        if r.count != z.count { r = [Double](repeating: 0, count: z.count) }
        let y: Double = label >= 0.5 ? 1 : 0
        let v = z[0]
        r[0] = Loss.sigmoid(v) - y
        return Loss.softplus(v) - y * v
    }

    public static func probabilities(outputs z: [Double]) -> [Double] {
        let p = Loss.sigmoid(z[0])
        return [1 - p, p]
    }
}

extension Loss {
    /// `LogisticLoss`.
    public static let logistic = Loss(LogisticLoss.self)
}
