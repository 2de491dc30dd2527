import CNetworkKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small fully connected classifier: one or more hidden ReLU layers and a softmax output.
///
/// Layer 0 is stored input-major (`weights[0][feature * width + unit]`) so a sparse record costs one
/// SIMD axpy of the first layer's width per non-zero, forward and backward, and features never seen
/// (indices past `inputDimension`) count as zero. Later layers are stored output-major
/// (`weights[l][unit * fanIn + input]`) so each unit is one SIMD dot with the previous activations.
///
/// The training loss of a weighted mini-batch is Σ wᵢ ℓᵢ / Σ wᵢ + (λ/2) Σ‖W‖² (biases are not
/// regularised), ℓ the softmax cross-entropy.
public struct NeuralNetwork: Sendable, Hashable {
    /// `[inputDimension, hidden..., classCount]`.
    public private(set) var layerSizes: [Int]
    public var weights: [[Float]]
    public var biases: [[Float]]

    public var inputDimension: Int { layerSizes[0] }
    public var classCount: Int { layerSizes[layerSizes.count - 1] }
    public var hiddenSizes: [Int] { Array(layerSizes.dropFirst().dropLast()) }
    public var layerCount: Int { layerSizes.count - 1 }
    /// Number of trainable parameters.
    public var parameterCount: Int { weights.reduce(0) { $0 + $1.count } + biases.reduce(0) { $0 + $1.count } }

    /// A network with He-initialised hidden layers (normal, variance 2/fan-in) and a Glorot-scaled
    /// output layer; biases start at zero.
    public init(inputDimension: Int, hidden: [Int], classCount: Int, seed: UInt64) {
        precondition(!hidden.isEmpty && hidden.allSatisfy { $0 > 0 }, "a network needs at least one hidden layer")
        precondition(classCount >= 2, "a softmax network needs at least two classes")
        layerSizes = [max(inputDimension, 1)] + hidden + [classCount]
        var rng = SeededGenerator(seed: seed)
        weights = []
        biases = []
        for l in 0..<(layerSizes.count - 1) {
            let fanIn = layerSizes[l], fanOut = layerSizes[l + 1]
            let isOutput = l == layerSizes.count - 2
            let sd = isOutput ? (2.0 / Double(fanIn + fanOut)).squareRoot() : (2.0 / Double(fanIn)).squareRoot()
            weights.append((0..<(fanIn * fanOut)).map { _ in Float(sd * Self.standardNormal(&rng)) })
            biases.append([Float](repeating: 0, count: fanOut))
        }
    }

    /// A network from stored parameters.
    /// - Throws: a message when shapes disagree.
    public init(layerSizes: [Int], weights: [[Float]], biases: [[Float]]) throws(ModelFileError) {
        guard layerSizes.count >= 3, layerSizes.allSatisfy({ $0 >= 1 }), layerSizes.last! >= 2,
              weights.count == layerSizes.count - 1, biases.count == layerSizes.count - 1
        else { throw .corrupt("network layer sizes \(layerSizes) with \(weights.count) weight and \(biases.count) bias layers") }
        for l in 0..<weights.count {
            guard weights[l].count == layerSizes[l] * layerSizes[l + 1], biases[l].count == layerSizes[l + 1] else {
                throw .corrupt("network layer \(l): \(weights[l].count) weights and \(biases[l].count) biases for \(layerSizes[l]) -> \(layerSizes[l + 1])")
            }
            guard weights[l].allSatisfy({ $0.isFinite }), biases[l].allSatisfy({ $0.isFinite }) else {
                throw .corrupt("network layer \(l) holds a non-finite parameter")
            }
        }
        self.layerSizes = layerSizes
        self.weights = weights
        self.biases = biases
    }

    static func standardNormal(_ rng: inout SeededGenerator) -> Double {
        // Box-Muller; 1 - u keeps the logarithm finite.
        let u = 1 - rng.nextUnit(), v = rng.nextUnit()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }

    /// Grows the input layer so features up to `dimension - 1` have weights (new rows start at zero,
    /// which is what a network that never saw the feature has learned about it).
    public mutating func ensureInputDimension(_ dimension: Int) {
        guard dimension > layerSizes[0] else { return }
        weights[0].append(contentsOf: repeatElement(0, count: (dimension - layerSizes[0]) * layerSizes[1]))
        layerSizes[0] = dimension
    }

    /// Grows the output layer for classes that appeared after the network was built (their units
    /// start at zero weight, i.e. at the average logit).
    public mutating func ensureClassCount(_ count: Int) {
        let old = classCount
        guard count > old else { return }
        let l = layerCount - 1
        weights[l].append(contentsOf: repeatElement(0, count: (count - old) * layerSizes[l]))
        biases[l].append(contentsOf: repeatElement(0, count: count - old))
        layerSizes[layerSizes.count - 1] = count
    }

    // MARK: Forward

    /// Activations of every layer for one record; `outputs` holds the class probabilities.
    public struct Activations: Sendable {
        /// `layers[l]` is the output of layer l (post-ReLU for hidden layers, probabilities for the last).
        public var layers: [[Float]]
        public var probabilities: [Float] { layers[layers.count - 1] }
        /// Layer 0's terms (weight rows and values of the record's usable features), reused across records.
        var rows: [Int] = []
        var values: [Float] = []

        public init(for network: NeuralNetwork) {
            layers = network.layerSizes.dropFirst().map { [Float](repeating: 0, count: $0) }
        }
    }

    /// Runs a record through the network into `act`.
    /// - Complexity: O(nnz · h₁ + Σ hₗ hₗ₊₁).
    public func forward(_ x: FeatureVector, into act: inout Activations) {
        if act.layers.count != layerCount || zip(act.layers, layerSizes.dropFirst()).contains(where: { $0.count != $1 }) {
            act = Activations(for: self)
        }
        let width0 = layerSizes[1]
        let inputs = layerSizes[0]
        // Layer 0: bias plus one weight row per non-zero feature, summed in registers (the batch pass's
        // gather with a single target; the same sums in the same order as an axpy per feature).
        act.rows.removeAll(keepingCapacity: true)
        act.values.removeAll(keepingCapacity: true)
        x.forEachNonZero(below: inputs) { j, v in
            act.rows.append(j)
            act.values.append(v)
        }
        act.layers[0].withUnsafeMutableBufferPointer { z in
            biases[0].withUnsafeBufferPointer { b in
                z.baseAddress!.update(from: b.baseAddress!, count: width0)
            }
            if !act.rows.isEmpty {
                weights[0].withUnsafeBufferPointer { w in
                    act.rows.withUnsafeBufferPointer { rows in
                        act.values.withUnsafeBufferPointer { vals in
                            // Rows are `width0` apart, so the whole row is one block of the kernel's.
                            coreset_gather_block(z.baseAddress!, width0, w.baseAddress!, rows.baseAddress!, vals.baseAddress!, rows.count)
                        }
                    }
                }
            }
            coreset_rectify(z.baseAddress!, width0)
        }
        for l in 1..<layerCount {
            let isOutput = l == layerCount - 1
            let previous = act.layers[l - 1]
            act.layers[l].withUnsafeMutableBufferPointer { z in
                weights[l].withUnsafeBufferPointer { w in
                    biases[l].withUnsafeBufferPointer { b in
                        previous.withUnsafeBufferPointer { a in
                            NetworkKernels.denseLayer(w.baseAddress!, bias: b.baseAddress!, fanIn: layerSizes[l], fanOut: layerSizes[l + 1],
                                                      input: a.baseAddress!, output: z.baseAddress!, rows: 1, rectify: !isOutput)
                        }
                    }
                }
                if isOutput { NetworkKernels.softmaxInPlace(z) }
            }
        }
    }

    /// Class probabilities for a record.
    public func probabilities(_ x: FeatureVector) -> [Float] {
        var act = Activations(for: self)
        forward(x, into: &act)
        return act.probabilities
    }

    /// The most probable class (the first on ties).
    public func predictedClass(_ x: FeatureVector) -> Int {
        Self.argmax(probabilities(x))
    }

    static func argmax<P: RandomAccessCollection<Float>>(_ p: P) -> Int where P.Index == Int {
        var best = 0
        for k in 1..<p.count where p[p.startIndex + k] > p[p.startIndex + best] { best = k }
        return best
    }

    /// Cross-entropy of probabilities against a class id, clipped as log-loss is.
    @inlinable
    public static func crossEntropy<P: RandomAccessCollection<Float>>(_ p: P, label: Int) -> Double where P.Index == Int {
        let q = label >= 0 && label < p.count ? Double(p[p.startIndex + label]) : 0
        return -log(min(max(q, 1e-15), 1))
    }

    /// The weighted data loss (no L2 term) of records.
    public func dataLoss(_ records: some Collection<Record>) -> Double {
        var sum = 0.0, weight = 0.0
        forEachBatch(of: records) { batch, work in
            for (row, r) in batch.enumerated() {
                sum += r.weight * Self.crossEntropy(work.probabilities(ofRow: row), label: r.classIndex)
                weight += r.weight
            }
        }
        return weight > 0 ? sum / weight : 0
    }

    /// Loss, accuracy and log-loss on records.
    public func evaluate(_ records: some Sequence<Record>) -> EvaluationSummary {
        var loss = WeightedMean(), correct = WeightedMean()
        forEachBatch(of: records) { batch, work in
            for (row, r) in batch.enumerated() {
                let p = work.probabilities(ofRow: row)
                loss.update(Self.crossEntropy(p, label: r.classIndex), weight: r.weight)
                correct.update(Self.argmax(p) == r.classIndex ? 1 : 0, weight: r.weight)
            }
        }
        var s = EvaluationSummary()
        s.count = loss.count
        s.weight = loss.weight
        s.loss = loss.value
        s.logLoss = loss.value
        s.accuracy = correct.value
        return s
    }

    /// Runs records through the network 64 at a time (the batch forward pass; same probabilities as one by one).
    func forEachBatch(of records: some Sequence<Record>, _ body: ([Record], NeuralNetwork.BatchWorkspace) -> Void) {
        var work = BatchWorkspace()
        var batch: [Record] = []
        batch.reserveCapacity(64)
        for r in records {
            batch.append(r)
            if batch.count == 64 {
                forward(batch, into: &work)
                body(batch, work)
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty {
            forward(batch, into: &work)
            body(batch, work)
        }
    }

    // MARK: Backward

    /// Gradient buffers with the network's shapes.
    public struct Gradient: Sendable {
        public var weights: [[Float]]
        public var biases: [[Float]]
        /// Σ wᵢ ℓᵢ and Σ wᵢ of the records accumulated.
        public var lossSum: Double = 0
        public var weightSum: Double = 0
        /// Rows of layer 0 touched since the last reset (sparse inputs touch few).
        var touchedRows: [Int32] = []
        var rowTouched: [Bool]

        public init(for network: NeuralNetwork) {
            weights = network.weights.map { [Float](repeating: 0, count: $0.count) }
            biases = network.biases.map { [Float](repeating: 0, count: $0.count) }
            rowTouched = [Bool](repeating: false, count: network.inputDimension)
        }

        /// Zeroes the buffers (touched rows of layer 0 only) for the next mini-batch.
        public mutating func reset(for network: NeuralNetwork) {
            if weights.count != network.weights.count || zip(weights, network.weights).contains(where: { $0.count != $1.count }) {
                self = Gradient(for: network)
                return
            }
            let width0 = network.layerSizes[1]
            weights[0].withUnsafeMutableBufferPointer { g in
                for j in touchedRows {
                    let base = Int(j) * width0
                    for u in 0..<width0 { g[base + u] = 0 }
                    rowTouched[Int(j)] = false
                }
            }
            touchedRows.removeAll(keepingCapacity: true)
            for l in 1..<weights.count {
                weights[l].withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            }
            for l in 0..<biases.count { biases[l].withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
            lossSum = 0
            weightSum = 0
        }
    }

    /// Scratch for backpropagation, reused across records.
    public struct Workspace: Sendable {
        var activations: Activations
        var deltas: [[Float]]

        public init(for network: NeuralNetwork) {
            activations = Activations(for: network)
            deltas = network.layerSizes.dropFirst().map { [Float](repeating: 0, count: $0) }
        }
    }

    /// Adds w · ∇ℓ(record) to `gradient` (unnormalised; `step` divides by the weight sum).
    /// - Returns: the record's class probabilities (valid until the next call with `work`).
    /// - Complexity: O(nnz · h₁ + Σ hₗ hₗ₊₁).
    @discardableResult
    public func accumulateGradient(_ record: Record, into gradient: inout Gradient, work: inout Workspace) -> [Float] {
        accumulateGradient(record, into: &gradient, work: &work, skipBelow: -1).probabilities
    }

    /// `accumulateGradient`, except that a record already fitted (loss below `skipBelow`) only adds its
    /// loss and weight: its backward pass, about 60% of its cost, is skipped. The gradient left out is
    /// small: the record's output delta w (p − onehot(y)) has norm at most √2 w (1 − p_y) < √2 w ℓ.
    /// Its weight still counts in the mini-batch's weight sum, so the step stays the batch's mean gradient
    /// minus those near-zero terms (not a larger step on the rest).
    /// `backwardWeight(ℓ)`, when given, scales the gradient added (not the weight counted): 0 skips the
    /// backward pass, 1/q keeps a backward pass sampled with probability q unbiased.
    /// - Returns: the record's class probabilities (valid until the next call with `work`), its loss
    ///   ℓ, and whether its gradient was added.
    public func accumulateGradient(_ record: Record, into gradient: inout Gradient, work: inout Workspace,
                                   skipBelow: Double, backwardWeight: (Double) -> Double = { _ in 1 })
        -> (probabilities: [Float], loss: Double, backpropagated: Bool) {
        if work.deltas.count != layerCount || zip(work.deltas, layerSizes.dropFirst()).contains(where: { $0.count != $1 }) {
            work = Workspace(for: self)
        }
        forward(record.features, into: &work.activations)
        let y = record.classIndex
        let probabilities = work.activations.probabilities
        let loss = Self.crossEntropy(probabilities, label: y)
        gradient.lossSum += record.weight * loss
        gradient.weightSum += record.weight
        if loss < skipBelow { return (probabilities, loss, false) }
        let scale = backwardWeight(loss)
        if scale == 0 { return (probabilities, loss, false) }
        let w = Float(record.weight * scale)
        // Output delta: w (p − onehot(y)).
        let last = layerCount - 1
        for k in 0..<classCount { work.deltas[last][k] = w * (probabilities[k] - (k == y ? 1 : 0)) }
        // Layers l ≥ 1 (output-major): grad W[u, :] += δ_u a_{l-1}; δ_{l-1} = Σ_u δ_u W[u, :] masked by ReLU.
        var l = last
        while l >= 1 {
            let fanIn = layerSizes[l], fanOut = layerSizes[l + 1]
            let a = work.activations.layers[l - 1]
            let delta = work.deltas[l]
            work.deltas[l - 1].withUnsafeMutableBufferPointer { dPrev in
                dPrev.update(repeating: 0)
                gradient.weights[l].withUnsafeMutableBufferPointer { g in
                    gradient.biases[l].withUnsafeMutableBufferPointer { gb in
                        weights[l].withUnsafeBufferPointer { wl in
                            a.withUnsafeBufferPointer { ap in
                                for u in 0..<fanOut {
                                    let d = delta[u]
                                    if d == 0 { continue }
                                    gb[u] += d
                                    NetworkKernels.axpy(d, ap.baseAddress!, g.baseAddress! + u * fanIn, fanIn)
                                    NetworkKernels.axpy(d, wl.baseAddress! + u * fanIn, dPrev.baseAddress!, fanIn)
                                }
                            }
                        }
                    }
                }
                for i in 0..<fanIn where !(a[i] > 0) { dPrev[i] = 0 }
            }
            l -= 1
        }
        // Layer 0 (input-major): grad W[j, :] += x_j δ₀ for each non-zero feature.
        let width0 = layerSizes[1]
        let inputs = layerSizes[0]
        if gradient.rowTouched.count < inputs { gradient.rowTouched.append(contentsOf: repeatElement(false, count: inputs - gradient.rowTouched.count)) }
        let delta0 = work.deltas[0]
        delta0.withUnsafeBufferPointer { d in
            gradient.biases[0].withUnsafeMutableBufferPointer { gb in
                for u in 0..<width0 { gb[u] += d[u] }
            }
            gradient.weights[0].withUnsafeMutableBufferPointer { g in
                let x = record.features
                for k in 0..<x.indices.count {
                    let j = Int(x.indices[k])
                    let v = x.values[k]
                    if j >= inputs || v == 0 { continue }
                    if !gradient.rowTouched[j] {
                        gradient.rowTouched[j] = true
                        gradient.touchedRows.append(Int32(j))
                    }
                    NetworkKernels.axpy(v, d.baseAddress!, g.baseAddress! + j * width0, width0)
                }
            }
        }
        return (probabilities, loss, true)
    }

    /// The full objective (weighted mean loss + L2) and its gradient, for checks and tests.
    public func objectiveAndGradient(_ records: [Record], l2: Double) -> (loss: Double, gradient: Gradient) {
        var g = Gradient(for: self)
        var work = Workspace(for: self)
        for r in records { accumulateGradient(r, into: &g, work: &work) }
        let scale = g.weightSum > 0 ? Float(1 / g.weightSum) : 0
        var penalty = 0.0
        for l in 0..<layerCount {
            for i in 0..<g.weights[l].count {
                g.weights[l][i] = g.weights[l][i] * scale + Float(l2) * weights[l][i]
                penalty += Double(weights[l][i]) * Double(weights[l][i])
            }
            for i in 0..<g.biases[l].count { g.biases[l][i] *= scale }
        }
        let loss = (g.weightSum > 0 ? g.lossSum / g.weightSum : 0) + 0.5 * l2 * penalty
        return (loss, g)
    }
}

/// Dense float kernels of the network (the mini-batch ones are in NeuralNetwork+Batch.swift and in C):
/// several independent SIMD8 lanes, no `addingProduct` (without FMA in the baseline x86-64 target it
/// becomes a slow library call, and a fused product would round differently from the batch kernels).
public enum NetworkKernels {
    /// y[0..<n] += a · x[0..<n].
    @inlinable
    public static func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        let av = SIMD8<Float>(repeating: a)
        let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
        var i = 0
        while i + 32 <= n {
            let o = i * 4
            let y0 = ry.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) + av * rx.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            let y1 = ry.loadUnaligned(fromByteOffset: o + 32, as: SIMD8<Float>.self) + av * rx.loadUnaligned(fromByteOffset: o + 32, as: SIMD8<Float>.self)
            let y2 = ry.loadUnaligned(fromByteOffset: o + 64, as: SIMD8<Float>.self) + av * rx.loadUnaligned(fromByteOffset: o + 64, as: SIMD8<Float>.self)
            let y3 = ry.loadUnaligned(fromByteOffset: o + 96, as: SIMD8<Float>.self) + av * rx.loadUnaligned(fromByteOffset: o + 96, as: SIMD8<Float>.self)
            ry.storeBytes(of: y0, toByteOffset: o, as: SIMD8<Float>.self)
            ry.storeBytes(of: y1, toByteOffset: o + 32, as: SIMD8<Float>.self)
            ry.storeBytes(of: y2, toByteOffset: o + 64, as: SIMD8<Float>.self)
            ry.storeBytes(of: y3, toByteOffset: o + 96, as: SIMD8<Float>.self)
            i += 32
        }
        while i + 8 <= n {
            let o = i * 4
            let v = ry.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) + av * rx.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            ry.storeBytes(of: v, toByteOffset: o, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n {
            y[i] += a * x[i]
            i += 1
        }
    }

    /// Softmax with the maximum subtracted first, so large logits do not overflow.
    @inlinable
    public static func softmaxInPlace(_ z: UnsafeMutableBufferPointer<Float>) {
        guard !z.isEmpty else { return }
        var m = z[0]
        for k in 1..<z.count where z[k] > m { m = z[k] }
        var s: Float = 0
        for k in 0..<z.count {
            z[k] = expf(z[k] - m)
            s += z[k]
        }
        let inv = 1 / s
        for k in 0..<z.count { z[k] *= inv }
    }
}
