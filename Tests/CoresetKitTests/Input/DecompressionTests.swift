import Foundation
import Testing
@testable import CoresetKit

@Suite struct DecompressionTests {
    static func lines(_ range: Range<Int>) -> String {
        range.map { "\($0 % 2 == 0 ? 1 : -1) 1:\($0) 2:0.5\n" }.joined()
    }

    @Test func plainZstdAndGzipGiveTheSameRecords() throws {
        let dir = TestSupport.temporaryDirectory()
        let text = Self.lines(0..<300)
        let plain = dir.appendingPathComponent("a.svm")
        let zst = dir.appendingPathComponent("a.bin")  // the name says nothing: magic bytes decide
        let gz = dir.appendingPathComponent("a.txt")
        TestSupport.write(Array(text.utf8), to: plain)
        TestSupport.write(TestSupport.zstd(text), to: zst)
        TestSupport.write(TestSupport.gzip(text), to: gz)
        let reference = TestSupport.readAll([.file(plain.path)]).records
        #expect(reference.count == 300)
        for file in [zst, gz] {
            for chunk in [64, 4096, 1 << 20] {
                var o = ReaderOptions()
                o.chunkSize = chunk
                let r = TestSupport.readAll([.file(file.path)], options: o)
                #expect(r.error == nil)
                #expect(r.records == reference, "\(file.lastPathComponent) chunk \(chunk)")
                #expect(r.reader.statistics.bytesOut == UInt64(text.utf8.count))
            }
        }
    }

    /// A zstd skippable frame: magic 0x184D2A50 + `nibble`, little-endian, a 4-byte size, the payload.
    static func skippableFrame(nibble: UInt8, payload: [UInt8]) -> [UInt8] {
        let n = UInt32(payload.count)
        return [0x50 | nibble, 0x2A, 0x4D, 0x18, UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24)] + payload
    }

    /// pzstd starts its output with a skippable frame (its frame sizes): that is zstd, not text.
    @Test func aStreamStartingWithASkippableFrameIsZstd() {
        let dir = TestSupport.temporaryDirectory()
        let text = Self.lines(0..<50)
        for nibble: UInt8 in [0x0, 0x7, 0xF] {
            for payload in [[UInt8](), [0x0A, 0x31, 0x20, 0x31, 0x3A, 0x31, 0x0A], [UInt8](repeating: 0x0A, count: 100)] {
                let file = dir.appendingPathComponent("skip-\(nibble)-\(payload.count).zst")
                // A skippable frame first and another between two frames.
                let bytes = Self.skippableFrame(nibble: nibble, payload: payload) + TestSupport.zstd(Self.lines(0..<20))
                    + Self.skippableFrame(nibble: nibble, payload: payload) + TestSupport.zstd(Self.lines(20..<50))
                TestSupport.write(bytes, to: file)
                for chunk in [64, 1 << 20] {
                    var o = ReaderOptions()
                    o.chunkSize = chunk
                    let r = TestSupport.readAll([.file(file.path)], options: o)
                    #expect(r.error == nil, "nibble \(nibble), payload \(payload.count), chunk \(chunk)")
                    #expect(r.records.count == 50, "nibble \(nibble), payload \(payload.count), chunk \(chunk)")
                    #expect(r.reader.statistics.bytesOut == UInt64(text.utf8.count))
                }
            }
        }
        // Text that merely starts with a byte 0x50 ('P') is still text.
        #expect(Array("P*M,".utf8).withUnsafeBytes { Compression.detect($0) } == .plain)
        #expect(Array("P".utf8).withUnsafeBytes { Compression.detect($0) } == nil)
        #expect([UInt8]([0x5A, 0x2A, 0x4D, 0x18]).withUnsafeBytes { Compression.detect($0) } == .zstd)
    }

    @Test func concatenatedFramesAndMembersDecodeInFull() {
        let dir = TestSupport.temporaryDirectory()
        let parts = [Self.lines(0..<10), Self.lines(10..<25), Self.lines(25..<26)]
        let zst = dir.appendingPathComponent("multi.zst")
        let gz = dir.appendingPathComponent("multi.gz")
        TestSupport.write(parts.flatMap { TestSupport.zstd($0) }, to: zst)
        TestSupport.write(parts.flatMap { TestSupport.gzip($0) }, to: gz)
        for file in [zst, gz] {
            let r = TestSupport.readAll([.file(file.path)])
            #expect(r.error == nil)
            #expect(r.records.count == 26, "\(file.lastPathComponent)")
            #expect(r.records.last?.features.values.first == 25)
        }
    }

    @Test func severalInputsInOrderKeepPositions() {
        let dir = TestSupport.temporaryDirectory()
        let a = dir.appendingPathComponent("a.zst"), b = dir.appendingPathComponent("b")
        TestSupport.write(TestSupport.zstd(Self.lines(0..<5)), to: a)
        TestSupport.write(Array(Self.lines(5..<8).utf8), to: b)
        let r = TestSupport.readAll([.file(a.path), .file(b.path)])
        #expect(r.records.map(\.position) == Array(0..<8))
        #expect(r.records.map { $0.features.values[0] } == (0..<8).map(Float.init))
        #expect(r.reader.statistics.inputsOpened == 2)
    }

    @Test func truncatedZstdReportsOffsetAfterDeliveringRecords() {
        let dir = TestSupport.temporaryDirectory()
        let first = TestSupport.zstd(Self.lines(0..<50))
        let second = TestSupport.zstd(Self.lines(50..<100))
        let file = dir.appendingPathComponent("cut.zst")
        TestSupport.write(first + second.prefix(second.count / 2), to: file)
        let r = TestSupport.readAll([.file(file.path)])
        #expect(r.records.count >= 50)
        #expect(r.reader.statistics.recordsAccepted == UInt64(r.records.count))
        guard case .corruptInput(let input, let offset, let message)? = r.error else {
            Issue.record("expected corrupt input, got \(String(describing: r.error))")
            return
        }
        #expect(input == file.path)
        #expect(offset <= UInt64(first.count + second.count / 2))
        #expect(message.contains("truncated zstd"))
        #expect(r.error?.exitCode == 65)
    }

    @Test func corruptZstdAndGzipAreErrorsWithOffsets() {
        let dir = TestSupport.temporaryDirectory()
        var zst = TestSupport.zstd(Self.lines(0..<200))
        for k in 20..<40 { zst[k] ^= 0x5A }
        let zfile = dir.appendingPathComponent("bad.zst")
        TestSupport.write(zst, to: zfile)
        let rz = TestSupport.readAll([.file(zfile.path)])
        guard case .corruptInput(_, _, let m)? = rz.error else {
            Issue.record("expected corrupt zstd, got \(String(describing: rz.error))")
            return
        }
        #expect(m.contains("zstd"))

        var gz = TestSupport.gzip(Self.lines(0..<200))
        for k in 30..<60 { gz[k] ^= 0x5A }
        let gfile = dir.appendingPathComponent("bad.gz")
        TestSupport.write(gz, to: gfile)
        let rg = TestSupport.readAll([.file(gfile.path)])
        guard case .corruptInput(_, _, let mg)? = rg.error else {
            Issue.record("expected corrupt gzip, got \(String(describing: rg.error))")
            return
        }
        #expect(mg.contains("gzip"))

        let truncated = TestSupport.gzip(Self.lines(0..<200)).dropLast(12)
        let tfile = dir.appendingPathComponent("cut.gz")
        TestSupport.write(Array(truncated), to: tfile)
        let rt = TestSupport.readAll([.file(tfile.path)])
        guard case .corruptInput(_, _, let mt)? = rt.error else {
            Issue.record("expected truncated gzip, got \(String(describing: rt.error))")
            return
        }
        #expect(mt.contains("truncated gzip"))

        let garbage = TestSupport.gzip(Self.lines(0..<3)) + Array("not gzip".utf8)
        let gfile2 = dir.appendingPathComponent("garbage.gz")
        TestSupport.write(garbage, to: gfile2)
        let rgg = TestSupport.readAll([.file(gfile2.path)])
        #expect(rgg.records.count == 3)
        guard case .corruptInput(_, let offset, let mgg)? = rgg.error else {
            Issue.record("expected garbage error, got \(String(describing: rgg.error))")
            return
        }
        #expect(mgg.contains("garbage after gzip member"))
        #expect(offset == UInt64(garbage.count - 8))
    }

    @Test func wrongMagicIsReadAsTextAndFailsAsRecords() {
        let dir = TestSupport.temporaryDirectory()
        let file = dir.appendingPathComponent("binary.zst")
        TestSupport.write([0x50, 0x4B, 0x03, 0x04, 0x00, 0xFF, 0x0A, 0x31, 0x20, 0x31, 0x3A, 0x31, 0x0A], to: file)
        let r = TestSupport.readAll([.file(file.path)])
        #expect(r.error == nil)
        #expect(r.records.count == 1)
        #expect(r.reader.statistics.recordsSkipped == 1)
    }

    @Test func missingFileIsAnIOError() {
        let r = TestSupport.readAll([.file("/nonexistent/x.svm")])
        #expect(r.error?.exitCode == 74)
        #expect(r.error?.description.contains("/nonexistent/x.svm: cannot open") == true)
    }

    @Test func tinyPlainInputsShorterThanAMagic() {
        for text in ["", "1", "1 1:1"] {
            let r = TestSupport.parse(text)
            #expect(r.error == nil)
            // "1" alone is a valid record with a label and no features.
            #expect(r.records.count == (text.isEmpty ? 0 : 1))
        }
    }
}
