/// LIBSVM / SVMlight: `label [qid:N] index:value ... [# comment]`.
///
/// Indices are one-based unless `zeroBased`; they are stored zero-based. Unsorted indices are
/// sorted; duplicates, negative or huge indices, NaN/Inf values and multi-label records are errors.
public struct LibSVMParser: LineParser {
    public let zeroBased: Bool

    public init(zeroBased: Bool = false) {
        self.zeroBased = zeroBased
    }

    @inline(__always)
    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }

    public mutating func parse(
        _ line: UnsafeRawBufferPointer, into batch: inout RecordBatch, context: inout ParseContext
    ) throws(ParseFailure) -> Bool {
        guard let base = line.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return false }
        var end = line.count
        var i = 0
        while i < end && Self.isSpace(base[i]) { i += 1 }
        if i == end || base[i] == UInt8(ascii: "#") { return false }
        // The comment, if any, ends the data part.
        var k = i
        while k < end && base[k] != UInt8(ascii: "#") { k += 1 }
        end = k
        let labelStart = i
        while i < end && !Self.isSpace(base[i]) { i += 1 }
        let labelEnd = i
        guard let labelValue = NumberParsing.parseDouble(base, labelStart, labelEnd) else {
            let text = String(decoding: UnsafeRawBufferPointer(start: base + labelStart, count: labelEnd - labelStart), as: UTF8.self)
            if text.contains(",") { throw ParseFailure("multi-label record (\(text)) is not supported") }
            if text.contains(":") { throw ParseFailure("missing label (line starts with \(text))") }
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
        if !inOrder { try batch.normalizeOpenRow(sumDuplicates: false) }
        batch.closeRow(label: label, weight: 1, position: context.nextPosition)
        return true
    }

    static func text(_ p: UnsafePointer<UInt8>, _ a: Int, _ b: Int) -> String {
        String(decoding: UnsafeRawBufferPointer(start: p + a, count: min(b - a, 80)), as: UTF8.self)
    }
}
