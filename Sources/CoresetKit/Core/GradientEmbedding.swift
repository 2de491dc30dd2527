/// A model snapshot that can embed a record as its loss gradient.
///
/// For the linear models used here the gradient of record (x, y) with respect to the weight
/// matrix is an outer product `r(x, y) ⊗ x̃`, where `r` is the residual (p - onehot(y) for softmax,
/// σ(w·x) - y for logistic, w·x - y for least squares) and `x̃` is x with a constant 1 appended
/// when the model has a bias. The inner product of two such gradients is therefore
/// `(r_i · r_j)(x_i · x_j + bias)`, so gradient-space distances cost what feature-space ones do
/// and the outer product is never materialised.
///
/// Learning produces snapshots; Selection consumes them; neither imports the other.
public protocol GradientEmbedding: Sendable {
    /// Length of the residual vector (1 for binary and regression, K for softmax).
    var residualCount: Int { get }
    /// Whether gradients include a bias column (adds 1 to every feature inner product).
    var hasBias: Bool { get }
    /// Monotone version number of the snapshot (0 = untrained).
    var version: Int { get }
    /// Writes the residual of a record into `out` (resized to `residualCount`).
    func residual(features: FeatureVector, label: Double, into out: inout [Float])
}

/// A snapshot a checkpoint can hold: a selector saves the one it measures at without knowing its type, and is
/// told the type to read it back as (Selection and Learning still meet only here).
protocol _SavableGradientEmbedding: GradientEmbedding {
    func encode(into w: inout _StateWriter)
    init(decoding r: inout _StateReader) throws
}
