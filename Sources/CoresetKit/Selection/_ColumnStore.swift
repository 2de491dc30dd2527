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

    init(columns: Int) { self.columns = max(1, columns) }

    private mutating func ensureDimension(_ d: Int) {
        guard d > dimension else { return }
        if d > Self.maxDimension { disabled = true; data = []; return }
        let nd = max(d, min(Self.maxDimension, dimension * 2))
        data.append(contentsOf: repeatElement(0, count: (nd - dimension) * columns))
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
        columns = nc
    }

    /// Stores `x` in column `c`, replacing `old` (the vector that was there, if any).
    mutating func set(_ c: Int, _ x: FeatureVector, replacing old: FeatureVector?) {
        ensureColumns(c + 1)
        ensureDimension(x.dimension)
        guard !disabled else { return }
        if let o = old { for i in o.indices where Int(i) < dimension { data[Int(i) * columns + c] = 0 } }
        for (i, v) in zip(x.indices, x.values) { data[Int(i) * columns + c] = v }
    }

    /// Zeroes column `c`, which held `old`.
    mutating func clear(_ c: Int, old: FeatureVector) {
        guard !disabled, c < columns else { return }
        for i in old.indices where Int(i) < dimension { data[Int(i) * columns + c] = 0 }
    }

    /// out[c] = x · column c for c in 0..<count.
    /// - Complexity: O(nnz(x) · count / 8) SIMD operations.
    func dots(_ x: FeatureVector, count: Int, into out: inout [Float]) {
        if out.count != count { out = [Float](repeating: 0, count: count) } else {
            for i in 0..<count { out[i] = 0 }
        }
        guard count > 0 else { return }
        let cols = columns, dim = dimension
        data.withUnsafeBufferPointer { d in
            out.withUnsafeMutableBufferPointer { o in
                let op = UnsafeMutableRawPointer(o.baseAddress!)
                let dp = UnsafeRawPointer(d.baseAddress!)
                for (i, v) in zip(x.indices, x.values) {
                    let f = Int(i)
                    if f >= dim || v == 0 { continue }
                    let row = dp + f * cols * 4
                    let vv = SIMD8<Float>(repeating: v)
                    var c = 0
                    while c + 8 <= count {
                        let acc = op.loadUnaligned(fromByteOffset: c * 4, as: SIMD8<Float>.self)
                        let r = row.loadUnaligned(fromByteOffset: c * 4, as: SIMD8<Float>.self)
                        op.storeBytes(of: acc + vv * r, toByteOffset: c * 4, as: SIMD8<Float>.self)
                        c += 8
                    }
                    let rp = row.assumingMemoryBound(to: Float.self)
                    while c < count {
                        o[c] += v * rp[c]
                        c += 1
                    }
                }
            }
        }
    }
}
