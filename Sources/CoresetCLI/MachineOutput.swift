import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import CoresetKit

/// `--json` and `--progress-log`, on every command.
struct MachineOutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print the summary as one JSON object (on stdout, or on stderr where stdout carries data: select, merge, predict).")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Write one JSON object per progress row to this file (records, seconds, losses; plot with tools/plot_progress.py).", valueName: "file"))
    var progressLog: String?

    func openLog() throws(CoresetError) -> ProgressLog? {
        try progressLog.map { path throws(CoresetError) in try ProgressLog(path: path) }
    }
}

/// A summary as `name<TAB>value` lines, or as one JSON object: numbers stay numbers, other values
/// are strings, and `label<TAB>name<TAB>count` lines (stats) become `"labels": {name: count}`.
func renderSummary(_ lines: [String], json: Bool) -> String {
    guard json else { return lines.joined(separator: "\n") + "\n" }
    var members: [String] = []
    var labels: [String] = []
    for line in lines {
        let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        if fields.count == 3 && fields[0] == "label" {
            labels.append(jsonString(fields[1]) + ":" + jsonValue(fields[2]))
        } else if fields.count == 2 {
            members.append(jsonString(fields[0]) + ":" + jsonValue(fields[1]))
        }
    }
    if !labels.isEmpty { members.append("\"labels\":{" + labels.joined(separator: ",") + "}") }
    return "{" + members.joined(separator: ",") + "}\n"
}

/// A value as JSON: a number when the text is a JSON number, else a string.
func jsonValue(_ text: String) -> String {
    isJSONNumber(text) ? text : jsonString(text)
}

/// Whether `text` follows JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func isJSONNumber(_ text: String) -> Bool {
    let b = Array(text.utf8)
    var i = 0
    func digits() -> Int {
        let s = i
        while i < b.count && b[i] >= 48 && b[i] <= 57 { i += 1 }
        return i - s
    }
    if i < b.count && b[i] == UInt8(ascii: "-") { i += 1 }
    guard i < b.count else { return false }
    if b[i] == UInt8(ascii: "0") { i += 1 } else if digits() == 0 { return false }
    if i < b.count && b[i] == UInt8(ascii: ".") {
        i += 1
        if digits() == 0 { return false }
    }
    if i < b.count && (b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E")) {
        i += 1
        if i < b.count && (b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-")) { i += 1 }
        if digits() == 0 { return false }
    }
    return i == b.count
}

/// `s` as a JSON string literal (the escaping of the JSON Lines writer).
func jsonString(_ s: String) -> String { "\"" + CoresetWriter.jsonEscaped(s) + "\"" }

/// `--progress-log FILE`: one JSON object per line, written as rows come (a log, not a result: it is
/// written in place and flushed after every row, so it can be watched while the run goes on).
/// `run` reports progress from its learner thread: rows are written under a lock.
final class ProgressLog: @unchecked Sendable {
    let path: String
    private let output: TextOutput
    private var nextRow: UInt64 = 1024
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init(path: String) throws(CoresetError) {
        self.path = path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw .io(input: path, message: "cannot create: \(String(cString: strerror(errno)))") }
        output = TextOutput(descriptor: fd)
        pthread_mutex_init(lock, nil)
    }

    deinit {
        try? output.flush()
        close(output.descriptor)
        pthread_mutex_destroy(lock)
        lock.deallocate()
    }

    /// Writes a row of `(name, value)` pairs; values are JSON numbers when they read as numbers.
    func write(_ fields: [(String, String)]) throws(CoresetError) {
        let row = "{" + fields.map { jsonString($0.0) + ":" + jsonValue($0.1) }.joined(separator: ",") + "}\n"
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        do {
            try output.write(row)
            try output.flush()
        } catch {
            throw .io(input: path, message: "cannot write: \(error)")
        }
    }

    /// Writes a row when `count` passed the next doubling point (the rows of the progress lines).
    func update(count: UInt64, _ fields: () -> [(String, String)]) throws(CoresetError) {
        guard count >= nextRow else { return }
        while nextRow <= count { nextRow *= 2 }
        try write(fields())
    }
}

/// Percent done and time left, from the compressed bytes read of input files whose size is known.
struct InputSize {
    /// Total bytes of the input files; nil for stdin, a followed file or anything but regular files.
    let total: UInt64?
    /// Whether stderr is a terminal (the bar is drawn only there).
    let terminal = InputSize.stderrIsTerminal
    static var stderrIsTerminal: Bool { isatty(2) == 1 }

    init(_ input: InputOptions) {
        guard input.follow == nil, !input.files.isEmpty, !input.files.contains("-") else {
            total = nil
            return
        }
        var sum: UInt64 = 0
        for path in input.files {
            var st = stat()
            guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                total = nil
                return
            }
            sum += UInt64(st.st_size)
        }
        total = sum > 0 ? sum : nil
    }

    /// ` [#####.....] 42% ETA 1:20` on a terminal when the size is known, else "".
    func bar(bytesRead: UInt64, elapsed: Double) -> String {
        guard terminal, let total else { return "" }
        return Self.bar(fraction: min(1, Double(bytesRead) / Double(total)), elapsed: elapsed)
    }

    /// ` [#####.....] 42% ETA 1:20` for work `fraction` done after `elapsed` seconds.
    static func bar(fraction: Double, elapsed: Double) -> String {
        let width = 20
        let filled = Int((fraction * Double(width)).rounded(.down))
        var text = " [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
        text += formatFixed(fraction * 100, 0) + "%"
        if fraction > 0.01 && fraction < 1 {
            let left = elapsed * (1 - fraction) / fraction
            let s = Int(left.rounded())
            text += " ETA " + (s >= 3600 ? "\(s / 3600):" + twoDigits((s / 60) % 60) + ":" : "\(s / 60):") + twoDigits(s % 60)
        }
        return text
    }

    private static func twoDigits(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
}
