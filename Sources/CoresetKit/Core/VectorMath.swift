/// Vector kernels shared by selection and learning.
///
/// The compiler does not vectorise float reductions by itself, so dense loops use several
/// independent SIMD8 accumulators. `addingProduct` is avoided: without FMA in the baseline
/// x86-64 target it becomes a slow library call.
public enum VectorMath {
    /// Dot product of two dense buffers of equal length.
    @inlinable
    public static func dot(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Float {
        let n = min(a.count, b.count)
        guard n > 0, let pa = a.baseAddress, let pb = b.baseAddress else { return 0 }
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
        var i = 0
        let ra = UnsafeRawPointer(pa), rb = UnsafeRawPointer(pb)
        while i + 32 <= n {
            let o = i * 4
            s0 += ra.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            s1 += ra.loadUnaligned(fromByteOffset: o + 32, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: o + 32, as: SIMD8<Float>.self)
            s2 += ra.loadUnaligned(fromByteOffset: o + 64, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: o + 64, as: SIMD8<Float>.self)
            s3 += ra.loadUnaligned(fromByteOffset: o + 96, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: o + 96, as: SIMD8<Float>.self)
            i += 32
        }
        while i + 8 <= n {
            let o = i * 4
            s0 += ra.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            i += 8
        }
        var s = ((s0 + s1) + (s2 + s3)).sum()
        while i < n {
            s += pa[i] * pb[i]
            i += 1
        }
        return s
    }

    /// Dot product of two sparse vectors given as sorted index/value buffers (merge join).
    @inlinable
    public static func sparseDot(
        _ ia: UnsafeBufferPointer<UInt32>, _ va: UnsafeBufferPointer<Float>,
        _ ib: UnsafeBufferPointer<UInt32>, _ vb: UnsafeBufferPointer<Float>
    ) -> Float {
        var p = 0, q = 0, s: Float = 0
        let na = ia.count, nb = ib.count
        while p < na && q < nb {
            let x = ia[p], y = ib[q]
            if x == y {
                s += va[p] * vb[q]
                p += 1
                q += 1
            } else if x < y {
                p += 1
            } else {
                q += 1
            }
        }
        return s
    }

    /// Dot product of a sparse vector with a dense one (entries past the dense length count as 0).
    @inlinable
    public static func sparseDenseDot(
        _ ia: UnsafeBufferPointer<UInt32>, _ va: UnsafeBufferPointer<Float>, _ dense: UnsafeBufferPointer<Float>
    ) -> Float {
        var s: Float = 0
        let n = dense.count
        for k in 0..<ia.count {
            let j = Int(ia[k])
            if j < n { s += va[k] * dense[j] }
        }
        return s
    }

    /// Dot product of two feature vectors, using the dense path when both are dense prefixes.
    @inlinable
    public static func dot(_ a: FeatureVector, _ b: FeatureVector) -> Float {
        if a.isDensePrefix && b.isDensePrefix {
            return a.values.withUnsafeBufferPointer { pa in b.values.withUnsafeBufferPointer { pb in dot(pa, pb) } }
        }
        return a.indices.withUnsafeBufferPointer { ia in
            a.values.withUnsafeBufferPointer { va in
                b.indices.withUnsafeBufferPointer { ib in
                    b.values.withUnsafeBufferPointer { vb in
                        if b.isDensePrefix { return sparseDenseDot(ia, va, vb) }
                        if a.isDensePrefix { return sparseDenseDot(ib, vb, va) }
                        return sparseDot(ia, va, ib, vb)
                    }
                }
            }
        }
    }

    /// Squared Euclidean norm.
    @inlinable
    public static func squaredNorm(_ a: FeatureVector) -> Float {
        a.values.withUnsafeBufferPointer { dot($0, $0) }
    }
}
