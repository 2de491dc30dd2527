import Foundation
import Testing
@testable import CoresetKit
import CZstd

/// Issue 28: every record decoded before a compressed-stream fault is delivered, at any chunk size.
@Suite struct FaultRecoveryTests {
    /// 2000 records that do not compress to nothing.
    static let text = lines(2000)

    static func lines(_ count: Int) -> String {
        var rng = SeededGenerator(seed: 7)
        return (0..<count).map { i in "\(i % 2 == 0 ? 1 : -1) 1:\(Double(rng.next() % 100_000) / 1000) 2:\(rng.next() % 977) 3:\(i)\n" }.joined()
    }

    static let chunks = [64, 100, 4096, 65536, 1 << 20]

    /// Records read from `bytes` at each chunk size (with and without the prefetch thread); each
    /// read must end in a corrupt-input error.
    static func counts(_ bytes: [UInt8], _ name: String) -> [String: Int] {
        let file = TestSupport.temporaryDirectory().appendingPathComponent(name)
        TestSupport.write(bytes, to: file)
        var counts: [String: Int] = [:]
        for chunk in chunks {
            for prefetch in [true, false] {
                var o = ReaderOptions()
                o.chunkSize = chunk
                o.prefetch = prefetch
                let r = TestSupport.readAll([.file(file.path)], options: o)
                if case .corruptInput? = r.error {} else { Issue.record("\(name), chunk \(chunk): expected a corrupt-input error, got \(String(describing: r.error))") }
                counts["\(chunk)\(prefetch ? "" : " no-prefetch")"] = r.records.count
            }
        }
        return counts
    }

    @Test func aBadGzipCrcStillDeliversTheWholeMember() {
        var bytes = TestSupport.gzip(Self.text)
        bytes[bytes.count - 8] ^= 0xFF  // the CRC32 of the trailer: every byte before it decodes
        let counts = Self.counts(bytes, "bad-crc.gz")
        #expect(Set(counts.values) == [2000], "\(counts.sorted { $0.key < $1.key })")
    }

    @Test func aBitFlippedGzipDeliversTheSameRecordsAtEveryChunkSize() {
        var bytes = TestSupport.gzip(Self.text)
        bytes[bytes.count / 3] ^= 0x10
        let counts = Self.counts(bytes, "flipped.gz")
        #expect(Set(counts.values).count == 1, "\(counts.sorted { $0.key < $1.key })")
        #expect((counts["64"] ?? 0) > 0)
    }

    /// One zstd frame with a content checksum, so corrupt data is found (at the frame's end).
    static func checkedZstd(_ text: String) -> [UInt8] {
        let src = Array(text.utf8)
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound(src.count))
        let cctx = ZSTD_createCCtx()
        defer { ZSTD_freeCCtx(cctx) }
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)
        let n = out.withUnsafeMutableBytes { o in src.withUnsafeBytes { s in ZSTD_compress2(cctx, o.baseAddress, o.count, s.baseAddress, s.count) } }
        precondition(ZSTD_isError(n) == 0)
        return Array(out[0..<n])
    }

    @Test func aBadZstdChecksumOrBitFlipDeliversTheSameRecordsAtEveryChunkSize() {
        let clean = Self.checkedZstd(Self.lines(10_000))
        var badChecksum = clean
        badChecksum[badChecksum.count - 1] ^= 0xFF
        let whole = Self.counts(badChecksum, "bad-checksum.zst")
        #expect(Set(whole.values) == [10_000], "\(whole.sorted { $0.key < $1.key })")
        // Several 128 KiB blocks, the fault in a late one.
        var flipped = clean
        flipped[flipped.count * 3 / 4] ^= 0x10
        let counts = Self.counts(flipped, "flipped.zst")
        #expect(Set(counts.values).count == 1, "\(counts.sorted { $0.key < $1.key })")
    }
}
