/// Formats a weighted coreset can be written in.
public enum CoresetFormat: String, Sendable, CaseIterable, Codable {
    /// LIBSVM with XGBoost's `label:weight` first field (this reader reads it back), or plain labels
    /// plus a sidecar weight file (one weight per line, as LIBSVM-weights and XGBoost's `.weight`).
    case libsvm
    /// CSV with a header: `id,label,weight,` then one column per feature (dense).
    case csv
    /// JSON Lines: `{"id":…, "label":…, "weight":…, "indices":[…], "values":[…]}`.
    case jsonl
    /// Vowpal Wabbit text with its native importance weight: `label weight 'id | index:value …`
    /// (zero-based numeric features in the default namespace, which VW maps to themselves).
    case vw
}

/// Writes weighted coresets (or any weighted records) as text.
///
/// Every element keeps its stable id, its position in the whole stream: as a comment in LIBSVM,
/// a column in CSV, a field in JSON Lines, the tag in VW.
public struct CoresetWriter {
    public let format: CoresetFormat
    public let labels: LabelMap
    /// Dense width of CSV rows (the stream's dimension).
    public let dimension: Int
    /// Names of CSV feature columns, where the input had them.
    public let featureNames: [String]
    /// LIBSVM: write weights to this sidecar instead of the `label:weight` field.
    public let weightsOutput: TextOutput?
    /// LIBSVM: indices start at 0 in the output (the input's convention).
    public let zeroBased: Bool

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

    /// Writes a header line when the format has one (CSV).
    /// - Parameter withOrigins: CSV: an `origin` column after `weight` (merged coresets).
    public func writeHeader(to out: TextOutput, withOrigins: Bool = false) throws(OutputError) {
        guard format == .csv else { return }
        var cols = ["id", "label", "weight"] + (withOrigins ? ["origin"] : [])
        for j in 0..<dimension { cols.append(j < featureNames.count ? Self.csvField(featureNames[j]) : "f\(j)") }
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
            line = labelText(record.label)
            if let w = weightsOutput {
                try w.write(Self.number(weight) + "\n")
            } else {
                line += ":" + Self.number(weight)
            }
            let offset = zeroBased ? 0 : 1
            for (i, v) in zip(f.indices, f.values) { line += " \(Int(i) + offset):" + Self.number(v) }
            line += " # id=\(record.position)"
            if let origin { line += " origin=\(origin)" }
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
            let label = labels.isRegression || Double(labelText(record.label)) != nil
                ? labelText(record.label) : "\"" + Self.jsonEscaped(labelText(record.label)) + "\""
            line = "{\"id\":\(record.position),\"label\":\(label),\"weight\":\(Self.number(weight)),"
                + (origin.map { "\"origin\":\"\($0)\"," } ?? "") + "\"indices\":["
            line += f.indices.map { String($0) }.joined(separator: ",")
            line += "],\"values\":["
            line += f.values.map { Self.number($0) }.joined(separator: ",")
            line += "]}"
        case .vw:
            // The tag is the element's name: its id, or for a merged element its origin `S:P`.
            line = "\(labelText(record.label)) \(Self.number(weight)) '\(origin.map(String.init(describing:)) ?? String(record.position)) |"
            for (i, v) in zip(f.indices, f.values) { line += " \(i):" + Self.number(v) }
        }
        try out.write(line + "\n")
    }

    static func jsonEscaped(_ s: String) -> String {
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
