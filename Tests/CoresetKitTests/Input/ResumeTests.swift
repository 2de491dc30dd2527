import Foundation
import Testing
@testable import CoresetKit

/// `RecordReader.position` / `resume(from:)`: a stream cut at any batch boundary and continued by a
/// new reader yields every record exactly once, with the same ids, labels, line numbers and counts.
@Suite struct ResumeTests {
    /// Reads `inputs` whole, and again cut after every batch (each cut continued by a fresh reader).
    static func checkEveryCut(_ inputs: [InputSpec], options: ReaderOptions) throws {
        let whole = TestSupport.readAll(inputs, options: options)
        #expect(whole.error == nil)
        #expect(whole.records.count > 0)
        var cuts = 0
        for cutAfter in 1... {
            let reader = RecordReader(inputs: inputs, options: options)
            var records: [Record] = []
            var batches = 0
            while batches < cutAfter, let b = try reader.next() {
                records.append(contentsOf: b.records)
                batches += 1
            }
            guard batches == cutAfter, let position = reader.position else { break }
            let resumed = RecordReader(inputs: inputs, options: options)
            try resumed.resume(from: position)
            while let b = try resumed.next() { records.append(contentsOf: b.records) }
            #expect(records == whole.records, "cut after batch \(cutAfter)")
            #expect(resumed.statistics.recordsAccepted == whole.reader.statistics.recordsAccepted)
            #expect(resumed.statistics.bytesOut == whole.reader.statistics.bytesOut, "cut after batch \(cutAfter)")
            #expect(resumed.statistics.lines == whole.reader.statistics.lines)
            #expect(resumed.statistics.bytesIn == whole.reader.statistics.bytesIn)
            #expect(resumed.labels == whole.reader.labels)
            #expect(resumed.context.featureNames == whole.reader.context.featureNames)
            cuts += 1
        }
        #expect(cuts >= 3)
    }

    static func text(_ n: Int, from: Int = 0) -> String {
        (from..<(from + n)).map { i in "\(i % 3 == 0 ? "-1" : "1") 1:\(i) \(2 + i % 5):0.5 # line \(i)\n" }.joined()
    }

    @Test func cutsAnywhereInPlainZstdAndGzipInputsContinueExactly() throws {
        let dir = TestSupport.temporaryDirectory()
        let plain = dir.appendingPathComponent("a.svm"), zst = dir.appendingPathComponent("b.svm.zst")
        let gz = dir.appendingPathComponent("c.svm.gz")
        TestSupport.write(Array(Self.text(200).utf8), to: plain)
        // Two zstd frames, the boundary inside a line's worth of bytes of the text.
        TestSupport.write(TestSupport.zstd(Self.text(150, from: 200)) + TestSupport.zstd(Self.text(150, from: 350)), to: zst)
        // Unterminated last line: still one record.
        TestSupport.write(TestSupport.gzip(Self.text(99, from: 500) + "1 1:1"), to: gz)
        var options = ReaderOptions()
        options.chunkSize = 512  // many batches, many partial lines left in the buffer at a cut
        for prefetch in [false, true] {
            options.prefetch = prefetch
            try Self.checkEveryCut([.file(plain.path), .file(zst.path), .file(gz.path)], options: options)
        }
    }

    @Test func csvHeaderIsKnownAfterAResume() throws {
        let dir = TestSupport.temporaryDirectory()
        let csv = dir.appendingPathComponent("a.csv")
        let rows = (0..<300).map { i in "\(i % 2),\(Double(i) / 10),\(i % 7),\(i % 2 == 0 ? "" : "3")\n" }.joined()
        TestSupport.write(Array(("label,x,y,z\n" + rows).utf8), to: csv)
        var options = ReaderOptions()
        options.format = .csv
        options.chunkSize = 256
        try Self.checkEveryCut([.file(csv.path)], options: options)
    }

    @Test func stdinAndFollowHaveNoPosition() throws {
        #expect(RecordReader(inputs: [.stdin]).position == nil)
        #expect(RecordReader(inputs: [.follow("/nonexistent")]).position == nil)
        #expect(RecordReader(inputs: [.file("-")]).position == nil)
    }

    @Test func aShorterInputThanAtTheCheckpointIsAnError() throws {
        let dir = TestSupport.temporaryDirectory()
        let file = dir.appendingPathComponent("a.svm")
        TestSupport.write(Array(Self.text(100).utf8), to: file)
        var options = ReaderOptions()
        options.chunkSize = 256
        let reader = RecordReader(inputs: [.file(file.path)], options: options)
        _ = try reader.next()
        _ = try reader.next()
        let position = try #require(reader.position)
        TestSupport.write(Array(Self.text(3).utf8), to: file)
        let resumed = RecordReader(inputs: [.file(file.path)], options: options)
        #expect { try resumed.resume(from: position) } throws: { "\($0)".contains("before the checkpoint's offset") }
    }

    /// Skipping to a checkpoint's offset asks for exactly the bytes up to it; when that is the end of
    /// a zstd stream the next read must report the end, not a truncated frame.
    @Test func aZstdFrameThatExactlyFillsTheReadBufferEndsCleanly() throws {
        let dir = TestSupport.temporaryDirectory()
        let file = dir.appendingPathComponent("a.svm.zst")
        let text = Self.text(20)
        TestSupport.write(TestSupport.zstd(text), to: file)
        let source = DecompressingSource(try FileDescriptorSource(path: file.path))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: text.utf8.count, alignment: 16)
        defer { buffer.deallocate() }
        #expect(try source.read(into: buffer) == text.utf8.count)
        #expect(try source.read(into: buffer) == 0)
    }
}
