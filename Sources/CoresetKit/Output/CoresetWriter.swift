/// Formats a weighted coreset can be written in.
public enum CoresetFormat: String, Sendable, CaseIterable, Codable {
    /// LIBSVM with a plain label, so every LIBSVM reader (scikit-learn's `load_svmlight_file`, XGBoost,
    /// LIBSVM) reads it; the weight and id ride in the comment, `# id=N weight=W` (coreset reads the
    /// weight back from it, and still reads the `label:weight` first field older versions wrote).
    /// A sidecar weight file (one weight per line, as LIBSVM-weights and XGBoost's `.weight`) is optional.
    case libsvm
    /// CSV with a header: `id,label,weight,` then one column per feature (dense), named `f1`, `f2`, …
    /// where the input had no names.
    case csv
    /// JSON Lines: `{"id":…, "label":…, "weight":…, "indices":[…], "values":[…]}`, strict JSON: numeric
    /// class labels and targets are JSON numbers, other labels strings.
    case jsonl
    /// Vowpal Wabbit text with its native importance weight: `label weight 'id | index:value …`
    /// (numeric features in the default namespace, which VW maps to the weight of that index).
    case vw
}

/// Writes weighted coresets (or any weighted records) as text.
///
/// Every element keeps its stable id, its position in the whole stream: as a comment in LIBSVM,
/// a column in CSV, a field in JSON Lines, the tag in VW.
///
/// Feature numbers follow one convention in every format: LIBSVM's, from 1 (feature j is `j:v` in
/// LIBSVM and VW, `j` in JSON Lines `indices`, column `fj` in CSV), unless `zeroBased`.
public struct CoresetWriter {
    public let format: CoresetFormat
    public let labels: LabelMap
    /// Dense width of CSV rows (the stream's dimension).
    public let dimension: Int
    /// Names of CSV feature columns, where the input had them.
    public let featureNames: [String]
    /// LIBSVM: write weights to this sidecar instead of the `label:weight` field.
    public let weightsOutput: TextOutput?
    /// Feature numbers start at 0 in every format (default: at 1, as LIBSVM).
    public let zeroBased: Bool

    /// What is added to a stored (zero-based) feature index to write it.
    var indexOffset: Int { zeroBased ? 0 : 1 }

    public init(format: CoresetFormat, labels: LabelMap, dimension: Int, featureNames: [String] = [],
                weightsOutput: TextOutput? = nil, zeroBased: Bool = false) {
        self.format = format
        self.labels = labels
        self.dimension = dimension
        self.featureNames = featureNames
        self.weightsOutput = weightsOutput
        self.zeroBased = zeroBased
    }

    /// Label text as written in the input (class names) or the target value.
    func labelText(_ label: Double) -> String {
        labels.isRegression ? Self.number(label) : labels.name(of: Int(label))
    }

    /// Shortest text that reads back to the same Double.
    public static func number(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }

    static func number(_ v: Float) -> String {
        if v == v.rounded(), abs(v) < 1e7 { return String(Int64(v)) }
        return String(v)
    }

    /// `number(v)`'s text appended to `bytes` (integers without building a String).
    static func appendNumber(_ v: Float, to bytes: inout [UInt8]) {
        if v == v.rounded(), abs(v) < 1e7 { appendDecimal(Int64(v), to: &bytes); return }
        bytes.append(contentsOf: String(v).utf8)
    }

    /// `String(n)`'s digits appended to `bytes`.
    static func appendDecimal(_ n: Int64, to bytes: inout [UInt8]) {
        if n < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDecimal(n.magnitude, to: &bytes)
    }

    static func appendDecimal(_ n: UInt64, to bytes: inout [UInt8]) {
        var digits = 1, rest = n
        while rest >= 10 { rest /= 10; digits += 1 }
        let end = bytes.count + digits
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits))
        bytes.withUnsafeMutableBufferPointer { b in
            var i = end, m = n
            repeat {
                i -= 1
                b[i] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: m % 10)
                m /= 10
            } while m > 0
        }
    }

    /// Writes a header line when the format has one (CSV).
    /// - Parameter withOrigins: CSV: an `origin` column after `weight` (merged coresets).
    public func writeHeader(to out: TextOutput, withOrigins: Bool = false) throws(OutputError) {
        guard format == .csv else { return }
        var cols = ["id", "label", "weight"] + (withOrigins ? ["origin"] : [])
        for j in 0..<dimension { cols.append(j < featureNames.count ? Self.csvField(featureNames[j]) : "f\(j + indexOffset)") }
        try out.write(cols.joined(separator: ",") + "\n")
    }

    static func csvField(_ s: String) -> String {
        s.contains(",") || s.contains("\"") ? "\"" + s.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\"" : s
    }

    /// Writes one weighted record; a merged element also names its origin (`CoresetOrigin`).
    public func write(_ record: Record, weight: Double, origin: CoresetOrigin? = nil, to out: TextOutput) throws(OutputError) {
        let f = record.features
        var line = ""
        switch format {
        case .libsvm:
            // Bytes, not a String built piece by piece: a line of mnist's has ~150 features, and the
            // String appends were most of writing a 10,000-element coreset. The same text.
            var bytes: [UInt8] = []
            bytes.reserveCapacity(48 + 12 * f.indices.count)
            // A plain label first: scikit-learn's loader rejects XGBoost's `label:weight`.
            bytes.append(contentsOf: labelText(record.label).utf8)
            try weightsOutput?.write(Self.number(weight) + "\n")
            for (i, v) in zip(f.indices, f.values) {
                bytes.append(UInt8(ascii: " "))
                Self.appendDecimal(Int64(Int(i) + indexOffset), to: &bytes)
                bytes.append(UInt8(ascii: ":"))
                Self.appendNumber(v, to: &bytes)
            }
            bytes.append(contentsOf: " # id=".utf8)
            Self.appendDecimal(record.position, to: &bytes)
            bytes.append(contentsOf: " weight=".utf8)
            bytes.append(contentsOf: Self.number(weight).utf8)
            if let origin { bytes.append(contentsOf: " origin=\(origin)".utf8) }
            bytes.append(UInt8(ascii: "\n"))
            try out.write(bytes: bytes)
            return
        case .csv:
            line = "\(record.position),\(Self.csvField(labelText(record.label))),\(Self.number(weight))"
            if let origin { line += ",\(origin)" }
            var k = 0
            for j in 0..<dimension {
                line += ","
                if k < f.indices.count && Int(f.indices[k]) == j {
                    line += Self.number(f.values[k])
                    k += 1
                } else {
                    line += "0"
                }
            }
        case .jsonl:
            line = "{\"id\":\(record.position),\"label\":\(jsonLabel(record.label)),\"weight\":\(Self.number(weight)),"
                + (origin.map { "\"origin\":\"\($0)\"," } ?? "") + "\"indices\":["
            line += f.indices.map { String(Int($0) + indexOffset) }.joined(separator: ",")
            line += "],\"values\":["
            line += f.values.map { Self.number($0) }.joined(separator: ",")
            line += "]}"
        case .vw:
            // The tag is the element's name: its id, or for a merged element its origin `S:P`.
            line = "\(labelText(record.label)) \(Self.number(weight)) '\(origin.map(String.init(describing:)) ?? String(record.position)) |"
            for (i, v) in zip(f.indices, f.values) { line += " \(Int(i) + indexOffset):" + Self.number(v) }
        }
        try out.write(line + "\n")
    }

    /// The label as a JSON value: a number for targets and numeric classes (`+1` and `1.0` are
    /// written `1`, the class they read as), a string for named classes.
    func jsonLabel(_ label: Double) -> String {
        if labels.isRegression { return Self.jsonNumber(label) }
        let name = labels.name(of: Int(label))
        if labels.hasNumericLabels, let v = Double(name), v.isFinite { return Self.jsonNumber(v) }
        return "\"" + Self.jsonEscaped(name) + "\""
    }

    /// A finite number as JSON writes it (`null` for the non-finite, which JSON cannot hold).
    static func jsonNumber(_ v: Double) -> String {
        v.isFinite ? number(v) : "null"
    }

    /// `s` escaped for the inside of a JSON string literal (quotes, backslashes, control characters).
    public static func jsonEscaped(_ s: String) -> String {
        var out = ""
        for ch in s.unicodeScalars {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if ch.value < 0x20 { out += "\\u" + String(repeating: "0", count: 4 - String(ch.value, radix: 16).count) + String(ch.value, radix: 16) } else { out.unicodeScalars.append(ch) }
            }
        }
        return out
    }

    /// Writes a whole weighted set: header, then one line per element.
    public func write(_ elements: [(record: Record, weight: Double)], to out: TextOutput) throws(OutputError) {
        try writeHeader(to: out)
        for (r, w) in elements { try write(r, weight: w, to: out) }
        try out.flush()
        try weightsOutput?.flush()
    }

    /// Writes a coreset: header, then one line per element, with origins where its elements have them.
    public func write(_ coreset: WeightedCoreset, to out: TextOutput) throws(OutputError) {
        try writeHeader(to: out, withOrigins: coreset.elements.contains { $0.origin != nil })
        for e in coreset.elements { try write(e.record, weight: e.weight, origin: e.origin, to: out) }
        try out.flush()
        try weightsOutput?.flush()
    }
}
