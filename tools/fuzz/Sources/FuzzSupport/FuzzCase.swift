import CoresetKit
import Glibc

// Shared by the fuzz targets (tools/fuzz) and by the ordinary test suite, which replays every input
// kept in fixtures/fuzz/regressions/ through the same checks (Tests/CoresetKitTests/Fuzz is a link
// to this file). It only uses CoresetKit's public API.

/// What a fuzz target feeds the reader.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case libsvm, csv, jsonl, vw, zstd, gzip
    /// Raw log lines (`RecordFormat.text`); a second option byte chooses the `TextOptions`.
    case text
    /// Not `RecordReader`: the coreset-file reader (`coreset merge`), checkpoints (selector state,
    /// `RunState`, `SelectState`), model files and `FollowSource` (FuzzStateTargets.swift).
    case coresetfile, checkpoint, model, follow

    public var format: RecordFormat {
        switch self {
        case .libsvm, .zstd, .gzip, .coresetfile, .checkpoint, .model, .follow: return .libsvm
        case .csv: return .csv
        case .jsonl: return .jsonl
        case .vw: return .vw
        case .text: return .text
        }
    }

    /// The magic the compressed targets put in front of an input that lacks it, so the fuzzer
    /// spends its time inside the codec.
    public var magic: [UInt8]? {
        switch self {
        case .zstd: return [0x28, 0xB5, 0x2F, 0xFD]
        case .gzip: return [0x1F, 0x8B]
        default: return nil
        }
    }

    /// The target a regression file belongs to, from its name (`<target>-<what>`).
    public init?(fileName: String) {
        guard let prefix = fileName.split(separator: "-").first, let t = FuzzTarget(rawValue: String(prefix)) else { return nil }
        self = t
    }
}

/// What one fuzz input asks of the reader: the first byte chooses options, the rest is the stream.
///
/// Deriving options from the input (as zstd's `fuzz_data_producer.h` does) lets the fuzzer reach
/// small chunk sizes (lines that straddle reads, buffer growth), strict mode and each format's flags:
/// bit 0 strict, bit 1 zero-based, bits 2-3 chunk size (16, 61, 4096, 1 MiB), bit 4 regression,
/// bits 5-7 CSV header/delimiter, prefetch thread when all three are set; VW hash bits from bits 3-7.
public struct FuzzCase {
    public var options: ReaderOptions
    public var content: [UInt8]

    /// Splits `data` into option byte and content; nil for an empty input.
    public init?(_ data: UnsafeRawBufferPointer, target: FuzzTarget) {
        guard data.count > 0 else { return nil }
        let config = data[0]
        content = Array(data[1...])
        var textConfig: UInt8 = 0
        if target == .text, let b = content.first {
            textConfig = b
            content.removeFirst()
        }
        if let magic = target.magic, !content.starts(with: magic) { content = magic + content }
        var o = ReaderOptions()
        o.format = target.format
        o.strict = config & 1 != 0
        o.zeroBasedIndices = config & 2 != 0
        o.chunkSize = [16, 61, 4096, 1 << 20][Int(config >> 2) & 3]
        o.regression = config & 16 != 0
        // The prefetching thread is exercised on one input in eight: a thread per input is slow.
        o.prefetch = config & 0xE0 == 0xE0
        o.maxReported = 0
        switch config >> 5 {
        case 0, 1: o.csv.header = nil
        case 2, 3: o.csv.header = true
        default: o.csv.header = false
        }
        if config & 64 != 0 { o.csv.delimiter = UInt8(ascii: ";") }
        o.hashBits = 4 + Int(config >> 3) % 20
        if target == .text {
            o.regression = false  // a text line's label is a class name
            o.text = Self.textOptions(textConfig)
        }
        options = o
    }

    /// Text options from the second byte: bits 0-1 label source (none, `level=(\w+)`, field 0, JSON
    /// key `level`), bits 2-3 n-grams 1-3 (and JSON `textKey` "msg" when 3), bit 4 shape grams off
    /// (else 3 or 4 by bit 5), bit 5 timestamps stripped, bit 6 no lowercasing / number masking /
    /// unit length, bit 7 space-delimited fields, a label map and kept lines.
    static func textOptions(_ b: UInt8) -> TextOptions {
        var t = TextOptions()
        switch b & 3 {
        case 0: t.label = .none
        case 1: t.label = .pattern(#"level=(\w+)"#)
        case 2: t.label = .field(0)
        default: t.label = .jsonKey("level")
        }
        let n = Int(b >> 2) & 3
        t.ngrams = max(1, n)
        if n == 3 { t.textKey = "msg" }
        t.shapeGrams = b & 16 != 0 ? 0 : (b & 32 != 0 ? 3 : 4)
        if b & 32 != 0 { t.stripPatterns = [TextOptions.timestampPattern] }
        if b & 64 != 0 {
            t.lowercase = false
            t.maskNumbers = false
            t.maskCalendarNames = false
            t.unitLength = false
            t.wordWeight = 0.5
        }
        if b & 128 != 0 {
            t.fieldDelimiter = nil
            t.labelMap = ["ERROR": "bad", "WARN": "bad"]
            t.keepLines = true
        }
        return t
    }
}

/// A stream read in full: the records, the totals and the error that ended it.
public struct ReadOutcome {
    public var records: [Record]
    public var statistics: IngestStatistics
    public var error: CoresetError?
}

/// A file in /dev/shm (memory) holding one input, removed on deinit; a random name, so tests
/// running in parallel do not share it.
public final class InputFile {
    public let path = "/dev/shm/coreset-fuzz-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"

    public init(_ bytes: [UInt8]) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        precondition(fd >= 0, "cannot create \(path)")
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
            precondition(n > 0, "write to \(path) failed")
            written += n
        }
        close(fd)
    }

    deinit { unlink(path) }
}

/// Reads a file through `RecordReader`, the path every input takes (open, magic detection,
/// decompression, line splitting, parsing).
public func readThroughReader(_ file: InputFile, options: ReaderOptions) -> ReadOutcome {
    let reader = RecordReader(inputs: [.file(file.path)], options: options)
    var records: [Record] = []
    do throws(CoresetError) {
        while let batch = try reader.next() { records.append(contentsOf: batch.records) }
        return ReadOutcome(records: records, statistics: reader.statistics, error: nil)
    } catch {
        return ReadOutcome(records: records, statistics: reader.statistics, error: error)
    }
}

/// Reads one fuzz input and returns every broken promise (empty when all hold):
///
/// - every accepted record was delivered once, with consecutive positions;
/// - features are sorted, unique and finite; labels finite; weights finite and non-negative;
///   classification labels are class ids in range;
/// - a stream ends with a bad-record error only in strict mode, with a corrupt-input error only
///   when compressed, never with an I/O error;
/// - the chunk size and the prefetch thread do not change the outcome (records, counts, error).
public func fuzzProblems(_ data: UnsafeRawBufferPointer, target: FuzzTarget) -> [String] {
    switch target {
    case .coresetfile: return coresetFileProblems(data)
    case .checkpoint: return checkpointProblems(data)
    case .model: return modelProblems(data)
    case .follow: return followProblems(data)
    default: break
    }
    guard let fuzz = FuzzCase(data, target: target) else { return [] }
    // The reader tells compression by magic bytes, so a "plain" input may still be compressed.
    let compressed = fuzz.content.starts(with: [0x28, 0xB5, 0x2F, 0xFD]) || fuzz.content.starts(with: [0x1F, 0x8B])
    let file = InputFile(fuzz.content)
    let outcome = readThroughReader(file, options: fuzz.options)
    var problems = invariantProblems(outcome, options: fuzz.options, compressed: compressed)
    var reference = fuzz.options
    reference.chunkSize = 1 << 20
    reference.prefetch = false
    guard reference.chunkSize != fuzz.options.chunkSize || reference.prefetch != fuzz.options.prefetch else { return problems }
    let other = readThroughReader(file, options: reference)
    // A corrupt frame may be noticed after more or less output depending on the read sizes;
    // whole compressed streams must agree.
    if compressed && (outcome.error != nil || other.error != nil) { return problems }
    let chunk = fuzz.options.chunkSize
    if outcome.records != other.records { problems.append("records differ between chunk sizes \(chunk) and 1 MiB") }
    if outcome.statistics.recordsAccepted != other.statistics.recordsAccepted || outcome.statistics.recordsSkipped != other.statistics.recordsSkipped {
        problems.append("accepted/skipped counts differ between chunk sizes \(chunk) and 1 MiB")
    }
    if outcome.error != other.error {
        problems.append("errors differ between chunk sizes: \(String(describing: outcome.error)) vs \(String(describing: other.error))")
    }
    return problems
}

func invariantProblems(_ outcome: ReadOutcome, options: ReaderOptions, compressed: Bool) -> [String] {
    var problems: [String] = []
    let s = outcome.statistics
    if s.recordsAccepted != UInt64(outcome.records.count) {
        problems.append("accepted \(s.recordsAccepted) but delivered \(outcome.records.count)")
    }
    for (k, r) in outcome.records.enumerated() {
        if r.position != UInt64(k) { problems.append("record \(k) has position \(r.position)") }
        if !r.label.isFinite { problems.append("record \(k): label \(r.label)") }
        if !(r.weight.isFinite && r.weight >= 0) { problems.append("record \(k): weight \(r.weight)") }
        if !options.regression && !(r.label >= 0 && r.label == r.label.rounded() && r.label <= Double(LabelMap.maxClassId)) {
            problems.append("record \(k): class \(r.label)")
        }
        let f = r.features
        for j in f.values.indices {
            if !f.values[j].isFinite { problems.append("record \(k): value \(f.values[j])") }
            if j > 0 && f.indices[j] <= f.indices[j - 1] { problems.append("record \(k): indices not increasing at \(j)") }
        }
    }
    switch outcome.error {
    case nil: break
    case .badRecord:
        if !options.strict { problems.append("a bad record ended a non-strict stream: \(outcome.error!)") }
    case .corruptInput:
        if !compressed { problems.append("corrupt-input error on a plain stream: \(outcome.error!)") }
    default:
        problems.append("unexpected error: \(outcome.error!)")
    }
    return problems
}
