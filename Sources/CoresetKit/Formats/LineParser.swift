/// Decodes one line of text into at most one record.
///
/// The reader hands each complete line without its newline (and without a trailing CR); the byte
/// just past the line is readable and is a line terminator (`\n` or `\r`), so parsers may scan a
/// token up to a non-digit without a bounds check. A parser
/// appends the record's features to `batch.indices`/`batch.values` and closes the row with
/// `batch.closeRow`, returns false for a line that holds no record (blank, comment, CSV header),
/// or throws `ParseFailure` — the reader then discards the open row and counts the line as skipped.
public protocol LineParser {
    mutating func parse(
        _ line: UnsafeRawBufferPointer, into batch: inout RecordBatch, context: inout ParseContext
    ) throws(ParseFailure) -> Bool

    /// A parser for the lines after those this one has seen, that can run on another thread while this
    /// one goes on (it shares no mutable state with it), or nil when lines must go through this parser
    /// in order. The reader uses it to parse the two halves of a chunk at once.
    func parserForLaterLines() -> (any LineParser)?
}

extension LineParser {
    public func parserForLaterLines() -> (any LineParser)? { nil }
}

/// State shared by every parser of a stream: label mapping, named features and the next position.
public struct ParseContext: Sendable {
    public var labels: LabelMap
    /// Names of features keyed by name (CSV headers, JSON object keys), index = position in `featureNames`.
    public var featureIndex: [String: UInt32] = [:]
    public var featureNames: [String] = []
    /// Position (stable id) the next accepted record gets.
    public var nextPosition: UInt64 = 0
    /// Text of accepted lines, by position, when a text parser is asked to keep them; the consumer
    /// drains it after every batch (`RecordReader.takeKeptLines()`), so it holds one batch at most.
    public var keptLines: [(position: UInt64, text: String)] = []

    public init(labels: LabelMap = LabelMap()) {
        self.labels = labels
    }

    /// Index of a named feature, assigning the next free one to a new name.
    public mutating func index(ofFeature name: String) -> UInt32 {
        if let i = featureIndex[name] { return i }
        let i = UInt32(featureNames.count)
        featureIndex[name] = i
        featureNames.append(name)
        return i
    }
}

/// The record formats the reader understands.
public enum RecordFormat: String, Sendable, CaseIterable, Codable {
    case libsvm, csv, jsonl, vw, text

    /// Makes a fresh parser for one stream.
    public func makeParser(options: ReaderOptions) -> any LineParser {
        switch self {
        case .libsvm: return LibSVMParser(zeroBased: options.zeroBasedIndices)
        case .csv: return CSVParser(options: options.csv)
        case .jsonl: return JSONLinesParser(zeroBased: options.zeroBasedIndices)
        case .vw: return VWParser(hashBits: options.hashBits)
        case .text: return TextParser(options: options.text, hashBits: options.hashBits)
        }
    }

    /// Features are hashed into 2^hashBits dimensions (the reader allows that whole space).
    public var hashesFeatures: Bool { self == .vw || self == .text }

    /// The parser learns from a stream's first line (a CSV header): a new stream (a rotated followed file)
    /// needs a fresh parser, and a resumed one has its prefix parsed again, unseen.
    public var readsHeader: Bool { self == .csv }
}

extension RecordBatch {
    /// Sorts the open row's entries by index and rejects or merges duplicates.
    ///
    /// - Parameters:
    ///   - sumDuplicates: add values of equal indices (hashed formats) instead of failing.
    ///   - indexBase: what the input's first index is (1 for one-based LIBSVM), so a message
    ///     names an index as the user wrote it.
    @usableFromInline
    mutating func normalizeOpenRow(sumDuplicates: Bool, indexBase: UInt64 = 0) throws(ParseFailure) {
        let start = rowStarts[rowStarts.count - 1]
        let n = indices.count - start
        guard n > 1 else { return }
        var sorted = true
        for k in (start + 1)..<indices.count where indices[k] <= indices[k - 1] {
            sorted = false
            break
        }
        if sorted { return }
        var pairs = (start..<indices.count).map { (indices[$0], values[$0]) }
        pairs.sort { $0.0 < $1.0 }
        indices.removeSubrange(start...)
        values.removeSubrange(start...)
        for (i, v) in pairs {
            if let last = indices.last, indices.count > start, last == i {
                if !sumDuplicates { throw ParseFailure("duplicate feature index \(UInt64(i) + indexBase)") }
                values[values.count - 1] += v
                // Hash collisions add up: two large values can overflow a Float.
                if !values[values.count - 1].isFinite { throw ParseFailure("feature \(i): the sum of its values is not finite") }
            } else {
                indices.append(i)
                values.append(v)
            }
        }
    }
}
