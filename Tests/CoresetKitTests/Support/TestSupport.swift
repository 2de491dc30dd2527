import CZlib
import CZstd
import Foundation
@testable import CoresetKit

/// Helpers shared by the tests: temporary files, compression, reading whole streams.
enum TestSupport {
    /// The repository's fixtures folder.
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures")

    /// The shared data folder beside the repository, if present.
    static let sharedData = fixtures.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data")

    static func sharedFile(_ relative: String) -> String? {
        let path = sharedData.appendingPathComponent(relative).path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// A fresh temporary directory.
    static func temporaryDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("coreset-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func write(_ bytes: [UInt8], to url: URL) {
        try! Data(bytes).write(to: url)
    }

    static func append(_ bytes: [UInt8], to url: URL) {
        let h = try! FileHandle(forWritingTo: url)
        h.seekToEndOfFile()
        h.write(Data(bytes))
        try! h.close()
    }

    /// One zstd frame.
    static func zstd(_ text: String, level: Int32 = 3) -> [UInt8] {
        let src = Array(text.utf8)
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound(src.count))
        let n = out.withUnsafeMutableBytes { o in src.withUnsafeBytes { s in ZSTD_compress(o.baseAddress, o.count, s.baseAddress, s.count, level) } }
        precondition(ZSTD_isError(n) == 0)
        return Array(out[0..<n])
    }

    /// One gzip member.
    static func gzip(_ text: String) -> [UInt8] {
        var src = Array(text.utf8)
        var out = [UInt8](repeating: 0, count: src.count + 1024)
        var z = z_stream()
        precondition(coreset_deflateInit2(&z, 6, 31) == Z_OK)
        let produced = src.withUnsafeMutableBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o -> Int in
                z.next_in = s.baseAddress
                z.avail_in = UInt32(s.count)
                z.next_out = o.baseAddress
                z.avail_out = UInt32(o.count)
                precondition(deflate(&z, Z_FINISH) == Z_STREAM_END)
                return o.count - Int(z.avail_out)
            }
        }
        deflateEnd(&z)
        return Array(out[0..<produced])
    }

    /// Reads every batch of a stream; returns the records, the reader and the error that ended it.
    static func readAll(
        _ inputs: [InputSpec], options: ReaderOptions = ReaderOptions()
    ) -> (records: [Record], reader: RecordReader, error: CoresetError?, diagnostics: [String]) {
        var diagnostics: [String] = []
        let reader = RecordReader(inputs: inputs, options: options) { diagnostics.append($0) }
        var records: [Record] = []
        do {
            while let batch = try reader.next() { records.append(contentsOf: batch.records) }
            return (records, reader, nil, diagnostics)
        } catch {
            return (records, reader, error, diagnostics)
        }
    }

    /// Parses text given as a file of the format.
    static func parse(_ text: String, format: RecordFormat = .libsvm, configure: (inout ReaderOptions) -> Void = { _ in })
        -> (records: [Record], reader: RecordReader, error: CoresetError?, diagnostics: [String])
    {
        let dir = temporaryDirectory()
        let file = dir.appendingPathComponent("input.txt")
        write(Array(text.utf8), to: file)
        var options = ReaderOptions()
        options.format = format
        configure(&options)
        return readAll([.file(file.path)], options: options)
    }
}
