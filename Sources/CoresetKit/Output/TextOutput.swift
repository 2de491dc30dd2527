import Glibc

/// Buffered writing to a file descriptor (stdout for data, stderr for diagnostics).
///
/// Swift 6 cannot use the C `stdout`/`stderr` globals, so this writes through `write(2)`. A closed
/// downstream pipe (EPIPE, e.g. `| head`) raises `OutputClosed`, which commands treat as a clean stop.
public final class TextOutput {
    public let descriptor: Int32
    private var buffer: [UInt8] = []
    private let capacity: Int

    public init(descriptor: Int32, capacity: Int = 1 << 16) {
        self.descriptor = descriptor
        self.capacity = capacity
        buffer.reserveCapacity(capacity)
    }

    deinit { try? flush() }

    public func write(_ text: String) throws(OutputError) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= capacity { try flush() }
    }

    public func write(bytes: some Sequence<UInt8>) throws(OutputError) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= capacity { try flush() }
    }

    public func flush() throws(OutputError) {
        var offset = 0
        defer {
            if offset >= buffer.count { buffer.removeAll(keepingCapacity: true) } else { buffer.removeFirst(offset) }
        }
        while offset < buffer.count {
            let n = buffer.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { throw .closed }
                throw .failed(errnoDescription())
            }
            offset += n
        }
    }

    /// True when the descriptor is a terminal (progress is redrawn in place only then).
    public var isTerminal: Bool { isatty(descriptor) == 1 }
}

/// Why output could not be written.
public enum OutputError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The reader went away (EPIPE): a clean stop.
    case closed
    case failed(String)

    /// The system's reason, as a phrase ("No space left on device").
    public var description: String {
        switch self {
        case .closed: return "the reading end of the pipe was closed"
        case .failed(let m): return m
        }
    }
}

/// Writes one line to stderr at once (diagnostics are never buffered behind data).
public func writeDiagnostic(_ message: String) {
    let line = message + "\n"
    var utf8 = Array(line.utf8)
    utf8.withUnsafeMutableBytes { _ = Glibc.write(2, $0.baseAddress, $0.count) }
}
