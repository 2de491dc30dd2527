import Glibc

/// Progress lines on stderr at doubling record counts, as Vowpal Wabbit prints them; on a terminal
/// the line is also refreshed in place (`\r`) about once a second between those rows.
public final class ProgressReporter {
    private let enabled: Bool
    private let terminal: Bool
    private var nextRow: UInt64 = 1024
    private var lastRedraw = 0.0
    private var inPlaceShown = false
    public let start = monotonicSeconds()

    public init(enabled: Bool = true) {
        self.enabled = enabled
        self.terminal = isatty(2) == 1
    }

    /// Seconds since creation.
    public var elapsed: Double { monotonicSeconds() - start }

    /// Reports `line()` if `count` passed the next doubling point (or a second passed on a terminal).
    public func update(count: UInt64, _ line: () -> String) {
        guard enabled else { return }
        if count >= nextRow {
            while nextRow <= count { nextRow *= 2 }
            emit(line(), final: true)
        } else if terminal {
            let now = monotonicSeconds()
            if now - lastRedraw >= 1 {
                lastRedraw = now
                emit(line(), final: false)
            }
        }
    }

    /// Prints a row unconditionally (e.g. the last one).
    public func finish(_ line: String) {
        guard enabled else { return }
        emit(line, final: true)
    }

    private func emit(_ line: String, final: Bool) {
        if terminal {
            let text = "\r\u{1B}[K" + line + (final ? "\n" : "")
            var bytes = Array(text.utf8)
            bytes.withUnsafeMutableBytes { _ = Glibc.write(2, $0.baseAddress, $0.count) }
            inPlaceShown = !final
        } else if final {
            writeDiagnostic(line)
        }
    }
}

/// Formats a count of bytes per second as MB/s with one decimal.
public func formatRate(_ value: Double, unit: String) -> String {
    let v = value.isFinite ? value : 0
    return formatFixed(v, 1) + " " + unit
}

/// A fixed-point decimal without Foundation.
public func formatFixed(_ value: Double, _ decimals: Int) -> String {
    guard value.isFinite else { return String(value) }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let negative = value < 0
    let scaled = (abs(value) * scale).rounded()
    let whole = (scaled / scale).rounded(.towardZero)
    let frac = Int(scaled - whole * scale)
    var s = (negative && scaled > 0 ? "-" : "") + String(Int64(whole))
    if decimals > 0 {
        let f = String(frac)
        s += "." + String(repeating: "0", count: decimals - f.count) + f
    }
    return s
}
