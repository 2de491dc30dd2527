/// How raw text lines (logs) become records: normalisation, hashed features, and where a label comes from.
///
/// A plain value (patterns are kept as text and compiled by each parser), so it can travel in
/// `ReaderOptions`. `validationError()` compiles the patterns once to report a bad one up front.
public struct TextOptions: Sendable, Hashable {
    /// Where a line's label comes from.
    public enum LabelSource: Sendable, Hashable {
        /// No label: every line is class 0 (one ground set, an unsupervised summary).
        case none
        /// The first capture group of a regular expression (Swift `Regex` syntax, e.g. `level=(\w+)`).
        case pattern(String)
        /// Field `index` (zero-based) of the line split at `TextOptions.fieldDelimiter`. The field is
        /// removed from the text the features are made of.
        case field(Int)
        /// The value of a top-level key of a JSON object line.
        case jsonKey(String)
    }

    /// Lower-case ASCII letters before tokenising.
    public var lowercase = true
    /// Runs of digits become one token `0`, and so do hexadecimal runs holding a digit (ids, hashes),
    /// so lines differing only in numbers hash alike.
    public var maskNumbers = true
    /// Month and weekday names (`Jan`, `Tuesday`, ...) become one token, as timestamps spell them.
    public var maskCalendarNames = true
    /// Regular expressions whose matches are removed before tokenising (e.g. a timestamp format).
    public var stripPatterns: [String] = []
    /// Word n-grams up to this length (1: single tokens only).
    public var ngrams = 1
    /// Weight of the token features.
    public var wordWeight: Float = 1
    /// Length q of the character q-grams of the line's *shape* (letters runs as `a`/`A`, digit runs as
    /// `0`, punctuation kept): the layout of the line, independent of its words. 0 turns them off.
    public var shapeGrams = 4
    /// Weight of the shape q-grams.
    public var shapeWeight: Float = 1
    /// Scale each line's vector to unit length (so long lines do not dominate distances).
    public var unitLength = true
    public var label: LabelSource = .none
    /// Field delimiter for `LabelSource.field`: one byte, or nil for runs of spaces and tabs.
    public var fieldDelimiter: UInt8? = 0x09
    /// Maps extracted label values to class names (`ERROR` → `bad`); values not in the map keep their text.
    public var labelMap: [String: String] = [:]
    /// Class name given to a line whose label cannot be found (a label source is set but does not match).
    public var missingLabel = "unlabelled"
    /// JSON lines: the key whose value is the text features are made of (nil: the whole line).
    public var textKey: String?
    /// Hand every accepted line's text to `ParseContext.keptLines` (for printing representative lines).
    public var keepLines = false

    /// A timestamp pattern covering the common log formats (ISO 8601, syslog, Apache, `HH:MM:SS[.fff]`),
    /// for `stripPatterns`.
    public static let timestampPattern =
        #"\d{4}[-/.]\d{2}[-/.]\d{2}[T ]\d{2}:\d{2}:\d{2}([.,]\d+)?(Z|[+-]\d{2}:?\d{2})?"#
        + #"|\d{1,2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2}( [+-]\d{4})?"#
        + #"|\b[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}"#
        + #"|\b\d{2}:\d{2}:\d{2}([.,]\d+)?"#

    public init() {}

    /// Whether a (valid) pattern has a capturing group: `(` not escaped, not in a character class, and
    /// not `(?:`, a lookaround or another `(?` construct other than a named group `(?<name>` / `(?P<name>`.
    static func hasCaptureGroup(_ pattern: String) -> Bool {
        let c = Array(pattern)
        var i = 0
        var inClass = false
        while i < c.count {
            switch c[i] {
            case "\\": i += 1
            case "[": inClass = true
            case "]": inClass = false
            case "(" where !inClass:
                if i + 1 >= c.count || c[i + 1] != "?" { return true }
                let rest = String(c[(i + 2)...])
                if (rest.hasPrefix("<") && !rest.hasPrefix("<=") && !rest.hasPrefix("<!")) || rest.hasPrefix("P<") { return true }
            default: break
            }
            i += 1
        }
        return false
    }

    /// Checks the patterns and numbers; returns a message for the first problem, or nil.
    public func validationError() -> String? {
        for p in stripPatterns {
            do { _ = try Regex(p) } catch { return "bad --strip pattern \"\(p)\": \(error)" }
        }
        if case .pattern(let p) = label {
            do { _ = try Regex(p) } catch { return "bad --label-pattern \"\(p)\": \(error)" }
            // A pattern without a capture group has nothing to take the label from.
            if !Self.hasCaptureGroup(p) { return "--label-pattern \"\(p)\" needs a capture group: (...)" }
        }
        if case .field(let i) = label, i < 0 { return "--label-field must be at least 0" }
        if ngrams < 1 || ngrams > 8 { return "--ngrams must be between 1 and 8" }
        if shapeGrams < 0 || shapeGrams > 16 { return "--shape-grams must be between 0 and 16" }
        if !(wordWeight >= 0) || !(shapeWeight >= 0) { return "feature weights must be non-negative" }
        return nil
    }
}

/// Raw text lines (e.g. logs) as records, by the hashing trick.
///
/// Each line is normalised (`TextOptions`), cut into tokens — runs of letters, digits, `_` and
/// non-ASCII bytes, and single punctuation characters — and every distinct token, word n-gram and
/// shape q-gram is hashed with MurmurHash3 (the function VW uses, so indices are the same on every run
/// and platform, unlike Swift's per-process seeded `Hasher`) into `hashBits` bits, with value
/// `wordWeight` or `shapeWeight` (binary presence; on a collision the larger value wins). The vector is
/// scaled to unit length unless `unitLength` is off. Blank lines hold no record.
///
/// The label comes from the line (`TextOptions.LabelSource`) and is mapped to a class by name; a line
/// without one is still a record, of class `missingLabel`. With no label source every line is class 0.
public struct TextParser: LineParser {
    public let options: TextOptions
    public let hashBits: Int
    private let mask: UInt32
    private var stripRegexes: [Regex<AnyRegexOutput>] = []
    private var labelRegex: Regex<AnyRegexOutput>?
    private var patternError: String?
    /// Scratch buffers reused across lines.
    private var normalised: [UInt8] = []
    private var tokenEnds: [Int] = []
    private var gram: [UInt8] = []
    private var hashed: [(UInt32, Float)] = []

    /// Hash seeds of the feature families, so a word and a shape gram with the same bytes differ.
    static let wordSeed: UInt32 = 0
    static let shapeSeed: UInt32 = 0x5348_4150

    public init(options: TextOptions = TextOptions(), hashBits: Int = 18) {
        self.options = options
        self.hashBits = hashBits
        self.mask = hashBits >= 32 ? UInt32.max : (UInt32(1) << UInt32(hashBits)) - 1
        do {
            stripRegexes = try options.stripPatterns.map { try Regex($0) }
            if case .pattern(let p) = options.label { labelRegex = try Regex(p) }
        } catch {
            patternError = "bad pattern: \(error)"
        }
    }

    /// Lines are independent; a fresh parser compiles its own patterns. Kept lines are collected in
    /// order by this parser alone.
    public func parserForLaterLines() -> (any LineParser)? {
        options.keepLines ? nil : TextParser(options: options, hashBits: hashBits)
    }

    public mutating func parse(
        _ line: UnsafeRawBufferPointer, into batch: inout RecordBatch, context: inout ParseContext
    ) throws(ParseFailure) -> Bool {
        if let patternError { throw ParseFailure(patternError) }
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return false }
        let raw = String(decoding: line, as: UTF8.self)
        var text = Substring(raw)
        var labelText: String?
        switch options.label {
        case .none: break
        case .pattern:
            if let m = raw.firstMatch(of: labelRegex!), m.output.count > 1, let s = m.output[1].substring {
                labelText = String(s)
            }
        case .field(let index):
            if let (value, rest) = Self.splitField(raw, index: index, delimiter: options.fieldDelimiter) {
                labelText = value
                text = Substring(rest)
            }
        case .jsonKey(let key):
            let members = try Self.jsonMembers(line)
            if let v = members.first(where: { $0.0 == key })?.1 { labelText = Self.scalarText(v) }
        }
        if let key = options.textKey {
            let members = try Self.jsonMembers(line)
            guard let v = members.first(where: { $0.0 == key })?.1, let s = Self.scalarText(v) else {
                throw ParseFailure("no text under key \"\(key)\"")
            }
            text = Substring(s)
        }
        let label: Double
        if case .none = options.label {
            label = 0
        } else {
            let value = labelText.map { options.labelMap[$0] ?? $0 } ?? options.missingLabel
            label = try context.labels.label(string: value)
        }
        computeFeatures(of: text)
        for (i, v) in hashed {
            batch.indices.append(i)
            batch.values.append(v)
        }
        batch.closeRow(label: label, weight: 1, position: context.nextPosition)
        if options.keepLines { context.keptLines.append((context.nextPosition, raw)) }
        return true
    }

    /// The hashed features of one text (after the strip patterns), as sorted (index, value) pairs.
    public mutating func features(of text: some StringProtocol) -> [(index: UInt32, value: Float)] {
        computeFeatures(of: text)
        return hashed.map { (index: $0.0, value: $0.1) }
    }

    /// Strips the patterns from `text`, then hashes it into `hashed`.
    private mutating func computeFeatures(of text: some StringProtocol) {
        var s = String(text)
        for r in stripRegexes { s.replace(r, with: "") }
        s.withUTF8 { computeFeatures($0) }
    }

    /// Fills `hashed` with the sorted, unique, weighted (and unit-scaled) features of `bytes`.
    private mutating func computeFeatures(_ bytes: UnsafeBufferPointer<UInt8>) {
        hashed.removeAll(keepingCapacity: true)
        if options.wordWeight > 0 { hashTokens(bytes) }
        if options.shapeGrams > 0 && options.shapeWeight > 0 { hashShape(bytes) }
        hashed.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 > $1.1) }
        // Binary presence: keep one entry per index (the larger weight, sorted first).
        var unique = 0
        for k in 0..<hashed.count where unique == 0 || hashed[k].0 != hashed[unique - 1].0 {
            hashed[unique] = hashed[k]
            unique += 1
        }
        hashed.removeSubrange(unique...)
        if options.unitLength {
            let norm = hashed.reduce(Float(0)) { $0 + $1.1 * $1.1 }.squareRoot()
            if norm > 0 { for k in hashed.indices { hashed[k].1 /= norm } }
        }
    }

    @inline(__always) static func isWordByte(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c >= 0x80
    }

    @inline(__always) static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A }

    /// Month and weekday names, abbreviated and in full (lower case).
    static let calendarNames: Set<[UInt8]> = Set([
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
        "january", "february", "march", "april", "june", "july", "august", "september", "october",
        "november", "december", "mon", "tue", "wed", "thu", "fri", "sat", "sun", "monday", "tuesday",
        "wednesday", "thursday", "friday", "saturday", "sunday",
    ].map { Array($0.utf8) })

    /// Writes the normalised tokens of `bytes` into `normalised`, each ending at `tokenEnds[i]`.
    mutating func tokenise(_ bytes: UnsafeBufferPointer<UInt8>) {
        normalised.removeAll(keepingCapacity: true)
        tokenEnds.removeAll(keepingCapacity: true)
        let n = bytes.count
        var i = 0
        while i < n {
            let c = bytes[i]
            if Self.isSpace(c) { i += 1; continue }
            if !Self.isWordByte(c) {
                normalised.append(c)
                tokenEnds.append(normalised.count)
                i += 1
                continue
            }
            let s = i
            var digits = false, nonHex = false
            while i < n && Self.isWordByte(bytes[i]) {
                let b = bytes[i]
                if b >= 0x30 && b <= 0x39 { digits = true } else if !Self.isHexLetter(b) { nonHex = true }
                i += 1
            }
            let start = normalised.count
            if options.maskNumbers && digits && (!nonHex || Self.isHexWithPrefix(bytes, s, i)) {
                // A number or a hexadecimal id: one token, whatever its value.
                normalised.append(0x30)
            } else {
                for k in s..<i {
                    var b = bytes[k]
                    if options.lowercase && b >= 0x41 && b <= 0x5A { b += 0x20 }
                    if options.maskNumbers && b >= 0x30 && b <= 0x39 {
                        // Digit runs inside a word (`s1gnxhyb005133`) become one `0`.
                        if normalised.count > start && normalised[normalised.count - 1] == 0x30 { continue }
                        b = 0x30
                    }
                    normalised.append(b)
                }
                if options.maskCalendarNames {
                    let word = Array(normalised[start...]).map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }
                    if Self.calendarNames.contains(word) {
                        normalised.removeSubrange(start...)
                        normalised.append(contentsOf: [0x3C, 0x64, 0x3E])  // "<d>"
                    }
                }
            }
            tokenEnds.append(normalised.count)
        }
    }

    @inline(__always) static func isHexLetter(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46) }

    /// `0x` followed by hexadecimal digits only.
    static func isHexWithPrefix(_ bytes: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) -> Bool {
        guard e - s > 2, bytes[s] == 0x30, bytes[s + 1] == 0x78 || bytes[s + 1] == 0x58 else { return false }
        for k in (s + 2)..<e where !((bytes[k] >= 0x30 && bytes[k] <= 0x39) || isHexLetter(bytes[k])) { return false }
        return true
    }

    private mutating func hashTokens(_ bytes: UnsafeBufferPointer<UInt8>) {
        tokenise(bytes)
        let count = tokenEnds.count
        guard count > 0 else { return }
        let w = options.wordWeight
        normalised.withUnsafeBufferPointer { norm in
            let base = norm.baseAddress!
            for t in 0..<count {
                let s = t == 0 ? 0 : tokenEnds[t - 1]
                for len in 1...options.ngrams where t + len <= count {
                    let e = tokenEnds[t + len - 1]
                    let h: UInt32
                    if len == 1 {
                        h = VWParser.murmur3(base + s, e - s, seed: Self.wordSeed)
                    } else {
                        // Tokens of the n-gram joined by spaces; the seed tells n-grams of different n apart.
                        gram.removeAll(keepingCapacity: true)
                        for u in t..<(t + len) {
                            if u > t { gram.append(0x20) }
                            gram.append(contentsOf: norm[(u == 0 ? 0 : tokenEnds[u - 1])..<tokenEnds[u]])
                        }
                        h = gram.withUnsafeBufferPointer { VWParser.murmur3($0.baseAddress!, $0.count, seed: UInt32(len)) }
                    }
                    hashed.append((h & mask, w))
                }
            }
        }
    }

    /// Shape of the line: runs of upper-case letters `A`, of lower-case letters (and non-ASCII) `a`, of
    /// digits `0`; punctuation and single spaces kept. Its q-grams describe the layout.
    private mutating func hashShape(_ bytes: UnsafeBufferPointer<UInt8>) {
        gram.removeAll(keepingCapacity: true)
        var previous: UInt8 = 0
        for c in bytes {
            let s: UInt8
            if c >= 0x41 && c <= 0x5A { s = 0x41 } else if (c >= 0x61 && c <= 0x7A) || c >= 0x80 { s = 0x61 } else if c >= 0x30 && c <= 0x39 { s = 0x30 } else if c == 0x09 { s = 0x20 } else { s = c }
            // Runs collapse; so do runs of spaces (alignment padding is not layout).
            if s == previous && (s == 0x41 || s == 0x61 || s == 0x30 || s == 0x20) { continue }
            gram.append(s)
            previous = s
        }
        let q = options.shapeGrams
        let w = options.shapeWeight
        guard gram.count > 0 else { return }
        gram.withUnsafeBufferPointer { g in
            if g.count < q {
                hashed.append((VWParser.murmur3(g.baseAddress!, g.count, seed: Self.shapeSeed) & mask, w))
                return
            }
            for s in 0...(g.count - q) {
                hashed.append((VWParser.murmur3(g.baseAddress! + s, q, seed: Self.shapeSeed) & mask, w))
            }
        }
    }

    /// Field `index` of `line` and the line without it (delimiters around it collapsed), or nil if
    /// the line has fewer fields.
    static func splitField(_ line: String, index: Int, delimiter: UInt8?) -> (String, String)? {
        let fields: [Substring]
        if let d = delimiter {
            fields = line.split(separator: Character(Unicode.Scalar(d)), omittingEmptySubsequences: false)
        } else {
            fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        }
        guard index < fields.count else { return nil }
        var rest = fields
        rest.remove(at: index)
        let joiner = delimiter.map { String(Character(Unicode.Scalar($0))) } ?? " "
        return (String(fields[index]).trimmingSpaces(), rest.joined(separator: joiner))
    }

    static func jsonMembers(_ line: UnsafeRawBufferPointer) throws(ParseFailure) -> [(String, JSONValue)] {
        var reader = JSONReader(line)
        reader.skipSpace()
        guard case .object(let members) = try reader.value() else { throw ParseFailure("a JSON log line must be an object") }
        return members
    }

    /// A JSON scalar as text (numbers as written back by `JSONValue.format`); nil for null, arrays, objects.
    static func scalarText(_ v: JSONValue) -> String? {
        switch v {
        case .string(let s): return s
        case .number(let x): return JSONValue.format(x)
        case .bool(let b): return b ? "true" : "false"
        default: return nil
        }
    }
}
