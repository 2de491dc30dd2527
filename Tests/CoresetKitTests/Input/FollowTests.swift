import Foundation
import Glibc
import Testing
@testable import CoresetKit

/// Follow mode against real files changed by a writer thread while the reader follows them.
@Suite(.serialized) struct FollowTests {
    /// Follows `path` until idle, while `writer` runs on another thread.
    static func follow(_ path: String, idle: Double = 0.6, format: RecordFormat = .libsvm, writer: @escaping @Sendable () -> Void)
        -> (records: [Record], reader: RecordReader, error: CoresetError?, diagnostics: [String])
    {
        let thread = Thread { writer() }
        thread.start()
        var o = ReaderOptions()
        o.format = format
        o.followPollInterval = 0.01
        o.followIdleTimeout = idle
        return TestSupport.readAll([.follow(path)], options: o)
    }

    static func pause(_ s: Double = 0.1) { usleep(UInt32(s * 1e6)) }

    @Test func appendsAndHalfLinesFromASlowWriter() {
        let dir = TestSupport.temporaryDirectory()
        let file = dir.appendingPathComponent("log.svm")
        TestSupport.write(Array("1 1:1\n".utf8), to: file)
        let path = file.path
        let r = Self.follow(path) {
            Self.pause()
            TestSupport.append(Array("-1 1:2\n1 1:".utf8), to: URL(fileURLWithPath: path))
            Self.pause(0.2)  // the reader sees a half line and must wait for its end
            TestSupport.append(Array("3\n".utf8), to: URL(fileURLWithPath: path))
        }
        #expect(r.error == nil)
        #expect(r.records.map { $0.features.values[0] } == [1, 2, 3])
        #expect(r.reader.statistics.recordsSkipped == 0)
    }

    @Test func rotationSwitchesToTheNewFile() {
        let dir = TestSupport.temporaryDirectory()
        let file = dir.appendingPathComponent("log.svm")
        TestSupport.write(Array("1 1:1\n".utf8), to: file)
        let path = file.path
        let rotated = dir.appendingPathComponent("log.svm.1").path
        let r = Self.follow(path) {
            Self.pause()
            TestSupport.append(Array("1 1:2\n1 1:3".utf8), to: URL(fileURLWithPath: path))
            Self.pause()
            rename(path, rotated)
            Self.pause()
            TestSupport.write(Array("1 1:4\n".utf8), to: URL(fileURLWithPath: path))
            Self.pause()
            TestSupport.append(Array("1 1:5\n".utf8), to: URL(fileURLWithPath: path))
        }
        #expect(r.error == nil)
        // The rotated file's unterminated last line is complete once the file was replaced.
        #expect(r.records.map { $0.features.values[0] } == [1, 2, 3, 4, 5])
    }

    @Test func truncationRestartsFromTheBeginning() {
        let dir = TestSupport.temporaryDirectory()
        let file = dir.appendingPathComponent("log.svm")
        TestSupport.write(Array("1 1:1\n1 1:2\n".utf8), to: file)
        let path = file.path
        let r = Self.follow(path) {
            Self.pause()
            truncate(path, 0)
            Self.pause()
            TestSupport.append(Array("1 1:7\n".utf8), to: URL(fileURLWithPath: path))
        }
        #expect(r.error == nil)
        #expect(r.records.map { $0.features.values[0] } == [1, 2, 7])
    }

    @Test func waitsForAFileThatDoesNotExistYet() {
        let dir = TestSupport.temporaryDirectory()
        let path = dir.appendingPathComponent("later.svm").path
        let r = Self.follow(path) {
            Self.pause(0.2)
            TestSupport.write(Array("1 1:9\n".utf8), to: URL(fileURLWithPath: path))
        }
        #expect(r.records.map { $0.features.values[0] } == [9])
    }

    @Test func growingZstdFileByAppendedFrames() {
        let dir = TestSupport.temporaryDirectory()
        let file = dir.appendingPathComponent("log.zst")
        TestSupport.write(TestSupport.zstd("1 1:1\n1 1:2\n"), to: file)
        let path = file.path
        let r = Self.follow(path) {
            Self.pause()
            let frame = TestSupport.zstd("1 1:3\n1 1:4\n")
            // Append one frame in two halves: the reader must wait for the rest of the frame.
            TestSupport.append(Array(frame.prefix(frame.count / 2)), to: URL(fileURLWithPath: path))
            Self.pause(0.15)
            TestSupport.append(Array(frame.dropFirst(frame.count / 2)), to: URL(fileURLWithPath: path))
        }
        #expect(r.error == nil)
        #expect(r.records.map { $0.features.values[0] } == [1, 2, 3, 4])
    }

    @Test func growingGzipFileByAppendedMembers() {
        let dir = TestSupport.temporaryDirectory()
        let file = dir.appendingPathComponent("log.gz")
        TestSupport.write(TestSupport.gzip("1 1:1\n"), to: file)
        let path = file.path
        let r = Self.follow(path) {
            Self.pause()
            TestSupport.append(TestSupport.gzip("1 1:2\n1 1:3\n"), to: URL(fileURLWithPath: path))
        }
        #expect(r.error == nil)
        #expect(r.records.map { $0.features.values[0] } == [1, 2, 3])
    }
}

/// An interactive pipe must hand on each line as soon as it is written.
@Suite struct InteractivePipeTests {
    @Test func eachLineArrivesWithoutWaitingForAFullChunk() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let readEnd = fds[0], writeEnd = fds[1]
        let source = FileDescriptorSource(descriptor: readEnd, name: "<pipe>")
        let decoder = DecompressingSource(source)
        var line = Array("1 1:1\n".utf8)
        line.withUnsafeMutableBytes { _ = write(writeEnd, $0.baseAddress, $0.count) }
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        let start = monotonicSeconds()
        let n = try buf.withUnsafeMutableBytes { try decoder.read(into: $0) }
        // The writer is still open: the read returned what was there instead of waiting for more.
        #expect(n == 6)
        #expect(monotonicSeconds() - start < 1)
        close(writeEnd)
        let end = try buf.withUnsafeMutableBytes { try decoder.read(into: $0) }
        #expect(end == 0)
        close(readEnd)
    }
}
