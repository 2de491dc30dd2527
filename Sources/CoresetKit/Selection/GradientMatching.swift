/// The gradient sum of a class at the selector's model snapshot, kept as the stream flows, and the
/// weight refinement that uses it (GRAD-MATCH's weight step: Killamsetty et al., ICML 2021).
///
/// Why: CRAIG's weights (each record's weight to its most similar element) only bound the gradient
/// error through the facility-location objective. With each class's actual gradient sum
/// G_c = Σ_{i ∈ c} w_i g_i(θ) at hand, the weights can be fitted to the whole gradient directly:
///
///     minimise ½‖Σ_c (Σ_{j ∈ c} γ_j g_j − G_c)‖² + ½ μ ‖γ − γ⁰‖²
///     subject to γ_j ≥ ℓ_j and, per class, Σ_{j ∈ c} γ_j = Σ_{j ∈ c} γ⁰_j,
///
/// starting from and pulled towards the nearest-count weights γ⁰, with μ = ρ · mean ‖g_j‖² over all the
/// coreset's elements (`_GradientMatch.regularization`) and ℓ_j = min(γ⁰_j, the element's own input
/// weight) (an element stands at least for itself), so every class's total weight stays exact.
/// Measured (tools/bench_selection/RESULTS.md: mnist and census_kdd, k = 100 and 1000, Sieve-Streaming,
/// Sieve-Streaming++ and ThreeSieves, at a mid-training model and near the optimum; gradient error as a
/// multiple of uniform random subsets of k): 0.13-0.47x, against 0.20-0.96x with nearest weights. The
/// fit is made at one model; at another it keeps part of its gain: on census_kdd (all records, k = 1000,
/// `select --model` at the optimum, numpy) the weights fitted there give, at a model trained on 10%,
/// 0.54x / 0.33x / 0.58x random (sieve / sieve++ / three-sieves) against 0.64x / 0.58x / 0.63x with
/// nearest weights (at the optimum itself: 0.20x / 0.24x / 0.25x against 0.42x / 0.66x / 0.53x).
///
/// The sum is exact for records that arrive while a snapshot is in use: each adds w · r ⊗ x̃ (O(nnz · K)).
/// When the snapshot changes (a re-selection) the records already gone cannot be re-embedded, so the
/// sum is moved by the reference reservoir's change as a control variate:
/// G_c(new) ≈ G_c(old) + (W_c / W_refs) Σ_refs w_r (g_r(new) − g_r(old)), exact while the reservoir
/// still holds every record of the class; the first snapshot's sum is the reservoir's scaled sum.
struct _GradientSum {
    /// Entries beyond which a class keeps no sum (its weights stay nearest counts): 2^21 doubles, 16 MiB.
    static let maxEntries = 1 << 21

    /// Residual length K.
    private(set) var residualCount = 0
    private(set) var hasBias = false
    /// Features covered (indices 0..<dimension).
    private(set) var dimension = 0
    /// Σ w r_t x_f at f · K + t.
    private(set) var values: [Double] = []
    /// Σ w r_t (the bias column).
    private(set) var bias: [Double] = []
    /// False until a snapshot is in use, and after the sum outgrew `maxEntries`.
    private(set) var valid = false

    /// Starts an empty, valid sum for gradients of this shape.
    mutating func reset(residualCount k: Int, hasBias b: Bool) {
        residualCount = k
        hasBias = b
        dimension = 0
        values = []
        bias = [Double](repeating: 0, count: k)
        valid = k > 0
    }

    mutating func invalidate() {
        valid = false
        values = []
        bias = []
        dimension = 0
    }

    /// Adds w · g(p), the gradient of a point embedded at the snapshot in use.
    mutating func add(_ p: _Point, weight w: Double) {
        p.residual.withUnsafeBufferPointer { add(features: p.record.features, residual: $0, weight: w) }
    }

    /// Adds w · r ⊗ [x, 1] for a record's features x and residual r at the snapshot in use (the same
    /// sums as `add(_:weight:)` on the record's point, without building the point).
    mutating func add(features: FeatureVector, residual r: UnsafeBufferPointer<Float>, weight w: Double) {
        guard valid else { return }
        let k = residualCount
        guard r.count == k else { invalidate(); return }
        let ix = features.indices
        if let last = ix.last, Int(last) >= dimension {
            let need = Int(last) + 1
            guard need * k <= Self.maxEntries else { invalidate(); return }
            // Grow geometrically so a widening hashed space does not copy per record.
            let nd = min(max(need, dimension * 2), Self.maxEntries / k)
            values.append(contentsOf: repeatElement(0, count: (nd - dimension) * k))
            dimension = nd
        }
        // The residual widened once, then one axpy per nonzero (the same products and sums, entry by
        // entry, as `v[f·K + t] += (w·x_f)·r_t`; SIMD lanes instead of a scalar loop: mnist's K = 10).
        withUnsafeTemporaryAllocation(of: Double.self, capacity: k) { rd in
            for t in 0..<k { rd[t] = Double(r[t]) }
            let rp = UnsafePointer(rd.baseAddress!)
            values.withUnsafeMutableBufferPointer { v in
                features.indices.withUnsafeBufferPointer { ix in
                    features.values.withUnsafeBufferPointer { vx in
                        for p in 0..<min(ix.count, vx.count) {
                            _GradientMatch.axpy(v.baseAddress! + Int(ix[p]) * k, rp, w * Double(vx[p]), k)
                        }
                    }
                }
            }
        }
        if hasBias { bias.withUnsafeMutableBufferPointer { v in for t in 0..<k { v[t] += w * Double(r[t]) } } }
    }

    /// Multiplies the sum by f (decay renormalisation).
    mutating func scale(by f: Double) {
        for i in values.indices { values[i] *= f }
        for i in bias.indices { bias[i] *= f }
    }

    /// Adds f · other (same shape).
    mutating func add(_ o: _GradientSum, times f: Double) {
        guard valid, o.valid, o.residualCount == residualCount, o.hasBias == hasBias else { invalidate(); return }
        if o.dimension > dimension {
            values.append(contentsOf: repeatElement(0, count: (o.dimension - dimension) * residualCount))
            dimension = o.dimension
        }
        for i in o.values.indices { values[i] += f * o.values[i] }
        for t in o.bias.indices { bias[t] += f * o.bias[t] }
    }

    /// Value at feature f, residual entry t (0 beyond the covered features).
    @inline(__always)
    func value(feature f: Int, _ t: Int) -> Double { f < dimension ? values[f * residualCount + t] : 0 }

    // MARK: Checkpoints

    func encode(into w: inout _StateWriter) {
        w.bool(valid)
        guard valid else { return }
        w.int(residualCount)
        w.bool(hasBias)
        w.int(dimension)
        w.doubles(values)
        w.doubles(bias)
    }

    init() {}

    init(decoding r: inout _StateReader) throws {
        guard try r.bool() else { return }
        residualCount = try r.int()
        hasBias = try r.bool()
        dimension = try r.int()
        values = try r.doubles()
        bias = try r.doubles()
        guard residualCount > 0, dimension >= 0, values.count == dimension * residualCount, bias.count == residualCount else {
            throw _StateReader.Corrupt(offset: r.offset, reason: "bad gradient sum shape")
        }
        valid = true
    }
}

enum _GradientMatch {
    /// ρ in μ = ρ · mean ‖g_j‖²: how strongly the weights are held to the nearest counts. On the census_kdd
    /// prototype ρ = 1 kept most of the gain at the selector's model (0.29x random against 0.24x with ρ =
    /// 0.01) and as much at another model, with fewer elements pushed to their floor (14 of 1000 against 59).
    static let rho = 1.0
    /// Why 100: the early stop below ends the fit sooner at k <= 1,000 (`BenchSelection eval`'s gradient errors
    /// are the same to three digits at 100 and 300); at k = 10% of census_kdd the cap binds, and 100 instead of
    /// 300 took `run` from 3.8 s to 3.0 s with the same test loss (0.1273).
    static let maxIterations = 100

    /// The refined weights of several classes fitted together: the target is the sum of the classes'
    /// gradient sums (the whole gradient), and each class keeps its own total. Why jointly: for the
    /// gradient of the whole loss the classes' errors add up and may cancel; fitting each class alone
    /// shrinks the sum of their squares, not the square of their sum. Measured (tools/bench_selection,
    /// gradient error x random, 24 cells: mnist and census_kdd, k = 100 and 1000, three algorithms,
    /// mid-training and optimum): jointly 0.13-0.47, class by class 0.22-0.59, nearest 0.20-0.96; class
    /// by class was worse than nearest in 6 cells (mnist near the optimum), jointly in none.
    /// - Parameter classes: per class its points, CRAIG weights, the elements' own input weights (their
    ///   floors) and its gradient sum (one snapshot, one shape).
    /// - Returns: per class its weights (the given ones where nothing can be fitted).
    /// - Parameter lanes: worker threads for the fit's products (the same weights, bit for bit, with or without).
    static func refineJointly(_ classes: [(points: [_Point], weights: [Double], floors: [Double], sum: _GradientSum)],
                              mu: Double, lanes: _WorkerLanes? = nil) -> [[Double]] {
        var points: [_Point] = [], w0: [Double] = [], floors: [Double] = [], groups: [Range<Int>] = []
        var target: _GradientSum? = nil
        for c in classes {
            let start = points.count
            points += c.points
            w0 += c.weights
            floors += c.floors
            groups.append(start..<points.count)
            if target == nil { target = c.sum } else { target!.add(c.sum, times: 1) }
        }
        guard let t = target, t.valid else { return classes.map(\.weights) }
        let w = refine(points, weights: w0, floor: floors, groups: groups, target: t, mu: mu, lanes: lanes)
        return groups.map { Array(w[$0]) }
    }

    /// μ for a coreset: ρ times the mean ‖g_j‖² over all its elements (every class), so that one
    /// objective, ‖Σ_c (A_c γ_c − G_c)‖² + μ ‖γ − γ⁰‖², is minimised. (A μ per class from its own elements held
    /// census_kdd's minority class, whose gradients are 30x larger, so tightly that its error stayed:
    /// 0.36x random against 0.29x.)
    static func regularization(_ points: [_Point]) -> Double {
        guard !points.isEmpty else { return 0 }
        return rho * points.reduce(0.0) { $0 + $1.gradientNorm2 } / Double(points.count)
    }

    /// The refined weights of `points` (gradients at one snapshot, residuals of length `target.residualCount`)
    /// for the gradient sum `target`, the total kept per group (contiguous index ranges covering all
    /// points: the classes); `floor[j]` is the smallest weight of element j. Returns `weights` unchanged
    /// when there is nothing to fit (no valid sum, fewer than two elements, zero gradients).
    /// - Complexity: O(I · (Σ nnz_j · K + n log n + dimension · K)) for I ≤ `maxIterations` iterations.
    /// With two or more `lanes` and enough work, each product runs in two parts on them: A γ by halves of
    /// the feature space, Aᵀ u by halves of the elements, so every sum is made in the serial order.
    static func refine(_ points: [_Point], weights w0: [Double], floor: [Double], groups: [Range<Int>],
                       target: _GradientSum, mu: Double, lanes: _WorkerLanes? = nil) -> [Double] {
        let n = points.count, K = target.residualCount
        guard target.valid, n >= 2, K > 0, w0.count == n, floor.count == n, mu > 0, mu.isFinite,
              points.allSatisfy({ $0.residual.count == K }) else { return w0 }
        let lower = zip(floor, w0).map { max(0, min($0, $1)) }
        let totals = groups.map { g in g.reduce(0.0) { $0 + w0[$1] } }
        let slacks = zip(groups, totals).map { g, t in t - g.reduce(0.0) { $0 + lower[$1] } }
        guard groups.reduce(0, { $0 + $1.count }) == n, zip(totals, slacks).allSatisfy({ $0 > 0 && $1 >= 0 }),
              slacks.contains(where: { $0 > 0 }) else { return w0 }
        var dim = target.dimension
        for p in points { if let l = p.record.features.indices.last { dim = max(dim, Int(l) + 1) } }
        let biasAt = dim * K, size = biasAt + (target.hasBias ? K : 0)
        // b = the target, laid out as the products below.
        var b = [Double](repeating: 0, count: size)
        for i in 0..<min(target.values.count, dim * K) { b[i] = target.values[i] }
        if target.hasBias { for t in 0..<K { b[biasAt + t] = target.bias[t] } }

        // The elements' gradients flattened once (features as Double, residuals as Double: exact
        // conversions), so the products below run over plain buffers: no per-element array retains or
        // iterator overhead in the 2·(iterations) passes. Same terms, same order as `_GradientSum.add(features:residual:weight:)`.
        var rowStart = [Int](repeating: 0, count: n + 1)
        for j in 0..<n { rowStart[j + 1] = rowStart[j] + min(points[j].record.features.indices.count, points[j].record.features.values.count) }
        var featureAt = [Int](repeating: 0, count: rowStart[n])
        var featureValue = [Double](repeating: 0, count: rowStart[n])
        var residual = [Double](repeating: 0, count: n * K)
        for j in 0..<n {
            let f = points[j].record.features
            for e in 0..<(rowStart[j + 1] - rowStart[j]) {
                featureAt[rowStart[j] + e] = Int(f.indices[e]) * K
                featureValue[rowStart[j] + e] = Double(f.values[e])
            }
            for t in 0..<K { residual[j * K + t] = Double(points[j].residual[t]) }
        }
        let hasBias = target.hasBias

        var av = [Double](repeating: 0, count: size)
        // Two parts when the products are worth a hand-over to the lanes (tens of microseconds each).
        let parts = (lanes?.count ?? 1) >= 2 && rowStart[n] * K >= 1 << 16 ? 2 : 1
        // A γ in parts of the feature space (the bias block with the last), each part's entries of each
        // element from `partStart[p][j]`: features are sorted within an element, so a part is a run.
        // The part boundaries as entries of the product (the first part's features below `cut`).
        var partStart = [Array(rowStart[0..<n])]
        var partBounds = [0]
        if parts == 2 {
            var perFeature = [Int](repeating: 0, count: dim)
            for e in 0..<rowStart[n] { perFeature[featureAt[e] / K] += 1 }
            var cut = 0, below = 0
            while cut < dim && 2 * (below + perFeature[cut]) <= rowStart[n] { below += perFeature[cut]; cut += 1 }
            partStart.append((0..<n).map { j in
                var e = rowStart[j]
                while e < rowStart[j + 1] && featureAt[e] < cut * K { e += 1 }
                return e
            })
            partBounds.append(cut * K)
        }
        partStart.append(Array(rowStart[1...]))
        partBounds.append(size)
        /// Runs part(0..<parts), on the lanes when there are two.
        func inParts(_ part: @escaping (Int) -> Void) {
            if parts == 2, let lanes { lanes.pair(part) } else { part(0) }
        }
        // av = A γ = Σ_j γ_j r_j ⊗ x̃_j.
        func apply(_ g: [Double]) {
            av.withUnsafeMutableBufferPointer { product in
                let v = product
                featureAt.withUnsafeBufferPointer { fa in
                    featureValue.withUnsafeBufferPointer { fv in
                        residual.withUnsafeBufferPointer { r in
                            g.withUnsafeBufferPointer { g in
                                inParts { p in
                                        let from = partStart[p], to = partStart[p + 1]
                                        let lastPart = p == parts - 1
                                        v.baseAddress!.advanced(by: partBounds[p]).update(repeating: 0, count: partBounds[p + 1] - partBounds[p])
                                        for j in 0..<n where g[j] != 0 {
                                            let w = g[j], rj = j * K
                                            _GradientMatch.scatter(v.baseAddress!, fa.baseAddress!, fv.baseAddress!, from[j]..<to[j],
                                                                   r.baseAddress! + rj, w, K)
                                            if hasBias && lastPart { _GradientMatch.axpy(v.baseAddress! + biasAt, r.baseAddress! + rj, w, K) }
                                        }
                                }
                            }
                        }
                    }
                }
            }
        }
        // out = Aᵀ u, in parts of the elements.
        // Each part's accumulator on cache lines of its own: with K = 1 the two were neighbours in one
        // line, which the cores then passed back and forth at every entry (the fit on two lanes took 2.4x
        // the time of one lane on census_kdd, k = 10,000).
        let accumulatorStride = (K + 7) / 8 * 8 + 8
        let accumulators = UnsafeMutableBufferPointer<Double>.allocate(capacity: 2 * accumulatorStride)
        defer { accumulators.deallocate() }
        func adjoint(_ u: [Double], into out: inout [Double]) {
            u.withUnsafeBufferPointer { v in
                out.withUnsafeMutableBufferPointer { result in
                    let o = result
                    rowStart.withUnsafeBufferPointer { rs in
                        featureAt.withUnsafeBufferPointer { fa in
                            featureValue.withUnsafeBufferPointer { fv in
                                residual.withUnsafeBufferPointer { r in
                                    inParts { p in
                                        let a = accumulators.baseAddress! + p * accumulatorStride
                                        let elements = p == 0 ? 0..<(parts == 2 ? n / 2 : n) : (n / 2)..<n
                                        for j in elements {
                                            for t in 0..<K { a[t] = hasBias ? v[biasAt + t] : 0 }
                                            _GradientMatch.gather(a, v.baseAddress!, fa.baseAddress!, fv.baseAddress!, rs[j]..<rs[j + 1], K)
                                            var s = 0.0
                                            let rj = j * K
                                            for t in 0..<K { s += r[rj + t] * a[t] }
                                            o[j] = s
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        // Lipschitz constant of the smooth part: λ_max(AᵀA) (power iteration, from a fixed start) + μ.
        var v = [Double](repeating: 1 / Double(n).squareRoot(), count: n)
        for j in 0..<n { v[j] *= 1 + 0.01 * Double(j % 7) }
        var atav = [Double](repeating: 0, count: n)
        var lambda = 0.0
        for _ in 0..<20 {
            apply(v)
            adjoint(av, into: &atav)
            let norm = atav.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard norm > 0 else { return w0 }
            lambda = norm / max(1e-300, v.reduce(0) { $0 + $1 * $1 }.squareRoot())
            for j in 0..<n { v[j] = atav[j] / norm }
        }
        let L = 1.1 * lambda + mu

        // FISTA with adaptive restart (O'Donoghue, Candès 2015) on the shifted simplex.
        var x = w0, y = w0, t = 1.0
        var grad = [Double](repeating: 0, count: n)
        var step = [Double](repeating: 0, count: n)
        // Stop once ten iterations gained less than 0.1% of what all the iterations before them gained:
        // the error the fit leaves is then settled (on census_kdd, k = 1000, 100 and 3,000 iterations
        // gave the same gradient error to three digits).
        var first = Double.nan, best = Double.infinity, bestTenAgo = Double.infinity
        for iteration in 0..<maxIterations {
            apply(y)
            for i in av.indices { av[i] -= b[i] }
            var value = 0.0
            for v in av { value += v * v }
            for j in 0..<n { value += mu * (y[j] - w0[j]) * (y[j] - w0[j]) }
            if iteration == 0 { first = value }
            best = min(best, value)
            if iteration % 10 == 0 {
                if iteration > 0 && bestTenAgo - best < 1e-3 * (first - best) { break }
                bestTenAgo = best
            }
            adjoint(av, into: &grad)
            for j in 0..<n { step[j] = y[j] - (grad[j] + mu * (y[j] - w0[j])) / L - lower[j] }
            var xn = step
            for (g, slack) in zip(groups, slacks) {
                let p = projectOntoSimplex(Array(step[g]), total: slack)
                for (i, j) in g.enumerated() { xn[j] = p[i] + lower[j] }
            }
            var moved = 0.0, size2 = 0.0, dot = 0.0
            for j in 0..<n {
                let d = xn[j] - x[j]
                moved += d * d
                size2 += xn[j] * xn[j]
                dot += (y[j] - xn[j]) * d
            }
            if dot > 0 {
                // The momentum points uphill: restart it.
                t = 1
                y = xn
            } else {
                let tn = (1 + (1 + 4 * t * t).squareRoot()) / 2
                let beta = (t - 1) / tn
                for j in 0..<n { y[j] = xn[j] + beta * (xn[j] - x[j]) }
                t = tn
            }
            x = xn
            if moved <= 1e-14 * size2 { break }
        }
        // Exact total (the projection holds it up to rounding).
        for (g, total) in zip(groups, totals) {
            let s = g.reduce(0.0) { $0 + x[$1] }
            if s > 0 { for j in g { x[j] *= total / s } }
        }
        return x
    }

    /// y[t] += a · x[t] for t in 0..<count, four lanes at a time: each entry is its own multiply and add
    /// (no reassociation), so the result is the scalar loop's, bit for bit.
    @inline(__always)
    static func axpy(_ y: UnsafeMutablePointer<Double>, _ x: UnsafePointer<Double>, _ a: Double, _ count: Int) {
        var t = 0
        let va = SIMD4<Double>(repeating: a)
        let yr = UnsafeMutableRawPointer(y), xr = UnsafeRawPointer(x)
        while t + 4 <= count {
            let o = t &* 8
            let sum = yr.loadUnaligned(fromByteOffset: o, as: SIMD4<Double>.self) + va * xr.loadUnaligned(fromByteOffset: o, as: SIMD4<Double>.self)
            yr.storeBytes(of: sum, toByteOffset: o, as: SIMD4<Double>.self)
            t &+= 4
        }
        while t < count {
            y[t] += a * x[t]
            t &+= 1
        }
    }

    /// y[fa[e] + t] += (w · fv[e]) · r[t] for each entry e of `entries` and t in 0..<count: one element's
    /// share of A γ. The same multiplies and adds as `axpy` per entry (bit for bit), with the residual
    /// held in registers across the entries, eight or four outputs at a time.
    @inline(__always)
    static func scatter(_ y: UnsafeMutablePointer<Double>, _ fa: UnsafePointer<Int>, _ fv: UnsafePointer<Double>,
                        _ entries: Range<Int>, _ r: UnsafePointer<Double>, _ w: Double, _ count: Int) {
        let yr = UnsafeMutableRawPointer(y), rr = UnsafeRawPointer(r)
        var t = 0
        while t &+ 8 <= count {
            let r0 = rr.loadUnaligned(fromByteOffset: t &* 8, as: SIMD4<Double>.self)
            let r1 = rr.loadUnaligned(fromByteOffset: (t &+ 4) &* 8, as: SIMD4<Double>.self)
            for e in entries {
                let a = SIMD4<Double>(repeating: w * fv[e])
                let o = (fa[e] &+ t) &* 8
                yr.storeBytes(of: yr.loadUnaligned(fromByteOffset: o, as: SIMD4<Double>.self) + a * r0, toByteOffset: o, as: SIMD4<Double>.self)
                yr.storeBytes(of: yr.loadUnaligned(fromByteOffset: o &+ 32, as: SIMD4<Double>.self) + a * r1, toByteOffset: o &+ 32, as: SIMD4<Double>.self)
            }
            t &+= 8
        }
        if t &+ 4 <= count {
            let r0 = rr.loadUnaligned(fromByteOffset: t &* 8, as: SIMD4<Double>.self)
            for e in entries {
                let o = (fa[e] &+ t) &* 8
                yr.storeBytes(of: yr.loadUnaligned(fromByteOffset: o, as: SIMD4<Double>.self) + SIMD4<Double>(repeating: w * fv[e]) * r0,
                              toByteOffset: o, as: SIMD4<Double>.self)
            }
            t &+= 4
        }
        while t < count {
            let rt = r[t]
            for e in entries { y[fa[e] &+ t] += (w * fv[e]) * rt }
            t &+= 1
        }
    }

    /// a[t] += fv[e] · x[fa[e] + t] for each entry e of `entries` in order and t in 0..<count: one element's
    /// row of Aᵀ u. The same multiplies and adds as `axpy` per entry (bit for bit), summed in registers:
    /// through memory, each entry's add waited for the store of the one before.
    @inline(__always)
    static func gather(_ a: UnsafeMutablePointer<Double>, _ x: UnsafePointer<Double>, _ fa: UnsafePointer<Int>,
                       _ fv: UnsafePointer<Double>, _ entries: Range<Int>, _ count: Int) {
        let ar = UnsafeMutableRawPointer(a), xr = UnsafeRawPointer(x)
        var t = 0
        while t &+ 8 <= count {
            var s0 = ar.loadUnaligned(fromByteOffset: t &* 8, as: SIMD4<Double>.self)
            var s1 = ar.loadUnaligned(fromByteOffset: (t &+ 4) &* 8, as: SIMD4<Double>.self)
            for e in entries {
                let c = SIMD4<Double>(repeating: fv[e])
                let o = (fa[e] &+ t) &* 8
                s0 = s0 + c * xr.loadUnaligned(fromByteOffset: o, as: SIMD4<Double>.self)
                s1 = s1 + c * xr.loadUnaligned(fromByteOffset: o &+ 32, as: SIMD4<Double>.self)
            }
            ar.storeBytes(of: s0, toByteOffset: t &* 8, as: SIMD4<Double>.self)
            ar.storeBytes(of: s1, toByteOffset: (t &+ 4) &* 8, as: SIMD4<Double>.self)
            t &+= 8
        }
        if t &+ 4 <= count {
            var s0 = ar.loadUnaligned(fromByteOffset: t &* 8, as: SIMD4<Double>.self)
            for e in entries {
                s0 = s0 + SIMD4<Double>(repeating: fv[e]) * xr.loadUnaligned(fromByteOffset: (fa[e] &+ t) &* 8, as: SIMD4<Double>.self)
            }
            ar.storeBytes(of: s0, toByteOffset: t &* 8, as: SIMD4<Double>.self)
            t &+= 4
        }
        while t < count {
            var s = a[t]
            for e in entries { s += fv[e] * x[fa[e] &+ t] }
            a[t] = s
            t &+= 1
        }
    }

    /// Euclidean projection of v onto {x >= 0, Σ x = total} (sort-based, Held, Wolfe, Crowder 1974).
    static func projectOntoSimplex(_ v: [Double], total: Double) -> [Double] {
        let u = v.sorted(by: >)
        var cumulative = 0.0, theta = 0.0
        for (i, ui) in u.enumerated() {
            cumulative += ui
            let candidate = (cumulative - total) / Double(i + 1)
            if ui - candidate > 0 { theta = candidate }
        }
        return v.map { max(0, $0 - theta) }
    }
}
