#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A blocking source of bytes: a file, stdin, a followed file or a decompressor over another source.
///
/// `read(into:)` returns as soon as the underlying `read()` returns anything (it never waits to fill
/// the buffer), so a slow interactive pipe is handed on line by line. It returns 0 only at the end.
public protocol ByteSource: AnyObject {
    /// Name used in messages: a path or `<stdin>`.
    var name: String { get }
    /// Bytes taken from the underlying raw input so far (compressed bytes for a decompressor).
    var rawBytesRead: UInt64 { get }
    /// Reads up to `buffer.count` bytes; returns 0 at end of stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(CoresetError) -> Int
    /// Set when the source began a new, independent stream since the last call (a followed file
    /// was rotated or truncated): a decompressor must start over and a partial line must go.
    func takeRestart() -> StreamRestart?
}

/// Why a followed source started over.
public enum StreamRestart: Sendable, Equatable {
    /// A new file appeared at the path (log rotation); what was read from the old one is complete.
    case rotated
    /// The file shrank (copytruncate); what was read before is kept, the file is read from its start.
    case truncated
}

extension ByteSource {
    public func takeRestart() -> StreamRestart? { nil }
}

/// Reads from a file descriptor: a regular file, stdin or a pipe.
public final class FileDescriptorSource: ByteSource {
    public let name: String
    public private(set) var rawBytesRead: UInt64 = 0
    private let fd: Int32
    private let ownsDescriptor: Bool
    /// A pipe, socket or terminal: a read may block for ever, so it waits in `poll()` and looks at
    /// `Interruption` between waits (the signal may be delivered to another thread).
    private lazy var mayBlock: Bool = {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return false }
        return (st.st_mode & S_IFMT) != S_IFREG && (st.st_mode & S_IFMT) != S_IFBLK
    }()

    /// Opens `path` for reading; `-` means stdin.
    public init(path: String) throws(CoresetError) {
        if path == "-" {
            self.name = "<stdin>"
            self.fd = 0
            self.ownsDescriptor = false
            return
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw .io(input: path, message: "cannot open: \(errnoDescription())") }
        var st = stat()
        if fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw .io(input: path, message: "is a directory")
        }
        self.name = path
        self.fd = fd
        self.ownsDescriptor = true
    }

    /// Wraps an already open descriptor (not closed on deinit).
    public init(descriptor: Int32, name: String) {
        self.fd = descriptor
        self.name = name
        self.ownsDescriptor = false
    }

    deinit { if ownsDescriptor { close(fd) } }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(CoresetError) -> Int {
        while true {
            if mayBlock {
                if Interruption.requested { return 0 }
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&p, 1, Interruption.pollInterval)
                if ready == 0 || (ready < 0 && errno == EINTR) { continue }
            }
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 {
                rawBytesRead += UInt64(n)
                return n
            }
            if errno == EINTR {
                if Interruption.requested { return 0 }
                continue
            }
            throw .io(input: name, message: "read failed at byte \(rawBytesRead): \(errnoDescription())")
        }
    }
}
