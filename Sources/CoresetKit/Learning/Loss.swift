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
/// L2 regularisation is not part of the loss; optimizers add `λ w` to the gradient.
///
/// A loss is one file: a type conforming to this protocol (a caseless enum: losses are stateless;
/// the math in its doc comment), a static member `extension Loss { static let name = Loss(MyLoss.self) }`,
/// and one entry in `Loss.registered`.
/// Everything else (the learners, metrics, `--loss` parsing and its help, model files, the C
/// interface) reads the loss through this protocol. A single-output loss (the default) implements
/// `name`, `task`, `value(output:label:)` and `residual(output:label:)`; the rest has defaults.
public protocol LossFunction: Sendable {
    /// The name `--loss` takes and model files and checkpoints store (never change it).
    static var name: String { get }
    /// The task the loss is for: classification losses predict a class, `.binary` ones are scored
    /// by AUC on their single output.
    static var task: TaskKind { get }
    /// Whether this is the loss a learner of `task` uses when none is chosen (one per task).
    static var isDefaultForTask: Bool { get }
    /// One output per class (softmax) rather than a single output.
    static var outputsPerClass: Bool { get }
    /// Whether the outputs map to calibrated probabilities (so log-loss is meaningful).
    static var isProbabilistic: Bool { get }
    /// Factor on the default step sizes, which were tuned for logistic loss (curvature ≤ 1/4 in z);
    /// a loss of larger curvature c takes about 1/(4c) so that SGD stays stable. Default 1.
    static var defaultStepScale: Double { get }

    /// Loss of a single-output model (`z` = its output). Losses with `outputsPerClass` trap.
    /// - Complexity: O(1), no allocation.
    static func value(output z: Double, label: Double) -> Double
    /// Residual `∂loss/∂z` of a single-output model. Losses with `outputsPerClass` trap.
    /// - Complexity: O(1), no allocation.
    static func residual(output z: Double, label: Double) -> Double
    /// Both at once (one dynamic call per SGD step on the hot path).
    /// - Complexity: O(1), no allocation.
    static func valueAndResidual(output z: Double, label: Double) -> (value: Double, residual: Double)
    /// Loss value of one record, and its residual `∂loss/∂z` written into `r` (resized to `z.count`).
    /// - Complexity: O(K), no allocation once `r` has capacity.
    static func evaluate(outputs z: [Double], label: Double, residual r: inout [Double]) -> Double
    /// The residual in Float for selection, from outputs in scratch memory that may be overwritten.
    /// - Complexity: O(K).
    static func residual(outputs z: UnsafeMutableBufferPointer<Double>, label: Double, into out: inout [Float])
    /// Predicted label: a class id (as Double) for classification, the value for regression.
    /// - Complexity: O(K).
    static func predictedLabel(outputs z: [Double]) -> Double
    /// Class probabilities (binary: `[P(class 0), P(class 1)]`); empty when not `isProbabilistic`.
    /// - Complexity: O(K).
    static func probabilities(outputs z: [Double]) -> [Double]
    /// Log-loss of the probabilities, clipped to [1e-15, 1 - 1e-15] as scikit-learn does
    /// (meaningful only when `isProbabilistic`).
    /// - Complexity: O(K).
    static func logLoss(outputs z: [Double], label: Double) -> Double
    /// The same, with any probabilities worked out in `scratch` (scoring many records without an
    /// allocation each). The default calls `logLoss(outputs:label:)`.
    /// - Complexity: O(K).
    static func logLoss(outputs z: [Double], label: Double, scratch: inout [Double]) -> Double
}

extension LossFunction {
    public static func logLoss(outputs z: [Double], label: Double, scratch: inout [Double]) -> Double {
        logLoss(outputs: z, label: label)
    }

    public static var isDefaultForTask: Bool { false }
    public static var outputsPerClass: Bool { false }
    public static var isProbabilistic: Bool { false }
    public static var defaultStepScale: Double { 1 }

    @inline(__always)
    public static func valueAndResidual(output z: Double, label: Double) -> (value: Double, residual: Double) {
        (value(output: z, label: label), residual(output: z, label: label))
    }

    /// Single-output form: `r[0] = residual(z[0])`, returns `value(z[0])`.
    public static func evaluate(outputs z: [Double], label: Double, residual r: inout [Double]) -> Double {
        precondition(!outputsPerClass, "\(name) has one output per class and must implement evaluate")
        if r.count != z.count { r = [Double](repeating: 0, count: z.count) }
        let (v, g) = valueAndResidual(output: z[0], label: label)
        r[0] = g
        return v
    }

    /// Generic form through `evaluate` (allocates K doubles); single-output losses skip it.
    public static func residual(outputs z: UnsafeMutableBufferPointer<Double>, label: Double, into out: inout [Float]) {
        if !outputsPerClass {
            out[0] = Float(residual(output: z[0], label: label))
            return
        }
        var r = [Double]()
        _ = evaluate(outputs: Array(z), label: label, residual: &r)
        for o in 0..<r.count { out[o] = Float(r[o]) }
    }

    /// Single-output form: the value for regression, else class 1 when `z > 0`.
    public static func predictedLabel(outputs z: [Double]) -> Double {
        precondition(!outputsPerClass, "\(name) has one output per class and must implement predictedLabel")
        if task == .regression { return z[0] }
        return z[0] > 0 ? 1 : 0
    }

    public static func probabilities(outputs z: [Double]) -> [Double] { [] }

    /// Binary (two probabilities of a single output): `binaryLogLoss` of P(class 1); otherwise
    /// `-log p_y` (0 for a class the model has no output for, clipped).
    public static func logLoss(outputs z: [Double], label: Double) -> Double {
        logLoss(probabilities: probabilities(outputs: z), label: label)
    }

    /// The log-loss of given probabilities (as `probabilities(outputs:)` gives them).
    static func logLoss(probabilities p: [Double], label: Double) -> Double {
        if !outputsPerClass && p.count == 2 { return binaryLogLoss(probability: p[1], label: label) }
        let y = Int(label)
        let q = y >= 0 && y < p.count ? p[y] : 0
        return -log(min(max(q, 1e-15), 1 - 1e-15))
    }
}

/// The loss a learner uses: a registered `LossFunction`, held by value.
///
/// Equal, hashed, encoded and parsed by its name (`rawValue`), so model files and checkpoints
/// store the same strings as ever. The built-ins are static members (`.logistic`, `.softmax`,
/// `.squared`, `.hinge`, ...), each declared in its loss's file.
public struct Loss: Sendable, Hashable, Codable, RawRepresentable, CaseIterable, CustomStringConvertible {
    /// Every loss `--loss`, model files and the C interface know, in a fixed order: the C
    /// interface's loss code is the position here, so new losses go at the end.
    public static let registered: [Loss] = [
        .logistic,
        .softmax,
        .squared,
        .hinge,
        .huber,
        .squaredHinge,
    ]

    /// The loss itself: a type, so that a `Loss` is a plain value (two words and a flag, no
    /// reference counting) that learners copy and call per step at the price of one indirect call.
    public let function: any LossFunction.Type
    /// `function.outputsPerClass`, read once: the learners branch on it every step.
    public let outputsPerClass: Bool

    /// Wraps a loss. Only registered losses load back from model files and checkpoints (by name).
    public init(_ function: any LossFunction.Type) {
        self.function = function
        outputsPerClass = function.outputsPerClass
    }

    /// Its name (`function.name`): what `--loss` takes and model files store.
    public var rawValue: String { function.name }

    /// The registered loss of that name, or nil.
    public init?(rawValue: String) {
        guard let loss = Loss.registered.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = loss
    }

    public static var allCases: [Loss] { registered }

    /// The registered names, in order (for help texts and messages).
    public static var names: [String] { registered.map(\.rawValue) }

    public static func == (a: Loss, b: Loss) -> Bool { a.rawValue == b.rawValue }
    public func hash(into h: inout Hasher) { h.combine(rawValue) }
    public var description: String { rawValue }

    /// Encoded as its name, as the enum it replaced was (model files and checkpoints keep loading).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let name = try c.decode(String.self)
        guard let loss = Loss(rawValue: name) else {
            throw DecodingError.dataCorruptedError(
                in: c, debugDescription: "Cannot initialize Loss from invalid String value \(name) (known: \(Loss.names.joined(separator: ", ")))")
        }
        self = loss
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    /// The loss used for a task when the user does not choose one.
    public static func `default`(for task: TaskKind) -> Loss {
        guard let loss = registered.first(where: { $0.task == task && $0.function.isDefaultForTask }) else {
            preconditionFailure("no registered loss is the default for \(task)")
        }
        return loss
    }

    /// The task the loss is for.
    public var task: TaskKind { function.task }

    /// Number of linear outputs the loss needs for `classCount` classes.
    @inline(__always) public func outputCount(classCount: Int) -> Int {
        outputsPerClass ? max(classCount, 1) : 1
    }

    /// Whether the loss predicts a class (as opposed to a real value).
    public var isClassification: Bool { function.task != .regression }

    /// Whether the model's outputs map to calibrated probabilities (so log-loss is meaningful).
    public var isProbabilistic: Bool { function.isProbabilistic }

    /// Loss value of one record, and its residual `∂loss/∂z` written into `r` (resized to `z.count`).
    /// - Complexity: O(K), no allocation once `r` has capacity.
    @inline(__always)
    public func evaluate(outputs z: [Double], label: Double, residual r: inout [Double]) -> Double {
        function.evaluate(outputs: z, label: label, residual: &r)
    }

    /// Residual `∂loss/∂z` of a single-output loss; losses with one output per class trap.
    /// - Complexity: O(1), no allocation.
    @inline(__always)
    public func residual(output z: Double, label: Double) -> Double { function.residual(output: z, label: label) }

    /// Loss value of a single-output loss; losses with one output per class trap.
    /// - Complexity: O(1), no allocation.
    @inline(__always)
    public func value(output z: Double, label: Double) -> Double { function.value(output: z, label: label) }

    /// Value and residual of a single-output loss in one call.
    /// - Complexity: O(1), no allocation.
    @inline(__always)
    public func valueAndResidual(output z: Double, label: Double) -> (value: Double, residual: Double) {
        function.valueAndResidual(output: z, label: label)
    }

    /// Loss value only (no residual).
    /// - Complexity: O(K).
    public func value(outputs z: [Double], label: Double) -> Double {
        var r = [Double](repeating: 0, count: z.count)
        return evaluate(outputs: z, label: label, residual: &r)
    }

    /// Predicted label: a class id (as Double) for classification, the value for regression.
    /// - Complexity: O(K).
    @inline(__always)
    public func predictedLabel(outputs z: [Double]) -> Double { function.predictedLabel(outputs: z) }

    /// Class probabilities (binary: `[P(class 0), P(class 1)]`); empty for non-probabilistic losses.
    /// - Complexity: O(K).
    public func probabilities(outputs z: [Double]) -> [Double] { function.probabilities(outputs: z) }

    /// Log-loss of the model's probabilities (probabilistic losses only).
    /// - Complexity: O(K).
    public func logLoss(outputs z: [Double], label: Double) -> Double { function.logLoss(outputs: z, label: label) }

    /// The same without an allocation per call where the loss provides it (softmax).
    /// - Complexity: O(K).
    public func logLoss(outputs z: [Double], label: Double, scratch: inout [Double]) -> Double {
        function.logLoss(outputs: z, label: label, scratch: &scratch)
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
