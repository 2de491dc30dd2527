/// The few options most runs use, shown at the top of a command's `--help` (the generated list
/// below it follows declaration order, where the input options come first and `-k` only after
/// about a hundred lines).
enum CommonOptionsHelp {
    static func text(_ rows: [(String, String)], note: String = "") -> String {
        let width = rows.map(\.0.count).max() ?? 0
        let lines = rows.map { "  " + $0.0 + String(repeating: " ", count: width - $0.0.count + 2) + $0.1 }
        return (note.isEmpty ? "" : note + "\n\n") + "COMMON OPTIONS (every option is listed below):\n" + lines.joined(separator: "\n")
    }

    static let input = ("-f, --format <format>", "libsvm (default), csv, jsonl, vw, text")
    static let quiet = ("-q, --quiet", "no progress on stderr")
    static let json = ("--json", "the summary as one JSON object")
    static let progressLog = ("--progress-log <file>", "one JSON row per progress line")
}
