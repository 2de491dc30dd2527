import Foundation
import Glibc
import Testing
@testable import CoresetKit

/// Followed-file faults the FollowTests do not cover, with real files changed by a writer thread:
/// deletion and re-creation, a writer that drips half lines, many zstd frames appended while being
/// read, truncation under a partial line, and rotation of a compressed log.
@Suite(.serialized) struct FollowFaultTests {
    static func lines(_ range: Range<Int>) -> String { range.map { "\($0 % 2 == 0 ? 1 : -1) 1:\($0)\n" }.joined() }
    static func values(_ records: [Record]) -> [Float] { records.map { $0.features.values[0] } }

    @Test func deletionThenRecreationContinuesWithTheNewFile() {
        let dir = TestSupport.temporaryDirectory()
        let path = dir.appendingPathComponent("log.svm").path
        TestSupport.write(Array(Self.lines(0..<3).utf8), to: URL(fileURLWithPath: path))
        let r = FollowTests.follow(path, idle: 0.8) {
            FollowTests.pause()
            unlink(path)
            // Missing for a while: the reader waits.
            FollowTests.pause(0.3)
            TestSupport.write(Array(Self.lines(3..<5).utf8), to: URL(fileURLWithPath: path))
            FollowTests.pause()
            TestSupport.append(Array(Self.lines(5..<6).utf8), to: URL(fileURLWithPath: path))
        }
        #expect(r.error == nil)
        #expect(Self.values(r.records) == (0..<6).map(Float.init))
        #expect(r.records.map(\.position) == Array(0..<6))
    }

    @Test func writerDrippingThreeBytesAtATime() {
        let dir = TestSupport.temporaryDirectory()
        let path = dir.appendingPathComponent("drip.svm").path
        TestSupport.write([], to: URL(fileURLWithPath: path))
        let text = Array(Self.lines(0..<40).utf8)
        // A generous idle timeout: a loaded machine may stall the writer between drips.
        let r = FollowTests.follow(path, idle: 1.5) {
            var k = 0
            while k < text.count {
                TestSupport.append(Array(text[k..<min(k + 3, text.count)]), to: URL(fileURLWithPath: path))
                k += 3
                usleep(2_000)
            }
        }
        #expect(r.error == nil)
        // Every line arrives whole: no partial line was parsed as a record or skipped.
        #expect(Self.values(r.records) == (0..<40).map(Float.init))
        #expect(r.reader.statistics.recordsSkipped == 0)
        #expect(r.reader.statistics.partialLinesDropped == 0)
    }

    @Test func manyZstdFramesAppendedWhileBeingRead() {
        let dir = TestSupport.temporaryDirectory()
        let path = dir.appendingPathComponent("frames.zst").path
        TestSupport.write(TestSupport.zstd(Self.lines(0..<5)), to: URL(fileURLWithPath: path))
        let r = FollowTests.follow(path, idle: 1.5) {
            var g = SystemRandomNumberGenerator()
            for f in 1..<40 {
                let frame = TestSupport.zstd(Self.lines((f * 5)..<(f * 5 + 5)))
                // Each frame in up to three writes cut at random points; the reader sees every cut.
                let a = Int.random(in: 0...frame.count, using: &g), b = Int.random(in: a...frame.count, using: &g)
                for part in [frame[0..<a], frame[a..<b], frame[b...]] where !part.isEmpty {
                    TestSupport.append(Array(part), to: URL(fileURLWithPath: path))
                    if Bool.random(using: &g) { usleep(3_000) }
                }
            }
        }
        #expect(r.error == nil, "\(r.diagnostics)")
        #expect(Self.values(r.records) == (0..<200).map(Float.init))
    }

    @Test func truncationUnderAPartialLineDropsItAndCountsIt() {
        let dir = TestSupport.temporaryDirectory()
        let path = dir.appendingPathComponent("log.svm").path
        TestSupport.write(Array("1 1:1\n1 1:".utf8), to: URL(fileURLWithPath: path))
        let r = FollowTests.follow(path) {
            FollowTests.pause()
            truncate(path, 0)
            FollowTests.pause()
            TestSupport.append(Array("1 1:7\n".utf8), to: URL(fileURLWithPath: path))
        }
        #expect(r.error == nil)
        #expect(Self.values(r.records) == [1, 7])
        #expect(r.reader.statistics.partialLinesDropped == 1)
        #expect(r.diagnostics.contains { $0.contains("file truncated; a partial line of 4 bytes was dropped") })
    }

    @Test func rotationOfACompressedLog() {
        let dir = TestSupport.temporaryDirectory()
        let path = dir.appendingPathComponent("log.zst").path
        TestSupport.write(TestSupport.zstd(Self.lines(0..<3)), to: URL(fileURLWithPath: path))
        let r = FollowTests.follow(path) {
            FollowTests.pause()
            TestSupport.append(TestSupport.zstd(Self.lines(3..<5)), to: URL(fileURLWithPath: path))
            FollowTests.pause()
            rename(path, path + ".1")
            // The new file is gzip: compression is told again at each new file.
            TestSupport.write(TestSupport.gzip(Self.lines(5..<8)), to: URL(fileURLWithPath: path))
        }
        #expect(r.error == nil)
        #expect(Self.values(r.records) == (0..<8).map(Float.init))
    }
}
