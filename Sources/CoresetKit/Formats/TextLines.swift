#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where lines end in text: the one line splitter of the record reader, the coreset stage and the coreset
/// file reader (memchr is vectorised).
enum TextLines {
    /// Calls `body` with each line of `text[start...]` that a newline (0x0A) ends, without that newline (a
    /// carriage return before it stays: see `droppingCarriageReturn`), in order, until `body` returns false.
    /// The search for the first newline starts at `searchFrom` (bytes before it are known to hold none).
    /// Returns the offset after the newline of the last line handed to `body`: where the unterminated rest
    /// begins or, if `body` stopped, where the line after the stopping one begins.
    @inline(__always)
    static func forEach(in text: UnsafeRawBufferPointer, from start: Int = 0, searchFrom: Int = 0,
                        _ body: (UnsafeRawBufferPointer) -> Bool) -> Int {
        guard let base = text.baseAddress else { return start }
        var start = start
        var search = max(searchFrom, start)
        while search < text.count, let newline = memchr(base + search, 0x0A, text.count - search) {
            let end = UnsafeRawPointer(newline) - base
            let goOn = body(UnsafeRawBufferPointer(start: base + start, count: end - start))
            start = end + 1
            search = start
            if !goOn { break }
        }
        return start
    }

    /// The line without a trailing carriage return (a CRLF line ending).
    @inline(__always)
    static func droppingCarriageReturn(_ line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        line.count > 0 && line[line.count - 1] == 0x0D ? UnsafeRawBufferPointer(rebasing: line[0..<(line.count - 1)]) : line
    }
}
