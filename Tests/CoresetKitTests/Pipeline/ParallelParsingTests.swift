import Foundation
import Testing
@testable import CoresetKit

/// The reader parses the second half of each large chunk on a second thread. Whatever the input holds
/// (bad lines, a class or feature name first seen there, limits, strict mode), it must give exactly what
/// one thread gives: records and positions, counts, line numbers in messages, the label mapping.
@Suite struct ParallelParsingTests {
    /// Parses `text` with one and with two threads (small chunks, so there are many) and compares all.
    @discardableResult
    static func compare(_ text: String, format: RecordFormat = .libsvm, expectSplits: Bool = true,
                        configure: (inout ReaderOptions) -> Void = { _ in }) -> (records: [Record], error: CoresetError?) {
        let file = TestSupport.temporaryDirectory().appendingPathComponent("input.txt")
        TestSupport.write(Array(text.utf8), to: file)
        func read(_ parallel: Bool) -> (records: [Record], reader: RecordReader, error: CoresetError?, diagnostics: [String]) {
            var o = ReaderOptions()
            o.format = format
            o.chunkSize = 1 << 17
            o.parallelParsing = parallel
            configure(&o)
            return TestSupport.readAll([.file(file.path)], options: o)
        }
        let one = read(false), two = read(true)
        #expect(one.reader.chunksSplit == 0)
        if expectSplits && _SecondHalfParser.hasSpareCore { #expect(two.reader.chunksSplit > 0) }
        #expect(two.records == one.records)
        #expect(two.error == one.error)
        #expect(two.diagnostics == one.diagnostics)
        #expect(two.reader.statistics == one.reader.statistics)
        #expect(two.reader.labels == one.reader.labels)
        #expect(two.reader.context.featureNames == one.reader.context.featureNames)
        #expect(two.reader.context.nextPosition == one.reader.context.nextPosition)
        return (one.records, one.error)
    }

    static func libsvm(_ n: Int, label: (Int) -> String = { $0 % 3 == 0 ? "-1" : "1" }, line: (Int) -> String? = { _ in nil }) -> String {
        (0..<n).map { i in line(i) ?? "\(label(i)) 1:\(i % 97) \(2 + i % 5):0.5 \(9 + i % 11):\(Double(i) / 7)\n" }.joined()
    }

    @Test func cleanLinesGiveTheSameRecords() {
        let r = Self.compare(Self.libsvm(30_000))
        #expect(r.records.count == 30_000)
        #expect(r.records.map(\.position) == (0..<30_000).map(UInt64.init))
    }

    @Test func badLinesAreReportedWithTheirLineNumbers() {
        let text = Self.libsvm(30_000, line: { i in i % 1_777 == 5 ? "1 3:x\n" : (i % 2_999 == 7 ? "\n" : nil) })
        Self.compare(text) { $0.maxReported = 1_000 }
    }

    @Test func aClassFirstSeenLateKeepsItsNumber() {
        // Classes 5 and 7 first appear deep in the stream (in some chunk's second half or first).
        let text = Self.libsvm(30_000, label: { i in i == 21_000 ? "7" : (i == 9_000 || i > 25_000 && i % 2 == 0 ? "5" : (i % 3 == 0 ? "-1" : "1")) })
        Self.compare(text)
        // A new class every 700 lines, each seen once: in first halves, second halves, and both of one chunk.
        let many = Self.libsvm(30_000, label: { i in i % 700 == 350 ? "\(100 + i / 700)" : (i % 3 == 0 ? "-1" : "1") })
        Self.compare(many, expectSplits: false)
    }

    @Test func strictModeStopsAtTheSameRecord() {
        let text = Self.libsvm(30_000, line: { i in i == 17_123 ? "1 4:nan\n" : nil })
        let r = Self.compare(text) { $0.strict = true }
        #expect(r.error != nil)
        #expect(r.records.count == 17_123)
    }

    @Test func limitsAreCheckedAsOnOneThread() {
        let wide = Self.libsvm(30_000, line: { i in i % 4_001 == 3 ? "1 5000:1\n" : nil })
        Self.compare(wide) { $0.maxDimension = 1_000 }
        var labels = LabelMap()
        _ = try? labels.label(numeric: -1, text: "-1")
        _ = try? labels.label(numeric: 1, text: "1")
        let unknownClass = Self.libsvm(30_000, label: { i in i % 5_003 == 11 ? "3" : (i % 2 == 0 ? "-1" : "1") })
        Self.compare(unknownClass) {
            $0.initialLabels = labels
            $0.fixedClasses = true
        }
    }

    @Test func carriageReturnsAndUnterminatedLastLine() {
        let text = (0..<20_000).map { "\($0 % 2 == 0 ? "0" : "1") 1:\($0) 2:1\r\n" }.joined() + "1 7:1"
        let r = Self.compare(text)
        #expect(r.records.count == 20_001)
    }

    @Test func otherFormats() {
        let csv = "label,a,b,c\n" + (0..<20_000).map { "\($0 % 3),\($0),\(Double($0) / 3),\($0 % 7 == 0 ? "" : "1")\n" }.joined()
        Self.compare(csv, format: .csv)
        let vw = (0..<20_000).map { "\($0 % 2 == 0 ? "-1" : "1") |f a:\($0) b c\($0 % 13)\n" }.joined()
        Self.compare(vw, format: .vw)
        // A feature name first seen late must get the number one thread gives it.
        let json = (0..<20_000).map { i in "{\"label\": \(i % 2), \"x\": \(i)\(i == 15_000 ? ", \"late\": 1" : "")}\n" }.joined()
        Self.compare(json, format: .jsonl)
        let logs = (0..<20_000).map { "2026-01-0\($0 % 9 + 1) host\($0 % 5) \($0 % 4 == 0 ? "ERROR" : "INFO") request \($0) done\n" }.joined()
        Self.compare(logs, format: .text) { $0.text.label = .pattern("(ERROR|INFO)") }
        // Kept lines are collected in order by one parser: no second thread.
        Self.compare(logs, format: .text, expectSplits: false) {
            $0.text.label = .pattern("(ERROR|INFO)")
            $0.text.keepLines = true
        }
    }
}

/// `ReadAheadReader` hands out what the wrapped reader gives, in order, with the reader's state as of each batch.
@Suite struct ReadAheadReaderTests {
    static func file(_ text: String) -> String {
        let url = TestSupport.temporaryDirectory().appendingPathComponent("input.txt")
        TestSupport.write(Array(text.utf8), to: url)
        return url.path
    }

    static func options(strict: Bool = false, readAhead: Bool = true) -> ReaderOptions {
        var o = ReaderOptions()
        o.chunkSize = 1 << 16
        o.strict = strict
        o.maxReported = 1_000
        o.parallelParsing = readAhead
        return o
    }

    @Test func batchesStateAndMessagesAreTheReaders() throws {
        let path = Self.file(ParallelParsingTests.libsvm(20_000, line: { i in i % 1_301 == 9 ? "1 2:oops\n" : nil }))
        var plainMessages: [String] = []
        let plain = RecordReader(inputs: [.file(path)], options: Self.options()) { plainMessages.append($0) }
        var aheadMessages: [String] = []
        let ahead = ReadAheadReader(RecordReader(inputs: [.file(path)], options: Self.options()) { aheadMessages.append($0) })
        var batches = 0
        while let a = try ahead.next() {
            let p = try #require(try plain.next())
            #expect(a.records == p.records)
            #expect(ahead.statistics == plain.statistics)
            #expect(ahead.position == plain.position)
            #expect(ahead.labels == plain.labels)
            // Messages arrive with the batch they belong to, not when read ahead.
            #expect(aheadMessages == plainMessages)
            batches += 1
        }
        #expect(try plain.next() == nil)
        #expect(batches > 5)
        #expect(plainMessages.count == 16)
    }

    @Test func anErrorComesAfterTheBatchesBeforeIt() {
        let path = Self.file(ParallelParsingTests.libsvm(20_000, line: { i in i == 15_000 ? "1 3:inf\n" : nil }))
        for readAhead in [true, false] {
            let ahead = ReadAheadReader(RecordReader(inputs: [.file(path)], options: Self.options(strict: true, readAhead: readAhead)))
            var records = 0
            var failure: CoresetError?
            do {
                while let b = try ahead.next() { records += b.count }
            } catch {
                failure = error
            }
            #expect(records == 15_000)
            #expect(failure?.description.contains(":15001:") == true)
        }
    }

    @Test func closingEarlyStopsReading() throws {
        let path = Self.file(ParallelParsingTests.libsvm(50_000))
        let ahead = ReadAheadReader(RecordReader(inputs: [.file(path)], options: Self.options()))
        let first = try #require(try ahead.next())
        let position = ahead.position
        ahead.close()
        #expect(try ahead.next() == nil)
        // The state stays the one after the last batch handed out.
        #expect(ahead.statistics.recordsAccepted == UInt64(first.count))
        #expect(ahead.position == position)
    }
}

/// A helper thread (second parser, reading ahead) runs only with a core of its own: a compressed input
/// decompressed on its own thread takes one.
@Suite struct HelperCoreTests {
    @Test(arguments: [(false, true), (true, true), (true, false)])
    func aHelperNeedsACoreOfItsOwn(_ compressed: Bool, _ prefetch: Bool) throws {
        let dir = TestSupport.temporaryDirectory()
        let text = ParallelParsingTests.libsvm(3_000)
        let file = dir.appendingPathComponent(compressed ? "in.svm.zst" : "in.svm")
        TestSupport.write(compressed ? TestSupport.zstd(text) : Array(text.utf8), to: file)
        var o = ReaderOptions()
        o.prefetch = prefetch
        let reader = RecordReader(inputs: [.file(file.path)], options: o)
        #expect(reader.hasCoreForHelper == nil)
        _ = try reader.next()
        if compressed && prefetch && _SecondHalfParser.cores == 2 {
            // Two cores: the first chunks are still being timed (see the test below).
            #expect(reader.hasCoreForHelper == nil)
        } else {
            let threads = compressed && prefetch ? 3 : 2
            #expect(reader.hasCoreForHelper == (_SecondHalfParser.cores >= threads))
        }
    }

    /// On two cores a compressed input starts with its decompression thread; once its first chunks are
    /// timed, the reader either keeps it or decompresses on its own thread and splits its chunks with the
    /// helper. Either way the records are exactly those of one thread reading alone.
    @Test(arguments: [1, 3, 19])
    func theWayToDecompressIsChosenWithoutChangingTheRecords(_ level: Int32) throws {
        let file = TestSupport.temporaryDirectory().appendingPathComponent("in.svm.zst")
        TestSupport.write(TestSupport.zstd(ParallelParsingTests.libsvm(60_000), level: level), to: file)
        let alone = TestSupport.readAll([.file(file.path)], options: {
            var o = ReaderOptions()
            o.prefetch = false
            o.parallelParsing = false
            return o
        }())
        let chosen = TestSupport.readAll([.file(file.path)])
        #expect(chosen.error == nil)
        #expect(chosen.records == alone.records)
        #expect(chosen.reader.statistics == alone.reader.statistics)
        // The batches too (a lockstep run depends on them): with the decompression on its thread, moved
        // here after the first chunks, or here from the start.
        func batchSizes(_ configure: (inout ReaderOptions) -> Void) throws -> [Int] {
            var o = ReaderOptions()
            configure(&o)
            let reader = RecordReader(inputs: [.file(file.path)], options: o)
            var sizes: [Int] = []
            while let b = try reader.next() { sizes.append(b.count) }
            return sizes
        }
        let sizes = try batchSizes { _ in }
        #expect(sizes.count > 10)
        #expect(try batchSizes { $0.prefetch = false } == sizes)
        #expect(try batchSizes { $0.prefetch = false; $0.parallelParsing = false } == sizes)
        if _SecondHalfParser.cores == 2 {
            let inline = try #require(chosen.reader.hasCoreForHelper as Bool?, "decided after 512 KiB")
            // Decompressing here is chosen only to split the chunks.
            #expect((chosen.reader.chunksSplit > 0) == inline)
        }
    }

    /// A prefetching source stopped part way hands out the chunks it read, then reads on the caller's
    /// thread: the bytes are the inner source's, in order, to the end.
    @Test(arguments: [0, 1, 20])
    func aStoppedPrefetcherReadsOnInline(_ chunksFirst: Int) throws {
        let text = ParallelParsingTests.libsvm(40_000)
        let file = TestSupport.temporaryDirectory().appendingPathComponent("in.svm.zst")
        TestSupport.write(TestSupport.zstd(text), to: file)
        let source = PrefetchingSource(DecompressingSource(try FileDescriptorSource(path: file.path)), chunkSize: 1 << 16)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 15, alignment: 16)
        defer { buffer.deallocate() }
        var bytes: [UInt8] = []
        var reads = 0
        while true {
            if reads == chunksFirst { source.stopPrefetching() }
            let n = try source.read(into: buffer)
            if n == 0 { break }
            bytes += buffer[0..<n]
            reads += 1
        }
        #expect(reads > chunksFirst)
        #expect(bytes == Array(text.utf8))
        // Twenty reads of 32 KiB took the prefetcher past its first (untimed) read into each of its 3 slots.
        if chunksFirst >= 20 { #expect(source.decoding.bytes > 0) }
    }
}
