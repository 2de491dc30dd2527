import CZlib
import CZstd

/// The compression of a stream, told by its first bytes (never by its name).
public enum Compression: String, Sendable, CaseIterable {
    case zstd, gzip, plain

    /// zstd frames start with 28 B5 2F FD, zstd skippable frames (pzstd writes one first) with
    /// 5? 2A 4D 18 (magic 0x184D2A50...0x184D2A5F, little-endian), gzip members with 1F 8B.
    static func detect(_ bytes: UnsafeRawBufferPointer) -> Compression? {
        if bytes.count >= 1 && bytes[0] & 0xF0 == 0x50 {
            if bytes.count >= 2 && bytes[1] != 0x2A || bytes.count >= 3 && bytes[2] != 0x4D || bytes.count >= 4 && bytes[3] != 0x18 { return .plain }
            return bytes.count >= 4 ? .zstd : nil
        }
        if bytes.count >= 1 && bytes[0] != 0x28 && bytes[0] != 0x1F { return .plain }
        if bytes.count >= 2 && bytes[0] == 0x1F { return bytes[1] == 0x8B ? .gzip : .plain }
        if bytes.count >= 4 && bytes[0] == 0x28 {
            return bytes[1] == 0xB5 && bytes[2] == 0x2F && bytes[3] == 0xFD ? .zstd : .plain
        }
        return nil  // too few bytes to tell
    }
}

/// Decompresses another source, choosing zstd, gzip or plain text by magic bytes at every stream
/// start (each input, and again after a followed file is rotated or truncated).
///
/// Concatenated zstd frames and multi-member gzip decode in full. A stream that ends inside a frame
/// or member, or whose data is corrupt, throws `CoresetError.corruptInput` with the offset in the
/// compressed input; everything decoded before the fault has already been returned.
///
/// - Complexity: memory is one input buffer of `chunkSize` plus the codec's window (zstd: up to
///   its frame's window size, 8 MiB for default levels; gzip: 32 KiB).
public final class DecompressingSource: ByteSource {
    private let raw: ByteSource
    public var name: String { raw.name }
    public var rawBytesRead: UInt64 { raw.rawBytesRead }
    /// The compression of the current stream, once known.
    public private(set) var compression: Compression?
    /// Called with a warning when a followed file restarts inside a compressed frame.
    public var onWarning: ((String) -> Void)?

    private let input: UnsafeMutableRawBufferPointer
    private var inStart = 0
    private var inEnd = 0
    private var rawEnded = false
    private var pendingRestart: StreamRestart?
    /// A fault found in the same call that decoded the bytes before it: thrown by the next read.
    private var pendingError: CoresetError?

    private var zstd: OpaquePointer?
    private var zstdMidFrame = false
    private var zstdMayHaveOutput = false
    /// Input bytes zstd asks for next (its return value): one block at most per call, so a fault
    /// (a corrupt block, a bad checksum) never takes the blocks decoded before it in the same call
    /// with it (zstd does not report the output of a call that fails). 5: a frame header's prefix.
    private var zstdHint = 5
    private var gz = z_stream()
    private var gzActive = false
    private var gzMidMember = false

    /// Largest zstd window accepted, as a power of two (zstd's own default limit, 27: 128 MiB).
    public let zstdWindowLogMax: Int

    public init(_ raw: ByteSource, chunkSize: Int = 1 << 20, zstdWindowLogMax: Int = 27) {
        self.raw = raw
        self.zstdWindowLogMax = zstdWindowLogMax
        self.input = .allocate(byteCount: max(chunkSize, 64), alignment: 16)
    }

    deinit {
        input.deallocate()
        if let zstd { ZSTD_freeDCtx(zstd) }
        if gzActive { inflateEnd(&gz) }
    }

    public func takeRestart() -> StreamRestart? {
        defer { pendingRestart = nil }
        return pendingRestart
    }

    /// Offset in the compressed input of the next unconsumed byte.
    private var consumedOffset: UInt64 { raw.rawBytesRead - UInt64(inEnd - inStart) }

    /// Reads more raw bytes after the unconsumed ones; false at the end of the raw stream.
    private func refill() throws(CoresetError) -> Bool {
        if inStart > 0 {
            let left = inEnd - inStart
            if left > 0 { input.baseAddress!.copyMemory(from: input.baseAddress! + inStart, byteCount: left) }
            inStart = 0
            inEnd = left
        }
        if inEnd == input.count { return true }
        let n = try raw.read(into: UnsafeMutableRawBufferPointer(rebasing: input[inEnd...]))
        if let restart = raw.takeRestart() { try restartStream(restart, keepingNew: n) }
        if n == 0 {
            rawEnded = true
            return false
        }
        inEnd += n
        return true
    }

    /// The raw source began a new stream with the `n` bytes just read at `inEnd`.
    private func restartStream(_ restart: StreamRestart, keepingNew n: Int) throws(CoresetError) {
        if inStart < inEnd || zstdMidFrame || gzMidMember {
            onWarning?("\(name): file was \(restart == .rotated ? "rotated" : "truncated") inside a compressed frame; its undecoded end (\(inEnd - inStart) bytes) was dropped")
        }
        // Keep only the new bytes.
        if n > 0 { input.baseAddress!.copyMemory(from: input.baseAddress! + inEnd, byteCount: n) }
        inStart = 0
        inEnd = 0
        compression = nil
        zstdMidFrame = false
        zstdMayHaveOutput = false
        zstdHint = 5
        if let zstd { ZSTD_DCtx_reset(zstd, ZSTD_reset_session_only) }
        if gzActive { inflateEnd(&gz); gzActive = false }
        gzMidMember = false
        pendingRestart = restart
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(CoresetError) -> Int {
        guard buffer.count > 0 else { return 0 }
        if let e = pendingError {
            pendingError = nil
            throw e
        }
        while true {
            if compression == nil {
                let have = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(input)[inStart..<inEnd])
                if let c = Compression.detect(have) {
                    compression = c
                } else {
                    let more = rawEnded ? false : try refill()
                    if !more {
                        // Fewer than 4 bytes in the whole stream: plain text.
                        if inEnd > inStart { compression = .plain } else { return 0 }
                    }
                    continue
                }
            }
            switch compression! {
            case .plain:
                if inStart < inEnd {
                    let n = min(buffer.count, inEnd - inStart)
                    buffer.baseAddress!.copyMemory(from: input.baseAddress! + inStart, byteCount: n)
                    inStart += n
                    return n
                }
                // Read straight into the caller's buffer: no copy for plain text.
                inStart = 0
                inEnd = 0
                let n = try raw.read(into: buffer)
                if let restart = raw.takeRestart() {
                    try restartStream(restart, keepingNew: 0)
                    // The bytes belong to the new stream: stash them and detect its format.
                    input.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: min(n, input.count))
                    inEnd = min(n, input.count)
                    if n == 0 { rawEnded = true; return 0 }
                    continue
                }
                if n == 0 { rawEnded = true }
                return n
            case .zstd:
                if let n = try decodeZstd(into: buffer) { return n }
            case .gzip:
                if let n = try decodeGzip(into: buffer) { return n }
            }
        }
    }

    /// Decodes zstd into `buffer`; nil when the stream format changed and `read` must re-detect.
    private func decodeZstd(into buffer: UnsafeMutableRawBufferPointer) throws(CoresetError) -> Int? {
        if zstd == nil {
            zstd = ZSTD_createDCtx()
            ZSTD_DCtx_setParameter(zstd, ZSTD_d_windowLogMax, Int32(zstdWindowLogMax))
        }
        while true {
            if inStart < inEnd || zstdMayHaveOutput {
                // Output still buffered in zstd is drained by a call without input first, so it is
                // never in the call that meets the next fault.
                let draining = zstdMayHaveOutput
                var inBuf = ZSTD_inBuffer(src: input.baseAddress! + inStart, size: draining ? 0 : min(inEnd - inStart, zstdHint), pos: 0)
                var outBuf = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
                let ret = ZSTD_decompressStream(zstd, &outBuf, &inBuf)
                if ZSTD_isError(ret) != 0 {
                    let offset = consumedOffset
                    if ZSTD_getErrorCode(ret) == ZSTD_error_frameParameter_windowTooLarge {
                        // Not corrupt: written with a large window (`zstd --long`, levels 20+).
                        throw .corruptInput(input: name, offset: offset, message: "the zstd frame needs more window memory than the \(Self.mebibytes(zstdWindowLogMax)) allowed (it was compressed with --long or a high level); allow up to 2^N bytes with --zstd-window-log N (N up to 31: 2 GiB)")
                    }
                    throw .corruptInput(input: name, offset: offset, message: "corrupt zstd data: \(String(cString: ZSTD_getErrorName(ret)))")
                }
                inStart += inBuf.pos
                if inBuf.pos > 0 || outBuf.pos > 0 { zstdHint = ret == 0 ? 5 : max(ret, 1) }
                // A call that moved nothing (only checking for buffered output after a frame that
                // exactly filled the caller's buffer) says nothing about frames: its return value is
                // the next frame header's size, not "inside a frame".
                if inBuf.pos > 0 || outBuf.pos > 0 { zstdMidFrame = ret != 0 }
                zstdMayHaveOutput = outBuf.pos == outBuf.size
                if outBuf.pos > 0 { return outBuf.pos }
                if inBuf.pos > 0 || draining { continue }
            }
            if !(try refill()) {
                if zstdMidFrame || inStart < inEnd {
                    throw .corruptInput(input: name, offset: consumedOffset, message: "truncated zstd stream (ends inside a frame)")
                }
                return 0
            }
            if compression == nil { return nil }
        }
    }

    static func mebibytes(_ log: Int) -> String {
        log >= 30 ? "\(1 << (log - 30)) GiB" : log >= 20 ? "\(1 << (log - 20)) MiB" : "\(1 << (log - 10)) KiB"
    }

    /// Decodes gzip into `buffer`; nil when the stream format changed and `read` must re-detect.
    private func decodeGzip(into buffer: UnsafeMutableRawBufferPointer) throws(CoresetError) -> Int? {
        if !gzActive {
            gz = z_stream()
            // 15 + 16: a gzip wrapper only (the magic said gzip).
            let rc = coreset_inflateInit2(&gz, 15 + 16)
            if rc != Z_OK { throw .io(input: name, message: "zlib initialisation failed (\(rc))") }
            gzActive = true
        }
        while true {
            if inStart < inEnd {
                if !gzMidMember {
                    // A new member must start with the gzip magic; anything else after a member is garbage.
                    let have = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(input)[inStart..<inEnd])
                    if have.count >= 1 && have[0] != 0x1F || have.count >= 2 && have[1] != 0x8B {
                        throw .corruptInput(input: name, offset: consumedOffset, message: "garbage after gzip member (not a gzip header)")
                    }
                    if have.count < 2 && !rawEnded {
                        if !(try refill()) { continue }
                        if compression == nil { return nil }
                        continue
                    }
                }
                gz.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self) + inStart
                gz.avail_in = UInt32(inEnd - inStart)
                gz.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
                gz.avail_out = UInt32(min(buffer.count, Int(UInt32.max)))
                let before = gz.avail_in
                let rc = inflate(&gz, Z_NO_FLUSH)
                let consumed = Int(before - gz.avail_in)
                let produced = min(buffer.count, Int(UInt32.max)) - Int(gz.avail_out)
                inStart += consumed
                switch rc {
                case Z_OK, Z_BUF_ERROR:
                    gzMidMember = true
                case Z_STREAM_END:
                    gzMidMember = false
                    inflateReset(&gz)
                default:
                    let message = gz.msg.map { String(cString: $0) } ?? "error \(rc)"
                    let error = CoresetError.corruptInput(input: name, offset: consumedOffset, message: "corrupt gzip data: \(message)")
                    // zlib decoded `produced` bytes before it found the fault (a bad CRC is found only
                    // after the whole member): hand them on first, and fail on the next read.
                    if produced > 0 {
                        pendingError = error
                        return produced
                    }
                    throw error
                }
                if produced > 0 { return produced }
                if consumed > 0 { continue }
            }
            if !(try refill()) {
                if gzMidMember {
                    throw .corruptInput(input: name, offset: consumedOffset, message: "truncated gzip stream (ends inside a member)")
                }
                return 0
            }
            if compression == nil { return nil }
        }
    }
}
