/// Vowpal Wabbit text format: `[label [importance [tag]]] |namespace[:scale] feature[:value] ... |...`.
///
/// Features are hashed as VW does: MurmurHash3 (x86, 32-bit) of the feature name seeded with the
/// namespace's hash, a purely numeric name adding its value to the namespace hash, masked to
/// `hashBits` bits. Colliding features add up. The importance weight becomes the record weight.
public struct VWParser: LineParser {
    public let hashBits: Int
    private let mask: UInt32

    public init(hashBits: Int = 18) {
        self.hashBits = hashBits
        self.mask = hashBits >= 32 ? UInt32.max : (UInt32(1) << UInt32(hashBits)) - 1
    }

    /// Lines are independent.
    public func parserForLaterLines() -> (any LineParser)? { self }

    @inline(__always) static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }

    public mutating func parse(
        _ line: UnsafeRawBufferPointer, into batch: inout RecordBatch, context: inout ParseContext
    ) throws(ParseFailure) -> Bool {
        guard let p = line.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return false }
        let n = line.count
        var bar = 0
        while bar < n && p[bar] != UInt8(ascii: "|") { bar += 1 }
        // Header: label, importance, tag.
        var tokens: [(Int, Int)] = []
        var i = 0
        while i < bar {
            while i < bar && Self.isSpace(p[i]) { i += 1 }
            if i >= bar { break }
            let s = i
            while i < bar && !Self.isSpace(p[i]) { i += 1 }
            tokens.append((s, i))
        }
        if tokens.isEmpty && bar == n { return false }  // blank line
        guard let first = tokens.first else { throw ParseFailure("missing label (VW records used for training need one)") }
        guard let labelValue = NumberParsing.parseDouble(p, first.0, first.1) else {
            throw ParseFailure("label \"\(LibSVMParser.text(p, first.0, first.1))\" is not a number")
        }
        let label = try context.labels.label(numeric: labelValue, text: LibSVMParser.text(p, first.0, first.1))
        var weight = 1.0
        if tokens.count >= 2 {
            let t = tokens[1]
            // A second token that starts with ' is the tag; otherwise it is the importance weight.
            if p[t.0] != UInt8(ascii: "'") {
                guard let w = NumberParsing.parseDouble(p, t.0, t.1), w.isFinite, w >= 0 else {
                    throw ParseFailure("importance weight \"\(LibSVMParser.text(p, t.0, t.1))\" is not a non-negative number")
                }
                weight = w
            }
        }
        var namespaceHash: UInt32 = 0
        var scale: Float = 1
        var needsSort = false
        var previous: Int64 = -1
        i = bar
        while i < n {
            if p[i] == UInt8(ascii: "|") {
                i += 1
                // Namespace name directly after the bar (a space means the default namespace).
                let s = i
                while i < n && !Self.isSpace(p[i]) && p[i] != UInt8(ascii: "|") { i += 1 }
                var nameEnd = i
                scale = 1
                if let colon = (s..<i).first(where: { p[$0] == UInt8(ascii: ":") }) {
                    // Finite as a Float too: a scale of 1e52 would make every value infinite.
                    guard let v = NumberParsing.parseDouble(p, colon + 1, i), Float(v).isFinite else {
                        throw ParseFailure("bad namespace scale \"\(LibSVMParser.text(p, colon + 1, i))\"")
                    }
                    scale = Float(v)
                    nameEnd = colon
                }
                namespaceHash = nameEnd > s ? Self.murmur3(p + s, nameEnd - s, seed: 0) : 0
                continue
            }
            if Self.isSpace(p[i]) { i += 1; continue }
            let s = i
            var colon = -1
            while i < n && !Self.isSpace(p[i]) && p[i] != UInt8(ascii: "|") {
                if p[i] == UInt8(ascii: ":") && colon < 0 { colon = i }
                i += 1
            }
            let nameEnd = colon >= 0 ? colon : i
            var value: Float = 1
            if colon >= 0 {
                guard let v = NumberParsing.parseDouble(p, colon + 1, i) else {
                    throw ParseFailure("bad feature value \"\(LibSVMParser.text(p, s, i))\"")
                }
                value = Float(v)
                guard value.isFinite else { throw ParseFailure("non-finite value in \"\(LibSVMParser.text(p, s, i))\"") }
            }
            if nameEnd == s { throw ParseFailure("empty feature name in \"\(LibSVMParser.text(p, s, i))\"") }
            let hash: UInt32
            if let numeric = NumberParsing.parseIndex(p, s, nameEnd), numeric <= UInt64(UInt32.max) {
                hash = namespaceHash &+ UInt32(numeric)
            } else {
                hash = Self.murmur3(p + s, nameEnd - s, seed: namespaceHash)
            }
            let index = hash & mask
            if Int64(index) <= previous { needsSort = true }
            previous = Int64(index)
            let scaled = value * scale
            guard scaled.isFinite else { throw ParseFailure("non-finite value in \"\(LibSVMParser.text(p, s, i))\" times its namespace scale") }
            batch.indices.append(index)
            batch.values.append(scaled)
        }
        if needsSort { try batch.normalizeOpenRow(sumDuplicates: true) }
        batch.closeRow(label: label, weight: weight, position: context.nextPosition)
        return true
    }

    /// MurmurHash3 x86 32-bit, as Vowpal Wabbit uses for feature names.
    public static func murmur3(_ data: UnsafePointer<UInt8>, _ count: Int, seed: UInt32) -> UInt32 {
        let c1: UInt32 = 0xcc9e_2d51, c2: UInt32 = 0x1b87_3593
        var h = seed
        let blocks = count / 4
        for b in 0..<blocks {
            let o = b * 4
            var k = UInt32(data[o]) | UInt32(data[o + 1]) << 8 | UInt32(data[o + 2]) << 16 | UInt32(data[o + 3]) << 24
            k = k &* c1
            k = (k << 15) | (k >> 17)
            k = k &* c2
            h ^= k
            h = (h << 13) | (h >> 19)
            h = h &* 5 &+ 0xe654_6b64
        }
        var k1: UInt32 = 0
        let tail = blocks * 4
        switch count & 3 {
        case 3:
            k1 ^= UInt32(data[tail + 2]) << 16
            fallthrough
        case 2:
            k1 ^= UInt32(data[tail + 1]) << 8
            fallthrough
        case 1:
            k1 ^= UInt32(data[tail])
            k1 = k1 &* c1
            k1 = (k1 << 15) | (k1 >> 17)
            k1 = k1 &* c2
            h ^= k1
        default: break
        }
        h ^= UInt32(truncatingIfNeeded: count)
        h ^= h >> 16
        h = h &* 0x85eb_ca6b
        h ^= h >> 13
        h = h &* 0xc2b2_ae35
        h ^= h >> 16
        return h
    }
}
