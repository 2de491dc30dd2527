#if canImport(Glibc)
import Glibc
#endif

/// Byte-level number parsing for the hot path: no String per token, no Foundation.
///
/// The fast path covers `[+-]digits[.digits]` with at most 15 significant digits (exact in a Double,
/// divided by an exact power of ten, so correctly rounded); anything else (exponents, long mantissas,
/// `nan`, `inf`) goes to `strtod` on a NUL-terminated copy, kept out of line.
@usableFromInline
enum NumberParsing {
    /// 10^p for 0 <= p <= 22, each exact in a Double. A switch rather than a stored table: a static array
    /// cost a lazy-initialisation check and a retain per number on the parsers' hot path (1.5% of a
    /// `select --model` on mnist).
    @inlinable @inline(__always)
    static func powerOfTen(_ p: Int) -> Double {
        switch p {
        case 0: return 1e0
        case 1: return 1e1
        case 2: return 1e2
        case 3: return 1e3
        case 4: return 1e4
        case 5: return 1e5
        case 6: return 1e6
        case 7: return 1e7
        case 8: return 1e8
        case 9: return 1e9
        case 10: return 1e10
        case 11: return 1e11
        case 12: return 1e12
        case 13: return 1e13
        case 14: return 1e14
        case 15: return 1e15
        case 16: return 1e16
        case 17: return 1e17
        case 18: return 1e18
        case 19: return 1e19
        case 20: return 1e20
        case 21: return 1e21
        case 22: return 1e22
        default: preconditionFailure("10^\(p) is not exact in a Double")
        }
    }

    /// Parses the whole of `p[start..<end]` as a Double; nil if it is not a number.
    @inlinable
    static func parseDouble(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Double? {
        var i = start
        guard i < end else { return nil }
        var negative = false
        if p[i] == UInt8(ascii: "-") { negative = true; i += 1 } else if p[i] == UInt8(ascii: "+") { i += 1 }
        var mantissa: UInt64 = 0
        var digits = 0
        var fraction = 0
        let intStart = i
        while i < end {
            let d = p[i] &- 48
            if d > 9 { break }
            mantissa = mantissa &* 10 &+ UInt64(d)
            digits += 1
            i += 1
        }
        var sawDigits = i > intStart
        if i < end && p[i] == UInt8(ascii: ".") {
            i += 1
            let fracStart = i
            while i < end {
                let d = p[i] &- 48
                if d > 9 { break }
                mantissa = mantissa &* 10 &+ UInt64(d)
                digits += 1
                i += 1
            }
            fraction = i - fracStart
            sawDigits = sawDigits || fraction > 0
        }
        if i == end && sawDigits && digits <= 15 {
            var v = Double(mantissa)
            if fraction > 0 { v /= powerOfTen(fraction) }
            return negative ? -v : v
        }
        return parseDoubleSlow(p, start, end)
    }

    /// Exact fallback through `strtod`; rejects trailing garbage and empty input.
    @usableFromInline @inline(never)
    static func parseDoubleSlow(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Double? {
        let n = end - start
        guard n > 0, n < 512 else { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: n + 1) { buf -> Double? in
            for k in 0..<n { buf[k] = CChar(bitPattern: p[start + k]) }
            buf[n] = 0
            // strtod accepts hex floats and leading spaces; plain decimal text only.
            for k in 0..<n where buf[k] == 0x20 || buf[k] == 0x09 || buf[k] == 0x78 || buf[k] == 0x58 { return nil }
            var endPtr: UnsafeMutablePointer<CChar>? = nil
            let v = strtod(buf.baseAddress!, &endPtr)
            guard let endPtr, endPtr - buf.baseAddress! == n else { return nil }
            return v
        }
    }

    /// Parses a non-negative decimal integer; nil if not all digits or too large for UInt64.
    @inlinable
    static func parseIndex(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> UInt64? {
        guard start < end, end - start <= 19 else { return nil }
        var v: UInt64 = 0
        for i in start..<end {
            let d = p[i] &- 48
            if d > 9 { return nil }
            v = v &* 10 &+ UInt64(d)
        }
        return v
    }
}
