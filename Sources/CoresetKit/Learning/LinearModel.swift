#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A linear model `z = W x + b` with one output per class (softmax) or a single output.
///
/// Weights are stored feature-major (`storage[j * outputCount + k]`), so a sparse record touches
/// `nnz · K` contiguous cells and the feature dimension can grow at the end without moving data.
/// The effective weight is `scale · storage`: the scale factor makes L2 shrinkage O(1) per step
/// (Bottou's trick, "Stochastic Gradient Descent Tricks", 2012) instead of O(dimension).
///
/// Invariant: `storage.count == dimension * outputCount`, `bias.count == outputCount`, `scale > 0`.
public struct LinearModel: Sendable, Hashable {
    /// Number of linear outputs (1, or K for softmax).
    public internal(set) var outputCount: Int
    /// Number of feature columns (one past the largest feature index seen).
    public internal(set) var dimension: Int
    /// Raw weights, feature-major; the effective weights are `scale * storage`.
    var storage: [Double]
    /// Scale factor of `storage` (see the type's documentation).
    var scale: Double = 1
    /// Bias per output (never regularised).
    public internal(set) var bias: [Double]
    /// Whether the model has a bias term.
    public let fitsBias: Bool

    /// A zero model.
    public init(outputCount: Int, dimension: Int = 0, fitsBias: Bool = true) {
        self.outputCount = outputCount
        self.dimension = dimension
        self.fitsBias = fitsBias
        storage = [Double](repeating: 0, count: outputCount * dimension)
        bias = [Double](repeating: 0, count: outputCount)
    }

    /// A model from effective weights (feature-major) and biases.
    public init(outputCount: Int, dimension: Int, weights: [Double], bias: [Double], fitsBias: Bool) {
        precondition(weights.count == outputCount * dimension && bias.count == outputCount)
        self.outputCount = outputCount
        self.dimension = dimension
        self.fitsBias = fitsBias
        storage = weights
        self.bias = bias
    }

    /// Effective weight of feature `j` for output `k`.
    /// - Complexity: O(1).
    public func weight(feature j: Int, output k: Int) -> Double {
        j < dimension ? scale * storage[j * outputCount + k] : 0
    }

    /// Effective weights, feature-major.
    /// - Complexity: O(dimension · K) time and memory.
    public var weights: [Double] {
        scale == 1 ? storage : storage.map { $0 * scale }
    }

    /// Grows the feature dimension (new weights are 0).
    /// - Complexity: amortised O(new cells).
    mutating func ensureDimension(_ d: Int) {
        guard d > dimension else { return }
        // Grow geometrically so a stream revealing features one by one stays amortised O(1).
        let target = max(d, dimension + dimension / 2)
        storage.append(contentsOf: repeatElement(0, count: (target - dimension) * outputCount))
        dimension = target
    }

    /// Grows the number of outputs (new rows are 0). Relayouts the storage.
    /// - Complexity: O(dimension · K); happens once per new class.
    mutating func ensureOutputs(_ k: Int) {
        guard k > outputCount else { return }
        storage = LinearModel.widen(storage, rows: dimension, from: outputCount, to: k)
        bias.append(contentsOf: repeatElement(0, count: k - outputCount))
        outputCount = k
    }

    /// Folds the scale factor into the storage.
    /// - Complexity: O(dimension · K).
    mutating func normalizeScale() {
        guard scale != 1 else { return }
        let s = scale
        storage.withUnsafeMutableBufferPointer { p in
            for i in p.indices { p[i] *= s }
        }
        scale = 1
    }

    /// Copies a feature-major array of `rows × from` into `rows × to` (new columns zero).
    static func widen(_ a: [Double], rows: Int, from: Int, to: Int) -> [Double] {
        var out = [Double](repeating: 0, count: rows * to)
        for j in 0..<rows {
            for o in 0..<from { out[j * to + o] = a[j * from + o] }
        }
        return out
    }

    /// Linear outputs `z = scale · storage · x + b` (features past `dimension` count as 0).
    /// - Complexity: O(nnz · K), no allocation when `z` has the right size.
    public func outputs(_ x: FeatureVector, into z: inout [Double]) {
        x.indices.withUnsafeBufferPointer { ix in
            x.values.withUnsafeBufferPointer { vx in outputs(indices: ix, values: vx, into: &z) }
        }
    }

    /// Linear output of a single-output model for a row given as buffers (indices increasing).
    /// - Complexity: O(nnz), no allocation.
    @inline(__always)
    func output1(indices ix: UnsafeBufferPointer<UInt32>, values vx: UnsafeBufferPointer<Float>) -> Double {
        let d = dimension
        return storage.withUnsafeBufferPointer { w in
            // Two accumulators: the loop is latency bound otherwise.
            var s0 = 0.0, s1 = 0.0
            var p = 0
            let n = ix.count
            while p + 1 < n {
                let j0 = Int(ix[p]), j1 = Int(ix[p + 1])
                if j1 < d {
                    s0 += Double(vx[p]) * w[j0]
                    s1 += Double(vx[p + 1]) * w[j1]
                } else {
                    if j0 < d { s0 += Double(vx[p]) * w[j0] }
                }
                p += 2
            }
            if p < n, Int(ix[p]) < d { s0 += Double(vx[p]) * w[Int(ix[p])] }
            return scale * (s0 + s1) + bias[0]
        }
    }

    /// Linear outputs for a row given as buffers (indices strictly increasing).
    /// - Complexity: O(nnz · K), no allocation when `z` has the right size.
    @inline(__always)
    func outputs(indices ix: UnsafeBufferPointer<UInt32>, values vx: UnsafeBufferPointer<Float>, into z: inout [Double]) {
        let k = outputCount
        if z.count != k { z = [Double](repeating: 0, count: k) }
        if k == 1 {
            z[0] = output1(indices: ix, values: vx)
            return
        }
        let d = dimension
        storage.withUnsafeBufferPointer { w in
            z.withUnsafeMutableBufferPointer { zz in
                for o in 0..<k { zz[o] = 0 }
                for p in 0..<ix.count {
                    let j = Int(ix[p])
                    if j >= d { break }
                    let v = Double(vx[p])
                    let base = j * k
                    for o in 0..<k { zz[o] += v * w[base + o] }
                }
                for o in 0..<k { zz[o] = scale * zz[o] + bias[o] }
            }
        }
    }
}

/// An immutable, `Sendable` copy of a model that selection (another thread) uses to embed records
/// as loss gradients at the current parameters — the closed loop of issue 4.
///
/// Stores Float weights: selection needs residuals fast, not the learner's Double accuracy.
public struct LinearModelSnapshot: GradientEmbedding, Sendable {
    /// Increments on each publish; 0 = untrained.
    public let version: Int
    public let loss: Loss
    /// Number of classes seen (0 for regression).
    public let classCount: Int
    public let outputCount: Int
    public let dimension: Int
    /// Effective weights, feature-major (`weights[j * outputCount + k]`).
    public let weights: [Float]
    public let bias: [Float]
    public let hasBias: Bool

    /// Creates a snapshot of a model.
    /// - Complexity: O(dimension · K) time and memory.
    public init(model: LinearModel, loss: Loss, classCount: Int, version: Int) {
        self.version = version
        self.loss = loss
        self.classCount = classCount
        outputCount = model.outputCount
        dimension = model.dimension
        let s = model.scale
        weights = model.storage.map { Float($0 * s) }
        bias = model.bias.map { Float($0) }
        hasBias = model.fitsBias
    }

    public var residualCount: Int { outputCount }

    /// Linear outputs of a record.
    /// - Complexity: O(nnz · K).
    public func outputs(_ x: FeatureVector, into z: inout [Double]) {
        let k = outputCount
        if z.count != k { z = [Double](repeating: 0, count: k) }
        for o in 0..<k { z[o] = Double(bias[o]) }
        let d = dimension
        if k == 1 {
            let s: Float = x.isDensePrefix
                ? x.values.withUnsafeBufferPointer { vx in weights.withUnsafeBufferPointer { VectorMath.dot(vx, $0) } }
                : x.indices.withUnsafeBufferPointer { ix in
                    x.values.withUnsafeBufferPointer { vx in
                        weights.withUnsafeBufferPointer { VectorMath.sparseDenseDot(ix, vx, $0) }
                    }
                }
            z[0] += Double(s)
            return
        }
        for (j, v) in zip(x.indices, x.values) where Int(j) < d {
            let base = Int(j) * k
            for o in 0..<k { z[o] += Double(v * weights[base + o]) }
        }
    }

    /// Residual `∂loss/∂z` of a record at this snapshot (GradientEmbedding).
    /// - Complexity: O(nnz · K); no allocation once `out` has `outputCount` entries (K > 1 uses
    ///   stack scratch).
    public func residual(features: FeatureVector, label: Double, into out: inout [Float]) {
        let k = outputCount
        if out.count != k { out = [Float](repeating: 0, count: k) }
        if !loss.outputsPerClass {
            var z = Double(bias[0])
            z += Double(features.isDensePrefix
                ? features.values.withUnsafeBufferPointer { vx in weights.withUnsafeBufferPointer { VectorMath.dot(vx, $0) } }
                : features.indices.withUnsafeBufferPointer { ix in
                    features.values.withUnsafeBufferPointer { vx in
                        weights.withUnsafeBufferPointer { VectorMath.sparseDenseDot(ix, vx, $0) }
                    }
                })
            out[0] = Float(loss.residual(output: z, label: label))
            return
        }
        // One output per class: the outputs in stack scratch, the loss turns them into residuals.
        let d = dimension
        withUnsafeTemporaryAllocation(of: Double.self, capacity: k) { z in
            for o in 0..<k { z[o] = Double(bias[o]) }
            weights.withUnsafeBufferPointer { w in
                features.indices.withUnsafeBufferPointer { ix in
                    features.values.withUnsafeBufferPointer { vx in
                        for p in 0..<min(ix.count, vx.count) where Int(ix[p]) < d {
                            Self.addProducts(z.baseAddress!, w.baseAddress! + Int(ix[p]) * k, vx[p], k)
                        }
                    }
                }
            }
            loss.function.residual(outputs: z, label: label, into: &out)
        }
    }

    /// z[o] += Double(v · w[o]) for o in 0..<k, four lanes at a time: each entry's Float product widened and
    /// added on its own, so the sums are the scalar loop's, bit for bit.
    @inline(__always)
    static func addProducts(_ z: UnsafeMutablePointer<Double>, _ w: UnsafePointer<Float>, _ v: Float, _ k: Int) {
        var o = 0
        let vv = SIMD4<Float>(repeating: v)
        let zr = UnsafeMutableRawPointer(z), wr = UnsafeRawPointer(w)
        while o + 4 <= k {
            let p = wr.loadUnaligned(fromByteOffset: o &* 4, as: SIMD4<Float>.self) * vv
            let sum = zr.loadUnaligned(fromByteOffset: o &* 8, as: SIMD4<Double>.self) + SIMD4<Double>(p)
            zr.storeBytes(of: sum, toByteOffset: o &* 8, as: SIMD4<Double>.self)
            o &+= 4
        }
        while o < k {
            z[o] += Double(v * w[o])
            o &+= 1
        }
    }

    /// Predicted label (class id or value).
    /// - Complexity: O(nnz · K).
    public func predict(_ x: FeatureVector) -> Double {
        var z = [Double](repeating: 0, count: outputCount)
        outputs(x, into: &z)
        return loss.predictedLabel(outputs: z)
    }
}
