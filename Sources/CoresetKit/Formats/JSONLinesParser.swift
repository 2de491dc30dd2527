/// JSON Lines: one object per line.
///
/// Accepted shapes: `{"label": L, "features": [v0, v1, ...]}` (dense, index = position),
/// `{"label": L, "features": {"name": v, ...}}` (named features, indices assigned by first
/// appearance), or a flat `{"label": L, "name": v, ...}` whose other keys are features. An optional
/// `"weight"` is the importance weight. L is a number, a string or a boolean; null feature values
/// are missing. The sparse form `"indices": [...], "values": [...]` (feature numbers from 1 as in
/// LIBSVM unless `zeroBased`, as `coreset select` writes it) is accepted too, and `"id"` and `"origin"`
/// are ignored. Lines starting with `#` are comments.
public struct JSONLinesParser: LineParser {
    /// `"indices"` start at 0 (default: at 1, LIBSVM's convention).
    public let zeroBased: Bool

    public init(zeroBased: Bool = false) {
        self.zeroBased = zeroBased
    }

    /// Lines are independent (a new feature name is noticed by the reader, which then parses in order).
    public func parserForLaterLines() -> (any LineParser)? { self }

    public mutating func parse(
        _ line: UnsafeRawBufferPointer, into batch: inout RecordBatch, context: inout ParseContext
    ) throws(ParseFailure) -> Bool {
        var reader = JSONReader(line)
        reader.skipSpace()
        if reader.atEnd || line[reader.position] == UInt8(ascii: "#") { return false }
        guard case .object(let members) = try reader.value() else { throw ParseFailure("a JSON Lines record must be an object") }
        reader.skipSpace()
        guard reader.atEnd else { throw ParseFailure("text after the JSON object at column \(reader.position + 1)") }
        var label: Double?
        var weight = 1.0
        var sawFeaturesKey = false
        var sparseIndices: [JSONValue]?
        var sparseValues: [JSONValue]?
        var pairs: [(UInt32, Float)] = []
        func add(_ index: UInt32, _ value: JSONValue, _ name: String) throws(ParseFailure) {
            switch value {
            case .number(let v):
                let f = Float(v)
                guard f.isFinite else { throw ParseFailure("feature \(name): non-finite value") }
                pairs.append((index, f))
            case .bool(let b): pairs.append((index, b ? 1 : 0))
            case .null: break
            default: throw ParseFailure("feature \(name): value is not a number")
            }
        }
        for (key, value) in members {
            switch key {
            case "label", "target", "y":
                switch value {
                case .number(let v): label = try context.labels.label(numeric: v, text: JSONValue.format(v))
                case .string(let s): label = try context.labels.label(string: s)
                case .bool(let b): label = try context.labels.label(numeric: b ? 1 : 0, text: b ? "1" : "0")
                default: throw ParseFailure("label must be a number, string or boolean")
                }
            case "weight":
                guard case .number(let w) = value, w.isFinite, w >= 0 else { throw ParseFailure("weight must be a non-negative number") }
                weight = w
            case "features":
                sawFeaturesKey = true
                switch value {
                case .array(let items):
                    for (i, item) in items.enumerated() { try add(UInt32(i), item, "[\(i)]") }
                case .object(let named):
                    for (name, item) in named { try add(context.index(ofFeature: name), item, name) }
                default: throw ParseFailure("features must be an array or an object")
                }
            case "indices":
                guard case .array(let items) = value else { throw ParseFailure("indices must be an array") }
                sparseIndices = items
                sawFeaturesKey = true
            case "values":
                guard case .array(let items) = value else { throw ParseFailure("values must be an array") }
                sparseValues = items
                sawFeaturesKey = true
            case "id", "origin":
                break
            default:
                break  // flat-object features are taken below, once we know there is no "features" key
            }
        }
        if sparseIndices != nil || sparseValues != nil {
            guard let idx = sparseIndices, let vals = sparseValues, idx.count == vals.count else {
                throw ParseFailure("indices and values must both be given, with equal lengths")
            }
            let base: Double = zeroBased ? 0 : 1
            for (i, v) in zip(idx, vals) {
                guard case .number(let x) = i, x >= 0, x < Double(UInt32.max), x == x.rounded() else {
                    throw ParseFailure("indices must be non-negative integers")
                }
                guard x >= base else { throw ParseFailure("feature index 0 in one-based \"indices\" (use --zero-based)") }
                try add(UInt32(x - base), v, "\(Int(x))")
            }
        }
        if !sawFeaturesKey {
            for (key, value) in members where !["label", "target", "y", "weight", "id", "origin"].contains(key) {
                try add(context.index(ofFeature: key), value, key)
            }
        }
        guard let label else { throw ParseFailure("missing \"label\"") }
        pairs.sort { $0.0 < $1.0 }
        for k in pairs.indices {
            if k > 0 && pairs[k].0 == pairs[k - 1].0 { throw ParseFailure("duplicate feature \(pairs[k].0)") }
            batch.indices.append(pairs[k].0)
            batch.values.append(pairs[k].1)
        }
        batch.closeRow(label: label, weight: weight, position: context.nextPosition)
        return true
    }
}

/// A parsed JSON value (only used off the hot numeric formats).
enum JSONValue {
    case number(Double), string(String), bool(Bool), null
    case array([JSONValue]), object([(String, JSONValue)])

    static func format(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }
}

/// A small strict JSON reader over the bytes of one line.
struct JSONReader {
    let p: UnsafeRawBufferPointer
    var position = 0
    var depth = 0

    init(_ p: UnsafeRawBufferPointer) { self.p = p }

    var atEnd: Bool { position >= p.count }

    mutating func skipSpace() {
        while position < p.count, p[position] == 0x20 || p[position] == 0x09 || p[position] == 0x0A || p[position] == 0x0D {
            position += 1
        }
    }

    func fail(_ what: String) -> ParseFailure { ParseFailure("invalid JSON at column \(position + 1): \(what)") }

    mutating func value() throws(ParseFailure) -> JSONValue {
        skipSpace()
        guard position < p.count else { throw fail("unexpected end") }
        switch p[position] {
        case UInt8(ascii: "{"):
            depth += 1
            guard depth < 64 else { throw fail("nested too deeply") }
            defer { depth -= 1 }
            position += 1
            var members: [(String, JSONValue)] = []
            skipSpace()
            if position < p.count && p[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
            while true {
                skipSpace()
                guard position < p.count, p[position] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                let key = try string()
                skipSpace()
                guard position < p.count, p[position] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                position += 1
                members.append((key, try value()))
                skipSpace()
                guard position < p.count else { throw fail("unterminated object") }
                if p[position] == UInt8(ascii: ",") { position += 1; continue }
                if p[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
                throw fail("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            depth += 1
            guard depth < 64 else { throw fail("nested too deeply") }
            defer { depth -= 1 }
            position += 1
            var items: [JSONValue] = []
            skipSpace()
            if position < p.count && p[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
            while true {
                items.append(try value())
                skipSpace()
                guard position < p.count else { throw fail("unterminated array") }
                if p[position] == UInt8(ascii: ",") { position += 1; continue }
                if p[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default:
            let start = position
            while position < p.count {
                let c = p[position]
                if (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+") || c == UInt8(ascii: ".")
                    || c == UInt8(ascii: "e") || c == UInt8(ascii: "E")
                {
                    position += 1
                } else {
                    break
                }
            }
            guard position > start, let base = p.baseAddress?.assumingMemoryBound(to: UInt8.self),
                let v = NumberParsing.parseDouble(base, start, position)
            else { throw fail("expected a value") }
            return .number(v)
        }
    }

    mutating func literal(_ word: StaticString) throws(ParseFailure) {
        let n = word.utf8CodeUnitCount
        guard position + n <= p.count else { throw fail("expected \(word)") }
        for k in 0..<n where p[position + k] != word.utf8Start[k] { throw fail("expected \(word)") }
        position += n
    }

    /// The four hex digits of a `\\u` escape starting at `at`.
    func hex4(at: Int) throws(ParseFailure) -> UInt32 {
        guard at + 3 < p.count,
              let code = UInt32(String(decoding: UnsafeRawBufferPointer(rebasing: p[at...(at + 3)]), as: UTF8.self), radix: 16)
        else { throw fail("bad \\u escape") }
        return code
    }

    mutating func string() throws(ParseFailure) -> String {
        let start = position
        position += 1  // opening quote
        var bytes: [UInt8] = []
        while position < p.count {
            let c = p[position]
            if c == UInt8(ascii: "\"") {
                position += 1
                // Decoding invalid bytes as U+FFFD would silently merge different labels or names.
                guard let s = String(validating: bytes, as: UTF8.self) else {
                    throw ParseFailure("invalid UTF-8 in the string at column \(start + 1)")
                }
                return s
            }
            if c == UInt8(ascii: "\\") {
                position += 1
                guard position < p.count else { break }
                let e = p[position]
                switch e {
                case UInt8(ascii: "n"): bytes.append(0x0A)
                case UInt8(ascii: "t"): bytes.append(0x09)
                case UInt8(ascii: "r"): bytes.append(0x0D)
                case UInt8(ascii: "b"): bytes.append(0x08)
                case UInt8(ascii: "f"): bytes.append(0x0C)
                case UInt8(ascii: "u"):
                    let escapeColumn = position  // 1-based column of the backslash
                    var code = try hex4(at: position + 1)
                    position += 4
                    // UTF-16 surrogates: a pair is one scalar; a lone one is no character at all, and
                    // decoding it as U+FFFD would silently merge different labels or names.
                    if (0xD800...0xDBFF).contains(code) {
                        guard position + 2 < p.count, p[position + 1] == UInt8(ascii: "\\"), p[position + 2] == UInt8(ascii: "u"),
                              case let low = try hex4(at: position + 3), (0xDC00...0xDFFF).contains(low)
                        else { throw ParseFailure("invalid JSON at column \(escapeColumn): lone UTF-16 surrogate \\u\(String(code, radix: 16, uppercase: true)) in a string") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        position += 6
                    } else if (0xDC00...0xDFFF).contains(code) {
                        throw ParseFailure("invalid JSON at column \(escapeColumn): lone UTF-16 surrogate \\u\(String(code, radix: 16, uppercase: true)) in a string")
                    }
                    bytes.append(contentsOf: String(Character(Unicode.Scalar(code)!)).utf8)
                default: bytes.append(e)
                }
                position += 1
                continue
            }
            bytes.append(c)
            position += 1
        }
        throw fail("unterminated string")
    }
}
