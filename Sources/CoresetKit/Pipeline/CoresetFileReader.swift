/// Reads weighted coresets written by `CoresetWriter` (`coreset select`, `coreset merge`) back, with
/// their weights and their stable ids, so the coresets of shards can be merged.
///
/// Unlike `RecordReader`, which treats a file as a stream of training records (an unweighted line
/// has weight 1, a bad line is skipped), a coreset file must be complete: every element carries an
/// explicit weight and its id (LIBSVM `label ... # id=N weight=W`, or `label:weight ... # id=N` as
/// coreset 0.1 wrote it; CSV `id` and `weight` columns; JSON Lines `"id"` and `"weight"`; VW
/// `label weight 'N | ...`), and any malformed line is an error naming the file and line. Losing or
/// inventing weight would break the merge's invariant.
///
/// Feature numbers start at 1 in every format (`CoresetWriter`'s convention) unless
/// `options.zeroBasedIndices` (for VW and JSON Lines files of coreset 0.1, which numbered from 0).
///
/// A file that holds several emissions (`coreset select --emit-every` to stdout, each after a
/// `# coreset after N records` line) stands for its last one.
///
/// Files are decompressed by magic bytes (zstd, gzip, plain) like every input. One reader shares
/// its label mapping and feature names across the files it reads, so class ids and named CSV/JSON
/// features agree between shards.
public struct CoresetFileReader {
    /// The format of every file, or nil to tell it from each file's first line (see `detectFormat`).
    public let format: CoresetFormat?
    public let options: ReaderOptions
    /// Label mapping and feature names learned from the files read so far.
    public private(set) var context: ParseContext

    /// - Parameters:
    ///   - format: the format the files were written in; nil tells it from each file's content.
    ///   - options: `zeroBasedIndices`, `regression`, `hashBits`, `initialLabels` and the CSV
    ///     delimiter apply; the record format is taken from the coreset format.
    public init(format: CoresetFormat? = nil, options: ReaderOptions = ReaderOptions()) {
        self.format = format
        self.options = options
        self.context = ParseContext(labels: options.initialLabels ?? LabelMap(regression: options.regression))
    }

    /// The format of a coreset file as `CoresetWriter` writes them, from its first line that is not
    /// blank or a comment: `{` starts JSON Lines, a header naming `id` and `weight` is CSV, a `|` is VW,
    /// anything else LIBSVM. Empty text reads as LIBSVM (no elements either way).
    public static func detectFormat(_ text: [UInt8], delimiter: UInt8 = UInt8(ascii: ",")) -> CoresetFormat {
        var start = 0
        while start < text.count {
            var end = start
            while end < text.count && text[end] != 0x0A { end += 1 }
            let line = text[start..<end].drop { $0 == 0x20 || $0 == 0x09 }
            start = end + 1
            guard let first = line.first, first != UInt8(ascii: "#"), first != 0x0D else { continue }
            if first == UInt8(ascii: "{") { return .jsonl }
            let fields = line.split(separator: delimiter).map { String(decoding: $0, as: UTF8.self).trimmingSpaces().lowercased() }
            if fields.contains("id") && fields.contains("weight") { return .csv }
            if line.contains(UInt8(ascii: "|")) { return .vw }
            return .libsvm
        }
        return .libsvm
    }

    /// Reader options for one format: the writer's CSV has a header with `id`, `label`, `weight`.
    func options(for format: CoresetFormat) -> ReaderOptions {
        var o = options
        o.format = RecordFormat(rawValue: format.rawValue)!
        if format == .csv {
            o.csv.labelColumn = o.csv.labelColumn ?? "label"
            o.csv.header = true
        }
        // Coreset VW files hold numbers, not names to hash: keep every index as written.
        if format == .vw { o.hashBits = 32 }
        return o
    }

    /// Label mapping learned so far (for writing the merged coreset with the same label texts).
    public var labels: LabelMap { context.labels }

    /// Reads one coreset file (`-` is stdin).
    /// - Throws: `CoresetError.io` / `.corruptInput` for unreadable input, `.badRecord(input:line:reason:)`
    ///   for a malformed line, `.badFile` for a file that is not a coreset as a whole (a CSV without
    ///   `id`/`weight` columns).
    public mutating func read(path: String) throws(CoresetError) -> WeightedCoreset {
        let bytes = try Self.readAll(path)
        return try parse(bytes, name: path == "-" ? "<stdin>" : path)
    }

    /// Parses the text of a coreset file (already decompressed); `name` is used in messages.
    public mutating func parse(_ text: [UInt8], name: String) throws(CoresetError) -> WeightedCoreset {
        let format = self.format ?? Self.detectFormat(text, delimiter: options.csv.delimiter)
        let options = options(for: format)
        var parser = options.format.makeParser(options: options)
        var elements: [WeightedCoreset.Element] = []
        var batch = RecordBatch()
        var csvColumns: (id: Int, weight: Int, origin: Int?)?
        // One byte of slack: parsers may read the terminator after a line.
        var buffer = text
        buffer.append(0x0A)
        let total = text.count
        var failure: CoresetError?
        buffer.withUnsafeBytes { all in
            var lineNumber: UInt64 = 0
            // Every line of the text, the last one ended by the slack newline; none starts there.
            _ = TextLines.forEach(in: all) { raw in
                guard raw.baseAddress! - all.baseAddress! < total else { return false }
                lineNumber += 1
                let line = TextLines.droppingCarriageReturn(raw)
                if Self.hasPrefix(line, "# coreset after ") {
                    elements.removeAll()
                    return true
                }
                do throws(ParseFailure) {
                    batch.removeAll()
                    let isHeader = format == .csv && csvColumns == nil && !Self.isBlankOrComment(line)
                    guard try parser.parse(line, into: &batch, context: &context) else {
                        if isHeader { csvColumns = try Self.csvColumns(line, delimiter: options.csv.delimiter) }
                        return true
                    }
                    if format == .csv && csvColumns == nil {
                        throw ParseFailure("a coreset CSV starts with a header naming its id and weight columns")
                    }
                    let (id, origin) = try Self.id(of: line, format: format, csvColumns: csvColumns, delimiter: options.csv.delimiter)
                    var record = batch[0]
                    record.position = id
                    if format == .vw && !options.zeroBasedIndices {
                        // VW maps a numeric name to that index; the writer numbers features from 1.
                        let f = record.features
                        guard f.indices.allSatisfy({ $0 > 0 }) else {
                            throw ParseFailure("feature 0 in a coreset numbered from 1 (a VW coreset of coreset 0.1 numbers from 0: read it with --zero-based)")
                        }
                        record.features = FeatureVector(indices: f.indices.map { $0 - 1 }, values: f.values)
                    }
                    if format == .csv {
                        // CSV rows are dense: keep the record sparse, as it was selected.
                        let f = record.features
                        let keep = f.values.indices.filter { f.values[$0] != 0 }
                        if keep.count < f.values.count {
                            record.features = FeatureVector(indices: keep.map { f.indices[$0] }, values: keep.map { f.values[$0] })
                        }
                    }
                    guard record.weight.isFinite && record.weight >= 0 else {
                        throw ParseFailure("weight \(record.weight) is not a non-negative number")
                    }
                    let classIndex = context.labels.isRegression ? 0 : record.classIndex
                    elements.append(.init(record: record, weight: record.weight, classIndex: classIndex, origin: origin))
                    context.nextPosition += 1
                } catch {
                    failure = .badRecord(input: name, line: lineNumber, reason: error.reason)
                    return false
                }
                return true
            }
        }
        if let failure { throw failure }
        return WeightedCoreset(elements: elements)
    }

    // MARK: - Ids and explicit weights, per format

    /// The element's id and origin (merged coresets), after checking that the line carries an explicit weight.
    static func id(of line: UnsafeRawBufferPointer, format: CoresetFormat, csvColumns: (id: Int, weight: Int, origin: Int?)?,
                   delimiter: UInt8) throws(ParseFailure) -> (UInt64, CoresetOrigin?) {
        func origin(_ text: Substring?) throws(ParseFailure) -> CoresetOrigin? {
            guard let text else { return nil }
            guard let o = CoresetOrigin(text: text) else { throw ParseFailure("origin '\(text)' is not 'shard:id'") }
            return o
        }
        switch format {
        case .libsvm:
            // Bytes up to the comment, not a String of the line: this runs for every element of every
            // shard (it was a sixth of a 100,000-element merge).
            let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")
            var hash = line.count
            for i in 0..<line.count where line[i] == UInt8(ascii: "#") { hash = i; break }
            var i = 0
            while i < hash && (line[i] == space || line[i] == tab) { i += 1 }
            var labelWeighted = false
            while i < hash && line[i] != space && line[i] != tab {
                if line[i] == UInt8(ascii: ":") { labelWeighted = true }
                i += 1
            }
            let comment = hash < line.count
                ? Substring(String(decoding: UnsafeRawBufferPointer(rebasing: line[(hash + 1)...]), as: UTF8.self)) : nil
            guard labelWeighted || comment.flatMap({ field("weight=", in: $0) }) != nil else {
                throw ParseFailure("no weight: a coreset line ends with '# id=N weight=W' (or starts with label:weight)")
            }
            guard let comment, let id = idField(in: comment) else {
                throw ParseFailure("no id: a coreset line ends with '# id=N weight=W'")
            }
            return (id, try origin(field("origin=", in: comment)))
        case .csv:
            guard let columns = csvColumns else { throw ParseFailure("no CSV header") }
            let fields = try csvFields(line, delimiter: delimiter)
            guard columns.id < fields.count, let id = UInt64(fields[columns.id].trimmingSpaces()) else {
                throw ParseFailure("the id column does not hold a non-negative integer")
            }
            guard let o = columns.origin else { return (id, nil) }
            guard o < fields.count else { throw ParseFailure("no origin field") }
            return (id, try origin(Substring(fields[o].trimmingSpaces())))
        case .jsonl:
            var reader = JSONReader(line)
            guard case .object(let members) = try reader.value() else { throw ParseFailure("not a JSON object") }
            guard members.contains(where: { $0.0 == "weight" }) else { throw ParseFailure("no \"weight\"") }
            guard let value = members.first(where: { $0.0 == "id" })?.1 else { throw ParseFailure("no \"id\"") }
            guard case .number(let v) = value, v >= 0, v == v.rounded(), v < 0x1p63 else {
                throw ParseFailure("\"id\" is not a non-negative integer")
            }
            guard let o = members.first(where: { $0.0 == "origin" })?.1 else { return (UInt64(v), nil) }
            guard case .string(let text) = o else { throw ParseFailure("\"origin\" is not a string 'shard:id'") }
            return (UInt64(v), try origin(Substring(text)))
        case .vw:
            let text = String(decoding: line, as: UTF8.self)
            let header = text.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)[0]
            let tokens = header.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard tokens.count >= 2, !tokens[1].hasPrefix("'") else {
                throw ParseFailure("no importance weight: a coreset line is 'label weight 'id | ...'")
            }
            guard tokens.count >= 3, tokens[2].hasPrefix("'") else {
                throw ParseFailure("no id: a coreset line is 'label weight 'id | ...'")
            }
            // A merged element's tag is its origin `S:P` (its id is P).
            let tag = tokens[2].dropFirst()
            if tag.contains(":") {
                let o = try origin(tag)!
                return (o.position, o)
            }
            guard let id = UInt64(tag) else { throw ParseFailure("no id: a coreset line is 'label weight 'id | ...'") }
            return (id, nil)
        }
    }

    /// `id=N` among the words of a LIBSVM comment.
    static func idField(in comment: Substring) -> UInt64? {
        field("id=", in: comment).flatMap { UInt64($0) }
    }

    /// The rest of the first word of a LIBSVM comment that starts with `key`.
    static func field(_ key: String, in comment: Substring) -> Substring? {
        for word in comment.split(whereSeparator: { $0 == " " || $0 == "\t" }) where word.hasPrefix(key) {
            return word.dropFirst(key.count)
        }
        return nil
    }

    /// Positions of the `id` and `weight` columns in a CSV header.
    static func csvColumns(_ line: UnsafeRawBufferPointer, delimiter: UInt8) throws(ParseFailure) -> (id: Int, weight: Int, origin: Int?) {
        let names = try csvFields(line, delimiter: delimiter).map { $0.trimmingSpaces().lowercased() }
        guard let id = names.firstIndex(of: "id") else { throw ParseFailure("the CSV header has no id column") }
        guard let weight = names.firstIndex(of: "weight") else { throw ParseFailure("the CSV header has no weight column") }
        return (id, weight, names.firstIndex(of: "origin"))
    }

    /// Fields of a CSV line, with RFC 4180 quotes removed.
    static func csvFields(_ line: UnsafeRawBufferPointer, delimiter: UInt8) throws(ParseFailure) -> [String] {
        var fields: [String] = []
        var current: [UInt8] = []
        var quoted = false
        var i = 0
        while i < line.count {
            let c = line[i]
            if quoted {
                if c == UInt8(ascii: "\"") {
                    if i + 1 < line.count && line[i + 1] == UInt8(ascii: "\"") {
                        current.append(c)
                        i += 1
                    } else {
                        quoted = false
                    }
                } else {
                    current.append(c)
                }
            } else if c == UInt8(ascii: "\"") {
                quoted = true
            } else if c == delimiter {
                fields.append(String(decoding: current, as: UTF8.self))
                current.removeAll(keepingCapacity: true)
            } else {
                current.append(c)
            }
            i += 1
        }
        if quoted { throw ParseFailure("unterminated quote") }
        fields.append(String(decoding: current, as: UTF8.self))
        return fields
    }

    static func hasPrefix(_ line: UnsafeRawBufferPointer, _ prefix: StaticString) -> Bool {
        guard line.count >= prefix.utf8CodeUnitCount else { return false }
        for k in 0..<prefix.utf8CodeUnitCount where line[k] != prefix.utf8Start[k] { return false }
        return true
    }

    static func isBlankOrComment(_ line: UnsafeRawBufferPointer) -> Bool {
        for c in line where c != 0x20 && c != 0x09 { return c == UInt8(ascii: "#") }
        return true
    }

    /// The whole decompressed content of a file (`-`: stdin).
    static func readAll(_ path: String) throws(CoresetError) -> [UInt8] {
        let source = DecompressingSource(try FileDescriptorSource(path: path))
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            var n = 0
            var failure: CoresetError?
            chunk.withUnsafeMutableBytes { b in
                do throws(CoresetError) { n = try source.read(into: b) } catch { failure = error }
            }
            if let failure { throw failure }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }
}
