/// Options for CSV input.
public struct CSVOptions: Sendable, Equatable {
    /// Whether the first line is a header: true, false, or nil to decide from it (a first line whose
    /// non-label fields are not all numbers is a header).
    public var header: Bool?
    /// The label column: a header name, or a zero-based position. nil: a column named `label`,
    /// `target`, `class` or `y` if the header has one, otherwise the first column.
    public var labelColumn: String?
    public var delimiter: UInt8 = UInt8(ascii: ",")

    public init(header: Bool? = nil, labelColumn: String? = nil, delimiter: UInt8 = UInt8(ascii: ",")) {
        self.header = header
        self.labelColumn = labelColumn
        self.delimiter = delimiter
    }
}

/// CSV with one label column; the other columns are numeric features, numbered by position
/// (the label column skipped). Quoted fields (RFC 4180, without embedded newlines) are supported;
/// an empty field is a missing value and stores nothing. A header column named `weight` is the
/// importance weight and ones named `id` and `origin` are ignored (as `coreset select` and `merge` write them); lines starting
/// with `#` are comments.
public struct CSVParser: LineParser {
    public let options: CSVOptions
    private var sawFirstLine = false
    private var labelPosition: Int?
    private var weightPosition: Int?
    private var idPosition: Int?
    private var originPosition: Int?
    private var columnCount: Int?
    private var fields: [(Int, Int, Bool)] = []  // start, end, quoted

    public init(options: CSVOptions) {
        self.options = options
    }

    /// After the first line (header or not) the columns are known and each line is parsed on its own;
    /// a copy's scratch array is its own (copy on write).
    public func parserForLaterLines() -> (any LineParser)? { sawFirstLine ? self : nil }

    static let labelNames: Set<String> = ["label", "target", "class", "y"]

    /// Splits a line into fields, recording their byte ranges.
    private mutating func split(_ p: UnsafePointer<UInt8>, _ n: Int) throws(ParseFailure) {
        fields.removeAll(keepingCapacity: true)
        let d = options.delimiter
        var i = 0
        while true {
            if i < n && p[i] == UInt8(ascii: "\"") {
                let start = i + 1
                i += 1
                while i < n {
                    if p[i] == UInt8(ascii: "\"") {
                        if i + 1 < n && p[i + 1] == UInt8(ascii: "\"") { i += 2; continue }
                        break
                    }
                    i += 1
                }
                guard i < n else { throw ParseFailure("unterminated quoted field") }
                fields.append((start, i, true))
                i += 1
                while i < n && (p[i] == 0x20 || p[i] == 0x09) { i += 1 }
                if i < n && p[i] != d { throw ParseFailure("text after a closing quote") }
            } else {
                let start = i
                while i < n && p[i] != d { i += 1 }
                fields.append((start, i, false))
            }
            if i >= n { break }
            i += 1  // the delimiter
            if i == n { fields.append((n, n, false)); break }
        }
    }

    /// A field's bytes, unquoted.
    private func fieldBytes(_ p: UnsafePointer<UInt8>, _ f: (Int, Int, Bool)) -> [UInt8] {
        var bytes: [UInt8] = []
        var k = f.0
        while k < f.1 {
            bytes.append(p[k])
            // Inside quotes a doubled quote stands for one.
            k += f.2 && p[k] == UInt8(ascii: "\"") ? 2 : 1
        }
        return bytes
    }

    /// A field as text for messages (invalid UTF-8 shown as U+FFFD).
    private func fieldText(_ p: UnsafePointer<UInt8>, _ f: (Int, Int, Bool)) -> String {
        String(decoding: fieldBytes(p, f), as: UTF8.self).trimmingSpaces()
    }

    /// A field that becomes a name (header) or a class: it must be valid UTF-8, since decoding
    /// invalid bytes as U+FFFD would silently merge different labels or columns.
    private func fieldString(_ p: UnsafePointer<UInt8>, _ f: (Int, Int, Bool), column: Int) throws(ParseFailure) -> String {
        guard let s = String(validating: fieldBytes(p, f), as: UTF8.self) else {
            throw ParseFailure("field \(column + 1): invalid UTF-8")
        }
        return s.trimmingSpaces()
    }

    /// Trimmed byte range of a field.
    @inline(__always)
    private func trimmed(_ p: UnsafePointer<UInt8>, _ f: (Int, Int, Bool)) -> (Int, Int) {
        var a = f.0, b = f.1
        while a < b && (p[a] == 0x20 || p[a] == 0x09) { a += 1 }
        while b > a && (p[b - 1] == 0x20 || p[b - 1] == 0x09) { b -= 1 }
        return (a, b)
    }

    public mutating func parse(
        _ line: UnsafeRawBufferPointer, into batch: inout RecordBatch, context: inout ParseContext
    ) throws(ParseFailure) -> Bool {
        guard let p = line.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return false }
        let n = line.count
        var blank = true
        var first = 0
        for k in 0..<n where p[k] != 0x20 && p[k] != 0x09 { blank = false; first = k; break }
        if blank || p[first] == UInt8(ascii: "#") { return false }
        try split(p, n)
        if !sawFirstLine {
            var names: [String] = []
            for (c, f) in fields.enumerated() { names.append(try fieldString(p, f, column: c)) }
            let isHeader: Bool
            if let h = options.header {
                isHeader = h
            } else {
                // A header has some field that is not a number (the label column may hold strings,
                // so look at every column but a recognisable label one).
                let candidates = names.enumerated().filter { !Self.labelNames.contains($0.element.lowercased()) }
                isHeader = names.contains { Self.labelNames.contains($0.lowercased()) }
                    || candidates.contains { Double($0.element) == nil && !$0.element.isEmpty }
            }
            columnCount = fields.count
            labelPosition = try resolveLabelColumn(names: isHeader ? names : nil)
            if isHeader {
                weightPosition = names.firstIndex { $0.lowercased() == "weight" }.flatMap { $0 == labelPosition ? nil : $0 }
                idPosition = names.firstIndex { $0.lowercased() == "id" }.flatMap { $0 == labelPosition ? nil : $0 }
                originPosition = names.firstIndex { $0.lowercased() == "origin" }.flatMap { $0 == labelPosition ? nil : $0 }
                for (c, name) in names.enumerated() where !isSpecial(c) { _ = context.index(ofFeature: name) }
                sawFirstLine = true
                return false
            }
            for c in 0..<fields.count where c != labelPosition { _ = context.index(ofFeature: "column\(c)") }
            // Only now: a first line that failed above (bad header) leaves the next line to be the first.
            sawFirstLine = true
        }
        guard fields.count == columnCount else {
            throw ParseFailure("expected \(columnCount!) fields, found \(fields.count)")
        }
        let lp = labelPosition!
        let (la, lb) = trimmed(p, fields[lp])
        if la == lb { throw ParseFailure("empty label") }
        let label: Double
        if !fields[lp].2, let v = NumberParsing.parseDouble(p, la, lb) {
            label = try context.labels.label(numeric: v, text: String(decoding: UnsafeRawBufferPointer(start: p + la, count: lb - la), as: UTF8.self))
        } else {
            label = try context.labels.label(string: fieldString(p, fields[lp], column: lp))
        }
        var weight = 1.0
        if let wp = weightPosition {
            let (a, b) = trimmed(p, fields[wp])
            guard let w = NumberParsing.parseDouble(p, a, b), w.isFinite, w >= 0 else {
                throw ParseFailure("weight \"\(fieldText(p, fields[wp]))\" is not a non-negative number")
            }
            weight = w
        }
        var feature: UInt32 = 0
        for c in 0..<fields.count {
            if isSpecial(c) { continue }
            defer { feature += 1 }
            let (a, b) = trimmed(p, fields[c])
            if a == b { continue }
            guard let v = NumberParsing.parseDouble(p, a, b) else {
                let name = c < context.featureNames.count + 1 ? context.featureNames[Int(feature)] : "column\(c)"
                throw ParseFailure("column \(name): \"\(fieldText(p, fields[c]))\" is not a number")
            }
            let f = Float(v)
            guard f.isFinite else { throw ParseFailure("column \(context.featureNames[Int(feature)]): non-finite value") }
            batch.indices.append(feature)
            batch.values.append(f)
        }
        batch.closeRow(label: label, weight: weight, position: context.nextPosition)
        return true
    }

    /// The label, weight and id columns are not features.
    private func isSpecial(_ c: Int) -> Bool { c == labelPosition || c == weightPosition || c == idPosition || c == originPosition }

    private func resolveLabelColumn(names: [String]?) throws(ParseFailure) -> Int {
        if let spec = options.labelColumn {
            if let names, let i = names.firstIndex(of: spec) { return i }
            if let i = Int(spec), i >= 0, i < fields.count { return i }
            throw ParseFailure("label column \"\(spec)\" not found\(names.map { " in header \($0.joined(separator: ","))" } ?? "")")
        }
        if let names, let i = names.firstIndex(where: { Self.labelNames.contains($0.lowercased()) }) { return i }
        return 0
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
