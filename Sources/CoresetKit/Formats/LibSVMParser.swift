#if canImport(Glibc)
import Glibc
#endif

/// LIBSVM / SVMlight: `label [qid:N] index:value ... [# comment]`.
///
/// The first field may be `label:weight` (XGBoost's convention) to carry an importance weight; so
/// may a `weight=W` word in the comment (what `coreset select` writes, `# id=N weight=W`, since
/// scikit-learn's loader rejects `label:weight`).
/// Indices are one-based unless `zeroBased`; they are stored zero-based. Unsorted indices are
/// sorted; duplicates, negative or huge indices, NaN/Inf values and multi-label records are errors.
public struct LibSVMParser: LineParser {
    /// Per-line scratch for the fast path: entries are appended to the batch once per line, not
    /// once per feature (array appends check uniqueness each time).
    private var scratch = _PairScratch()
    public let zeroBased: Bool

    public init(zeroBased: Bool = false) {
        self.zeroBased = zeroBased
    }

    /// A fresh parser: lines are independent, and the scratch must not be shared.
    public func parserForLaterLines() -> (any LineParser)? { LibSVMParser(zeroBased: zeroBased) }

    @inline(__always)
    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }

    public mutating func parse(
        _ line: UnsafeRawBufferPointer, into batch: inout RecordBatch, context: inout ParseContext
    ) throws(ParseFailure) -> Bool {
        scratch.count = 0
        guard let base = line.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return false }
        var end = line.count
        var i = 0
        while i < end && Self.isSpace(base[i]) { i += 1 }
        if i == end || base[i] == UInt8(ascii: "#") { return false }
        // The comment, if any, ends the data part (memchr is vectorised).
        let lineEnd = end
        if let hash = memchr(base + i, Int32(UInt8(ascii: "#")), end - i) {
            end = UnsafePointer<UInt8>(hash.assumingMemoryBound(to: UInt8.self)) - base
        }
        let labelStart = i
        var labelColon = -1
        while i < end && !Self.isSpace(base[i]) {
            if base[i] == UInt8(ascii: ":") && labelColon < 0 { labelColon = i }
            i += 1
        }
        var labelEnd = i
        var weight = 1.0
        if labelColon >= 0 && labelStart > 0 {
            // ` 1:1`: an empty label before a feature, not the `label:weight` 1:1 (which starts the line).
            throw ParseFailure("missing label: the line starts with a blank, then \"\(Self.text(base, labelStart, labelEnd))\", a feature")
        }
        if labelColon >= 0 {
            // XGBoost's `label:weight` first field (what `coreset select` writes).
            guard let w = NumberParsing.parseDouble(base, labelColon + 1, labelEnd), w.isFinite, w >= 0 else {
                throw ParseFailure("bad weight in \"\(Self.text(base, labelStart, labelEnd))\" (the first field is label or label:weight)")
            }
            weight = w
            labelEnd = labelColon
        } else if end < lineEnd, let w = try Self.commentWeight(base, end + 1, lineEnd) {
            weight = w
        }
        guard let labelValue = NumberParsing.parseDouble(base, labelStart, labelEnd) else {
            let text = Self.text(base, labelStart, labelEnd)
            if text.contains(",") { throw ParseFailure("multi-label record (\(text)) is not supported") }
            throw ParseFailure("label \"\(text)\" is not a number")
        }
        let label = try context.labels.label(
            numeric: labelValue,
            text: String(decoding: UnsafeRawBufferPointer(start: base + labelStart, count: labelEnd - labelStart), as: UTF8.self))
        let offset: UInt64 = zeroBased ? 0 : 1
        var previous: Int64 = -1
        var inOrder = true
        while true {
            while i < end && Self.isSpace(base[i]) { i += 1 }
            if i >= end { break }
            // Fast path, one pass over `digits:[-]digits[.digits]` (nearly every token of real data).
            if let (index, value, next) = Self.fastPair(base, i, end) {
                if index < offset { throw ParseFailure("feature index 0 in one-based data (use --zero-based)") }
                let zeroBasedIndex = index - offset
                if Int64(zeroBasedIndex) <= previous { inOrder = false }
                previous = Int64(zeroBasedIndex)
                scratch.append(UInt32(truncatingIfNeeded: zeroBasedIndex), value, capacityHint: end - i)
                i = next
                continue
            }
            scratch.flush(into: &batch)
            let tokenStart = i
            var colon = -1
            while i < end && !Self.isSpace(base[i]) {
                if base[i] == UInt8(ascii: ":") && colon < 0 { colon = i }
                i += 1
            }
            guard colon > tokenStart else {
                throw ParseFailure("expected index:value, found \"\(Self.text(base, tokenStart, i))\"")
            }
            if colon - tokenStart == 3 && base[tokenStart] == UInt8(ascii: "q") && base[tokenStart + 1] == UInt8(ascii: "i")
                && base[tokenStart + 2] == UInt8(ascii: "d")
            {
                guard NumberParsing.parseIndex(base, colon + 1, i) != nil else {
                    throw ParseFailure("bad qid \"\(Self.text(base, tokenStart, i))\"")
                }
                continue
            }
            guard let rawIndex = NumberParsing.parseIndex(base, tokenStart, colon) else {
                if base[tokenStart] == UInt8(ascii: "-") { throw ParseFailure("negative feature index \(Self.text(base, tokenStart, colon))") }
                throw ParseFailure("bad feature index \"\(Self.text(base, tokenStart, colon))\"")
            }
            if rawIndex < offset { throw ParseFailure("feature index 0 in one-based data (use --zero-based)") }
            let index = rawIndex - offset
            guard index < UInt64(UInt32.max) else { throw ParseFailure("feature index \(rawIndex) too large (limit \(UInt32.max))") }
            guard let value = NumberParsing.parseDouble(base, colon + 1, i) else {
                throw ParseFailure("bad value \"\(Self.text(base, colon + 1, i))\" for feature \(rawIndex)")
            }
            let f = Float(value)
            guard f.isFinite else { throw ParseFailure("non-finite value \(Self.text(base, colon + 1, i)) for feature \(rawIndex)") }
            if Int64(index) <= previous { inOrder = false }
            previous = Int64(index)
            batch.indices.append(UInt32(index))
            batch.values.append(f)
        }
        scratch.flush(into: &batch)
        if !inOrder { try batch.normalizeOpenRow(sumDuplicates: false, indexBase: offset) }
        batch.closeRow(label: label, weight: weight, position: context.nextPosition)
        return true
    }

    /// Parses `index:value` at `i` when both are plain decimals (index < 2^32 - 1, value with at
    /// most 15 significant digits) and the token ends at a space or the end; nil sends the token to
    /// the general path, which also produces the error messages.
    @inline(__always)
    static func fastPair(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> (UInt64, Float, Int)? {
        // Digit loops stop at the first non-digit; the byte at `end` is the line terminator, a `#`
        // or a space (see `LineParser`), so they never run past the line.
        var i = start
        var index: UInt64 = 0
        while true {
            let d = p[i] &- 48
            if d > 9 { break }
            index = index &* 10 &+ UInt64(d)
            i += 1
        }
        let indexDigits = i - start
        guard indexDigits > 0, indexDigits <= 10, index < UInt64(UInt32.max), i < end, p[i] == UInt8(ascii: ":") else { return nil }
        i += 1
        // One-hot data is mostly `index:1`.
        if p[i] == UInt8(ascii: "1") && (i + 1 == end || isSpace(p[i + 1])) { return (index, 1, i + 1) }
        var negative = false
        if p[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        let valueStart = i
        var mantissa: UInt64 = 0
        while true {
            let d = p[i] &- 48
            if d > 9 { break }
            mantissa = mantissa &* 10 &+ UInt64(d)
            i += 1
        }
        var digits = i - valueStart
        var fraction = 0
        if p[i] == UInt8(ascii: ".") && i < end {
            i += 1
            let fracStart = i
            while true {
                let d = p[i] &- 48
                if d > 9 { break }
                mantissa = mantissa &* 10 &+ UInt64(d)
                i += 1
            }
            fraction = i - fracStart
            digits += fraction
        }
        guard digits > 0, i <= end, i == end || isSpace(p[i]) else { return nil }
        if digits <= 15 {
            // Exact: m < 2^53 and 10^f are Doubles, so m / 10^f is the correctly rounded Double (strtod's).
            var v = Double(mantissa)
            if fraction > 0 { v /= NumberParsing.powerOfTen(fraction) }
            return (index, Float(negative ? -v : v), i)
        }
        // 16-19 digits (printed Doubles such as 0.5333329999999999: 4% of mnist's values): m / 10^f is
        // within 2⁻⁵² of the exact decimal, and strtod's Double within 2⁻⁵³, so both lie in v·(1 ± 2⁻⁵⁰);
        // when that interval rounds to one Float (all but ~2⁻²⁶ of values), it is the Float of strtod's
        // Double, which the slow path returns. Otherwise the slow path decides.
        guard digits <= 19, fraction <= 22 else { return nil }
        var v = Double(mantissa)
        if fraction > 0 { v /= NumberParsing.powerOfTen(fraction) }
        let f = Float(v)
        guard Float(v * (1 - 0x1p-50)) == f, Float(v * (1 + 0x1p-50)) == f else { return nil }
        return (index, negative ? -f : f, i)
    }

    /// The value of a `weight=W` word in a comment (bytes `start..<end`), if there is one.
    static func commentWeight(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) throws(ParseFailure) -> Double? {
        var i = start
        while i < end {
            while i < end && isSpace(p[i]) { i += 1 }
            let wordStart = i
            while i < end && !isSpace(p[i]) { i += 1 }
            guard i - wordStart > 7, memcmp(p + wordStart, "weight=", 7) == 0 else { continue }
            guard let w = NumberParsing.parseDouble(p, wordStart + 7, i), w.isFinite, w >= 0 else {
                throw ParseFailure("bad weight \"\(text(p, wordStart, i))\" in the comment (weight=W is a non-negative number)")
            }
            return w
        }
        return nil
    }

    /// Up to 80 bytes of a line for a message: printable ASCII as is, other bytes as `\xNN`, so
    /// binary garbage cannot reach a terminal raw.
    static func text(_ p: UnsafePointer<UInt8>, _ a: Int, _ b: Int) -> String {
        var out = ""
        for k in a..<min(b, a + 80) {
            let c = p[k]
            if c >= 0x20 && c < 0x7F {
                out.unicodeScalars.append(Unicode.Scalar(c))
            } else {
                out += "\\x" + (c < 16 ? "0" : "") + String(c, radix: 16, uppercase: true)
            }
        }
        return out
    }
}

/// A growable pair of index/value buffers reused across lines.
final class _PairScratch {
    var indices = UnsafeMutablePointer<UInt32>.allocate(capacity: 256)
    var values = UnsafeMutablePointer<Float>.allocate(capacity: 256)
    var capacity = 256
    var count = 0

    deinit {
        indices.deallocate()
        values.deallocate()
    }

    @inline(__always)
    func append(_ index: UInt32, _ value: Float, capacityHint: Int) {
        if count == capacity { grow(max(capacity * 2, count + capacityHint / 2 + 1)) }
        indices[count] = index
        values[count] = value
        count += 1
    }

    @inline(never)
    func grow(_ newCapacity: Int) {
        let ni = UnsafeMutablePointer<UInt32>.allocate(capacity: newCapacity)
        let nv = UnsafeMutablePointer<Float>.allocate(capacity: newCapacity)
        ni.update(from: indices, count: count)
        nv.update(from: values, count: count)
        indices.deallocate()
        values.deallocate()
        indices = ni
        values = nv
        capacity = newCapacity
    }

    /// Moves the collected entries to the batch's open row.
    @inline(__always)
    func flush(into batch: inout RecordBatch) {
        guard count > 0 else { return }
        batch.indices.append(contentsOf: UnsafeBufferPointer(start: indices, count: count))
        batch.values.append(contentsOf: UnsafeBufferPointer(start: values, count: count))
        count = 0
    }
}
