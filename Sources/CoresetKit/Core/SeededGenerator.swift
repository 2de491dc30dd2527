/// SplitMix64: a small, fast generator, seeded and identical on every platform, so reservoirs, replay
/// and tests are reproducible (never the system generator).
public struct SeededGenerator: RandomNumberGenerator, Sendable, Codable, Hashable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// - Complexity: O(1).
    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform double in [0, 1).
    @inlinable
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Uniform in 0..<n without modulo bias worth caring about for n << 2^64 (Lemire's method).
    @inlinable
    public mutating func below(_ n: UInt64) -> UInt64 {
        n == 0 ? 0 : UInt64(n.multipliedFullWidth(by: next()).high)
    }
}
