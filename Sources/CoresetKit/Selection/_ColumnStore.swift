/// Stored feature vectors as the columns of a dense feature-major matrix, so that the dot products of
/// one (sparse or dense) record with every stored vector are one pass: out += v_j · row_j over the
/// record's nonzeros j, each row contiguous and SIMD-friendly. This is the "compare a record to the
/// whole reference set as one matrix product" step that dominates selection time.
///
/// Memory: dimension × columns floats; the selector only uses it while the dimension stays at most
/// `maxDimension` (hashed text with 2^14+ features falls back to per-pair sparse dots).
struct _ColumnStore {
    static let maxDimension = 8192
    private(set) var dimension = 0
    private(set) var columns = 0
    private var data: [Float] = []
    /// Set once a vector too wide for the matrix arrives; the caller then uses per-pair dots.
    private(set) var disabled = false
    /// Which rows of each column are nonzero, one bit per row, `words` per column: a column is cleared
    /// or read back by touching its nonzeros only (mnist: ~150 of 780 rows, each a cache line apart).
    private var rowBits: [UInt64] = []
    private var words = 0

    init(columns: Int) { self.columns = max(1, columns) }

    /// An empty store of a saved shape (checkpoint restore); the caller sets the live columns again,
    /// which gives the same matrix, since every other entry of a store is zero.
    init(dimension: Int, columns: Int, disabled: Bool) {
        self.columns = max(1, columns)
        self.dimension = max(0, dimension)
        self.disabled = disabled
        if !disabled {
            data = [Float](repeating: 0, count: self.dimension * self.columns)
            words = (self.dimension + 63) / 64
            rowBits = [UInt64](repeating: 0, count: words * self.columns)
        }
    }

    /// Lays the row bits out for `nc` columns of `nw` words, keeping them.
    private mutating func relayoutBits(columns nc: Int, words nw: Int) {
        guard nc != columns || nw != words else { return }
        var nb = [UInt64](repeating: 0, count: nc * nw)
        for c in 0..<min(columns, nc) {
            for w in 0..<min(words, nw) { nb[c * nw + w] = rowBits[c * words + w] }
        }
        rowBits = nb
        words = nw
    }

    @inline(__always)
    private mutating func markRow(_ f: Int, of c: Int, nonzero: Bool) {
        let w = c * words + f >> 6, bit = UInt64(1) << UInt64(f & 63)
        if nonzero { rowBits[w] |= bit } else { rowBits[w] &= ~bit }
    }

    /// The nonzero rows of column c, in increasing order.
    private func nonzeroRows(of c: Int) -> [Int] {
        var rows: [Int] = []
        for w in 0..<words {
            var b = rowBits[c * words + w]
            while b != 0 {
                rows.append(w << 6 + b.trailingZeroBitCount)
                b &= b &- 1
            }
        }
        return rows
    }

    private mutating func ensureDimension(_ d: Int) {
        guard d > dimension, !disabled else { return }
        if d > Self.maxDimension { disabled = true; data = []; rowBits = []; words = 0; return }
        // Grow by an eighth, not double: the rows are zero-filled (resident), and a stream's largest index
        // creeps up over its first records (mnist: doubling left up to twice the 780 rows it needs, 117 MB
        // peak at k = 100 instead of 96), while geometric steps still bound the copies to O(log d).
        let nd = max(d, min(Self.maxDimension, dimension + max(16, dimension / 8)))
        data.append(contentsOf: repeatElement(0, count: (nd - dimension) * columns))
        relayoutBits(columns: columns, words: (nd + 63) / 64)
        dimension = nd
    }

    /// Grows the column capacity (copying), keeping the contents.
    mutating func ensureColumns(_ c: Int) {
        guard c > columns, !disabled else { if c > columns { columns = c }; return }
        let nc = max(c, columns * 2)
        var nd = [Float](repeating: 0, count: dimension * nc)
        for f in 0..<dimension {
            for j in 0..<columns { nd[f * nc + j] = data[f * columns + j] }
        }
        data = nd
        relayoutBits(columns: nc, words: words)
        columns = nc
    }

    /// Empties the store for another set of vectors, keeping its memory: every column zero again (found
    /// through the row bits, so only the nonzeros are touched), then at least `dimension` rows and
    /// `columns` columns. Why: the read-out fills one store per cell, and a fresh ~1 MB store per cell
    /// was zero-filled pages to fault in every time. A reused store gives the same dots as a fresh one:
    /// out[c] reads column c only, and rows or columns beyond the ones set hold zeros (a -0 that `set`
    /// left unmarked adds a zero product, which leaves a sum as it is, like +0 does).
    mutating func reuse(dimension d: Int, columns c: Int) {
        guard !disabled else { return }
        data.withUnsafeMutableBufferPointer { values in
            rowBits.withUnsafeMutableBufferPointer { bits in
                for column in 0..<columns {
                    for w in 0..<words {
                        var b = bits[column * words + w]
                        guard b != 0 else { continue }
                        bits[column * words + w] = 0
                        while b != 0 {
                            values[(w << 6 + b.trailingZeroBitCount) * columns + column] = 0
                            b &= b &- 1
                        }
                    }
                }
            }
        }
        ensureDimension(d)
        ensureColumns(c)
    }

    /// Stores `x` in column `c`, replacing `old` (the vector that was there, if any).
    mutating func set(_ c: Int, _ x: FeatureVector, replacing old: FeatureVector?) {
        ensureColumns(c + 1)
        ensureDimension(x.dimension)
        guard !disabled else { return }
        if let o = old {
            for i in o.indices where Int(i) < dimension {
                data[Int(i) * columns + c] = 0
                markRow(Int(i), of: c, nonzero: false)
            }
        }
        for (i, v) in zip(x.indices, x.values) {
            data[Int(i) * columns + c] = v
            markRow(Int(i), of: c, nonzero: v != 0)
        }
    }

    /// Zeroes column `c`, which held `old`.
    mutating func clear(_ c: Int, old: FeatureVector) {
        guard !disabled, c < columns else { return }
        for i in old.indices where Int(i) < dimension {
            data[Int(i) * columns + c] = 0
            markRow(Int(i), of: c, nonzero: false)
        }
    }

    /// Column `c` as a vector: its nonzero entries in index order, or, when `densePrefix` n > 0 (the
    /// vector stored there was dense, every entry of 0..<n given), all n entries, zeros included, so
    /// that the dense kernels apply to it as they did to the original. Values are the stored floats,
    /// so every sum over the result equals the sum over the original (a dropped entry adds exactly 0).
    /// The definition `columns(_:densePrefix:)` follows (the selector reads all columns at once).
    func column(_ c: Int, densePrefix n: Int = 0) -> FeatureVector {
        guard !disabled, c < columns else { return FeatureVector() }
        if n > 0 {
            var dense = [Float](repeating: 0, count: n)
            for f in 0..<min(n, dimension) { dense[f] = data[f * columns + c] }
            return FeatureVector(dense: dense)
        }
        var indices: [UInt32] = [], values: [Float] = []
        for f in nonzeroRows(of: c) {
            indices.append(UInt32(f))
            values.append(data[f * columns + c])
        }
        return FeatureVector(indices: indices, values: values)
    }

    /// Columns 0..<count as vectors, exactly as `column(_:densePrefix:)` gives each, in one row-major
    /// sweep of the matrix instead of a strided gather per column (a read-out rebuilds all ~1,000
    /// references of a class: ~150 cache misses each the other way).
    func columns(_ count: Int, densePrefix: [Int32]) -> [FeatureVector] {
        guard !disabled, count > 0 else { return Array(repeating: FeatureVector(), count: max(0, count)) }
        let n = min(count, columns)
        let denseOf = (0..<n).map { c in c < densePrefix.count ? Int(densePrefix[c]) : 0 }
        var indices = [[UInt32]](repeating: [], count: n), values = [[Float]](repeating: [], count: n)
        for c in 0..<n {
            let dense = denseOf[c]
            var nonzeros = 0
            for w in 0..<words { nonzeros += rowBits[c * words + w].nonzeroBitCount }
            indices[c].reserveCapacity(dense > 0 ? 0 : nonzeros)
            values[c].reserveCapacity(dense > 0 ? dense : nonzeros)
        }
        data.withUnsafeBufferPointer { d in
            for f in 0..<dimension {
                let row = d.baseAddress! + f * columns
                for c in 0..<n {
                    let dense = denseOf[c]
                    if dense > 0 {
                        if f < dense { values[c].append(row[c]) }
                    } else if row[c] != 0 {
                        indices[c].append(UInt32(f))
                        values[c].append(row[c])
                    }
                }
            }
        }
        return (0..<count).map { c -> FeatureVector in
            guard c < n else { return FeatureVector() }
            let dense = denseOf[c]
            if dense > 0 {
                var v = values[c]
                if v.count < dense { v.append(contentsOf: repeatElement(0, count: dense - v.count)) }
                return FeatureVector(dense: v)
            }
            return FeatureVector(indices: indices[c], values: values[c])
        }
    }

    /// Zeroes column `c` (the caller no longer has the vector that was there: its nonzero rows are known).
    mutating func clearColumn(_ c: Int) {
        guard !disabled, c < columns else { return }
        for f in nonzeroRows(of: c) { data[f * columns + c] = 0 }
        for w in 0..<words { rowBits[c * words + w] = 0 }
    }

    /// Moves column `from` to column `to` (replacing what was there) and zeroes `from`.
    mutating func moveColumn(from: Int, to: Int) {
        guard !disabled, from < columns, to < columns, from != to else { return }
        clearColumn(to)
        for f in nonzeroRows(of: from) {
            data[f * columns + to] = data[f * columns + from]
            data[f * columns + from] = 0
        }
        for w in 0..<words {
            rowBits[to * words + w] = rowBits[from * words + w]
            rowBits[from * words + w] = 0
        }
    }

    /// out[c] = x · column c for c in from..<count; `out` has at least `count` entries afterwards and
    /// its other entries are left as they were (or 0 if it grew).
    ///
    /// Every out[c] is accumulated in the order of x's nonzeros (out[c] = ((0 + v₁·r₁c) + v₂·r₂c) + …),
    /// so the result does not depend on how the loop is blocked, nor on `from`. Nonzeros are taken four
    /// at a time: one load and one store of `out` per four rows instead of per row, four row streams at once.
    /// - Complexity: O(nnz(x) · (count − from) / 8) SIMD operations.
    func dots(_ x: FeatureVector, count: Int, from: Int = 0, into out: inout [Float]) {
        guard count > from, from >= 0 else { return }
        if out.count < count { out = [Float](repeating: 0, count: count) } else {
            out.withUnsafeMutableBufferPointer { o in
                if let b = o.baseAddress { (b + from).update(repeating: 0, count: count - from) }
            }
        }
        let cols = columns, dim = dimension
        let count = count - from
        data.withUnsafeBufferPointer { d in
            out.withUnsafeMutableBufferPointer { o in
                x.indices.withUnsafeBufferPointer { xi in
                    x.values.withUnsafeBufferPointer { xv in
                        let op = UnsafeMutableRawPointer(o.baseAddress! + from)
                        let dp = UnsafeRawPointer(d.baseAddress! + from)
                        let stride = cols * 4
                        var pending = 0
                        var r0 = dp, r1 = dp, r2 = dp, r3 = dp
                        var v0: Float = 0, v1: Float = 0, v2: Float = 0, v3: Float = 0
                        for j in 0..<min(xi.count, xv.count) {
                            let f = Int(xi[j]), v = xv[j]
                            if f >= dim || v == 0 { continue }
                            let row = dp + f * stride
                            switch pending {
                            case 0: r0 = row; v0 = v
                            case 1: r1 = row; v1 = v
                            case 2: r2 = row; v2 = v
                            default: r3 = row; v3 = v
                            }
                            pending += 1
                            if pending == 4 {
                                Self.axpy4(op, count, r0, v0, r1, v1, r2, v2, r3, v3)
                                pending = 0
                            }
                        }
                        if pending > 0 { Self.axpy1(op, count, r0, v0) }
                        if pending > 1 { Self.axpy1(op, count, r1, v1) }
                        if pending > 2 { Self.axpy1(op, count, r2, v2) }
                    }
                }
            }
        }
    }

    /// out[c] = (((out[c] + a·ra[c]) + b·rb[c]) + e·re[c]) + g·rg[c] for c in 0..<count.
    @inline(__always)
    private static func axpy4(_ op: UnsafeMutableRawPointer, _ count: Int,
                              _ ra: UnsafeRawPointer, _ a: Float, _ rb: UnsafeRawPointer, _ b: Float,
                              _ re: UnsafeRawPointer, _ e: Float, _ rg: UnsafeRawPointer, _ g: Float) {
        let va = SIMD8<Float>(repeating: a), vb = SIMD8<Float>(repeating: b)
        let ve = SIMD8<Float>(repeating: e), vg = SIMD8<Float>(repeating: g)
        var c = 0
        while c + 8 <= count {
            let o = c &* 4
            var acc = op.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            acc = acc + va * ra.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            acc = acc + vb * rb.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            acc = acc + ve * re.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            acc = acc + vg * rg.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            op.storeBytes(of: acc, toByteOffset: o, as: SIMD8<Float>.self)
            c &+= 8
        }
        let out = op.assumingMemoryBound(to: Float.self)
        let pa = ra.assumingMemoryBound(to: Float.self), pb = rb.assumingMemoryBound(to: Float.self)
        let pe = re.assumingMemoryBound(to: Float.self), pg = rg.assumingMemoryBound(to: Float.self)
        while c < count {
            var t = out[c]
            t += a * pa[c]
            t += b * pb[c]
            t += e * pe[c]
            t += g * pg[c]
            out[c] = t
            c &+= 1
        }
    }

    /// out[c] += a·ra[c] for c in 0..<count.
    @inline(__always)
    private static func axpy1(_ op: UnsafeMutableRawPointer, _ count: Int, _ ra: UnsafeRawPointer, _ a: Float) {
        let va = SIMD8<Float>(repeating: a)
        var c = 0
        while c + 8 <= count {
            let o = c &* 4
            let acc = op.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            op.storeBytes(of: acc + va * ra.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self), toByteOffset: o, as: SIMD8<Float>.self)
            c &+= 8
        }
        let out = op.assumingMemoryBound(to: Float.self), pa = ra.assumingMemoryBound(to: Float.self)
        while c < count {
            out[c] += a * pa[c]
            c &+= 1
        }
    }
}
