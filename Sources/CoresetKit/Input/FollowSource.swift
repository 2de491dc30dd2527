#if canImport(Glibc)
import Glibc
#endif

/// Follows a growing file like `tail -F`.
///
/// Keeps reading what is appended; when a different file appears at the path (rotation, a new
/// inode) it finishes the old file and continues with the new one from its start; when the file
/// shrinks (truncation) it reads again from the start; when the path disappears it waits for it.
/// Reads block (polling) until data arrives, the idle timeout passes or an interrupt is requested.
///
/// A file truncated and at once rewritten longer, or rewritten in place at the same size, keeps its
/// inode and does not shrink under the reader: before every read the first and the last 64 bytes
/// read so far are compared with the file's, and if either changed the file is read again from its
/// start (a restart, like a truncation: a partial line is dropped and counted). What cannot be seen
/// (as with `tail -F`): a rewrite that keeps those bytes, and lines written and truncated away
/// between two reads.
public final class FollowSource: ByteSource {
    public let name: String
    public private(set) var rawBytesRead: UInt64 = 0
    /// Poll interval while waiting for data, in seconds.
    public let pollInterval: Double
    /// End the stream after this many seconds without new data (nil: follow forever).
    public let idleTimeout: Double?

    private var fd: Int32 = -1
    private var device: UInt64 = 0
    private var inode: UInt64 = 0
    /// Offset in the currently open file.
    public private(set) var offset: Int64 = 0
    private var pendingRestart: StreamRestart?
    private var hasOpenedOnce = false
    /// The first and the last (up to) `fingerprintSize` bytes read from the open file.
    private var head: [UInt8] = []
    private var tail: [UInt8] = []
    static let fingerprintSize = 64

    public init(path: String, pollInterval: Double = 0.05, idleTimeout: Double? = nil) {
        self.name = path
        self.pollInterval = pollInterval
        self.idleTimeout = idleTimeout
        _ = tryOpen()
    }

    deinit { if fd >= 0 { close(fd) } }

    public func takeRestart() -> StreamRestart? {
        defer { pendingRestart = nil }
        return pendingRestart
    }

    /// (device, inode) of the file at the path, or nil if there is none.
    private func identityAtPath() -> (UInt64, UInt64, Int64)? {
        var st = stat()
        guard stat(name, &st) == 0 else { return nil }
        return (UInt64(st.st_dev), UInt64(st.st_ino), Int64(st.st_size))
    }

    private func tryOpen() -> Bool {
        let newFd = open(name, O_RDONLY | O_CLOEXEC)
        guard newFd >= 0 else { return false }
        var st = stat()
        fstat(newFd, &st)
        if fd >= 0 { close(fd) }
        fd = newFd
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        offset = 0
        head.removeAll()
        tail.removeAll()
        if hasOpenedOnce { pendingRestart = .rotated }
        hasOpenedOnce = true
        return true
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(CoresetError) -> Int {
        let idleSince = monotonicSeconds()
        while true {
            if Interruption.requested { return 0 }
            if fd >= 0 {
                if offset > 0 && rewrittenUnderUs() {
                    lseek(fd, 0, SEEK_SET)
                    offset = 0
                    head.removeAll()
                    tail.removeAll()
                    pendingRestart = .truncated
                }
                let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
                if n > 0 {
                    remember(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                    offset += Int64(n)
                    rawBytesRead += UInt64(n)
                    return n
                }
                if n < 0 && errno != EINTR {
                    throw .io(input: name, message: "read failed at byte \(offset): \(errnoDescription())")
                }
                // At the end of the open file: has it been truncated, or replaced at the path?
                var st = stat()
                if fstat(fd, &st) == 0 && Int64(st.st_size) < offset {
                    lseek(fd, 0, SEEK_SET)
                    offset = 0
                    head.removeAll()
                    tail.removeAll()
                    pendingRestart = .truncated
                    continue
                }
                if let (dev, ino, _) = identityAtPath(), dev != device || ino != inode {
                    // Rotation: the old descriptor is at its end (read above returned 0), so it is
                    // complete; switch to the new file.
                    if tryOpen() { continue }
                }
            } else if tryOpen() {
                continue
            }
            if let idleTimeout, monotonicSeconds() - idleSince >= idleTimeout { return 0 }
            var request = timespec(tv_sec: Int(pollInterval), tv_nsec: Int((pollInterval - Double(Int(pollInterval))) * 1e9))
            nanosleep(&request, nil)
        }
    }
}

extension FollowSource {
    /// Keeps the fingerprint of the bytes just read at `offset`.
    private func remember(_ bytes: UnsafeRawBufferPointer) {
        let size = Self.fingerprintSize
        if head.count < size && offset == Int64(head.count) { head.append(contentsOf: bytes.prefix(size - head.count)) }
        if bytes.count >= size {
            tail = Array(bytes.suffix(size))
        } else {
            tail.append(contentsOf: bytes)
            if tail.count > size { tail.removeFirst(tail.count - size) }
        }
    }

    /// True when the bytes at the start of the file, or just before `offset`, are no longer the
    /// ones read there: the file was rewritten in place (truncated and written again, say).
    private func rewrittenUnderUs() -> Bool {
        func differs(_ expected: [UInt8], at position: Int64) -> Bool {
            guard !expected.isEmpty else { return false }
            var now = [UInt8](repeating: 0, count: expected.count)
            let n = now.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(position)) }
            return n != expected.count || now != expected
        }
        return differs(head, at: 0) || differs(tail, at: offset - Int64(tail.count))
    }
}
