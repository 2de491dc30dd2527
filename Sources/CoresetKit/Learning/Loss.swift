#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loss on the linear outputs `z = W x + b` of a model, with its residual `r = ∂loss/∂z`.
///
/// The gradient of a record with respect to the weights is `r ⊗ [x, 1]`, which is what
/// `GradientEmbedding` exposes to selection. Labels follow `Record`: class ids 0..<K for
/// classification (binary: class 0 is negative, class 1 positive), the target for regression.
///
/// Conventions per loss (y = class id, s = 2y - 1 ∈ {-1, +1}):
/// - `logistic`: one output, `loss = log(1 + e^z) - y z`, `r = σ(z) - y`.
/// - `hinge`: one output, `loss = max(0, 1 - s z)`, `r = -s` when `s z < 1`, else 0 (a subgradient).
/// - `squared`: one output, `loss = (z - y)² / 2`, `r = z - y`.
/// - `softmax`: K outputs, `loss = logsumexp(z) - z_y`, `r = softmax(z) - onehot(y)`.
///
/// L2 regularisation is not part of the loss; optimizers add `λ w` to the gradient.
public enum Loss: String, Sendable, Codable, CaseIterable {
    case logistic
    case softmax
    case squared
    case hinge

    /// The loss used for a task when the user does not choose one.
    public static func `default`(for task: TaskKind) -> Loss {
        switch task {
        case .binary: return .logistic
        case .multiclass: return .softmax
        case .regression: return .squared
        }
    }

    /// Number of linear outputs the loss needs for `classCount` classes.
    @inlinable public func outputCount(classCount: Int) -> Int {
        self == .softmax ? max(classCount, 1) : 1
    }

    /// Whether the loss predicts a class (as opposed to a real value).
    @inlinable public var isClassification: Bool { self != .squared }

    /// Whether the model's outputs map to calibrated probabilities (so log-loss is meaningful).
    @inlinable public var isProbabilistic: Bool { self == .logistic || self == .softmax }

    /// Loss value of one record, and its residual `∂loss/∂z` written into `r`.
    ///
    /// - Parameters:
    ///   - z: the linear outputs (`outputCount` of them).
    ///   - label: class id or regression target.
    ///   - r: resized to `z.count` and overwritten.
    /// - Returns: the (unregularised, unweighted) loss.
    /// - Complexity: O(K) time, no allocation once `r` has capacity.
    @inlinable
    public func evaluate(outputs z: [Double], label: Double, residual r: inout [Double]) -> Double {
        if r.count != z.count { r = [Double](repeating: 0, count: z.count) }
        switch self {
        case .logistic:
            let y: Double = label >= 0.5 ? 1 : 0
            let v = z[0]
            r[0] = Loss.sigmoid(v) - y
            return Loss.softplus(v) - y * v
        case .hinge:
            let s: Double = label >= 0.5 ? 1 : -1
            let m = s * z[0]
            r[0] = m < 1 ? -s : 0
            return max(0, 1 - m)
        case .squared:
            let d = z[0] - label
            r[0] = d
            return 0.5 * d * d
        case .softmax:
            let k = z.count
            let y = Int(label)
            var mx = -Double.infinity
            for v in z where v > mx { mx = v }
            var sum = 0.0
            for o in 0..<k {
                let e = exp(z[o] - mx)
                r[o] = e
                sum += e
            }
            let inv = 1 / sum
            for o in 0..<k { r[o] *= inv }
            var loss = log(sum) + mx
            if y >= 0 && y < k {
                r[y] -= 1
                loss -= z[y]
            } else {
                // A class the model has no output for yet: the loss is unbounded in principle;
                // report the loss of a zero logit for it, and push all outputs down.
                loss = log(sum + exp(-mx)) + mx
            }
            return loss
        }
    }

    /// Residual `∂loss/∂z` of a single-output loss (logistic, hinge, squared); softmax is not
    /// single-output and traps.
    /// - Complexity: O(1), no allocation.
    @inlinable
    public func residual(output z: Double, label: Double) -> Double {
        switch self {
        case .logistic: return Loss.sigmoid(z) - (label >= 0.5 ? 1 : 0)
        case .hinge:
            let s: Double = label >= 0.5 ? 1 : -1
            return s * z < 1 ? -s : 0
        case .squared: return z - label
        case .softmax: preconditionFailure("softmax has one output per class")
        }
    }

    /// Loss value of a single-output loss (logistic, hinge, squared).
    /// - Complexity: O(1), no allocation.
    @inlinable
    public func value(output z: Double, label: Double) -> Double {
        switch self {
        case .logistic:
            return Loss.softplus(z) - (label >= 0.5 ? z : 0)
        case .hinge: return max(0, 1 - (label >= 0.5 ? 1 : -1) * z)
        case .squared: return 0.5 * (z - label) * (z - label)
        case .softmax: preconditionFailure("softmax has one output per class")
        }
    }

    /// Loss value only (no residual).
    /// - Complexity: O(K).
    @inlinable
    public func value(outputs z: [Double], label: Double) -> Double {
        var r = [Double](repeating: 0, count: z.count)
        return evaluate(outputs: z, label: label, residual: &r)
    }

    /// Predicted label: a class id (as Double) for classification, the value for regression.
    /// - Complexity: O(K).
    @inlinable
    public func predictedLabel(outputs z: [Double]) -> Double {
        switch self {
        case .logistic, .hinge: return z[0] > 0 ? 1 : 0
        case .squared: return z[0]
        case .softmax:
            var best = 0
            for o in 1..<max(z.count, 1) where z[o] > z[best] { best = o }
            return Double(best)
        }
    }

    /// Class probabilities (binary: `[P(class 0), P(class 1)]`); empty for `squared` and `hinge`.
    /// - Complexity: O(K).
    public func probabilities(outputs z: [Double]) -> [Double] {
        switch self {
        case .logistic:
            let p = Loss.sigmoid(z[0])
            return [1 - p, p]
        case .softmax:
            var r = [Double](repeating: 0, count: z.count)
            _ = evaluate(outputs: z, label: -1, residual: &r)
            return r
        case .squared, .hinge:
            return []
        }
    }

    /// Numerically stable logistic function.
    @inlinable public static func sigmoid(_ z: Double) -> Double {
        if z >= 0 { return 1 / (1 + exp(-z)) }
        let e = exp(z)
        return e / (1 + e)
    }

    /// Numerically stable `log(1 + e^z)`.
    @inlinable public static func softplus(_ z: Double) -> Double {
        z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))
    }
}
