#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Softmax cross-entropy (multiclass, the default there): K outputs, class y,
/// `loss = logsumexp(z) - z_y`, `r = softmax(z) - onehot(y)`, `P = softmax(z)`.
public enum SoftmaxLoss: LossFunction {
    public static var name: String { "softmax" }
    public static var task: TaskKind { .multiclass }
    public static var isDefaultForTask: Bool { true }
    public static var outputsPerClass: Bool { true }
    public static var isProbabilistic: Bool { true }

    public static func value(output z: Double, label: Double) -> Double {
        preconditionFailure("softmax has one output per class")
    }

    public static func residual(output z: Double, label: Double) -> Double {
        preconditionFailure("softmax has one output per class")
    }

    public static func evaluate(outputs z: [Double], label: Double, residual r: inout [Double]) -> Double {
        if r.count != z.count { r = [Double](repeating: 0, count: z.count) }
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

    /// `softmax(z) - onehot(y)` in place in `z` (no allocation: selection calls it per record).
    public static func residual(outputs z: UnsafeMutableBufferPointer<Double>, label: Double, into out: inout [Float]) {
        let k = z.count
        var mx = -Double.infinity
        for o in 0..<k where z[o] > mx { mx = z[o] }
        var sum = 0.0
        for o in 0..<k {
            z[o] = exp(z[o] - mx)
            sum += z[o]
        }
        let y = Int(label)
        for o in 0..<k { out[o] = Float(z[o] / sum - (o == y ? 1 : 0)) }
    }

    public static func predictedLabel(outputs z: [Double]) -> Double {
        var best = 0
        for o in 1..<max(z.count, 1) where z[o] > z[best] { best = o }
        return Double(best)
    }

    public static func probabilities(outputs z: [Double]) -> [Double] {
        var r = [Double](repeating: 0, count: z.count)
        _ = evaluate(outputs: z, label: -1, residual: &r)
        return r
    }

    /// `logLoss(outputs:label:)` with the probabilities in `scratch`: the same arithmetic, no allocation.
    public static func logLoss(outputs z: [Double], label: Double, scratch: inout [Double]) -> Double {
        _ = evaluate(outputs: z, label: -1, residual: &scratch)
        return logLoss(probabilities: scratch, label: label)
    }
}

extension Loss {
    /// `SoftmaxLoss`.
    public static let softmax = Loss(SoftmaxLoss.self)
}
