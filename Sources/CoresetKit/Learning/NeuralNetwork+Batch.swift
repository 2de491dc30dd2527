import CNetworkKernels

/// Mini-batch forward and backward passes: the same arithmetic as the one-record passes, element for
/// element and in the same order (so the gradient of a batch is bit-identical to the records' one by
/// one), arranged so each weight block is loaded once per batch instead of once per record and the
/// sums stay in registers. A record batch of B costs about what B one-record passes cost in
/// multiply-adds but a fraction of their memory traffic.
extension NeuralNetwork {
    /// Scratch for a mini-batch's passes, reused across batches. Row r is the batch's r-th record.
    public struct BatchWorkspace: Sendable {
        /// `activations[l]`: layer l's outputs, one row of `layerSizes[l + 1]` per record.
        var activations: [[Float]] = []
        /// `deltas[l]`: layer l's back-propagated errors, one row per record whose gradient is added.
        var deltas: [[Float]] = []
        /// Records of the last batch.
        public internal(set) var rows = 0
        /// Each record's loss and whether its gradient was added, after `accumulateGradients`.
        public internal(set) var losses: [Double] = []
        public internal(set) var backpropagated: [Bool] = []
        /// Rows whose gradient is added, and the weight w · scale of each.
        var backwardRows: [Int] = []
        var backwardWeights: [Float] = []
        // Term lists of `NetworkKernels.gatherAxpy`.
        var targets: [Int] = []
        var termStarts: [Int] = []
        var sources: [Int] = []
        var termSources: [Int] = []
        var termCoefficients: [Float] = []
        var packed: [Float] = []
        /// Layer-0 rows touched by the batch: `featureSlot[j]` is j's slot while the batch is built (-1 otherwise),
        /// `slotFeatures[s]` the feature of slot s, `slotCounts[s]` its non-zeros (then where its next term goes).
        var featureSlot: [Int32] = []
        var slotFeatures: [Int32] = []
        var slotCounts: [Int] = []

        /// Rows the buffers hold.
        var rowCapacity = 0

        public init() {}

        /// Class probabilities of row `r` of the last batch.
        public func probabilities(ofRow r: Int) -> ArraySlice<Float> {
            let k = activations[activations.count - 1].count / max(rowCapacity, 1)
            return activations[activations.count - 1][(r * k)..<((r + 1) * k)]
        }

        /// Term lists read from a dense matrix: target t (at `targetOffset * t` in the output) takes the
        /// non-zero entries m[t · targetStride + s · sourceStride], s < sourceCount, in order of s, as
        /// terms of source s.
        mutating func setTerms(from m: UnsafePointer<Float>, targetCount: Int, targetStride: Int, targetOffset: Int,
                               sourceCount: Int, sourceStride: Int) {
            let capacity = targetCount * sourceCount
            if termSources.count < capacity {
                termSources = [Int](repeating: 0, count: capacity)
                termCoefficients = [Float](repeating: 0, count: capacity)
            }
            targets = (0..<targetCount).map { $0 * targetOffset }
            if termStarts.count != targetCount + 1 { termStarts = [Int](repeating: 0, count: targetCount + 1) }
            termSources.withUnsafeMutableBufferPointer { src in
                termCoefficients.withUnsafeMutableBufferPointer { co in
                    termStarts.withUnsafeMutableBufferPointer { st in
                        var n = 0
                        for t in 0..<targetCount {
                            st[t] = n
                            let row = m + t * targetStride
                            for s in 0..<sourceCount {
                                let d = row[s * sourceStride]
                                if d == 0 { continue }
                                src[n] = s
                                co[n] = d
                                n += 1
                            }
                        }
                        st[targetCount] = n
                    }
                }
            }
        }

        mutating func prepare(for network: NeuralNetwork, rows count: Int) {
            let widths = Array(network.layerSizes.dropFirst())
            let fits = activations.count == widths.count && rowCapacity >= count
                && zip(activations, widths).allSatisfy { $0.count == $1 * rowCapacity }
            if !fits {
                rowCapacity = max(count, rowCapacity)
                activations = widths.map { [Float](repeating: 0, count: $0 * rowCapacity) }
                deltas = widths.map { [Float](repeating: 0, count: $0 * rowCapacity) }
            }
            rows = count
            if featureSlot.count < network.inputDimension {
                featureSlot.append(contentsOf: repeatElement(-1, count: network.inputDimension - featureSlot.count))
            }
        }
    }

    /// Runs records through the network; `work.probabilities(ofRow:)` then holds each one's class probabilities,
    /// equal bit for bit to `forward(_:into:)`'s.
    /// - Complexity: O(Σ nnz · h₁ + B Σ hₗ hₗ₊₁).
    public func forward(_ records: [Record], into work: inout BatchWorkspace) {
        work.prepare(for: self, rows: records.count)
        guard !records.isEmpty else { return }
        let width0 = layerSizes[1], inputs = layerSizes[0]
        // Layer 0: each record's row starts at the bias and adds one weight row per non-zero feature.
        let rows = records.count
        let capacity = records.reduce(0) { $0 + $1.features.indices.count }
        if work.termSources.count < capacity {
            work.termSources = [Int](repeating: 0, count: capacity)
            work.termCoefficients = [Float](repeating: 0, count: capacity)
        }
        work.targets.removeAll(keepingCapacity: true)
        for r in 0..<rows { work.targets.append(r * width0) }
        if work.termStarts.count != rows + 1 { work.termStarts = [Int](repeating: 0, count: rows + 1) }
        work.sources.removeAll(keepingCapacity: true)
        work.termSources.withUnsafeMutableBufferPointer { src in
            work.termCoefficients.withUnsafeMutableBufferPointer { co in
                work.termStarts.withUnsafeMutableBufferPointer { st in
                    work.featureSlot.withUnsafeMutableBufferPointer { slot in
                        var n = 0
                        for (r, record) in records.enumerated() {
                            st[r] = n
                            record.features.forEachNonZero(below: inputs) { j, v in
                                if slot[j] < 0 {
                                    slot[j] = Int32(work.sources.count)
                                    work.sources.append(j * width0)
                                }
                                src[n] = Int(slot[j])
                                co[n] = v
                                n += 1
                            }
                        }
                        st[rows] = n
                    }
                }
            }
        }
        for offset in work.sources { work.featureSlot[offset / width0] = -1 }
        work.activations[0].withUnsafeMutableBufferPointer { z in
            biases[0].withUnsafeBufferPointer { b in
                for r in 0..<rows { (z.baseAddress! + r * width0).update(from: b.baseAddress!, count: width0) }
            }
            weights[0].withUnsafeBufferPointer { w in
                NetworkKernels.gatherAxpy(into: z.baseAddress!, targets: work.targets, width: width0, from: w.baseAddress!,
                                          termStarts: work.termStarts, sources: work.sources, termSources: work.termSources,
                                          coefficients: work.termCoefficients, packed: &work.packed)
            }
            coreset_rectify(z.baseAddress!, rows * width0)
        }
        for l in 1..<layerCount {
            let isOutput = l == layerCount - 1
            let previous = work.activations[l - 1]
            work.activations[l].withUnsafeMutableBufferPointer { z in
                previous.withUnsafeBufferPointer { a in
                    weights[l].withUnsafeBufferPointer { w in
                        biases[l].withUnsafeBufferPointer { b in
                            NetworkKernels.denseLayer(w.baseAddress!, bias: b.baseAddress!, fanIn: layerSizes[l], fanOut: layerSizes[l + 1],
                                                      input: a.baseAddress!, output: z.baseAddress!, rows: rows, rectify: !isOutput)
                        }
                    }
                }
                if isOutput {
                    let k = layerSizes[l + 1]
                    for r in 0..<rows { NetworkKernels.softmaxInPlace(UnsafeMutableBufferPointer(rebasing: z[(r * k)..<((r + 1) * k)])) }
                }
            }
        }
    }

    /// `accumulateGradient(_:into:work:skipBelow:backwardWeight:)` for each record of a mini-batch, in order:
    /// the same losses, the same calls of `backwardWeight(row, loss)` in the same order, and a gradient
    /// equal bit for bit to the one-record passes' sum. `work` then holds each row's probabilities, loss
    /// and whether its gradient was added.
    public func accumulateGradients(_ records: [Record], into gradient: inout Gradient, work: inout BatchWorkspace,
                                    skipBelow: Double = -1, backwardWeight: (_ row: Int, _ loss: Double) -> Double = { _, _ in 1 }) {
        forward(records, into: &work)
        let k = classCount, last = layerCount - 1
        work.losses.removeAll(keepingCapacity: true)
        work.backpropagated.removeAll(keepingCapacity: true)
        work.backwardRows.removeAll(keepingCapacity: true)
        work.backwardWeights.removeAll(keepingCapacity: true)
        work.activations[last].withUnsafeBufferPointer { p in
            for (r, record) in records.enumerated() {
                let y = record.classIndex
                let loss = Self.crossEntropy(p[(r * k)..<((r + 1) * k)], label: y)
                work.losses.append(loss)
                gradient.lossSum += record.weight * loss
                gradient.weightSum += record.weight
                let scale = loss < skipBelow ? 0 : backwardWeight(r, loss)
                work.backpropagated.append(scale != 0)
                if scale != 0 {
                    work.backwardRows.append(r)
                    work.backwardWeights.append(Float(record.weight * scale))
                }
            }
        }
        guard !work.backwardRows.isEmpty else { return }
        backward(records, into: &gradient, work: &work)
    }

    /// Adds the gradients of `work.backwardRows` (weighted by `work.backwardWeights`) to `gradient`.
    private func backward(_ records: [Record], into gradient: inout Gradient, work: inout BatchWorkspace) {
        let m = work.backwardRows.count, last = layerCount - 1, k = classCount
        // Output deltas: w (p − onehot(y)), one compact row per record back-propagated.
        work.deltas[last].withUnsafeMutableBufferPointer { d in
            work.activations[last].withUnsafeBufferPointer { p in
                for c in 0..<m {
                    let r = work.backwardRows[c], w = work.backwardWeights[c], y = records[r].classIndex
                    for q in 0..<k { d[c * k + q] = w * (p[r * k + q] - (q == y ? 1 : 0)) }
                }
            }
        }
        var l = last
        while l >= 1 {
            let fanIn = layerSizes[l], fanOut = layerSizes[l + 1]
            let delta = work.deltas[l]
            // grad W[u, :] += Σ_c δ_c[u] a_c (records in order), grad b[u] += Σ_c δ_c[u].
            work.sources.removeAll(keepingCapacity: true)
            for c in 0..<m { work.sources.append(work.backwardRows[c] * fanIn) }
            delta.withUnsafeBufferPointer { d in
                gradient.biases[l].withUnsafeMutableBufferPointer { gb in
                    // Records outermost: each unit still adds its records' errors in order.
                    for c in 0..<m {
                        let row = d.baseAddress! + c * fanOut
                        for u in 0..<fanOut where row[u] != 0 { gb[u] += row[u] }
                    }
                }
                work.setTerms(from: d.baseAddress!, targetCount: fanOut, targetStride: 1, targetOffset: fanIn, sourceCount: m, sourceStride: fanOut)
            }
            gradient.weights[l].withUnsafeMutableBufferPointer { g in
                work.activations[l - 1].withUnsafeBufferPointer { a in
                    NetworkKernels.gatherAxpy(into: g.baseAddress!, targets: work.targets, width: fanIn, from: a.baseAddress!,
                                              termStarts: work.termStarts, sources: work.sources, termSources: work.termSources,
                                          coefficients: work.termCoefficients, packed: &work.packed)
                }
            }
            // δ_{l−1} = Σ_u δ[u] W[u, :] (units in order), masked by the ReLU.
            work.sources.removeAll(keepingCapacity: true)
            for u in 0..<fanOut { work.sources.append(u * fanIn) }
            delta.withUnsafeBufferPointer { d in
                work.setTerms(from: d.baseAddress!, targetCount: m, targetStride: fanOut, targetOffset: fanIn, sourceCount: fanOut, sourceStride: 1)
            }
            work.deltas[l - 1].withUnsafeMutableBufferPointer { dPrev in
                dPrev.baseAddress!.update(repeating: 0, count: m * fanIn)
                weights[l].withUnsafeBufferPointer { w in
                    NetworkKernels.gatherAxpy(into: dPrev.baseAddress!, targets: work.targets, width: fanIn, from: w.baseAddress!,
                                              termStarts: work.termStarts, sources: work.sources, termSources: work.termSources,
                                          coefficients: work.termCoefficients, packed: &work.packed)
                }
                work.activations[l - 1].withUnsafeBufferPointer { a in
                    for c in 0..<m {
                        coreset_mask_by_positive(dPrev.baseAddress! + c * fanIn, a.baseAddress! + work.backwardRows[c] * fanIn, fanIn)
                    }
                }
            }
            l -= 1
        }
        // Layer 0: grad b += Σ_c δ₀_c; grad W[j, :] += Σ_c x_cj δ₀_c over each touched row j, records in order.
        let width0 = layerSizes[1], inputs = layerSizes[0]
        if gradient.rowTouched.count < inputs {
            gradient.rowTouched.append(contentsOf: repeatElement(false, count: inputs - gradient.rowTouched.count))
        }
        work.deltas[0].withUnsafeBufferPointer { d in
            gradient.biases[0].withUnsafeMutableBufferPointer { gb in
                for c in 0..<m {
                    NetworkKernels.axpy(1, d.baseAddress! + c * width0, gb.baseAddress!, width0)
                }
            }
        }
        // Counting sort of the batch's non-zeros by feature (slots in order of first touch, records in order within).
        work.slotFeatures.removeAll(keepingCapacity: true)
        work.slotCounts.removeAll(keepingCapacity: true)
        var total = 0
        work.featureSlot.withUnsafeMutableBufferPointer { slot in
            gradient.rowTouched.withUnsafeMutableBufferPointer { touched in
                for c in 0..<m {
                    records[work.backwardRows[c]].features.forEachNonZero(below: inputs) { j, _ in
                        if !touched[j] {
                            touched[j] = true
                            gradient.touchedRows.append(Int32(j))
                        }
                        if slot[j] < 0 {
                            slot[j] = Int32(work.slotFeatures.count)
                            work.slotFeatures.append(Int32(j))
                            work.slotCounts.append(0)
                        }
                        work.slotCounts[Int(slot[j])] += 1
                        total += 1
                    }
                }
            }
        }
        let slots = work.slotFeatures.count
        work.targets.removeAll(keepingCapacity: true)
        work.termStarts.removeAll(keepingCapacity: true)
        var start = 0
        for s in 0..<slots {
            work.targets.append(Int(work.slotFeatures[s]) * width0)
            work.termStarts.append(start)
            let n = work.slotCounts[s]
            work.slotCounts[s] = start
            start += n
        }
        work.termStarts.append(start)
        if work.termSources.count < total {
            work.termSources = [Int](repeating: 0, count: total)
            work.termCoefficients = [Float](repeating: 0, count: total)
        }
        work.termSources.withUnsafeMutableBufferPointer { src in
            work.termCoefficients.withUnsafeMutableBufferPointer { co in
                work.slotCounts.withUnsafeMutableBufferPointer { next in
                    work.featureSlot.withUnsafeBufferPointer { slot in
                        for c in 0..<m {
                            records[work.backwardRows[c]].features.forEachNonZero(below: inputs) { j, v in
                                let s = Int(slot[j])
                                let at = next[s]
                                next[s] = at + 1
                                src[at] = c
                                co[at] = v
                            }
                        }
                    }
                }
            }
        }
        for j in work.slotFeatures { work.featureSlot[Int(j)] = -1 }
        work.sources.removeAll(keepingCapacity: true)
        for c in 0..<m { work.sources.append(c * width0) }
        gradient.weights[0].withUnsafeMutableBufferPointer { g in
            work.deltas[0].withUnsafeBufferPointer { d in
                NetworkKernels.gatherAxpy(into: g.baseAddress!, targets: work.targets, width: width0, from: d.baseAddress!,
                                          termStarts: work.termStarts, sources: work.sources, termSources: work.termSources,
                                          coefficients: work.termCoefficients, packed: &work.packed)
            }
        }
    }
}

extension FeatureVector {
    /// Calls `body(j, v)` for each non-zero v at a feature j below `limit`, in order: the features a network
    /// with `limit` inputs uses (later ones count as zero).
    @inline(__always)
    func forEachNonZero(below limit: Int, _ body: (Int, Float) -> Void) {
        indices.withUnsafeBufferPointer { idx in
            values.withUnsafeBufferPointer { vals in
                for t in 0..<idx.count {
                    let j = Int(idx[t]), v = vals[t]
                    if j >= limit || v == 0 { continue }
                    body(j, v)
                }
            }
        }
    }
}

extension NetworkKernels {
    /// For each target t: y[targets[t] + i] += Σ_s c_s · x[sources[termSources[s]] + i] over i < width, the
    /// terms s of `termStarts[t]..<termStarts[t + 1]` added in order, each as axpy adds it (a product,
    /// then a sum; `coreset_gather_block`). Columns run in blocks held in registers across all of a target's terms,
    /// blocks outermost. Each block of the source rows is first copied side by side into `packed`: rows
    /// 512 floats apart fall into the same few cache sets, and the copy makes the block stay in cache.
    public static func gatherAxpy(into y: UnsafeMutablePointer<Float>, targets: [Int], width: Int, from x: UnsafePointer<Float>,
                                  termStarts: [Int], sources: [Int], termSources: [Int], coefficients: [Float], packed: inout [Float]) {
        let block = gatherBlockWidth
        if packed.count < sources.count * block { packed = [Float](repeating: 0, count: sources.count * block) }
        targets.withUnsafeBufferPointer { tg in
            termStarts.withUnsafeBufferPointer { st in
                termSources.withUnsafeBufferPointer { src in
                    coefficients.withUnsafeBufferPointer { co in
                        packed.withUnsafeMutableBufferPointer { pk in
                            var column = 0
                            while column < width {
                                let n = min(block, width - column)
                                for (s, offset) in sources.enumerated() {
                                    (pk.baseAddress! + s * n).update(from: x + offset + column, count: n)
                                }
                                for t in 0..<tg.count where st[t] < st[t + 1] {
                                    coreset_gather_block(y + tg[t] + column, n, pk.baseAddress!, src.baseAddress! + st[t],
                                                         co.baseAddress! + st[t], st[t + 1] - st[t])
                                }
                                column += n
                            }
                        }
                    }
                }
            }
        }
    }

    /// Columns per block of `gatherAxpy` (64 where the CPU has AVX, else 32); results do not depend on it.
    static var gatherBlockWidth: Int { coreset_gather_block_width() }

    /// Whether the kernels run their AVX versions (where the CPU has AVX); `false` makes them run the baseline
    /// ones, for tests that compare the two. Returns the previous setting.
    @discardableResult
    public static func useAVX(_ enabled: Bool) -> Bool {
        coreset_network_kernels_use_avx(enabled ? 1 : 0) != 0
    }

    /// A dense layer stored output-major: output[r, u] = Σ_i w[u, i] input[r, i] + bias[u] (rectified when
    /// asked), for `rows` input rows (`coreset_dense_layer`: the same sums on every CPU and for every row
    /// count, so a record's outputs do not depend on the other records of its batch).
    public static func denseLayer(_ w: UnsafePointer<Float>, bias: UnsafePointer<Float>, fanIn: Int, fanOut: Int,
                                  input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, rows: Int, rectify: Bool) {
        coreset_dense_layer(w, bias, fanIn, fanOut, input, output, rows, rectify ? 1 : 0)
    }
}
