/// Errors that end a stream, each naming where it happened.
///
/// `exitCode` follows sysexits: 64 usage, 65 bad data, 74 I/O.
public enum CoresetError: Error, Sendable, CustomStringConvertible, Equatable {
    /// Wrong options or arguments.
    case usage(String)
    /// A read, open or write failed.
    case io(input: String, message: String)
    /// Compressed data is corrupt or truncated at a byte offset of the (compressed) input.
    case corruptInput(input: String, offset: UInt64, message: String)
    /// A record could not be decoded (in strict mode this ends the stream).
    case badRecord(input: String, line: UInt64, reason: String)
    /// A file that should hold a model, a coreset or similar is malformed.
    case badFile(path: String, message: String)

    public var description: String {
        switch self {
        case .usage(let m): return m
        case .io(let input, let m): return "\(input): \(m)"
        case .corruptInput(let input, let offset, let m): return "\(input): at byte \(offset): \(m)"
        case .badRecord(let input, let line, let reason): return "\(input):\(line): \(reason)"
        case .badFile(let path, let m): return "\(path): \(m)"
        }
    }

    /// sysexits code for this error.
    public var exitCode: Int32 {
        switch self {
        case .usage: return 64
        case .io: return 74
        case .corruptInput, .badRecord, .badFile: return 65
        }
    }
}
